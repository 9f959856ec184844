//! The `verify-ledgers` job (decisions D14): for every customer of a winery, the running balance
//! of the ledger holds row by row, the balance equals the sum of the ledger, nothing is negative,
//! and the lifetime total is the sum of earned and bonus points. Set-based; the result is stored
//! for the admin's loyalty page. Daily at 03:00 in each winery's time zone.

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use crate::db::{self, loyalty};
use chrono::{DateTime, Utc};
use domain::ids::ClientId;
use sqlx::PgPool;

/// The job's name on the command line and in the queue.
pub const NAME: &str = "verify-ledgers";

pub const SPEC: JobSpec = JobSpec {
    name: NAME,
    scope: Scope::PerClient,
    schedule: Schedule::DailyLocal { hour: 3 },
    description: "Check every points ledger (balance = sum of rows, running balance, never negative).",
};

/// Checks the winery's ledgers as of `now` and records the outcome.
pub async fn run(pool: &PgPool, client: ClientId, now: DateTime<Utc>) -> Result<Report> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let (checked, violations) = loyalty::verify(&mut tx, client).await?;
    let count = i64::try_from(violations.len()).unwrap_or(i64::MAX);
    loyalty::record_check(&mut tx, client, now, checked, &violations, count).await?;
    tx.commit().await?;
    let mut summary = format!("checked {checked} customers: {count} violations");
    for v in violations.iter().take(10) {
        summary.push_str(&format!("\n  {v}"));
    }
    if count > 0 {
        tracing::error!(client = %client, violations = count, "points ledger check found violations");
    }
    Ok(Report { summary })
}
