-- Row-level security (decisions D27): every tenant table gets one policy that admits only rows of
-- the transaction's tenant (current_client_id()), forced even for the table owner. The application
-- role gets the privileges it needs; platform tables (clients, admin users and sessions, login
-- attempts, jobs, scheduled runs) carry no tenant policy because they are read before a tenant is
-- known, and the migrations table is read-only to the application.

do $$
declare
    t text;
begin
    foreach t in array array[
        'platform_sessions', 'customers', 'products', 'orders', 'discounts',
        'club_programs', 'club_stages', 'club_enrollments', 'club_extensions',
        'loyalty_point_rules', 'loyalty_rewards', 'point_transactions', 'reward_redemptions',
        'communication_configs', 'communication_templates', 'communication_log',
        'communication_preferences', 'crm_sync_queue', 'webhook_inbox', 'audit_log',
        'idempotency_keys'
    ] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        -- (select ...) lets the planner evaluate the tenant once per statement, not once per row.
        execute format(
            'create policy tenant_isolation on %I using (client_id = (select current_client_id())) '
            'with check (client_id = (select current_client_id()))', t);
    end loop;
end;
$$;

grant usage on schema public to vinculum_app;
grant select, insert, update, delete on all tables in schema public to vinculum_app;
grant usage, select on all sequences in schema public to vinculum_app;
grant execute on all functions in schema public to vinculum_app;
revoke insert, update, delete, truncate on _sqlx_migrations from vinculum_app;
-- Tables created by later migrations are granted the same way.
alter default privileges in schema public grant select, insert, update, delete on tables to vinculum_app;
alter default privileges in schema public grant usage, select on sequences to vinculum_app;
