//! The `monthly-status` job (D16, D17, domain.md 6.5): on the 1st of every month at 09:00 on the
//! winery's clock, every club member gets their status, at most once per calendar month (the key
//! is the customer and the month), so a second run in the same month sends nothing.

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use crate::comms::outbox;
use crate::comms::snapshot::{self, Selection};
use crate::db;
use chrono::{DateTime, Datelike, Utc};
use domain::comms::{MessageType, monthly_key};
use domain::ids::ClientId;
use sqlx::PgPool;

/// The job's name on the command line and in the queue.
pub const NAME: &str = "monthly-status";

pub const SPEC: JobSpec = JobSpec {
    name: NAME,
    scope: Scope::PerClient,
    schedule: Schedule::MonthlyLocal { day: 1, hour: 9 },
    description: "Send every member their monthly status (the 1st at 09:00, once per month).",
};

/// Queues the month's status for every member of the winery as of `now`.
pub async fn run(pool: &PgPool, client: ClientId, now: DateTime<Utc>) -> Result<Report> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let Some(winery) = snapshot::winery(&mut tx, client).await? else {
        return Ok(Report {
            summary: "no such winery".to_owned(),
        });
    };
    let local = now.with_timezone(&winery.zone);
    let (year, month) = (local.year(), local.month());
    let done = outbox::queue_batch(
        &mut tx,
        &winery,
        &Selection::Members,
        MessageType::MonthlyStatus,
        |member| Some(monthly_key(member.customer.as_uuid(), year, month)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Report {
        summary: format!(
            "{year:04}-{month:02}: {} queued, {} skipped, {} already sent this month",
            done.queued, done.skipped, done.duplicates
        ),
    })
}
