//! The CRM-facing HTTP surface: webhook receivers (D23), the Commerce7 install, uninstall and
//! launch, the Shopify install, and the sandbox CRM's API. Each handler authenticates, then hands
//! over to `backend`; none logs a body, a token or a secret.

use app::ssr::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use backend::crm::commerce7::AppCredentials;
use backend::crm::signing::constant_time_eq;
use backend::webhooks::{Receipt, Refusal, ShopifyHeaders};
use base64::Engine as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/c7/{tenant}/{secret}", post(commerce7_webhook))
        .route("/webhooks/shopify", post(shopify_webhook))
        .route("/webhooks/shopify/compliance", post(shopify_webhook))
        .route("/integrations/commerce7/install", post(commerce7_install))
        .route(
            "/integrations/commerce7/uninstall",
            post(commerce7_uninstall),
        )
        .route("/integrations/commerce7/launch", get(commerce7_launch))
        .route("/integrations/shopify", get(shopify_begin))
        .route("/integrations/shopify/callback", get(shopify_callback))
        .route("/sandbox/c7/v1/{*rest}", any(sandbox))
}

/// The path as it may appear in a log: the webhook secret and every query string left out.
pub fn loggable_path(path: &str) -> String {
    // Member links carry a signed token that acts as a key to the member's preferences.
    for prefix in ["/u/", "/p/"] {
        if path.starts_with(prefix) {
            return format!("{prefix}…");
        }
    }
    match path.strip_prefix("/webhooks/c7/") {
        Some(rest) => {
            let tenant = rest.split('/').next().unwrap_or("");
            format!("/webhooks/c7/{tenant}/…")
        }
        None => path.to_owned(),
    }
}

fn internal(e: &backend::Error) -> Response {
    tracing::error!(error = %e, "CRM request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side.",
    )
        .into_response()
}

fn webhook_answer(outcome: backend::Result<Result<Receipt, Refusal>>) -> Response {
    match outcome {
        Ok(Ok(Receipt::Stored)) => (StatusCode::OK, "stored").into_response(),
        Ok(Ok(Receipt::Duplicate)) => (StatusCode::OK, "already received").into_response(),
        Ok(Err(Refusal::Unauthorized)) => {
            (StatusCode::UNAUTHORIZED, "The signature does not match.").into_response()
        }
        Ok(Err(Refusal::UnknownTenant)) => {
            (StatusCode::NOT_FOUND, "No winery has this tenant.").into_response()
        }
        Ok(Err(Refusal::Malformed(why))) => (StatusCode::BAD_REQUEST, why).into_response(),
        Err(e) => internal(&e),
    }
}

async fn commerce7_webhook(
    State(state): State<AppState>,
    Path((tenant, secret)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    webhook_answer(
        backend::webhooks::receive_commerce7(
            &state.pool,
            &state.crm,
            &tenant,
            &secret,
            &body,
            chrono::Utc::now(),
        )
        .await,
    )
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn shopify_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if state.crm.config.shopify.is_none() {
        return (StatusCode::NOT_FOUND, "This server is not a Shopify app.").into_response();
    }
    let delivery = ShopifyHeaders {
        topic: header_text(&headers, "x-shopify-topic"),
        hmac: header_text(&headers, "x-shopify-hmac-sha256"),
        shop: header_text(&headers, "x-shopify-shop-domain"),
        webhook_id: header_text(&headers, "x-shopify-webhook-id"),
    };
    webhook_answer(
        backend::webhooks::receive_shopify(
            &state.pool,
            &state.crm,
            &delivery,
            &body,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// Whether the request carries these Basic credentials (compared in constant time).
fn basic_auth_is(headers: &HeaderMap, expected: &AppCredentials) -> bool {
    let Some(encoded) = header_text(headers, "authorization")
        .and_then(|h| h.strip_prefix("Basic ").map(str::to_owned))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let wanted = format!(
        "{}:{}",
        expected.app_id,
        expected.app_secret.expose_secret()
    );
    constant_time_eq(&decoded, wanted.as_bytes())
}

fn unauthorized_basic() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"vinculum\"")],
        "The credentials do not match.",
    )
        .into_response()
}

/// Checks an install or uninstall call: its Basic credentials and its JSON body. The body, or the
/// answer refusing the call.
fn install_call(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, Box<Response>> {
    match &state.crm.config.commerce7_install {
        Some(expected) if basic_auth_is(headers, expected) => {}
        Some(_) => return Err(Box::new(unauthorized_basic())),
        None => {
            return Err(Box::new(
                (StatusCode::NOT_FOUND, "This server is not a Commerce7 app.").into_response(),
            ));
        }
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            Box::new((StatusCode::BAD_REQUEST, "The body is not a JSON object.").into_response())
        })
}

async fn commerce7_install(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match install_call(&state, &headers, &body) {
        Ok(b) => b,
        Err(refused) => return *refused,
    };
    let done =
        backend::install::install_commerce7(&state.pool, &state.crm, &body, chrono::Utc::now())
            .await
            .map(drop);
    install_answer(done, "installed")
}

/// The answer to an install or uninstall call.
fn install_answer(done: backend::Result<()>, what: &str) -> Response {
    match done {
        Ok(()) => (StatusCode::OK, axum::Json(json!({ what: true }))).into_response(),
        Err(backend::Error::Invalid(i)) => (StatusCode::BAD_REQUEST, i.message).into_response(),
        Err(e) => internal(&e),
    }
}

async fn commerce7_uninstall(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match install_call(&state, &headers, &body) {
        Ok(b) => b,
        Err(refused) => return *refused,
    };
    let done = backend::install::uninstall_commerce7(&state.pool, &body, chrono::Utc::now())
        .await
        .map(drop);
    install_answer(done, "uninstalled")
}

fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · Vinculum</title>\
             <link rel=\"stylesheet\" href=\"/pkg/vinculum.css\"></head><body><main class=\"page narrow\">\
             <h1>{}</h1><p>{}</p></main></body></html>",
            escape(title),
            escape(title),
            escape(message)
        )),
    )
        .into_response()
}

/// Commerce7 opens Vinculum in its admin with `tenantId`, `account` (a token only Commerce7 can
/// check) and `adminUITheme`. The user is verified with `GET /account/user`, then the page opens
/// with Vinculum's own short-lived token in its address.
async fn commerce7_launch(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let query = pairs(raw.as_deref());
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (tenant, account) = (get("tenantId"), get("account"));
    let theme = if get("adminUITheme") == "dark" {
        "dark"
    } else {
        "light"
    };
    if tenant.is_empty() || account.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            "Open Vinculum from Commerce7",
            "This address is opened by Commerce7 with your account; open Vinculum from the Commerce7 admin.",
        );
    }
    match backend::install::launch_commerce7(
        &state.pool,
        &state.crm,
        &state.tokens,
        &tenant,
        &account,
        chrono::Utc::now(),
    )
    .await
    {
        Ok(Some(token)) => {
            Redirect::to(&format!("/admin?vt={token}&theme={theme}")).into_response()
        }
        Ok(None) => page(
            StatusCode::UNAUTHORIZED,
            "Commerce7 did not recognise you",
            "Your Commerce7 sign-in could not be confirmed. Open Vinculum again from the Commerce7 admin.",
        ),
        Err(backend::Error::NotFound { .. }) => page(
            StatusCode::NOT_FOUND,
            "Vinculum is not installed",
            "This Commerce7 account has not installed Vinculum. Install it from the Commerce7 app store.",
        ),
        Err(e) => internal(&e),
    }
}

async fn shopify_begin(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let query = pairs(raw.as_deref());
    match backend::install::shopify_begin(&state.pool, &state.crm, &query, chrono::Utc::now()).await
    {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(backend::Error::Unauthorized) => page(
            StatusCode::UNAUTHORIZED,
            "This link is not from Shopify",
            "Its signature does not match, or it is more than a day old. Install Vinculum from your Shopify admin.",
        ),
        Err(backend::Error::Invalid(i)) => {
            page(StatusCode::BAD_REQUEST, "Not a Shopify shop", &i.message)
        }
        Err(backend::Error::Conflict(m)) => page(StatusCode::NOT_FOUND, "Not available", &m),
        Err(e) => internal(&e),
    }
}

async fn shopify_callback(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let query = pairs(raw.as_deref());
    match backend::install::shopify_callback(&state.pool, &state.crm, &query, chrono::Utc::now())
        .await
    {
        Ok(_) => {
            let shop = query
                .iter()
                .find(|(k, _)| k == "shop")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let key = state
                .crm
                .config
                .shopify
                .as_ref()
                .map(|a| a.api_key.clone())
                .unwrap_or_default();
            Redirect::to(&format!("https://{shop}/admin/apps/{key}")).into_response()
        }
        Err(backend::Error::Unauthorized) => page(
            StatusCode::UNAUTHORIZED,
            "The install could not be confirmed",
            "The answer from Shopify is not signed, is stale, or was already used. Start the install again from Shopify.",
        ),
        Err(backend::Error::Conflict(m)) => page(StatusCode::BAD_GATEWAY, "Shopify refused", &m),
        Err(backend::Error::Invalid(i)) => {
            page(StatusCode::BAD_REQUEST, "Not a Shopify shop", &i.message)
        }
        Err(e) => internal(&e),
    }
}

/// The sandbox CRM's API, with the app credentials the server derives from its secret key.
async fn sandbox(
    State(state): State<AppState>,
    method: Method,
    Path(rest): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(tenant) = header_text(&headers, "tenant") else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"statusCode": 401, "type": "unauthorized", "message": "No tenant"})),
        )
            .into_response();
    };
    let answer = if method == Method::GET && rest == "account/user" {
        // The sandbox vouches for any `sandbox:<email>` launch: only a demo server may do that.
        if !state.ui.demo_mode {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"statusCode": 401, "type": "unauthorized", "message": "Unauthorized user"})),
            )
                .into_response();
        }
        backend::sandbox::account_user(&header_text(&headers, "authorization").unwrap_or_default())
    } else {
        if !basic_auth_is(&headers, &state.crm.config.sandbox) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"statusCode": 401, "type": "unauthorized",
                                  "message": "Unauthenticated User", "errors": []})),
            )
                .into_response();
        }
        let body = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(_) => {
                    return (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"statusCode": 400, "message": "The body is not JSON"})),
                    )
                        .into_response();
                }
            }
        };
        match backend::sandbox::handle(
            &state.pool,
            &tenant,
            method.as_str(),
            &rest,
            &pairs(raw.as_deref()),
            &body,
            chrono::Utc::now(),
        )
        .await
        {
            Ok(a) => a,
            Err(e) => return internal(&e),
        }
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if answer.body.is_null() {
        status.into_response()
    } else {
        (status, axum::Json(answer.body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commerce7_webhook_secret_never_reaches_a_log_line() {
        assert_eq!(
            loggable_path("/webhooks/c7/spectra/9f8e7d6c5b4a"),
            "/webhooks/c7/spectra/…"
        );
        assert_eq!(loggable_path("/admin/club"), "/admin/club");
        assert_eq!(loggable_path("/u/AAAA.BBBB"), "/u/…");
        assert_eq!(loggable_path("/p/AAAA.BBBB"), "/p/…");
    }
}
