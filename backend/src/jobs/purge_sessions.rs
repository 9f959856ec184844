//! The `purge-sessions` job: deletes expired admin sessions and login attempts older than the
//! retention period, and the portal's expired sign-in links, member sessions and old sign-in
//! requests. Platform-wide (each winery's rows in its own scoped transaction), hourly.

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use crate::db::{self, admins, clients, portal};
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
    description: "Delete expired admin and member sessions, sign-in links and old login attempts.",
};

/// Runs the purge as of `now`.
pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<Report> {
    let mut tx = db::begin_platform(pool).await?;
    let (sessions, attempts) = admins::purge_expired(&mut tx, now, now - ATTEMPT_RETENTION).await?;
    let requests = portal::purge_requests(&mut tx, now - crate::portal::REQUEST_RETENTION).await?;
    let wineries = clients::list_installed(&mut tx).await?;
    tx.commit().await?;
    let mut member = 0;
    for winery in wineries {
        let mut tx = db::begin_scoped(pool, winery.id).await?;
        member += portal::purge_expired(&mut tx, winery.id, now).await?;
        tx.commit().await?;
    }
    Ok(Report {
        summary: format!(
            "deleted {sessions} expired sessions and {attempts} old login attempts; {member} expired portal links and sessions, {requests} old sign-in requests"
        ),
    })
}
