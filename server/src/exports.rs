//! The CSV downloads: the member list with the filters it shows (`/admin/members/export.csv`)
//! and the winery's points ledger (`/admin/loyalty/ledger.csv`). The session layer has put the
//! signed-in admin on the request (a visitor without one went to the sign-in page); the rows are
//! written by `backend::exports` into a bounded channel that the response body drains.

use app::ssr::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::auth::Admin;
use serde::Deserialize;
use tokio::sync::mpsc;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/members/export.csv", get(members))
        .route("/admin/loyalty/ledger.csv", get(ledger))
}

/// The member list's query parameters, as on `/admin/members`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MemberQuery {
    q: String,
    stage: String,
    status: String,
    expires_within: String,
    event: String,
    from: String,
    to: String,
}

type Chunks = mpsc::Receiver<Result<Vec<u8>, std::io::Error>>;

fn csv(rows: Chunks, name: &str) -> Response {
    let stream = futures_util::stream::unfold(rows, |mut rows| async move {
        rows.recv().await.map(|chunk| (chunk, rows))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn members(
    State(state): State<AppState>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<MemberQuery>,
) -> Response {
    let now = chrono::Utc::now();
    let today = now.with_timezone(&admin.zone()).date_naive();
    let parsed = backend::members::parse_filter(
        &query.q,
        &query.stage,
        &query.status,
        &query.expires_within,
        "",
    )
    .and_then(|mut filter| {
        filter.event = backend::members::parse_event(&query.event, &query.from, &query.to, today)?;
        Ok(filter)
    });
    let filter = match parsed {
        Ok(filter) => filter,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let (out, rows) = mpsc::channel(8);
    let name = format!("members-{today}.csv");
    tokio::spawn(backend::exports::members(
        state.pool.clone(),
        admin,
        filter,
        now,
        out,
    ));
    csv(rows, &name)
}

async fn ledger(State(state): State<AppState>, Extension(admin): Extension<Admin>) -> Response {
    let today = chrono::Utc::now().with_timezone(&admin.zone()).date_naive();
    let (out, rows) = mpsc::channel(8);
    tokio::spawn(backend::exports::ledger(state.pool.clone(), admin, out));
    csv(rows, &format!("points-ledger-{today}.csv"))
}
