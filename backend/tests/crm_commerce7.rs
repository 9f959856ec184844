//! Contract tests of the Commerce7 client against wiremock (integrations.md section 1): for every
//! endpoint the client calls, the method, path, `tenant` header, app Basic auth and body, and what
//! each kind of answer (success, 422, 429, 5xx, a timeout) becomes.

use backend::crm::commerce7::{AppCredentials, Commerce7};
use backend::crm::{Crm, CrmError, CustomerData, StageIds, StageSpec};
use chrono::{DateTime, Utc};
use domain::Money;
use domain::orders::OrderStatus;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use wiremock::matchers::{
    basic_auth, body_json, body_partial_json, header, method, path, query_param,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "spectrawinery";

fn client(server: &MockServer, timeout_ms: u64) -> Commerce7 {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .build()
        .expect("http");
    Commerce7::new(
        http,
        &server.uri(),
        TENANT,
        AppCredentials {
            app_id: "my-app-id".to_owned(),
            app_secret: "my-app-secret".to_owned().into(),
        },
    )
}

/// A request as every Commerce7 call must send it.
fn c7(verb: &str, route: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("tenant", TENANT))
        .and(basic_auth("my-app-id", "my-app-secret"))
        .and(header("accept", "application/json"))
}

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .expect("instant")
        .with_timezone(&Utc)
}

fn gold() -> StageSpec {
    StageSpec {
        name: "Gold Circle".to_owned(),
        slug: "gold-circle".to_owned(),
        discount_hundredths: 1_500,
        ids: StageIds::default(),
    }
}

fn club_ids() -> StageIds {
    StageIds {
        club_id: Some("club-1".to_owned()),
        promotion_id: Some("promo-1".to_owned()),
        ..StageIds::default()
    }
}

#[test]
fn the_basic_auth_header_matches_the_documented_vector() {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("my-app-id:my-app-secret");
    assert_eq!(
        format!("Basic {encoded}"),
        "Basic bXktYXBwLWlkOm15LWFwcC1zZWNyZXQ="
    );
}

#[tokio::test]
async fn ensure_stage_creates_the_club_and_its_percentage_promotion() {
    let server = MockServer::start().await;
    c7("POST", "/club")
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "title": "Gold Circle", "slug": "vinculum-gold-circle", "type": "Traditional",
            "seo": {"title": "Gold Circle"}, "webStatus": "Not Available", "adminStatus": "Available"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "club-1", "title": "Gold Circle"})))
        .expect(1)
        .mount(&server)
        .await;
    c7("POST", "/promotion")
        .and(body_partial_json(json!({
            "type": "Product", "discountType": "Percentage Off", "discount": 1500,
            "appliesTo": "Store", "availableTo": "Club", "availableToObjectIds": ["club-1"],
            "status": "Enabled", "usageLimitType": "Unlimited", "cartRequirementType": "None"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "promo-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let ids = client(&server, 2_000)
        .ensure_stage(&gold())
        .await
        .expect("ensured");
    assert_eq!(ids, club_ids());
}

#[tokio::test]
async fn ensure_stage_on_an_existing_club_updates_the_title_and_the_discount() {
    let server = MockServer::start().await;
    c7("PUT", "/club/club-1")
        .and(body_json(
            json!({"title": "Gold Circle", "seo": {"title": "Gold Circle"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "club-1"})))
        .expect(1)
        .mount(&server)
        .await;
    c7("PUT", "/promotion/promo-1")
        .and(body_json(
            json!({"title": "Gold Circle member discount", "discount": 1500}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "promo-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let stage = StageSpec {
        ids: club_ids(),
        ..gold()
    };
    assert_eq!(
        client(&server, 2_000)
            .ensure_stage(&stage)
            .await
            .expect("ensured"),
        club_ids()
    );
}

#[tokio::test]
async fn grant_creates_a_club_membership_unless_the_customer_already_holds_one() {
    let server = MockServer::start().await;
    c7("GET", "/customer/c-1")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c-1",
            "clubs": [{"clubId": "club-9", "clubMembershipId": "m-9", "cancelDate": null},
                      {"clubId": "club-1", "clubMembershipId": "m-old", "cancelDate": "2025-01-01T00:00:00.000Z"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    c7("POST", "/club-membership")
        .and(body_json(json!({
            "customerId": "c-1", "clubId": "club-1", "signupDate": "2026-03-01T12:00:00.000Z",
            "cancelDate": null, "orderDeliveryMethod": "Pickup"
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "m-1", "status": "Active"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let granted = client(&server, 2_000)
        .grant(&club_ids(), "c-1", at())
        .await
        .expect("granted");
    assert_eq!(granted.as_deref(), Some("m-1"));

    // A retried grant finds the open membership and creates nothing.
    let again = MockServer::start().await;
    c7("GET", "/customer/c-1")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c-1", "clubs": [{"clubId": "club-1", "clubMembershipId": "m-1", "cancelDate": null}]
        })))
        .mount(&again)
        .await;
    c7("POST", "/club-membership")
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&again)
        .await;
    let found = client(&again, 2_000)
        .grant(&club_ids(), "c-1", at())
        .await
        .expect("granted");
    assert_eq!(found.as_deref(), Some("m-1"));
}

#[tokio::test]
async fn revoke_sets_the_membership_cancel_date() {
    let server = MockServer::start().await;
    c7("PUT", "/club-membership/m-1")
        .and(body_json(
            json!({"cancelDate": "2026-03-01T12:00:00.000Z", "cancellationReason": "Other"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "m-1", "status": "Cancelled"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    client(&server, 2_000)
        .revoke(&club_ids(), "c-1", Some("m-1"), at())
        .await
        .expect("revoked");

    // Without a known membership id the customer's clubs are read; none open means nothing to do.
    let lookup = MockServer::start().await;
    c7("GET", "/customer/c-1")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "c-1", "clubs": []})))
        .expect(1)
        .mount(&lookup)
        .await;
    client(&lookup, 2_000)
        .revoke(&club_ids(), "c-1", None, at())
        .await
        .expect("nothing to revoke");
}

#[tokio::test]
async fn a_membership_already_gone_counts_as_revoked() {
    let server = MockServer::start().await;
    c7("PUT", "/club-membership/m-1")
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"statusCode": 404, "type": "notFound", "message": "Club membership not found"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    client(&server, 2_000)
        .revoke(&club_ids(), "c-1", Some("m-1"), at())
        .await
        .expect("gone is revoked");
}

#[tokio::test]
async fn upsert_customer_searches_by_email_then_creates() {
    let server = MockServer::start().await;
    c7("GET", "/customer")
        .and(query_param("q", "ann+club@example.com"))
        .and(query_param("limit", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"customers": [], "total": 0})),
        )
        .expect(1)
        .mount(&server)
        .await;
    c7("POST", "/customer")
        .and(body_json(json!({
            "firstName": "Ann", "lastName": "Lee",
            "emails": [{"email": "ann+club@example.com"}], "phones": [{"phone": "+15551234567"}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "c-7"})))
        .expect(1)
        .mount(&server)
        .await;
    let id = client(&server, 2_000)
        .upsert_customer(&CustomerData {
            email: "ann+club@example.com".to_owned(),
            first_name: Some("Ann".to_owned()),
            last_name: Some("Lee".to_owned()),
            phone: Some("+15551234567".to_owned()),
        })
        .await
        .expect("created");
    assert_eq!(id, "c-7");
    // The `+` reached Commerce7 encoded, not as a space.
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(
        requests[0]
            .url
            .query()
            .is_some_and(|q| q.contains("ann%2Bclub%40example.com")),
        "{:?}",
        requests[0].url
    );
}

#[tokio::test]
async fn find_and_fetch_customer_read_the_documented_fields() {
    let server = MockServer::start().await;
    let ann = json!({"id": "c-1", "firstName": "Ann", "lastName": "Lee",
                     "emails": [{"id": "e-1", "email": "ann@example.com"}], "phones": [{"id": "p-1", "phone": "+15551234567"}],
                     "orderInformation": {"lifetimeValue": 24110}});
    c7("GET", "/customer")
        .and(query_param("q", "ann@example.com"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"customers": [ann], "total": 1})),
        )
        .expect(1)
        .mount(&server)
        .await;
    c7("GET", "/customer/c-1")
        .respond_with(ResponseTemplate::new(200).set_body_json(ann.clone()))
        .expect(1)
        .mount(&server)
        .await;
    c7("GET", "/customer/c-404")
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"statusCode": 404, "message": "Not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, 2_000);
    let found = c
        .find_customer_by_email("ann@example.com")
        .await
        .expect("found")
        .expect("ann");
    assert_eq!(
        (
            found.id.as_str(),
            found.email.as_deref(),
            found.phone.as_deref()
        ),
        ("c-1", Some("ann@example.com"), Some("+15551234567"))
    );
    assert_eq!(c.fetch_customer("c-1").await.expect("fetched"), Some(found));
    assert_eq!(c.fetch_customer("c-404").await.expect("absent"), None);
}

#[tokio::test]
async fn fetch_order_reads_cents_and_the_payment_status() {
    let server = MockServer::start().await;
    c7("GET", "/order/o-1")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "o-1", "orderNumber": 1235, "customerId": "c-1",
            "orderSubmittedDate": "2026-02-01T10:00:00.000Z", "orderPaidDate": "2026-02-01T10:00:05.000Z",
            "paymentStatus": "Paid", "subTotal": 24000, "discountTotal": 2000, "taxTotal": 1900,
            "shippingTotal": 1500, "total": 25400
        })))
        .expect(1)
        .mount(&server)
        .await;
    let order = client(&server, 2_000)
        .fetch_order("o-1")
        .await
        .expect("fetched")
        .expect("order");
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.customer_id.as_deref(), Some("c-1"));
    assert_eq!(order.amounts.subtotal, Money::from_cents(24_000));
    assert_eq!(order.amounts.discount, Money::from_cents(2_000));
    assert_eq!(order.amounts.total, Money::from_cents(25_400));
    assert_eq!(order.placed_at.to_rfc3339(), "2026-02-01T10:00:00+00:00");
}

#[tokio::test]
async fn webhooks_are_registered_listed_from_the_log_and_removed() {
    let server = MockServer::start().await;
    c7("POST", "/web-hook")
        .and(body_json(json!({"object": "Order", "action": "Update", "url": "https://v.example/webhooks/c7/t/s"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "wh-1"})))
        .expect(1)
        .mount(&server)
        .await;
    c7("GET", "/web-hook-log")
        .and(query_param("isSuccess", "false"))
        .and(query_param("updatedAt", "gte:2026-03-01T12:00:00.000Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"webHookLogs": [
            {"id": "log-1", "url": "https://v.example/webhooks/c7/t/s", "object": "Order", "action": "Create",
             "payload": {"id": "o-1"}, "isSuccess": false, "error": {"status": 500}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    c7("DELETE", "/web-hook/wh-1")
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, 2_000);
    assert_eq!(
        c.register_webhook("Order", "Update", "https://v.example/webhooks/c7/t/s")
            .await
            .expect("registered"),
        "wh-1"
    );
    let failed = c.failed_deliveries(at()).await.expect("log");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0].object.as_str(),
            failed[0].action.as_str(),
            &failed[0].payload
        ),
        ("Order", "Create", &json!({"id": "o-1"}))
    );
    c.delete_webhook("wh-1").await.expect("removed");
}

#[tokio::test]
async fn the_launch_token_is_verified_with_account_user_and_no_basic_auth() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/account/user"))
        .and(header("tenant", TENANT))
        .and(header("authorization", "account-jwt"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "u-1", "firstName": "Jason", "lastName": "Andres", "email": "jason@winery.example"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/account/user"))
        .and(header("authorization", "stale-jwt"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"statusCode": 401, "type": "unauthorized", "message": "Unauthorized user", "errors": []}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, 2_000);
    let user = c
        .account_user("account-jwt")
        .await
        .expect("answered")
        .expect("known");
    assert_eq!(
        (user.id.as_str(), user.email.as_str()),
        ("u-1", "jason@winery.example")
    );
    assert_eq!(c.account_user("stale-jwt").await.expect("answered"), None);
}

type Call = Box<dyn Fn(Commerce7) -> Pin<Box<dyn Future<Output = Result<(), CrmError>> + Send>>>;

/// Every call the client makes, each reduced to its error.
fn every_call() -> Vec<(&'static str, Call)> {
    vec![
        (
            "ensure_stage",
            Box::new(|c| Box::pin(async move { c.ensure_stage(&gold()).await.map(drop) })),
        ),
        (
            "grant",
            Box::new(|c| {
                Box::pin(async move { c.grant(&club_ids(), "c-1", at()).await.map(drop) })
            }),
        ),
        (
            "revoke",
            Box::new(|c| {
                Box::pin(async move { c.revoke(&club_ids(), "c-1", Some("m-1"), at()).await })
            }),
        ),
        (
            "upsert_customer",
            Box::new(|c| {
                Box::pin(async move {
                    c.upsert_customer(&CustomerData {
                        email: "ann@example.com".to_owned(),
                        first_name: None,
                        last_name: None,
                        phone: None,
                    })
                    .await
                    .map(drop)
                })
            }),
        ),
        (
            "find_customer",
            Box::new(|c| {
                Box::pin(async move { c.find_customer_by_email("ann@example.com").await.map(drop) })
            }),
        ),
        (
            "fetch_customer",
            Box::new(|c| Box::pin(async move { c.fetch_customer("c-1").await.map(drop) })),
        ),
        (
            "fetch_order",
            Box::new(|c| Box::pin(async move { c.fetch_order("o-1").await.map(drop) })),
        ),
        (
            "register_webhook",
            Box::new(|c| {
                Box::pin(async move {
                    c.register_webhook("Order", "Create", "https://x.example/")
                        .await
                        .map(drop)
                })
            }),
        ),
        (
            "delete_webhook",
            Box::new(|c| Box::pin(async move { c.delete_webhook("wh-1").await })),
        ),
        (
            "failed_deliveries",
            Box::new(|c| Box::pin(async move { c.failed_deliveries(at()).await.map(drop) })),
        ),
    ]
}

async fn answering(status: u16, body: Value, delay: Option<Duration>) -> MockServer {
    let server = MockServer::start().await;
    let mut answer = ResponseTemplate::new(status).set_body_json(body);
    if status == 429 {
        answer = answer.insert_header("Retry-After", "7");
    }
    if let Some(delay) = delay {
        answer = answer.set_delay(delay);
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_422_is_a_refusal_with_commerce7s_own_words_and_is_not_retried() {
    let server = answering(
        422,
        json!({"statusCode": 422, "type": "validationError", "message": "One or more elements is missing or invalid",
               "errors": [{"field": "clubId", "message": "required"}]}),
        None,
    )
    .await;
    for (name, call) in every_call() {
        let error = call(client(&server, 2_000)).await.expect_err(name);
        assert!(
            matches!(&error, CrmError::Rejected { status: Some(422), message }
                if message.contains("One or more elements is missing or invalid (clubId required)")),
            "{name}: {error:?}"
        );
        assert!(!error.is_retryable(), "{name}");
    }
}

#[tokio::test]
async fn a_429_is_transient_and_carries_retry_after() {
    let server = answering(
        429,
        json!({"statusCode": 429, "message": "Too Many Requests"}),
        None,
    )
    .await;
    for (name, call) in every_call() {
        let error = call(client(&server, 2_000)).await.expect_err(name);
        assert_eq!(
            error,
            CrmError::Transient {
                message: error.to_string(),
                retry_after: Some(Duration::from_secs(7))
            },
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_5xx_is_transient() {
    for status in [500, 502, 503] {
        let server = answering(
            status,
            json!({"statusCode": status, "message": "Internal error"}),
            None,
        )
        .await;
        for (name, call) in every_call() {
            let error = call(client(&server, 2_000)).await.expect_err(name);
            assert!(error.is_retryable(), "{status} {name}: {error:?}");
        }
    }
}

#[tokio::test]
async fn a_401_is_unauthorized() {
    let server = answering(
        401,
        json!({"statusCode": 401, "type": "unauthorized", "message": "Unauthenticated User", "errors": []}),
        None,
    )
    .await;
    for (name, call) in every_call() {
        let error = call(client(&server, 2_000)).await.expect_err(name);
        assert!(
            matches!(&error, CrmError::Unauthorized { message } if message.contains("Unauthenticated User")),
            "{name}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_timeout_is_transient() {
    let server = answering(200, json!({}), Some(Duration::from_secs(2))).await;
    for (name, call) in every_call() {
        let error = call(client(&server, 150)).await.expect_err(name);
        assert!(
            matches!(&error, CrmError::Transient { message, .. } if message.contains("timed out")),
            "{name}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_200_carrying_errors_is_a_refusal() {
    let server = answering(
        200,
        json!({"id": "x", "errors": [{"field": "customerId", "message": "invalid"}], "message": "Validation failed"}),
        None,
    )
    .await;
    let error = client(&server, 2_000)
        .fetch_order("o-1")
        .await
        .expect_err("refused");
    assert!(matches!(error, CrmError::Rejected { .. }), "{error:?}");
}
