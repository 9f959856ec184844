//! The CRM sync queue from the admin's side. The club engine writes the operations; the worker that
//! sends them to Commerce7 or Shopify comes with the CRM integration, and until then they wait here,
//! visible to the admin.

use crate::Result;
use crate::auth::Admin;
use crate::db::{self, crm_queue};
use sqlx::PgPool;

/// The admin's winery's queue.
///
/// # Errors
/// Database failures only.
pub async fn overview(pool: &PgPool, admin: &Admin) -> Result<domain::sync::SyncQueueView> {
    let zone = domain::calendar::parse_time_zone(&admin.time_zone).unwrap_or(chrono_tz::UTC);
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let view = crm_queue::overview(&mut tx, admin.client_id, zone).await?;
    tx.commit().await?;
    Ok(view)
}
