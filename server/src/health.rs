//! `/healthz` (the process is up) and `/readyz` (the database answers and every migration is
//! applied). Plain text, for load balancers and humans.

use app::ssr::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use backend::health::Readiness;

/// Answers while the process is up.
pub async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

/// Answers 200 when the database is usable and fully migrated, 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    match backend::health::readiness(&state.pool).await {
        Ok(Readiness::Ready) => (StatusCode::OK, "ready\n".to_owned()),
        Ok(Readiness::PendingMigrations(pending)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: {} migration(s) not applied: {pending:?}\n",
                pending.len()
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database does not answer\n".to_owned(),
            )
        }
    }
}
