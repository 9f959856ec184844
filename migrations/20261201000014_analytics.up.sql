-- The admin dashboard (issue 7): when each enrollment began, and two rollups kept so no page view
-- scans orders, enrollments or the ledger.

-- When the row became active. A renewal resets `enrolled_at` in place (domain.md 4.4) and an
-- upgrade's new row keeps the old start date, so neither says when this row began: a join began
-- at its first `enrolled_at`, an upgrade row at the upgrade. A row covers [started_at,
-- coalesce(ended_at, expires_at)), and the rows of one customer never overlap.
-- The backfill reads and writes every winery's rows. Row-level security is forced even for the
-- owner that runs migrations, so it is lifted for this transaction and forced again below.
alter table club_enrollments no force row level security;
alter table club_extensions no force row level security;
alter table club_enrollments add column started_at timestamptz;
update club_enrollments e
   set started_at = coalesce(
       (select min(x.extended_at) from club_extensions x
         where x.client_id = e.client_id and x.enrollment_id = e.id and x.extension_type = 'upgrade'),
       (select min(x.previous_enrolled_at) from club_extensions x
         where x.client_id = e.client_id and x.enrollment_id = e.id and x.extension_type = 'renewal'),
       e.enrolled_at);
alter table club_enrollments alter column started_at set not null;
alter table club_enrollments force row level security;
alter table club_extensions force row level security;

create function club_enrollments_started_at() returns trigger language plpgsql as $$
begin
    new.started_at := coalesce(new.started_at, new.enrolled_at);
    return new;
end $$;
create trigger club_enrollments_started_at before insert on club_enrollments
    for each row execute function club_enrollments_started_at();

create function club_extensions_upgrade_start() returns trigger language plpgsql as $$
begin
    update club_enrollments set started_at = new.extended_at
     where client_id = new.client_id and id = new.enrollment_id;
    return null;
end $$;
create trigger club_extensions_upgrade_start after insert on club_extensions
    for each row when (new.extension_type = 'upgrade') execute function club_extensions_upgrade_start();

-- The dashboard's and the member list's period filters.
create index club_enrollments_started_idx on club_enrollments (client_id, started_at);
create index club_enrollments_ended_idx on club_enrollments (client_id, ended_at) where status = 'expired';
create index club_enrollments_active_stage_idx on club_enrollments (client_id, club_stage_id)
    where status = 'active';
create index club_extensions_kind_idx on club_extensions (client_id, extension_type, extended_at);

-- One row per winery and local day: what happened that day. Rewritten set-based, a day at a time,
-- by order processing (the day of the order) and by the nightly `refresh-stats` job (every day).
create table stats_days (
    client_id uuid not null references clients (id) on delete cascade,
    day date not null,
    joined int not null default 0,
    renewed int not null default 0,
    upgraded int not null default 0,
    expired int not null default 0,
    member_orders int not null default 0,
    member_revenue_cents bigint not null default 0,
    other_orders int not null default 0,
    other_revenue_cents bigint not null default 0,
    points_issued bigint not null default 0,
    points_redeemed bigint not null default 0,
    points_net bigint not null default 0,
    refreshed_at timestamptz not null default now(),
    primary key (client_id, day)
);

-- Active members per stage at the end of a local day, written by the nightly job (and, for the
-- past twelve month ends, rebuilt from enrollment history when missing).
create table stats_stage_days (
    client_id uuid not null references clients (id) on delete cascade,
    day date not null,
    stage_id uuid not null,
    members int not null,
    primary key (client_id, day, stage_id),
    constraint stats_stage_days_stage_fkey foreign key (client_id, stage_id)
        references club_stages (client_id, id) on delete cascade
);

do $$
declare
    t text;
begin
    foreach t in array array['stats_days', 'stats_stage_days'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy tenant_isolation on %I using (client_id = (select current_client_id())) '
            'with check (client_id = (select current_client_id()))', t);
    end loop;
end $$;
