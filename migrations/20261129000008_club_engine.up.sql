-- The club engine's supporting structures: member search at scale (trigram index over name and
-- e-mail), and order imports (a validated file, its dry-run summary and its progress).

create extension if not exists pg_trgm;

-- Member search: one lower-cased text of name and e-mail, searched with ILIKE '%term%'.
create index customers_search_idx on customers
    using gin ((lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || email)) gin_trgm_ops);

create table import_runs (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    created_by uuid references admin_users (id) on delete set null,
    file_name varchar(255) not null,
    -- The validated rows, in file order, as the importer parsed them.
    rows jsonb not null,
    row_count int not null,
    status varchar(20) not null default 'previewing',
    processed_rows int not null default 0,
    -- What the dry run found, then what the import did: enrollments, renewals, upgrades, expiries.
    preview jsonb,
    result jsonb,
    error_message text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint import_runs_status_check
        check (status in ('previewing', 'previewed', 'importing', 'completed', 'failed')),
    constraint import_runs_progress_check check (processed_rows between 0 and row_count)
);
create index import_runs_client_idx on import_runs (client_id, created_at);
create trigger import_runs_set_updated_at before update on import_runs
    for each row execute function set_updated_at();
alter table import_runs enable row level security;
alter table import_runs force row level security;
create policy tenant_isolation on import_runs
    using (client_id = (select current_client_id()))
    with check (client_id = (select current_client_id()));
