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

/// Expires the winery's due memberships as of `now`, inside the caller's transaction, and
/// refreshes the membership and progress days of the customers affected (D10, D11): two
/// statements whatever the number of rows.
pub async fn expire_in(
    conn: &mut sqlx::PgConnection,
    client: ClientId,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<enrollments::ExpiryCounts> {
    let counts = enrollments::expire_due(conn, client, now, actor).await?;
    if !counts.customers.is_empty() {
        crate::db::loyalty::store_days(conn, client, &counts.customers, now).await?;
    }
    Ok(counts)
}

/// Expires the winery's due memberships as of `now`.
pub async fn run(pool: &PgPool, client: ClientId, now: DateTime<Utc>) -> Result<Report> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let counts = expire_in(&mut tx, client, now, NAME).await?;
    let messages =
        crate::comms::outbox::after_expiry(&mut tx, client, &counts.customers, now).await?;
    // Expiries count on their expiry day, usually yesterday or today; older ones (a server that
    // was down) are caught by the nightly refresh of the last 40 days.
    crate::analytics::touch_range(&mut tx, client, now - chrono::Duration::days(7), now).await?;
    tx.commit().await?;
    Ok(Report {
        summary: format!(
            "expired {} memberships; {} CRM revocations queued; {} messages queued",
            counts.expired, counts.revocations_queued, messages.queued
        ),
    })
}
