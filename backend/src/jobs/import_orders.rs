//! The `import-orders` job: the background half of an order import (a dry run, or the import
//! itself with progress). Enqueued by `backend::import`; it carries the run in its payload.

use super::{JobSpec, Report, Schedule, Scope};
use crate::import::{self, ImportJob};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use domain::ids::ClientId;
use sqlx::PgPool;

pub const SPEC: JobSpec = JobSpec {
    name: super::IMPORT_ORDERS,
    scope: Scope::PerClient,
    schedule: Schedule::OnDemand,
    description: "Dry-run or import an uploaded order file (enqueued by the import page).",
};

/// Runs one import step.
pub async fn run(
    pool: &PgPool,
    client: ClientId,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Report> {
    let job: ImportJob = serde_json::from_value(payload.clone())
        .map_err(|_| Error::invalid("payload", "import-orders needs the run it belongs to; start imports from the import page or `vinculum import orders`"))?;
    Ok(Report {
        summary: import::execute(pool, client, &job, now).await?,
    })
}
