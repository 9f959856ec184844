//! The Twilio Programmable Messaging client (integrations.md section 7): sending a text with
//! `POST /2010-04-01/Accounts/{sid}/Messages.json` (a form body, HTTP Basic `sid:token`), and the
//! form posts Twilio sends back: status callbacks, inbound messages (with the STOP/START/HELP
//! keywords) and the `X-Twilio-Signature` that authenticates both, and the TwiML we answer with.
//!
//! Twilio has no idempotency key on create: a timed-out send may have gone out, so the outbox
//! must reconcile before resending.

use super::http::{self, Reply};
use super::{DeliveryEvent, DeliveryStatus, Endpoints, Receipt, SendError, SmsMessage};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// A Twilio account's client, holding its Account SID and Auth Token.
#[derive(Clone)]
pub struct Twilio {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: SecretString,
}

impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twilio")
            .field("base", &self.base)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

/// The form fields of a send: `To`, then `MessagingServiceSid` when `from` is a Messaging
/// Service (`MG…`) or `From` otherwise, `Body`, and `StatusCallback` when given.
pub fn form_fields(message: &SmsMessage) -> Vec<(&'static str, &str)> {
    let from = message.from.trim();
    let sender = if from.starts_with("MG") {
        "MessagingServiceSid"
    } else {
        "From"
    };
    let mut fields = vec![
        ("To", message.to.trim()),
        (sender, from),
        ("Body", message.body.as_str()),
    ];
    if let Some(callback) = message.status_callback.as_deref().filter(|c| !c.is_empty()) {
        fields.push(("StatusCallback", callback));
    }
    fields
}

/// Sorts a Twilio error (`{"code":21211,"message":…,"status":400}`): 21610 (the recipient
/// replied STOP) is [`SendError::OptedOut`], 20003 credentials, 20429 transient; otherwise the
/// HTTP status decides (401/403 credentials, 429 and 5xx transient, other 4xx rejected).
fn refusal(reply: &Reply, what: &str) -> SendError {
    let v = reply.json();
    let code = v
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_u64);
    let text = v
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let detail = match (text, code) {
        (Some(text), Some(code)) => Some(format!("{text} (Twilio error {code})")),
        (Some(text), None) => Some(text.to_owned()),
        (None, Some(code)) => Some(format!("Twilio error {code}")),
        (None, None) => None,
    };
    match code {
        Some(21610) => SendError::OptedOut {
            message: format!(
                "{what}: the recipient replied STOP ({})",
                detail.unwrap_or_default()
            ),
        },
        Some(20003) => SendError::Unauthorized {
            message: format!("{what}: {}", detail.unwrap_or_default()),
        },
        Some(20429) => SendError::Transient {
            message: format!("{what}: {}", detail.unwrap_or_default()),
            retry_after: reply.retry_after(),
        },
        _ => reply.refusal(what, detail),
    }
}

impl Twilio {
    /// A client for the account `account_sid` (`AC…`), authenticated with its Auth Token.
    pub fn new(endpoints: &Endpoints, account_sid: &str, auth_token: &str) -> Self {
        Self {
            http: http::client(endpoints.timeout),
            base: super::trim_base(&endpoints.twilio),
            account_sid: account_sid.trim().to_owned(),
            auth_token: SecretString::from(auth_token.trim().to_owned()),
        }
    }

    /// The account's URL prefix; an SID that is not plain letters and digits never reaches a
    /// URL path.
    fn account_url(&self, what: &str) -> Result<String, SendError> {
        if self.account_sid.is_empty()
            || !self.account_sid.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(SendError::Unauthorized {
                message: format!("{what}: the Account SID is not a Twilio SID"),
            });
        }
        Ok(format!(
            "{}/2010-04-01/Accounts/{}",
            self.base, self.account_sid
        ))
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
    }

    /// Sends one text. Twilio answers 201 with the message, whose `sid` (`SM…`) its status
    /// callbacks quote.
    ///
    /// # Errors
    /// As [`refusal`] sorts Twilio's answers; [`SendError::OptedOut`] when the recipient had
    /// replied STOP.
    pub async fn send(&self, message: &SmsMessage) -> Result<Receipt, SendError> {
        let what = "Twilio did not accept the text";
        let url = format!("{}/Messages.json", self.account_url(what)?);
        let body =
            serde_urlencoded::to_string(form_fields(message)).map_err(|_| SendError::Rejected {
                message: format!("{what}: the message cannot be form-encoded"),
            })?;
        let request = self
            .authorized(self.http.post(url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(refusal(&reply, what));
        }
        let sid = reply.json().and_then(|v| {
            v.get("sid")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        });
        Ok(Receipt {
            provider_message_id: sid,
        })
    }

    /// Test connection: `GET /2010-04-01/Accounts/{sid}.json` reads the account and sends
    /// nothing. An account whose `status` is not `active` (suspended, closed) cannot send.
    ///
    /// # Errors
    /// [`SendError::Unauthorized`] for refused credentials; [`SendError::Rejected`] for an
    /// inactive account.
    pub async fn check(&self) -> Result<String, SendError> {
        let what = "Twilio refused the credentials";
        let url = format!("{}.json", self.account_url(what)?);
        let request = self
            .authorized(self.http.get(url))
            .header("accept", "application/json");
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(refusal(&reply, what));
        }
        let account = reply.json();
        let field = |key: &str| {
            account
                .as_ref()
                .and_then(|v| v.get(key))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        if let Some(status) = field("status").filter(|s| s != "active") {
            return Err(SendError::Rejected {
                message: format!("Twilio accepted the credentials, but the account is {status}"),
            });
        }
        Ok(match field("friendly_name") {
            Some(name) => format!("Twilio accepted the credentials for {name}"),
            None => "Twilio accepted the credentials".to_owned(),
        })
    }
}

/// The `X-Twilio-Signature` of a form post: base64(HMAC-SHA1(Auth Token, the full URL Twilio
/// called, exactly as configured + every POST parameter sorted by name as `name + value`)).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    super::url_form_signature(auth_token, url, params)
}

/// Whether `header_b64` is the [`signature`] of this post, compared in constant time.
pub fn verify_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header_b64: &str,
) -> bool {
    super::url_form_signature_is_valid(auth_token, url, params, header_b64)
}

/// What a delivery error code means, for the codes integrations.md 7.3 names.
fn error_meaning(code: &str) -> Option<&'static str> {
    Some(match code {
        "30003" => "unreachable handset",
        "30005" => "unknown number",
        "30006" => "landline or unreachable carrier",
        "30007" => "filtered by the carrier",
        "30008" => "unknown error",
        _ => return None,
    })
}

/// The delivery event in a status callback: `delivered` → Delivered, `undelivered`/`failed` →
/// Failed with the `ErrorCode` in the detail; every other status (`queued`, `sent`, …) is `None`.
/// Twilio gives the callback no time; `event_id` is `<MessageSid>:<status>`, the documented
/// dedupe key.
pub fn parse_status(params: &[(String, String)]) -> Option<DeliveryEvent> {
    let field = |name: &str| {
        super::param(params, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let sid = field("MessageSid").or_else(|| field("SmsSid"))?;
    let status_text = field("MessageStatus").or_else(|| field("SmsStatus"))?;
    let (status, detail) = match status_text {
        "delivered" => (DeliveryStatus::Delivered, None),
        "undelivered" | "failed" => (
            DeliveryStatus::Failed,
            field("ErrorCode").map(|code| match error_meaning(code) {
                Some(meaning) => format!("Twilio error {code}: {meaning}"),
                None => format!("Twilio error {code}"),
            }),
        ),
        _ => return None,
    };
    Some(DeliveryEvent {
        provider_message_id: sid.to_owned(),
        status,
        at: None,
        detail,
        event_id: Some(format!("{sid}:{status_text}")),
    })
}

/// A text someone sent to one of our numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound {
    pub message_sid: String,
    /// Their number (E.164).
    pub from: String,
    /// Our number.
    pub to: String,
    /// What they wrote (empty for a picture-only message).
    pub body: String,
}

/// The inbound message in a post, or `None` when it is not one (a status callback carries no
/// `Body`) or lacks `MessageSid`, `From` or `To`.
pub fn parse_inbound(params: &[(String, String)]) -> Option<Inbound> {
    let field = |name: &str| {
        super::param(params, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Some(Inbound {
        message_sid: field("MessageSid").or_else(|| field("SmsSid"))?,
        from: field("From")?,
        to: field("To")?,
        body: super::param(params, "Body")?.to_owned(),
    })
}

/// The opt-out keywords carriers and Twilio recognise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    /// STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT: opt out.
    Stop,
    /// START, YES, UNSTOP: opt back in.
    Start,
    /// HELP, INFO.
    Help,
}

/// The keyword a message is, when the whole message (trimmed, any case) is one.
pub fn keyword(body: &str) -> Option<Keyword> {
    match body.trim().to_uppercase().as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => Some(Keyword::Stop),
        "START" | "YES" | "UNSTOP" => Some(Keyword::Start),
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}

/// `text` escaped for XML character data and attribute values.
fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// TwiML that replies to an inbound text with `text` (sent as `text/xml`).
pub fn twiml_message(text: &str) -> String {
    format!(
        "<Response><Message>{}</Message></Response>",
        xml_escape(text)
    )
}

/// TwiML that sends no reply.
pub fn twiml_empty() -> &'static str {
    "<Response/>"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sms(from: &str, callback: Option<&str>) -> SmsMessage {
        SmsMessage {
            id: uuid::Uuid::nil(),
            to: "+15551234567".to_owned(),
            from: from.to_owned(),
            body: "Hi".to_owned(),
            status_callback: callback.map(str::to_owned),
            category: "c".to_owned(),
            properties: Value::Null,
        }
    }

    #[test]
    fn a_messaging_service_sid_is_sent_instead_of_from() {
        assert_eq!(
            form_fields(&sms("MG123", None)),
            vec![
                ("To", "+15551234567"),
                ("MessagingServiceSid", "MG123"),
                ("Body", "Hi")
            ]
        );
        assert_eq!(
            form_fields(&sms("+15005550006", Some("https://x/cb"))),
            vec![
                ("To", "+15551234567"),
                ("From", "+15005550006"),
                ("Body", "Hi"),
                ("StatusCallback", "https://x/cb")
            ]
        );
    }

    #[test]
    fn the_debug_output_hides_the_token() {
        let client = Twilio::new(&Endpoints::production(), "AC1", "tok-secret");
        assert!(!format!("{client:?}").contains("tok-secret"));
    }

    #[test]
    fn xml_special_characters_are_escaped() {
        assert_eq!(
            xml_escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
    }
}
