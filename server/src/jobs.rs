//! The worker loops and the scheduler loop of `serve`. The scheduler only enqueues (every
//! minute); workers claim and run (see `backend::jobs`). Both stop on the shutdown signal.

use backend::jobs::{self, Outcome};
use sqlx::PgPool;
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
