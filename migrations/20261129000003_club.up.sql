-- The time-based discount club: one program per winery, its ladder of stages, each customer's
-- enrollments and the audit trail of renewals and upgrades (domain.md section 3.7 to 3.10, with
-- decisions D1, D2, D8 and D9).

create table club_programs (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    name varchar(255) not null,
    description text,
    is_active boolean not null default true,
    -- Optimistic concurrency: a form carries the version it was rendered from.
    version int not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint club_programs_client_id_key unique (client_id),
    constraint club_programs_client_id_id_key unique (client_id, id),
    constraint club_programs_name_check check (length(btrim(name)) between 1 and 120),
    constraint club_programs_description_check check (description is null or length(description) <= 2000)
);
create index club_programs_active_idx on club_programs (client_id, is_active);
create trigger club_programs_set_updated_at before update on club_programs
    for each row execute function set_updated_at();

create table club_stages (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    club_program_id uuid not null,
    name varchar(255) not null,
    discount_percentage numeric(5, 2) not null,
    discount_code varchar(255),
    duration_months int not null,
    min_purchase_amount_cents bigint not null,
    -- 1 is the entry level; higher is better. Unique per program, deferrable so a reorder can
    -- swap two stages inside one transaction.
    stage_order int not null,
    crm_discount_id varchar(255),
    last_sync_at timestamptz,
    sync_status varchar(20),
    is_active boolean not null default true,
    version int not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint club_stages_client_id_id_key unique (client_id, id),
    constraint club_stages_program_fkey foreign key (client_id, club_program_id)
        references club_programs (client_id, id) on delete cascade,
    constraint club_stages_program_order_key unique (club_program_id, stage_order)
        deferrable initially immediate,
    constraint club_stages_name_check check (length(btrim(name)) between 1 and 60),
    constraint club_stages_discount_check check (discount_percentage > 0 and discount_percentage <= 100),
    constraint club_stages_duration_check check (duration_months between 1 and 120),
    constraint club_stages_min_purchase_check check (min_purchase_amount_cents >= 0),
    constraint club_stages_stage_order_check check (stage_order >= 1),
    constraint club_stages_sync_status_check check (sync_status is null or sync_status in ('synced', 'pending', 'error'))
);
create unique index club_stages_program_name_key on club_stages (club_program_id, lower(name));
create index club_stages_active_idx on club_stages (client_id, is_active);
create trigger club_stages_set_updated_at before update on club_stages
    for each row execute function set_updated_at();

create table club_enrollments (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    customer_id uuid not null,
    club_stage_id uuid not null,
    enrolled_at timestamptz not null,
    expires_at timestamptz not null,
    qualifying_order_id uuid,
    status varchar(20) not null default 'active',
    -- When the row stopped being in force (expiry, upgrade or revoke); null while active.
    ended_at timestamptz,
    end_reason text,
    -- D4: a cancelled or refunded qualifying order flags the row for the admin to review.
    flagged_at timestamptz,
    flag_reason text,
    synced_to_crm boolean not null default false,
    crm_sync_at timestamptz,
    crm_sync_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint club_enrollments_client_id_id_key unique (client_id, id),
    constraint club_enrollments_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade,
    -- A stage that any enrollment references cannot be deleted; the admin deactivates it instead.
    constraint club_enrollments_stage_fkey foreign key (client_id, club_stage_id)
        references club_stages (client_id, id) on delete restrict,
    constraint club_enrollments_order_fkey foreign key (client_id, qualifying_order_id)
        references orders (client_id, id) on delete set null (qualifying_order_id),
    constraint club_enrollments_status_check check (status in ('active', 'expired', 'upgraded', 'revoked')),
    constraint club_enrollments_dates_check check (expires_at > enrolled_at),
    constraint club_enrollments_ended_check check ((status = 'active') = (ended_at is null))
);
-- D9: at most one active enrollment per customer.
create unique index club_enrollments_one_active_key on club_enrollments (customer_id) where status = 'active';
-- The expiry job's scan.
create index club_enrollments_due_idx on club_enrollments (client_id, expires_at) where status = 'active';
create index club_enrollments_customer_idx on club_enrollments (client_id, customer_id);
create index club_enrollments_stage_idx on club_enrollments (club_stage_id, status);
create index club_enrollments_flagged_idx on club_enrollments (client_id, flagged_at) where flagged_at is not null;
create index club_enrollments_unsynced_idx on club_enrollments (client_id) where not synced_to_crm;
create trigger club_enrollments_set_updated_at before update on club_enrollments
    for each row execute function set_updated_at();

create table club_extensions (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    -- The renewed row, or the new (higher-stage) row of an upgrade.
    enrollment_id uuid not null,
    extended_from_stage_id uuid,
    extended_to_stage_id uuid not null,
    order_id uuid,
    extension_type varchar(20) not null,
    extended_at timestamptz not null default now(),
    previous_enrolled_at timestamptz not null,
    previous_expires_at timestamptz not null,
    new_expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    constraint club_extensions_enrollment_fkey foreign key (client_id, enrollment_id)
        references club_enrollments (client_id, id) on delete cascade,
    constraint club_extensions_from_stage_fkey foreign key (client_id, extended_from_stage_id)
        references club_stages (client_id, id) on delete set null (extended_from_stage_id),
    constraint club_extensions_to_stage_fkey foreign key (client_id, extended_to_stage_id)
        references club_stages (client_id, id) on delete restrict,
    constraint club_extensions_order_fkey foreign key (client_id, order_id)
        references orders (client_id, id) on delete set null (order_id),
    constraint club_extensions_type_check check (extension_type in ('renewal', 'upgrade'))
);
create index club_extensions_enrollment_idx on club_extensions (client_id, enrollment_id);
create index club_extensions_order_idx on club_extensions (client_id, order_id);
