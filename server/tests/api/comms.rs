//! The messaging endpoints over HTTP: provider callbacks refuse a bad signature with 401 and write
//! nothing, a signed one moves the message along; inbound STOP and START; the member's one-click
//! unsubscribe (RFC 8058) and preference page, whose bad input changes nothing.

use crate::helpers::TestApp;
use backend::comms::{self, links, providers::twilio};
use domain::ids::{ClientId, CustomerId};
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const TOKEN: &str = "twilio-auth-token";

/// Twilio as the winery's SMS provider, and one member with a sent text (`SM1`).
async fn with_twilio(app: &TestApp) -> CustomerId {
    let cipher = comms::runtime().cipher.clone().expect("a cipher");
    sqlx::query(
        "insert into communication_configs (client_id, sms_provider, sms_account_id, sms_from_number, sms_api_key_encrypted)
         values ($1, 'twilio', 'AC00000000000000000000000000000000', '+15005550006', $2)",
    )
    .bind(app.winery.as_uuid())
    .bind(cipher.seal(TOKEN))
    .execute(&app.owner)
    .await
    .expect("config");
    let customer: uuid::Uuid = sqlx::query_scalar(
        "insert into customers (client_id, email, phone) values ($1, 'ann@example.com', '+1 555 123 4567') returning id",
    )
    .bind(app.winery.as_uuid())
    .fetch_one(&app.owner)
    .await
    .expect("customer");
    sqlx::query(
        "insert into communication_log (client_id, customer_id, template_type, channel, provider, to_address,
                                        status, idempotency_key, provider_message_id, sent_at)
         values ($1, $2, 'welcome', 'sms', 'twilio', '+15551234567', 'sent', 'event:welcome:x', 'SM1', now())",
    )
    .bind(app.winery.as_uuid())
    .bind(customer)
    .execute(&app.owner)
    .await
    .expect("message");
    CustomerId::new(customer)
}

async fn post_signed(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    signature: Option<&str>,
) -> reqwest::Response {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let signed_url = format!("{}{path}", comms::runtime().public_url);
    let signature = signature.map_or_else(
        || twilio::signature(TOKEN, &signed_url, &owned),
        str::to_owned,
    );
    app.client
        .post(app.url(path))
        .header("X-Twilio-Signature", signature)
        .form(&owned)
        .send()
        .await
        .expect("response")
}

async fn status_of(app: &TestApp, provider_id: &str) -> String {
    sqlx::query_scalar("select status from communication_log where provider_message_id = $1")
        .bind(provider_id)
        .fetch_one(&app.owner)
        .await
        .expect("status")
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_twilio_status_callback_needs_its_signature(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    with_twilio(&app).await;
    let path = format!("/webhooks/comms/twilio/{}/status", app.winery.as_uuid());
    let params = [
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("MessageSid", "SM1"),
        ("MessageStatus", "delivered"),
        ("SmsSid", "SM1"),
        ("SmsStatus", "delivered"),
    ];
    let forged = post_signed(&app, &path, &params, Some("wXsYHWrXhfYZAmoPeoaWMVIer3o=")).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&app, "SM1").await, "sent", "nothing written");
    let unsigned = app
        .client
        .post(app.url(&path))
        .form(&params)
        .send()
        .await
        .expect("response");
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);

    let signed = post_signed(&app, &path, &params, None).await;
    assert_eq!(signed.status(), StatusCode::OK);
    assert_eq!(status_of(&app, "SM1").await, "delivered");
    // Another winery's path cannot reach this message, whatever it signs.
    let rival = format!("/webhooks/comms/twilio/{}/status", app.rival.as_uuid());
    assert_eq!(
        post_signed(&app, &rival, &params, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_inbound_stop_withdraws_sms_consent_and_start_restores_it(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let ann = with_twilio(&app).await;
    sqlx::query(
        "insert into communication_preferences (client_id, customer_id, sms_opt_in_at, sms_opt_in_method, sms_phone)
         values ($1, $2, now(), 'web_form', '+15551234567')",
    )
    .bind(app.winery.as_uuid())
    .bind(ann.as_uuid())
    .execute(&app.owner)
    .await
    .expect("opt-in");
    let path = format!("/webhooks/comms/twilio/{}/inbound", app.winery.as_uuid());
    let inbound = |body: &'static str| {
        [
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("Body", body),
            ("From", "+15551234567"),
            ("MessageSid", "SM9"),
            ("To", "+15005550006"),
        ]
    };
    let opted_in = || async {
        sqlx::query_scalar::<_, Option<String>>(
            "select sms_opt_in_method from communication_preferences where customer_id = $1",
        )
        .bind(ann.as_uuid())
        .fetch_one(&app.owner)
        .await
        .expect("prefs")
    };
    let stop = post_signed(&app, &path, &inbound(" stop "), None).await;
    assert_eq!(stop.status(), StatusCode::OK);
    let reply = stop.text().await.expect("body");
    assert!(
        reply.contains("<Message>") && reply.contains("Reply START"),
        "{reply}"
    );
    assert_eq!(opted_in().await, None);
    let help = post_signed(&app, &path, &inbound("HELP"), None).await;
    assert!(
        help.text()
            .await
            .expect("body")
            .contains("Reply STOP to opt out")
    );
    post_signed(&app, &path, &inbound("Start"), None).await;
    assert_eq!(opted_in().await.as_deref(), Some("text_reply"));
    app.stop().await;
}

fn token(winery: ClientId, customer: CustomerId) -> String {
    links::token(&comms::runtime().link_key, winery, customer)
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_one_click_unsubscribe_post_unsubscribes_and_a_forged_link_changes_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let ann = with_twilio(&app).await;
    let unsubscribed = || async {
        sqlx::query_scalar::<_, bool>(
            "select coalesce((select unsubscribed_all from communication_preferences where customer_id = $1), false)",
        )
        .bind(ann.as_uuid())
        .fetch_one(&app.owner)
        .await
        .expect("prefs")
    };
    // A link signed for another winery's id is refused.
    let forged = token(app.rival, ann);
    let (ids, _) = forged.split_once('.').expect("token");
    let tampered = format!("{ids}.AAAAAAAAAAAAAAAAAAAAAA");
    for bad in [tampered.as_str(), "nonsense"] {
        let res = app
            .client
            .post(app.url(&format!("/u/{bad}")))
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("response");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    assert!(!unsubscribed().await);

    let link = format!("/u/{}", token(app.winery, ann));
    let page = app.client.get(app.url(&link)).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(!unsubscribed().await, "looking at the page changes nothing");
    let res = app
        .client
        .post(app.url(&link))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("You are unsubscribed")
    );
    assert!(unsubscribed().await);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_preference_page_records_sms_consent_and_refuses_a_bad_number(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let ann = with_twilio(&app).await;
    let link = format!("/p/{}", token(app.winery, ann));
    let page = app.client.get(app.url(&link)).send().await.expect("page");
    assert!(
        page.text()
            .await
            .expect("body")
            .contains("Your messages from")
    );
    let bad = app
        .client
        .post(app.url(&link))
        .form(&[
            ("email_monthly_status", "on"),
            ("sms_opt_in", "on"),
            ("phone", "555-1234"),
        ])
        .send()
        .await
        .expect("response");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let rows: i64 = sqlx::query_scalar("select count(*) from communication_preferences")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(rows, 0, "nothing written");

    let good = app
        .client
        .post(app.url(&link))
        .form(&[
            ("email_monthly_status", "on"),
            ("sms_opt_in", "on"),
            ("phone", "+1 (555) 123-4567"),
        ])
        .send()
        .await
        .expect("response");
    assert_eq!(good.status(), StatusCode::OK);
    let (warnings, method, phone, text): (bool, Option<String>, Option<String>, Option<String>) =
        sqlx::query_as(
            "select email_expiration_warnings, sms_opt_in_method, sms_phone, sms_opt_in_text
         from communication_preferences where customer_id = $1",
        )
        .bind(ann.as_uuid())
        .fetch_one(&app.owner)
        .await
        .expect("prefs");
    assert!(!warnings, "an unticked box is off");
    assert_eq!(method.as_deref(), Some("web_form"));
    assert_eq!(phone.as_deref(), Some("+15551234567"));
    assert!(text.is_some_and(|t| t.contains("Reply STOP")));
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn sendgrid_and_mailchimp_events_with_a_bad_signature_get_401(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    with_twilio(&app).await;
    let sendgrid = app
        .client
        .post(app.url(&format!("/webhooks/comms/sendgrid/{}", app.winery.as_uuid())))
        .header("X-Twilio-Email-Event-Webhook-Timestamp", "1588788367")
        .header("X-Twilio-Email-Event-Webhook-Signature", "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=")
        .body(r#"[{"event":"delivered","sg_message_id":"SM1.x"}]"#)
        .send()
        .await
        .expect("response");
    assert_eq!(sendgrid.status(), StatusCode::UNAUTHORIZED);
    let mandrill = app
        .client
        .post(app.url(&format!(
            "/webhooks/comms/mandrill/{}",
            app.winery.as_uuid()
        )))
        .header("X-Mandrill-Signature", "jj++hYN81ScUfKD1Zw0OVdcm464=")
        .form(&[(
            "mandrill_events",
            r#"[{"event":"open","_id":"SM1","ts":1700000000}]"#,
        )])
        .send()
        .await
        .expect("response");
    assert_eq!(mandrill.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&app, "SM1").await, "sent");
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_runaway_template_is_refused_on_save_and_the_server_stays_responsive(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.sign_in().await;
    let runaway = "{% for a in winery_name %}{% for b in winery_name %}{% for c in winery_name %}\
                   {% for d in winery_name %}{% for e in winery_name %}x{% endfor %}{% endfor %}\
                   {% endfor %}{% endfor %}{% endfor %}";
    let cases = [
        (runaway, "too much work"),
        ("{% include \"/etc/passwd\" %}", "cannot include"),
        ("{{ first_name * 100000000 }}", "not available in templates"),
        ("<p>{{ first_name }</p>", "line 1, column"),
        ("<p>{{ tier }}</p>", "unknown variable: tier"),
    ];
    for (html, says) in cases {
        let started = std::time::Instant::now();
        let res = app
            .call(
                "/api/messages/templates/save",
                &[
                    ("kind", "expiration_warning"),
                    ("channel", "email"),
                    ("subject", "Hello"),
                    ("html", html),
                    ("text", "Hello"),
                ],
            )
            .await;
        assert!(res.status().is_client_error(), "{html}: {}", res.status());
        let error = crate::helpers::app_error(res).await.to_string();
        assert!(error.contains(says), "{html}: {error}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{html} took {:?}",
            started.elapsed()
        );
        assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    }
    let saved: i64 = sqlx::query_scalar("select count(*) from communication_templates")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(saved, 0, "nothing was written");
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn only_a_failed_message_can_be_sent_again_and_only_by_its_winery(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    with_twilio(&app).await;
    let failed: uuid::Uuid = sqlx::query_scalar(
        "insert into communication_log (client_id, customer_id, template_type, channel, provider, to_address,
                                        status, idempotency_key, error_message, attempts)
         select client_id, customer_id, 'renewed', 'sms', 'twilio', to_address, 'failed', 'event:renewed:y',
                'Twilio refused the message', 8
         from communication_log where provider_message_id = 'SM1'
         returning id",
    )
    .fetch_one(&app.owner)
    .await
    .expect("failed message");
    let sent: uuid::Uuid =
        sqlx::query_scalar("select id from communication_log where provider_message_id = 'SM1'")
            .fetch_one(&app.owner)
            .await
            .expect("sent message");
    app.sign_in().await;
    let again = app
        .call("/api/messages/outbox/retry", &[("id", &sent.to_string())])
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(status_of(&app, "SM1").await, "sent");
    // Another winery's admin cannot touch it.
    app.sign_in_as(&app.rival_email.clone()).await;
    let foreign = app
        .call("/api/messages/outbox/retry", &[("id", &failed.to_string())])
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    app.sign_in().await;
    let retried = app
        .call("/api/messages/outbox/retry", &[("id", &failed.to_string())])
        .await;
    assert!(retried.status().is_success(), "{}", retried.status());
    let (status, attempts, error): (String, i32, Option<String>) = sqlx::query_as(
        "select status, attempts, error_message from communication_log where id = $1",
    )
    .bind(failed)
    .fetch_one(&app.owner)
    .await
    .expect("row");
    assert_eq!((status.as_str(), attempts, error), ("queued", 0, None));
    app.stop().await;
}
