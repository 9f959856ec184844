//! Sending one HTTP request to a messaging provider and sorting a refusal into a [`SendError`]:
//! the network and timeouts, 429 and 5xx are transient; 401 and 403 are credentials; any other
//! 4xx is a rejection. Nothing is retried here: the outbox worker owns retries.

use super::SendError;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// The longest provider error text we carry into a [`SendError`] (a gateway may answer with a
/// whole HTML page).
const MAX_DETAIL_CHARS: usize = 300;

/// A client with the configured timeout.
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("BUG: the HTTP client builds (its TLS backend initialises)")
}

/// A response as it arrived, whatever its status.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A header's value, when it is present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)?
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// `Retry-After` in seconds (the HTTP-date form is treated as absent).
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")?
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }

    /// The refusal this non-2xx answer stands for, by status alone: 429 and 5xx are transient
    /// (with `Retry-After` when given), 401 and 403 are credentials, the rest a rejection.
    /// `detail` is the provider's own words, when its error body had any.
    pub fn refusal(&self, what: &str, detail: Option<String>) -> SendError {
        let detail = detail
            .map(|d| shorten(&d))
            .unwrap_or_else(|| format!("HTTP {}", self.status.as_u16()));
        let message = format!("{what}: {detail}");
        match self.status {
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                SendError::Transient {
                    message,
                    retry_after: self.retry_after(),
                }
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SendError::Unauthorized { message },
            _ => SendError::Rejected { message },
        }
    }
}

/// Cuts a provider's text to [`MAX_DETAIL_CHARS`] characters.
pub(crate) fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Sends the request and reads the whole answer. Only the network can fail here: a refused
/// connection is [`SendError::Transient`] (nothing was sent); a timeout or a cut-off answer is
/// [`SendError::Unanswered`] (the message may have gone out). The error never carries
/// reqwest's own text, which can quote the URL (and with it a secret some gateways put there).
///
pub(crate) async fn fetch(request: RequestBuilder, what: &str) -> Result<Reply, SendError> {
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            return SendError::Unanswered {
                message: format!(
                    "{what}: the request timed out, so the message may have been sent; it is not sent again"
                ),
            };
        }
        let why = if e.is_connect() {
            "could not connect"
        } else if e.is_builder() {
            "the request could not be built"
        } else {
            "the request failed on the network"
        };
        SendError::transient(format!("{what}: {why}"))
    })?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.map_err(|_| SendError::Unanswered {
        message: format!(
            "{what}: the answer was cut off, so the message may have been sent; it is not sent again"
        ),
    })?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&'static str, &'static str)]) -> Reply {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().expect("a header value"));
        }
        Reply {
            status: StatusCode::from_u16(status).expect("a status"),
            headers: map,
            body: String::new(),
        }
    }

    #[test]
    fn a_refusal_is_sorted_by_its_status() {
        assert_eq!(
            reply(429, &[("retry-after", "7")]).refusal("x", None),
            SendError::Transient {
                message: "x: HTTP 429".to_owned(),
                retry_after: Some(Duration::from_secs(7)),
            }
        );
        assert!(reply(503, &[]).refusal("x", None).is_retryable());
        assert!(matches!(
            reply(401, &[]).refusal("x", None),
            SendError::Unauthorized { .. }
        ));
        assert!(matches!(
            reply(403, &[]).refusal("x", None),
            SendError::Unauthorized { .. }
        ));
        assert_eq!(
            reply(400, &[]).refusal("x", Some("bad field".to_owned())),
            SendError::Rejected {
                message: "x: bad field".to_owned()
            }
        );
    }

    #[test]
    fn a_long_provider_text_is_shortened_on_a_character_boundary() {
        let long = "é".repeat(MAX_DETAIL_CHARS + 10);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("  fine  "), "fine");
    }
}
