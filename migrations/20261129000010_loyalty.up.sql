-- Loyalty: what the earning rules (decisions D10, D11) and the ledger check (D14) need.

-- D11: progress toward the earning threshold counts from here (set when a membership ends while
-- earning was on; null means from the first membership).
alter table customers add column loyalty_progress_reset_at timestamptz;

-- D14: the ledger's order is the order rows were written (an imported order carries a past date,
-- so transaction_date alone cannot order the running balance).
alter table point_transactions add column sequence bigint generated always as identity;
create index point_transactions_sequence_idx on point_transactions (client_id, customer_id, sequence);

-- D10, D11: membership days for a set of customers, computed from the enrollment history: each
-- enrollment covers [its first start, its end), where a renewal's previous_enrolled_at recovers
-- the start the renewal overwrote, and the end is the expiry (or the upgrade, revoke or expiry
-- instant) capped at p_now. Cumulative days are the union of the intervals; progress days the
-- same union from the customer's progress reset on. Whole days, rounded down. Runs as the caller,
-- so row-level security applies.
create or replace function membership_days(p_client uuid, p_customers uuid[], p_now timestamptz)
returns table (customer_id uuid, cumulative_days int, progress_days int)
language sql stable as $$
    with coverage as (
        select e.customer_id,
               least(e.enrolled_at, coalesce(
                   (select min(x.previous_enrolled_at) from club_extensions x
                    where x.client_id = e.client_id and x.enrollment_id = e.id and x.extension_type = 'renewal'),
                   e.enrolled_at)) as s,
               least(case when e.status = 'active' then e.expires_at else coalesce(e.ended_at, e.expires_at) end,
                     p_now) as f
        from club_enrollments e
        where e.client_id = p_client and e.customer_id = any (p_customers)
    ),
    bounded as (
        select c.customer_id, 0 as kind, c.s, c.f from coverage c where c.f > c.s
        union all
        select c.customer_id, 1, greatest(c.s, coalesce(cu.loyalty_progress_reset_at, c.s)), c.f
        from coverage c join customers cu on cu.client_id = p_client and cu.id = c.customer_id
        where c.f > greatest(c.s, coalesce(cu.loyalty_progress_reset_at, c.s))
    ),
    marked as (
        -- An interval starts a new island when it begins after every earlier one has ended.
        select customer_id, kind, s, f,
               case when s <= max(f) over w then 0 else 1 end as new_island
        from bounded
        window w as (partition by customer_id, kind order by s, f rows between unbounded preceding and 1 preceding)
    ),
    islands as (
        select customer_id, kind, s, f, sum(new_island) over (partition by customer_id, kind order by s, f) as island
        from marked
    ),
    spans as (
        select customer_id, kind, min(s) as s, max(f) as f from islands group by customer_id, kind, island
    ),
    totals as (
        select customer_id, kind, floor(sum(extract(epoch from (f - s))) / 86400)::int as days
        from spans group by customer_id, kind
    )
    select ids.id,
           coalesce((select t.days from totals t where t.customer_id = ids.id and t.kind = 0), 0),
           coalesce((select t.days from totals t where t.customer_id = ids.id and t.kind = 1), 0)
    from unnest(p_customers) as ids(id)
$$;

-- D14: the outcome of each ledger check, for the admin.
create table ledger_checks (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    checked_at timestamptz not null,
    customers_checked int not null,
    -- Up to 100 violations: the customer and what is wrong.
    violations jsonb not null default '[]'::jsonb,
    violation_count int not null default 0,
    created_at timestamptz not null default now()
);
create index ledger_checks_client_idx on ledger_checks (client_id, checked_at);
alter table ledger_checks enable row level security;
alter table ledger_checks force row level security;
create policy tenant_isolation on ledger_checks
    using (client_id = (select current_client_id()))
    with check (client_id = (select current_client_id()));
