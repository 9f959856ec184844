//! Contract tests of the Shopify client against wiremock (integrations.md 2.7 and 11): every call
//! is checked for its method, path, access token and body, and every failure Shopify can answer
//! with is sorted into the right `CrmError`.

use backend::crm::shopify::{self, DEFAULT_API_VERSION, Shopify, ShopifyApp};
use backend::crm::{Crm, CrmCustomer, CrmError, CustomerData, StageIds, StageSpec};
use chrono::{DateTime, Utc};
use domain::Money;
use domain::orders::{OrderAmounts, OrderStatus};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{any, body_json, body_partial_json, header, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "shpat_test";
const GRAPHQL: &str = "/admin/api/2025-10/graphql.json";
const SHOP: &str = "snowdevil.myshopify.com";
const DISCOUNT: &str = "gid://shopify/DiscountCodeNode/1057371220";
const CUSTOMER: &str = "gid://shopify/Customer/544365967";

/// Matches a GraphQL request whose `query` names the operation.
struct QueryContains(&'static str);

impl Match for QueryContains {
    fn matches(&self, request: &Request) -> bool {
        request
            .body_json::<Value>()
            .ok()
            .and_then(|body| body.get("query")?.as_str().map(|q| q.contains(self.0)))
            .unwrap_or(false)
    }
}

fn app(server: &MockServer) -> ShopifyApp {
    ShopifyApp {
        api_key: "test-client-id".to_owned(),
        api_secret: SecretString::from("test-client-secret"),
        scopes: "read_customers,write_customers,write_discounts".to_owned(),
        api_version: DEFAULT_API_VERSION.to_owned(),
        base_url: Some(server.uri()),
    }
}

fn http(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("a reqwest client")
}

fn client(server: &MockServer) -> Shopify {
    client_with_timeout(server, Duration::from_secs(2))
}

fn client_with_timeout(server: &MockServer, timeout: Duration) -> Shopify {
    Shopify::new(http(timeout), &app(server), SHOP, SecretString::from(TOKEN))
}

/// The contract of every GraphQL call: POST to the pinned version's endpoint, with the access
/// token, a JSON body, and a query naming `operation`.
fn graphql(operation: &'static str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(GRAPHQL))
        .and(header("X-Shopify-Access-Token", TOKEN))
        .and(header("Content-Type", "application/json"))
        .and(QueryContains(operation))
}

fn cost(requested: f64, available: f64, restore_rate: f64) -> Value {
    json!({ "cost": {
        "requestedQueryCost": requested,
        "actualQueryCost": null,
        "throttleStatus": {
            "maximumAvailable": 2000.0,
            "currentlyAvailable": available,
            "restoreRate": restore_rate,
        },
    } })
}

fn data(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "data": data, "extensions": cost(10.0, 1990.0, 100.0) }))
}

fn throttled(requested: f64, available: f64, restore_rate: f64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "errors": [{
            "message": "Throttled",
            "extensions": { "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits" },
        }],
        "extensions": cost(requested, available, restore_rate),
    }))
}

fn gold() -> StageSpec {
    StageSpec {
        name: "Gold Circle".to_owned(),
        slug: "gold-circle".to_owned(),
        discount_hundredths: 1_500,
        ids: StageIds {
            club_id: Some("c7-club".to_owned()),
            promotion_id: Some("c7-promotion".to_owned()),
            discount_id: None,
            tag: None,
        },
    }
}

fn gold_ids() -> StageIds {
    StageIds {
        discount_id: Some(DISCOUNT.to_owned()),
        tag: Some("vinculum-gold-circle".to_owned()),
        ..StageIds::default()
    }
}

fn customer_node() -> Value {
    json!({
        "id": CUSTOMER,
        "firstName": "Ann",
        "lastName": "Lee",
        "defaultEmailAddress": { "emailAddress": "ann@example.com" },
        "defaultPhoneNumber": { "phoneNumber": "+15551234567" },
        "email": "ann@example.com",
        "phone": "+15551234567",
    })
}

fn ann() -> CrmCustomer {
    CrmCustomer {
        id: CUSTOMER.to_owned(),
        email: Some("ann@example.com".to_owned()),
        first_name: Some("Ann".to_owned()),
        last_name: Some("Lee".to_owned()),
        phone: Some("+15551234567".to_owned()),
    }
}

fn discount_updated() -> ResponseTemplate {
    data(json!({ "discountCodeBasicUpdate": {
        "codeDiscountNode": { "id": DISCOUNT },
        "userErrors": [],
    } }))
}

fn tags_changed(field: &str) -> ResponseTemplate {
    data(json!({ field: { "node": { "id": CUSTOMER }, "userErrors": [] } }))
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A mock that fails the test if the client makes any call at all.
async fn no_calls(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(server)
        .await;
}

#[tokio::test]
async fn ensure_stage_creates_a_discount_for_a_new_stage() {
    // Arrange
    let server = MockServer::start().await;
    graphql("discountCodeBasicCreate")
        .and(body_partial_json(json!({ "variables": { "d": {
            "title": "Gold Circle member discount",
            "context": { "customers": { "add": [] } },
            "customerGets": { "value": { "percentage": 0.15 }, "items": { "all": true } },
            "appliesOncePerCustomer": false,
            "combinesWith": { "orderDiscounts": false, "productDiscounts": false, "shippingDiscounts": true },
        } } })))
        .respond_with(data(json!({ "discountCodeBasicCreate": {
            "codeDiscountNode": { "id": DISCOUNT },
            "userErrors": [],
        } })))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let ids = client(&server)
        .ensure_stage(&gold())
        .await
        .expect("the stage is created");

    // Assert
    assert_eq!(
        ids,
        StageIds {
            club_id: Some("c7-club".to_owned()),
            promotion_id: Some("c7-promotion".to_owned()),
            discount_id: Some(DISCOUNT.to_owned()),
            tag: Some("vinculum-gold-circle".to_owned()),
        }
    );
    let requests = server.received_requests().await.expect("recorded requests");
    let sent: Value = requests[0].body_json().expect("a JSON body");
    let discount = &sent["variables"]["d"];
    let code = discount["code"].as_str().expect("a code");
    let suffix = code
        .strip_prefix("VINCULUM-GOLD-CIRCLE-")
        .expect("the stage's prefix");
    assert_eq!(suffix.len(), 6);
    assert!(
        suffix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(discount["context"]["customers"]["add"], json!([]));
    let starts = discount["startsAt"].as_str().expect("a start");
    assert!(DateTime::parse_from_rfc3339(starts).is_ok(), "{starts}");
}

#[tokio::test]
async fn ensure_stage_updates_the_existing_discount_without_creating_another() {
    // Arrange
    let server = MockServer::start().await;
    graphql("discountCodeBasicUpdate")
        .and(body_partial_json(json!({ "variables": {
            "id": DISCOUNT,
            "d": {
                "title": "Gold Circle member discount",
                "customerGets": { "value": { "percentage": 0.15 }, "items": { "all": true } },
            },
        } })))
        .respond_with(discount_updated())
        .expect(1)
        .mount(&server)
        .await;
    graphql("discountCodeBasicCreate")
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let mut stage = gold();
    stage.ids.discount_id = Some(DISCOUNT.to_owned());

    // Act
    let ids = client(&server)
        .ensure_stage(&stage)
        .await
        .expect("the stage is updated");

    // Assert
    assert_eq!(ids.discount_id.as_deref(), Some(DISCOUNT));
    assert_eq!(ids.tag.as_deref(), Some("vinculum-gold-circle"));
    assert_eq!(ids.club_id.as_deref(), Some("c7-club"));
}

#[tokio::test]
async fn a_grant_adds_the_customer_to_the_discount_then_tags_them() {
    // Arrange
    let server = MockServer::start().await;
    graphql("discountCodeBasicUpdate")
        .and(body_partial_json(json!({ "variables": {
            "id": DISCOUNT,
            "d": { "context": { "customers": { "add": [CUSTOMER] } } },
        } })))
        .respond_with(discount_updated())
        .expect(1)
        .mount(&server)
        .await;
    graphql("tagsAdd")
        .and(body_partial_json(json!({ "variables": {
            "id": CUSTOMER,
            "tags": ["vinculum-gold-circle"],
        } })))
        .respond_with(tags_changed("tagsAdd"))
        .expect(1)
        .mount(&server)
        .await;

    // Act: a REST-style numeric id is turned into the customer's GID.
    let membership = client(&server)
        .grant(&gold_ids(), "544365967", now())
        .await
        .expect("the grant succeeds");

    // Assert
    assert_eq!(membership, None);
}

#[tokio::test]
async fn a_grant_for_a_stage_without_a_discount_is_rejected_without_a_call() {
    let server = MockServer::start().await;
    no_calls(&server).await;

    let error = client(&server)
        .grant(&StageIds::default(), CUSTOMER, now())
        .await
        .expect_err("no discount to grant");

    assert!(matches!(error, CrmError::Rejected { .. }), "{error:?}");
}

#[tokio::test]
async fn a_grant_refused_with_user_errors_is_rejected_and_tags_nobody() {
    // Arrange
    let server = MockServer::start().await;
    graphql("discountCodeBasicUpdate")
        .and(body_partial_json(json!({ "variables": { "id": DISCOUNT } })))
        .respond_with(data(json!({ "discountCodeBasicUpdate": {
            "codeDiscountNode": null,
            "userErrors": [{ "field": ["id"], "message": "Discount does not exist", "code": "INVALID" }],
        } })))
        .expect(1)
        .mount(&server)
        .await;
    graphql("tagsAdd")
        .respond_with(tags_changed("tagsAdd"))
        .expect(0)
        .mount(&server)
        .await;

    // Act
    let error = client(&server)
        .grant(&gold_ids(), CUSTOMER, now())
        .await
        .expect_err("Shopify refuses");

    // Assert
    assert!(!error.is_retryable());
    assert!(matches!(error, CrmError::Rejected { .. }), "{error:?}");
    assert!(
        error.to_string().contains("id: Discount does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn a_revoke_removes_the_customer_from_the_discount_then_untags_them() {
    // Arrange
    let server = MockServer::start().await;
    graphql("discountCodeBasicUpdate")
        .and(body_partial_json(json!({ "variables": {
            "id": DISCOUNT,
            "d": { "context": { "customers": { "remove": [CUSTOMER] } } },
        } })))
        .respond_with(discount_updated())
        .expect(1)
        .mount(&server)
        .await;
    graphql("tagsRemove")
        .and(body_partial_json(json!({ "variables": {
            "id": CUSTOMER,
            "tags": ["vinculum-gold-circle"],
        } })))
        .respond_with(tags_changed("tagsRemove"))
        .expect(1)
        .mount(&server)
        .await;

    // Act and assert
    client(&server)
        .revoke(&gold_ids(), CUSTOMER, None, now())
        .await
        .expect("the revoke succeeds");
}

#[tokio::test]
async fn a_move_leaves_the_old_stage_then_joins_the_new_one() {
    // Arrange
    let server = MockServer::start().await;
    let silver = StageIds {
        discount_id: Some("gid://shopify/DiscountCodeNode/2".to_owned()),
        tag: Some("vinculum-silver".to_owned()),
        ..StageIds::default()
    };
    graphql("discountCodeBasicUpdate")
        .and(body_partial_json(json!({ "variables": {
            "id": "gid://shopify/DiscountCodeNode/2",
            "d": { "context": { "customers": { "remove": [CUSTOMER] } } },
        } })))
        .respond_with(discount_updated())
        .expect(1)
        .mount(&server)
        .await;
    graphql("tagsRemove")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER, "tags": ["vinculum-silver"] } }),
        ))
        .respond_with(tags_changed("tagsRemove"))
        .expect(1)
        .mount(&server)
        .await;
    graphql("discountCodeBasicUpdate")
        .and(body_partial_json(json!({ "variables": {
            "id": DISCOUNT,
            "d": { "context": { "customers": { "add": [CUSTOMER] } } },
        } })))
        .respond_with(discount_updated())
        .expect(1)
        .mount(&server)
        .await;
    graphql("tagsAdd")
        .and(body_partial_json(json!({ "variables": {
            "id": CUSTOMER,
            "tags": ["vinculum-gold-circle"],
        } })))
        .respond_with(tags_changed("tagsAdd"))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let membership = client(&server)
        .move_stage(&silver, &gold_ids(), CUSTOMER, None, now())
        .await
        .expect("the move succeeds");

    // Assert
    assert_eq!(membership, None);
}

#[tokio::test]
async fn find_customer_by_email_returns_the_matching_customer() {
    let server = MockServer::start().await;
    graphql("customers(first: 1, query: $q)")
        .and(body_partial_json(
            json!({ "variables": { "q": "email:ann@example.com" } }),
        ))
        .respond_with(data(json!({ "customers": { "nodes": [customer_node()] } })))
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .find_customer_by_email("ann@example.com")
        .await
        .expect("the search succeeds");

    assert_eq!(found, Some(ann()));
}

#[tokio::test]
async fn find_customer_by_email_returns_none_when_shopify_has_nobody() {
    let server = MockServer::start().await;
    graphql("customers(first: 1, query: $q)")
        .and(body_partial_json(
            json!({ "variables": { "q": "email:nobody@example.com" } }),
        ))
        .respond_with(data(json!({ "customers": { "nodes": [] } })))
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .find_customer_by_email("nobody@example.com")
        .await
        .expect("the search succeeds");

    assert_eq!(found, None);
}

#[tokio::test]
async fn fetch_customer_reads_the_customer_by_gid() {
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER } }),
        ))
        .respond_with(data(json!({ "customer": customer_node() })))
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .fetch_customer("544365967")
        .await
        .expect("the fetch succeeds");

    assert_eq!(found, Some(ann()));
}

#[tokio::test]
async fn fetch_customer_returns_none_for_an_unknown_customer() {
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": "gid://shopify/Customer/1" } }),
        ))
        .respond_with(data(json!({ "customer": null })))
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .fetch_customer("gid://shopify/Customer/1")
        .await
        .expect("the fetch succeeds");

    assert_eq!(found, None);
}

#[tokio::test]
async fn upsert_customer_returns_the_existing_customer_without_creating_one() {
    let server = MockServer::start().await;
    graphql("customers(first: 1, query: $q)")
        .and(body_partial_json(
            json!({ "variables": { "q": "email:ann@example.com" } }),
        ))
        .respond_with(data(json!({ "customers": { "nodes": [customer_node()] } })))
        .expect(1)
        .mount(&server)
        .await;
    graphql("customerCreate")
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;

    let id = client(&server)
        .upsert_customer(&CustomerData {
            email: "ann@example.com".to_owned(),
            first_name: Some("Ann".to_owned()),
            last_name: None,
            phone: None,
        })
        .await
        .expect("the upsert succeeds");

    assert_eq!(id, CUSTOMER);
}

#[tokio::test]
async fn upsert_customer_creates_a_missing_customer() {
    // Arrange
    let server = MockServer::start().await;
    graphql("customers(first: 1, query: $q)")
        .and(body_partial_json(
            json!({ "variables": { "q": "email:bo@example.com" } }),
        ))
        .respond_with(data(json!({ "customers": { "nodes": [] } })))
        .expect(1)
        .mount(&server)
        .await;
    graphql("customerCreate")
        .and(body_partial_json(json!({ "variables": { "input": {
            "email": "bo@example.com",
            "firstName": "Bo",
            "lastName": "Ng",
            "phone": "+15550001111",
        } } })))
        .respond_with(data(json!({ "customerCreate": {
            "customer": { "id": "gid://shopify/Customer/77" },
            "userErrors": [],
        } })))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let id = client(&server)
        .upsert_customer(&CustomerData {
            email: "bo@example.com".to_owned(),
            first_name: Some("Bo".to_owned()),
            last_name: Some("Ng".to_owned()),
            phone: Some("+15550001111".to_owned()),
        })
        .await
        .expect("the upsert succeeds");

    // Assert
    assert_eq!(id, "gid://shopify/Customer/77");
}

#[tokio::test]
async fn a_customer_create_refused_with_user_errors_is_rejected_and_not_retried() {
    // Arrange
    let server = MockServer::start().await;
    graphql("customers(first: 1, query: $q)")
        .and(body_partial_json(
            json!({ "variables": { "q": "email:bo@example.com" } }),
        ))
        .respond_with(data(json!({ "customers": { "nodes": [] } })))
        .expect(1)
        .mount(&server)
        .await;
    graphql("customerCreate")
        .and(body_partial_json(
            json!({ "variables": { "input": { "email": "bo@example.com", "phone": "12" } } }),
        ))
        .respond_with(data(json!({ "customerCreate": {
            "customer": null,
            "userErrors": [{ "field": ["phone"], "message": "Phone is invalid" }],
        } })))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let error = client(&server)
        .upsert_customer(&CustomerData {
            email: "bo@example.com".to_owned(),
            first_name: None,
            last_name: None,
            phone: Some("12".to_owned()),
        })
        .await
        .expect_err("Shopify refuses");

    // Assert
    assert!(!error.is_retryable());
    assert_eq!(
        error,
        CrmError::Rejected {
            status: None,
            message: "creating the customer: phone: Phone is invalid".to_owned(),
        }
    );
}

fn order_node(financial: &str, cancelled_at: Value) -> Value {
    json!({
        "id": "gid://shopify/Order/820982911946154508",
        "createdAt": "2026-03-01T15:15:00Z",
        "cancelledAt": cancelled_at,
        "displayFinancialStatus": financial,
        "customer": { "id": CUSTOMER },
        "subtotalPriceSet": { "shopMoney": { "amount": "180.0" } },
        "totalDiscountsSet": { "shopMoney": { "amount": "20.0" } },
        "totalTaxSet": { "shopMoney": { "amount": "14.4" } },
        "totalShippingPriceSet": { "shopMoney": { "amount": "5.25" } },
        "totalPriceSet": { "shopMoney": { "amount": "199.65" } },
        "totalRefundedSet": { "shopMoney": { "amount": "40.5" } },
    })
}

#[tokio::test]
async fn fetch_order_reads_the_amounts_and_the_status() {
    // Arrange
    let server = MockServer::start().await;
    graphql("order(id: $id)")
        .and(body_partial_json(json!({ "variables": {
            "id": "gid://shopify/Order/820982911946154508",
        } })))
        .respond_with(data(
            json!({ "order": order_node("PARTIALLY_REFUNDED", Value::Null) }),
        ))
        .expect(1)
        .mount(&server)
        .await;

    // Act: a numeric id from a webhook is turned into the order's GID.
    let order = client(&server)
        .fetch_order("820982911946154508")
        .await
        .expect("the fetch succeeds")
        .expect("the order exists");

    // Assert
    assert_eq!(order.id, "gid://shopify/Order/820982911946154508");
    assert_eq!(order.customer_id.as_deref(), Some(CUSTOMER));
    assert_eq!(order.placed_at.to_rfc3339(), "2026-03-01T15:15:00+00:00");
    assert_eq!(order.status, OrderStatus::PartiallyRefunded);
    assert_eq!(
        order.amounts,
        OrderAmounts {
            subtotal: Money::from_cents(20_000),
            discount: Money::from_cents(2_000),
            tax: Money::from_cents(1_440),
            shipping: Money::from_cents(525),
            total: Money::from_cents(19_965),
        }
    );
    assert_eq!(order.refunded, Money::from_cents(4_050));
}

#[tokio::test]
async fn fetch_order_of_a_cancelled_order_says_cancelled() {
    let server = MockServer::start().await;
    graphql("order(id: $id)")
        .and(body_partial_json(json!({ "variables": {
            "id": "gid://shopify/Order/820982911946154508",
        } })))
        .respond_with(data(json!({
            "order": order_node("PAID", json!("2026-03-02T09:00:00Z")),
        })))
        .expect(1)
        .mount(&server)
        .await;

    let order = client(&server)
        .fetch_order("gid://shopify/Order/820982911946154508")
        .await
        .expect("the fetch succeeds")
        .expect("the order exists");

    assert_eq!(order.status, OrderStatus::Cancelled);
}

#[tokio::test]
async fn fetch_order_returns_none_for_an_unknown_order() {
    let server = MockServer::start().await;
    graphql("order(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": "gid://shopify/Order/1" } }),
        ))
        .respond_with(data(json!({ "order": null })))
        .expect(1)
        .mount(&server)
        .await;

    let order = client(&server)
        .fetch_order("1")
        .await
        .expect("the fetch succeeds");

    assert_eq!(order, None);
}

#[tokio::test]
async fn a_throttled_call_waits_and_succeeds_on_the_second_try() {
    // Arrange: (11 - 10) / 100 = 10 ms to wait.
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER } }),
        ))
        .respond_with(throttled(11.0, 10.0, 100.0))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER } }),
        ))
        .respond_with(data(json!({ "customer": customer_node() })))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let found = client(&server)
        .fetch_customer(CUSTOMER)
        .await
        .expect("the second try succeeds");

    // Assert
    assert_eq!(found, Some(ann()));
    assert_eq!(server.received_requests().await.expect("recorded").len(), 2);
}

#[tokio::test]
async fn a_call_throttled_for_longer_than_two_seconds_goes_back_as_transient() {
    // Arrange: (1000 - 0) / 50 = 20 s to wait.
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER } }),
        ))
        .respond_with(throttled(1000.0, 0.0, 50.0))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let error = client(&server)
        .fetch_customer(CUSTOMER)
        .await
        .expect_err("throttled");

    // Assert
    assert!(error.is_retryable());
    assert!(
        matches!(
            error,
            CrmError::Transient { retry_after: Some(wait), .. } if wait == Duration::from_secs(20)
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_call_still_throttled_after_three_tries_goes_back_as_transient() {
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER } }),
        ))
        .respond_with(throttled(11.0, 10.0, 100.0))
        .expect(3)
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_customer(CUSTOMER)
        .await
        .expect_err("throttled three times");

    assert!(
        matches!(
            error,
            CrmError::Transient {
                retry_after: Some(_),
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_http_429_with_a_short_retry_after_is_retried_in_line() {
    // Arrange
    let server = MockServer::start().await;
    graphql("tagsAdd")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER, "tags": ["vinculum-gold-circle"] } }),
        ))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    graphql("tagsAdd")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER, "tags": ["vinculum-gold-circle"] } }),
        ))
        .respond_with(tags_changed("tagsAdd"))
        .expect(1)
        .mount(&server)
        .await;
    graphql("discountCodeBasicUpdate")
        .and(body_partial_json(json!({ "variables": {
            "id": DISCOUNT,
            "d": { "context": { "customers": { "add": [CUSTOMER] } } },
        } })))
        .respond_with(discount_updated())
        .expect(1)
        .mount(&server)
        .await;

    // Act and assert
    client(&server)
        .grant(&gold_ids(), CUSTOMER, now())
        .await
        .expect("the retried tag succeeds");
}

#[tokio::test]
async fn an_http_429_with_a_long_retry_after_goes_back_as_transient() {
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER } }),
        ))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "30")
                .set_body_json(json!({ "errors": [{ "message": "Throttled" }] })),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_customer(CUSTOMER)
        .await
        .expect_err("rate limited");

    assert!(
        matches!(
            error,
            CrmError::Transient { retry_after: Some(wait), .. } if wait == Duration::from_secs(30)
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_server_error_is_transient_and_not_retried_in_line() {
    let server = MockServer::start().await;
    graphql("order(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": "gid://shopify/Order/5" } }),
        ))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_order("5")
        .await
        .expect_err("Shopify is down");

    assert!(
        matches!(
            error,
            CrmError::Transient {
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_refused_access_token_is_unauthorized() {
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(json!({ "variables": { "id": CUSTOMER } })))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" }),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_customer(CUSTOMER)
        .await
        .expect_err("bad token");

    assert!(matches!(error, CrmError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("Invalid API key"), "{error}");
}

#[tokio::test]
async fn access_denied_in_the_graphql_errors_is_unauthorized() {
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(json!({ "variables": { "id": CUSTOMER } })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errors": [{
                "message": "Access denied for customer field. Required access: `read_customers` access scope.",
                "extensions": { "code": "ACCESS_DENIED" },
            }],
            "data": { "customer": null },
        })))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_customer(CUSTOMER)
        .await
        .expect_err("missing scope");

    assert!(matches!(error, CrmError::Unauthorized { .. }), "{error:?}");
}

#[tokio::test]
async fn other_graphql_errors_are_rejected() {
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": "not-a-gid" } }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errors": [{ "message": "Invalid global id 'not-a-gid'", "extensions": { "code": "argumentLiteralsIncompatible" } }],
        })))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_customer("not-a-gid")
        .await
        .expect_err("a bad id");

    assert!(!error.is_retryable());
    assert!(matches!(error, CrmError::Rejected { .. }), "{error:?}");
    assert!(error.to_string().contains("Invalid global id"), "{error}");
}

#[tokio::test]
async fn a_slow_answer_times_out_as_transient() {
    let server = MockServer::start().await;
    graphql("customer(id: $id)")
        .and(body_partial_json(
            json!({ "variables": { "id": CUSTOMER } }),
        ))
        .respond_with(
            data(json!({ "customer": customer_node() })).set_delay(Duration::from_secs(2)),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = client_with_timeout(&server, Duration::from_millis(200))
        .fetch_customer(CUSTOMER)
        .await
        .expect_err("timed out");

    assert!(error.is_retryable());
    assert!(error.to_string().contains("timed out"), "{error}");
}

fn token_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": "shpat_new",
        "scope": "read_customers,write_discounts",
        "expires_in": 3600,
        "refresh_token": "shprt_new",
        "refresh_token_expires_in": 7_776_000,
    }))
}

fn token_endpoint(body: Value) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path("/admin/oauth/access_token"))
        .and(header("Content-Type", "application/json"))
        .and(body_json(body))
}

#[tokio::test]
async fn exchange_code_trades_the_install_code_for_expiring_tokens() {
    // Arrange
    let server = MockServer::start().await;
    token_endpoint(json!({
        "client_id": "test-client-id",
        "client_secret": "test-client-secret",
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "expiring": "1",
    }))
    .respond_with(token_answer())
    .expect(1)
    .mount(&server)
    .await;

    // Act
    let tokens = shopify::exchange_code(
        &http(Duration::from_secs(2)),
        &app(&server),
        SHOP,
        "0907a61c0c8d55e99db179b68161bc00",
    )
    .await
    .expect("the exchange succeeds");

    // Assert
    assert_eq!(tokens.access_token.expose_secret(), "shpat_new");
    assert_eq!(
        tokens.scope.as_deref(),
        Some("read_customers,write_discounts")
    );
    assert_eq!(tokens.expires_in, Some(3600));
    assert_eq!(
        tokens
            .refresh_token
            .as_ref()
            .map(ExposeSecret::expose_secret),
        Some("shprt_new")
    );
    assert_eq!(tokens.refresh_token_expires_in, Some(7_776_000));
}

#[tokio::test]
async fn exchange_session_token_uses_the_token_exchange_grant() {
    // Arrange
    let server = MockServer::start().await;
    token_endpoint(json!({
        "client_id": "test-client-id",
        "client_secret": "test-client-secret",
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": "header.payload.signature",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
        "expiring": "1",
    }))
    .respond_with(token_answer())
    .expect(1)
    .mount(&server)
    .await;

    // Act
    let tokens = shopify::exchange_session_token(
        &http(Duration::from_secs(2)),
        &app(&server),
        SHOP,
        "header.payload.signature",
    )
    .await
    .expect("the exchange succeeds");

    // Assert
    assert_eq!(tokens.access_token.expose_secret(), "shpat_new");
}

#[tokio::test]
async fn refresh_token_sends_the_refresh_grant() {
    // Arrange
    let server = MockServer::start().await;
    token_endpoint(json!({
        "client_id": "test-client-id",
        "client_secret": "test-client-secret",
        "grant_type": "refresh_token",
        "refresh_token": "shprt_old",
    }))
    .respond_with(
        ResponseTemplate::new(200)
            .set_body_json(json!({ "access_token": "shpat_next", "expires_in": 3600 })),
    )
    .expect(1)
    .mount(&server)
    .await;

    // Act
    let tokens = shopify::refresh_token(
        &http(Duration::from_secs(2)),
        &app(&server),
        SHOP,
        &SecretString::from("shprt_old"),
    )
    .await
    .expect("the refresh succeeds");

    // Assert
    assert_eq!(tokens.access_token.expose_secret(), "shpat_next");
    assert!(tokens.refresh_token.is_none());
    assert_eq!(tokens.scope, None);
}

#[tokio::test]
async fn an_invalid_session_token_is_rejected_with_shopifys_reason() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/admin/oauth/access_token"))
        .and(body_partial_json(
            json!({ "subject_token": "expired.session.token" }),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_subject_token",
            "error_description": "Session token is expired",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let error = shopify::exchange_session_token(
        &http(Duration::from_secs(2)),
        &app(&server),
        SHOP,
        "expired.session.token",
    )
    .await
    .expect_err("refused");

    assert!(
        matches!(
            error,
            CrmError::Rejected {
                status: Some(400),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("Session token is expired"),
        "{error}"
    );
}

#[tokio::test]
async fn a_token_request_for_a_shop_outside_myshopify_is_refused_without_a_call() {
    let server = MockServer::start().await;
    no_calls(&server).await;

    let error = shopify::exchange_code(
        &http(Duration::from_secs(2)),
        &app(&server),
        "evil.example.com",
        "code",
    )
    .await
    .expect_err("not a Shopify shop");

    assert!(matches!(error, CrmError::Rejected { .. }), "{error:?}");
}

#[tokio::test]
async fn a_token_answer_without_an_access_token_is_transient() {
    let server = MockServer::start().await;
    token_endpoint(json!({
        "client_id": "test-client-id",
        "client_secret": "test-client-secret",
        "code": "abc",
        "expiring": "1",
    }))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "scope": "read_customers" })))
    .expect(1)
    .mount(&server)
    .await;

    let error = shopify::exchange_code(&http(Duration::from_secs(2)), &app(&server), SHOP, "abc")
        .await
        .expect_err("no token");

    assert!(error.is_retryable(), "{error:?}");
}
