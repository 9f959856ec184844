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

/// Server functions that answer without an admin session: signing in, and the member portal's,
/// which check the member's own session cookie (`app::portal::api`).
pub const PUBLIC_API: &[&str] = &[
    "/api/auth/login",
    "/api/auth/logout",
    "/api/auth/demo-login",
    "/api/portal/branding",
    "/api/portal/request-link",
    "/api/portal/sign-in",
    "/api/portal/sign-out",
    "/api/portal/status",
    "/api/portal/rewards",
    "/api/portal/redeem",
    "/api/portal/messages",
    "/api/portal/save-messages",
    "/api/portal/statement",
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

/// The token of an embedded launch: `Authorization: Bearer …`, or `vt=` in the address (full
/// page loads inside the CRM's iframe).
fn embedded_token(req: &Request) -> Option<String> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    bearer
        .or_else(|| {
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == "vt")
                .map(|(_, v)| v.into_owned())
        })
        .filter(|t| !t.is_empty() && t.len() <= 4096)
}

/// The admin a Vinculum launch token or a Shopify session token names.
async fn embedded_admin(
    state: &AppState,
    token: &str,
) -> backend::Result<Option<backend::auth::Admin>> {
    let now = chrono::Utc::now();
    if let Some(admin) =
        backend::embedded::authenticate(&state.pool, &state.tokens, token, now).await?
    {
        return Ok(Some(admin));
    }
    if state.crm.config.shopify.is_none() {
        return Ok(None);
    }
    match backend::install::shopify_session(&state.pool, &state.crm, token, now).await {
        // A token exchange Shopify refused: not signed in (the app shows the sign-in page).
        Err(backend::Error::Conflict(why)) => {
            tracing::warn!(reason = %why, "a Shopify session could not be installed");
            Ok(None)
        }
        other => other,
    }
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
    // Inside a CRM's admin: a token in the Authorization header or the page's address; else the
    // standalone session cookie.
    let resolved = match embedded_token(&req) {
        Some(token) => embedded_admin(&state, &token).await,
        None => Ok(None),
    };
    let resolved = match (resolved, cookie_in(req.headers(), SESSION_COOKIE)) {
        (Ok(None), Some(cookie)) => {
            backend::auth::authenticate(&state.pool, &cookie, chrono::Utc::now()).await
        }
        (other, _) => other,
    };
    match resolved {
        Ok(Some(admin)) => {
            req.extensions_mut().insert(admin);
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = ?e, "could not resolve who is signed in");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
                .into_response();
        }
    }
    let signed_in = req.extensions().get::<backend::auth::Admin>().is_some();
    if path == "/login" && signed_in {
        return Redirect::to("/admin").into_response();
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
