//! Sending one HTTP request to a CRM and sorting the outcome into [`CrmError`]s: retry on the
//! network, timeouts, 429 and 5xx (honouring `Retry-After`); never on other 4xx.

use super::CrmError;
use reqwest::{RequestBuilder, StatusCode};
use std::time::Duration;

/// The body of a response the CRM accepted.
pub(crate) struct Answer {
    pub body: String,
}

impl Answer {
    /// The body as JSON (`null` for an empty body, such as a 204).
    pub fn json(&self) -> Result<serde_json::Value, CrmError> {
        if self.body.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&self.body)
            .map_err(|_| CrmError::transient("the CRM answered with something that is not JSON"))
    }
}

/// `Retry-After` in seconds (the HTTP-date form is treated as absent).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Sends the request. `describe` turns a refused response's body into a sentence (each CRM words
/// its errors differently).
pub(crate) async fn send(
    request: RequestBuilder,
    what: &str,
    describe: fn(&str) -> Option<String>,
) -> Result<Answer, CrmError> {
    let response = request.send().await.map_err(|e| {
        let why = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "failed on the network"
        };
        CrmError::transient(format!("{what}: the request {why}"))
    })?;
    let status = response.status();
    let wait = retry_after(response.headers());
    let body = response
        .text()
        .await
        .map_err(|_| CrmError::transient(format!("{what}: the response was cut off")))?;
    if status.is_success() {
        return Ok(Answer { body });
    }
    let detail = describe(&body).unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    let message = format!("{what}: {detail}");
    Err(match status {
        StatusCode::TOO_MANY_REQUESTS => CrmError::Transient {
            message,
            retry_after: wait,
        },
        s if s.is_server_error() => CrmError::Transient {
            message,
            retry_after: wait,
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => CrmError::Unauthorized { message },
        s => CrmError::Rejected {
            status: Some(s.as_u16()),
            message,
        },
    })
}
