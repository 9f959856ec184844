//! Inserts into `crm_sync_queue`: the CRM operations (decisions D21: grant, revoke, move) written
//! in the same transaction as the club change that caused them. The worker that sends them comes
//! with the CRM integration; until then they wait, visible to the admin.

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
    .execute(conn)
    .await?;
    Ok(())
}
