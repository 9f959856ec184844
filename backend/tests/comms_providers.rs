//! Contract tests of the messaging provider clients against wiremock (integrations.md sections 3,
//! 4, 6, 7 and 8): for each provider the exact request a send makes, what each kind of answer
//! (success, 4xx, 429, 5xx, a timeout) becomes, the "test connection" call, and the signatures
//! and callbacks of section 12's vectors.

use backend::comms::providers::gateway::Gateway;
use backend::comms::providers::klaviyo::Klaviyo;
use backend::comms::providers::mandrill::{self, Mandrill};
use backend::comms::providers::sendgrid::{self, SendGrid};
use backend::comms::providers::twilio::{self, Inbound, Keyword, Twilio};
use backend::comms::providers::{
    DeliveryEvent, DeliveryStatus, EmailMessage, EmailProvider, Endpoints, Receipt, SendError,
    SmsMessage, SmsProvider,
};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{
    basic_auth, bearer_token, body_json, body_partial_json, header, method, path,
};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const MESSAGE_ID: &str = "0b8f6a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
const AUTH_TOKEN: &str = "test_auth_token_123";
/// Longer than every client's timeout in these tests (200 ms).
const SLOW: Duration = Duration::from_secs(3);

/// Every provider pointed at the mock server (Mandrill under its `/api/1.0` prefix).
fn endpoints(server: &MockServer, timeout_ms: u64) -> Endpoints {
    Endpoints {
        sendgrid: server.uri(),
        mandrill: format!("{}/api/1.0", server.uri()),
        klaviyo: server.uri(),
        twilio: format!("{}/", server.uri()),
        klaviyo_revision: "2025-10-15".to_owned(),
        timeout: Duration::from_millis(timeout_ms),
    }
}

fn id() -> uuid::Uuid {
    uuid::Uuid::parse_str(MESSAGE_ID).expect("a uuid")
}

fn email() -> EmailMessage {
    EmailMessage {
        id: id(),
        to: "ann@example.com".to_owned(),
        to_name: Some("Ann Lee".to_owned()),
        from_address: "club@winery.com".to_owned(),
        from_name: Some("Winery Club".to_owned()),
        subject: "Your membership expires soon".to_owned(),
        html: "<p>Hi Ann, your Gold membership expires on 1 March.</p>".to_owned(),
        text: "Hi Ann, your Gold membership expires on 1 March.".to_owned(),
        headers: vec![
            (
                "List-Unsubscribe".to_owned(),
                "<https://app.example.com/u/abc>".to_owned(),
            ),
            (
                "List-Unsubscribe-Post".to_owned(),
                "List-Unsubscribe=One-Click".to_owned(),
            ),
        ],
        category: "expiration_warning".to_owned(),
        properties: json!({"first_name": "Ann", "last_name": "Lee", "tier": "Gold"}),
    }
}

fn sms() -> SmsMessage {
    SmsMessage {
        id: id(),
        to: "+15551234567".to_owned(),
        from: "+15005550006".to_owned(),
        body: "Your Gold pickup is ready. Reply STOP to opt out.".to_owned(),
        status_callback: Some(
            "https://app.example.com/webhooks/twilio/status?tenant=t1".to_owned(),
        ),
        category: "pickup_ready".to_owned(),
        properties: json!({"first_name": "Ann", "tier": "Gold"}),
    }
}

fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
    raw.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn is_transient_with(result: &Result<Receipt, SendError>, wait: Option<Duration>) -> bool {
    matches!(result, Err(SendError::Transient { retry_after, .. }) if *retry_after == wait)
}

fn timed_out(result: &Result<Receipt, SendError>) -> bool {
    matches!(result, Err(SendError::Unanswered { message }) if message.contains("may have been sent"))
}

/// A form body (Twilio) with exactly these fields, in any order.
struct FormIs(Vec<(String, String)>);

impl Match for FormIs {
    fn matches(&self, request: &Request) -> bool {
        let Ok(mut got) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
        else {
            return false;
        };
        let mut expected = self.0.clone();
        got.sort();
        expected.sort();
        got == expected
    }
}

// ---------------------------------------------------------------------------------------------
// SendGrid

async fn sendgrid_answer(answer: ResponseTemplate) -> Result<Receipt, SendError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    SendGrid::new(&endpoints(&server, 200), "SG.test")
        .send(&email())
        .await
}

#[tokio::test]
async fn sendgrid_sends_the_exact_documented_request_and_returns_the_message_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(bearer_token("SG.test"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "personalizations": [{
                "to": [{"email": "ann@example.com", "name": "Ann Lee"}],
                "custom_args": {"vinculum_message_id": MESSAGE_ID}
            }],
            "from": {"email": "club@winery.com", "name": "Winery Club"},
            "subject": "Your membership expires soon",
            "content": [
                {"type": "text/plain", "value": "Hi Ann, your Gold membership expires on 1 March."},
                {"type": "text/html", "value": "<p>Hi Ann, your Gold membership expires on 1 March.</p>"}
            ],
            "headers": {
                "List-Unsubscribe": "<https://app.example.com/u/abc>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
            },
            "categories": ["expiration_warning"]
        })))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "abc123"))
        .expect(1)
        .mount(&server)
        .await;
    let provider = EmailProvider::SendGrid(SendGrid::new(&endpoints(&server, 2_000), "SG.test"));
    let receipt = provider.send(&email()).await.expect("sent");
    assert_eq!(receipt.provider_message_id.as_deref(), Some("abc123"));
    assert_eq!(provider.name(), "sendgrid");
}

#[tokio::test]
async fn sendgrid_rejects_a_400_with_its_first_error_message() {
    let result = sendgrid_answer(ResponseTemplate::new(400).set_body_json(json!({
        "errors": [{"message": "The from address does not match a verified Sender Identity.", "field": "from"}]
    })))
    .await;
    match result {
        Err(SendError::Rejected { message }) => {
            assert!(
                message.contains("does not match a verified Sender Identity"),
                "{message}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn sendgrid_401_and_403_are_unauthorized_without_quoting_the_key() {
    for status in [401, 403] {
        let result = sendgrid_answer(ResponseTemplate::new(status).set_body_json(json!({
            "errors": [{"message": "The provided authorization grant is invalid, expired, or revoked", "field": null}]
        })))
        .await;
        match result {
            Err(SendError::Unauthorized { message }) => assert!(!message.contains("SG.test")),
            other => panic!("{status}: expected unauthorized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn sendgrid_429_is_transient_and_waits_until_the_rate_limit_resets() {
    let reset = Utc::now().timestamp() + 30;
    let result = sendgrid_answer(
        ResponseTemplate::new(429)
            .insert_header("X-RateLimit-Reset", reset.to_string().as_str())
            .set_body_json(json!({"errors": [{"field": null, "message": "too many requests"}]})),
    )
    .await;
    match result {
        Err(SendError::Transient {
            retry_after: Some(wait),
            message,
        }) => {
            assert!((25..=30).contains(&wait.as_secs()), "{wait:?}");
            assert!(message.contains("too many requests"), "{message}");
        }
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

#[tokio::test]
async fn sendgrid_5xx_is_transient() {
    let result = sendgrid_answer(ResponseTemplate::new(503)).await;
    assert!(is_transient_with(&result, None), "{result:?}");
    assert!(result.expect_err("failed").is_retryable());
}

#[tokio::test]
async fn sendgrid_timeout_is_reported_as_possibly_sent_and_not_retried() {
    let result = sendgrid_answer(ResponseTemplate::new(202).set_delay(SLOW)).await;
    assert!(timed_out(&result), "{result:?}");
}

#[tokio::test]
async fn sendgrid_check_asks_for_the_key_scopes_and_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/scopes"))
        .and(bearer_token("SG.test"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"scopes": ["mail.send", "user.profile.read"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = EmailProvider::SendGrid(SendGrid::new(&endpoints(&server, 2_000), "SG.test"));
    assert_eq!(
        provider.check().await.expect("accepted"),
        "SendGrid accepted the key"
    );
}

#[tokio::test]
async fn sendgrid_check_refuses_a_bad_key_and_a_key_without_mail_send() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/scopes"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errors": [{"field": null, "message": "authorization required"}]
        })))
        .mount(&server)
        .await;
    let refused = SendGrid::new(&endpoints(&server, 2_000), "SG.bad")
        .check()
        .await;
    assert!(
        matches!(refused, Err(SendError::Unauthorized { .. })),
        "{refused:?}"
    );

    let narrow = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/scopes"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"scopes": ["user.profile.read"]})),
        )
        .mount(&narrow)
        .await;
    let lacking = SendGrid::new(&endpoints(&narrow, 2_000), "SG.narrow")
        .check()
        .await;
    match lacking {
        Err(SendError::Unauthorized { message }) => assert!(message.contains("Mail Send")),
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

const SG_PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
const SG_TIMESTAMP: &str = "1588788367";
const SG_BODY: &str =
    r#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
const SG_SIGNATURE: &str = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";

#[test]
fn the_sendgrid_event_signature_matches_the_documented_vector() {
    assert!(sendgrid::verify_event_signature(
        SG_PUBLIC_KEY,
        SG_TIMESTAMP,
        SG_BODY.as_bytes(),
        SG_SIGNATURE
    ));
}

#[test]
fn a_tampered_sendgrid_event_body_or_timestamp_fails_the_signature() {
    let tampered = SG_BODY.replace("example_payload", "other_payload");
    assert!(!sendgrid::verify_event_signature(
        SG_PUBLIC_KEY,
        SG_TIMESTAMP,
        tampered.as_bytes(),
        SG_SIGNATURE
    ));
    assert!(!sendgrid::verify_event_signature(
        SG_PUBLIC_KEY,
        "1588788368",
        SG_BODY.as_bytes(),
        SG_SIGNATURE
    ));
}

#[test]
fn malformed_sendgrid_keys_and_signatures_fail_without_panicking() {
    let body = SG_BODY.as_bytes();
    for (key, signature) in [
        ("", SG_SIGNATURE),
        ("not base64!", SG_SIGNATURE),
        ("AAAA", SG_SIGNATURE),
        (SG_PUBLIC_KEY, ""),
        (SG_PUBLIC_KEY, "not base64!"),
        (SG_PUBLIC_KEY, "AAAA"),
        (SG_PUBLIC_KEY, "MEUCIQCtIHJeH93Y"),
    ] {
        assert!(
            !sendgrid::verify_event_signature(key, SG_TIMESTAMP, body, signature),
            "{key} / {signature}"
        );
    }
}

#[test]
fn sendgrid_events_become_delivery_events() {
    let body = json!([
        {"email": "ann@example.com", "timestamp": 1700000000, "event": "delivered",
         "sg_event_id": "ev-1", "sg_message_id": "abc123.filter0001.16648.5515E0B88.0", "vinculum_message_id": MESSAGE_ID},
        {"email": "ann@example.com", "timestamp": 1700000001, "event": "bounce", "reason": "550 5.1.1 unknown user",
         "sg_event_id": "ev-2", "sg_message_id": "abc123.filter0001"},
        {"event": "dropped", "reason": "Bounced Address", "sg_event_id": "ev-3", "sg_message_id": "abc123"},
        {"event": "open", "timestamp": 1700000002, "sg_event_id": "ev-4", "sg_message_id": "abc123.x"},
        {"event": "click", "url": "https://winery.com/club", "sg_event_id": "ev-5", "sg_message_id": "abc123.x"},
        {"event": "spamreport", "sg_event_id": "ev-6", "sg_message_id": "abc123.x"},
        {"event": "unsubscribe", "sg_event_id": "ev-7", "sg_message_id": "abc123.x"},
        {"event": "group_unsubscribe", "sg_event_id": "ev-8", "sg_message_id": "abc123.x"},
        {"event": "processed", "sg_event_id": "ev-9", "sg_message_id": "abc123.x"},
        {"event": "deferred", "sg_event_id": "ev-10", "sg_message_id": "abc123.x"},
        {"event": "delivered", "sg_event_id": "ev-11"}
    ]);
    let events = sendgrid::parse_events(body.to_string().as_bytes()).expect("parsed");
    let statuses: Vec<DeliveryStatus> = events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        vec![
            DeliveryStatus::Delivered,
            DeliveryStatus::Bounced,
            DeliveryStatus::Bounced,
            DeliveryStatus::Opened,
            DeliveryStatus::Clicked,
            DeliveryStatus::Complained,
            DeliveryStatus::Unsubscribed,
            DeliveryStatus::Unsubscribed,
        ]
    );
    assert_eq!(
        events[0],
        DeliveryEvent {
            provider_message_id: "abc123".to_owned(),
            status: DeliveryStatus::Delivered,
            at: Utc.timestamp_opt(1_700_000_000, 0).single(),
            detail: None,
            event_id: Some("ev-1".to_owned()),
        }
    );
    assert_eq!(events[1].detail.as_deref(), Some("550 5.1.1 unknown user"));
    assert_eq!(events[4].detail.as_deref(), Some("https://winery.com/club"));
    assert!(events.iter().all(|e| e.provider_message_id == "abc123"));
}

#[test]
fn a_sendgrid_event_post_that_is_not_an_array_is_an_error() {
    assert!(sendgrid::parse_events(b"{}").is_err());
    assert!(sendgrid::parse_events(b"not json").is_err());
    assert_eq!(sendgrid::parse_events(b"[]"), Ok(Vec::new()));
}

// ---------------------------------------------------------------------------------------------
// Mailchimp Transactional (Mandrill)

async fn mandrill_answer(answer: ResponseTemplate) -> Result<Receipt, SendError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/messages/send.json"))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    Mandrill::new(&endpoints(&server, 200), "md-test")
        .send(&email())
        .await
}

fn mandrill_error(status: u16, name: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"status": "error", "code": -1, "name": name, "message": message}))
}

#[tokio::test]
async fn mandrill_sends_the_exact_documented_request_and_returns_the_message_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/messages/send.json"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "key": "md-test",
            "message": {
                "subject": "Your membership expires soon",
                "from_email": "club@winery.com",
                "from_name": "Winery Club",
                "to": [{"email": "ann@example.com", "name": "Ann Lee", "type": "to"}],
                "html": "<p>Hi Ann, your Gold membership expires on 1 March.</p>",
                "text": "Hi Ann, your Gold membership expires on 1 March.",
                "headers": {
                    "List-Unsubscribe": "<https://app.example.com/u/abc>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
                },
                "tags": ["expiration_warning"],
                "metadata": {"vinculum_message_id": MESSAGE_ID}
            },
            "async": false
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"email": "ann@example.com", "status": "sent", "_id": "abc123", "reject_reason": null}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let provider = EmailProvider::Mandrill(Mandrill::new(&endpoints(&server, 2_000), "md-test"));
    let receipt = provider.send(&email()).await.expect("sent");
    assert_eq!(receipt.provider_message_id.as_deref(), Some("abc123"));
    assert_eq!(provider.name(), "mailchimp");
}

#[tokio::test]
async fn mandrill_queued_and_scheduled_recipients_count_as_sent() {
    for status in ["queued", "scheduled"] {
        let result = mandrill_answer(ResponseTemplate::new(200).set_body_json(json!([
            {"email": "ann@example.com", "status": status, "_id": "q1", "reject_reason": null}
        ])))
        .await;
        assert_eq!(
            result.expect("accepted").provider_message_id.as_deref(),
            Some("q1"),
            "{status}"
        );
    }
}

#[tokio::test]
async fn a_mandrill_rejected_recipient_is_rejected_with_its_reason_and_unsub_is_an_opt_out() {
    let bounced = mandrill_answer(ResponseTemplate::new(200).set_body_json(json!([
        {"email": "ann@example.com", "status": "rejected", "_id": "r1", "reject_reason": "hard-bounce"}
    ])))
    .await;
    match bounced {
        Err(SendError::Rejected { message }) => {
            assert!(message.contains("hard-bounce"), "{message}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let unsubscribed = mandrill_answer(ResponseTemplate::new(200).set_body_json(json!([
        {"email": "ann@example.com", "status": "rejected", "_id": "r2", "reject_reason": "unsub"}
    ])))
    .await;
    assert!(
        matches!(unsubscribed, Err(SendError::OptedOut { .. })),
        "{unsubscribed:?}"
    );
    let invalid = mandrill_answer(ResponseTemplate::new(200).set_body_json(json!([
        {"email": "ann@example.com", "status": "invalid", "_id": "r3", "reject_reason": null}
    ])))
    .await;
    assert!(
        matches!(invalid, Err(SendError::Rejected { .. })),
        "{invalid:?}"
    );
}

#[tokio::test]
async fn mandrill_errors_are_sorted_by_their_name_not_their_status() {
    let bad_key = mandrill_answer(mandrill_error(500, "Invalid_Key", "Invalid API key")).await;
    match bad_key {
        Err(SendError::Unauthorized { message }) => {
            assert!(message.contains("Invalid API key"), "{message}");
            assert!(!message.contains("md-test"), "{message}");
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
    for name in ["ValidationError", "Unknown_Template", "PaymentRequired"] {
        let result = mandrill_answer(mandrill_error(500, name, "no")).await;
        assert!(
            matches!(result, Err(SendError::Rejected { .. })),
            "{name}: {result:?}"
        );
    }
    let general = mandrill_answer(mandrill_error(500, "GeneralError", "try later")).await;
    assert!(is_transient_with(&general, None), "{general:?}");
    let unknown_4xx = mandrill_answer(mandrill_error(400, "Something_New", "huh")).await;
    assert!(
        matches!(unknown_4xx, Err(SendError::Rejected { .. })),
        "{unknown_4xx:?}"
    );
    let unknown_5xx = mandrill_answer(mandrill_error(500, "Something_New", "huh")).await;
    assert!(is_transient_with(&unknown_5xx, None), "{unknown_5xx:?}");
}

#[tokio::test]
async fn mandrill_401_is_unauthorized() {
    let result = mandrill_answer(ResponseTemplate::new(401).set_body_string("Unauthorized")).await;
    assert!(
        matches!(result, Err(SendError::Unauthorized { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn mandrill_429_is_transient_and_honours_retry_after() {
    let result =
        mandrill_answer(ResponseTemplate::new(429).insert_header("Retry-After", "4")).await;
    assert!(
        is_transient_with(&result, Some(Duration::from_secs(4))),
        "{result:?}"
    );
}

#[tokio::test]
async fn mandrill_5xx_without_an_error_body_is_transient() {
    let result =
        mandrill_answer(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
            .await;
    assert!(is_transient_with(&result, None), "{result:?}");
}

#[tokio::test]
async fn mandrill_timeout_is_reported_as_possibly_sent_and_not_retried() {
    let result = mandrill_answer(ResponseTemplate::new(200).set_delay(SLOW)).await;
    assert!(timed_out(&result), "{result:?}");
}

#[tokio::test]
async fn mandrill_check_pings_with_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/users/ping.json"))
        .and(body_json(json!({"key": "md-test"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!("PONG!")))
        .expect(1)
        .mount(&server)
        .await;
    let provider = EmailProvider::Mandrill(Mandrill::new(&endpoints(&server, 2_000), "md-test"));
    assert_eq!(
        provider.check().await.expect("accepted"),
        "Mailchimp Transactional accepted the key"
    );
}

#[tokio::test]
async fn mandrill_check_refuses_an_invalid_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/1.0/users/ping.json"))
        .respond_with(mandrill_error(500, "Invalid_Key", "Invalid API key"))
        .mount(&server)
        .await;
    let result = Mandrill::new(&endpoints(&server, 2_000), "md-bad")
        .check()
        .await;
    assert!(
        matches!(result, Err(SendError::Unauthorized { .. })),
        "{result:?}"
    );
}

fn mandrill_post() -> Vec<(String, String)> {
    pairs(&[(
        "mandrill_events",
        r#"[{"event":"send","_id":"abc123","ts":1700000000}]"#,
    )])
}

#[test]
fn the_mandrill_signature_matches_the_documented_vector() {
    let url = "https://app.example.com/webhooks/mandrill";
    assert_eq!(
        mandrill::signature("test-webhook-key", url, &mandrill_post()),
        "jj++hYN81ScUfKD1Zw0OVdcm464="
    );
    assert!(mandrill::verify_signature(
        "test-webhook-key",
        url,
        &mandrill_post(),
        "jj++hYN81ScUfKD1Zw0OVdcm464="
    ));
}

#[test]
fn a_mandrill_post_with_another_url_key_or_body_fails_the_signature() {
    let url = "https://app.example.com/webhooks/mandrill";
    let header = "jj++hYN81ScUfKD1Zw0OVdcm464=";
    assert!(!mandrill::verify_signature(
        "other-key",
        url,
        &mandrill_post(),
        header
    ));
    assert!(!mandrill::verify_signature(
        "test-webhook-key",
        "https://app.example.com/webhooks/mandrill/",
        &mandrill_post(),
        header
    ));
    let tampered = pairs(&[(
        "mandrill_events",
        r#"[{"event":"send","_id":"abc124","ts":1700000000}]"#,
    )]);
    assert!(!mandrill::verify_signature(
        "test-webhook-key",
        url,
        &tampered,
        header
    ));
    assert!(!mandrill::verify_signature(
        "test-webhook-key",
        url,
        &mandrill_post(),
        "not base64!"
    ));
}

#[test]
fn mandrill_events_become_delivery_events() {
    let events = json!([
        {"event": "send", "_id": "m1", "ts": 1700000000, "msg": {"_id": "m1", "state": "sent"}},
        {"event": "hard_bounce", "_id": "m1", "ts": 1700000001, "msg": {"_id": "m1", "bounce_description": "bad_mailbox"}},
        {"event": "soft_bounce", "_id": "m1", "ts": 1700000002, "msg": {"_id": "m1"}},
        {"event": "reject", "_id": "m1", "ts": 1700000003, "msg": {"_id": "m1"}},
        {"event": "open", "_id": "m1", "ts": 1700000004, "msg": {"_id": "m1"}},
        {"event": "click", "_id": "m1", "ts": 1700000005, "url": "https://winery.com/club", "msg": {"_id": "m1"}},
        {"event": "spam", "_id": "m1", "ts": 1700000006, "msg": {"_id": "m1"}},
        {"event": "unsub", "_id": "m1", "ts": 1700000007, "msg": {"_id": "m1"}},
        {"event": "deferral", "_id": "m1", "ts": 1700000008, "msg": {"_id": "m1"}},
        {"type": "blacklist", "action": "add", "reject": {"email": "ann@example.com"}}
    ]);
    let parsed = mandrill::parse_events(&pairs(&[("mandrill_events", &events.to_string())]))
        .expect("parsed");
    let statuses: Vec<DeliveryStatus> = parsed.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        vec![
            DeliveryStatus::Delivered,
            DeliveryStatus::Bounced,
            DeliveryStatus::Bounced,
            DeliveryStatus::Bounced,
            DeliveryStatus::Opened,
            DeliveryStatus::Clicked,
            DeliveryStatus::Complained,
            DeliveryStatus::Unsubscribed,
        ]
    );
    assert_eq!(
        parsed[0],
        DeliveryEvent {
            provider_message_id: "m1".to_owned(),
            status: DeliveryStatus::Delivered,
            at: Utc.timestamp_opt(1_700_000_000, 0).single(),
            detail: None,
            event_id: Some("m1:send:1700000000".to_owned()),
        }
    );
    assert_eq!(parsed[1].detail.as_deref(), Some("bad_mailbox"));
    assert_eq!(parsed[5].detail.as_deref(), Some("https://winery.com/club"));
}

#[test]
fn a_mandrill_post_without_events_is_an_error() {
    assert!(mandrill::parse_events(&[]).is_err());
    assert!(mandrill::parse_events(&pairs(&[("mandrill_events", "{")])).is_err());
    assert_eq!(
        mandrill::parse_events(&mandrill_post())
            .expect("parsed")
            .len(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Klaviyo

/// A request as every Klaviyo call must send it.
fn klaviyo(verb: &str, route: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("authorization", "Klaviyo-API-Key pk_test"))
        .and(header("revision", "2025-10-15"))
        .and(header("accept", "application/vnd.api+json"))
}

async fn klaviyo_answer(answer: ResponseTemplate) -> Result<Receipt, SendError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/events"))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    Klaviyo::new(&endpoints(&server, 200), "pk_test")
        .send_email(&email())
        .await
}

#[tokio::test]
async fn klaviyo_posts_the_email_as_an_event_for_a_flow_to_send() {
    let server = MockServer::start().await;
    klaviyo("POST", "/api/events")
        .and(header("content-type", "application/vnd.api+json"))
        .and(body_partial_json(json!({"data": {"type": "event", "attributes": {
            "metric": {"data": {"type": "metric", "attributes": {"name": "Vinculum.ExpirationWarning"}}},
            "profile": {"data": {"type": "profile", "attributes": {
                "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee"}}},
            "properties": {
                "first_name": "Ann", "last_name": "Lee", "tier": "Gold",
                "subject": "Your membership expires soon",
                "html": "<p>Hi Ann, your Gold membership expires on 1 March.</p>",
                "text": "Hi Ann, your Gold membership expires on 1 March.",
                "channel": "email"
            },
            "unique_id": MESSAGE_ID
        }}})))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let provider = EmailProvider::Klaviyo(Klaviyo::new(&endpoints(&server, 2_000), "pk_test"));
    let receipt = provider.send(&email()).await.expect("accepted");
    assert_eq!(
        receipt,
        Receipt {
            provider_message_id: None
        }
    );
    assert_eq!(provider.name(), "klaviyo");

    let requests = server.received_requests().await.expect("recorded");
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON");
    let time = body["data"]["attributes"]["time"].as_str().expect("a time");
    let at = chrono::DateTime::parse_from_rfc3339(time).expect("RFC 3339");
    assert!((Utc::now() - at.with_timezone(&Utc)).num_seconds().abs() < 60);
    assert!(
        body["data"]["attributes"]["profile"]["data"]["attributes"]
            .get("phone_number")
            .is_none()
    );
}

#[tokio::test]
async fn klaviyo_upserts_the_members_profile_through_profile_import() {
    let server = MockServer::start().await;
    klaviyo("POST", "/api/profile-import")
        .and(header("content-type", "application/vnd.api+json"))
        .and(body_partial_json(
            json!({"data": {"type": "profile", "attributes": {
                "email": "ann@example.com", "first_name": "Ann",
                "properties": {"vinculum_stage": "Gold", "vinculum_expires_at": "2027-03-12"}
            }}}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"type": "profile", "id": "01P"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Klaviyo::new(&endpoints(&server, 2_000), "pk_test");
    client
        .upsert_profile(
            "ann@example.com",
            Some("Ann"),
            None,
            &json!({"vinculum_stage": "Gold", "vinculum_expires_at": "2027-03-12"}),
        )
        .await
        .expect("upserted");
    // A refused key is reported as such.
    let refused = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/profile-import"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"errors": [{"status": 401, "detail": "Incorrect authentication credentials."}]}),
        ))
        .mount(&refused)
        .await;
    let err = Klaviyo::new(&endpoints(&refused, 2_000), "pk_bad")
        .upsert_profile("ann@example.com", None, None, &json!({}))
        .await
        .expect_err("refused");
    assert!(matches!(err, SendError::Unauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn klaviyo_posts_the_sms_as_an_event_with_the_phone_number() {
    let server = MockServer::start().await;
    klaviyo("POST", "/api/events")
        .and(header("content-type", "application/vnd.api+json"))
        .and(body_partial_json(json!({"data": {"type": "event", "attributes": {
            "metric": {"data": {"type": "metric", "attributes": {"name": "Vinculum.PickupReady"}}},
            "profile": {"data": {"type": "profile", "attributes": {
                "phone_number": "+15551234567", "first_name": "Ann"}}},
            "properties": {
                "tier": "Gold",
                "body": "Your Gold pickup is ready. Reply STOP to opt out.",
                "channel": "sms"
            },
            "unique_id": format!("{MESSAGE_ID}:sms")
        }}})))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let provider = SmsProvider::Klaviyo(Klaviyo::new(&endpoints(&server, 2_000), "pk_test"));
    let receipt = provider.send(&sms()).await.expect("accepted");
    assert_eq!(receipt.provider_message_id, None);
    assert_eq!(provider.name(), "klaviyo");
}

#[tokio::test]
async fn klaviyo_rejects_a_400_with_the_first_error_detail() {
    let result = klaviyo_answer(ResponseTemplate::new(400).set_body_json(json!({"errors": [{
        "id": "e1", "status": 400, "code": "invalid", "title": "Invalid input.",
        "detail": "The phone number provided either does not exist or is ineligible to receive SMS",
        "source": {"pointer": "/data/attributes/profile/data/attributes/phone_number"}
    }]})))
    .await;
    match result {
        Err(SendError::Rejected { message }) => {
            assert!(message.contains("ineligible to receive SMS"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn klaviyo_401_and_403_are_unauthorized() {
    for status in [401, 403] {
        let result = klaviyo_answer(ResponseTemplate::new(status).set_body_json(json!({"errors": [{
            "status": status, "code": "not_authenticated", "title": "Authentication credentials were not provided.",
            "detail": "Missing or invalid private key."
        }]})))
        .await;
        match result {
            Err(SendError::Unauthorized { message }) => assert!(!message.contains("pk_test")),
            other => panic!("{status}: expected unauthorized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn klaviyo_429_is_transient_and_honours_retry_after() {
    let result = klaviyo_answer(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "1")
            .set_body_json(json!({"errors": [{"id": "x", "status": 429, "code": "throttled",
                "title": "Request was throttled.", "detail": "Request was throttled. Expected available in 1 second."}]})),
    )
    .await;
    assert!(
        is_transient_with(&result, Some(Duration::from_secs(1))),
        "{result:?}"
    );
}

#[tokio::test]
async fn klaviyo_5xx_is_transient() {
    let result = klaviyo_answer(ResponseTemplate::new(500)).await;
    assert!(is_transient_with(&result, None), "{result:?}");
}

#[tokio::test]
async fn klaviyo_timeout_is_reported_as_possibly_sent_and_not_retried() {
    let result = klaviyo_answer(ResponseTemplate::new(202).set_delay(SLOW)).await;
    assert!(timed_out(&result), "{result:?}");
}

#[tokio::test]
async fn klaviyo_check_reads_the_account_and_sends_nothing() {
    let server = MockServer::start().await;
    klaviyo("GET", "/api/accounts")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "type": "account", "id": "AbC123",
            "attributes": {"contact_information": {"organization_name": "Spectra Winery"}}
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .mount(&server)
        .await;
    let provider = SmsProvider::Klaviyo(Klaviyo::new(&endpoints(&server, 2_000), "pk_test"));
    assert_eq!(
        provider.check().await.expect("accepted"),
        "Klaviyo accepted the key for Spectra Winery"
    );
}

#[tokio::test]
async fn klaviyo_check_refuses_a_bad_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/accounts"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"errors": [{
            "status": 401, "code": "not_authenticated", "detail": "Incorrect authentication credentials."
        }]})))
        .mount(&server)
        .await;
    let result = Klaviyo::new(&endpoints(&server, 2_000), "pk_bad")
        .check()
        .await;
    match result {
        Err(SendError::Unauthorized { message }) => {
            assert!(
                message.contains("Incorrect authentication credentials"),
                "{message}"
            );
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Twilio

const MESSAGES_PATH: &str = "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json";

async fn twilio_answer(answer: ResponseTemplate) -> Result<Receipt, SendError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    Twilio::new(&endpoints(&server, 200), ACCOUNT_SID, AUTH_TOKEN)
        .send(&sms())
        .await
}

fn twilio_error(status: u16, code: u32, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "code": code, "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status
    }))
}

#[test]
fn the_twilio_basic_auth_header_matches_the_documented_vector() {
    use base64::Engine as _;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    assert_eq!(
        encoded,
        "QUMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDp0ZXN0X2F1dGhfdG9rZW5fMTIz"
    );
}

#[tokio::test]
async fn twilio_sends_the_exact_documented_form_and_returns_the_message_sid() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(basic_auth(ACCOUNT_SID, AUTH_TOKEN))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(FormIs(pairs(&[
            ("To", "+15551234567"),
            ("From", "+15005550006"),
            ("Body", "Your Gold pickup is ready. Reply STOP to opt out."),
            (
                "StatusCallback",
                "https://app.example.com/webhooks/twilio/status?tenant=t1",
            ),
        ])))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sid": "SM00000000000000000000000000000001", "account_sid": ACCOUNT_SID,
            "to": "+15551234567", "from": "+15005550006", "messaging_service_sid": null,
            "body": "Your Gold pickup is ready. Reply STOP to opt out.", "status": "queued",
            "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
            "date_created": "Tue, 26 Jul 2016 12:50:07 +0000", "date_sent": null, "price": null,
            "error_code": null, "error_message": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let provider = SmsProvider::Twilio(Twilio::new(
        &endpoints(&server, 2_000),
        ACCOUNT_SID,
        AUTH_TOKEN,
    ));
    let receipt = provider.send(&sms()).await.expect("sent");
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some("SM00000000000000000000000000000001")
    );
    assert_eq!(provider.name(), "twilio");
    let requests = server.received_requests().await.expect("recorded");
    let body = String::from_utf8(requests[0].body.clone()).expect("text");
    assert!(body.contains("To=%2B15551234567"), "{body}");
}

#[tokio::test]
async fn twilio_sends_a_messaging_service_sid_instead_of_from() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(basic_auth(ACCOUNT_SID, AUTH_TOKEN))
        .and(FormIs(pairs(&[
            ("To", "+15551234567"),
            ("MessagingServiceSid", "MG00000000000000000000000000000000"),
            ("Body", "Hi"),
        ])))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"sid": "SM2", "status": "accepted"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let message = SmsMessage {
        from: "MG00000000000000000000000000000000".to_owned(),
        body: "Hi".to_owned(),
        status_callback: None,
        ..sms()
    };
    let receipt = Twilio::new(&endpoints(&server, 2_000), ACCOUNT_SID, AUTH_TOKEN)
        .send(&message)
        .await
        .expect("sent");
    assert_eq!(receipt.provider_message_id.as_deref(), Some("SM2"));
}

#[tokio::test]
async fn twilio_21610_means_the_recipient_opted_out() {
    let result = twilio_answer(twilio_error(
        400,
        21610,
        "Attempt to send to unsubscribed recipient",
    ))
    .await;
    match result {
        Err(SendError::OptedOut { message }) => assert!(message.contains("21610"), "{message}"),
        other => panic!("expected an opt-out, got {other:?}"),
    }
}

#[tokio::test]
async fn twilio_20003_and_401_are_unauthorized_without_quoting_the_token() {
    for answer in [
        twilio_error(401, 20003, "Authenticate"),
        twilio_error(403, 20003, "Permission Denied"),
        ResponseTemplate::new(401),
    ] {
        match twilio_answer(answer).await {
            Err(SendError::Unauthorized { message }) => {
                assert!(!message.contains(AUTH_TOKEN), "{message}");
            }
            other => panic!("expected unauthorized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn twilio_other_4xx_are_rejected_with_the_message_and_code() {
    let result = twilio_answer(twilio_error(
        400,
        21211,
        "The 'To' number +1555 is not a valid phone number.",
    ))
    .await;
    match result {
        Err(SendError::Rejected { message }) => {
            assert!(message.contains("is not a valid phone number"), "{message}");
            assert!(message.contains("21211"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn twilio_429_and_20429_are_transient_and_honour_retry_after() {
    let throttled = twilio_answer(
        twilio_error(429, 20429, "Too Many Requests").insert_header("Retry-After", "2"),
    )
    .await;
    assert!(
        is_transient_with(&throttled, Some(Duration::from_secs(2))),
        "{throttled:?}"
    );
    let coded = twilio_answer(twilio_error(400, 20429, "Too Many Requests")).await;
    assert!(is_transient_with(&coded, None), "{coded:?}");
}

#[tokio::test]
async fn twilio_5xx_is_transient() {
    let result = twilio_answer(twilio_error(503, 20500, "Service Unavailable")).await;
    assert!(is_transient_with(&result, None), "{result:?}");
}

#[tokio::test]
async fn twilio_timeout_is_reported_as_possibly_sent_and_not_retried() {
    let result = twilio_answer(ResponseTemplate::new(201).set_delay(SLOW)).await;
    assert!(timed_out(&result), "{result:?}");
}

#[tokio::test]
async fn twilio_check_reads_the_account_and_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/2010-04-01/Accounts/AC00000000000000000000000000000000.json",
        ))
        .and(basic_auth(ACCOUNT_SID, AUTH_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sid": ACCOUNT_SID, "friendly_name": "Spectra Winery", "status": "active"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let provider = SmsProvider::Twilio(Twilio::new(
        &endpoints(&server, 2_000),
        ACCOUNT_SID,
        AUTH_TOKEN,
    ));
    assert_eq!(
        provider.check().await.expect("accepted"),
        "Twilio accepted the credentials for Spectra Winery"
    );
}

#[tokio::test]
async fn twilio_check_refuses_bad_credentials_and_a_suspended_account() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/2010-04-01/Accounts/AC00000000000000000000000000000000.json",
        ))
        .respond_with(twilio_error(401, 20003, "Authenticate"))
        .mount(&server)
        .await;
    let refused = Twilio::new(&endpoints(&server, 2_000), ACCOUNT_SID, "wrong")
        .check()
        .await;
    assert!(
        matches!(refused, Err(SendError::Unauthorized { .. })),
        "{refused:?}"
    );

    let suspended = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/2010-04-01/Accounts/AC00000000000000000000000000000000.json",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"sid": ACCOUNT_SID, "status": "suspended"})),
        )
        .mount(&suspended)
        .await;
    let result = Twilio::new(&endpoints(&suspended, 2_000), ACCOUNT_SID, AUTH_TOKEN)
        .check()
        .await;
    match result {
        Err(SendError::Rejected { message }) => assert!(message.contains("suspended"), "{message}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_account_sid_never_reaches_a_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let result = Twilio::new(&endpoints(&server, 2_000), "AC1/../../evil?", AUTH_TOKEN)
        .send(&sms())
        .await;
    assert!(
        matches!(result, Err(SendError::Unauthorized { .. })),
        "{result:?}"
    );
}

fn classic_params() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ])
}

fn status_params(status: &str) -> Vec<(String, String)> {
    pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("From", "+15005550006"),
        ("MessageSid", "SM00000000000000000000000000000000"),
        ("MessageStatus", status),
        ("SmsSid", "SM00000000000000000000000000000000"),
        ("SmsStatus", status),
        ("To", "+15551234567"),
    ])
}

const STATUS_URL: &str = "https://app.example.com/webhooks/twilio/status?tenant=t1";

#[test]
fn the_twilio_signature_matches_the_classic_vector() {
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        twilio::signature("12345", url, &classic_params()),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
    assert!(twilio::verify_signature(
        "12345",
        url,
        &classic_params(),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    ));
}

#[test]
fn the_twilio_signature_matches_the_status_callback_vector_in_any_parameter_order() {
    let mut params = status_params("delivered");
    assert_eq!(
        twilio::signature(AUTH_TOKEN, STATUS_URL, &params),
        "wXsYHWrXhfYZAmoPeoaWMVIer3o="
    );
    params.reverse();
    assert!(twilio::verify_signature(
        AUTH_TOKEN,
        STATUS_URL,
        &params,
        "wXsYHWrXhfYZAmoPeoaWMVIer3o="
    ));
}

#[test]
fn a_twilio_post_with_another_token_url_or_parameter_fails_the_signature() {
    let header = "wXsYHWrXhfYZAmoPeoaWMVIer3o=";
    let params = status_params("delivered");
    assert!(!twilio::verify_signature(
        "other", STATUS_URL, &params, header
    ));
    assert!(!twilio::verify_signature(
        AUTH_TOKEN,
        "https://app.example.com/webhooks/twilio/status?tenant=t2",
        &params,
        header
    ));
    assert!(!twilio::verify_signature(
        AUTH_TOKEN,
        STATUS_URL,
        &status_params("failed"),
        header
    ));
    assert!(!twilio::verify_signature(
        AUTH_TOKEN, STATUS_URL, &params, ""
    ));
    assert!(!twilio::verify_signature(
        AUTH_TOKEN, STATUS_URL, &params, "%%%"
    ));
}

#[test]
fn twilio_status_callbacks_become_delivery_events() {
    assert_eq!(
        twilio::parse_status(&status_params("delivered")),
        Some(DeliveryEvent {
            provider_message_id: "SM00000000000000000000000000000000".to_owned(),
            status: DeliveryStatus::Delivered,
            at: None,
            detail: None,
            event_id: Some("SM00000000000000000000000000000000:delivered".to_owned()),
        })
    );
    let mut failed = status_params("undelivered");
    failed.push(("ErrorCode".to_owned(), "30003".to_owned()));
    let event = twilio::parse_status(&failed).expect("an event");
    assert_eq!(event.status, DeliveryStatus::Failed);
    assert!(
        event.detail.as_deref().is_some_and(|d| d.contains("30003")),
        "{event:?}"
    );
    assert_eq!(
        twilio::parse_status(&status_params("failed")).map(|e| e.status),
        Some(DeliveryStatus::Failed)
    );
    for status in ["sent", "queued", "sending", "accepted"] {
        assert_eq!(
            twilio::parse_status(&status_params(status)),
            None,
            "{status}"
        );
    }
    assert_eq!(
        twilio::parse_status(&pairs(&[("MessageStatus", "delivered")])),
        None
    );
}

#[test]
fn a_twilio_inbound_message_is_parsed_and_a_status_callback_is_not_one() {
    let inbound = pairs(&[
        ("MessageSid", "SM11111111111111111111111111111111"),
        ("AccountSid", ACCOUNT_SID),
        ("MessagingServiceSid", "MG00000000000000000000000000000000"),
        ("From", "+15551234567"),
        ("To", "+15005550006"),
        ("Body", " Stop "),
        ("NumMedia", "0"),
    ]);
    assert_eq!(
        twilio::parse_inbound(&inbound),
        Some(Inbound {
            message_sid: "SM11111111111111111111111111111111".to_owned(),
            from: "+15551234567".to_owned(),
            to: "+15005550006".to_owned(),
            body: " Stop ".to_owned(),
        })
    );
    assert_eq!(twilio::parse_inbound(&status_params("delivered")), None);
}

#[test]
fn opt_out_keywords_are_recognised_trimmed_and_in_any_case() {
    for stop in [
        "STOP",
        "stop",
        " Stop\n",
        "STOPALL",
        "unsubscribe",
        "Cancel",
        "END",
        "quit",
    ] {
        assert_eq!(twilio::keyword(stop), Some(Keyword::Stop), "{stop:?}");
    }
    for start in ["START", "yes", "Unstop"] {
        assert_eq!(twilio::keyword(start), Some(Keyword::Start), "{start:?}");
    }
    for help in ["HELP", "info "] {
        assert_eq!(twilio::keyword(help), Some(Keyword::Help), "{help:?}");
    }
    for other in ["", "stop please", "STOP IT", "thanks", "yes!"] {
        assert_eq!(twilio::keyword(other), None, "{other:?}");
    }
}

#[test]
fn twiml_replies_are_escaped() {
    assert_eq!(
        twilio::twiml_message("You're out. Text <START> & we'll be back"),
        "<Response><Message>You&apos;re out. Text &lt;START&gt; &amp; we&apos;ll be back</Message></Response>"
    );
    assert_eq!(twilio::twiml_empty(), "<Response/>");
}

// ---------------------------------------------------------------------------------------------
// SMS gateway webhook

const GATEWAY_TEMPLATE: &str =
    r#"{"to":"{{to}}","sender":"{{from}}","text":"{{body}}","reference":"{{message_id}}"}"#;

fn gateway(server: &MockServer, timeout_ms: u64) -> Gateway {
    Gateway::new(
        &format!("{}/sms/send", server.uri()),
        Some(("X-Api-Key".to_owned(), "gw-secret".to_owned())),
        GATEWAY_TEMPLATE,
        Duration::from_millis(timeout_ms),
    )
    .expect("valid settings")
}

async fn gateway_answer(answer: ResponseTemplate) -> Result<Receipt, SendError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sms/send"))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    gateway(&server, 200).send(&sms()).await
}

#[tokio::test]
async fn the_gateway_posts_the_rendered_template_with_the_auth_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sms/send"))
        .and(header("x-api-key", "gw-secret"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "to": "+15551234567",
            "sender": "+15005550006",
            "text": "Your Gold pickup is ready. Reply STOP to opt out.",
            "reference": MESSAGE_ID
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "gw-1", "status": "queued"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = SmsProvider::Gateway(gateway(&server, 2_000));
    let receipt = provider.send(&sms()).await.expect("sent");
    assert_eq!(receipt.provider_message_id.as_deref(), Some("gw-1"));
    assert_eq!(provider.name(), "sms_gateway");
}

#[tokio::test]
async fn the_gateway_keeps_quotes_and_newlines_in_the_body_as_valid_json() {
    let server = MockServer::start().await;
    let body = "Ann said \"see you\"\nat 5 \\ bring {{to}}\tthanks";
    Mock::given(method("POST"))
        .and(path("/sms/send"))
        .and(body_json(json!({
            "to": "+15551234567",
            "sender": "+15005550006",
            "text": body,
            "reference": MESSAGE_ID
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"message_id": 42})))
        .expect(1)
        .mount(&server)
        .await;
    let message = SmsMessage {
        body: body.to_owned(),
        ..sms()
    };
    let receipt = gateway(&server, 2_000).send(&message).await.expect("sent");
    assert_eq!(receipt.provider_message_id.as_deref(), Some("42"));
}

#[tokio::test]
async fn a_gateway_answer_without_an_id_is_still_a_success() {
    let receipt = gateway_answer(ResponseTemplate::new(200).set_body_string("OK"))
        .await
        .expect("sent");
    assert_eq!(receipt.provider_message_id, None);
}

#[tokio::test]
async fn gateway_answers_are_classified_by_status() {
    let unauthorized = gateway_answer(ResponseTemplate::new(401)).await;
    match unauthorized {
        Err(SendError::Unauthorized { message }) => assert!(!message.contains("gw-secret")),
        other => panic!("expected unauthorized, got {other:?}"),
    }
    let rejected = gateway_answer(
        ResponseTemplate::new(422).set_body_json(json!({"error": "invalid destination number"})),
    )
    .await;
    match rejected {
        Err(SendError::Rejected { message }) => {
            assert!(message.contains("invalid destination number"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let throttled =
        gateway_answer(ResponseTemplate::new(429).insert_header("Retry-After", "3")).await;
    assert!(
        is_transient_with(&throttled, Some(Duration::from_secs(3))),
        "{throttled:?}"
    );
    let down = gateway_answer(ResponseTemplate::new(500)).await;
    assert!(is_transient_with(&down, None), "{down:?}");
}

#[tokio::test]
async fn gateway_timeout_is_reported_as_possibly_sent_and_not_retried() {
    let result = gateway_answer(ResponseTemplate::new(200).set_delay(SLOW)).await;
    assert!(timed_out(&result), "{result:?}");
}

#[tokio::test]
async fn the_gateway_check_sends_nothing_and_says_a_test_message_is_the_real_check() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let said = SmsProvider::Gateway(gateway(&server, 2_000))
        .check()
        .await
        .expect("complete settings");
    assert!(said.contains("test message"), "{said}");
}

#[test]
fn gateway_settings_are_validated_before_use() {
    let t = Duration::from_secs(1);
    assert!(Gateway::new("not a url", None, GATEWAY_TEMPLATE, t).is_err());
    assert!(Gateway::new("ftp://sms.example.com", None, GATEWAY_TEMPLATE, t).is_err());
    assert!(
        Gateway::new(
            "https://sms.example.com",
            None,
            r#"{"to":{{to}},"text":"{{body}}"}"#,
            t
        )
        .is_err()
    );
    assert!(
        Gateway::new(
            "https://sms.example.com",
            None,
            "to={{to}}&text={{body}}",
            t
        )
        .is_err()
    );
    assert!(Gateway::new("https://sms.example.com", None, GATEWAY_TEMPLATE, t).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Secrets

#[test]
fn no_client_shows_a_secret_in_its_debug_output() {
    let endpoints = Endpoints::production();
    let shown = format!(
        "{:?} {:?} {:?} {:?}",
        EmailProvider::SendGrid(SendGrid::new(&endpoints, "SG.very-secret")),
        EmailProvider::Mandrill(Mandrill::new(&endpoints, "md-very-secret")),
        SmsProvider::Klaviyo(Klaviyo::new(&endpoints, "pk_very_secret")),
        SmsProvider::Twilio(Twilio::new(&endpoints, ACCOUNT_SID, "tw-very-secret")),
    );
    for secret in [
        "SG.very-secret",
        "md-very-secret",
        "pk_very_secret",
        "tw-very-secret",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}
