//! SQL of the CRM integration: waking the worker for a winery (`crm_wakeups`), claiming and settling
//! queued operations (D22), each stage's CRM ids, each customer's CRM id and CRM memberships, and
//! the winery's connection.

use crate::Result;
use chrono::{DateTime, Utc};
use domain::ids::{ClientId, CustomerId, StageId};
use sqlx::PgConnection;
use uuid::Uuid;

/// Marks the winery's queue as due at `due_at` (or earlier, if it already was).
pub async fn wake(conn: &mut PgConnection, client: ClientId, due_at: DateTime<Utc>) -> Result<()> {
    sqlx::query!(
        r#"insert into crm_wakeups (client_id, due_at) values ($1, $2)
           on conflict (client_id) do update
           set due_at = least(crm_wakeups.due_at, excluded.due_at), version = crm_wakeups.version + 1"#,
        client.as_uuid(),
        due_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A winery whose queue a worker took, and the wake-up version it saw.
#[derive(Clone, Copy, Debug)]
pub struct Wakeup {
    pub client: ClientId,
    pub version: i64,
}

/// Takes up to `limit` due wineries for one worker: their wake-ups move to `lease_until`, so other
/// workers skip them, and come due again if this worker dies.
pub async fn claim_wakeups(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Wakeup>> {
    let rows = sqlx::query!(
        r#"update crm_wakeups w set due_at = $2
           where w.client_id in (
               select client_id from crm_wakeups where due_at <= $1
               order by due_at limit $3 for update skip locked
           )
           returning w.client_id, w.version"#,
        now,
        lease_until,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Wakeup {
            client: ClientId::new(r.client_id),
            version: r.version,
        })
        .collect())
}

/// Settles a winery after a worker's pass: due again at `next` (the earliest retry), or forgotten
/// when nothing waits, unless a newer wake-up arrived meanwhile (then it stays as that one set it).
pub async fn settle_wakeup(
    conn: &mut PgConnection,
    wakeup: Wakeup,
    next: Option<DateTime<Utc>>,
) -> Result<()> {
    match next {
        Some(at) => {
            sqlx::query!(
                "update crm_wakeups set due_at = $3 where client_id = $1 and version = $2",
                wakeup.client.as_uuid(),
                wakeup.version,
                at
            )
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query!(
                "delete from crm_wakeups where client_id = $1 and version = $2",
                wakeup.client.as_uuid(),
                wakeup.version
            )
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// A claimed operation.
#[derive(Clone, Debug)]
pub struct QueueItem {
    pub id: Uuid,
    pub customer_id: Option<Uuid>,
    pub action: String,
    pub stage_id: Option<Uuid>,
    pub old_stage_id: Option<Uuid>,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Claims the winery's due operations (pending and due, or processing with a lapsed lease), oldest
/// first, at most one per customer: an operation waits while an earlier one for the same customer
/// is not completed, so a revoke never overtakes its grant (D22).
pub async fn claim_items(
    conn: &mut PgConnection,
    client: ClientId,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<QueueItem>> {
    let rows = sqlx::query_as!(
        QueueItem,
        r#"update crm_sync_queue q
           set status = 'processing', attempts = q.attempts + 1, last_attempt_at = $2, locked_until = $3
           where q.id in (
               select d.id from crm_sync_queue d
               where d.client_id = $1
                 and ((d.status = 'pending' and d.next_retry_at <= $2)
                      or (d.status = 'processing' and d.locked_until < $2))
                 and not exists (
                     select 1 from crm_sync_queue e
                     where e.client_id = d.client_id and e.customer_id = d.customer_id
                       and e.sequence < d.sequence and e.status <> 'completed')
               order by d.sequence
               limit $4
               for update skip locked
           )
           returning q.id, q.customer_id, q.action_type as action, q.stage_id, q.old_stage_id,
                     q.attempts, q.max_attempts"#,
        client.as_uuid(),
        now,
        lease_until,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Marks an operation done.
pub async fn complete_item(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"update crm_sync_queue set status = 'completed', completed_at = $3, locked_until = null,
                                      error_message = null
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed try: due again at `retry_at`, or `failed` for good when there is none.
pub async fn fail_item(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query!(
        r#"update crm_sync_queue
           set status = case when $4::timestamptz is null then 'failed' else 'pending' end,
               next_retry_at = coalesce($4, next_retry_at), locked_until = null, error_message = $3
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id,
        error,
        retry_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// When the winery's queue next needs a worker: the earliest retry or lapsing lease.
pub async fn next_due(conn: &mut PgConnection, client: ClientId) -> Result<Option<DateTime<Utc>>> {
    let at = sqlx::query_scalar!(
        r#"select min(case when status = 'pending' then next_retry_at else locked_until end)
           from crm_sync_queue
           where client_id = $1 and status in ('pending', 'processing')"#,
        client.as_uuid()
    )
    .fetch_one(conn)
    .await?;
    Ok(at)
}

/// "Retry now": a failed operation goes back to the queue with a fresh set of attempts. Returns
/// whether there was such an operation.
pub async fn retry_item(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = sqlx::query!(
        r#"update crm_sync_queue set status = 'pending', attempts = 0, next_retry_at = $3
           where client_id = $1 and id = $2 and status = 'failed'"#,
        client.as_uuid(),
        id,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated > 0 {
        wake(conn, client, now).await?;
    }
    Ok(updated > 0)
}

/// "Resync all members": queues a grant for every active membership (grants are idempotent, so a
/// member the CRM already holds is left as is). Returns how many were queued.
pub async fn resync_all(
    conn: &mut PgConnection,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<i64> {
    let queued = sqlx::query!(
        r#"insert into crm_sync_queue (client_id, customer_id, enrollment_id, action_type, stage_id, customer_crm_id, next_retry_at)
           select e.client_id, e.customer_id, e.id, 'grant', e.club_stage_id, c.crm_id, $2
           from club_enrollments e join customers c on c.client_id = e.client_id and c.id = e.customer_id
           where e.client_id = $1 and e.status = 'active'
           order by e.enrolled_at"#,
        client.as_uuid(),
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if queued > 0 {
        wake(conn, client, now).await?;
    }
    Ok(i64::try_from(queued).unwrap_or(i64::MAX))
}

/// A stage as the CRM worker needs it.
#[derive(Clone, Debug)]
pub struct SyncStage {
    pub name: String,
    pub discount_hundredths: u32,
    pub ids: crate::crm::StageIds,
}

/// Reads a stage and its CRM ids.
pub async fn stage(
    conn: &mut PgConnection,
    client: ClientId,
    stage: StageId,
) -> Result<Option<SyncStage>> {
    let row = sqlx::query!(
        r#"select name, (discount_percentage * 100)::int4 as "hundredths!", crm_club_id, crm_promotion_id,
                  crm_discount_id, crm_tag
           from club_stages where client_id = $1 and id = $2"#,
        client.as_uuid(),
        stage.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| SyncStage {
        name: r.name,
        discount_hundredths: u32::try_from(r.hundredths).unwrap_or(0),
        ids: crate::crm::StageIds {
            club_id: r.crm_club_id,
            promotion_id: r.crm_promotion_id,
            discount_id: r.crm_discount_id,
            tag: r.crm_tag,
        },
    }))
}

/// Stores a stage's CRM ids after `ensure_stage`.
pub async fn save_stage_ids(
    conn: &mut PgConnection,
    client: ClientId,
    stage: StageId,
    ids: &crate::crm::StageIds,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"update club_stages
           set crm_club_id = $3, crm_promotion_id = $4, crm_discount_id = $5, crm_tag = $6,
               last_sync_at = $7, sync_status = 'synced'
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        stage.as_uuid(),
        ids.club_id,
        ids.promotion_id,
        ids.discount_id,
        ids.tag,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A customer as the CRM worker needs them.
#[derive(Clone, Debug)]
pub struct SyncCustomer {
    pub crm_id: Option<String>,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

/// Reads a customer's contact details and CRM id.
pub async fn customer(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<Option<SyncCustomer>> {
    let row = sqlx::query_as!(
        SyncCustomer,
        "select crm_id, email, first_name, last_name, phone from customers where client_id = $1 and id = $2",
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// Stores the CRM id found or created for a customer.
pub async fn save_customer_crm_id(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    crm_id: &str,
) -> Result<()> {
    sqlx::query!(
        "update customers set crm_id = $3 where client_id = $1 and id = $2",
        client.as_uuid(),
        customer.as_uuid(),
        crm_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The CRM membership id of the customer's active grant for a stage (`Some(None)`: granted, but the
/// CRM has no membership object).
pub async fn active_membership(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    stage: StageId,
) -> Result<Option<Option<String>>> {
    let row = sqlx::query_scalar!(
        r#"select crm_membership_id from crm_memberships
           where client_id = $1 and customer_id = $2 and stage_id = $3 and status = 'active'"#,
        client.as_uuid(),
        customer.as_uuid(),
        stage.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// Records a grant the CRM confirmed (a repeated grant keeps the first record, updating its id).
pub async fn record_grant(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    stage: StageId,
    crm_membership_id: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"insert into crm_memberships (client_id, customer_id, stage_id, crm_membership_id, granted_at)
           values ($1, $2, $3, $4, $5)
           on conflict (client_id, customer_id, stage_id) where status = 'active'
           do update set crm_membership_id = coalesce(excluded.crm_membership_id, crm_memberships.crm_membership_id)"#,
        client.as_uuid(),
        customer.as_uuid(),
        stage.as_uuid(),
        crm_membership_id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a revoke the CRM confirmed.
pub async fn record_revoke(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    stage: StageId,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"update crm_memberships set status = 'cancelled', cancelled_at = $4
           where client_id = $1 and customer_id = $2 and stage_id = $3 and status = 'active'"#,
        client.as_uuid(),
        customer.as_uuid(),
        stage.as_uuid(),
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// How a winery is connected to its CRM.
#[derive(Clone, Debug)]
pub struct Connection {
    /// `commerce7`, `shopify` or `sandbox`.
    pub provider: String,
    pub webhook_secret_encrypted: Vec<u8>,
    pub webhook_ids: serde_json::Value,
    pub last_webhook_at: Option<DateTime<Utc>>,
    pub last_webhook_error: Option<String>,
    pub last_reconciled_at: Option<DateTime<Utc>>,
}

/// The winery's connection, if it has one.
pub async fn connection(conn: &mut PgConnection, client: ClientId) -> Result<Option<Connection>> {
    let row = sqlx::query_as!(
        Connection,
        r#"select provider, webhook_secret_encrypted, webhook_ids, last_webhook_at, last_webhook_error,
                  last_reconciled_at
           from crm_connections where client_id = $1"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// Creates or replaces the winery's connection.
pub async fn save_connection(
    conn: &mut PgConnection,
    client: ClientId,
    provider: &str,
    webhook_secret_encrypted: &[u8],
    webhook_ids: &serde_json::Value,
) -> Result<()> {
    sqlx::query!(
        r#"insert into crm_connections (client_id, provider, webhook_secret_encrypted, webhook_ids)
           values ($1, $2, $3, $4)
           on conflict (client_id) do update
           set provider = excluded.provider, webhook_secret_encrypted = excluded.webhook_secret_encrypted,
               webhook_ids = excluded.webhook_ids"#,
        client.as_uuid(),
        provider,
        webhook_secret_encrypted,
        webhook_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A winery's stored OAuth tokens, sealed.
#[derive(Clone, Debug)]
pub struct SealedTokens {
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub scope: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

/// The winery's current tokens (the newest row).
pub async fn tokens(conn: &mut PgConnection, client: ClientId) -> Result<Option<SealedTokens>> {
    let row = sqlx::query_as!(
        SealedTokens,
        r#"select access_token_encrypted as access_token, refresh_token_encrypted as refresh_token, scope,
                  expires_at, refresh_expires_at
           from platform_sessions where client_id = $1
           order by created_at desc limit 1"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// Replaces the winery's tokens.
pub async fn save_tokens(
    conn: &mut PgConnection,
    client: ClientId,
    t: &SealedTokens,
) -> Result<()> {
    delete_tokens(conn, client).await?;
    sqlx::query!(
        r#"insert into platform_sessions (client_id, access_token_encrypted, refresh_token_encrypted, scope,
                                          expires_at, refresh_expires_at)
           values ($1, $2, $3, $4, $5, $6)"#,
        client.as_uuid(),
        t.access_token,
        t.refresh_token,
        t.scope,
        t.expires_at,
        t.refresh_expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the winery's tokens (uninstall).
pub async fn delete_tokens(conn: &mut PgConnection, client: ClientId) -> Result<()> {
    sqlx::query!(
        "delete from platform_sessions where client_id = $1",
        client.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Asks for a reconcile (Commerce7 and sandbox connections only); `false` when there is none.
pub async fn request_reconcile(
    conn: &mut PgConnection,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let asked = sqlx::query!(
        r#"update crm_connections set reconcile_requested_at = $2
           where client_id = $1 and provider in ('commerce7', 'sandbox')"#,
        client.as_uuid(),
        now
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(asked == 1)
}

/// A reconcile the worker should run now: the instant it was asked for, and where the previous
/// one stopped.
pub async fn reconcile_due(
    conn: &mut PgConnection,
    client: ClientId,
) -> Result<Option<(DateTime<Utc>, Option<DateTime<Utc>>)>> {
    let row = sqlx::query!(
        r#"select reconcile_requested_at as "requested!", last_reconciled_at from crm_connections
           where client_id = $1 and reconcile_requested_at is not null"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.requested, r.last_reconciled_at)))
}

/// Records a finished reconcile.
pub async fn reconciled(
    conn: &mut PgConnection,
    client: ClientId,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"update crm_connections set reconcile_requested_at = null, last_reconciled_at = $2
           where client_id = $1"#,
        client.as_uuid(),
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}
