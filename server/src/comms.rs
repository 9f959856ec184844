//! The messaging HTTP surface: the providers' delivery callbacks and inbound texts (each checked
//! against its signature before anything is written), and the member's signed one-click
//! unsubscribe (RFC 8058) and preference pages, which work without JavaScript or a sign-in.

use app::ssr::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::post;
use backend::comms::callbacks::Verdict;
use backend::comms::preferences::{self, PreferencesInput, PreferencesPage};
use domain::ids::ClientId;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/comms/twilio/{client}/status",
            post(twilio_status),
        )
        .route(
            "/webhooks/comms/twilio/{client}/inbound",
            post(twilio_inbound),
        )
        .route("/webhooks/comms/sendgrid/{client}", post(sendgrid_events))
        .route(
            "/webhooks/comms/mandrill/{client}",
            post(mandrill_events).head(|| async { StatusCode::OK }),
        )
        .route(
            "/u/{token}",
            axum::routing::get(unsubscribe_page).post(unsubscribe),
        )
        .route("/m/{slug}/brand.css", axum::routing::get(brand_css))
        .route(
            "/p/{token}",
            axum::routing::get(preferences_page).post(save_preferences),
        )
}

/// The URL a provider signed: our public address, the path and the query, exactly as called.
fn signed_url(uri: &axum::http::Uri) -> String {
    let path = uri.path_and_query().map_or("", |p| p.as_str());
    format!("{}{path}", backend::comms::runtime().public_url)
}

fn form(body: &[u8]) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(body).ok()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn client_id(raw: &str) -> Option<ClientId> {
    ClientId::parse(raw).ok()
}

fn answer(verdict: backend::Result<Verdict>) -> Response {
    match verdict {
        Ok(Verdict::Unauthorized) => {
            (StatusCode::UNAUTHORIZED, "The signature does not match.").into_response()
        }
        Ok(Verdict::Accepted {
            reply: Some(xml), ..
        }) => ([(header::CONTENT_TYPE, "text/xml")], xml).into_response(),
        Ok(Verdict::Accepted { .. }) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "messaging callback failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
                .into_response()
        }
    }
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "The signature does not match.").into_response()
}

async fn twilio_status(
    State(state): State<AppState>,
    Path(client): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (Some(client), Some(params)) = (client_id(&client), form(&body)) else {
        return unauthorized();
    };
    let signature = header_str(&headers, "x-twilio-signature");
    answer(
        backend::comms::callbacks::twilio_status(
            &state.pool,
            client,
            &signed_url(&uri),
            &params,
            signature,
            chrono::Utc::now(),
        )
        .await,
    )
}

async fn twilio_inbound(
    State(state): State<AppState>,
    Path(client): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (Some(client), Some(params)) = (client_id(&client), form(&body)) else {
        return unauthorized();
    };
    let signature = header_str(&headers, "x-twilio-signature");
    answer(
        backend::comms::callbacks::twilio_inbound(
            &state.pool,
            client,
            &signed_url(&uri),
            &params,
            signature,
            chrono::Utc::now(),
        )
        .await,
    )
}

async fn sendgrid_events(
    State(state): State<AppState>,
    Path(client): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(client) = client_id(&client) else {
        return unauthorized();
    };
    answer(
        backend::comms::callbacks::sendgrid_events(
            &state.pool,
            client,
            header_str(&headers, "x-twilio-email-event-webhook-timestamp"),
            header_str(&headers, "x-twilio-email-event-webhook-signature"),
            &body,
            chrono::Utc::now(),
        )
        .await,
    )
}

async fn mandrill_events(
    State(state): State<AppState>,
    Path(client): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (Some(client), Some(params)) = (client_id(&client), form(&body)) else {
        return unauthorized();
    };
    answer(
        backend::comms::callbacks::mandrill_events(
            &state.pool,
            client,
            &signed_url(&uri),
            &params,
            header_str(&headers, "x-mandrill-signature"),
            chrono::Utc::now(),
        )
        .await,
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small stand-alone page in the admin's stylesheet.
fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/pkg/vinculum.css"></head>
<body class="member-page"><main class="member-card">{body}</main></body></html>"#,
        title = escape(title)
    ))
}

fn problem(e: &backend::Error) -> Response {
    match e {
        backend::Error::Invalid(invalid) => (
            StatusCode::BAD_REQUEST,
            page(
                "Link not valid",
                &format!("<h1>Link not valid</h1><p>{}</p>", escape(&invalid.message)),
            ),
        )
            .into_response(),
        other => {
            tracing::error!(error = %other, "member page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, page("Sorry", "<h1>Sorry</h1><p>Something went wrong on our side. Please try again later.</p>")).into_response()
        }
    }
}

async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match preferences::page(&state.pool, &token).await {
        Ok(p) => page(
            "Unsubscribe",
            &format!(
                r#"<h1>Unsubscribe from {winery}</h1>
<p>Stop every e-mail and text from {winery} to {email}?</p>
<form method="post"><button type="submit" name="confirm" value="yes">Unsubscribe from all messages</button></form>
<p><a href="/p/{token}">Choose which messages you get instead</a></p>"#,
                winery = escape(&p.winery_name),
                email = escape(&p.email),
                token = escape(&token)
            ),
        )
        .into_response(),
        Err(e) => problem(&e),
    }
}

/// A POST unsubscribes: the member's button, or a mail client's RFC 8058 one-click request
/// (`List-Unsubscribe=One-Click`).
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match preferences::unsubscribe(&state.pool, &token, chrono::Utc::now()).await {
        Ok(winery) => page(
            "Unsubscribed",
            &format!(
                r#"<h1>You are unsubscribed</h1><p id="unsubscribed">{winery} will send you no more e-mails or texts.</p>
<p><a href="/p/{token}">Changed your mind? Manage your messages</a></p>"#,
                winery = escape(&winery),
                token = escape(&token)
            ),
        )
        .into_response(),
        Err(e) => problem(&e),
    }
}

fn checkbox(name: &str, label: &str, on: bool) -> String {
    format!(
        r#"<label class="check"><input type="checkbox" name="{name}" value="on"{}> {label}</label>"#,
        if on { " checked" } else { "" }
    )
}

fn preferences_html(p: &PreferencesPage, note: Option<&str>) -> String {
    let prefs = &p.preferences;
    let consent = match p.sms_opt_in_at {
        Some(at) => format!(
            "Texts are on for {} since {}.",
            escape(&p.phone),
            at.format("%B %-d, %Y")
        ),
        None => "Texts are off.".to_owned(),
    };
    format!(
        r#"<h1>Your messages from {winery}</h1>
{note}
<form method="post">
<fieldset><legend>E-mail to {email}</legend>
{em}{ew}{ep}
</fieldset>
<fieldset><legend>Texts</legend>
<p>{consent}</p>
{opt}
<label>Mobile number <input type="tel" name="phone" value="{phone}" placeholder="+15551234567"></label>
<p class="hint">{consent_text}</p>
{sm}{sw}{sp}
</fieldset>
<fieldset><legend>Everything</legend>{all}</fieldset>
<button type="submit">Save my choices</button>
</form>"#,
        winery = escape(&p.winery_name),
        note = note
            .map(|n| format!(r#"<p class="notice" id="saved">{}</p>"#, escape(n)))
            .unwrap_or_default(),
        email = escape(&p.email),
        em = checkbox(
            "email_monthly_status",
            "Monthly status",
            prefs.email_monthly_status
        ),
        ew = checkbox(
            "email_expiration_warnings",
            "Expiration warnings",
            prefs.email_expiration_warnings
        ),
        ep = checkbox(
            "email_promotions",
            "Offers and news",
            prefs.email_promotions
        ),
        consent = consent,
        opt = checkbox("sms_opt_in", "Yes, send me texts", prefs.sms_opted_in),
        phone = escape(&p.phone),
        consent_text = escape(&p.consent_text),
        sm = checkbox(
            "sms_monthly_status",
            "Monthly status by text",
            prefs.sms_monthly_status
        ),
        sw = checkbox(
            "sms_expiration_warnings",
            "Expiration warnings by text",
            prefs.sms_expiration_warnings
        ),
        sp = checkbox("sms_promotions", "Offers by text", prefs.sms_promotions),
        all = checkbox(
            "unsubscribed_all",
            "Unsubscribe from all messages",
            prefs.unsubscribed_all
        ),
    )
}

async fn preferences_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match preferences::page(&state.pool, &token).await {
        Ok(p) => page("Your messages", &preferences_html(&p, None)).into_response(),
        Err(e) => problem(&e),
    }
}

async fn save_preferences(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let fields = form(&body).unwrap_or_default();
    let on = |name: &str| fields.iter().any(|(k, v)| k == name && v == "on");
    let input = PreferencesInput {
        email_monthly_status: on("email_monthly_status"),
        email_expiration_warnings: on("email_expiration_warnings"),
        email_promotions: on("email_promotions"),
        sms_monthly_status: on("sms_monthly_status"),
        sms_expiration_warnings: on("sms_expiration_warnings"),
        sms_promotions: on("sms_promotions"),
        unsubscribed_all: on("unsubscribed_all"),
        sms_opt_in: on("sms_opt_in"),
        phone: fields
            .iter()
            .find(|(k, _)| k == "phone")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    };
    match preferences::save(&state.pool, &token, &input, chrono::Utc::now()).await {
        Ok(p) => page(
            "Your messages",
            &preferences_html(&p, Some("Your choices are saved.")),
        )
        .into_response(),
        Err(backend::Error::Invalid(invalid)) if invalid.field == Some("phone") => {
            match preferences::page(&state.pool, &token).await {
                Ok(p) => (
                    StatusCode::BAD_REQUEST,
                    page(
                        "Your messages",
                        &preferences_html(&p, Some(&invalid.message)),
                    ),
                )
                    .into_response(),
                Err(e) => problem(&e),
            }
        }
        Err(e) => problem(&e),
    }
}

/// The portal's brand colour as a stylesheet (a file, not an inline style, so the portal's CSP can
/// refuse inline styles). The colour passed the database's `#rrggbb` check.
async fn brand_css(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let color = backend::portal::winery(&state.pool, &slug)
        .await
        .ok()
        .map(|w| w.branding.brand_color)
        .filter(|c| domain::portal::is_brand_color(c));
    let css = color.map_or_else(String::new, |c| {
        format!(".portal {{ --wine: {c}; --wine-dark: {c}; }}\n")
    });
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        css,
    )
        .into_response()
}
