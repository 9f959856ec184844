//! The CRM sync worker (decisions D22): sends each queued operation (grant, revoke, move, and the
//! customer and stage set-up they need) to the winery's CRM.
//!
//! A queued operation wakes its winery in the same transaction (`crm_wakeups`); [`run_due`] takes
//! the due wineries, claims their operations (`FOR UPDATE SKIP LOCKED`, a [`LEASE`]), and calls the
//! CRM outside any transaction. A failure retries after 1, 2, 4, … minutes with jitter, capped at
//! an hour, up to the item's attempt limit; then it is `failed`, logged, and waits for "retry now".
//! A refusal that retrying cannot fix (a 4xx) fails at once. Operations on one customer run in
//! order, so a revoke never overtakes its grant.

use super::registry::{Provider, Registry};
use super::{Crm, CrmError, CustomerData, StageSpec, stage_slug};
use crate::Result;
use crate::db::{self, crm as q};
use chrono::{DateTime, Duration, Utc};
use domain::ids::{ClientId, CustomerId, StageId};
use rand::Rng as _;
use sqlx::PgPool;

/// How long a claimed operation (or winery) is reserved before another worker may take it over.
pub const LEASE: Duration = Duration::minutes(10);

/// Operations claimed per round trip.
const BATCH: i64 = 25;

/// Rounds per winery per pass; a longer queue continues on the next pass.
const ROUNDS: usize = 40;

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub completed: usize,
    /// Failed tries that will be retried.
    pub retrying: usize,
    /// Operations that failed for good.
    pub failed: usize,
}

impl PassReport {
    fn add(&mut self, other: Self) {
        self.completed += other.completed;
        self.retrying += other.retrying;
        self.failed += other.failed;
    }
}

/// Runs every winery whose queue is due at `now`.
///
/// # Errors
/// Database failures (a claimed winery comes due again after the lease).
pub async fn run_due(pool: &PgPool, registry: &Registry, now: DateTime<Utc>) -> Result<PassReport> {
    let mut tx = db::begin_platform(pool).await?;
    let wakeups = q::claim_wakeups(&mut tx, now, now + LEASE, 20).await?;
    tx.commit().await?;
    let mut report = PassReport::default();
    for wakeup in wakeups {
        // One winery's trouble (a misconfigured CRM) never holds up the others.
        let next = match run_client(pool, registry, wakeup.client, now).await {
            Ok((pass, next)) => {
                report.add(pass);
                next
            }
            Err(e) => {
                tracing::warn!(client = %wakeup.client.as_uuid(), error = %e, "CRM pass failed; retrying in five minutes");
                Some(now + Duration::minutes(5))
            }
        };
        let mut tx = db::begin_platform(pool).await?;
        q::settle_wakeup(&mut tx, wakeup, next).await?;
        tx.commit().await?;
    }
    Ok(report)
}

/// Sends one winery's due operations. Returns what happened and when the queue is next due.
///
/// # Errors
/// Database failures.
pub async fn run_client(
    pool: &PgPool,
    registry: &Registry,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<(PassReport, Option<DateTime<Utc>>)> {
    let mut report = PassReport::default();
    let provider = registry.provider(pool, client).await?;
    if let Some(provider) = &provider {
        crate::webhooks::reconcile(pool, provider, client, now).await?;
    }
    // Webhook deliveries first: they may queue operations of their own.
    let inbox = crate::webhooks::process_inbox(pool, provider.as_ref(), client, now).await?;
    let inbox_next = inbox.blocked.then(|| now + Duration::minutes(1));
    // A winery without a connection keeps its operations until it connects.
    let Some(mut provider) = provider else {
        return Ok((report, inbox_next));
    };
    let mut refreshed = false;
    let mut more = false;
    for round in 0..ROUNDS {
        let mut tx = db::begin_scoped(pool, client).await?;
        let items = q::claim_items(&mut tx, client, now, now + LEASE, BATCH).await?;
        tx.commit().await?;
        if items.is_empty() {
            break;
        }
        for item in items {
            let mut outcome = perform(pool, &provider, client, &item, now).await?;
            // Refused credentials: Shopify's token is refreshed once per pass, and the item tried
            // again with it.
            if matches!(outcome, Err(CrmError::Unauthorized { .. })) && !refreshed {
                refreshed = true;
                match registry.refreshed(pool, client).await {
                    Ok(Some(fresh)) => {
                        provider = fresh;
                        outcome = perform(pool, &provider, client, &item, now).await?;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "the CRM token could not be refreshed"),
                }
            }
            let mut tx = db::begin_scoped(pool, client).await?;
            match outcome {
                Ok(()) => {
                    q::complete_item(&mut tx, client, item.id, Utc::now().max(now)).await?;
                    report.completed += 1;
                }
                Err(error) => {
                    let retry_at = retry_at(&item, &error, now);
                    if retry_at.is_some() {
                        report.retrying += 1;
                    } else {
                        report.failed += 1;
                        tracing::warn!(item = %item.id, action = %item.action, attempts = item.attempts,
                            error = %error, "CRM operation failed for good; it waits for \"retry now\"");
                    }
                    q::fail_item(&mut tx, client, item.id, &error.to_string(), retry_at).await?;
                }
            }
            tx.commit().await?;
        }
        more = round + 1 == ROUNDS;
    }
    let mut tx = db::begin_scoped(pool, client).await?;
    let next = if more {
        Some(now)
    } else {
        q::next_due(&mut tx, client).await?
    };
    tx.commit().await?;
    let next = match (next, inbox_next) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok((report, next))
}

/// When a failed try runs again, or `None` when it has failed for good.
fn retry_at(item: &q::QueueItem, error: &CrmError, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if matches!(error, CrmError::Rejected { .. }) || item.attempts >= item.max_attempts {
        return None;
    }
    let jitter: f64 = rand::thread_rng().r#gen();
    let backoff = Duration::seconds(domain::sync::retry_delay_seconds(item.attempts, jitter));
    let asked = match error {
        CrmError::Transient {
            retry_after: Some(wait),
            ..
        } => Duration::from_std(*wait).unwrap_or(backoff),
        _ => Duration::zero(),
    };
    Some(now + backoff.max(asked))
}

/// The stage as the CRM needs it, created there first when it is missing.
async fn ready_stage(
    pool: &PgPool,
    provider: &Provider,
    client: ClientId,
    stage: StageId,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Result<super::StageIds, CrmError>> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let found = q::stage(&mut tx, client, stage).await?;
    tx.commit().await?;
    let Some(found) = found else {
        return Ok(Err(CrmError::rejected("the stage no longer exists")));
    };
    if !force && provider.stage_ready(&found.ids) {
        return Ok(Ok(found.ids));
    }
    let spec = StageSpec {
        slug: stage_slug(&found.name),
        name: found.name,
        discount_hundredths: found.discount_hundredths,
        ids: found.ids,
    };
    let ids = match provider.ensure_stage(&spec).await {
        Ok(ids) => ids,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = db::begin_scoped(pool, client).await?;
    q::save_stage_ids(&mut tx, client, stage, &ids, now).await?;
    tx.commit().await?;
    Ok(Ok(ids))
}

/// The customer's CRM id: the stored one, or found (or created) by e-mail address.
async fn crm_customer(
    pool: &PgPool,
    provider: &Provider,
    client: ClientId,
    customer: CustomerId,
    create: bool,
) -> Result<Result<Option<String>, CrmError>> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let found = q::customer(&mut tx, client, customer).await?;
    tx.commit().await?;
    let Some(found) = found else {
        return Ok(Err(CrmError::rejected("the customer no longer exists")));
    };
    if let Some(id) = found.crm_id {
        return Ok(Ok(Some(id)));
    }
    if !create {
        return Ok(Ok(None));
    }
    let data = CustomerData {
        email: found.email,
        first_name: found.first_name,
        last_name: found.last_name,
        phone: found.phone,
    };
    let id = match provider.upsert_customer(&data).await {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = db::begin_scoped(pool, client).await?;
    q::save_customer_crm_id(&mut tx, client, customer, &id).await?;
    tx.commit().await?;
    Ok(Ok(Some(id)))
}

/// Stops the operation at the first CRM failure, keeping database failures apart.
macro_rules! crm {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        }
    };
}

async fn revoke_stage(
    pool: &PgPool,
    provider: &Provider,
    client: ClientId,
    customer: CustomerId,
    stage: StageId,
    now: DateTime<Utc>,
) -> Result<Result<(), CrmError>> {
    // Nothing to take back from a customer or stage the CRM never had.
    let Some(crm_id) = crm!(crm_customer(pool, provider, client, customer, false).await?) else {
        return Ok(Ok(()));
    };
    let mut tx = db::begin_scoped(pool, client).await?;
    let stored = q::stage(&mut tx, client, stage).await?;
    let membership = q::active_membership(&mut tx, client, customer, stage).await?;
    tx.commit().await?;
    let Some(stored) = stored.filter(|s| provider.stage_ready(&s.ids)) else {
        return Ok(Ok(()));
    };
    crm!(
        provider
            .revoke(&stored.ids, &crm_id, membership.flatten().as_deref(), now)
            .await
    );
    let mut tx = db::begin_scoped(pool, client).await?;
    q::record_revoke(&mut tx, client, customer, stage, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

async fn grant_stage(
    pool: &PgPool,
    provider: &Provider,
    client: ClientId,
    customer: CustomerId,
    stage: StageId,
    now: DateTime<Utc>,
) -> Result<Result<(), CrmError>> {
    let crm_id = crm!(crm_customer(pool, provider, client, customer, true).await?)
        .ok_or_else(|| anyhow::anyhow!("a created CRM customer without an id"))?;
    let ids = crm!(ready_stage(pool, provider, client, stage, false, now).await?);
    let membership = crm!(provider.grant(&ids, &crm_id, now).await);
    let mut tx = db::begin_scoped(pool, client).await?;
    q::record_grant(&mut tx, client, customer, stage, membership.as_deref(), now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Sends one operation. The outer `Result` is the database's; the inner one the CRM's.
async fn perform(
    pool: &PgPool,
    provider: &Provider,
    client: ClientId,
    item: &q::QueueItem,
    now: DateTime<Utc>,
) -> Result<Result<(), CrmError>> {
    let customer = item.customer_id.map(CustomerId::new);
    let stage = item.stage_id.map(StageId::new);
    match (item.action.as_str(), customer, stage) {
        ("grant", Some(c), Some(s)) => grant_stage(pool, provider, client, c, s, now).await,
        ("revoke", Some(c), Some(s)) => revoke_stage(pool, provider, client, c, s, now).await,
        ("move", Some(c), Some(to)) => {
            if let Some(from) = item.old_stage_id.map(StageId::new) {
                crm!(revoke_stage(pool, provider, client, c, from, now).await?);
            }
            grant_stage(pool, provider, client, c, to, now).await
        }
        ("ensure_stage", _, Some(s)) => Ok(ready_stage(pool, provider, client, s, true, now)
            .await?
            .map(drop)),
        ("upsert_customer", Some(c), _) => Ok(crm_customer(pool, provider, client, c, true)
            .await?
            .map(drop)),
        (action, _, _) => Ok(Err(CrmError::rejected(format!(
            "the operation {action} is missing its customer or stage"
        )))),
    }
}
