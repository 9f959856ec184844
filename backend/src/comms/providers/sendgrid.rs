//! The SendGrid v3 client (integrations.md section 3): `POST /v3/mail/send` with a Bearer API key,
//! the signed Event Webhook's ECDSA check, and the events it reports.
//!
//! SendGrid has no idempotency key for mail/send (UNCONFIRMED that none exists): our log row id
//! travels in `custom_args.vinculum_message_id` so a reconciliation can find a send that timed out.

use super::http::{self, Reply};
use super::{DeliveryEvent, DeliveryStatus, EmailMessage, Endpoints, Receipt, SendError};
use chrono::{DateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// A SendGrid account's client, holding its API key (`SG.…`, which needs the Mail Send
/// permission).
#[derive(Clone)]
pub struct SendGrid {
    http: reqwest::Client,
    base: String,
    api_key: SecretString,
}

impl std::fmt::Debug for SendGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendGrid")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// SendGrid's error body: `{"errors":[{"message":…,"field":…}]}`; the first message.
fn describe(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let first = v.get("errors")?.as_array()?.first()?;
    let message = first.get("message")?.as_str()?.trim().to_owned();
    match first.get("field").and_then(Value::as_str) {
        Some(field) if !field.is_empty() => Some(format!("{message} ({field})")),
        _ => Some(message),
    }
}

/// How long until `X-RateLimit-Reset` (epoch seconds) from `now`; zero when it has passed, `None`
/// when the value is not a number.
pub fn wait_until_reset(reset: &str, now: DateTime<Utc>) -> Option<Duration> {
    let reset: i64 = reset.trim().parse().ok()?;
    let seconds = reset.saturating_sub(now.timestamp()).max(0);
    Some(Duration::from_secs(seconds.unsigned_abs()))
}

/// The mail/send body: one personalization, `text/plain` before `text/html` (SendGrid answers
/// 400 otherwise), our id in `custom_args`, the category, and the extra headers.
pub fn request_body(message: &EmailMessage) -> Value {
    let mut to = json!({ "email": message.to });
    if let Some(name) = message.to_name.as_deref().filter(|n| !n.is_empty()) {
        to["name"] = json!(name);
    }
    let mut from = json!({ "email": message.from_address });
    if let Some(name) = message.from_name.as_deref().filter(|n| !n.is_empty()) {
        from["name"] = json!(name);
    }
    // SendGrid refuses an empty content value, so an empty part is left out.
    let content: Vec<Value> = [("text/plain", &message.text), ("text/html", &message.html)]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(kind, value)| json!({ "type": kind, "value": value }))
        .collect();
    let mut body = json!({
        "personalizations": [{
            "to": [to],
            "custom_args": { "vinculum_message_id": message.id.to_string() },
        }],
        "from": from,
        "subject": message.subject,
        "content": content,
        "categories": [message.category],
    });
    if !message.headers.is_empty() {
        let headers: Map<String, Value> = message
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect();
        body["headers"] = Value::Object(headers);
    }
    body
}

impl SendGrid {
    /// A client for the account behind `api_key`.
    pub fn new(endpoints: &Endpoints, api_key: &str) -> Self {
        Self {
            http: http::client(endpoints.timeout),
            base: super::trim_base(&endpoints.sendgrid),
            api_key: SecretString::from(api_key.trim().to_owned()),
        }
    }

    fn refusal(reply: &Reply, what: &str) -> SendError {
        let error = reply.refusal(what, describe(&reply.body));
        match error {
            // SendGrid says when its window resets rather than how long to wait.
            SendError::Transient { message, .. } if reply.status.as_u16() == 429 => {
                SendError::Transient {
                    message,
                    retry_after: reply
                        .header("x-ratelimit-reset")
                        .and_then(|reset| wait_until_reset(reset, Utc::now()))
                        .or_else(|| reply.retry_after()),
                }
            }
            other => other,
        }
    }

    /// Sends one e-mail. SendGrid answers 202 with an empty body; the `X-Message-Id` header is
    /// the id its events quote (as the start of `sg_message_id`).
    ///
    /// # Errors
    /// 429 and 5xx are transient (429 waits for `X-RateLimit-Reset`), 401/403 are credentials
    /// (403 is also an unverified sender), other 4xx rejections.
    pub async fn send(&self, message: &EmailMessage) -> Result<Receipt, SendError> {
        let what = "SendGrid did not accept the e-mail";
        let request = self
            .http
            .post(format!("{}/v3/mail/send", self.base))
            .bearer_auth(self.api_key.expose_secret())
            .json(&request_body(message));
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(Self::refusal(&reply, what));
        }
        Ok(Receipt {
            provider_message_id: reply.header("x-message-id").map(str::to_owned),
        })
    }

    /// Test connection: `GET /v3/scopes` **[mem]** lists the key's permissions and sends
    /// nothing. When the answer lists scopes without `mail.send`, the key cannot send.
    ///
    /// # Errors
    /// [`SendError::Unauthorized`] for a refused key or one without Mail Send.
    pub async fn check(&self) -> Result<String, SendError> {
        let what = "SendGrid refused the key";
        let request = self
            .http
            .get(format!("{}/v3/scopes", self.base))
            .bearer_auth(self.api_key.expose_secret());
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(Self::refusal(&reply, what));
        }
        let scopes = reply
            .json()
            .and_then(|v| v.get("scopes").and_then(Value::as_array).cloned());
        if let Some(scopes) = scopes
            && !scopes.iter().any(|s| s.as_str() == Some("mail.send"))
        {
            return Err(SendError::Unauthorized {
                message: "SendGrid accepted the key, but it lacks the Mail Send permission"
                    .to_owned(),
            });
        }
        Ok("SendGrid accepted the key".to_owned())
    }
}

/// Whether the Event Webhook's `X-Twilio-Email-Event-Webhook-Signature` (base64 DER ECDSA)
/// signs `timestamp + raw_body` (the `X-Twilio-Email-Event-Webhook-Timestamp` header's bytes,
/// then the body's) under the verification key from SendGrid's settings (base64 DER
/// SubjectPublicKeyInfo, P-256, SHA-256). Malformed input of any kind is `false`, never a panic.
/// Replays are the caller's concern (dedupe on `sg_event_id`).
pub fn verify_event_signature(
    public_key_b64: &str,
    timestamp: &str,
    raw_body: &[u8],
    signature_b64: &str,
) -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use p256::pkcs8::DecodePublicKey;

    let Ok(key_der) = STANDARD.decode(public_key_b64.trim()) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_public_key_der(&key_der) else {
        return false;
    };
    let Ok(signature_der) = STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::from_der(&signature_der) else {
        return false;
    };
    let mut signed = Vec::with_capacity(timestamp.len() + raw_body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(raw_body);
    key.verify(&signed, &signature).is_ok()
}

/// The delivery events in an Event Webhook post (a JSON array). `delivered` → Delivered,
/// `bounce`/`dropped` → Bounced, `open` → Opened, `click` → Clicked, `spamreport` → Complained,
/// `unsubscribe`/`group_unsubscribe` → Unsubscribed; the rest (`processed`, `deferred`,
/// `group_resubscribe`, …) and events without `sg_message_id` are skipped. The message id is
/// `sg_message_id` up to its first `.` (which is the `X-Message-Id` the send returned).
///
/// # Errors
/// A body that is not a JSON array.
pub fn parse_events(raw_body: &[u8]) -> Result<Vec<DeliveryEvent>, String> {
    let events: Vec<Value> = serde_json::from_slice(raw_body)
        .map_err(|_| "the SendGrid event post is not a JSON array".to_owned())?;
    Ok(events.iter().filter_map(event_from_json).collect())
}

fn event_from_json(v: &Value) -> Option<DeliveryEvent> {
    let status = match v.get("event")?.as_str()? {
        "delivered" => DeliveryStatus::Delivered,
        "bounce" | "dropped" => DeliveryStatus::Bounced,
        "open" => DeliveryStatus::Opened,
        "click" => DeliveryStatus::Clicked,
        "spamreport" => DeliveryStatus::Complained,
        "unsubscribe" | "group_unsubscribe" => DeliveryStatus::Unsubscribed,
        _ => return None,
    };
    let sg_message_id = v.get("sg_message_id")?.as_str()?;
    let provider_message_id = sg_message_id.split('.').next()?.trim();
    if provider_message_id.is_empty() {
        return None;
    }
    let text = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(DeliveryEvent {
        provider_message_id: provider_message_id.to_owned(),
        status,
        at: v
            .get("timestamp")
            .and_then(Value::as_i64)
            .and_then(|t| Utc.timestamp_opt(t, 0).single()),
        detail: text("reason").or_else(|| text("url")),
        event_id: text("sg_event_id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> EmailMessage {
        EmailMessage {
            id: uuid::Uuid::nil(),
            to: "ann@example.com".to_owned(),
            to_name: None,
            from_address: "club@winery.com".to_owned(),
            from_name: Some(String::new()),
            subject: "Hi".to_owned(),
            html: String::new(),
            text: "Hello".to_owned(),
            headers: Vec::new(),
            category: "club_signup".to_owned(),
            properties: Value::Null,
        }
    }

    #[test]
    fn empty_names_parts_and_headers_are_left_out_of_the_body() {
        let body = request_body(&message());
        assert_eq!(
            body["personalizations"][0]["to"],
            json!([{ "email": "ann@example.com" }])
        );
        assert_eq!(body["from"], json!({ "email": "club@winery.com" }));
        assert_eq!(
            body["content"],
            json!([{ "type": "text/plain", "value": "Hello" }])
        );
        assert!(body.get("headers").is_none());
    }

    #[test]
    fn the_rate_limit_reset_becomes_the_wait() {
        let now = Utc.timestamp_opt(1_000, 0).single().expect("an instant");
        assert_eq!(wait_until_reset("1030", now), Some(Duration::from_secs(30)));
        assert_eq!(wait_until_reset("900", now), Some(Duration::ZERO));
        assert_eq!(wait_until_reset("soon", now), None);
    }

    #[test]
    fn the_debug_output_hides_the_key() {
        let client = SendGrid::new(&Endpoints::production(), "SG.secret-key");
        assert!(!format!("{client:?}").contains("secret-key"));
    }
}
