-- What connects Vinculum to the world and keeps it accountable: the CRM sync queue (D21, D22), the
-- webhook inbox (D23), the audit log, and the keys that make admin form submissions idempotent.

create table crm_sync_queue (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    -- Operations on one customer run in this order, so a revoke never overtakes its grant.
    sequence bigint generated always as identity,
    customer_id uuid,
    enrollment_id uuid,
    action_type varchar(50) not null,
    stage_id uuid,
    old_stage_id uuid,
    -- Filled when known; the worker resolves it through the customer upsert otherwise.
    customer_crm_id varchar(255),
    attempts int not null default 0,
    max_attempts int not null default 10,
    last_attempt_at timestamptz,
    next_retry_at timestamptz not null default now(),
    locked_until timestamptz,
    error_message text,
    status varchar(20) not null default 'pending',
    completed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint crm_sync_queue_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade,
    constraint crm_sync_queue_enrollment_fkey foreign key (client_id, enrollment_id)
        references club_enrollments (client_id, id) on delete set null (enrollment_id),
    constraint crm_sync_queue_stage_fkey foreign key (client_id, stage_id)
        references club_stages (client_id, id) on delete cascade,
    constraint crm_sync_queue_old_stage_fkey foreign key (client_id, old_stage_id)
        references club_stages (client_id, id) on delete set null (old_stage_id),
    constraint crm_sync_queue_action_check
        check (action_type in ('ensure_stage', 'upsert_customer', 'grant', 'revoke', 'move')),
    constraint crm_sync_queue_status_check check (status in ('pending', 'processing', 'completed', 'failed')),
    constraint crm_sync_queue_attempts_check check (attempts >= 0 and max_attempts >= 1)
);
create index crm_sync_queue_due_idx on crm_sync_queue (status, next_retry_at);
create index crm_sync_queue_customer_idx on crm_sync_queue (client_id, customer_id, sequence);
create trigger crm_sync_queue_set_updated_at before update on crm_sync_queue
    for each row execute function set_updated_at();

-- Every authenticated webhook delivery, stored raw before any processing. The delivery key (the
-- provider's delivery id, or a content hash) makes redelivery a no-op.
create table webhook_inbox (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    provider varchar(20) not null,
    topic varchar(100) not null,
    delivery_key varchar(255) not null,
    payload jsonb not null,
    status varchar(20) not null default 'received',
    attempts int not null default 0,
    error_message text,
    received_at timestamptz not null default now(),
    processed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint webhook_inbox_delivery_key unique (client_id, provider, delivery_key),
    constraint webhook_inbox_provider_check
        check (provider in ('commerce7', 'shopify', 'sendgrid', 'mailchimp', 'klaviyo', 'twilio', 'sms_gateway')),
    constraint webhook_inbox_status_check check (status in ('received', 'processed', 'ignored', 'failed'))
);
create index webhook_inbox_status_idx on webhook_inbox (client_id, status, received_at);
create trigger webhook_inbox_set_updated_at before update on webhook_inbox
    for each row execute function set_updated_at();

-- Who changed what: one row per change, with the state before and after.
create table audit_log (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    actor_kind varchar(20) not null,
    actor_admin_id uuid references admin_users (id) on delete set null,
    -- A snapshot of who acted (an e-mail address, "system", a job name), kept if the user goes.
    actor_label varchar(255) not null,
    action varchar(100) not null,
    entity_type varchar(50) not null,
    entity_id uuid,
    before jsonb,
    after jsonb,
    reason text,
    created_at timestamptz not null default now(),
    constraint audit_log_actor_kind_check check (actor_kind in ('admin', 'system', 'webhook', 'customer', 'cli'))
);
create index audit_log_entity_idx on audit_log (client_id, entity_type, entity_id, created_at);
create index audit_log_created_at_idx on audit_log (client_id, created_at);

-- Admin "create" forms carry a one-time key; a second submission of the same form is refused.
create table idempotency_keys (
    client_id uuid not null references clients (id) on delete cascade,
    key uuid not null,
    action varchar(100) not null,
    created_at timestamptz not null default now(),
    constraint idempotency_keys_pkey primary key (client_id, key)
);
create index idempotency_keys_created_at_idx on idempotency_keys (created_at);
