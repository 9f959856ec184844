//! Background jobs: the catalogue of named jobs, running one "as of" an instant (the command line
//! and tests), the worker's step ([`run_next`]) and the scheduler's tick ([`schedule_due`]).
//!
//! Time is an input: every job takes `now`. The scheduler only enqueues; workers execute. A job is
//! claimed with `FOR UPDATE SKIP LOCKED` and a lease, so several server copies share the queue and
//! a crashed worker's job runs again after [`LEASE`]. Scheduled slots are deduplicated by a unique
//! `(job, tenant, slot)` row, so three copies ticking at once enqueue each slot once.

mod erase_tenant;
pub mod expiration_warnings;
pub mod expire_memberships;
mod import_orders;
pub mod monthly_status;
mod purge_sessions;
mod reconcile_webhooks;
pub mod refresh_stats;
mod verify_ledgers;

/// The name of the order-import job.
pub const IMPORT_ORDERS: &str = "import-orders";

use crate::db::{self, clients, jobs as q};
use crate::{Error, Result};
use chrono::{DateTime, Datelike, Duration, DurationRound, Utc};
use chrono_tz::Tz;
use domain::calendar::{parse_time_zone, resolve_local};
use domain::ids::ClientId;
use sqlx::PgPool;
use tracing::Instrument as _;

/// How long a claimed job is reserved before another worker may take it over.
pub const LEASE: Duration = Duration::minutes(10);

/// Whether a job runs once for the platform or once per winery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Platform,
    PerClient,
}

/// When the scheduler enqueues a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// At minute 0 of every hour (UTC).
    Hourly,
    /// Every day at `hour`:00 in the winery's time zone (decisions D5).
    DailyLocal { hour: u32 },
    /// Every month on `day` at `hour`:00 in the winery's time zone.
    MonthlyLocal { day: u32, hour: u32 },
    /// Never by the clock: enqueued by the feature that needs it.
    OnDemand,
}

impl Schedule {
    /// The most recent slot at or before `now` on `zone`'s clock. A server that was down catches
    /// up on the latest slot only (each job processes everything due, so nothing is lost).
    pub fn current_slot(self, now: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        match self {
            Self::Hourly => now.duration_trunc(Duration::hours(1)).ok(),
            Self::DailyLocal { hour } => {
                let today = now.with_timezone(&zone).date_naive();
                let at = |date: chrono::NaiveDate| {
                    date.and_hms_opt(hour, 0, 0).map(|t| resolve_local(zone, t))
                };
                let slot = at(today)?;
                if slot <= now {
                    Some(slot)
                } else {
                    at(today.pred_opt()?)
                }
            }
            Self::MonthlyLocal { day, hour } => {
                let today = now.with_timezone(&zone).date_naive();
                let at = |year: i32, month: u32| {
                    chrono::NaiveDate::from_ymd_opt(year, month, day)
                        .and_then(|d| d.and_hms_opt(hour, 0, 0))
                        .map(|t| resolve_local(zone, t))
                };
                let slot = at(today.year(), today.month())?;
                if slot <= now {
                    Some(slot)
                } else if today.month() == 1 {
                    at(today.year() - 1, 12)
                } else {
                    at(today.year(), today.month() - 1)
                }
            }
            Self::OnDemand => None,
        }
    }
}

/// A named job.
#[derive(Clone, Copy, Debug)]
pub struct JobSpec {
    pub name: &'static str,
    pub scope: Scope,
    pub schedule: Schedule,
    pub description: &'static str,
}

/// Every job Vinculum knows, by name.
pub const JOBS: &[JobSpec] = &[
    expire_memberships::SPEC,
    import_orders::SPEC,
    purge_sessions::SPEC,
    verify_ledgers::SPEC,
    erase_tenant::SPEC,
    reconcile_webhooks::SPEC,
    monthly_status::SPEC,
    expiration_warnings::SPEC,
    refresh_stats::SPEC,
];

/// Looks a job up by name.
pub fn find(name: &str) -> Option<&'static JobSpec> {
    JOBS.iter().find(|j| j.name == name)
}

/// What a job run did, in a sentence for logs and the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub summary: String,
}

/// Runs `job` once as of `now`: for one client (`client`), or for every installed client when a
/// per-client job is given none.
///
/// # Errors
/// A client given to a platform job, or the job's own failure.
pub async fn run(
    pool: &PgPool,
    job: &JobSpec,
    client: Option<ClientId>,
    now: DateTime<Utc>,
) -> Result<Report> {
    run_with(pool, job, client, &serde_json::json!({}), now).await
}

/// [`run`] with the job's payload (jobs from the queue carry one).
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    pool: &PgPool,
    job: &JobSpec,
    client: Option<ClientId>,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Report> {
    match (job.scope, client) {
        (Scope::Platform, Some(_)) => Err(Error::invalid(
            "client",
            format!(
                "{} runs for the whole platform; it takes no --client.",
                job.name
            ),
        )),
        (Scope::Platform, None) => dispatch(pool, job, None, payload, now).await,
        (Scope::PerClient, Some(c)) => dispatch(pool, job, Some(c), payload, now).await,
        (Scope::PerClient, None) => {
            let mut tx = db::begin_platform(pool).await?;
            let all = clients::list_installed(&mut tx).await?;
            tx.commit().await?;
            let mut lines = Vec::with_capacity(all.len());
            for c in all {
                let report = dispatch(pool, job, Some(c.id), payload, now).await?;
                lines.push(format!("{}: {}", c.slug, report.summary));
            }
            Ok(Report {
                summary: lines.join("\n"),
            })
        }
    }
}

async fn dispatch(
    pool: &PgPool,
    job: &JobSpec,
    client: Option<ClientId>,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Report> {
    match (job.name, client) {
        (purge_sessions::NAME, None) => purge_sessions::run(pool, now).await,
        (expire_memberships::NAME, Some(client)) => {
            expire_memberships::run(pool, client, now).await
        }
        (IMPORT_ORDERS, Some(client)) => import_orders::run(pool, client, payload, now).await,
        (verify_ledgers::NAME, Some(client)) => verify_ledgers::run(pool, client, now).await,
        (crate::webhooks::ERASE_TENANT, Some(client)) => erase_tenant::run(pool, client, now).await,
        (reconcile_webhooks::NAME, Some(client)) => {
            reconcile_webhooks::run(pool, client, now).await
        }
        (monthly_status::NAME, Some(client)) => monthly_status::run(pool, client, now).await,
        (expiration_warnings::NAME, Some(client)) => {
            expiration_warnings::run(pool, client, now).await
        }
        (refresh_stats::NAME, Some(client)) => refresh_stats::run(pool, client, payload, now).await,
        (other, _) => Err(anyhow::anyhow!("no handler for job {other} with this scope").into()),
    }
}

/// What one worker step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A job ran (successfully or not).
    Ran { job: String, succeeded: bool },
    /// Nothing was due.
    Empty,
}

/// The wait before retry number `attempts` (1, 2, 4, ... minutes, capped at an hour).
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 6)).unwrap_or(6);
    Duration::minutes(2_i64.pow(exponent).min(60))
}

/// Claims and runs the next due job. The claim commits before the job runs, so the lease is
/// visible to other workers while it works.
///
/// # Errors
/// Database failures while claiming or recording; a job's own failure is recorded, not returned.
pub async fn run_next(pool: &PgPool, now: DateTime<Utc>) -> Result<Outcome> {
    let mut tx = db::begin_platform(pool).await?;
    let Some(claimed) = q::claim_next(&mut tx, now, now + LEASE).await? else {
        return Ok(Outcome::Empty);
    };
    tx.commit().await?;

    let span = tracing::info_span!("job", kind = %claimed.kind, id = %claimed.id, attempt = claimed.attempts);
    // The span wraps the future (`instrument`), never a guard held across `.await`, which would
    // leak into whatever else the worker's thread polls meanwhile.
    let result = async {
        match find(&claimed.kind) {
            Some(spec) => run_with(pool, spec, claimed.client_id, &claimed.payload, now).await,
            None => Err(anyhow::anyhow!("unknown job kind {}", claimed.kind).into()),
        }
    }
    .instrument(span.clone())
    .await;
    let mut tx = db::begin_platform(pool).await?;
    let succeeded = match result {
        Ok(report) => {
            span.in_scope(|| tracing::info!(summary = %report.summary, "job succeeded"));
            q::succeed(&mut tx, claimed.id, Utc::now()).await?;
            true
        }
        Err(e) => {
            let retry_at =
                (claimed.attempts < claimed.max_attempts).then(|| now + backoff(claimed.attempts));
            span.in_scope(|| match retry_at {
                None => tracing::error!(error = %e, "job failed permanently"),
                Some(_) => tracing::warn!(error = %e, "job failed; will retry"),
            });
            q::fail(&mut tx, claimed.id, &e.to_string(), retry_at, Utc::now()).await?;
            false
        }
    };
    tx.commit().await?;
    Ok(Outcome::Ran {
        job: claimed.kind,
        succeeded,
    })
}

/// Enqueues every scheduled job whose current slot has not been enqueued yet. Returns how many
/// jobs were enqueued.
///
/// # Errors
/// Database failures.
pub async fn schedule_due(pool: &PgPool, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = db::begin_platform(pool).await?;
    let tenants = clients::list_installed(&mut tx).await?;
    let mut enqueued = 0;
    for job in JOBS {
        let targets: Vec<(Option<ClientId>, Tz)> = match job.scope {
            Scope::Platform => vec![(None, chrono_tz::UTC)],
            Scope::PerClient => tenants
                .iter()
                .map(|c| {
                    (
                        Some(c.id),
                        parse_time_zone(&c.time_zone).unwrap_or(chrono_tz::UTC),
                    )
                })
                .collect(),
        };
        for (client, zone) in targets {
            let Some(slot) = job.schedule.current_slot(now, zone) else {
                continue;
            };
            if q::claim_slot(&mut tx, job.name, client, slot).await? {
                let payload = serde_json::json!({ "slot": slot });
                if let Some(id) = q::enqueue(&mut tx, job.name, client, &payload, now, None).await?
                {
                    q::link_slot(&mut tx, job.name, client, slot, id).await?;
                    enqueued += 1;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(enqueued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_minute_and_caps_at_an_hour() {
        let minutes: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn hourly_slots_are_the_top_of_the_hour() {
        let now = DateTime::parse_from_rfc3339("2026-11-29T04:37:56Z")
            .expect("instant")
            .with_timezone(&Utc);
        let slot = Schedule::Hourly
            .current_slot(now, chrono_tz::UTC)
            .expect("slot");
        assert_eq!(slot.to_rfc3339(), "2026-11-29T04:00:00+00:00");
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn daily_slots_are_at_the_local_hour_in_each_time_zone() {
        let daily = Schedule::DailyLocal { hour: 2 };
        let la = parse_time_zone("America/Los_Angeles").expect("zone");
        let auckland = parse_time_zone("Pacific/Auckland").expect("zone");
        // 02:00 PST is 10:00 UTC; just before it, the slot is still yesterday's.
        assert_eq!(
            daily.current_slot(at("2026-01-15T10:00:00Z"), la),
            Some(at("2026-01-15T10:00:00Z"))
        );
        assert_eq!(
            daily.current_slot(at("2026-01-15T09:59:59Z"), la),
            Some(at("2026-01-14T10:00:00Z"))
        );
        // 02:00 NZDT (UTC+13) on 2026-01-16 is 13:00 UTC on the 15th.
        assert_eq!(
            daily.current_slot(at("2026-01-15T13:30:00Z"), auckland),
            Some(at("2026-01-15T13:00:00Z"))
        );
        // In July Los Angeles is on PDT: 02:00 is 09:00 UTC.
        assert_eq!(
            daily.current_slot(at("2026-07-01T09:00:00Z"), la),
            Some(at("2026-07-01T09:00:00Z"))
        );
    }

    #[test]
    fn every_job_name_is_unique_and_findable() {
        for job in JOBS {
            assert_eq!(find(job.name).map(|j| j.name), Some(job.name));
        }
        assert!(find("no-such-job").is_none());
    }
}
