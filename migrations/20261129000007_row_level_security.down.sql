-- Reverts row-level security and the application role's privileges.
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
        execute format('drop policy if exists tenant_isolation on %I', t);
        execute format('alter table %I no force row level security', t);
        execute format('alter table %I disable row level security', t);
    end loop;
end;
$$;
alter default privileges in schema public revoke all on tables from vinculum_app;
alter default privileges in schema public revoke all on sequences from vinculum_app;
revoke all on all tables in schema public from vinculum_app;
revoke all on all sequences in schema public from vinculum_app;
