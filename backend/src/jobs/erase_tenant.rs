//! The `erase-tenant` job (decisions D24): 48 hours after an uninstall, deletes the winery and every
//! row it owns, unless it was installed again meanwhile. Enqueued by the uninstall.

use super::{JobSpec, Report, Schedule, Scope};
use crate::Result;
use chrono::{DateTime, Utc};
use domain::ids::ClientId;
use sqlx::PgPool;

pub const SPEC: JobSpec = JobSpec {
    name: crate::webhooks::ERASE_TENANT,
    scope: Scope::PerClient,
    schedule: Schedule::OnDemand,
    description: "Delete an uninstalled winery's data (enqueued 48 hours after the uninstall).",
};

/// Deletes the winery if it is still uninstalled.
pub async fn run(pool: &PgPool, client: ClientId, _now: DateTime<Utc>) -> Result<Report> {
    let erased = crate::webhooks::erase_if_uninstalled(pool, client).await?;
    Ok(Report {
        summary: if erased {
            "the uninstalled winery's data is deleted".to_owned()
        } else {
            "the winery was installed again; nothing deleted".to_owned()
        },
    })
}
