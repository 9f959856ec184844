-- Platform foundation: shared helpers, the non-superuser application role, the tenant root (`clients`)
-- and the platform tables that are read before a tenant is known (admin logins, sessions, the job
-- queue and the scheduler's slot dedupe). Tenant tables and their row-level security follow in
-- later migrations.

-- One trigger function keeps every table's updated_at honest.
create or replace function set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

-- The tenant of the current transaction, set with set_config('app.client_id', <uuid>, true) by
-- backend::db::begin_scoped. Unset (or empty) means "no tenant": every tenant policy then matches
-- nothing.
create or replace function current_client_id() returns uuid
language sql stable as $$
    select nullif(current_setting('app.client_id', true), '')::uuid
$$;

-- The application role. Roles are cluster-wide while `#[sqlx::test]` migrates a fresh database per
-- test, so creation is idempotent and tolerates a concurrent twin. The role is not a superuser and
-- does not bypass RLS; the server switches to it with SET ROLE on every pooled connection.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'vinculum_app') then
        begin
            create role vinculum_app nologin nosuperuser nobypassrls noinherit;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
    -- A non-superuser migration owner must be a member to SET ROLE; superusers already may.
    if not pg_has_role(current_user, 'vinculum_app', 'member') then
        execute format('grant vinculum_app to %I', current_user);
    end if;
end;
$$;

create table clients (
    id uuid primary key default gen_random_uuid(),
    slug text not null,
    tenant_shop varchar(255) not null,
    crm_type varchar(20) not null,
    org_name varchar(255) not null,
    org_contact varchar(255),
    time_zone text not null default 'America/Los_Angeles',
    currency char(3) not null default 'USD',
    logo_url text,
    brand_color text,
    status text not null default 'installed',
    installed_at timestamptz not null default now(),
    uninstalled_at timestamptz,
    -- D3: the amount compared with a stage minimum; 'subtotal' is merchandise after discounts.
    qualifying_amount_basis text not null default 'subtotal',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint clients_slug_key unique (slug),
    constraint clients_tenant_shop_key unique (tenant_shop),
    constraint clients_slug_check check (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    constraint clients_crm_type_check check (crm_type in ('commerce7', 'shopify')),
    constraint clients_org_name_check check (length(btrim(org_name)) between 1 and 255),
    constraint clients_time_zone_check check (length(time_zone) between 1 and 64),
    constraint clients_currency_check check (currency ~ '^[A-Z]{3}$'),
    constraint clients_brand_color_check check (brand_color is null or brand_color ~ '^#[0-9a-fA-F]{6}$'),
    constraint clients_status_check check (status in ('installed', 'uninstalled')),
    constraint clients_uninstalled_check check ((status = 'uninstalled') = (uninstalled_at is not null)),
    constraint clients_qualifying_amount_basis_check check (qualifying_amount_basis in ('subtotal', 'total'))
);
create index clients_crm_type_idx on clients (crm_type);
create trigger clients_set_updated_at before update on clients
    for each row execute function set_updated_at();

-- Winery staff who log in to the standalone admin. Looked up by e-mail before the tenant is known,
-- so this is a platform table; every row still names its client.
create table admin_users (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    email varchar(255) not null,
    password_hash text not null,
    display_name varchar(255),
    role text not null default 'owner',
    is_active boolean not null default true,
    last_login_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint admin_users_email_key unique (email),
    constraint admin_users_email_check check (email = lower(btrim(email)) and position('@' in email) > 1),
    constraint admin_users_role_check check (role in ('owner', 'admin', 'viewer'))
);
create index admin_users_client_id_idx on admin_users (client_id);
create trigger admin_users_set_updated_at before update on admin_users
    for each row execute function set_updated_at();

-- Login sessions. Only the SHA-256 of the cookie token is stored, so a database leak yields no
-- usable session.
create table admin_sessions (
    id uuid primary key default gen_random_uuid(),
    token_hash bytea not null,
    admin_user_id uuid not null references admin_users (id) on delete cascade,
    client_id uuid not null references clients (id) on delete cascade,
    expires_at timestamptz not null,
    last_seen_at timestamptz not null default now(),
    user_agent text,
    created_at timestamptz not null default now(),
    constraint admin_sessions_token_hash_key unique (token_hash),
    constraint admin_sessions_token_hash_check check (length(token_hash) = 32)
);
create index admin_sessions_admin_user_id_idx on admin_sessions (admin_user_id);
create index admin_sessions_expires_at_idx on admin_sessions (expires_at);

-- Failed and successful login attempts, for rate limiting per e-mail and per address.
create table login_attempts (
    id bigint generated always as identity primary key,
    email varchar(255) not null,
    ip text not null,
    succeeded boolean not null,
    attempted_at timestamptz not null default now()
);
create index login_attempts_email_idx on login_attempts (email, attempted_at);
create index login_attempts_ip_idx on login_attempts (ip, attempted_at);

-- The job queue. Claimed with FOR UPDATE SKIP LOCKED and a lease (locked_until), so any number of
-- workers can share it and a crashed worker's job runs again once its lease lapses.
create table jobs (
    id uuid primary key default gen_random_uuid(),
    kind text not null,
    client_id uuid references clients (id) on delete cascade,
    payload jsonb not null default '{}'::jsonb,
    status text not null default 'queued',
    attempts int not null default 0,
    max_attempts int not null default 5,
    run_after timestamptz not null default now(),
    locked_until timestamptz,
    last_error text,
    dedupe_key text,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint jobs_dedupe_key_key unique (dedupe_key),
    constraint jobs_status_check check (status in ('queued', 'running', 'succeeded', 'failed')),
    constraint jobs_attempts_check check (attempts >= 0 and max_attempts >= 1),
    constraint jobs_kind_check check (kind ~ '^[a-z][a-z0-9-]{0,63}$')
);
create index jobs_due_idx on jobs (run_after) where status in ('queued', 'running');
create index jobs_client_id_idx on jobs (client_id);
create trigger jobs_set_updated_at before update on jobs
    for each row execute function set_updated_at();

-- One row per (job, tenant, slot) the scheduler has enqueued. Several server copies tick at once;
-- the unique index lets exactly one of them enqueue each slot.
create table scheduled_runs (
    id bigint generated always as identity primary key,
    job text not null,
    client_id uuid references clients (id) on delete cascade,
    slot_at timestamptz not null,
    job_id uuid references jobs (id) on delete set null,
    created_at timestamptz not null default now()
);
create unique index scheduled_runs_slot_key
    on scheduled_runs (job, coalesce(client_id, '00000000-0000-0000-0000-000000000000'::uuid), slot_at);
