//! Server-only glue for server functions: the shared state, the `require_admin` gate, request
//! details, and the one place that decides what a backend error may show the browser.

use crate::error::AppError;
use axum::extract::FromRef;
use axum::http::{HeaderValue, header, request::Parts};
use backend::auth::Admin;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use sqlx::PgPool;
use std::sync::Arc;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vinculum_session";

/// Settings the UI layer needs.
#[derive(Clone, Debug)]
pub struct UiConfig {
    /// Show the demo login on the sign-in page.
    pub demo_mode: bool,
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Take the client address from the left-most `X-Forwarded-For` entry.
    pub trust_forwarded_for: bool,
}

/// State shared by the router, pages and server functions.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub ui: Arc<UiConfig>,
    /// Seals provider secrets at rest.
    pub cipher: backend::crypto::Cipher,
    /// The CRM clients and their settings.
    pub crm: Arc<backend::crm::registry::Registry>,
    /// Signs and checks the tokens of launches inside a CRM's admin.
    pub tokens: backend::embedded::TokenKey,
}

/// This response's Content-Security-Policy nonce, put on the request by the server's
/// security-headers layer; the shell hands it to Leptos, which writes it on every script.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Provides the request's CSP nonce to the page's scripts.
pub fn provide_csp_nonce() {
    if let Some(nonce) = parts().and_then(|p| p.extensions.get::<CspNonce>().cloned()) {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// The shared state (provided as context by the router).
pub fn state() -> AppState {
    expect_context::<AppState>()
}

fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The signed-in admin, put on the request by the server's auth layer.
///
/// # Errors
/// [`AppError::Unauthorized`] when nobody is signed in.
pub fn require_admin() -> Result<Admin, AppError> {
    parts()
        .and_then(|p| p.extensions.get::<Admin>().cloned())
        .ok_or(AppError::Unauthorized)
}

/// The caller's network address, for rate limiting.
pub fn client_ip() -> String {
    let Some(parts) = parts() else {
        return "unknown".to_owned();
    };
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next());
    if let (true, Some(first)) = (state().ui.trust_forwarded_for, forwarded) {
        return first.trim().to_owned();
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// The caller's `User-Agent`, truncated.
pub fn user_agent() -> Option<String> {
    parts()?
        .headers
        .get(header::USER_AGENT)?
        .to_str()
        .ok()
        .map(|s| s.chars().take(255).collect())
}

/// The value of a request cookie.
pub fn cookie(name: &str) -> Option<String> {
    cookie_in(&parts()?.headers, name)
}

/// The value of cookie `name` in a request's headers.
pub fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| {
            line.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                (k == name).then(|| v.to_owned())
            })
        })
}

/// Appends a `Set-Cookie` header to the response.
pub fn set_cookie(value: &str) {
    if let (Some(options), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(value),
    ) {
        options.append_header(header::SET_COOKIE, value);
    }
}

/// Sets a session cookie (the admin's, or a member's on the portal): the whole site, HttpOnly,
/// SameSite=Lax, and Secure when the public URL is https. A `max_age_seconds` of 0 removes it.
pub fn set_session_cookie(name: &str, value: &str, max_age_seconds: i64) {
    let secure = if state().ui.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    set_cookie(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    ));
}

/// The one place that decides what a backend error may show the browser. Database and
/// unexpected errors are logged with their full chain and answered with a reference only. (The
/// HTTP status follows from the variant; see `AppError::status`.)
impl From<backend::Error> for AppError {
    fn from(error: backend::Error) -> Self {
        use backend::Error as E;
        match error {
            E::NotFound { what } => AppError::NotFound {
                what: what.to_owned(),
            },
            E::Conflict(message) => AppError::Conflict { message },
            E::Invalid(invalid) => AppError::Validation {
                field: invalid.field.map(str::to_owned),
                message: invalid.message,
            },
            E::Forbidden => AppError::Forbidden,
            E::Unauthorized => AppError::Unauthorized,
            E::RateLimited {
                retry_after_minutes,
            } => AppError::RateLimited {
                message: format!(
                    "Too many failed attempts. Try again in {retry_after_minutes} minutes."
                ),
            },
            E::Db(sqlx::Error::PoolTimedOut) => AppError::Unavailable,
            other => {
                let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
                tracing::error!(%reference, error = ?other, "internal error in a server function");
                AppError::Internal { reference }
            }
        }
    }
}
