//! The member's side of D18: the signed one-click unsubscribe, and the preference page reached by
//! the signed link in every e-mail (switches per message family and channel, SMS consent with its
//! wording, time and number, and unsubscribe from all).

use super::links;
use crate::db;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use domain::comms::Phone;
use domain::comms::prefs::Preferences;
use domain::ids::{ClientId, CustomerId};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

/// The words a member agrees to when they switch texts on (stored with the opt-in).
pub fn consent_text(winery: &str) -> String {
    format!(
        "I agree to receive club texts from {winery} at this number. Message frequency varies; msg & data rates may apply. Reply STOP to opt out, HELP for help."
    )
}

/// The preference page's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferencesPage {
    pub winery_name: String,
    pub email: String,
    pub phone: String,
    pub preferences: Preferences,
    /// When the SMS opt-in was recorded, if it was.
    pub sms_opt_in_at: Option<DateTime<Utc>>,
    pub consent_text: String,
}

/// What the preference form sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferencesInput {
    pub email_monthly_status: bool,
    pub email_expiration_warnings: bool,
    pub email_promotions: bool,
    pub sms_monthly_status: bool,
    pub sms_expiration_warnings: bool,
    pub sms_promotions: bool,
    pub unsubscribed_all: bool,
    /// Ticked to consent to texts (needs a phone number).
    pub sms_opt_in: bool,
    pub phone: String,
}

fn member(token: &str) -> Result<(ClientId, CustomerId)> {
    links::verify(&super::runtime().link_key, token).ok_or_else(|| {
        Error::invalid(
            "token",
            "This link is not valid. Use the link in your latest e-mail.",
        )
    })
}

/// The page for the member a link names.
///
/// # Errors
/// [`Error::Invalid`] for a link that does not verify; database failures.
pub async fn page(pool: &PgPool, token: &str) -> Result<PreferencesPage> {
    let (client, customer) = member(token)?;
    page_for(pool, client, customer).await
}

/// The page for a member known by other means (the portal's session).
///
/// # Errors
/// [`Error::Invalid`] when the customer is gone; database failures.
pub async fn page_for(
    pool: &PgPool,
    client: ClientId,
    customer: CustomerId,
) -> Result<PreferencesPage> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let page = load(&mut tx, client, customer).await?;
    tx.commit().await?;
    page.ok_or_else(|| Error::invalid("token", "This link is not valid any more."))
}

async fn load(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<Option<PreferencesPage>> {
    let row = sqlx::query!(
        r#"select k.org_name, c.email, c.phone, p.customer_id as "has_prefs?",
                  p.email_monthly_status as "email_monthly_status?", p.email_expiration_warnings as "email_expiration_warnings?",
                  p.email_promotions as "email_promotions?", p.sms_monthly_status as "sms_monthly_status?",
                  p.sms_expiration_warnings as "sms_expiration_warnings?", p.sms_promotions as "sms_promotions?",
                  p.unsubscribed_all as "unsubscribed_all?", p.sms_opt_in_at as "sms_opt_in_at?", p.sms_phone as "sms_phone?"
           from customers c
           join clients k on k.id = c.client_id
           left join communication_preferences p on p.client_id = c.client_id and p.customer_id = c.id
           where c.client_id = $1 and c.id = $2 and c.anonymized_at is null"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| {
        let defaults = Preferences::default();
        PreferencesPage {
            consent_text: consent_text(&r.org_name),
            winery_name: r.org_name,
            email: r.email,
            phone: r.sms_phone.or(r.phone).unwrap_or_default(),
            preferences: Preferences {
                email_monthly_status: r
                    .email_monthly_status
                    .unwrap_or(defaults.email_monthly_status),
                email_expiration_warnings: r
                    .email_expiration_warnings
                    .unwrap_or(defaults.email_expiration_warnings),
                email_promotions: r.email_promotions.unwrap_or(defaults.email_promotions),
                sms_monthly_status: r.sms_monthly_status.unwrap_or(defaults.sms_monthly_status),
                sms_expiration_warnings: r
                    .sms_expiration_warnings
                    .unwrap_or(defaults.sms_expiration_warnings),
                sms_promotions: r.sms_promotions.unwrap_or(defaults.sms_promotions),
                unsubscribed_all: r.unsubscribed_all.unwrap_or(false),
                sms_opted_in: r.sms_opt_in_at.is_some(),
            },
            sms_opt_in_at: r.sms_opt_in_at,
        }
    }))
}

/// One-click unsubscribe (RFC 8058): the member a link names gets nothing more. Returns the
/// winery's name for the confirmation.
///
/// # Errors
/// [`Error::Invalid`] for a link that does not verify; database failures.
pub async fn unsubscribe(pool: &PgPool, token: &str, now: DateTime<Utc>) -> Result<String> {
    let (client, customer) = member(token)?;
    let mut tx = db::begin_scoped(pool, client).await?;
    let page = load(&mut tx, client, customer)
        .await?
        .ok_or_else(|| Error::invalid("token", "This link is not valid any more."))?;
    unsubscribe_all_in(&mut tx, client, customer, now).await?;
    tx.commit().await?;
    tracing::info!(client = %client, customer = %customer.as_uuid(), "member unsubscribed from all messages");
    Ok(page.winery_name)
}

/// Sets "unsubscribed from all" and its time.
///
/// # Errors
/// Database failures.
pub async fn unsubscribe_all_in(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"insert into communication_preferences (client_id, customer_id, unsubscribed_all, unsubscribed_at)
           values ($1, $2, true, $3)
           on conflict (customer_id) do update
           set unsubscribed_all = true,
               unsubscribed_at = coalesce(communication_preferences.unsubscribed_at, $3)"#,
        client.as_uuid(),
        customer.as_uuid(),
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves the member's choices. Switching texts on needs a phone number in E.164 form and records
/// the consent wording and time; switching them off withdraws it.
///
/// # Errors
/// [`Error::Invalid`] for a bad link or phone number (nothing is written); database failures.
pub async fn save(
    pool: &PgPool,
    token: &str,
    input: &PreferencesInput,
    now: DateTime<Utc>,
) -> Result<PreferencesPage> {
    let (client, customer) = member(token)?;
    save_for(pool, client, customer, input, now).await
}

/// Saves the choices of a member known by other means (the portal's session).
///
/// # Errors
/// As [`save`].
pub async fn save_for(
    pool: &PgPool,
    client: ClientId,
    customer: CustomerId,
    input: &PreferencesInput,
    now: DateTime<Utc>,
) -> Result<PreferencesPage> {
    let phone = if input.sms_opt_in {
        Some(Phone::parse(&input.phone).map_err(|e| {
            Error::invalid("phone", format!("To receive texts, the phone number {e}."))
        })?)
    } else {
        None
    };
    let mut tx = db::begin_scoped(pool, client).await?;
    let page = load(&mut tx, client, customer)
        .await?
        .ok_or_else(|| Error::invalid("token", "This link is not valid any more."))?;
    sqlx::query!(
        r#"insert into communication_preferences
               (client_id, customer_id, email_monthly_status, email_expiration_warnings, email_promotions,
                sms_monthly_status, sms_expiration_warnings, sms_promotions, unsubscribed_all, unsubscribed_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, case when $9 then $10::timestamptz end)
           on conflict (customer_id) do update set
               email_monthly_status = $3, email_expiration_warnings = $4, email_promotions = $5,
               sms_monthly_status = $6, sms_expiration_warnings = $7, sms_promotions = $8,
               unsubscribed_all = $9,
               unsubscribed_at = case when $9 then coalesce(communication_preferences.unsubscribed_at, $10) end"#,
        client.as_uuid(),
        customer.as_uuid(),
        input.email_monthly_status,
        input.email_expiration_warnings,
        input.email_promotions,
        input.sms_monthly_status,
        input.sms_expiration_warnings,
        input.sms_promotions,
        input.unsubscribed_all,
        now
    )
    .execute(&mut *tx)
    .await?;
    match (&phone, page.preferences.sms_opted_in) {
        // A new consent, or consent for another number.
        (Some(phone), opted_in) if !opted_in || phone.as_str() != page.phone => {
            super::callbacks::sms_opt_in(
                &mut tx,
                client,
                customer,
                phone.as_str(),
                "web_form",
                &page.consent_text,
                now,
            )
            .await?;
        }
        (None, true) => super::callbacks::sms_opt_out(&mut tx, client, customer).await?,
        _ => {}
    }
    let saved = load(&mut tx, client, customer)
        .await?
        .ok_or_else(|| Error::invalid("token", "This link is not valid any more."))?;
    tx.commit().await?;
    Ok(saved)
}
