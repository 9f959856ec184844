//! Readiness: the database answers and every embedded migration is applied.

use crate::Result;
use sqlx::PgPool;

/// Why the service is not ready, or that it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Migrations embedded in this binary that the database has not applied (by version).
    PendingMigrations(Vec<i64>),
}

/// Checks that the database answers and that every migration of this binary is applied.
///
/// # Errors
/// The database does not answer.
pub async fn readiness(pool: &PgPool) -> Result<Readiness> {
    let applied: Vec<i64> =
        sqlx::query_scalar!("select version from _sqlx_migrations where success order by version")
            .fetch_all(pool)
            .await?;
    let pending: Vec<i64> = crate::MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    Ok(if pending.is_empty() {
        Readiness::Ready
    } else {
        Readiness::PendingMigrations(pending)
    })
}
