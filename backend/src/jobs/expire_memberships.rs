//! The `expire-memberships` job (domain.md section 4.6, decisions D6): every active enrollment
//! whose `expires_at` is at or before `now` becomes `expired`, set-based — a constant number of
//! statements per winery whatever the number of due rows. Daily at 02:00 in each winery's time
//! zone (D5); idempotent, and safe with several copies running at once.

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use crate::db::{self, enrollments};
use chrono::{DateTime, Utc};
use domain::ids::ClientId;
use sqlx::PgPool;

/// The job's name on the command line and in the queue.
pub const NAME: &str = "expire-memberships";

pub const SPEC: JobSpec = JobSpec {
    name: NAME,
    scope: Scope::PerClient,
    schedule: Schedule::DailyLocal { hour: 2 },
    description: "Expire every membership whose expiry has passed; queue the CRM revocations.",
};

/// Expires the winery's due memberships as of `now`.
pub async fn run(pool: &PgPool, client: ClientId, now: DateTime<Utc>) -> Result<Report> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let counts = enrollments::expire_due(&mut tx, client, now, NAME).await?;
    tx.commit().await?;
    Ok(Report {
        summary: format!(
            "expired {} memberships; {} CRM revocations queued",
            counts.expired, counts.revocations_queued
        ),
    })
}
