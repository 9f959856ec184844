//! Server functions of the member portal. The winery comes from the page's slug and the member
//! from that winery's session cookie; no function takes a customer id, so a member can only ever
//! read and change their own data. Each is a thin adapter into `backend::portal`.

use crate::error::AppError;
use domain::comms::prefs::Preferences;
use domain::portal::{Branding, RewardsView, StatementView, StatusView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The portal's session cookie for a winery (one per winery, so signing in to one winery's
/// portal never signs anyone in to another's).
#[cfg(feature = "ssr")]
fn cookie_name(slug: &str) -> String {
    format!("vinculum_member_{slug}")
}

/// The signed-in member of this winery's portal.
#[cfg(feature = "ssr")]
async fn member_of(
    winery: &backend::portal::Winery,
) -> Result<Option<backend::portal::Member>, AppError> {
    use crate::ssr::{cookie, state};
    let Some(token) = cookie(&cookie_name(&winery.branding.slug)) else {
        return Ok(None);
    };
    Ok(backend::portal::authenticate(&state().pool, winery, &token, chrono::Utc::now()).await?)
}

/// The signed-in member of the portal at `slug`.
#[cfg(feature = "ssr")]
async fn member(slug: &str) -> Result<Option<backend::portal::Member>, AppError> {
    let winery = backend::portal::winery(&crate::ssr::state().pool, slug).await?;
    member_of(&winery).await
}

#[cfg(feature = "ssr")]
async fn require_member(slug: &str) -> Result<backend::portal::Member, AppError> {
    member(slug).await?.ok_or(AppError::Unauthorized)
}

/// The winery's name, logo and colour, and whether a member is signed in (the frame's header).
#[server(prefix = "/api", endpoint = "portal/branding")]
pub async fn portal_branding(slug: String) -> Result<(Branding, bool), AppError> {
    let winery = backend::portal::winery(&crate::ssr::state().pool, &slug).await?;
    let signed_in = member_of(&winery).await?.is_some();
    Ok((winery.branding, signed_in))
}

/// Asks for a sign-in link. The answer is the same for a known and an unknown address.
#[server(prefix = "/api", endpoint = "portal/request-link")]
pub async fn request_sign_in_link(slug: String, email: String) -> Result<(), AppError> {
    use crate::ssr::{client_ip, state};
    let sent = backend::portal::request_link(
        &state().pool,
        &slug,
        &email,
        &client_ip(),
        chrono::Utc::now(),
    )
    .await;
    match sent {
        Err(backend::Error::RateLimited {
            retry_after_minutes,
        }) => Err(AppError::RateLimited {
            message: format!(
                "Too many sign-in requests. Please wait {retry_after_minutes} minutes and try again."
            ),
        }),
        other => other.map_err(AppError::from),
    }?;
    leptos_axum::redirect(&format!("/m/{slug}?sent=1"));
    Ok(())
}

/// Spends a sign-in link: sets the session cookie and opens the status page.
#[server(prefix = "/api", endpoint = "portal/sign-in")]
pub async fn sign_in_with_link(slug: String, token: String) -> Result<(), AppError> {
    use crate::ssr::{set_session_cookie, state};
    let (session, _member) =
        backend::portal::sign_in(&state().pool, &slug, &token, chrono::Utc::now()).await?;
    set_session_cookie(
        &cookie_name(&slug),
        session.expose(),
        backend::portal::SESSION_TTL.num_seconds(),
    );
    leptos_axum::redirect(&format!("/m/{slug}"));
    Ok(())
}

/// Signs the member out.
#[server(prefix = "/api", endpoint = "portal/sign-out")]
pub async fn sign_out_member(slug: String) -> Result<(), AppError> {
    use crate::ssr::{cookie, set_cookie, state};
    let name = cookie_name(&slug);
    if let (Some(member), Some(token)) = (member(&slug).await?, cookie(&name)) {
        backend::portal::sign_out(&state().pool, &member, &token).await?;
    }
    set_cookie(&format!(
        "{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ));
    leptos_axum::redirect(&format!("/m/{slug}?signed_out=1"));
    Ok(())
}

/// The status page, or `None` when nobody is signed in (the page then asks for an address).
#[server(prefix = "/api", endpoint = "portal/status")]
pub async fn portal_status(slug: String) -> Result<Option<StatusView>, AppError> {
    let Some(member) = member(&slug).await? else {
        return Ok(None);
    };
    Ok(Some(
        backend::portal::status(&crate::ssr::state().pool, &member, chrono::Utc::now()).await?,
    ))
}

/// The rewards page.
#[server(prefix = "/api", endpoint = "portal/rewards")]
pub async fn portal_rewards(slug: String) -> Result<RewardsView, AppError> {
    let member = require_member(&slug).await?;
    Ok(backend::portal::rewards(&crate::ssr::state().pool, &member, chrono::Utc::now()).await?)
}

/// Redeems a reward for the signed-in member, then shows the rewards page with the result.
#[server(prefix = "/api", endpoint = "portal/redeem")]
pub async fn redeem_reward(slug: String, reward: String) -> Result<(), AppError> {
    let member = require_member(&slug).await?;
    backend::portal::redeem(
        &crate::ssr::state().pool,
        &member,
        &reward,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect(&format!(
        "/m/{slug}/rewards?redeemed={}",
        crate::components::url::encode(&reward)
    ));
    Ok(())
}

/// The member's message choices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageChoices {
    pub email: String,
    pub phone: String,
    pub preferences: Preferences,
    pub sms_opt_in_on: Option<String>,
    pub consent_text: String,
}

/// The message preferences page.
#[server(prefix = "/api", endpoint = "portal/messages")]
pub async fn portal_messages(slug: String) -> Result<MessageChoices, AppError> {
    let member = require_member(&slug).await?;
    let page = backend::comms::preferences::page_for(
        &crate::ssr::state().pool,
        member.client,
        member.customer,
    )
    .await?;
    Ok(MessageChoices {
        email: page.email,
        phone: page.phone,
        preferences: page.preferences,
        sms_opt_in_on: page.sms_opt_in_at.map(|t| {
            t.with_timezone(&member.zone)
                .format("%B %-d, %Y")
                .to_string()
        }),
        consent_text: page.consent_text,
    })
}

/// The preference form as posted: a ticked box sends `on`, an unticked one nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoicesForm {
    #[serde(default)]
    pub email_monthly_status: Option<String>,
    #[serde(default)]
    pub email_expiration_warnings: Option<String>,
    #[serde(default)]
    pub email_promotions: Option<String>,
    #[serde(default)]
    pub sms_opt_in: Option<String>,
    #[serde(default)]
    pub sms_monthly_status: Option<String>,
    #[serde(default)]
    pub sms_expiration_warnings: Option<String>,
    #[serde(default)]
    pub sms_promotions: Option<String>,
    #[serde(default)]
    pub unsubscribed_all: Option<String>,
    #[serde(default)]
    pub phone: String,
}

/// Saves the member's message choices (texts need a number and record the consent wording).
#[server(prefix = "/api", endpoint = "portal/save-messages")]
pub async fn save_messages(slug: String, choices: ChoicesForm) -> Result<(), AppError> {
    let member = require_member(&slug).await?;
    let on = |v: &Option<String>| v.as_deref() == Some("on");
    let input = backend::comms::preferences::PreferencesInput {
        email_monthly_status: on(&choices.email_monthly_status),
        email_expiration_warnings: on(&choices.email_expiration_warnings),
        email_promotions: on(&choices.email_promotions),
        sms_monthly_status: on(&choices.sms_monthly_status),
        sms_expiration_warnings: on(&choices.sms_expiration_warnings),
        sms_promotions: on(&choices.sms_promotions),
        unsubscribed_all: on(&choices.unsubscribed_all),
        sms_opt_in: on(&choices.sms_opt_in),
        phone: choices.phone,
    };
    backend::comms::preferences::save_for(
        &crate::ssr::state().pool,
        member.client,
        member.customer,
        &input,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect(&format!("/m/{slug}/messages?saved=1"));
    Ok(())
}

/// The savings statement.
#[server(prefix = "/api", endpoint = "portal/statement")]
pub async fn portal_statement(slug: String) -> Result<StatementView, AppError> {
    let member = require_member(&slug).await?;
    Ok(backend::portal::statement(&crate::ssr::state().pool, &member, chrono::Utc::now()).await?)
}
