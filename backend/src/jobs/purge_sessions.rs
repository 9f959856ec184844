//! The `purge-sessions` job: deletes expired admin sessions and login attempts older than the
//! retention period. Platform-wide, hourly.

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use crate::db::{self, admins};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

/// The job's name on the command line and in the queue.
pub const NAME: &str = "purge-sessions";

/// How long login attempts are kept (rate limiting needs only 15 minutes; the rest is for audit).
pub const ATTEMPT_RETENTION: Duration = Duration::days(30);

pub const SPEC: JobSpec = JobSpec {
    name: NAME,
    scope: Scope::Platform,
    schedule: Schedule::Hourly,
    description: "Delete expired admin sessions and login attempts older than 30 days.",
};

/// Runs the purge as of `now`.
pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<Report> {
    let mut tx = db::begin_platform(pool).await?;
    let (sessions, attempts) = admins::purge_expired(&mut tx, now, now - ATTEMPT_RETENTION).await?;
    tx.commit().await?;
    Ok(Report {
        summary: format!("deleted {sessions} expired sessions and {attempts} old login attempts"),
    })
}
