//! The Mailchimp Transactional (Mandrill) client (integrations.md section 6), the provider named
//! `mailchimp` in settings: every call is a JSON `POST` with the API key in the body, and the
//! webhook posts it signs with the webhook key.
//!
//! A 200 can still refuse the recipient: each answer entry carries its own status. Errors come as
//! `{"status":"error","name":…}`, usually with HTTP 500, so the `name` decides, not the status.

use super::http::{self, Reply};
use super::{DeliveryEvent, DeliveryStatus, EmailMessage, Endpoints, Receipt, SendError};
use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

/// A Mailchimp Transactional account's client, holding its API key.
#[derive(Clone)]
pub struct Mandrill {
    http: reqwest::Client,
    base: String,
    key: SecretString,
}

impl std::fmt::Debug for Mandrill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mandrill")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The `message` object of `messages/send` (without the key, which [`Mandrill::send`] adds).
pub fn message_body(message: &EmailMessage) -> Value {
    let mut to = json!({ "email": message.to, "type": "to" });
    if let Some(name) = message.to_name.as_deref().filter(|n| !n.is_empty()) {
        to["name"] = json!(name);
    }
    let headers: Map<String, Value> = message
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    let mut body = json!({
        "subject": message.subject,
        "from_email": message.from_address,
        "to": [to],
        "html": message.html,
        "text": message.text,
        "headers": headers,
        "tags": [message.category],
        "metadata": { "vinculum_message_id": message.id.to_string() },
    });
    if let Some(name) = message.from_name.as_deref().filter(|n| !n.is_empty()) {
        body["from_name"] = json!(name);
    }
    body
}

/// What an error body (`{"status":"error","name":…,"message":…}`) means, whatever the HTTP
/// status: `Invalid_Key` is credentials; `ValidationError`, `Unknown_Template`, `PaymentRequired`
/// and `Unknown_Subaccount` are rejections; `GeneralError` is transient; an unknown name follows
/// the HTTP status (5xx transient). `None` when the body is not a Mandrill error.
fn error_from(reply: &Reply, what: &str) -> Option<SendError> {
    let v = reply.json()?;
    if v.get("status").and_then(Value::as_str) != Some("error") {
        return None;
    }
    let name = v.get("name").and_then(Value::as_str).unwrap_or("");
    let text = v
        .get("message")
        .and_then(Value::as_str)
        .map(http::shorten)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| name.to_owned());
    let message = format!("{what}: {text} ({name})");
    Some(match name {
        "Invalid_Key" => SendError::Unauthorized { message },
        "ValidationError" | "Unknown_Template" | "PaymentRequired" | "Unknown_Subaccount" => {
            SendError::Rejected { message }
        }
        "GeneralError" => SendError::Transient {
            message,
            retry_after: reply.retry_after(),
        },
        _ => reply.refusal(what, Some(format!("{text} ({name})"))),
    })
}

fn refusal(reply: &Reply, what: &str) -> SendError {
    error_from(reply, what).unwrap_or_else(|| reply.refusal(what, None))
}

impl Mandrill {
    /// A client for the account behind `key`.
    pub fn new(endpoints: &Endpoints, key: &str) -> Self {
        Self {
            http: http::client(endpoints.timeout),
            base: super::trim_base(&endpoints.mandrill),
            key: SecretString::from(key.trim().to_owned()),
        }
    }

    /// Sends one e-mail with `POST /messages/send.json` and `"async": false`, so the answer
    /// says what became of the recipient.
    ///
    /// # Errors
    /// A `rejected`/`invalid` recipient is a rejection with its `reject_reason`, except `unsub`
    /// (they unsubscribed at Mailchimp), which is [`SendError::OptedOut`]. Error bodies as
    /// [`error_from`] sorts them.
    pub async fn send(&self, message: &EmailMessage) -> Result<Receipt, SendError> {
        let what = "Mailchimp Transactional did not accept the e-mail";
        let request = self
            .http
            .post(format!("{}/messages/send.json", self.base))
            .json(&json!({
                "key": self.key.expose_secret(),
                "message": message_body(message),
                "async": false,
            }));
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(refusal(&reply, what));
        }
        if let Some(error) = error_from(&reply, what) {
            return Err(error);
        }
        let entries = reply.json().and_then(|v| v.as_array().cloned());
        let Some(entry) = entries.as_deref().and_then(|e| {
            e.iter()
                .find(|entry| {
                    entry
                        .get("email")
                        .and_then(Value::as_str)
                        .map(str::to_lowercase)
                        == Some(message.to.to_lowercase())
                })
                .or_else(|| e.first())
        }) else {
            return Err(SendError::transient(format!(
                "{what}: the answer lists no recipient"
            )));
        };
        let id = entry
            .get("_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        let reason = entry
            .get("reject_reason")
            .and_then(Value::as_str)
            .unwrap_or("");
        match entry.get("status").and_then(Value::as_str).unwrap_or("") {
            "sent" | "queued" | "scheduled" => Ok(Receipt {
                provider_message_id: id,
            }),
            "rejected" if reason == "unsub" => Err(SendError::OptedOut {
                message: "Mailchimp Transactional refused the e-mail: the recipient unsubscribed"
                    .to_owned(),
            }),
            "rejected" => Err(SendError::Rejected {
                message: format!(
                    "Mailchimp Transactional rejected the recipient ({})",
                    if reason.is_empty() {
                        "no reason given"
                    } else {
                        reason
                    }
                ),
            }),
            "invalid" => Err(SendError::Rejected {
                message: "Mailchimp Transactional says the recipient address is invalid".to_owned(),
            }),
            other => Err(SendError::transient(format!(
                "{what}: unexpected recipient status {other:?}"
            ))),
        }
    }

    /// Test connection: `POST /users/ping.json` with the key answers `"PONG!"` and sends nothing.
    ///
    /// # Errors
    /// [`SendError::Unauthorized`] for a refused key.
    pub async fn check(&self) -> Result<String, SendError> {
        let what = "Mailchimp Transactional refused the key";
        let request = self
            .http
            .post(format!("{}/users/ping.json", self.base))
            .json(&json!({ "key": self.key.expose_secret() }));
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(refusal(&reply, what));
        }
        if reply.json().as_ref().and_then(Value::as_str) == Some("PONG!") {
            Ok("Mailchimp Transactional accepted the key".to_owned())
        } else {
            Err(error_from(&reply, what).unwrap_or_else(|| {
                SendError::transient(
                    "Mailchimp Transactional answered the ping with something other than PONG!",
                )
            }))
        }
    }
}

/// The `X-Mandrill-Signature` of a webhook post: base64(HMAC-SHA1(webhook key, the webhook URL
/// exactly as registered + every POST parameter sorted by name as `name + value`)). The webhook
/// key is the one Mailchimp shows for that webhook, not the API key.
pub fn signature(webhook_key: &str, url: &str, params: &[(String, String)]) -> String {
    super::url_form_signature(webhook_key, url, params)
}

/// Whether `header_b64` is the [`signature`] of this post, compared in constant time.
pub fn verify_signature(
    webhook_key: &str,
    url: &str,
    params: &[(String, String)],
    header_b64: &str,
) -> bool {
    super::url_form_signature_is_valid(webhook_key, url, params, header_b64)
}

/// The delivery events in a webhook post's `mandrill_events` (a JSON array).
///
/// Mandrill reports no "delivered": its `send` event means the receiving server accepted the
/// message, so `send` → Delivered. `hard_bounce`/`soft_bounce`/`reject` → Bounced, `open` →
/// Opened, `click` → Clicked, `spam` → Complained, `unsub` → Unsubscribed; `deferral` and sync
/// events (allow/deny-list changes) are skipped. Mandrill gives an event no id of its own, so
/// `event_id` is `<message id>:<event>:<ts>`.
///
/// # Errors
/// A post without `mandrill_events`, or one that is not a JSON array.
pub fn parse_events(params: &[(String, String)]) -> Result<Vec<DeliveryEvent>, String> {
    let raw = super::param(params, "mandrill_events")
        .ok_or_else(|| "the Mandrill post has no mandrill_events".to_owned())?;
    let events: Vec<Value> =
        serde_json::from_str(raw).map_err(|_| "mandrill_events is not a JSON array".to_owned())?;
    Ok(events.iter().filter_map(event_from_json).collect())
}

fn event_from_json(v: &Value) -> Option<DeliveryEvent> {
    let event = v.get("event")?.as_str()?;
    let status = match event {
        "send" => DeliveryStatus::Delivered,
        "hard_bounce" | "soft_bounce" | "reject" => DeliveryStatus::Bounced,
        "open" => DeliveryStatus::Opened,
        "click" => DeliveryStatus::Clicked,
        "spam" => DeliveryStatus::Complained,
        "unsub" => DeliveryStatus::Unsubscribed,
        _ => return None,
    };
    let msg = v.get("msg");
    let text = |holder: Option<&Value>, key: &str| {
        holder
            .and_then(|h| h.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let id = text(msg, "_id").or_else(|| text(Some(v), "_id"))?;
    let ts = v.get("ts").and_then(Value::as_i64);
    Some(DeliveryEvent {
        event_id: Some(format!("{id}:{event}:{}", ts.unwrap_or(0))),
        at: ts.and_then(|t| Utc.timestamp_opt(t, 0).single()),
        detail: text(msg, "bounce_description")
            .or_else(|| text(msg, "diag"))
            .or_else(|| text(Some(v), "url")),
        provider_message_id: id,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debug_output_hides_the_key() {
        let client = Mandrill::new(&Endpoints::production(), "md-secret-key");
        assert!(!format!("{client:?}").contains("md-secret-key"));
    }

    #[test]
    fn an_event_without_a_message_id_is_skipped() {
        let params = vec![(
            "mandrill_events".to_owned(),
            r#"[{"event":"open","ts":1},{"type":"blacklist","action":"add"}]"#.to_owned(),
        )];
        assert_eq!(parse_events(&params), Ok(Vec::new()));
    }
}
