-- The CRM integration (decisions D21–D24): each stage's objects in the CRM, the customers' CRM
-- memberships, the winery's connection (webhook secret, health), OAuth state for Shopify installs,
-- and the storage of the built-in sandbox CRM that stands in for Commerce7 in the demo.

-- A stage in Commerce7 is a club with an auto-applied promotion for that club; in Shopify it is a
-- discount limited to specific customers (club_stages.crm_discount_id) plus a customer tag.
alter table club_stages
    add column crm_club_id varchar(255),
    add column crm_promotion_id varchar(255),
    add column crm_tag varchar(100);

-- Each grant the CRM holds for a customer and stage: the Commerce7 club membership it created (so a
-- revoke can set its cancel date), or the Shopify discount and tag it added. At most one active
-- grant per customer and stage.
create table crm_memberships (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    customer_id uuid not null,
    stage_id uuid not null,
    crm_membership_id varchar(255),
    status varchar(20) not null default 'active',
    granted_at timestamptz not null,
    cancelled_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint crm_memberships_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade,
    constraint crm_memberships_stage_fkey foreign key (client_id, stage_id)
        references club_stages (client_id, id) on delete cascade,
    constraint crm_memberships_status_check check (status in ('active', 'cancelled')),
    constraint crm_memberships_cancelled_check check ((status = 'cancelled') = (cancelled_at is not null))
);
create unique index crm_memberships_active_key on crm_memberships (client_id, customer_id, stage_id)
    where status = 'active';
create index crm_memberships_crm_id_idx on crm_memberships (client_id, crm_membership_id);
create trigger crm_memberships_set_updated_at before update on crm_memberships
    for each row execute function set_updated_at();

-- How a winery is connected: which CRM (the sandbox speaks Commerce7), the secret its webhook URLs
-- carry (Commerce7 does not sign deliveries; D23), the webhooks registered, and their health.
create table crm_connections (
    client_id uuid primary key references clients (id) on delete cascade,
    provider varchar(20) not null,
    webhook_secret_encrypted bytea not null,
    -- The webhook subscriptions registered in the CRM (Commerce7 ids), for uninstall and display.
    webhook_ids jsonb not null default '[]'::jsonb,
    last_webhook_at timestamptz,
    last_webhook_error text,
    last_reconciled_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint crm_connections_provider_check check (provider in ('commerce7', 'shopify', 'sandbox'))
);
create trigger crm_connections_set_updated_at before update on crm_connections
    for each row execute function set_updated_at();

do $$
declare
    t text;
begin
    foreach t in array array['crm_memberships', 'crm_connections'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy tenant_isolation on %I using (client_id = (select current_client_id())) '
            'with check (client_id = (select current_client_id()))', t);
    end loop;
end;
$$;

-- Platform: a Shopify install's OAuth `state`, checked once on the callback (read before any tenant
-- exists).
create table oauth_states (
    state varchar(64) primary key,
    shop varchar(255) not null,
    created_at timestamptz not null default now()
);
create index oauth_states_created_at_idx on oauth_states (created_at);

-- Platform: the sandbox CRM's objects, per sandbox tenant. It is a stand-in for an external system,
-- reached only over its own HTTP API (app credentials required), never by the product's queries.
create table sandbox_crm_objects (
    tenant varchar(255) not null,
    kind varchar(40) not null,
    id uuid not null default gen_random_uuid(),
    body jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint sandbox_crm_objects_pkey primary key (tenant, kind, id),
    constraint sandbox_crm_objects_kind_check
        check (kind in ('customer', 'club', 'promotion', 'club-membership', 'order', 'web-hook', 'web-hook-log'))
);
create trigger sandbox_crm_objects_set_updated_at before update on sandbox_crm_objects
    for each row execute function set_updated_at();

-- Platform: which wineries have CRM work due, so the worker finds them without reading any
-- tenant's queue. Written in the same transaction as the queued operation; `version` moves on
-- every wake-up, so a worker that finishes a winery never erases a wake-up it did not see.
create table crm_wakeups (
    client_id uuid primary key references clients (id) on delete cascade,
    due_at timestamptz not null,
    version bigint not null default 1
);
create index crm_wakeups_due_idx on crm_wakeups (due_at);

-- The claim query's shape: due items of one winery in order.
create index crm_sync_queue_client_due_idx on crm_sync_queue (client_id, status, next_retry_at);
