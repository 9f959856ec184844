//! Inserts into `crm_sync_queue`: the CRM operations (decisions D21: grant, revoke, move) written
//! in the same transaction as the club change that caused them, with the wake-up that sends a
//! worker (`crate::crm::sync`).

use crate::Result;
use chrono::{DateTime, Utc};
use domain::ids::{ClientId, CustomerId, EnrollmentId, StageId};
use sqlx::PgConnection;

/// One CRM operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrmOp {
    /// Make the customer eligible for a stage's discount.
    Grant { stage: StageId },
    /// End the customer's eligibility for a stage's discount.
    Revoke { stage: StageId },
    /// An upgrade: from one stage's discount to another's.
    Move { from: StageId, to: StageId },
}

/// Queues an operation, due at once.
pub async fn enqueue(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    customer_crm_id: Option<&str>,
    enrollment: EnrollmentId,
    op: CrmOp,
    now: DateTime<Utc>,
) -> Result<()> {
    let (action, stage, old_stage) = match op {
        CrmOp::Grant { stage } => ("grant", stage, None),
        CrmOp::Revoke { stage } => ("revoke", stage, None),
        CrmOp::Move { from, to } => ("move", to, Some(from)),
    };
    sqlx::query!(
        r#"insert into crm_sync_queue (client_id, customer_id, enrollment_id, action_type, stage_id, old_stage_id,
                                       customer_crm_id, next_retry_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        client.as_uuid(),
        customer.as_uuid(),
        enrollment.as_uuid(),
        action,
        stage.as_uuid(),
        old_stage.map(|s| s.as_uuid()),
        customer_crm_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    super::crm::wake(conn, client, now).await
}

/// The winery's queue for the admin: counts by status and the newest items.
pub async fn overview(
    conn: &mut PgConnection,
    client: ClientId,
    zone: chrono_tz::Tz,
) -> Result<domain::sync::SyncQueueView> {
    let counts = sqlx::query!(
        r#"select count(*) filter (where status in ('pending', 'processing')) as "pending!",
                  count(*) filter (where status = 'failed') as "failed!",
                  count(*) filter (where status = 'completed') as "completed!"
           from crm_sync_queue where client_id = $1"#,
        client.as_uuid()
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query!(
        r#"select q.id, q.action_type, q.status, q.attempts, q.error_message, q.created_at,
                  c.email as "email?", c.first_name, c.last_name, s.name as "stage?", o.name as "old_stage?"
           from crm_sync_queue q
           left join customers c on c.client_id = q.client_id and c.id = q.customer_id
           left join club_stages s on s.client_id = q.client_id and s.id = q.stage_id
           left join club_stages o on o.client_id = q.client_id and o.id = q.old_stage_id
           where q.client_id = $1
           order by q.sequence desc
           limit $2"#,
        client.as_uuid(),
        domain::sync::SYNC_PAGE
    )
    .fetch_all(conn)
    .await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let email = r.email.unwrap_or_default();
            let name = format!(
                "{} {}",
                r.first_name.unwrap_or_default(),
                r.last_name.unwrap_or_default()
            )
            .trim()
            .to_owned();
            domain::sync::SyncItemView {
                id: r.id,
                action: r.action_type,
                member: if name.is_empty() { email.clone() } else { name },
                email,
                stage: r.stage,
                old_stage: r.old_stage,
                status: r.status,
                attempts: r.attempts,
                queued_label: domain::calendar::local_label(r.created_at, zone),
                error: r.error_message,
            }
        })
        .collect();
    Ok(domain::sync::SyncQueueView {
        pending: counts.pending,
        failed: counts.failed,
        completed: counts.completed,
        items,
    })
}
