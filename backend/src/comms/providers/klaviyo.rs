//! The Klaviyo client (integrations.md section 4). Klaviyo has no "send this message now"
//! endpoint: we post an event (`POST /api/events`) whose metric, `Vinculum.<Category>`, triggers
//! a flow the winery builds in Klaviyo, and that **flow does the real sending**, by e-mail or SMS.
//! The event carries the rendered subject, HTML and text (or SMS body) and every template
//! variable as properties, plus `channel` (`email` or `sms`) so one metric's flow can branch.
//!
//! Klaviyo returns no message id and reports no deliveries to us, so a [`Receipt`] from here has
//! no `provider_message_id`; the event's `unique_id` is our log row id (`<id>:sms` for the SMS
//! event), which is how to find the event in Klaviyo, and no delivery callback can match it.

use super::http::{self, Reply};
use super::{EmailMessage, Endpoints, Receipt, SendError, SmsMessage};
use chrono::{SecondsFormat, Utc};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

/// The JSON:API media type Klaviyo documents for requests and answers.
const JSON_API: &str = "application/vnd.api+json";

/// A Klaviyo account's client, holding its private API key (`pk_…`, which needs `events:write`,
/// and `accounts:read` for [`Klaviyo::check`]).
#[derive(Clone)]
pub struct Klaviyo {
    http: reqwest::Client,
    base: String,
    revision: String,
    private_key: SecretString,
}

impl std::fmt::Debug for Klaviyo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Klaviyo")
            .field("base", &self.base)
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

/// The metric a message type posts: `Vinculum.` and the category in CamelCase
/// (`expiration_warning` → `Vinculum.ExpirationWarning`).
pub fn metric_name(category: &str) -> String {
    let camel: String = category
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    if camel.is_empty() {
        "Vinculum.Message".to_owned()
    } else {
        format!("Vinculum.{camel}")
    }
}

/// Klaviyo's error body: `{"errors":[{"detail":…,"title":…}]}`; the first detail (or title).
fn describe(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let first = v.get("errors")?.as_array()?.first()?;
    first
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| first.get("title").and_then(Value::as_str))
        .map(str::to_owned)
}

/// The message properties as an object: an object as is, `null` as nothing, anything else under
/// `properties`.
fn properties_of(properties: &Value) -> Map<String, Value> {
    match properties {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => Map::from_iter([("properties".to_owned(), other.clone())]),
    }
}

/// The profile's attributes: the address (`email` or `phone_number`) and `first_name` /
/// `last_name` when the properties hold them as text.
fn profile(address_key: &str, address: &str, properties: &Map<String, Value>) -> Value {
    let mut attributes = Map::from_iter([(address_key.to_owned(), json!(address))]);
    for name in ["first_name", "last_name"] {
        if let Some(value) = properties
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.trim().is_empty())
        {
            attributes.insert(name.to_owned(), json!(value));
        }
    }
    json!({ "data": { "type": "profile", "attributes": attributes } })
}

fn event_body(
    category: &str,
    profile: Value,
    properties: Map<String, Value>,
    unique_id: &str,
) -> Value {
    json!({
        "data": {
            "type": "event",
            "attributes": {
                "metric": { "data": { "type": "metric", "attributes": { "name": metric_name(category) } } },
                "profile": profile,
                "properties": properties,
                "time": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
                "unique_id": unique_id,
            }
        }
    })
}

/// The create-event body for an e-mail: properties plus `subject`, `html`, `text` and
/// `channel: "email"`; `unique_id` is the message id. Klaviyo caps a property at 100 kB
/// (integrations.md 4.3); a larger HTML body is refused with a 400.
pub fn email_event(message: &EmailMessage) -> Value {
    let mut properties = properties_of(&message.properties);
    properties.insert("subject".to_owned(), json!(message.subject));
    properties.insert("html".to_owned(), json!(message.html));
    properties.insert("text".to_owned(), json!(message.text));
    properties.insert("channel".to_owned(), json!("email"));
    let profile = profile("email", &message.to, &properties);
    event_body(
        &message.category,
        profile,
        properties,
        &message.id.to_string(),
    )
}

/// The create-event body for a text message: properties plus `body` and `channel: "sms"`;
/// `unique_id` is `<message id>:sms`.
pub fn sms_event(message: &SmsMessage) -> Value {
    let mut properties = properties_of(&message.properties);
    properties.insert("body".to_owned(), json!(message.body));
    properties.insert("channel".to_owned(), json!("sms"));
    let profile = profile("phone_number", &message.to, &properties);
    event_body(
        &message.category,
        profile,
        properties,
        &format!("{}:sms", message.id),
    )
}

impl Klaviyo {
    /// A client for the account behind `private_key`, pinned to `endpoints.klaviyo_revision`.
    pub fn new(endpoints: &Endpoints, private_key: &str) -> Self {
        Self {
            http: http::client(endpoints.timeout),
            base: super::trim_base(&endpoints.klaviyo),
            revision: endpoints.klaviyo_revision.clone(),
            private_key: SecretString::from(private_key.trim().to_owned()),
        }
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        // Marked sensitive so no debug output of the request shows the key. A key that cannot
        // be a header value is left out, and Klaviyo's 401 says the key is wrong.
        let key = HeaderValue::from_str(&format!(
            "Klaviyo-API-Key {}",
            self.private_key.expose_secret()
        ));
        let request = match key {
            Ok(mut value) => {
                value.set_sensitive(true);
                request.header(AUTHORIZATION, value)
            }
            Err(_) => request,
        };
        request
            .header("revision", &self.revision)
            .header("accept", JSON_API)
    }

    fn refusal(reply: &Reply, what: &str) -> SendError {
        reply.refusal(what, describe(&reply.body))
    }

    async fn post_event(&self, body: &Value, what: &str) -> Result<Receipt, SendError> {
        let request = self
            .authorized(self.http.post(format!("{}/api/events", self.base)))
            .header("content-type", JSON_API)
            .body(body.to_string());
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(Self::refusal(&reply, what));
        }
        Ok(Receipt::default())
    }

    /// Creates or updates the member's profile (`POST /api/profile-import`, an upsert by e-mail):
    /// the name and the properties given, such as `vinculum_stage` and `vinculum_expires_at`, so
    /// the winery's Klaviyo segments follow the club.
    ///
    /// # Errors
    /// As [`Klaviyo::send_email`].
    pub async fn upsert_profile(
        &self,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        properties: &Value,
    ) -> Result<(), SendError> {
        let what = "Klaviyo did not accept the profile";
        let mut attributes = Map::new();
        attributes.insert("email".to_owned(), json!(email));
        if let Some(first) = first_name.filter(|n| !n.is_empty()) {
            attributes.insert("first_name".to_owned(), json!(first));
        }
        if let Some(last) = last_name.filter(|n| !n.is_empty()) {
            attributes.insert("last_name".to_owned(), json!(last));
        }
        attributes.insert("properties".to_owned(), properties.clone());
        let body = json!({ "data": { "type": "profile", "attributes": attributes } });
        let request = self
            .authorized(self.http.post(format!("{}/api/profile-import", self.base)))
            .header("content-type", JSON_API)
            .body(body.to_string());
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(Self::refusal(&reply, what));
        }
        Ok(())
    }

    /// Posts the e-mail's event; a Klaviyo flow sends it. Klaviyo answers 202 with no id.
    ///
    /// # Errors
    /// 429 (with `Retry-After`) and 5xx are transient, 401/403 credentials, other 4xx
    /// rejections with Klaviyo's `errors[0].detail`.
    pub async fn send_email(&self, message: &EmailMessage) -> Result<Receipt, SendError> {
        self.post_event(
            &email_event(message),
            "Klaviyo did not accept the e-mail event",
        )
        .await
    }

    /// Posts the text message's event; a Klaviyo flow sends it.
    ///
    /// # Errors
    /// As [`Klaviyo::send_email`].
    pub async fn send_sms(&self, message: &SmsMessage) -> Result<Receipt, SendError> {
        self.post_event(&sms_event(message), "Klaviyo did not accept the SMS event")
            .await
    }

    /// Test connection: `GET /api/accounts` **[mem]** reads the account and sends nothing. It
    /// needs the `accounts:read` scope, which sending does not; a key with only `events:write`
    /// fails this check yet could send.
    ///
    /// # Errors
    /// [`SendError::Unauthorized`] for a refused key.
    pub async fn check(&self) -> Result<String, SendError> {
        let what = "Klaviyo refused the key";
        let request = self.authorized(self.http.get(format!("{}/api/accounts", self.base)));
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(Self::refusal(&reply, what));
        }
        let organization = reply.json().and_then(|v| {
            v.pointer("/data/0/attributes/contact_information/organization_name")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
        });
        Ok(match organization {
            Some(name) => format!("Klaviyo accepted the key for {name}"),
            None => "Klaviyo accepted the key".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_becomes_a_camel_case_metric_name() {
        assert_eq!(
            metric_name("expiration_warning"),
            "Vinculum.ExpirationWarning"
        );
        assert_eq!(metric_name("club-signup"), "Vinculum.ClubSignup");
        assert_eq!(metric_name("TierUpgrade"), "Vinculum.TierUpgrade");
        assert_eq!(metric_name("__"), "Vinculum.Message");
    }

    #[test]
    fn non_object_properties_are_kept_under_a_key() {
        assert_eq!(properties_of(&Value::Null), Map::new());
        assert_eq!(
            properties_of(&json!([1, 2])),
            Map::from_iter([("properties".to_owned(), json!([1, 2]))])
        );
    }

    #[test]
    fn the_debug_output_hides_the_key() {
        let client = Klaviyo::new(&Endpoints::production(), "pk_secret_key");
        assert!(!format!("{client:?}").contains("pk_secret_key"));
    }
}
