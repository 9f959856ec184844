//! Queries on `customers` for the club engine: find-or-create from an order, lock, and keep the
//! denormalized membership flag true exactly when an active enrollment exists.

use crate::Result;
use domain::ids::{ClientId, CustomerId};
use sqlx::PgConnection;

/// Who placed an order, as the CRM or the import file names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerRef {
    /// The CRM's id, when known (webhooks); imports match by e-mail only.
    pub crm_id: Option<String>,
    pub email: domain::EmailAddress,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

/// Finds the customer by CRM id, then by e-mail (domain.md section 8 B), creating them if neither
/// matches, and refreshes the contact details the order carries. Returns the id.
pub async fn upsert(
    conn: &mut PgConnection,
    client: ClientId,
    who: &CustomerRef,
) -> Result<CustomerId> {
    if let Some(crm_id) = who.crm_id.as_deref() {
        let found = sqlx::query_scalar!(
            r#"update customers
               set email = $3, first_name = coalesce($4, first_name), last_name = coalesce($5, last_name),
                   phone = coalesce($6, phone)
               where client_id = $1 and crm_id = $2
               returning id"#,
            client.as_uuid(),
            crm_id,
            who.email.as_str(),
            who.first_name,
            who.last_name,
            who.phone
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = found {
            return Ok(CustomerId::new(id));
        }
    }
    let id = sqlx::query_scalar!(
        r#"insert into customers (client_id, crm_id, email, first_name, last_name, phone)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (client_id, email) do update
               set crm_id = coalesce(customers.crm_id, excluded.crm_id),
                   first_name = coalesce(excluded.first_name, customers.first_name),
                   last_name = coalesce(excluded.last_name, customers.last_name),
                   phone = coalesce(excluded.phone, customers.phone)
           returning id"#,
        client.as_uuid(),
        who.crm_id,
        who.email.as_str(),
        who.first_name,
        who.last_name,
        who.phone
    )
    .fetch_one(conn)
    .await?;
    Ok(CustomerId::new(id))
}

/// Locks the customer row for the rest of the transaction (decisions D9: concurrent orders of
/// one customer take turns). Returns the customer's CRM id.
pub async fn lock(
    conn: &mut PgConnection,
    client: ClientId,
    id: CustomerId,
) -> Result<Option<Option<String>>> {
    let row = sqlx::query_scalar!(
        "select crm_id from customers where client_id = $1 and id = $2 for update",
        client.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// Sets `is_club_member` from the enrollments (true exactly when an active one exists); when the
/// membership ended, earning stops too (domain.md section 4.6).
pub async fn refresh_member_flag(
    conn: &mut PgConnection,
    client: ClientId,
    id: CustomerId,
) -> Result<()> {
    sqlx::query!(
        r#"update customers c
           set is_club_member = m.active,
               loyalty_earning_active = c.loyalty_earning_active and m.active
           from (select exists (select 1 from club_enrollments e
                                where e.client_id = $1 and e.customer_id = $2 and e.status = 'active') as active) m
           where c.client_id = $1 and c.id = $2
             and (c.is_club_member <> m.active or (c.loyalty_earning_active and not m.active))"#,
        client.as_uuid(),
        id.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A membership ended (expiry, revoke): earning stops, and if it was on, progress toward the
/// next threshold counts from `ended_at` (decisions D11). Call before the member flag refresh.
pub async fn membership_ended(
    conn: &mut PgConnection,
    client: ClientId,
    id: CustomerId,
    ended_at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"update customers
           set loyalty_progress_reset_at = case when loyalty_earning_active then $3 else loyalty_progress_reset_at end,
               loyalty_earning_active = false
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id.as_uuid(),
        ended_at
    )
    .execute(conn)
    .await?;
    Ok(())
}
