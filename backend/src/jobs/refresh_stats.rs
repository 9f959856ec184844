//! The `refresh-stats` job: rebuilds the dashboard's rollups (`analytics::refresh`) — the last
//! 40 days and yesterday's stage snapshot every night at 01:00 in each winery's time zone, or
//! every day since the winery's first order with the payload `{"full": true}` (the command line's
//! `--full`).

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use chrono::{DateTime, Utc};
use domain::ids::ClientId;
use sqlx::PgPool;

/// The job's name on the command line and in the queue.
pub const NAME: &str = "refresh-stats";

pub const SPEC: JobSpec = JobSpec {
    name: NAME,
    scope: Scope::PerClient,
    schedule: Schedule::DailyLocal { hour: 1 },
    description: "Rebuild the dashboard's daily rollups (the last 40 days, or all with --full) and stage snapshots.",
};

/// Refreshes the winery's rollups as of `now`.
pub async fn run(
    pool: &PgPool,
    client: ClientId,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Report> {
    let full = payload
        .get("full")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let done = crate::analytics::refresh(pool, client, now, full).await?;
    Ok(Report {
        summary: format!(
            "recomputed the days {} to {}; {} stage snapshots written",
            done.from, done.to, done.snapshots
        ),
    })
}
