//! The messaging providers (integrations.md sections 3, 4, 6, 7 and 8): e-mail through SendGrid,
//! Mailchimp Transactional (Mandrill) or Klaviyo, SMS through Twilio, Klaviyo or a plain JSON
//! "SMS gateway" webhook; the signatures that authenticate their callbacks, and the delivery events
//! those callbacks carry.
//!
//! A client sends one message and says how it went; it never retries, never sleeps and never logs
//! a secret (the outbox worker retries, using [`SendError::is_retryable`] and `retry_after`).
//! Every base URL comes from [`Endpoints`], so tests point the clients at wiremock.

pub mod gateway;
mod http;
pub mod klaviyo;
pub mod mandrill;
pub mod sendgrid;
pub mod twilio;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use std::time::Duration;

/// Where each provider's API lives, and how long any one request may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub sendgrid: String,
    /// Mailchimp Transactional, including the `/api/1.0` prefix.
    pub mandrill: String,
    pub klaviyo: String,
    pub twilio: String,
    /// The Klaviyo API revision sent in the `revision` header (`YYYY-MM-DD`).
    pub klaviyo_revision: String,
    pub timeout: Duration,
}

impl Endpoints {
    /// The providers' production APIs, with a 20 s timeout.
    pub fn production() -> Self {
        Self {
            sendgrid: "https://api.sendgrid.com".to_owned(),
            mandrill: "https://mandrillapp.com/api/1.0".to_owned(),
            klaviyo: "https://a.klaviyo.com".to_owned(),
            twilio: "https://api.twilio.com".to_owned(),
            klaviyo_revision: "2025-10-15".to_owned(),
            timeout: Duration::from_secs(20),
        }
    }
}

/// A base URL without its trailing slashes, so `format!("{base}/path")` never doubles one.
pub(crate) fn trim_base(base: &str) -> String {
    base.trim().trim_end_matches('/').to_owned()
}

/// One e-mail to one recipient, fully rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailMessage {
    /// Our log row's id; providers echo it back (SendGrid `custom_args`, Mandrill `metadata`,
    /// Klaviyo `unique_id`).
    pub id: uuid::Uuid,
    pub to: String,
    pub to_name: Option<String>,
    pub from_address: String,
    pub from_name: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Extra headers, such as `List-Unsubscribe` and `List-Unsubscribe-Post`.
    pub headers: Vec<(String, String)>,
    /// The message type (`expiration_warning`); a SendGrid category, a Mandrill tag, a Klaviyo
    /// metric name.
    pub category: String,
    /// The template variables; Klaviyo sends them as event properties.
    pub properties: serde_json::Value,
}

/// One text message to one phone.
#[derive(Clone, Debug, PartialEq)]
pub struct SmsMessage {
    /// Our log row's id.
    pub id: uuid::Uuid,
    /// E.164 (`+15551234567`).
    pub to: String,
    /// Our number, or a Twilio Messaging Service SID (`MG…`).
    pub from: String,
    pub body: String,
    /// Where Twilio should report delivery.
    pub status_callback: Option<String>,
    pub category: String,
    pub properties: serde_json::Value,
}

/// What a provider said when it accepted a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    /// The provider's id for the message, which its delivery callbacks quote; `None` when the
    /// provider gives none (Klaviyo).
    pub provider_message_id: Option<String>,
}

/// Why a message was not sent, sorted by what the caller should do about it. The message is
/// fit to show an administrator: it never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: the network, a timeout, 429, a 5xx. A timed-out send may have
    /// gone out anyway.
    #[error("{message}")]
    Transient {
        message: String,
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The provider refused this message; sending it again will fail again.
    #[error("{message}")]
    Rejected { message: String },
    /// The provider refused our credentials (or they lack a permission).
    #[error("{message}")]
    Unauthorized { message: String },
    /// The recipient opted out at the provider (Twilio 21610: they replied STOP; Mandrill
    /// `unsub`). Record the opt-out; never retry.
    #[error("{message}")]
    OptedOut { message: String },
    /// The request went out but no answer came in time: the provider may have sent the message.
    /// Sends have no idempotency key (integrations.md 0.5), so it is not tried again.
    #[error("{message}")]
    Unanswered { message: String },
    /// The provider cannot do what was asked.
    #[error("{message}")]
    Unsupported { message: String },
}

impl SendError {
    /// Whether sending the same message later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The sentence describing the failure.
    pub fn message(&self) -> &str {
        match self {
            Self::Transient { message, .. }
            | Self::Rejected { message }
            | Self::Unauthorized { message }
            | Self::OptedOut { message }
            | Self::Unanswered { message }
            | Self::Unsupported { message } => message,
        }
    }

    pub(crate) fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The configured e-mail provider.
#[derive(Clone, Debug)]
pub enum EmailProvider {
    SendGrid(sendgrid::SendGrid),
    /// Mailchimp Transactional.
    Mandrill(mandrill::Mandrill),
    /// Posts an event; a Klaviyo flow does the sending.
    Klaviyo(klaviyo::Klaviyo),
}

impl EmailProvider {
    /// Hands one e-mail to the provider.
    ///
    /// # Errors
    /// A [`SendError`] saying whether trying again may help.
    pub async fn send(&self, message: &EmailMessage) -> Result<Receipt, SendError> {
        match self {
            Self::SendGrid(p) => p.send(message).await,
            Self::Mandrill(p) => p.send(message).await,
            Self::Klaviyo(p) => p.send_email(message).await,
        }
    }

    /// "Test connection": one authenticated call that sends nothing. `Ok` holds a sentence for
    /// the administrator.
    ///
    /// # Errors
    /// Usually [`SendError::Unauthorized`]; [`SendError::Transient`] when the provider could not
    /// be reached.
    pub async fn check(&self) -> Result<String, SendError> {
        match self {
            Self::SendGrid(p) => p.check().await,
            Self::Mandrill(p) => p.check().await,
            Self::Klaviyo(p) => p.check().await,
        }
    }

    /// The provider's name in settings: `sendgrid`, `mailchimp` or `klaviyo`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SendGrid(_) => "sendgrid",
            Self::Mandrill(_) => "mailchimp",
            Self::Klaviyo(_) => "klaviyo",
        }
    }
}

/// The configured SMS provider.
#[derive(Clone, Debug)]
pub enum SmsProvider {
    Twilio(twilio::Twilio),
    /// Posts an event; a Klaviyo flow does the sending.
    Klaviyo(klaviyo::Klaviyo),
    /// A JSON webhook (RedChirp or any gateway that takes JSON).
    Gateway(gateway::Gateway),
}

impl SmsProvider {
    /// Hands one text message to the provider.
    ///
    /// # Errors
    /// A [`SendError`] saying whether trying again may help; [`SendError::OptedOut`] when the
    /// recipient replied STOP.
    pub async fn send(&self, message: &SmsMessage) -> Result<Receipt, SendError> {
        match self {
            Self::Twilio(p) => p.send(message).await,
            Self::Klaviyo(p) => p.send_sms(message).await,
            Self::Gateway(p) => p.send(message).await,
        }
    }

    /// "Test connection": one authenticated call that sends nothing (the gateway cannot be
    /// checked without sending; see [`gateway::Gateway::check`]).
    ///
    /// # Errors
    /// As [`EmailProvider::check`].
    pub async fn check(&self) -> Result<String, SendError> {
        match self {
            Self::Twilio(p) => p.check().await,
            Self::Klaviyo(p) => p.check().await,
            Self::Gateway(p) => p.check().await,
        }
    }

    /// The provider's name in settings: `twilio`, `klaviyo` or `sms_gateway`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Twilio(_) => "twilio",
            Self::Klaviyo(_) => "klaviyo",
            Self::Gateway(_) => "sms_gateway",
        }
    }
}

/// What a provider reported about a message after accepting it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Delivered,
    Bounced,
    Opened,
    Clicked,
    Failed,
    /// The recipient marked it as spam.
    Complained,
    Unsubscribed,
}

impl DeliveryStatus {
    /// The lower-case word stored in the log (`delivered`, `bounced`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Bounced => "bounced",
            Self::Opened => "opened",
            Self::Clicked => "clicked",
            Self::Failed => "failed",
            Self::Complained => "complained",
            Self::Unsubscribed => "unsubscribed",
        }
    }
}

/// One delivery report from a provider's callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// The id the provider returned when it accepted the message ([`Receipt`]).
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    /// When it happened, when the provider says.
    pub at: Option<DateTime<Utc>>,
    /// The provider's reason (a bounce reason, an error code, a clicked URL).
    pub detail: Option<String>,
    /// A key that is the same when the provider delivers the same callback twice, for dedupe.
    pub event_id: Option<String>,
}

/// HMAC-SHA1 keyed with `key` over `url` + every parameter sorted by name (then value) as
/// `name + value`, without separators: how Twilio and Mandrill sign the form posts they send us.
fn url_form_mac(key: &str, url: &str, params: &[(String, String)]) -> Hmac<sha1::Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key.as_bytes())
        .expect("BUG: HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The base64 signature of a form post (see [`url_form_mac`]), as the header carries it.
pub(crate) fn url_form_signature(key: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(url_form_mac(key, url, params).finalize().into_bytes())
}

/// Whether `header_b64` signs this form post (see [`url_form_mac`]), compared in constant time.
/// A header that is not base64 fails.
pub(crate) fn url_form_signature_is_valid(
    key: &str,
    url: &str,
    params: &[(String, String)],
    header_b64: &str,
) -> bool {
    let Ok(given) = STANDARD.decode(header_b64.trim()) else {
        return false;
    };
    url_form_mac(key, url, params).verify_slice(&given).is_ok()
}

/// The value of the first parameter with this name.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_worth_retrying() {
        assert!(SendError::transient("timed out").is_retryable());
        for error in [
            SendError::Rejected {
                message: "bad".into(),
            },
            SendError::Unauthorized {
                message: "key".into(),
            },
            SendError::OptedOut {
                message: "stop".into(),
            },
            SendError::Unsupported {
                message: "no".into(),
            },
        ] {
            assert!(!error.is_retryable(), "{error:?}");
        }
    }

    #[test]
    fn every_send_error_shows_its_message() {
        let error = SendError::OptedOut {
            message: "the recipient replied STOP".into(),
        };
        assert_eq!(error.message(), "the recipient replied STOP");
        assert_eq!(error.to_string(), "the recipient replied STOP");
    }

    #[test]
    fn production_endpoints_are_the_documented_hosts() {
        let endpoints = Endpoints::production();
        assert_eq!(endpoints.sendgrid, "https://api.sendgrid.com");
        assert_eq!(endpoints.mandrill, "https://mandrillapp.com/api/1.0");
        assert_eq!(endpoints.klaviyo, "https://a.klaviyo.com");
        assert_eq!(endpoints.twilio, "https://api.twilio.com");
        assert_eq!(endpoints.klaviyo_revision, "2025-10-15");
        assert_eq!(endpoints.timeout, Duration::from_secs(20));
    }

    #[test]
    fn a_base_url_loses_its_trailing_slashes() {
        assert_eq!(
            trim_base("https://api.sendgrid.com/"),
            "https://api.sendgrid.com"
        );
        assert_eq!(trim_base("http://127.0.0.1:1//"), "http://127.0.0.1:1");
    }
}
