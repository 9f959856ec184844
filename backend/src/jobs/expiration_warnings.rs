//! The `expiration-warnings` job (D16, D17, domain.md 6.6): daily at 10:00 on the winery's clock,
//! every active membership expiring within the winery's lead time (7, 14 or 30 days) gets one
//! warning. The key is the enrollment and its expiry, so later runs inside the window send nothing
//! and a renewal, which moves the expiry, re-arms the warning.

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use crate::comms::outbox;
use crate::comms::snapshot::{self, Selection, warning_window};
use crate::db;
use chrono::{DateTime, Utc};
use domain::comms::{MessageType, warning_key};
use domain::ids::ClientId;
use sqlx::PgPool;

/// The job's name on the command line and in the queue.
pub const NAME: &str = "expiration-warnings";

pub const SPEC: JobSpec = JobSpec {
    name: NAME,
    scope: Scope::PerClient,
    schedule: Schedule::DailyLocal { hour: 10 },
    description: "Warn members whose membership expires within the lead time (daily at 10:00).",
};

/// Queues a warning for every membership of the winery expiring within the lead time of `now`.
pub async fn run(pool: &PgPool, client: ClientId, now: DateTime<Utc>) -> Result<Report> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let Some(winery) = snapshot::winery(&mut tx, client).await? else {
        return Ok(Report {
            summary: "no such winery".to_owned(),
        });
    };
    let (from, until) = warning_window(now, winery.warning_days_before);
    let done = outbox::queue_batch(
        &mut tx,
        &winery,
        &Selection::Expiring { from, until },
        MessageType::ExpirationWarning,
        |member| Some(warning_key(member.enrollment?, member.expires_at?)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Report {
        summary: format!(
            "lead time {} days: {} queued, {} skipped, {} already warned",
            winery.warning_days_before, done.queued, done.skipped, done.duplicates
        ),
    })
}
