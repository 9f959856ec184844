//! SQL of the webhook inbox (D23) and of what deliveries change outside the club engine: customer
//! erasure (D24), memberships cancelled in the CRM, and stages whose CRM club disappeared.

use crate::Result;
use chrono::{DateTime, Utc};
use domain::ids::{ClientId, CustomerId, EnrollmentId, StageId};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// Stores a delivery; `false` when its key was already stored (a redelivery).
pub async fn insert(
    conn: &mut PgConnection,
    client: ClientId,
    provider: &str,
    topic: &str,
    key: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query!(
        r#"insert into webhook_inbox (client_id, provider, topic, delivery_key, payload, received_at)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (client_id, provider, delivery_key) do nothing"#,
        client.as_uuid(),
        provider,
        topic,
        key,
        payload,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query!(
        "update crm_connections set last_webhook_at = $2 where client_id = $1",
        client.as_uuid(),
        now
    )
    .execute(conn)
    .await?;
    Ok(inserted == 1)
}

/// A stored delivery waiting to be processed.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: Uuid,
    pub provider: String,
    pub topic: String,
    pub payload: Value,
    pub attempts: i32,
}

/// The oldest deliveries not yet processed, locked for this worker.
pub async fn due(conn: &mut PgConnection, client: ClientId, limit: i64) -> Result<Vec<Delivery>> {
    let rows = sqlx::query_as!(
        Delivery,
        r#"select id, provider, topic, payload, attempts from webhook_inbox
           where client_id = $1 and status = 'received'
           order by received_at, id
           limit $2
           for update skip locked"#,
        client.as_uuid(),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Whether the winery has deliveries waiting.
pub async fn any_due(conn: &mut PgConnection, client: ClientId) -> Result<bool> {
    let any = sqlx::query_scalar!(
        r#"select exists (select 1 from webhook_inbox where client_id = $1 and status = 'received') as "any!""#,
        client.as_uuid()
    )
    .fetch_one(conn)
    .await?;
    Ok(any)
}

/// Records what became of a delivery: `processed`, `ignored`, `failed`, or still `received` (to be
/// tried again) with the error of this try.
pub async fn settle(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    status: &str,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"update webhook_inbox
           set status = $3::text, error_message = $4, attempts = attempts + 1,
               processed_at = case when $3::text = 'received' then null else $5::timestamptz end
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id,
        status,
        error,
        now
    )
    .execute(&mut *conn)
    .await?;
    if let Some(error) = error.filter(|_| status != "ignored") {
        sqlx::query!(
            "update crm_connections set last_webhook_error = $2 where client_id = $1",
            client.as_uuid(),
            error
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// D24: anonymises the customer with this CRM id (or, failing that, this e-mail address: an
/// imported customer may have no CRM id yet): the e-mail
/// address becomes a random placeholder, the name and phone are cleared, and so is the address in
/// the message log. Ledgers and history stay. Returns whether a customer matched.
pub async fn erase_customer(
    conn: &mut PgConnection,
    client: ClientId,
    crm_id: Option<&str>,
    email: Option<&str>,
) -> Result<Option<CustomerId>> {
    let id = sqlx::query_scalar!(
        r#"update customers
           set email = 'erased-' || replace(gen_random_uuid()::text, '-', '') || '@erased.invalid',
               first_name = null, last_name = null, phone = null
           where id = (
               select id from customers
               where client_id = $1 and (crm_id = $2 or email = $3)
               order by crm_id = $2 desc nulls last limit 1
           )
           returning id"#,
        client.as_uuid(),
        crm_id,
        email
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    sqlx::query!(
        r#"update communication_log set to_address = 'erased'
           where client_id = $1 and customer_id = $2"#,
        client.as_uuid(),
        id
    )
    .execute(conn)
    .await?;
    Ok(Some(CustomerId::new(id)))
}

/// The active grant behind a CRM membership id: the customer and the stage.
pub async fn membership_by_crm_id(
    conn: &mut PgConnection,
    client: ClientId,
    crm_membership_id: &str,
) -> Result<Option<(CustomerId, StageId)>> {
    let row = sqlx::query!(
        r#"select customer_id, stage_id from crm_memberships
           where client_id = $1 and crm_membership_id = $2 and status = 'active'"#,
        client.as_uuid(),
        crm_membership_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (CustomerId::new(r.customer_id), StageId::new(r.stage_id))))
}

/// The customer's active enrollment in a stage.
pub async fn active_enrollment(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    stage: StageId,
) -> Result<Option<EnrollmentId>> {
    let id = sqlx::query_scalar!(
        r#"select id from club_enrollments
           where client_id = $1 and customer_id = $2 and club_stage_id = $3 and status = 'active'
           for update"#,
        client.as_uuid(),
        customer.as_uuid(),
        stage.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(id.map(EnrollmentId::new))
}

/// A stage whose CRM club was deleted: its CRM ids are cleared, its grants forgotten, and a grant
/// queued for each active member (the first recreates the club). Returns the queued count, or
/// `None` when no stage had that club.
pub async fn club_deleted(
    conn: &mut PgConnection,
    client: ClientId,
    crm_club_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let stage = sqlx::query_scalar!(
        r#"update club_stages set crm_club_id = null, crm_promotion_id = null, sync_status = 'pending'
           where client_id = $1 and crm_club_id = $2
           returning id"#,
        client.as_uuid(),
        crm_club_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(stage) = stage else {
        return Ok(None);
    };
    sqlx::query!(
        r#"update crm_memberships set status = 'cancelled', cancelled_at = $3
           where client_id = $1 and stage_id = $2 and status = 'active'"#,
        client.as_uuid(),
        stage,
        now
    )
    .execute(&mut *conn)
    .await?;
    let queued = sqlx::query!(
        r#"insert into crm_sync_queue (client_id, customer_id, enrollment_id, action_type, stage_id, customer_crm_id, next_retry_at)
           select e.client_id, e.customer_id, e.id, 'grant', e.club_stage_id, c.crm_id, $3
           from club_enrollments e join customers c on c.client_id = e.client_id and c.id = e.customer_id
           where e.client_id = $1 and e.club_stage_id = $2 and e.status = 'active'"#,
        client.as_uuid(),
        stage,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    super::crm::wake(conn, client, now).await?;
    Ok(Some(i64::try_from(queued).unwrap_or(i64::MAX)))
}
