-- Issue 7: what a customer's orders add up to (for the at-risk list, sorted by value), when an
-- active membership becomes at risk, and the ledger export's paging.

-- Counted orders (paid, not cancelled or refunded in full): how many, the first and the last,
-- and their total less refunds. Kept by order processing for the customer of each order, and
-- rebuilt set-based by `refresh-stats --full`.
alter table customers
    add column order_count int not null default 0,
    add column first_order_at timestamptz,
    add column last_order_at timestamptz,
    add column lifetime_cents bigint not null default 0;

-- An active membership is at risk once the time left before its expiry is shorter than the
-- member's usual gap between orders: from `expires_at - usual gap` on. Null for members with
-- fewer than two orders (no usual gap yet).
alter table club_enrollments add column at_risk_from timestamptz;
create index club_enrollments_at_risk_idx on club_enrollments (client_id, at_risk_from)
    where status = 'active' and at_risk_from is not null;

-- The backfills read and write every winery's rows: row-level security (forced even for the
-- owner) is lifted for this transaction and forced again below. The bulk demo seed wrote order
-- statuses capitalised ("Paid"); they are the lower-case words everywhere else, now checked.
alter table orders no force row level security;
alter table customers no force row level security;
alter table club_enrollments no force row level security;
update orders set status = lower(status) where status <> lower(status);
alter table orders add constraint orders_status_check
    check (status is null or status in ('pending', 'paid', 'partially_refunded', 'refunded', 'cancelled'));

-- Whether the customer held a membership when the order was counted (set by order processing;
-- null until then). Past orders: a membership row covered the moment, one that began before the
-- order and had not ended before it.
alter table orders add column by_member boolean;
update orders o
   set by_member = exists (select 1 from club_enrollments e
                           where e.client_id = o.client_id and e.customer_id = o.customer_id
                             and e.started_at < o.placed_at and coalesce(e.ended_at, e.expires_at) >= o.placed_at)
 where o.processed_at is not null;

with totals as (
    select client_id, customer_id, count(*) as n, min(placed_at) as first_at, max(placed_at) as last_at,
           sum(total_cents - refunded_cents) as cents
    from orders
    where customer_id is not null and processed_at is not null and status in ('paid', 'partially_refunded')
    group by client_id, customer_id
)
update customers c
   set order_count = t.n, first_order_at = t.first_at, last_order_at = t.last_at, lifetime_cents = t.cents
  from totals t
 where c.client_id = t.client_id and c.id = t.customer_id;

update club_enrollments e
   set at_risk_from = e.expires_at - (c.last_order_at - c.first_order_at) / (c.order_count - 1)
  from customers c
 where c.client_id = e.client_id and c.id = e.customer_id and e.status = 'active' and c.order_count >= 2;

alter table orders force row level security;
alter table customers force row level security;
alter table club_enrollments force row level security;

-- The ledger's CSV export pages through a winery's points ledger in sequence order.
create index point_transactions_client_sequence_idx on point_transactions (client_id, sequence);
