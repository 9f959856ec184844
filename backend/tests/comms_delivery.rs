//! The outbox worker against providers speaking their documented wire formats (wiremock): a
//! welcome by SendGrid e-mail, with the RFC 8058 headers, and by Twilio SMS; a 5xx retried later
//! with backoff; a refusal failed at once; and Klaviyo's profile kept current before its event.
//! One test per binary: the messaging runtime is set once per process.

mod common;

use backend::comms::{self, providers::Endpoints, worker};
use backend::db::audit::Actor;
use backend::orders::process_order;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// (type, channel, status, provider message id, attempts, next attempt).
type LogRow = (
    String,
    String,
    String,
    Option<String>,
    i32,
    Option<DateTime<Utc>>,
);

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_worker_sends_through_real_provider_apis_and_retries_what_is_worth_retrying(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let providers = MockServer::start().await;
    let cipher =
        backend::crypto::Cipher::from_hex(&SecretString::from("cd".repeat(32))).expect("key");
    let mut endpoints = Endpoints::production();
    endpoints.sendgrid = providers.uri();
    endpoints.twilio = providers.uri();
    endpoints.klaviyo = providers.uri();
    endpoints.timeout = std::time::Duration::from_secs(2);
    comms::configure(comms::Runtime::new(
        "https://club.example.com",
        cipher.clone(),
        endpoints,
    ));

    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let club = common::club_winery(&pool, &owner, "UTC").await;
    sqlx::query(
        "insert into communication_configs
             (client_id, email_provider, email_api_key_encrypted, email_api_key_last4, email_from_address,
              email_from_name, sms_provider, sms_account_id, sms_api_key_encrypted, sms_from_number, postal_address)
         values ($1, 'sendgrid', $2, 'test', 'club@winery.com', 'Winery Club', 'twilio',
                 'AC00000000000000000000000000000000', $3, '+15005550006', '1 Vineyard Lane')",
    )
    .bind(club.id.as_uuid())
    .bind(cipher.seal("SG.test"))
    .bind(cipher.seal("test_auth_token_123"))
    .execute(&owner)
    .await
    .expect("config");

    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", "Bearer SG.test"))
        .and(body_string_contains("List-Unsubscribe-Post"))
        .and(body_string_contains("https://club.example.com/u/"))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&providers)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json",
        ))
        .and(body_string_contains("To=%2B15551234567"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "sid": "SM100", "status": "queued", "to": "+15551234567"
        })))
        .expect(1)
        .mount(&providers)
        .await;

    // Ann consented to texts on the preference page; her first order enrolls her.
    let mut event = common::paid_order("O1", "ann@example.com", at("2026-03-15T12:00:00Z"), 15_000);
    if let Some(who) = event.customer.as_mut() {
        who.phone = Some("+1 555 123 4567".to_owned());
        who.first_name = Some("Ann".to_owned());
    }
    let actor = Actor::Webhook {
        provider: "test".to_owned(),
    };
    process_order(&pool, &club, &event, &actor, event.placed_at)
        .await
        .expect("order");
    sqlx::query("update communication_log set status = 'skipped' where channel = 'sms'")
        .execute(&owner)
        .await
        .expect("no opt-in yet: no SMS was queued");
    let ann: uuid::Uuid =
        sqlx::query_scalar("select id from customers where email = 'ann@example.com'")
            .fetch_one(&owner)
            .await
            .expect("ann");
    sqlx::query(
        "insert into communication_preferences (client_id, customer_id, sms_opt_in_at, sms_opt_in_method, sms_phone)
         values ($1, $2, now(), 'web_form', '+15551234567')",
    )
    .bind(club.id.as_uuid())
    .bind(ann)
    .execute(&owner)
    .await
    .expect("opt-in");
    // Her renewal is told by e-mail and by text.
    let renewal = common::paid_order("O2", "ann@example.com", at("2026-04-01T12:00:00Z"), 15_000);
    process_order(&pool, &club, &renewal, &actor, renewal.placed_at)
        .await
        .expect("renewal");

    // The welcome e-mail and the renewal text go out; the renewal e-mail meets a 503 (the
    // SendGrid mock answers once) and waits for its retry.
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(serde_json::json!({"errors": [{"message": "busy"}]})),
        )
        .mount(&providers)
        .await;
    let now = at("2026-04-01T12:00:05Z");
    let report = worker::run_due(&pool, now).await.expect("pass");
    assert_eq!(
        (report.sent, report.retrying, report.failed),
        (2, 1, 0),
        "{report:?}"
    );
    let rows: Vec<LogRow> = sqlx::query_as(
        "select template_type, channel, status, provider_message_id, attempts, next_attempt_at
         from communication_log where status <> 'skipped' order by template_type, channel",
    )
    .fetch_all(&owner)
    .await
    .expect("log");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2.as_str()),
        ("renewed", "email", "queued")
    );
    assert_eq!(rows[0].4, 1);
    assert_eq!(
        rows[0].5,
        Some(now + chrono::Duration::minutes(1)),
        "retried after a minute"
    );
    assert_eq!(
        (rows[1].1.as_str(), rows[1].2.as_str(), rows[1].3.as_deref()),
        ("sms", "sent", Some("SM100"))
    );
    assert_eq!(
        (rows[2].0.as_str(), rows[2].2.as_str(), rows[2].3.as_deref()),
        ("welcome", "sent", Some("sg-1"))
    );
    // Not due yet: nothing is sent.
    let early = worker::run_due(&pool, now + chrono::Duration::seconds(30))
        .await
        .expect("pass");
    assert_eq!(early, worker::PassReport::default());

    // Mailbox refusals are final: a 400 fails the message with SendGrid's words.
    providers.reset().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({"errors": [{"message": "The from address does not match a verified Sender Identity."}]})))
        .expect(1)
        .mount(&providers)
        .await;
    let later = worker::run_client(&pool, club.id, now + chrono::Duration::minutes(2))
        .await
        .expect("pass");
    assert_eq!((later.0.sent, later.0.failed), (0, 1));
    let (status, error): (String, Option<String>) = sqlx::query_as(
        "select status, error_message from communication_log where template_type = 'renewed' and channel = 'email'",
    )
    .fetch_one(&owner)
    .await
    .expect("row");
    assert_eq!(status, "failed");
    assert!(error.is_some_and(|e| e.contains("verified Sender Identity")));

    // Klaviyo: the member's profile is upserted before the event that triggers the flow.
    providers.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/profile-import"))
        .and(body_string_contains("vinculum_stage"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&providers)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/events"))
        .and(body_string_contains("Vinculum.Upgraded"))
        .and(body_string_contains("\"current_stage\":\"Gold\""))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&providers)
        .await;
    sqlx::query("update communication_configs set email_provider = 'klaviyo', email_api_key_encrypted = $1, sms_provider = null")
        .bind(cipher.seal("pk_test"))
        .execute(&owner)
        .await
        .expect("klaviyo");
    let upgrade = common::paid_order("O3", "ann@example.com", at("2026-04-02T12:00:00Z"), 32_000);
    process_order(&pool, &club, &upgrade, &actor, upgrade.placed_at)
        .await
        .expect("upgrade");
    let klaviyo = worker::run_client(&pool, club.id, at("2026-04-02T12:00:01Z"))
        .await
        .expect("pass");
    assert_eq!(klaviyo.0.sent, 1, "{:?}", klaviyo.0);
}
