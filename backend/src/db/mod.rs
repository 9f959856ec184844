//! Connections and transactions under row-level security (decisions D27).
//!
//! Every pooled connection switches to the non-superuser role `vinculum_app` as soon as it is
//! opened, even when the login role is a superuser, so the tenant policies always apply. Tenant
//! work runs inside [`begin_scoped`], which sets `app.client_id` for that transaction only; a
//! query that forgets its `client_id` filter still sees one tenant. Platform work (logins, the job
//! queue, the scheduler's tenant list) runs in [`begin_platform`], where tenant tables show no rows.

pub mod admins;
pub mod audit;
pub mod clients;
pub mod club;
pub mod crm;
pub mod crm_queue;
pub mod customers;
pub mod enrollments;
pub mod idempotency;
pub mod imports;
pub mod jobs;
pub mod loyalty;
pub mod orders;
pub mod portal;
pub mod stats;
pub mod webhooks;

use crate::Result;
use anyhow::Context as _;
use domain::ids::ClientId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool, Postgres, Transaction};
use std::time::Duration;

/// The application role the pool runs as.
pub const APP_ROLE: &str = "vinculum_app";

/// Opens the application pool: every connection runs `SET ROLE vinculum_app` on connect.
///
/// # Errors
/// The database cannot be reached, or the login role may not become `vinculum_app` (the
/// migrations have not run).
pub async fn connect(options: PgConnectOptions, max_connections: u32) -> Result<PgPool> {
    let pool = app_pool_options(max_connections)
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL as the application role")?;
    Ok(pool)
}

/// Like [`connect`], but connections are opened on first use (the server starts even while the
/// database is still coming up; `/readyz` tells when it is usable).
pub fn connect_lazy(options: PgConnectOptions, max_connections: u32) -> PgPool {
    app_pool_options(max_connections).connect_lazy_with(options)
}

fn app_pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("set role vinculum_app").await?;
                // JIT compilation pays off for long analytic scans, not for these short queries:
                // the planner's row estimates under row-level security are huge, so it compiled
                // (276 ms) a member-list query that runs in 10 ms at a million customers.
                conn.execute("set jit = off").await?;
                Ok(())
            })
        })
}

/// Applies every pending migration, connected as the login role (the schema owner).
///
/// # Errors
/// The database cannot be reached or a migration fails.
pub async fn migrate(options: PgConnectOptions) -> Result<()> {
    let owner = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL to migrate")?;
    crate::MIGRATOR
        .run(&owner)
        .await
        .context("applying migrations")?;
    owner.close().await;
    Ok(())
}

/// Opens a transaction in which tenant tables show only `client`'s rows, and writes are checked to
/// belong to it.
///
/// # Errors
/// The pool cannot hand out a connection.
pub async fn begin_scoped(
    pool: &PgPool,
    client: ClientId,
) -> Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("select set_config('app.client_id', $1, true)")
        .bind(client.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Opens a transaction with no tenant: platform tables only.
///
/// # Errors
/// The pool cannot hand out a connection.
pub async fn begin_platform(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
    Ok(pool.begin().await?)
}
