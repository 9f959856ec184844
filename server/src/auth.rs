//! The authentication layer: resolves the session cookie into the signed-in `Admin` (put on the
//! request, where `app::ssr::require_admin` finds it), sends visitors of admin pages who are not
//! signed in to `/login`, and answers 401 for every server function except the few public ones
//! (deny by default; each function still calls `require_admin` itself). The tenant always comes
//! from the session, never from the request.

use app::ssr::{AppState, SESSION_COOKIE, cookie_in};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

fn needs_session(path: &str) -> bool {
    path == "/" || path == "/login" || path.starts_with("/admin") || path.starts_with("/api/")
}

/// Server functions that answer without a session.
pub const PUBLIC_API: &[&str] = &[
    "/api/auth/login",
    "/api/auth/logout",
    "/api/auth/demo-login",
];

fn is_admin_page(path: &str) -> bool {
    path == "/" || path == "/admin" || path.starts_with("/admin/")
}

/// Percent-encodes a path for the `next` query parameter.
fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The middleware.
pub async fn session_layer(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if !needs_session(&path) {
        return next.run(req).await;
    }
    if let Some(token) = cookie_in(req.headers(), SESSION_COOKIE) {
        match backend::auth::authenticate(&state.pool, &token, chrono::Utc::now()).await {
            Ok(Some(admin)) => {
                req.extensions_mut().insert(admin);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = ?e, "could not resolve a session");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is temporarily unavailable.",
                )
                    .into_response();
            }
        }
    }
    let signed_in = req.extensions().get::<backend::auth::Admin>().is_some();
    if path == "/login" && signed_in {
        return Redirect::to("/admin/club").into_response();
    }
    if path.starts_with("/api/") && !signed_in && !PUBLIC_API.contains(&path.as_str()) {
        let plain_form = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if plain_form {
            return Redirect::to("/login").into_response();
        }
        let body = serde_json::to_string(&app::error::AppError::Unauthorized).unwrap_or_default();
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    if is_admin_page(&path) && !signed_in {
        let target = req
            .uri()
            .path_and_query()
            .map_or(path.clone(), |pq| pq.as_str().to_owned());
        return Redirect::to(&format!("/login?next={}", encode(&target))).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_pages_require_a_session_redirect() {
        assert!(is_admin_page("/"));
        assert!(is_admin_page("/admin/club"));
        assert!(!is_admin_page("/login"));
        assert!(!is_admin_page("/administrator"));
        assert!(!is_admin_page("/pkg/vinculum.wasm"));
    }

    #[test]
    fn next_paths_are_percent_encoded() {
        assert_eq!(encode("/admin/club?x=1&y=2"), "/admin/club%3Fx%3D1%26y%3D2");
    }
}
