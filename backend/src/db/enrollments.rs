//! Queries on `club_enrollments` and `club_extensions`. The dates written here always come from
//! `domain::engine`; these functions only store decisions.

use crate::Result;
use chrono::{DateTime, Utc};
use domain::Money;
use domain::engine::StageRule;
use domain::ids::{ClientId, CustomerId, EnrollmentId, OrderId, StageId};
use sqlx::PgConnection;
use uuid::Uuid;

/// The customer's active enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Active {
    pub id: EnrollmentId,
    pub stage: StageId,
    pub enrolled_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The customer's active enrollment, locked.
pub async fn active_for_update(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<Option<Active>> {
    let row = sqlx::query!(
        r#"select id, club_stage_id, enrolled_at, expires_at from club_enrollments
           where client_id = $1 and customer_id = $2 and status = 'active'
           for update"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Active {
        id: EnrollmentId::new(r.id),
        stage: StageId::new(r.club_stage_id),
        enrolled_at: r.enrolled_at,
        expires_at: r.expires_at,
    }))
}

/// The program's active flag and every stage as the engine sees it.
pub async fn stage_rules(
    conn: &mut PgConnection,
    client: ClientId,
) -> Result<(bool, Vec<StageRule>)> {
    let program_active = sqlx::query_scalar!(
        "select is_active from club_programs where client_id = $1",
        client.as_uuid()
    )
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(false);
    let rows = sqlx::query!(
        r#"select id, stage_order, duration_months, min_purchase_amount_cents, is_active
           from club_stages where client_id = $1 order by stage_order"#,
        client.as_uuid()
    )
    .fetch_all(conn)
    .await?;
    let stages = rows
        .into_iter()
        .map(|r| StageRule {
            id: StageId::new(r.id),
            order: u32::try_from(r.stage_order).unwrap_or(0),
            duration_months: u32::try_from(r.duration_months).unwrap_or(1),
            min_purchase: Money::from_cents(r.min_purchase_amount_cents),
            is_active: r.is_active,
        })
        .collect();
    Ok((program_active, stages))
}

/// Inserts a new active enrollment.
pub async fn insert_active(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    stage: StageId,
    enrolled_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    order: Option<OrderId>,
) -> Result<EnrollmentId> {
    let id = sqlx::query_scalar!(
        r#"insert into club_enrollments (client_id, customer_id, club_stage_id, enrolled_at, expires_at, qualifying_order_id)
           values ($1, $2, $3, $4, $5, $6) returning id"#,
        client.as_uuid(),
        customer.as_uuid(),
        stage.as_uuid(),
        enrolled_at,
        expires_at,
        order.map(|o| o.as_uuid())
    )
    .fetch_one(conn)
    .await?;
    Ok(EnrollmentId::new(id))
}

/// Restarts an active enrollment's clock in place (a renewal).
pub async fn renew(
    conn: &mut PgConnection,
    client: ClientId,
    id: EnrollmentId,
    enrolled_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    order: OrderId,
) -> Result<()> {
    sqlx::query!(
        r#"update club_enrollments set enrolled_at = $3, expires_at = $4, qualifying_order_id = $5
           where client_id = $1 and id = $2 and status = 'active'"#,
        client.as_uuid(),
        id.as_uuid(),
        enrolled_at,
        expires_at,
        order.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends an active enrollment: `expired` (at its expiry), `upgraded` (at the upgrade) or `revoked`.
pub async fn end(
    conn: &mut PgConnection,
    client: ClientId,
    id: EnrollmentId,
    status: &str,
    ended_at: DateTime<Utc>,
    reason: &str,
) -> Result<bool> {
    let ended = sqlx::query!(
        r#"update club_enrollments set status = $3, ended_at = $4, end_reason = $5
           where client_id = $1 and id = $2 and status = 'active'"#,
        client.as_uuid(),
        id.as_uuid(),
        status,
        ended_at,
        reason
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(ended == 1)
}

/// One renewal or upgrade in the audit trail.
pub struct Extension {
    pub enrollment: EnrollmentId,
    pub from: StageId,
    pub to: StageId,
    pub order: OrderId,
    /// `renewal` or `upgrade`.
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub previous_enrolled_at: DateTime<Utc>,
    pub previous_expires_at: DateTime<Utc>,
    pub new_expires_at: DateTime<Utc>,
}

/// Writes a `club_extensions` row.
pub async fn insert_extension(
    conn: &mut PgConnection,
    client: ClientId,
    x: &Extension,
) -> Result<()> {
    sqlx::query!(
        r#"insert into club_extensions (client_id, enrollment_id, extended_from_stage_id, extended_to_stage_id, order_id,
                                        extension_type, extended_at, previous_enrolled_at, previous_expires_at, new_expires_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        client.as_uuid(),
        x.enrollment.as_uuid(),
        x.from.as_uuid(),
        x.to.as_uuid(),
        x.order.as_uuid(),
        x.kind,
        x.at,
        x.previous_enrolled_at,
        x.previous_expires_at,
        x.new_expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Flags the still-active enrollments an order created, renewed or upgraded (decisions D4).
/// Returns the flagged ids; already-flagged rows are left as they are.
pub async fn flag_for_order(
    conn: &mut PgConnection,
    client: ClientId,
    order: OrderId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<EnrollmentId>> {
    let ids = sqlx::query_scalar!(
        r#"update club_enrollments e set flagged_at = $4, flag_reason = $3
           where e.client_id = $1 and e.status = 'active' and e.flagged_at is null
             and (e.qualifying_order_id = $2
                  or exists (select 1 from club_extensions x
                             where x.client_id = $1 and x.enrollment_id = e.id and x.order_id = $2))
           returning e.id"#,
        client.as_uuid(),
        order.as_uuid(),
        reason,
        now
    )
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(EnrollmentId::new).collect())
}

/// What the set-based expiry did for one winery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiryCounts {
    pub expired: i64,
    pub customers_updated: i64,
    pub revocations_queued: i64,
    /// The customers whose membership ended.
    pub customers: Vec<Uuid>,
}

/// Expires every active enrollment of `client` whose `expires_at <= now` (decisions D6), in a
/// constant number of statements whatever the number of due rows: the status change, the member
/// flags, one audit row per enrollment and one CRM revoke per enrollment are written by a single
/// statement. Rows another copy of the job already expired no longer match, so two copies running
/// at once do the work once.
pub async fn expire_due(
    conn: &mut PgConnection,
    client: ClientId,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<ExpiryCounts> {
    let row = sqlx::query!(
        r#"with due as (
               update club_enrollments
               set status = 'expired', ended_at = expires_at, end_reason = 'expired'
               where client_id = $1 and status = 'active' and expires_at <= $2
               returning id, customer_id, club_stage_id, enrolled_at, expires_at
           ),
           members as (
               -- D11: a membership that ends while earning was on resets the progress from its end.
               update customers c
               set is_club_member = false,
                   loyalty_progress_reset_at = case when c.loyalty_earning_active then d.expires_at
                                                    else c.loyalty_progress_reset_at end,
                   loyalty_earning_active = false
               from due d
               where c.client_id = $1 and c.id = d.customer_id
               returning c.id, c.crm_id
           ),
           audited as (
               insert into audit_log (client_id, actor_kind, actor_label, action, entity_type, entity_id, before, after)
               select $1, 'system', $3, 'enrollment.expired', 'club_enrollment', d.id,
                      jsonb_build_object('status', 'active', 'stage_id', d.club_stage_id,
                                         'enrolled_at', d.enrolled_at, 'expires_at', d.expires_at),
                      jsonb_build_object('status', 'expired', 'ended_at', d.expires_at)
               from due d
               returning 1
           ),
           queued as (
               insert into crm_sync_queue (client_id, customer_id, enrollment_id, action_type, stage_id, customer_crm_id, next_retry_at)
               select $1, d.customer_id, d.id, 'revoke', d.club_stage_id, m.crm_id, $2
               from due d join members m on m.id = d.customer_id
               returning 1
           ),
           woken as (
               insert into crm_wakeups (client_id, due_at)
               select $1, $2 where exists (select 1 from due)
               on conflict (client_id) do update
               set due_at = least(crm_wakeups.due_at, excluded.due_at), version = crm_wakeups.version + 1
               returning 1
           )
           select (select count(*) from due) as "expired!",
                  (select count(*) from members) as "customers_updated!",
                  (select count(*) from audited) as "audited!",
                  (select count(*) from queued) as "queued!",
                  (select coalesce(array_agg(id), '{}') from members) as "customers!: Vec<Uuid>""#,
        client.as_uuid(),
        now,
        actor
    )
    .fetch_one(conn)
    .await?;
    Ok(ExpiryCounts {
        expired: row.expired,
        customers_updated: row.customers_updated,
        revocations_queued: row.queued,
        customers: row.customers,
    })
}

/// A row of the customer's history, for tests and the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollmentRow {
    pub id: Uuid,
    pub stage_id: Uuid,
    pub status: String,
    pub enrolled_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub qualifying_order_id: Option<Uuid>,
    pub ended_at: Option<DateTime<Utc>>,
    pub flagged_at: Option<DateTime<Utc>>,
}

/// Every enrollment of a customer, oldest first.
pub async fn history(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<Vec<EnrollmentRow>> {
    let rows = sqlx::query_as!(
        EnrollmentRow,
        r#"select id, club_stage_id as stage_id, status, enrolled_at, expires_at, qualifying_order_id, ended_at, flagged_at
           from club_enrollments where client_id = $1 and customer_id = $2
           order by created_at, id"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}
