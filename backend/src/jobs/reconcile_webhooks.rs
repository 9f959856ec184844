//! The `reconcile-webhooks` job: every night (04:00 in the winery's time zone) it asks the CRM
//! worker to replay the deliveries Commerce7 failed to make since the last run (`/web-hook-log`).
//! The worker does the replay because it holds the CRM clients; the replayed deliveries go
//! through the inbox under the same delivery keys, so one already received changes nothing.

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use crate::db;
use chrono::{DateTime, Utc};
use domain::ids::ClientId;
use sqlx::PgPool;

pub const NAME: &str = "reconcile-webhooks";

pub const SPEC: JobSpec = JobSpec {
    name: NAME,
    scope: Scope::PerClient,
    schedule: Schedule::DailyLocal { hour: 4 },
    description: "Replay the Commerce7 deliveries that failed since the last run (from /web-hook-log).",
};

/// Marks the winery's reconcile as due and wakes the CRM worker.
pub async fn run(pool: &PgPool, client: ClientId, now: DateTime<Utc>) -> Result<Report> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let asked = db::crm::request_reconcile(&mut tx, client, now).await?;
    if asked {
        db::crm::wake(&mut tx, client, now).await?;
    }
    tx.commit().await?;
    Ok(Report {
        summary: if asked {
            "the CRM worker will replay failed deliveries".to_owned()
        } else {
            "no Commerce7 connection; nothing to reconcile".to_owned()
        },
    })
}
