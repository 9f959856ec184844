//! The CRM sync worker (D22) against a real database and a Commerce7 stand-in (wiremock): retries
//! with backoff, failure after the last attempt and "retry now", a worker that dies mid-item, and
//! per-customer order.

mod common;

use backend::crm::commerce7::AppCredentials;
use backend::crm::registry::{CrmConfig, Registry};
use backend::crm::sync::{self, LEASE};
use backend::db::audit::Actor;
use backend::db::{self, crm as q};
use backend::orders::{ClubClient, process_order};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct World {
    pool: PgPool,
    owner: PgPool,
    club: ClubClient,
    crm: MockServer,
    registry: Registry,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

impl World {
    async fn new(options: &PgConnectOptions) -> Self {
        let pool = common::app_pool(options).await;
        let owner = common::owner_pool(options).await;
        let club = common::club_winery(&pool, &owner, "UTC").await;
        let mut tx = db::begin_scoped(&pool, club.id).await.expect("tx");
        q::save_connection(&mut tx, club.id, "commerce7", b"sealed", &json!([]))
            .await
            .expect("connection");
        tx.commit().await.expect("commit");
        let crm = MockServer::start().await;
        let credentials = AppCredentials {
            app_id: "my-app-id".to_owned(),
            app_secret: "my-app-secret".to_owned().into(),
        };
        let registry = Registry::new(
            CrmConfig {
                commerce7_base: crm.uri(),
                commerce7: Some(credentials.clone()),
                commerce7_install: None,
                sandbox_base: crm.uri(),
                sandbox: credentials,
                shopify: None,
                public_url: "http://127.0.0.1:3000".to_owned(),
                timeout: std::time::Duration::from_secs(2),
            },
            None,
        )
        .expect("registry");
        Self {
            pool,
            owner,
            club,
            crm,
            registry,
        }
    }

    /// The Commerce7 of a healthy tenant: Ann exists as `c-1` with no clubs; clubs and promotions
    /// are created on demand. Membership creation is mounted by each test.
    async fn healthy_crm(&self) {
        Mock::given(method("GET"))
            .and(path("/customer"))
            .and(query_param("q", "ann@example.com"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "customers": [{"id": "c-1", "firstName": "Ann", "emails": [{"id": "e-1", "email": "ann@example.com"}]}],
                "total": 1
            })))
            .mount(&self.crm)
            .await;
        Mock::given(method("GET"))
            .and(path("/customer/c-1"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"id": "c-1", "clubs": []})),
            )
            .mount(&self.crm)
            .await;
        Mock::given(method("POST"))
            .and(path("/club"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "club-1"})))
            .mount(&self.crm)
            .await;
        Mock::given(method("POST"))
            .and(path("/promotion"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "promo-1"})))
            .mount(&self.crm)
            .await;
    }

    async fn memberships_answer(&self, status: u16, times: Option<u64>, priority: u8) {
        let body = if status == 200 {
            json!({"id": "m-1", "status": "Active"})
        } else {
            json!({"statusCode": status, "type": "error", "message": "Service unavailable"})
        };
        let mock = Mock::given(method("POST"))
            .and(path("/club-membership"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .with_priority(priority);
        match times {
            Some(n) => mock.up_to_n_times(n).mount(&self.crm).await,
            None => mock.mount(&self.crm).await,
        }
    }

    async fn order(&self, id: &str, when: &str, cents: i64) {
        process_order(
            &self.pool,
            &self.club,
            &common::paid_order(id, "ann@example.com", at(when), cents),
            &Actor::System {
                job: "test".to_owned(),
            },
            at(when),
        )
        .await
        .expect("order");
    }

    /// (action, status, attempts, error), oldest first.
    async fn queue(&self) -> Vec<(String, String, i32, Option<String>)> {
        sqlx::query_as(
            "select action_type, status, attempts, error_message from crm_sync_queue where client_id = $1 order by sequence",
        )
        .bind(self.club.id.as_uuid())
        .fetch_all(&self.owner)
        .await
        .expect("queue")
    }

    async fn pass(&self, now: DateTime<Utc>) -> sync::PassReport {
        sync::run_due(&self.pool, &self.registry, now)
            .await
            .expect("pass")
    }

    /// The requests the CRM received: "METHOD path".
    async fn calls(&self) -> Vec<String> {
        self.crm
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect()
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_crm_that_fails_three_times_then_succeeds_completes_the_item_with_four_attempts(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let w = World::new(&options).await;
    w.healthy_crm().await;
    w.memberships_answer(503, Some(3), 1).await;
    w.memberships_answer(200, None, 5).await;
    w.order("O1", "2026-01-01T12:00:00Z", 9_000).await;

    let mut now = at("2026-01-01T12:00:00Z");
    for expected in 1..=3 {
        let report = w.pass(now).await;
        assert_eq!(report.retrying, 1, "try {expected}");
        let queue = w.queue().await;
        assert_eq!(queue[0].1, "pending");
        assert_eq!(queue[0].2, expected);
        assert!(
            queue[0]
                .3
                .as_deref()
                .is_some_and(|e| e.contains("Service unavailable")),
            "{queue:?}"
        );
        // Not due before its backoff (at least 54 s after the first try).
        assert_eq!(
            w.pass(now + Duration::seconds(30)).await,
            sync::PassReport::default()
        );
        now += Duration::hours(2);
    }
    let report = w.pass(now).await;
    assert_eq!(report.completed, 1);
    assert_eq!(
        w.queue().await,
        [("grant".to_owned(), "completed".to_owned(), 4, None)]
    );
    let (club, promotion, membership): (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as(
            "select s.crm_club_id, s.crm_promotion_id, m.crm_membership_id
             from crm_memberships m join club_stages s on s.id = m.stage_id where m.status = 'active'",
        )
        .fetch_one(&w.owner)
        .await
        .expect("membership");
    assert_eq!(
        (club.as_deref(), promotion.as_deref(), membership.as_deref()),
        (Some("club-1"), Some("promo-1"), Some("m-1"))
    );
    let crm_id: Option<String> = sqlx::query_scalar("select crm_id from customers")
        .fetch_one(&w.owner)
        .await
        .expect("customer");
    assert_eq!(crm_id.as_deref(), Some("c-1"));
    let posts = w
        .calls()
        .await
        .iter()
        .filter(|c| *c == "POST /club")
        .count();
    assert_eq!(posts, 1, "the club is created once, not per try");
    // The winery's wake-up is gone: nothing is due.
    let wakeups: i64 = sqlx::query_scalar("select count(*) from crm_wakeups")
        .fetch_one(&w.owner)
        .await
        .expect("count");
    assert_eq!(wakeups, 0);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_crm_down_for_good_fails_the_item_after_the_last_attempt_and_retry_now_brings_it_back(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let w = World::new(&options).await;
    w.healthy_crm().await;
    w.memberships_answer(500, Some(10), 1).await;
    w.memberships_answer(200, None, 5).await;
    w.order("O1", "2026-01-01T12:00:00Z", 9_000).await;

    let mut now = at("2026-01-01T12:00:00Z");
    for _ in 1..10 {
        assert_eq!(w.pass(now).await.retrying, 1);
        now += Duration::hours(2);
    }
    let last = w.pass(now).await;
    assert_eq!((last.retrying, last.failed), (0, 1));
    let queue = w.queue().await;
    assert_eq!((queue[0].1.as_str(), queue[0].2), ("failed", 10));
    // A failed item is never picked up again by itself.
    assert_eq!(
        w.pass(now + Duration::days(3)).await,
        sync::PassReport::default()
    );

    let item: uuid::Uuid = sqlx::query_scalar("select id from crm_sync_queue")
        .fetch_one(&w.owner)
        .await
        .expect("item");
    let mut tx = db::begin_scoped(&w.pool, w.club.id).await.expect("tx");
    assert!(
        q::retry_item(&mut tx, w.club.id, item, now)
            .await
            .expect("retry")
    );
    tx.commit().await.expect("commit");
    assert_eq!(w.pass(now).await.completed, 1);
    assert_eq!(
        w.queue().await,
        [("grant".to_owned(), "completed".to_owned(), 1, None)]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_worker_killed_mid_item_loses_nothing_the_item_runs_again_after_the_lease(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let w = World::new(&options).await;
    w.healthy_crm().await;
    w.memberships_answer(200, None, 5).await;
    w.order("O1", "2026-01-01T12:00:00Z", 9_000).await;
    let now = at("2026-01-01T12:00:00Z");

    // A worker takes the winery and the item, then dies before calling the CRM.
    let mut tx = db::begin_platform(&w.pool).await.expect("tx");
    let wakeups = q::claim_wakeups(&mut tx, now, now + LEASE, 20)
        .await
        .expect("claim");
    tx.commit().await.expect("commit");
    assert_eq!(wakeups.len(), 1);
    let mut tx = db::begin_scoped(&w.pool, w.club.id).await.expect("tx");
    let items = q::claim_items(&mut tx, w.club.id, now, now + LEASE, 25)
        .await
        .expect("claim");
    tx.commit().await.expect("commit");
    assert_eq!(items.len(), 1);

    // Inside the lease, nobody else touches it.
    assert_eq!(
        w.pass(now + Duration::minutes(5)).await,
        sync::PassReport::default()
    );
    assert_eq!(w.queue().await[0].1, "processing");
    assert!(w.calls().await.is_empty());

    // After the lease, it runs again and completes.
    let report = w.pass(now + LEASE + Duration::seconds(1)).await;
    assert_eq!(report.completed, 1);
    assert_eq!(
        w.queue().await,
        [("grant".to_owned(), "completed".to_owned(), 2, None)]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_grant_and_a_revoke_for_one_customer_reach_the_crm_in_order(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let w = World::new(&options).await;
    w.healthy_crm().await;
    // The grant's first try fails; the revoke queued behind it must wait.
    w.memberships_answer(503, Some(1), 1).await;
    w.memberships_answer(200, None, 5).await;
    Mock::given(method("PUT"))
        .and(path_regex(r"^/club-membership/m-1$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "m-1", "status": "Cancelled"})),
        )
        .expect(1)
        .mount(&w.crm)
        .await;
    w.order("O1", "2026-01-01T12:00:00Z", 9_000).await;
    // Bronze lasts three months; the expiry job queues the revoke.
    let job = backend::jobs::find("expire-memberships").expect("job");
    backend::jobs::run(&w.pool, job, Some(w.club.id), at("2026-04-02T12:00:00Z"))
        .await
        .expect("expiry");
    let actions: Vec<String> = w.queue().await.into_iter().map(|q| q.0).collect();
    assert_eq!(actions, ["grant", "revoke"]);

    let now = at("2026-04-02T12:00:00Z");
    let first = w.pass(now).await;
    assert_eq!((first.completed, first.retrying), (0, 1));
    assert!(
        !w.calls()
            .await
            .iter()
            .any(|c| c.starts_with("PUT /club-membership")),
        "the revoke did not overtake the failed grant"
    );
    assert_eq!(w.queue().await[1].1, "pending");

    let second = w.pass(now + Duration::hours(1)).await;
    assert_eq!(second.completed, 2);
    let calls = w.calls().await;
    let created = calls
        .iter()
        .rposition(|c| c == "POST /club-membership")
        .expect("created");
    let cancelled = calls
        .iter()
        .position(|c| c == "PUT /club-membership/m-1")
        .expect("cancelled");
    assert!(created < cancelled, "{calls:?}");
    let cancel: Value = w
        .crm
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .find(|r| r.url.path() == "/club-membership/m-1")
        .map(|r| r.body_json().expect("json"))
        .expect("cancel request");
    assert_eq!(cancel["cancellationReason"], "Other");
    assert!(cancel["cancelDate"].as_str().is_some());
    let status: String = sqlx::query_scalar("select status from crm_memberships")
        .fetch_one(&w.owner)
        .await
        .expect("membership");
    assert_eq!(status, "cancelled");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_refused_shopify_token_is_refreshed_once_and_the_operation_sent_with_the_new_one(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    use backend::crm::shopify::{ShopifyApp, TokenSet};
    use secrecy::{ExposeSecret as _, SecretString};
    use wiremock::matchers::{body_string_contains, header};

    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let club = common::club_winery(&pool, &owner, "UTC").await;
    sqlx::query("update clients set crm_type = 'shopify', tenant_shop = 'cellar.myshopify.com' where id = $1")
        .bind(club.id.as_uuid())
        .execute(&owner)
        .await
        .expect("shopify winery");
    let shopify = MockServer::start().await;
    let cipher =
        backend::crypto::Cipher::from_hex(&SecretString::from("cd".repeat(32))).expect("key");
    let sandbox = AppCredentials {
        app_id: "unused".to_owned(),
        app_secret: "unused".to_owned().into(),
    };
    let registry = Registry::new(
        CrmConfig {
            commerce7_base: shopify.uri(),
            commerce7: None,
            commerce7_install: None,
            sandbox_base: shopify.uri(),
            sandbox,
            shopify: Some(ShopifyApp {
                api_key: "test-client-id".to_owned(),
                api_secret: SecretString::from("hush".to_owned()),
                scopes: "write_discounts".to_owned(),
                api_version: "2025-10".to_owned(),
                base_url: Some(shopify.uri()),
            }),
            public_url: "http://127.0.0.1:3000".to_owned(),
            timeout: std::time::Duration::from_secs(2),
        },
        Some(cipher.clone()),
    )
    .expect("registry");
    let mut tx = db::begin_scoped(&pool, club.id).await.expect("tx");
    q::save_connection(
        &mut tx,
        club.id,
        "shopify",
        &cipher.seal("unused"),
        &json!([]),
    )
    .await
    .expect("connection");
    tx.commit().await.expect("commit");
    let stale = TokenSet {
        access_token: SecretString::from("old-token".to_owned()),
        scope: None,
        expires_in: Some(3_600),
        refresh_token: Some(SecretString::from("refresh-1".to_owned())),
        refresh_token_expires_in: None,
    };
    registry
        .store_tokens(&pool, club.id, &stale, Utc::now())
        .await
        .expect("tokens");

    let graphql = "/admin/api/2025-10/graphql.json";
    let data = |d: Value| ResponseTemplate::new(200).set_body_json(json!({ "data": d }));
    Mock::given(method("POST"))
        .and(path(graphql))
        .and(header("x-shopify-access-token", "old-token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"errors": "[API] Invalid API key or access token"})),
        )
        .expect(1)
        .mount(&shopify)
        .await;
    Mock::given(method("POST"))
        .and(path("/admin/oauth/access_token"))
        .and(body_string_contains("refresh-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "new-token", "expires_in": 3600, "refresh_token": "refresh-2"
        })))
        .expect(1)
        .mount(&shopify)
        .await;
    let fresh = |needle: &'static str, answer: Value| {
        Mock::given(method("POST"))
            .and(path(graphql))
            .and(header("x-shopify-access-token", "new-token"))
            .and(body_string_contains(needle))
            .respond_with(data(answer))
    };
    fresh(
        "customers(first",
        json!({"customers": {"nodes": [
        {"id": "gid://shopify/Customer/7", "email": "ann@example.com", "firstName": "Ann"}]}}),
    )
    .expect(1)
    .mount(&shopify)
    .await;
    fresh(
        "discountCodeBasicCreate",
        json!({"discountCodeBasicCreate": {
        "codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1"}, "userErrors": []}}),
    )
    .expect(1)
    .mount(&shopify)
    .await;
    fresh(
        "discountCodeBasicUpdate",
        json!({"discountCodeBasicUpdate": {
        "codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1"}, "userErrors": []}}),
    )
    .expect(1)
    .mount(&shopify)
    .await;
    fresh(
        "tagsAdd",
        json!({"tagsAdd": {"node": {"id": "gid://shopify/Customer/7"}, "userErrors": []}}),
    )
    .expect(1)
    .mount(&shopify)
    .await;

    process_order(
        &pool,
        &club,
        &common::paid_order("O1", "ann@example.com", at("2026-01-01T12:00:00Z"), 9_000),
        &Actor::System {
            job: "test".to_owned(),
        },
        at("2026-01-01T12:00:00Z"),
    )
    .await
    .expect("order");
    let report = sync::run_due(&pool, &registry, at("2026-01-01T12:00:00Z"))
        .await
        .expect("pass");
    assert_eq!(report.completed, 1, "{report:?}");
    // The new token (and refresh token) are stored, sealed.
    let sealed: Vec<u8> =
        sqlx::query_scalar("select access_token_encrypted from platform_sessions")
            .fetch_one(&owner)
            .await
            .expect("token");
    assert_eq!(
        cipher.open(&sealed).expect("opens").expose_secret(),
        "new-token"
    );
}
