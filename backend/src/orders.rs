//! Order processing: the club engine's entry point. Every paid order — from a webhook, an import
//! or the demo — goes through [`process_order`], which is idempotent on (winery, CRM order id).
//!
//! In one transaction, with the customer row locked (decisions D9), it stores the order, asks
//! `domain::engine` what the order does, and writes the decision: the enrollment change and its
//! `club_extensions` row, the member flag, an audit row, and the CRM operations (D21) queued for
//! the worker. An order counts once, when it is paid (D4); redeliveries and updates change
//! nothing. A cancelled or refunded order does not roll club dates back: it flags the enrollment
//! it created, renewed or upgraded for the admin to review.

use crate::db::audit::{self, Actor, Entry};
use crate::db::crm_queue::{self, CrmOp};
use crate::db::enrollments::{self, Active, Extension};
use crate::db::orders::{self, OrderEvent};
use crate::db::{self, clients, customers};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::engine::{ClubAction, Membership, apply_order};
use domain::ids::{ClientId, CustomerId, EnrollmentId, OrderId, StageId};
use domain::orders::QualifyingBasis;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

/// What the engine needs to know about a winery.
#[derive(Clone, Debug)]
pub struct ClubClient {
    pub id: ClientId,
    pub zone: Tz,
    pub basis: QualifyingBasis,
}

impl ClubClient {
    /// Loads the winery's time zone and qualifying basis.
    ///
    /// # Errors
    /// An unknown winery, or a time zone the database holds but chrono-tz does not know.
    pub async fn load(pool: &PgPool, id: ClientId) -> Result<Self> {
        let mut tx = db::begin_platform(pool).await?;
        let Some(client) = clients::find(&mut tx, id).await? else {
            tracing::warn!(client = %id, "an order for an unknown winery; nothing recorded");
            return Err(Error::NotFound { what: "winery" });
        };
        tx.commit().await?;
        let zone = domain::calendar::parse_time_zone(&client.time_zone).map_err(|_| {
            anyhow::anyhow!(
                "winery {} has an unknown time zone {:?}",
                client.slug,
                client.time_zone
            )
        })?;
        Ok(Self {
            id,
            zone,
            basis: QualifyingBasis::parse(&client.qualifying_amount_basis),
        })
    }
}

/// What an order did to the club.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClubChange {
    /// Counted, but no enrollment changed (too small, or a lower stage than the current one).
    None,
    Enrolled {
        enrollment: EnrollmentId,
        stage: StageId,
    },
    Renewed {
        enrollment: EnrollmentId,
        stage: StageId,
    },
    Upgraded {
        from_enrollment: EnrollmentId,
        enrollment: EnrollmentId,
        from: StageId,
        to: StageId,
    },
}

/// What [`process_order`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderOutcome {
    /// Nothing was written: the order names no customer (a guest order enrolls nobody).
    Ignored { reason: &'static str },
    /// Stored, not counted: not paid, or taken back before it counted.
    Recorded { order: OrderId },
    /// Already counted before: a redelivery or an update. Nothing changed.
    Duplicate { order: OrderId },
    /// Counted now. `expired_stale` says the current membership had already run out and was
    /// expired first (decisions D6).
    Counted {
        order: OrderId,
        customer: CustomerId,
        expired_stale: bool,
        change: ClubChange,
        /// Loyalty points the order earned (D11, D12).
        points: i64,
    },
    /// A counted order was refunded or cancelled: the points it earned were taken back in
    /// proportion, and (when it was taken back whole) these enrollments flagged for review.
    Reversed {
        order: OrderId,
        enrollments: Vec<EnrollmentId>,
        points_reversed: i64,
    },
}

impl OrderOutcome {
    /// The stored order, unless the event was ignored.
    pub fn order(&self) -> Option<OrderId> {
        match self {
            Self::Ignored { .. } => None,
            Self::Recorded { order }
            | Self::Duplicate { order }
            | Self::Counted { order, .. }
            | Self::Reversed { order, .. } => Some(*order),
        }
    }
}

/// Stores and counts one order. Idempotent on (winery, `event.crm_id`).
///
/// # Errors
/// Database failures only; the transaction is rolled back and nothing is written.
#[tracing::instrument(skip_all, fields(client = %client.id, order = %event.crm_id))]
pub async fn process_order(
    pool: &PgPool,
    client: &ClubClient,
    event: &OrderEvent,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<OrderOutcome> {
    let Some(who) = &event.customer else {
        tracing::warn!("order without a customer e-mail address; nothing recorded");
        return Ok(OrderOutcome::Ignored {
            reason: "the order names no customer",
        });
    };
    let mut tx = db::begin_scoped(pool, client.id).await?;
    let outcome = process_in(&mut tx, client, event, who, actor, now).await?;
    // The messages the order causes (welcome, renewed, upgraded, points) are queued in its
    // transaction. Imports call `process_in` directly: history never messages members.
    crate::comms::outbox::after_order(&mut tx, client.id, &outcome, now).await?;
    // The dashboard's rollup of the order's day (and of today, for a refund's ledger rows).
    crate::db::stats::touch(&mut tx, client.id, client.zone, &[event.placed_at, now]).await?;
    if let Some(order) = outcome.order() {
        crate::db::stats::refresh_customer_of_order(&mut tx, client.id, order).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// [`process_order`] inside the caller's transaction (the importer's dry run rolls it back).
pub async fn process_in(
    conn: &mut PgConnection,
    client: &ClubClient,
    event: &OrderEvent,
    who: &customers::CustomerRef,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<OrderOutcome> {
    let customer = customers::upsert(conn, client.id, who).await?;
    let crm_id = customers::lock(conn, client.id, customer)
        .await?
        .ok_or(Error::NotFound { what: "customer" })?;
    let stored = orders::upsert(conn, client.id, customer, event, now).await?;
    if stored.processed {
        // D4: a refund takes back the points the order earned, in proportion; a cancellation or
        // a full refund also flags the enrollment it created, renewed or upgraded.
        let refunded = if event.status.reverses() {
            stored.total
        } else {
            stored.refunded
        };
        let refunded_order = crate::loyalty::RefundedOrder {
            id: stored.id,
            label: &event.crm_id,
            refunded,
            total: stored.total,
        };
        let points_reversed =
            crate::loyalty::reverse_for_refund(conn, client.id, customer, &refunded_order, now)
                .await?;
        let mut flagged = Vec::new();
        if event.status.reverses() && !stored.reversed_before {
            let reason = format!(
                "Qualifying order {} was {}",
                event.crm_id,
                event.status.as_str()
            );
            flagged = enrollments::flag_for_order(conn, client.id, stored.id, &reason, now).await?;
            for id in &flagged {
                audit::record(
                    conn,
                    Entry {
                        client: client.id,
                        actor,
                        action: "enrollment.flagged",
                        entity_type: "club_enrollment",
                        entity_id: Some(id.as_uuid()),
                        before: None,
                        after: Some(json!({ "flag_reason": reason })),
                        reason: Some(&reason),
                    },
                )
                .await?;
            }
        }
        if points_reversed > 0 || !flagged.is_empty() {
            return Ok(OrderOutcome::Reversed {
                order: stored.id,
                enrollments: flagged,
                points_reversed,
            });
        }
        return Ok(OrderOutcome::Duplicate { order: stored.id });
    }
    if !event.status.counts() {
        return Ok(OrderOutcome::Recorded { order: stored.id });
    }

    let (program_active, stages) = enrollments::stage_rules(conn, client.id).await?;
    let current = enrollments::active_for_update(conn, client.id, customer).await?;
    let amount = event.amounts.qualifying(client.basis);
    let membership = current.as_ref().map(|a| Membership {
        stage: a.stage,
        enrolled_at: a.enrolled_at,
        expires_at: a.expires_at,
    });
    let decision = apply_order(
        membership.as_ref(),
        &stages,
        program_active,
        amount,
        event.placed_at,
        client.zone,
    );
    let ctx = Ctx {
        client: client.id,
        customer,
        crm_id: crm_id.as_deref(),
        actor,
        now,
        order: stored.id,
    };

    // A member's order: the customer held a membership that had not run out when it came.
    let by_member = current.is_some() && !decision.expire_stale;
    let mut current = current;
    if let Some(stale) = current.take_if(|_| decision.expire_stale) {
        expire_one(conn, &ctx, &stale).await?;
    }
    let change = match decision.action {
        ClubAction::NoChange => ClubChange::None,
        ClubAction::Enroll {
            stage,
            enrolled_at,
            expires_at,
        } => {
            let id = enrollments::insert_active(
                conn,
                client.id,
                customer,
                stage,
                enrolled_at,
                expires_at,
                Some(stored.id),
            )
            .await?;
            crm_queue::enqueue(
                conn,
                client.id,
                customer,
                ctx.crm_id,
                id,
                CrmOp::Grant { stage },
                now,
            )
            .await?;
            ctx.audit(conn, "enrollment.created", id, None, json!({ "stage_id": stage, "enrolled_at": enrolled_at, "expires_at": expires_at, "order_id": stored.id })).await?;
            ClubChange::Enrolled {
                enrollment: id,
                stage,
            }
        }
        ClubAction::Renew {
            stage,
            enrolled_at,
            expires_at,
        } => {
            let Some(active) = current else {
                return Err(anyhow::anyhow!("BUG: a renewal without an active enrollment").into());
            };
            enrollments::renew(
                conn,
                client.id,
                active.id,
                enrolled_at,
                expires_at,
                stored.id,
            )
            .await?;
            enrollments::insert_extension(
                conn,
                client.id,
                &Extension {
                    enrollment: active.id,
                    from: stage,
                    to: stage,
                    order: stored.id,
                    kind: "renewal",
                    at: event.placed_at,
                    previous_enrolled_at: active.enrolled_at,
                    previous_expires_at: active.expires_at,
                    new_expires_at: expires_at,
                },
            )
            .await?;
            ctx.audit(conn, "enrollment.renewed", active.id, Some(snapshot(&active)), json!({ "enrolled_at": enrolled_at, "expires_at": expires_at, "order_id": stored.id })).await?;
            ClubChange::Renewed {
                enrollment: active.id,
                stage,
            }
        }
        ClubAction::Upgrade {
            from,
            to,
            enrolled_at,
            expires_at,
        } => {
            let Some(active) = current else {
                return Err(anyhow::anyhow!("BUG: an upgrade without an active enrollment").into());
            };
            enrollments::end(
                conn,
                client.id,
                active.id,
                "upgraded",
                event.placed_at,
                "upgraded",
            )
            .await?;
            let id = enrollments::insert_active(
                conn,
                client.id,
                customer,
                to,
                enrolled_at,
                expires_at,
                Some(stored.id),
            )
            .await?;
            enrollments::insert_extension(
                conn,
                client.id,
                &Extension {
                    enrollment: id,
                    from,
                    to,
                    order: stored.id,
                    kind: "upgrade",
                    at: event.placed_at,
                    previous_enrolled_at: active.enrolled_at,
                    previous_expires_at: active.expires_at,
                    new_expires_at: expires_at,
                },
            )
            .await?;
            crm_queue::enqueue(
                conn,
                client.id,
                customer,
                ctx.crm_id,
                id,
                CrmOp::Move { from, to },
                now,
            )
            .await?;
            ctx.audit(conn, "enrollment.upgraded", id, Some(snapshot(&active)), json!({ "stage_id": to, "enrolled_at": enrolled_at, "expires_at": expires_at, "order_id": stored.id })).await?;
            ClubChange::Upgraded {
                from_enrollment: active.id,
                enrollment: id,
                from,
                to,
            }
        }
    };
    customers::refresh_member_flag(conn, client.id, customer).await?;
    // Loyalty comes after the club step, so the order that crosses the threshold earns (D11).
    let points = crate::loyalty::after_order(
        conn,
        client.id,
        customer,
        stored.id,
        &event.crm_id,
        amount,
        event.placed_at,
    )
    .await?;
    orders::mark_processed(conn, client.id, stored.id, amount, by_member, now).await?;
    Ok(OrderOutcome::Counted {
        order: stored.id,
        customer,
        expired_stale: decision.expire_stale,
        change,
        points,
    })
}

struct Ctx<'a> {
    client: ClientId,
    customer: CustomerId,
    crm_id: Option<&'a str>,
    actor: &'a Actor,
    now: DateTime<Utc>,
    order: OrderId,
}

impl Ctx<'_> {
    async fn audit(
        &self,
        conn: &mut PgConnection,
        action: &str,
        id: EnrollmentId,
        before: Option<serde_json::Value>,
        after: serde_json::Value,
    ) -> Result<()> {
        audit::record(
            conn,
            Entry {
                client: self.client,
                actor: self.actor,
                action,
                entity_type: "club_enrollment",
                entity_id: Some(id.as_uuid()),
                before,
                after: Some(after),
                reason: None,
            },
        )
        .await
    }
}

fn snapshot(active: &Active) -> serde_json::Value {
    json!({ "status": "active", "stage_id": active.stage, "enrolled_at": active.enrolled_at, "expires_at": active.expires_at })
}

/// Expires a membership that had run out before the order (D6), as the daily job would have.
async fn expire_one(conn: &mut PgConnection, ctx: &Ctx<'_>, stale: &Active) -> Result<()> {
    if enrollments::end(
        conn,
        ctx.client,
        stale.id,
        "expired",
        stale.expires_at,
        "expired",
    )
    .await?
    {
        customers::membership_ended(conn, ctx.client, ctx.customer, stale.expires_at).await?;
        crm_queue::enqueue(
            conn,
            ctx.client,
            ctx.customer,
            ctx.crm_id,
            stale.id,
            CrmOp::Revoke { stage: stale.stage },
            ctx.now,
        )
        .await?;
        ctx.audit(conn, "enrollment.expired", stale.id, Some(snapshot(stale)), json!({ "status": "expired", "ended_at": stale.expires_at, "detected_by_order": ctx.order })).await?;
    }
    Ok(())
}
