//! Queries on `orders`: the idempotent upsert keyed by (client, CRM order id), and the marker that
//! an order has been counted by the club engine.

use crate::Result;
use chrono::{DateTime, Utc};
use domain::Money;
use domain::ids::{ClientId, CustomerId, OrderId};
use domain::orders::{OrderAmounts, OrderStatus};
use sqlx::PgConnection;

/// An order as the club engine receives it (from a webhook, an import file or the demo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderEvent {
    pub crm_id: String,
    pub customer: Option<super::customers::CustomerRef>,
    /// When the customer placed the order; the club judges it at this instant.
    pub placed_at: DateTime<Utc>,
    pub status: OrderStatus,
    pub amounts: OrderAmounts,
    pub refunded: Money,
    /// `webhook`, `import`, `demo` or `admin`.
    pub source: &'static str,
}

/// The stored order after the upsert.
#[derive(Clone, Debug)]
pub struct StoredOrder {
    pub id: OrderId,
    /// Already counted by the club engine (a redelivery or an update).
    pub processed: bool,
    /// Already flagged for a cancellation or refund.
    pub reversed_before: bool,
    /// The order's total and what has been refunded of it so far (D4 reversals).
    pub total: domain::Money,
    pub refunded: domain::Money,
}

/// Inserts the order, or updates its status and refund on a redelivery. Amounts and the placement
/// time of a counted order never change.
pub async fn upsert(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    event: &OrderEvent,
    now: DateTime<Utc>,
) -> Result<StoredOrder> {
    let a = &event.amounts;
    let paid_at = event.status.counts().then_some(now);
    let cancelled_at = event.status.reverses().then_some(now);
    let row = sqlx::query!(
        r#"with before as (
               select status from orders where client_id = $1 and crm_id = $2
           )
           insert into orders (client_id, crm_id, customer_id, placed_at, paid_at, subtotal_cents, discount_cents,
                               tax_cents, shipping_cents, total_cents, refunded_cents, status, cancelled_at, source)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           on conflict (client_id, crm_id) do update
               set status = excluded.status,
                   paid_at = coalesce(orders.paid_at, excluded.paid_at),
                   refunded_cents = greatest(orders.refunded_cents, excluded.refunded_cents),
                   cancelled_at = coalesce(orders.cancelled_at, excluded.cancelled_at),
                   subtotal_cents = case when orders.processed_at is null then excluded.subtotal_cents else orders.subtotal_cents end,
                   discount_cents = case when orders.processed_at is null then excluded.discount_cents else orders.discount_cents end,
                   tax_cents = case when orders.processed_at is null then excluded.tax_cents else orders.tax_cents end,
                   shipping_cents = case when orders.processed_at is null then excluded.shipping_cents else orders.shipping_cents end,
                   total_cents = case when orders.processed_at is null then excluded.total_cents else orders.total_cents end,
                   customer_id = coalesce(orders.customer_id, excluded.customer_id)
           returning id, processed_at is not null as "processed!",
                     coalesce((select status in ('refunded', 'cancelled') from before), false) as "reversed_before!",
                     total_cents, refunded_cents"#,
        client.as_uuid(),
        event.crm_id,
        customer.as_uuid(),
        event.placed_at,
        paid_at,
        a.subtotal.cents(),
        a.discount.cents(),
        a.tax.cents(),
        a.shipping.cents(),
        a.total.cents(),
        event.refunded.cents(),
        event.status.as_str(),
        cancelled_at,
        event.source
    )
    .fetch_one(conn)
    .await?;
    Ok(StoredOrder {
        id: OrderId::new(row.id),
        processed: row.processed,
        reversed_before: row.reversed_before,
        total: Money::from_cents(row.total_cents),
        refunded: Money::from_cents(row.refunded_cents),
    })
}

/// Records that the club engine counted the order, with the amount it compared and whether the
/// customer held a membership when it came (the dashboard's revenue from members).
pub async fn mark_processed(
    conn: &mut PgConnection,
    client: ClientId,
    id: OrderId,
    qualifying: Money,
    by_member: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "update orders set processed_at = $3, qualifying_amount_cents = $4, by_member = $5 where client_id = $1 and id = $2",
        client.as_uuid(),
        id.as_uuid(),
        now,
        qualifying.cents(),
        by_member
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer of a stored order: CRM id, e-mail address, first and last name, phone.
pub async fn customer_of(
    conn: &mut PgConnection,
    client: ClientId,
    crm_order: &str,
) -> Result<
    Option<(
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    )>,
> {
    let row = sqlx::query!(
        r#"select c.crm_id, c.email, c.first_name, c.last_name, c.phone
           from orders o join customers c on c.client_id = o.client_id and c.id = o.customer_id
           where o.client_id = $1 and o.crm_id = $2"#,
        client.as_uuid(),
        crm_order
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.crm_id, r.email, r.first_name, r.last_name, r.phone)))
}
