//! The outbox worker: sends each queued message through the winery's provider, outside any
//! transaction, and records the provider's message id. A failure worth retrying waits 1, 2, 4, …
//! minutes (capped at an hour) up to [`MAX_ATTEMPTS`]; a refusal fails at once. The sandbox
//! provider (D19) sends nothing: the rendered message stays in the log for the admin's outbox.

use super::links;
use super::providers::klaviyo::Klaviyo;
use super::providers::{EmailMessage, EmailProvider, SendError, SmsMessage};
use super::settings::{self, EmailSender, Senders, SmsSender};
use crate::Result;
use crate::db;
use chrono::{DateTime, Duration, Utc};
use domain::ids::{ClientId, CustomerId};
use sqlx::PgPool;
use uuid::Uuid;

/// Tries per message before it is `failed`.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claimed message is reserved before another worker may take it.
const LEASE: Duration = Duration::minutes(10);
/// Messages claimed per round trip.
const BATCH: i64 = 50;

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Sends the due messages of every winery whose outbox is due.
///
/// # Errors
/// Database failures.
pub async fn run_due(pool: &PgPool, now: DateTime<Utc>) -> Result<PassReport> {
    let mut tx = db::begin_platform(pool).await?;
    let due = sqlx::query!(
        r#"update outbox_wakeups w set due_at = $2
           where w.client_id in (
               select client_id from outbox_wakeups where due_at <= $1
               order by due_at limit 20 for update skip locked)
           returning w.client_id, w.version"#,
        now,
        now + LEASE
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut report = PassReport::default();
    for wakeup in due {
        let client = ClientId::new(wakeup.client_id);
        let next = match run_client(pool, client, now).await {
            Ok((pass, next)) => {
                report.sent += pass.sent;
                report.retrying += pass.retrying;
                report.failed += pass.failed;
                next
            }
            Err(e) => {
                tracing::warn!(client = %client, error = %e, "outbox pass failed; retrying in five minutes");
                Some(now + Duration::minutes(5))
            }
        };
        let mut tx = db::begin_platform(pool).await?;
        match next {
            Some(at) => {
                sqlx::query!(
                    "update outbox_wakeups set due_at = $3 where client_id = $1 and version = $2",
                    wakeup.client_id,
                    wakeup.version,
                    at
                )
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query!(
                    "delete from outbox_wakeups where client_id = $1 and version = $2",
                    wakeup.client_id,
                    wakeup.version
                )
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
    }
    Ok(report)
}

/// Sends one winery's due messages. Returns what happened and when its outbox is next due.
///
/// # Errors
/// Database failures.
pub async fn run_client(
    pool: &PgPool,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<(PassReport, Option<DateTime<Utc>>)> {
    let runtime = super::runtime();
    let mut tx = db::begin_scoped(pool, client).await?;
    let senders =
        settings::senders(&mut tx, client, runtime.cipher.as_ref(), &runtime.endpoints).await?;
    tx.commit().await?;
    let mut report = PassReport::default();
    loop {
        let mut tx = db::begin_scoped(pool, client).await?;
        let batch = sqlx::query!(
            r#"update communication_log l set next_attempt_at = $3, attempts = l.attempts + 1
               where l.id in (
                   select id from communication_log
                   where client_id = $1 and status = 'queued' and next_attempt_at <= $2
                   order by next_attempt_at, created_at limit $4 for update skip locked)
               returning l.id, l.customer_id, l.customer_name, l.template_type, l.channel, l.to_address,
                         l.subject, l.rendered_html, l.rendered_text, l.attempts, l.variables, l.created_at"#,
            client.as_uuid(),
            now,
            now + LEASE,
            BATCH
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        if batch.is_empty() {
            break;
        }
        // RETURNING keeps no order: a member's messages go out in the order they were queued.
        let mut batch = batch;
        batch.sort_by_key(|m| m.created_at);
        for m in batch {
            let outcome = send_one(
                &senders,
                client,
                &Outgoing {
                    id: m.id,
                    customer: CustomerId::new(m.customer_id),
                    name: m.customer_name,
                    kind: m.template_type,
                    channel: m.channel.clone(),
                    to: m.to_address,
                    subject: m.subject.unwrap_or_default(),
                    html: m.rendered_html.unwrap_or_default(),
                    text: m.rendered_text.unwrap_or_default(),
                    variables: m.variables.unwrap_or_else(|| serde_json::json!({})),
                },
            )
            .await;
            let mut tx = db::begin_scoped(pool, client).await?;
            match outcome {
                Ok(provider_id) => {
                    sqlx::query!(
                        r#"update communication_log set status = 'sent', sent_at = $2, provider_message_id = $3,
                               next_attempt_at = null, error_message = null
                           where id = $1"#,
                        m.id,
                        Utc::now(),
                        provider_id
                    )
                    .execute(&mut *tx)
                    .await?;
                    report.sent += 1;
                }
                Err(e) => {
                    let retry = e.is_retryable() && m.attempts < MAX_ATTEMPTS;
                    let wait = match &e {
                        SendError::Transient {
                            retry_after: Some(wait),
                            ..
                        } => Duration::from_std(*wait)
                            .unwrap_or_default()
                            .max(crate::jobs::backoff(m.attempts)),
                        _ => crate::jobs::backoff(m.attempts),
                    };
                    sqlx::query!(
                        r#"update communication_log set status = case when $2 then 'queued' else 'failed' end,
                               next_attempt_at = case when $2 then $3::timestamptz end, error_message = $4
                           where id = $1"#,
                        m.id,
                        retry,
                        now + wait,
                        e.message()
                    )
                    .execute(&mut *tx)
                    .await?;
                    if matches!(e, SendError::OptedOut { .. }) && m.channel == "sms" {
                        super::callbacks::sms_opt_out(
                            &mut tx,
                            client,
                            CustomerId::new(m.customer_id),
                        )
                        .await?;
                    }
                    if retry {
                        report.retrying += 1;
                    } else {
                        tracing::warn!(message = %m.id, error = %e, "message failed for good");
                        report.failed += 1;
                    }
                }
            }
            tx.commit().await?;
        }
    }
    let mut tx = db::begin_scoped(pool, client).await?;
    let next = sqlx::query_scalar!(
        "select min(next_attempt_at) from communication_log where client_id = $1 and status = 'queued'",
        client.as_uuid()
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((report, next))
}

/// A claimed message.
struct Outgoing {
    id: Uuid,
    customer: CustomerId,
    name: Option<String>,
    kind: String,
    channel: String,
    to: String,
    subject: String,
    html: String,
    text: String,
    /// The template variables (kept for Klaviyo only; `{}` otherwise).
    variables: serde_json::Value,
}

/// Sends one message; the provider's id on success (`sandbox-<id>` for the sandbox).
async fn send_one(
    senders: &Senders,
    client: ClientId,
    m: &Outgoing,
) -> std::result::Result<Option<String>, SendError> {
    let runtime = super::runtime();
    let missing = |channel: &str| SendError::Rejected {
        message: format!("no {channel} provider is configured, or its key cannot be opened"),
    };
    if m.channel == "email" {
        let sender = senders.email.as_ref().ok_or_else(|| missing("e-mail"))?;
        let provider = match sender {
            EmailSender::Sandbox => return Ok(Some(format!("sandbox-{}", m.id))),
            EmailSender::Provider(p) => p,
        };
        if let EmailProvider::Klaviyo(klaviyo) = provider {
            keep_profile_current(klaviyo, m).await?;
        }
        let token = links::token(&runtime.link_key, client, m.customer);
        let unsubscribe = links::unsubscribe_url(&runtime.public_url, &token);
        let receipt = provider
            .send(&EmailMessage {
                id: m.id,
                to: m.to.clone(),
                to_name: m.name.clone().filter(|n| !n.is_empty()),
                from_address: senders.from_address.clone(),
                from_name: senders.from_name.clone(),
                subject: m.subject.clone(),
                html: m.html.clone(),
                text: m.text.clone(),
                headers: links::unsubscribe_headers(&unsubscribe),
                category: m.kind.clone(),
                properties: m.variables.clone(),
            })
            .await?;
        Ok(receipt.provider_message_id)
    } else {
        let sender = senders.sms.as_ref().ok_or_else(|| missing("SMS"))?;
        let provider = match sender {
            SmsSender::Sandbox => return Ok(Some(format!("sandbox-{}", m.id))),
            SmsSender::Provider(p) => p,
        };
        let receipt = provider
            .send(&SmsMessage {
                id: m.id,
                to: m.to.clone(),
                from: senders.sms_from.clone(),
                body: m.text.clone(),
                status_callback: Some(format!(
                    "{}/webhooks/comms/twilio/{}/status",
                    runtime.public_url,
                    client.as_uuid()
                )),
                category: m.kind.clone(),
                properties: m.variables.clone(),
            })
            .await?;
        Ok(receipt.provider_message_id)
    }
}

/// Before a membership notice goes to Klaviyo, the member's profile gets the club's facts, so
/// the winery's Klaviyo segments follow the club.
async fn keep_profile_current(klaviyo: &Klaviyo, m: &Outgoing) -> Result<(), SendError> {
    if !matches!(
        m.kind.as_str(),
        "welcome" | "upgraded" | "renewed" | "membership_expired"
    ) {
        return Ok(());
    }
    let v = &m.variables;
    let stage = if m.kind == "membership_expired" {
        serde_json::Value::Null
    } else {
        v["current_stage"].clone()
    };
    klaviyo
        .upsert_profile(
            &m.to,
            v["first_name"].as_str(),
            v["last_name"].as_str(),
            &serde_json::json!({
                "vinculum_stage": stage,
                "vinculum_expires_at": v["expires_at_iso"],
                "vinculum_points": v["points_balance"],
            }),
        )
        .await
}
