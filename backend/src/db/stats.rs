//! The dashboard's rollups: `stats_days` (what happened on each local day) and `stats_stage_days`
//! (active members per stage at a day's end). Every write recomputes whole days set-based from
//! the source tables, so order processing, the nightly job and a full rebuild run the same SQL
//! and can never drift apart.

use crate::Result;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::ids::ClientId;
use sqlx::PgConnection;

/// The local day of `at` in `zone`.
pub fn day_of(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// Recomputes `stats_days` for every local day from `from` through `to`.
///
/// An order counts on the day it was placed, once paid (`processed_at`) and unless cancelled or
/// refunded in full; its revenue is its total less refunds. It is a member's order when order
/// processing found the customer holding a membership that had not run out (`orders.by_member`:
/// the order that upgrades a member counts as a member's; the one that enrolls a customer does
/// not).
///
/// # Errors
/// Database failures only.
pub async fn refresh_days(
    conn: &mut PgConnection,
    client: ClientId,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<u64> {
    // Lock the days first, in order: a concurrent order's transaction that rewrites one of them
    // waits, and whichever runs second recomputes with the other's rows committed (each statement
    // reads a fresh snapshot under READ COMMITTED).
    sqlx::query!(
        r#"insert into stats_days (client_id, day)
           select $1, d::date from generate_series($2::date, $3::date, interval '1 day') d
           on conflict do nothing"#,
        client.as_uuid(),
        from,
        to
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "select day from stats_days where client_id = $1 and day between $2 and $3 order by day for update",
        client.as_uuid(),
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await?;
    let done = sqlx::query!(
        r#"with days as (
               select d::date as day from generate_series($3::date, $4::date, interval '1 day') d
           ),
           bounds as (
               select ($3::date::timestamp at time zone $2) as lo,
                      (($4::date + 1)::timestamp at time zone $2) as hi
           ),
           joined as (
               select (e.started_at at time zone $2)::date as day, count(*) as n
               from club_enrollments e, bounds b
               where e.client_id = $1 and e.started_at >= b.lo and e.started_at < b.hi
                 and not exists (select 1 from club_extensions x
                                 where x.client_id = e.client_id and x.enrollment_id = e.id
                                   and x.extension_type = 'upgrade')
               group by 1
           ),
           moves as (
               select (x.extended_at at time zone $2)::date as day,
                      count(*) filter (where x.extension_type = 'renewal') as renewed,
                      count(*) filter (where x.extension_type = 'upgrade') as upgraded
               from club_extensions x, bounds b
               where x.client_id = $1 and x.extension_type in ('renewal', 'upgrade')
                 and x.extended_at >= b.lo and x.extended_at < b.hi
               group by 1
           ),
           expired as (
               select (e.ended_at at time zone $2)::date as day, count(*) as n
               from club_enrollments e, bounds b
               where e.client_id = $1 and e.status = 'expired' and e.ended_at >= b.lo and e.ended_at < b.hi
               group by 1
           ),
           counted as (
               select (o.placed_at at time zone $2)::date as day,
                      o.total_cents - o.refunded_cents as revenue,
                      coalesce(o.by_member, false) as by_member
               from orders o, bounds b
               where o.client_id = $1 and o.placed_at >= b.lo and o.placed_at < b.hi
                 and o.processed_at is not null and o.status in ('paid', 'partially_refunded')
           ),
           sales as (
               select day,
                      count(*) filter (where by_member) as member_orders,
                      coalesce(sum(revenue) filter (where by_member), 0) as member_revenue,
                      count(*) filter (where not by_member) as other_orders,
                      coalesce(sum(revenue) filter (where not by_member), 0) as other_revenue
               from counted group by day
           ),
           points as (
               select (p.transaction_date at time zone $2)::date as day,
                      coalesce(sum(p.points) filter (where p.transaction_type in ('earned', 'bonus')), 0) as issued,
                      coalesce(-sum(p.points) filter (where p.transaction_type = 'redeemed'), 0) as redeemed,
                      sum(p.points) as net
               from point_transactions p, bounds b
               where p.client_id = $1 and p.transaction_date >= b.lo and p.transaction_date < b.hi
               group by 1
           )
           insert into stats_days (client_id, day, joined, renewed, upgraded, expired, member_orders,
                                   member_revenue_cents, other_orders, other_revenue_cents,
                                   points_issued, points_redeemed, points_net, refreshed_at)
           select $1, d.day, coalesce(j.n, 0), coalesce(m.renewed, 0), coalesce(m.upgraded, 0),
                  coalesce(x.n, 0), coalesce(s.member_orders, 0), coalesce(s.member_revenue, 0),
                  coalesce(s.other_orders, 0), coalesce(s.other_revenue, 0),
                  coalesce(p.issued, 0), coalesce(p.redeemed, 0), coalesce(p.net, 0), now()
           from days d
           left join joined j on j.day = d.day
           left join moves m on m.day = d.day
           left join expired x on x.day = d.day
           left join sales s on s.day = d.day
           left join points p on p.day = d.day
           on conflict (client_id, day) do update set
               joined = excluded.joined, renewed = excluded.renewed, upgraded = excluded.upgraded,
               expired = excluded.expired, member_orders = excluded.member_orders,
               member_revenue_cents = excluded.member_revenue_cents, other_orders = excluded.other_orders,
               other_revenue_cents = excluded.other_revenue_cents, points_issued = excluded.points_issued,
               points_redeemed = excluded.points_redeemed, points_net = excluded.points_net,
               refreshed_at = excluded.refreshed_at"#,
        client.as_uuid(),
        zone.name(),
        from,
        to
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Recomputes the local days of `instants` (in day order, so two transactions never wait on
/// each other's days crosswise).
///
/// # Errors
/// Database failures only.
pub async fn touch(
    conn: &mut PgConnection,
    client: ClientId,
    zone: Tz,
    instants: &[DateTime<Utc>],
) -> Result<()> {
    let mut days: Vec<NaiveDate> = instants.iter().map(|t| day_of(*t, zone)).collect();
    days.sort_unstable();
    days.dedup();
    for day in days {
        refresh_days(conn, client, zone, day, day).await?;
    }
    Ok(())
}

/// The first local day with any order, enrollment or ledger row, if there is one.
///
/// # Errors
/// Database failures only.
pub async fn first_day(
    conn: &mut PgConnection,
    client: ClientId,
    zone: Tz,
) -> Result<Option<NaiveDate>> {
    let first = sqlx::query_scalar!(
        r#"select least(
               (select min(placed_at) from orders where client_id = $1),
               (select min(started_at) from club_enrollments where client_id = $1),
               (select min(transaction_date) from point_transactions where client_id = $1)) as "first""#,
        client.as_uuid()
    )
    .fetch_one(conn)
    .await?;
    Ok(first.map(|t| day_of(t, zone)))
}

/// Whether the winery's `stats_days` holds any row.
///
/// # Errors
/// Database failures only.
pub async fn has_days(conn: &mut PgConnection, client: ClientId) -> Result<bool> {
    Ok(sqlx::query_scalar!(
        r#"select exists (select 1 from stats_days where client_id = $1) as "found!""#,
        client.as_uuid()
    )
    .fetch_one(conn)
    .await?)
}

/// Rewrites `stats_stage_days` for `days`: the members each stage held at the end of each day
/// (a membership covers `[started_at, coalesce(ended_at, expires_at))`).
///
/// # Errors
/// Database failures only.
pub async fn snapshot_stages(
    conn: &mut PgConnection,
    client: ClientId,
    zone: Tz,
    days: &[NaiveDate],
) -> Result<()> {
    sqlx::query!(
        "delete from stats_stage_days where client_id = $1 and day = any($2)",
        client.as_uuid(),
        days
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"insert into stats_stage_days (client_id, day, stage_id, members)
           select $1, d.day, e.club_stage_id, count(*)
           from unnest($3::date[]) as d(day)
           join club_enrollments e
             on e.client_id = $1
            and e.started_at < ((d.day + 1)::timestamp at time zone $2)
            and coalesce(e.ended_at, e.expires_at) > ((d.day + 1)::timestamp at time zone $2)
           group by d.day, e.club_stage_id"#,
        client.as_uuid(),
        zone.name(),
        days
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Which of `days` have no stage snapshot yet.
///
/// # Errors
/// Database failures only.
pub async fn missing_snapshots(
    conn: &mut PgConnection,
    client: ClientId,
    days: &[NaiveDate],
) -> Result<Vec<NaiveDate>> {
    let rows = sqlx::query_scalar!(
        r#"select d.day as "day!" from unnest($2::date[]) as d(day)
           where not exists (select 1 from stats_stage_days s where s.client_id = $1 and s.day = d.day)"#,
        client.as_uuid(),
        days
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Recomputes one customer's order totals and, for their active membership, when it becomes at
/// risk (`expires_at` less their usual gap between orders; none with fewer than two orders).
///
/// # Errors
/// Database failures only.
pub async fn refresh_customer(
    conn: &mut PgConnection,
    client: ClientId,
    customer: uuid::Uuid,
) -> Result<()> {
    sqlx::query!(
        r#"with t as (
               select count(*)::int4 as n, min(placed_at) as first_at, max(placed_at) as last_at,
                      coalesce(sum(total_cents - refunded_cents), 0)::int8 as cents
               from orders
               where client_id = $1 and customer_id = $2 and processed_at is not null
                 and status in ('paid', 'partially_refunded')
           )
           update customers c
              set order_count = t.n, first_order_at = t.first_at, last_order_at = t.last_at, lifetime_cents = t.cents
             from t
            where c.client_id = $1 and c.id = $2
              and (c.order_count, c.first_order_at, c.last_order_at, c.lifetime_cents)
                  is distinct from (t.n, t.first_at, t.last_at, t.cents)"#,
        client.as_uuid(),
        customer
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"update club_enrollments e
              set at_risk_from = case when c.order_count >= 2
                                      then e.expires_at - (c.last_order_at - c.first_order_at) / (c.order_count - 1)
                                 end
             from customers c
            where e.client_id = $1 and e.customer_id = $2 and e.status = 'active'
              and c.client_id = e.client_id and c.id = e.customer_id"#,
        client.as_uuid(),
        customer
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// [`refresh_customer`] for the customer of `order`.
///
/// # Errors
/// Database failures only.
pub async fn refresh_customer_of_order(
    conn: &mut PgConnection,
    client: ClientId,
    order: domain::ids::OrderId,
) -> Result<()> {
    let customer = sqlx::query_scalar!(
        "select customer_id from orders where client_id = $1 and id = $2",
        client.as_uuid(),
        order.as_uuid()
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    match customer {
        Some(customer) => refresh_customer(conn, client, customer).await,
        None => Ok(()),
    }
}

/// [`refresh_customer`] for every customer of the winery, set-based. (Two statements rather
/// than one with an optional customer: a generic plan of `$2 is null or id = $2` would scan every
/// customer for each order.)
///
/// # Errors
/// Database failures only.
pub async fn refresh_customers(conn: &mut PgConnection, client: ClientId) -> Result<()> {
    sqlx::query!(
        r#"with t as (
               select c.id, count(o.id)::int4 as n, min(o.placed_at) as first_at, max(o.placed_at) as last_at,
                      coalesce(sum(o.total_cents - o.refunded_cents), 0)::int8 as cents
               from customers c
               left join orders o on o.client_id = c.client_id and o.customer_id = c.id
                    and o.processed_at is not null and o.status in ('paid', 'partially_refunded')
               where c.client_id = $1
               group by c.id
           )
           update customers c
              set order_count = t.n, first_order_at = t.first_at, last_order_at = t.last_at, lifetime_cents = t.cents
             from t
            where c.client_id = $1 and c.id = t.id
              and (c.order_count, c.first_order_at, c.last_order_at, c.lifetime_cents)
                  is distinct from (t.n, t.first_at, t.last_at, t.cents)"#,
        client.as_uuid()
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"update club_enrollments e
              set at_risk_from = case when c.order_count >= 2
                                      then e.expires_at - (c.last_order_at - c.first_order_at) / (c.order_count - 1)
                                 end
             from customers c
            where e.client_id = $1 and e.status = 'active'
              and c.client_id = e.client_id and c.id = e.customer_id
              and e.at_risk_from is distinct from (case when c.order_count >= 2
                                      then e.expires_at - (c.last_order_at - c.first_order_at) / (c.order_count - 1)
                                 end)"#,
        client.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(())
}
