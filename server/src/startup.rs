//! Router assembly: `build_router` is the one function both `main` and the tests use.

use crate::{auth, health};
use app::error::AppError;
use app::ssr::{AppState, CspNonce, UiConfig};
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::crm::registry::{CrmConfig, Registry};
use backend::crypto::Cipher;
use backend::embedded::TokenKey;
use leptos::prelude::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sqlx::PgPool;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (forms and server functions).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest order file upload (the importer's own limit is 20 MB; the rest is multipart framing).
pub const MAX_UPLOAD_BYTES: usize = 21 * 1024 * 1024;
/// The paths that accept uploads.
const UPLOAD_PATHS: &[&str] = &["/api/import/upload"];

/// The shared state from a pool, the Leptos options and the settings that the UI needs.
pub fn app_state(
    pool: PgPool,
    leptos_options: LeptosOptions,
    ui: UiConfig,
    cipher: Cipher,
    crm: CrmConfig,
    messaging: backend::comms::providers::Endpoints,
) -> anyhow::Result<AppState> {
    backend::comms::configure(backend::comms::Runtime::new(
        &crm.public_url,
        cipher.clone(),
        messaging,
    ));
    let tokens = TokenKey::derive(&cipher.derive_key(b"embedded-token"));
    let crm = Registry::new(crm, Some(cipher.clone()))?;
    Ok(AppState {
        leptos_options,
        pool,
        ui: Arc::new(ui),
        cipher,
        crm: Arc::new(crm),
        tokens,
    })
}

/// Every route: health checks, the Leptos pages and server functions, static files.
pub fn build_router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(crate::integrations::routes())
        .merge(crate::comms::routes())
        .merge(crate::exports::routes())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(api_error_status))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::session_layer,
        ))
        .layer(middleware::from_fn(keep_latest_form_error))
        .layer(middleware::from_fn(body_limit))
        // Outside the body limit, so even a refused upload carries the headers.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The path only: query strings carry tokens, and webhook paths a secret.
            tracing::debug_span!(
                "request",
                method = %req.method(),
                path = %crate::integrations::loggable_path(req.uri().path())
            )
        }))
        .with_state(state)
}

/// Server functions answer every error with status 500 and the `AppError` as JSON; this gives
/// each error its proper status (401, 404, 409, 422, ...) in one place. Plain form posts are
/// redirects and pass untouched.
async fn api_error_status(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    if !is_api || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Refuses bodies over the limit with 413: 1 MB, or 21 MB for uploads. A declared length is
/// checked up front; a body without one is cut off at the limit while it is read.
async fn body_limit(req: Request, next: Next) -> Response {
    let limit = if UPLOAD_PATHS.contains(&req.uri().path()) {
        MAX_UPLOAD_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        let message = format!(
            "The request is larger than the limit of {} MB.",
            limit / (1024 * 1024)
        );
        return (StatusCode::PAYLOAD_TOO_LARGE, message).into_response();
    }
    next.run(req.map(|body| Body::new(http_body_util::Limited::new(body, limit))))
        .await
}

/// The sites allowed to frame the admin: Commerce7's and Shopify's admins, where the app runs
/// embedded. UNCONFIRMED: Commerce7 documents no origin for its admin; this is our best guess
/// (see the README's table).
pub const ADMIN_FRAME_ANCESTORS: &str =
    "https://*.commerce7.com https://admin.shopify.com https://*.myshopify.com";

/// The winery whose portal a path belongs to (`/m/{slug}...`).
fn portal_slug(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/m/")?;
    let slug = rest.split('/').next().unwrap_or_default();
    (!slug.is_empty()).then_some(slug)
}

/// The Content-Security-Policy of a response. Scripts run only from this site and with this
/// response's nonce (the hydration scripts and the embedded-launch script carry it); nothing can
/// be framed in, loaded from plugins or re-based. The member portal also keeps styles to its own
/// stylesheets and forms to its own origin.
pub fn content_security_policy(nonce: &str, portal: bool, frame_ancestors: &str) -> String {
    let (style, extra) = if portal {
        ("style-src 'self'", "; frame-src 'none'; form-action 'self'")
    } else {
        // The admin's chart tooltips are placed with a style attribute, and its e-mail previews
        // are sandboxed srcdoc frames whose messages carry their own styles.
        ("style-src 'self' 'unsafe-inline'", "")
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; {style}; \
         img-src 'self' data: https:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'{extra}; frame-ancestors {frame_ancestors}"
    )
}

/// A fresh random nonce (128 bits).
fn nonce() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Headers every response carries: a strict CSP with a per-response nonce (handed to the page
/// through the request's extensions), `frame-ancestors` from the winery's settings on its portal
/// and the CRMs' admins elsewhere, and the usual hardening headers.
async fn security_headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let nonce = nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let portal = portal_slug(req.uri().path()).map(str::to_owned);
    let res = next.run(req).await;
    let ancestors = match &portal {
        Some(slug) => {
            let origins = backend::portal::frame_ancestors(&state.pool, slug)
                .await
                .unwrap_or_default();
            std::iter::once("'self'".to_owned())
                .chain(origins)
                .collect::<Vec<_>>()
                .join(" ")
        }
        None => format!("'self' {ADMIN_FRAME_ANCESTORS}"),
    };
    let mut res = res;
    let headers = res.headers_mut();
    let csp = content_security_policy(&nonce, portal.is_some(), &ancestors);
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    // Browsers that know frame-ancestors ignore this; older ones get the strictest answer only
    // where nothing else may frame the page.
    if ancestors == "'self'" {
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    }
    if state.ui.secure_cookies {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

/// A form posted without JavaScript is redirected back to its page with the error in the query
/// (`__path`, `__err`). When the page already carried an earlier error, Leptos appends the new one
/// after it and the page would show the old one; keep only the latest.
async fn keep_latest_form_error(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let fixed = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(latest_error_only);
    if let Some(value) = fixed.and_then(|f| HeaderValue::from_str(&f).ok()) {
        res.headers_mut().insert(header::LOCATION, value);
    }
    res
}

/// The location with only its last `__path`/`__err` pair, or `None` when nothing needs fixing.
pub fn latest_error_only(location: &str) -> Option<String> {
    let (base, query) = location.split_once('?')?;
    let pairs: Vec<&str> = query.split('&').collect();
    let errors = pairs.iter().filter(|p| p.starts_with("__err=")).count();
    if errors < 2 {
        return None;
    }
    let last_path = pairs.iter().rev().find(|p| p.starts_with("__path="));
    let last_err = pairs.iter().rev().find(|p| p.starts_with("__err="));
    let mut kept: Vec<&str> = pairs
        .iter()
        .copied()
        .filter(|p| !p.starts_with("__path=") && !p.starts_with("__err="))
        .collect();
    kept.extend(last_path.copied());
    kept.extend(last_err.copied());
    Some(format!("{base}?{}", kept.join("&")))
}

#[cfg(test)]
mod tests {
    use super::latest_error_only;

    #[test]
    fn only_the_latest_form_error_is_kept() {
        let location = "http://h/admin/club?x=1&__path=%2Fa&__err=OLD&__path=%2Fb&__err=NEW";
        assert_eq!(
            latest_error_only(location).as_deref(),
            Some("http://h/admin/club?x=1&__path=%2Fb&__err=NEW")
        );
        assert_eq!(
            latest_error_only("http://h/admin/club?__path=%2Fa&__err=ONE"),
            None
        );
        assert_eq!(latest_error_only("/admin/club"), None);
    }
}
