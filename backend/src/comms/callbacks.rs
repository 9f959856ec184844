//! Delivery callbacks and inbound texts: each provider's signature is checked first (a bad one
//! writes nothing), then the reported events move `communication_log` through delivered, bounced,
//! opened and clicked, and an inbound STOP, START or HELP changes or explains the member's SMS
//! consent (D18).

use super::providers::{DeliveryEvent, DeliveryStatus, mandrill, sendgrid, twilio};
use super::settings;
use crate::Result;
use crate::db;
use chrono::{DateTime, Utc};
use domain::ids::{ClientId, CustomerId};
use sqlx::{PgConnection, PgPool};

/// What a callback came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The signature did not hold (or the winery has no key to check it with): answer 401.
    Unauthorized,
    /// Recorded; `reply` is the body to answer with (TwiML for an inbound text).
    Accepted {
        events: usize,
        reply: Option<String>,
    },
}

/// Whether the winery's secret that `secret` picks checks out under `check`. A winery without that
/// secret can verify nothing, so nothing it is sent is accepted.
async fn signed(
    pool: &PgPool,
    client: ClientId,
    secret: fn(&settings::Senders) -> Option<&str>,
    check: impl FnOnce(&str) -> bool,
) -> Result<bool> {
    let runtime = super::runtime();
    let mut tx = db::begin_scoped(pool, client).await?;
    let senders =
        settings::senders(&mut tx, client, runtime.cipher.as_ref(), &runtime.endpoints).await?;
    tx.commit().await?;
    Ok(secret(&senders).is_some_and(check))
}

fn auth_token(senders: &settings::Senders) -> Option<&str> {
    senders.sms_secret.as_deref()
}

fn webhook_key(senders: &settings::Senders) -> Option<&str> {
    senders.email_webhook_key.as_deref()
}

/// Records verified delivery events.
async fn record(
    pool: &PgPool,
    client: ClientId,
    events: &[DeliveryEvent],
    now: DateTime<Utc>,
) -> Result<Verdict> {
    let count = apply(pool, client, events, now).await?;
    Ok(Verdict::Accepted {
        events: count,
        reply: None,
    })
}

/// A Twilio status callback, signed with the winery's auth token over `url` and the form.
///
/// # Errors
/// Database failures.
pub async fn twilio_status(
    pool: &PgPool,
    client: ClientId,
    url: &str,
    params: &[(String, String)],
    signature: &str,
    now: DateTime<Utc>,
) -> Result<Verdict> {
    if !signed(pool, client, auth_token, |token| {
        twilio::verify_signature(token, url, params, signature)
    })
    .await?
    {
        return Ok(Verdict::Unauthorized);
    }
    let events: Vec<DeliveryEvent> = twilio::parse_status(params).into_iter().collect();
    record(pool, client, &events, now).await
}

/// An inbound text through Twilio: STOP opts out, START opts back in, HELP answers.
///
/// # Errors
/// Database failures.
pub async fn twilio_inbound(
    pool: &PgPool,
    client: ClientId,
    url: &str,
    params: &[(String, String)],
    signature: &str,
    now: DateTime<Utc>,
) -> Result<Verdict> {
    if !signed(pool, client, auth_token, |token| {
        twilio::verify_signature(token, url, params, signature)
    })
    .await?
    {
        return Ok(Verdict::Unauthorized);
    }
    let Some(inbound) = twilio::parse_inbound(params) else {
        return Ok(Verdict::Accepted {
            events: 0,
            reply: Some(twilio::twiml_empty().to_owned()),
        });
    };
    let reply = inbound_keyword(pool, client, &inbound.from, &inbound.body, now).await?;
    Ok(Verdict::Accepted {
        events: 1,
        reply: Some(match reply {
            Some(text) => twilio::twiml_message(&text),
            None => twilio::twiml_empty().to_owned(),
        }),
    })
}

/// Acts on an inbound keyword from `from`; the answer to send back, if any.
///
/// # Errors
/// Database failures.
pub async fn inbound_keyword(
    pool: &PgPool,
    client: ClientId,
    from: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let Some(keyword) = twilio::keyword(body) else {
        return Ok(None);
    };
    let mut tx = db::begin_scoped(pool, client).await?;
    let winery = sqlx::query_scalar!(
        "select org_name from clients where id = $1",
        client.as_uuid()
    )
    .fetch_one(&mut *tx)
    .await?;
    let customers = sqlx::query_scalar!(
        r#"select c.id from customers c
           left join communication_preferences p on p.client_id = c.client_id and p.customer_id = c.id
           where c.client_id = $1 and (p.sms_phone = $2 or regexp_replace(c.phone, '[^0-9+]', '', 'g') = $2)"#,
        client.as_uuid(),
        from
    )
    .fetch_all(&mut *tx)
    .await?;
    let reply = match keyword {
        twilio::Keyword::Stop => {
            for id in &customers {
                sms_opt_out(&mut tx, client, CustomerId::new(*id)).await?;
            }
            format!(
                "{winery}: you are unsubscribed and will receive no more texts. Reply START to resubscribe."
            )
        }
        twilio::Keyword::Start => {
            for id in &customers {
                sms_opt_in(
                    &mut tx,
                    client,
                    CustomerId::new(*id),
                    from,
                    "text_reply",
                    "Replied START",
                    now,
                )
                .await?;
            }
            format!(
                "{winery}: you are subscribed to club texts again. Reply STOP to opt out, HELP for help."
            )
        }
        twilio::Keyword::Help => format!(
            "{winery} club messages. Reply STOP to opt out, START to opt back in. Msg & data rates may apply."
        ),
    };
    tx.commit().await?;
    Ok(Some(reply))
}

/// SendGrid's signed event webhook (ECDSA over the timestamp and the raw body).
///
/// # Errors
/// Database failures.
pub async fn sendgrid_events(
    pool: &PgPool,
    client: ClientId,
    timestamp: &str,
    signature: &str,
    raw_body: &[u8],
    now: DateTime<Utc>,
) -> Result<Verdict> {
    if !signed(pool, client, webhook_key, |key| {
        sendgrid::verify_event_signature(key, timestamp, raw_body, signature)
    })
    .await?
    {
        return Ok(Verdict::Unauthorized);
    }
    let events = sendgrid::parse_events(raw_body).unwrap_or_default();
    record(pool, client, &events, now).await
}

/// Mailchimp Transactional's signed webhook (HMAC-SHA1 over the URL and the form).
///
/// # Errors
/// Database failures.
pub async fn mandrill_events(
    pool: &PgPool,
    client: ClientId,
    url: &str,
    params: &[(String, String)],
    signature: &str,
    now: DateTime<Utc>,
) -> Result<Verdict> {
    if !signed(pool, client, webhook_key, |key| {
        mandrill::verify_signature(key, url, params, signature)
    })
    .await?
    {
        return Ok(Verdict::Unauthorized);
    }
    let events = mandrill::parse_events(params).unwrap_or_default();
    record(pool, client, &events, now).await
}

/// Applies delivery events to the messages they name. A status only moves forward (a late
/// "delivered" never undoes "opened"); every event is kept in the message's history. An
/// unsubscribe or spam complaint at the provider unsubscribes the member from everything.
///
/// # Errors
/// Database failures.
pub async fn apply(
    pool: &PgPool,
    client: ClientId,
    events: &[DeliveryEvent],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let mut applied = 0;
    for event in events {
        let at = event.at.unwrap_or(now);
        let record = serde_json::json!({
            "status": event.status.as_str(),
            "at": at,
            "detail": event.detail,
        });
        let customer = sqlx::query_scalar!(
            r#"update communication_log set
                   status = case
                       when $3 = 'bounced' or $3 = 'failed' then $3
                       when $3 = 'clicked' and status in ('sent', 'delivered', 'opened') then 'clicked'
                       when $3 = 'opened' and status in ('sent', 'delivered') then 'opened'
                       when $3 = 'delivered' and status = 'sent' then 'delivered'
                       else status end,
                   delivered_at = case when $3 = 'delivered' then coalesce(delivered_at, $4) else delivered_at end,
                   opened_at = case when $3 = 'opened' then coalesce(opened_at, $4) else opened_at end,
                   clicked_at = case when $3 = 'clicked' then coalesce(clicked_at, $4) else clicked_at end,
                   error_message = case when $3 in ('bounced', 'failed') then coalesce($6, error_message) else error_message end,
                   delivery_events = delivery_events || jsonb_build_array($5::jsonb)
               where client_id = $1 and provider_message_id = $2
               returning customer_id"#,
            client.as_uuid(),
            event.provider_message_id,
            event.status.as_str(),
            at,
            record,
            event.detail
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(customer) = customer {
            applied += 1;
            if matches!(
                event.status,
                DeliveryStatus::Unsubscribed | DeliveryStatus::Complained
            ) {
                super::preferences::unsubscribe_all_in(
                    &mut tx,
                    client,
                    CustomerId::new(customer),
                    now,
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(applied)
}

/// Withdraws the member's SMS consent (a STOP, or the provider saying they opted out).
///
/// # Errors
/// Database failures.
pub async fn sms_opt_out(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<()> {
    sqlx::query!(
        r#"insert into communication_preferences (client_id, customer_id) values ($1, $2)
           on conflict (customer_id) do update
           set sms_opt_in_at = null, sms_opt_in_method = null, sms_opt_in_text = null"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the member's SMS consent: how, when, the words they agreed to, and the number.
///
/// # Errors
/// Database failures.
pub async fn sms_opt_in(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    phone: &str,
    method: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"insert into communication_preferences
               (client_id, customer_id, sms_opt_in_at, sms_opt_in_method, sms_opt_in_text, sms_phone)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (customer_id) do update
           set sms_opt_in_at = $3, sms_opt_in_method = $4, sms_opt_in_text = $5, sms_phone = $6"#,
        client.as_uuid(),
        customer.as_uuid(),
        now,
        method,
        text,
        phone
    )
    .execute(conn)
    .await?;
    Ok(())
}
