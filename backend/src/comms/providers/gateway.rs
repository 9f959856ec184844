//! The "SMS gateway webhook" provider: a plain JSON `POST` to a URL the winery configures, with
//! an optional auth header and a body template, for RedChirp or any gateway whose API takes JSON.
//!
//! RedChirp publishes no API documentation (integrations.md section 8: no endpoint, auth scheme,
//! webhook format or rate limit was found), so nothing here is RedChirp-specific: the winery gets
//! the URL, header and body shape from their gateway and writes them into the settings.
//!
//! The template is JSON with placeholders `{{to}}`, `{{from}}`, `{{body}}` and `{{message_id}}`,
//! each replaced by its value JSON-string-escaped *without* the surrounding quotes, which the
//! template writes: `{"to":"{{to}}","text":"{{body}}"}`.

use super::http;
use super::{Receipt, SendError, SmsMessage};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::time::Duration;

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 4] = ["to", "from", "body", "message_id"];

/// The values a template is tried with before it is accepted: quotes, a backslash, a newline,
/// a tab, a control character and non-ASCII text, so a placeholder outside a JSON string fails.
const SAMPLE: Sample<'static> = Sample {
    to: "+15551234567",
    from: "+15005550006",
    body: "Your \"Gold\" pickup\\ is ready.\nReply STOP to opt out.\t\u{1} Santé 🍷",
    message_id: "00000000-0000-0000-0000-000000000000",
};

/// The values that fill a template.
#[derive(Clone, Copy, Debug)]
pub struct Sample<'a> {
    pub to: &'a str,
    pub from: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
}

/// A gateway's client: where to post, how to authenticate, and the body template.
#[derive(Clone)]
pub struct Gateway {
    http: reqwest::Client,
    url: String,
    auth: Option<(HeaderName, SecretString)>,
    template: String,
}

impl std::fmt::Debug for Gateway {
    /// Shows the URL without its query (some gateways put their key there) and the auth header's
    /// name only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = url::Url::parse(&self.url).map_or_else(
            |_| "<invalid>".to_owned(),
            |u| {
                let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                format!(
                    "{}://{}{port}{}",
                    u.scheme(),
                    u.host_str().unwrap_or(""),
                    u.path()
                )
            },
        );
        f.debug_struct("Gateway")
            .field("url", &shown)
            .field(
                "auth_header",
                &self.auth.as_ref().map(|(name, _)| name.as_str()),
            )
            .finish_non_exhaustive()
    }
}

/// `value` as the inside of a JSON string: escaped, without the quotes.
fn json_string_inner(value: &str) -> String {
    let quoted = Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// The template with every placeholder filled (one pass, so a value that itself contains
/// `{{to}}` stays as written). Spaces inside the braces are allowed (`{{ body }}`).
///
/// # Errors
/// A placeholder this provider does not know, or `{{` without `}}`.
pub fn render(template: &str, values: &Sample<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + values.body.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "the body template has a {{ without its }}".to_owned())?;
        let value = match after[..end].trim() {
            "to" => values.to,
            "from" => values.from,
            "body" => values.body,
            "message_id" => values.message_id,
            other => {
                return Err(format!(
                    "the body template uses {{{{{other}}}}}; the placeholders are {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{{{p}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        };
        out.push_str(&json_string_inner(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `template` uses `name` as a placeholder.
fn uses(template: &str, name: &str) -> bool {
    template
        .split("{{")
        .skip(1)
        .any(|part| part.split("}}").next().map(str::trim) == Some(name))
}

/// The id in a gateway's answer: top-level `id`, `message_id` or `sid`, as text or a number.
fn id_in(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    ["id", "message_id", "sid"]
        .iter()
        .find_map(|key| match v.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// A gateway's error text: `message`, `error` (text, or an object with `message`) or `detail`.
fn describe(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    text(&v, "message")
        .or_else(|| text(&v, "error"))
        .or_else(|| v.get("error").and_then(|e| text(e, "message")))
        .or_else(|| text(&v, "detail"))
}

impl Gateway {
    /// A gateway client. `auth_header` is a header name and value (`("Authorization", "Bearer
    /// …")`), sent as is; `timeout` is usually
    /// [`Endpoints::timeout`](super::Endpoints::timeout).
    ///
    /// # Errors
    /// A sentence for the settings form: the URL is not an absolute http(s) URL, the header
    /// cannot be an HTTP header, or the template does not render valid JSON with sample values
    /// (or lacks `{{to}}` or `{{body}}`).
    pub fn new(
        url: &str,
        auth_header: Option<(String, String)>,
        body_template: &str,
        timeout: Duration,
    ) -> Result<Gateway, String> {
        let url = url.trim();
        let parsed = url::Url::parse(url)
            .map_err(|_| "the gateway URL is not an absolute URL".to_owned())?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err("the gateway URL must start with http:// or https://".to_owned());
        }
        let auth = match auth_header {
            None => None,
            Some((name, value)) if name.trim().is_empty() && value.trim().is_empty() => None,
            Some((name, value)) => {
                let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                    "the auth header name is not a valid HTTP header name".to_owned()
                })?;
                HeaderValue::from_str(value.trim()).map_err(|_| {
                    "the auth header value cannot be sent in an HTTP header".to_owned()
                })?;
                Some((name, SecretString::from(value.trim().to_owned())))
            }
        };
        validate_template(body_template)?;
        Ok(Gateway {
            http: http::client(timeout),
            url: url.to_owned(),
            auth,
            template: body_template.to_owned(),
        })
    }

    /// Posts the rendered template. Any 2xx is success; the id comes from the answer's `id`,
    /// `message_id` or `sid` when it has one.
    ///
    /// # Errors
    /// 429, 5xx and timeouts are transient, 401/403 credentials, other 4xx rejections.
    pub async fn send(&self, message: &SmsMessage) -> Result<Receipt, SendError> {
        let what = "The SMS gateway did not accept the text";
        let message_id = message.id.to_string();
        let body = render(
            &self.template,
            &Sample {
                to: message.to.trim(),
                from: message.from.trim(),
                body: &message.body,
                message_id: &message_id,
            },
        )
        .map_err(|why| SendError::Rejected {
            message: format!("{what}: {why}"),
        })?;
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body);
        if let Some((name, value)) = &self.auth {
            let mut value = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                SendError::Unauthorized {
                    message: format!("{what}: the auth header value is not a valid header"),
                }
            })?;
            value.set_sensitive(true);
            request = request.header(name.clone(), value);
        }
        let reply = http::fetch(request, what).await?;
        if !reply.status.is_success() {
            return Err(reply.refusal(what, describe(&reply.body)));
        }
        Ok(Receipt {
            provider_message_id: id_in(&reply.body),
        })
    }

    /// A gateway has no call that sends nothing, so there is nothing to test without sending:
    /// this only confirms the settings are complete (which [`Gateway::new`] checked). Sending
    /// yourself a test message is the real check.
    ///
    /// # Errors
    /// None today; the signature matches the other providers'.
    pub async fn check(&self) -> Result<String, SendError> {
        Ok(
            "The SMS gateway settings are complete. The gateway cannot be checked without \
            sending, so send yourself a test message to confirm it works."
                .to_owned(),
        )
    }
}

/// Refuses a template that lacks `{{to}}` or `{{body}}`, uses an unknown placeholder, or does
/// not render valid JSON with the sample values.
fn validate_template(template: &str) -> Result<(), String> {
    for required in ["to", "body"] {
        if !uses(template, required) {
            return Err(format!("the body template must use {{{{{required}}}}}"));
        }
    }
    let rendered = render(template, &SAMPLE)?;
    serde_json::from_str::<Value>(&rendered).map_err(|e| {
        format!(
            "the body template does not give valid JSON (line {}, column {}); placeholders belong \
             inside quotes, like \"{{{{body}}}}\"",
            e.line(),
            e.column()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str =
        r#"{"to":"{{to}}","from":"{{ from }}","text":"{{body}}","ref":"{{message_id}}"}"#;

    #[test]
    fn a_body_with_quotes_and_newlines_stays_valid_json() {
        let rendered = render(
            TEMPLATE,
            &Sample {
                to: "+15551234567",
                from: "+15005550006",
                body: "She said \"hi\"\nthen \\left\r\n\t{{to}} </script>",
                message_id: "m-1",
            },
        )
        .expect("renders");
        let v: Value = serde_json::from_str(&rendered).expect("valid JSON");
        assert_eq!(
            v["text"],
            "She said \"hi\"\nthen \\left\r\n\t{{to}} </script>"
        );
        assert_eq!(v["to"], "+15551234567");
        assert_eq!(v["from"], "+15005550006");
        assert_eq!(v["ref"], "m-1");
    }

    #[test]
    fn templates_that_cannot_give_json_are_refused() {
        let t = Duration::from_secs(1);
        for bad in [
            r#"{"to":{{to}},"text":"{{body}}"}"#,
            r#"{"to":"{{to}}","text":"{{body}}""#,
            r#"{"to":"{{to}}","text":"{{body}}","x":"{{nope}}"}"#,
            r#"{"to":"{{to}}","text":"{{body"}"#,
            r#"{"to":"{{to}}"}"#,
            r#"{"text":"{{body}}"}"#,
        ] {
            assert!(
                Gateway::new("https://sms.example.com/send", None, bad, t).is_err(),
                "{bad}"
            );
        }
        assert!(Gateway::new("https://sms.example.com/send", None, TEMPLATE, t).is_ok());
    }

    #[test]
    fn only_absolute_http_urls_and_valid_headers_are_accepted() {
        let t = Duration::from_secs(1);
        for bad in [
            "",
            "sms.example.com/send",
            "ftp://sms.example.com",
            "/send",
            "mailto:x@y.z",
        ] {
            assert!(Gateway::new(bad, None, TEMPLATE, t).is_err(), "{bad}");
        }
        let bad_header = Some(("Bad Header".to_owned(), "x".to_owned()));
        assert!(Gateway::new("https://sms.example.com", bad_header, TEMPLATE, t).is_err());
        let bad_value = Some(("Authorization".to_owned(), "a\nb".to_owned()));
        assert!(Gateway::new("https://sms.example.com", bad_value, TEMPLATE, t).is_err());
        assert!(Gateway::new("http://127.0.0.1:8080/sms", None, TEMPLATE, t).is_ok());
    }

    #[test]
    fn the_debug_output_hides_the_auth_value_and_the_query() {
        let gateway = Gateway::new(
            "https://sms.example.com/send?api_key=query-secret",
            Some(("X-Api-Key".to_owned(), "header-secret".to_owned())),
            TEMPLATE,
            Duration::from_secs(1),
        )
        .expect("valid settings");
        let shown = format!("{gateway:?}");
        assert!(!shown.contains("query-secret"), "{shown}");
        assert!(!shown.contains("header-secret"), "{shown}");
        assert!(shown.contains("x-api-key"), "{shown}");
    }

    #[test]
    fn the_answer_id_is_read_from_id_message_id_or_sid() {
        assert_eq!(id_in(r#"{"id":"g-1"}"#).as_deref(), Some("g-1"));
        assert_eq!(id_in(r#"{"message_id":42}"#).as_deref(), Some("42"));
        assert_eq!(id_in(r#"{"sid":"SM1","id":""}"#).as_deref(), Some("SM1"));
        assert_eq!(id_in("accepted"), None);
    }
}
