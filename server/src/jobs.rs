//! The worker loops and the scheduler loop of `serve`. The scheduler only enqueues (every
//! minute); workers claim and run (see `backend::jobs`). Both stop on the shutdown signal.

use backend::crm::registry::Registry;
use backend::jobs::{self, Outcome};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Claims and runs jobs until shutdown; sleeps briefly when the queue is empty.
pub async fn worker(pool: PgPool, id: usize, shutdown: CancellationToken) {
    tracing::info!(worker = id, "worker started");
    loop {
        let pause = match jobs::run_next(&pool, chrono::Utc::now()).await {
            Ok(Outcome::Ran { .. }) => Duration::ZERO,
            Ok(Outcome::Empty) => Duration::from_secs(2),
            Err(e) => {
                tracing::warn!(worker = id, error = %e, "worker could not claim a job");
                Duration::from_secs(10)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!(worker = id, "worker stopped");
}

/// Enqueues scheduled jobs once a minute until shutdown.
pub async fn scheduler(pool: PgPool, shutdown: CancellationToken) {
    tracing::info!("scheduler started");
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {
                match jobs::schedule_due(&pool, chrono::Utc::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(enqueued = n, "scheduled jobs enqueued"),
                    Err(e) => tracing::warn!(error = %e, "scheduler tick failed"),
                }
            }
        }
    }
    tracing::info!("scheduler stopped");
}

/// The CRM worker (D22): every second, sends the due operations and processes the webhook inbox
/// of every winery that has work (see `backend::crm::sync`).
pub async fn crm_worker(pool: PgPool, registry: Arc<Registry>, shutdown: CancellationToken) {
    tracing::info!("CRM worker started");
    loop {
        let pause = match backend::crm::sync::run_due(&pool, &registry, chrono::Utc::now()).await {
            Ok(report) if report == backend::crm::sync::PassReport::default() => {
                Duration::from_secs(1)
            }
            Ok(report) => {
                tracing::info!(
                    completed = report.completed,
                    retrying = report.retrying,
                    failed = report.failed,
                    "CRM operations sent"
                );
                Duration::ZERO
            }
            Err(e) => {
                tracing::warn!(error = %e, "CRM worker pass failed");
                Duration::from_secs(10)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!("CRM worker stopped");
}

/// The outbox worker: every second, sends the due messages of every winery with any (see
/// `backend::comms::worker`).
pub async fn outbox_worker(pool: PgPool, shutdown: CancellationToken) {
    tracing::info!("outbox worker started");
    loop {
        let pause = match backend::comms::worker::run_due(&pool, chrono::Utc::now()).await {
            Ok(report) if report == backend::comms::worker::PassReport::default() => {
                Duration::from_secs(1)
            }
            Ok(report) => {
                tracing::info!(
                    sent = report.sent,
                    retrying = report.retrying,
                    failed = report.failed,
                    "messages sent"
                );
                Duration::ZERO
            }
            Err(e) => {
                tracing::warn!(error = %e, "outbox pass failed");
                Duration::from_secs(10)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!("outbox worker stopped");
}

/// Once the server listens: points the sandbox CRM's webhook subscriptions of every winery
/// connected to it at this server's current address.
pub async fn sandbox_setup(pool: PgPool, registry: Arc<Registry>, shutdown: CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => return,
        () = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
    let wineries = async {
        let mut tx = backend::db::begin_platform(&pool).await?;
        let all = backend::db::clients::list_installed(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, backend::Error>(all)
    };
    let wineries = match wineries.await {
        Ok(all) => all,
        Err(e) => {
            tracing::warn!(error = %e, "could not list the wineries for the sandbox CRM");
            return;
        }
    };
    let mut connected = 0;
    for winery in wineries.iter().filter(|w| w.crm_type == "commerce7") {
        match backend::install::refresh_sandbox_webhooks(&pool, &registry, winery.id).await {
            Ok(true) => connected += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(winery = %winery.slug, error = %e, "sandbox webhooks not registered")
            }
        }
    }
    if connected > 0 {
        tracing::info!(wineries = connected, "sandbox CRM webhooks registered");
    }
}
