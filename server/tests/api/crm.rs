//! The CRM surface over HTTP: webhook abuse (D23), the Commerce7 install, uninstall and launch
//! against a mock Commerce7, the Shopify install-to-webhook round trip against a mock Shopify, and
//! the sandbox CRM end to end (a simulated order enrolls; the sandbox holds, then cancels, the
//! membership).

use crate::helpers::TestApp;
use backend::crm::commerce7::AppCredentials;
use backend::crm::shopify::ShopifyApp;
use backend::crm::signing;
use chrono::{Duration, Utc};
use domain::ids::ClientId;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Request headers: name and value.
type Headers = Vec<(&'static str, String)>;

const WEBHOOK_SECRET: &str = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f";

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&app.owner)
        .await
        .expect("count")
}

/// Rows in the tables a delivery could change, summed.
async fn domain_rows(app: &TestApp) -> i64 {
    let mut total = 0;
    for table in [
        "orders",
        "club_enrollments",
        "crm_sync_queue",
        "point_transactions",
        "audit_log",
    ] {
        total += count(app, table).await;
    }
    total + count(app, "customers").await
}

async fn tenant_of(app: &TestApp, winery: ClientId) -> String {
    sqlx::query_scalar("select tenant_shop from clients where id = $1")
        .bind(winery.as_uuid())
        .fetch_one(&app.owner)
        .await
        .expect("tenant")
}

/// Connects a winery to Commerce7 with a known webhook secret.
async fn connect(app: &TestApp, winery: ClientId, provider: &str) {
    let sealed = app.crm.cipher().expect("cipher").seal(WEBHOOK_SECRET);
    let mut tx = backend::db::begin_scoped(&app.pool, winery)
        .await
        .expect("tx");
    backend::db::crm::save_connection(&mut tx, winery, provider, &sealed, &json!([]))
        .await
        .expect("connection");
    tx.commit().await.expect("commit");
}

async fn post(
    app: &TestApp,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut request = app
        .client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("request")
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn commerce7_deliveries_need_the_tenant_secret_and_a_well_formed_body_and_replays_change_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    connect(&app, app.winery, "commerce7").await;
    let tenant = tenant_of(&app, app.winery).await;
    let url = app.url(&format!("/webhooks/c7/{tenant}/{WEBHOOK_SECRET}"));
    let event = json!({"object": "Order", "action": "Create", "tenantId": tenant,
                       "payload": {"id": "o-1", "updatedAt": "2026-03-01T12:00:00.000Z"}});
    let body = serde_json::to_vec(&event).expect("json");
    let before = domain_rows(&app).await;

    let cases: Vec<(String, Vec<u8>, u16)> = vec![
        (app.url(&format!("/webhooks/c7/{tenant}/not-the-secret")), body.clone(), 401),
        (app.url(&format!("/webhooks/c7/{tenant}/{}", &WEBHOOK_SECRET[..31])), body.clone(), 401),
        (app.url(&format!("/webhooks/c7/nobody/{WEBHOOK_SECRET}")), body.clone(), 404),
        (url.clone(), body[..body.len() / 2].to_vec(), 400),
        (url.clone(), b"not json at all".to_vec(), 400),
        (url.clone(), br#"{"object":"Order","action":"Create","payload":{}}"#.to_vec(), 400),
        (
            url.clone(),
            serde_json::to_vec(&json!({"object": "Order", "action": "Create", "tenantId": "someone-else", "payload": {"id": "o-1"}}))
                .expect("json"),
            400,
        ),
        (url.clone(), vec![b' '; 1024 * 1024 + 10], 413),
    ];
    for (target, payload, status) in cases {
        let res = post(&app, &target, payload, &[]).await;
        assert_eq!(
            res.status().as_u16(),
            status,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    assert_eq!(count(&app, "webhook_inbox").await, 0);
    assert_eq!(domain_rows(&app).await, before);

    let first = post(&app, &url, body.clone(), &[]).await;
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(first.text().await.unwrap_or_default(), "stored");
    let replay = post(&app, &url, body, &[]).await;
    assert_eq!(replay.status().as_u16(), 200);
    assert_eq!(replay.text().await.unwrap_or_default(), "already received");
    assert_eq!(count(&app, "webhook_inbox").await, 1);
    assert_eq!(
        domain_rows(&app).await,
        before,
        "stored raw; processed later by the worker"
    );
    app.stop().await;
}

fn shopify_app(base: Option<String>) -> ShopifyApp {
    ShopifyApp {
        api_key: "test-client-id".to_owned(),
        api_secret: SecretString::from("hush".to_owned()),
        scopes: "read_customers,write_discounts".to_owned(),
        api_version: "2025-10".to_owned(),
        base_url: base,
    }
}

async fn shopify_winery(app: &TestApp, shop: &str) -> ClientId {
    let id: uuid::Uuid = sqlx::query_scalar(
        "insert into clients (slug, tenant_shop, crm_type, org_name, time_zone) values ($1, $2, 'shopify', 'Snow Devil', 'UTC') returning id",
    )
    .bind(format!("snowdevil-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]))
    .bind(shop)
    .fetch_one(&app.owner)
    .await
    .expect("winery");
    ClientId::new(id)
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn shopify_deliveries_need_a_valid_hmac_a_known_shop_and_json_and_replays_change_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn_crm(options, |c| c.shopify = Some(shopify_app(None))).await;
    shopify_winery(&app, "snowdevil.myshopify.com").await;
    let url = app.url("/webhooks/shopify");
    let compliance = app.url("/webhooks/shopify/compliance");
    // The documented vector: secret `hush`, this exact body.
    let body = br#"{"shop_id":954889,"shop_domain":"snowdevil.myshopify.com"}"#.to_vec();
    let signed = "unXxOs41nqtk5v6Btqh9qz9Dh6mprKtn5eLN4XfJwSY=".to_owned();
    assert_eq!(signing::shopify_webhook_signature(b"hush", &body), signed);
    let headers = |hmac: &str, shop: &str, id: &str| {
        vec![
            ("x-shopify-topic", "shop/redact".to_owned()),
            ("x-shopify-hmac-sha256", hmac.to_owned()),
            ("x-shopify-shop-domain", shop.to_owned()),
            ("x-shopify-webhook-id", id.to_owned()),
        ]
    };
    let before = domain_rows(&app).await;
    let mut tampered = body.clone();
    tampered[10] = b'8';
    let not_json = b"shop_id=954889".to_vec();
    let cases: Vec<(&str, Vec<u8>, Headers, u16)> = vec![
        (
            &compliance,
            tampered,
            headers(&signed, "snowdevil.myshopify.com", "w-1"),
            401,
        ),
        (
            &compliance,
            body.clone(),
            headers("bm90IGl0", "snowdevil.myshopify.com", "w-1"),
            401,
        ),
        (
            &url,
            body.clone(),
            headers("", "snowdevil.myshopify.com", "w-1"),
            401,
        ),
        (
            &url,
            body.clone(),
            headers(&signed, "elsewhere.myshopify.com", "w-1"),
            404,
        ),
        (
            &url,
            not_json.clone(),
            headers(
                &signing::shopify_webhook_signature(b"hush", &not_json),
                "snowdevil.myshopify.com",
                "w-1",
            ),
            400,
        ),
        (
            &url,
            vec![b' '; 1024 * 1024 + 10],
            headers(&signed, "snowdevil.myshopify.com", "w-1"),
            413,
        ),
    ];
    for (target, payload, headers, status) in cases {
        let res = post(&app, target, payload, &headers).await;
        assert_eq!(
            res.status().as_u16(),
            status,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    assert_eq!(count(&app, "webhook_inbox").await, 0);
    assert_eq!(domain_rows(&app).await, before);

    for expected in ["stored", "already received"] {
        let res = post(
            &app,
            &compliance,
            body.clone(),
            &headers(&signed, "snowdevil.myshopify.com", "w-1"),
        )
        .await;
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.text().await.unwrap_or_default(), expected);
    }
    assert_eq!(count(&app, "webhook_inbox").await, 1);
    assert_eq!(
        count(&app, "clients").await,
        3,
        "nothing erased before the worker runs"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_commerce7_install_registers_webhooks_that_work_and_an_uninstall_schedules_erasure(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let c7 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/web-hook"))
        .and(header("tenant", "spectrawinery"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "wh"})))
        // Nine topics, twice: a repeated install registers afresh (with a new secret).
        .expect(18)
        .mount(&c7)
        .await;
    let app = TestApp::spawn_crm(options, |c| {
        c.commerce7_base = c7.uri();
        c.commerce7 = Some(AppCredentials {
            app_id: "my-app-id".to_owned(),
            app_secret: SecretString::from("my-app-secret".to_owned()),
        });
        c.commerce7_install = Some(AppCredentials {
            app_id: "c7-install".to_owned(),
            app_secret: SecretString::from("install-password".to_owned()),
        });
    })
    .await;
    let install = app.url("/integrations/commerce7/install");
    let body = json!({"tenantId": "spectrawinery", "organization-name": "Spectra Winery",
                      "user": {"id": "u-1", "email": "owner@spectra.example", "firstName": "Ann", "lastName": "Lee"}});
    let clients_before = count(&app, "clients").await;

    let refused = app
        .client
        .post(&install)
        .basic_auth("c7-install", Some("wrong"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status().as_u16(), 401);
    let anonymous = app
        .client
        .post(&install)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(count(&app, "clients").await, clients_before);

    for _ in 0..2 {
        let res = app
            .client
            .post(&install)
            .basic_auth("c7-install", Some("install-password"))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 200);
    }
    assert_eq!(
        count(&app, "clients").await,
        clients_before + 1,
        "a repeated install is idempotent"
    );
    let (client, org): (uuid::Uuid, String) =
        sqlx::query_as("select id, org_name from clients where tenant_shop = 'spectrawinery'")
            .fetch_one(&app.owner)
            .await
            .expect("client");
    assert_eq!(org, "Spectra Winery");

    // Every subscription points at the tenant's URL; its secret is stored sealed, never in clear.
    let requests = c7.received_requests().await.unwrap_or_default();
    let urls: Vec<String> = requests
        .iter()
        .filter_map(|r| r.body_json::<Value>().ok())
        .filter_map(|b| b["url"].as_str().map(str::to_owned))
        .collect();
    let last = urls.last().expect("registered").clone();
    let prefix = app.url("/webhooks/c7/spectrawinery/");
    assert!(urls.iter().all(|u| u.starts_with(&prefix)), "{urls:?}");
    let secret = last.trim_start_matches(&prefix).to_owned();
    assert!(secret.len() >= 32);
    let sealed: Vec<u8> = sqlx::query_scalar(
        "select webhook_secret_encrypted from crm_connections where client_id = $1",
    )
    .bind(client)
    .fetch_one(&app.owner)
    .await
    .expect("connection");
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    let objects: Vec<String> = requests
        .iter()
        .filter_map(|r| r.body_json::<Value>().ok())
        .map(|b| {
            format!(
                "{} {}",
                b["object"].as_str().unwrap_or(""),
                b["action"].as_str().unwrap_or("")
            )
        })
        .collect();
    for topic in [
        "Order Create",
        "Order Update",
        "Customer Delete",
        "Club Membership Update",
        "Club Delete",
    ] {
        assert!(
            objects.iter().any(|o| o == topic),
            "{topic} missing from {objects:?}"
        );
    }

    // A delivery to the registered URL is accepted.
    let event = json!({"object": "Customer", "action": "Update", "tenantId": "spectrawinery", "payload": {"id": "c-1"}});
    let res = post(&app, &last, serde_json::to_vec(&event).expect("json"), &[]).await;
    assert_eq!(res.status().as_u16(), 200);

    // Uninstall: uninstalled at once, erasure scheduled 48 hours later, deliveries refused.
    let res = app
        .client
        .post(app.url("/integrations/commerce7/uninstall"))
        .basic_auth("c7-install", Some("install-password"))
        .json(&json!({"tenantId": "spectrawinery"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let status: String = sqlx::query_scalar("select status from clients where id = $1")
        .bind(client)
        .fetch_one(&app.owner)
        .await
        .expect("status");
    assert_eq!(status, "uninstalled");
    let erase_after: chrono::DateTime<Utc> = sqlx::query_scalar(
        "select run_after from jobs where kind = 'erase-tenant' and client_id = $1",
    )
    .bind(client)
    .fetch_one(&app.owner)
    .await
    .expect("erase job");
    let hours = (erase_after - Utc::now()).num_minutes() as f64 / 60.0;
    assert!((47.9..=48.1).contains(&hours), "{hours}");
    let res = post(&app, &last, serde_json::to_vec(&event).expect("json"), &[]).await;
    assert_eq!(res.status().as_u16(), 404);
    let res = app
        .client
        .post(app.url("/integrations/commerce7/uninstall"))
        .basic_auth("c7-install", Some("install-password"))
        .json(&json!({"tenantId": "never-installed"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);

    // After the 48 hours, the job deletes the winery.
    let job = backend::jobs::find("erase-tenant").expect("job");
    backend::jobs::run(&app.pool, job, Some(ClientId::new(client)), erase_after)
        .await
        .expect("erased");
    let left: i64 = sqlx::query_scalar("select count(*) from clients where id = $1")
        .bind(client)
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(left, 0);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_commerce7_launch_verifies_the_user_with_commerce7_and_its_token_opens_the_admin(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let c7 = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/account/user"))
        .and(header("authorization", "good-account-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "u-1", "firstName": "Jason", "lastName": "Andres", "email": "jason@spectra.example"}),
        ))
        .mount(&c7)
        .await;
    Mock::given(method("GET"))
        .and(path("/account/user"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"statusCode": 401, "type": "unauthorized", "message": "Unauthorized user", "errors": []}),
        ))
        .with_priority(10)
        .mount(&c7)
        .await;
    let app = TestApp::spawn_crm(options, |c| {
        c.commerce7_base = c7.uri();
        c.commerce7 = Some(AppCredentials {
            app_id: "my-app-id".to_owned(),
            app_secret: SecretString::from("my-app-secret".to_owned()),
        });
    })
    .await;
    connect(&app, app.winery, "commerce7").await;
    let tenant = tenant_of(&app, app.winery).await;
    let fresh = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let launch = |account: &str, tenant: &str| {
        app.url(&format!(
            "/integrations/commerce7/launch?tenantId={tenant}&account={account}&adminUITheme=dark"
        ))
    };

    let res = fresh
        .get(launch("good-account-token", &tenant))
        .send()
        .await
        .expect("launch");
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(location.starts_with("/admin?vt="), "{location}");
    assert!(location.ends_with("&theme=dark"), "{location}");
    let token = location
        .trim_start_matches("/admin?vt=")
        .trim_end_matches("&theme=dark")
        .to_owned();

    // The page opens with the token in its address, without any cookie.
    let page = fresh.get(app.url(&location)).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("Club program")
    );
    // Server functions take it as a Bearer token; anything else is refused.
    let call = |bearer: String| {
        fresh
            .post(app.url("/api/loyalty/overview"))
            .header("accept", "application/json")
            .header("authorization", format!("Bearer {bearer}"))
            .send()
    };
    assert_eq!(
        call(token.clone()).await.expect("call").status().as_u16(),
        200
    );
    let mut tampered = token.clone();
    tampered.pop();
    assert_eq!(call(tampered).await.expect("call").status().as_u16(), 401);
    let expired = backend::embedded::mint(
        &app.tokens,
        backend::db::admins::find_by_email(
            &mut app.pool.acquire().await.expect("conn"),
            "jason@spectra.example",
        )
        .await
        .expect("lookup")
        .expect("admin created at launch")
        .0,
        app.winery,
        Utc::now() - Duration::hours(2),
    );
    assert_eq!(call(expired).await.expect("call").status().as_u16(), 401);

    // Commerce7 does not know the token; an unknown tenant has not installed Vinculum.
    let res = fresh
        .get(launch("stale-token", &tenant))
        .send()
        .await
        .expect("launch");
    assert_eq!(res.status().as_u16(), 401);
    let res = fresh
        .get(launch("good-account-token", "nobody"))
        .send()
        .await
        .expect("launch");
    assert_eq!(res.status().as_u16(), 404);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_shopify_install_stores_sealed_tokens_and_its_signed_order_webhook_enrolls_a_member(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let shopify = MockServer::start().await;
    let shop = "snowdevil.myshopify.com";
    let app = TestApp::spawn_crm(options, |c| {
        c.shopify = Some(shopify_app(Some(shopify.uri())))
    })
    .await;
    let now = Utc::now();
    let signed_query = |pairs: Vec<(&str, String)>| {
        let pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let hmac = signing::shopify_query_signature(b"hush", &pairs);
        let mut query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        query.push(format!("hmac={hmac}"));
        query.join("&")
    };
    let fresh = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // The App URL: a forged signature is refused; a signed one goes to the consent screen.
    let bad = fresh
        .get(app.url(&format!(
            "/integrations/shopify?shop={shop}&timestamp={}&hmac=00",
            now.timestamp()
        )))
        .send()
        .await
        .expect("begin");
    assert_eq!(bad.status().as_u16(), 401);
    let begin = fresh
        .get(app.url(&format!(
            "/integrations/shopify?{}",
            signed_query(vec![
                ("shop", shop.to_owned()),
                ("timestamp", now.timestamp().to_string())
            ])
        )))
        .send()
        .await
        .expect("begin");
    assert_eq!(begin.status().as_u16(), 303);
    let consent =
        url::Url::parse(begin.headers()["location"].to_str().expect("location")).expect("url");
    assert_eq!(consent.path(), "/admin/oauth/authorize");
    let state = consent
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");

    Mock::given(method("POST"))
        .and(path("/admin/oauth/access_token"))
        .and(body_string_contains("the-code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "shpat_secret_token", "scope": "read_customers,write_discounts",
            "expires_in": 3600, "refresh_token": "shprt_secret_refresh", "refresh_token_expires_in": 7776000
        })))
        .expect(1)
        .mount(&shopify)
        .await;
    let callback = app.url(&format!(
        "/integrations/shopify/callback?{}",
        signed_query(vec![
            ("code", "the-code".to_owned()),
            ("shop", shop.to_owned()),
            ("state", state.clone()),
            ("timestamp", now.timestamp().to_string()),
        ])
    ));
    let done = fresh.get(&callback).send().await.expect("callback");
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(
        done.headers()["location"].to_str().expect("location"),
        "https://snowdevil.myshopify.com/admin/apps/test-client-id"
    );
    // The state is used once.
    assert_eq!(
        fresh
            .get(&callback)
            .send()
            .await
            .expect("replay")
            .status()
            .as_u16(),
        401
    );
    let client: uuid::Uuid = sqlx::query_scalar(
        "select id from clients where tenant_shop = $1 and crm_type = 'shopify'",
    )
    .bind(shop)
    .fetch_one(&app.owner)
    .await
    .expect("installed");
    let sealed: Vec<u8> = sqlx::query_scalar(
        "select access_token_encrypted from platform_sessions where client_id = $1",
    )
    .bind(client)
    .fetch_one(&app.owner)
    .await
    .expect("token");
    assert!(!sealed.windows(8).any(|w| w == b"shpat_se"));

    // The winery has a Bronze stage; a paid order arrives as a signed webhook.
    sqlx::query(
        "with p as (insert into club_programs (client_id, name) values ($1, 'Club') returning id)
         insert into club_stages (client_id, club_program_id, name, discount_percentage, duration_months, min_purchase_amount_cents, stage_order)
         select $1, p.id, 'Bronze', 10, 3, 7500, 1 from p",
    )
    .bind(client)
    .execute(&app.owner)
    .await
    .expect("stage");
    let order = json!({
        "id": 820982911946154508_i64, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "email": "jon@example.com", "created_at": "2026-03-01T12:00:00Z", "financial_status": "paid",
        "subtotal_price": "90.00", "total_discounts": "0.00", "total_tax": "0.00", "total_price": "90.00",
        "customer": {"id": 115310627314723954_i64, "admin_graphql_api_id": "gid://shopify/Customer/115310627314723954",
                     "email": "jon@example.com", "first_name": "Jon", "last_name": "Snow"}
    });
    let body = serde_json::to_vec(&order).expect("json");
    let res = post(
        &app,
        &app.url("/webhooks/shopify"),
        body.clone(),
        &[
            ("x-shopify-topic", "orders/paid".to_owned()),
            (
                "x-shopify-hmac-sha256",
                signing::shopify_webhook_signature(b"hush", &body),
            ),
            ("x-shopify-shop-domain", shop.to_owned()),
            ("x-shopify-webhook-id", "delivery-1".to_owned()),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 200);

    // The worker re-fetches the order with the shop's token, enrolls Jon, and grants Bronze.
    let graphql = "/admin/api/2025-10/graphql.json";
    let answer = |data: Value| ResponseTemplate::new(200).set_body_json(json!({"data": data}));
    Mock::given(method("POST"))
        .and(path(graphql))
        .and(header("x-shopify-access-token", "shpat_secret_token"))
        .and(body_string_contains("order(id:"))
        .respond_with(answer(json!({"order": {
            "id": "gid://shopify/Order/820982911946154508", "createdAt": "2026-03-01T12:00:00Z",
            "cancelledAt": null, "displayFinancialStatus": "PAID",
            "customer": {"id": "gid://shopify/Customer/115310627314723954"},
            "subtotalPriceSet": {"shopMoney": {"amount": "90.00"}}, "totalDiscountsSet": {"shopMoney": {"amount": "0.00"}},
            "totalTaxSet": {"shopMoney": {"amount": "0.00"}}, "totalShippingPriceSet": {"shopMoney": {"amount": "0.00"}},
            "totalPriceSet": {"shopMoney": {"amount": "90.00"}}, "totalRefundedSet": {"shopMoney": {"amount": "0.00"}}
        }})))
        .expect(1)
        .mount(&shopify)
        .await;
    Mock::given(method("POST"))
        .and(path(graphql))
        .and(body_string_contains("discountCodeBasicCreate"))
        .respond_with(answer(json!({"discountCodeBasicCreate": {
            "codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1"}, "userErrors": []}})))
        .expect(1)
        .mount(&shopify)
        .await;
    Mock::given(method("POST"))
        .and(path(graphql))
        .and(body_string_contains("discountCodeBasicUpdate"))
        .and(body_string_contains(
            "gid://shopify/Customer/115310627314723954",
        ))
        .respond_with(answer(json!({"discountCodeBasicUpdate": {
            "codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1"}, "userErrors": []}})))
        .expect(1)
        .mount(&shopify)
        .await;
    Mock::given(method("POST"))
        .and(path(graphql))
        .and(body_string_contains("tagsAdd"))
        .and(body_string_contains("vinculum-bronze"))
        .respond_with(answer(json!({"tagsAdd": {"node": {"id": "gid://shopify/Customer/115310627314723954"}, "userErrors": []}})))
        .expect(1)
        .mount(&shopify)
        .await;
    let report = backend::crm::sync::run_due(&app.pool, &app.crm, Utc::now())
        .await
        .expect("pass");
    assert_eq!(report.completed, 1, "{report:?}");
    let stage: String = sqlx::query_scalar(
        "select s.name from club_enrollments e join club_stages s on s.id = e.club_stage_id
         join customers c on c.id = e.customer_id where c.email = 'jon@example.com' and e.status = 'active'",
    )
    .fetch_one(&app.owner)
    .await
    .expect("enrolled");
    assert_eq!(stage, "Bronze");
    let inbox: String = sqlx::query_scalar("select status from webhook_inbox")
        .fetch_one(&app.owner)
        .await
        .expect("inbox");
    assert_eq!(inbox, "processed");
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_simulated_order_in_the_sandbox_enrolls_a_member_and_the_sandbox_membership_is_created_then_cancelled(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.docs_ladder(app.winery, &app.admin_email).await;
    let tenant = tenant_of(&app, app.winery).await;
    let now = Utc::now();
    backend::install::connect_sandbox(&app.pool, &app.crm, app.winery, now)
        .await
        .expect("connected");

    let (number, deliveries) = backend::sandbox::simulate_order(
        &app.pool,
        &tenant,
        &backend::sandbox::SimulatedOrder {
            email: "sam@example.com".to_owned(),
            first_name: "Sam".to_owned(),
            last_name: "Sample".to_owned(),
            subtotal_cents: 9_000,
        },
        now,
    )
    .await
    .expect("simulated");
    assert_eq!(number, "#1001");
    assert_eq!(deliveries.len(), 1);
    for (url, event) in deliveries {
        let res = post(&app, &url, serde_json::to_vec(&event).expect("json"), &[]).await;
        assert_eq!(res.status().as_u16(), 200);
    }
    let report = backend::crm::sync::run_due(&app.pool, &app.crm, now)
        .await
        .expect("pass");
    assert_eq!(report.completed, 1, "{report:?}");
    let memberships = backend::sandbox::memberships(&app.pool, &tenant)
        .await
        .expect("memberships");
    assert_eq!(memberships.len(), 1);
    assert_eq!(
        (memberships[0].0.as_str(), memberships[0].1.as_str()),
        ("sam@example.com", "Bronze")
    );
    assert_eq!(memberships[0].3, None);

    // Bronze lasts three months; the expiry revokes, and the sandbox membership gets its cancel date.
    let later = now + Duration::days(100);
    let job = backend::jobs::find("expire-memberships").expect("job");
    backend::jobs::run(&app.pool, job, Some(app.winery), later)
        .await
        .expect("expiry");
    let report = backend::crm::sync::run_due(&app.pool, &app.crm, later)
        .await
        .expect("pass");
    assert_eq!(report.completed, 1, "{report:?}");
    let memberships = backend::sandbox::memberships(&app.pool, &tenant)
        .await
        .expect("memberships");
    assert!(memberships[0].3.is_some(), "{memberships:?}");
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_shopify_session_token_from_a_new_shop_is_exchanged_for_its_token_and_opens_the_admin(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let shopify = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/admin/oauth/access_token"))
        .and(body_string_contains(
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "shpat_exchanged", "scope": "write_discounts", "expires_in": 3600,
            "refresh_token": "shprt_exchanged"
        })))
        .expect(1)
        .mount(&shopify)
        .await;
    let app = TestApp::spawn_crm(options, |c| {
        c.shopify = Some(shopify_app(Some(shopify.uri())))
    })
    .await;
    let now = Utc::now().timestamp();
    let token = |secret: &[u8], aud: &str| {
        signing::sign_hs256(
            &json!({"iss": "https://fresh.myshopify.com/admin", "dest": "https://fresh.myshopify.com",
                    "aud": aud, "sub": "42", "exp": now + 60, "nbf": now - 5, "iat": now - 5,
                    "jti": "00000000-0000-0000-0000-000000000001", "sid": "s-1"}),
            secret,
        )
    };
    let call = |bearer: String| {
        reqwest::Client::new()
            .post(app.url("/api/loyalty/overview"))
            .header("accept", "application/json")
            .header("authorization", format!("Bearer {bearer}"))
            .send()
    };
    // Forged or meant for another app: refused, and nothing installed.
    assert_eq!(
        call(token(b"not-hush", "test-client-id"))
            .await
            .expect("call")
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        call(token(b"hush", "another-app"))
            .await
            .expect("call")
            .status()
            .as_u16(),
        401
    );
    let shops: i64 = sqlx::query_scalar("select count(*) from clients where crm_type = 'shopify'")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(shops, 0);

    // The first genuine request installs the shop through the token exchange; the next reuses it.
    for _ in 0..2 {
        let res = call(token(b"hush", "test-client-id")).await.expect("call");
        assert_eq!(res.status().as_u16(), 200);
    }
    let (status, sealed): (String, Vec<u8>) = sqlx::query_as(
        "select c.status, p.access_token_encrypted from clients c join platform_sessions p on p.client_id = c.id
         where c.tenant_shop = 'fresh.myshopify.com'",
    )
    .fetch_one(&app.owner)
    .await
    .expect("installed");
    assert_eq!(status, "installed");
    assert!(!sealed.windows(8).any(|w| w == b"shpat_ex"));
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_nightly_reconcile_replays_a_delivery_the_crm_failed_to_make(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.docs_ladder(app.winery, &app.admin_email).await;
    let tenant = tenant_of(&app, app.winery).await;
    let now = Utc::now();
    backend::install::connect_sandbox(&app.pool, &app.crm, app.winery, now)
        .await
        .expect("connected");
    // The order exists in the CRM, but its delivery failed: only the webhook log has it.
    let (_, deliveries) = backend::sandbox::simulate_order(
        &app.pool,
        &tenant,
        &backend::sandbox::SimulatedOrder {
            email: "lost@example.com".to_owned(),
            first_name: "Lost".to_owned(),
            last_name: "Delivery".to_owned(),
            subtotal_cents: 16_000,
        },
        now,
    )
    .await
    .expect("simulated");
    for (url, event) in &deliveries {
        backend::sandbox::log_failed_delivery(&app.pool, &tenant, url, event, Some(500), now)
            .await
            .expect("logged");
    }
    assert_eq!(
        backend::crm::sync::run_due(&app.pool, &app.crm, now)
            .await
            .expect("pass")
            .completed,
        0
    );

    let job = backend::jobs::find("reconcile-webhooks").expect("job");
    backend::jobs::run(&app.pool, job, Some(app.winery), now)
        .await
        .expect("reconcile asked");
    let report = backend::crm::sync::run_due(&app.pool, &app.crm, now)
        .await
        .expect("pass");
    assert_eq!(
        report.completed, 1,
        "the replayed order enrolled Lost, and the grant was sent"
    );
    let stage: String = sqlx::query_scalar(
        "select s.name from club_enrollments e join club_stages s on s.id = e.club_stage_id
         join customers c on c.id = e.customer_id where c.email = 'lost@example.com'",
    )
    .fetch_one(&app.owner)
    .await
    .expect("enrolled");
    assert_eq!(stage, "Silver");

    // A second reconcile finds the same delivery already received: nothing changes.
    let inbox_before = count(&app, "webhook_inbox").await;
    backend::jobs::run(&app.pool, job, Some(app.winery), now + Duration::days(1))
        .await
        .expect("reconcile asked");
    backend::crm::sync::run_due(&app.pool, &app.crm, now + Duration::days(1))
        .await
        .expect("pass");
    assert_eq!(count(&app, "webhook_inbox").await, inbox_before);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_customer_deleted_in_the_crm_is_anonymised_and_keeps_their_history(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    connect(&app, app.winery, "sandbox").await;
    let tenant = tenant_of(&app, app.winery).await;
    let customer: uuid::Uuid = sqlx::query_scalar(
        "insert into customers (client_id, crm_id, email, first_name, last_name, phone)
         values ($1, 'c-erase', 'gone@example.com', 'Gone', 'Person', '+15551234567') returning id",
    )
    .bind(app.winery.as_uuid())
    .fetch_one(&app.owner)
    .await
    .expect("customer");
    sqlx::query(
        "insert into point_transactions (client_id, customer_id, transaction_type, points, balance_after, description)
         values ($1, $2, 'bonus', 50, 50, 'Welcome')",
    )
    .bind(app.winery.as_uuid())
    .bind(customer)
    .execute(&app.owner)
    .await
    .expect("history");
    let event = json!({"object": "Customer", "action": "Delete", "tenantId": tenant, "payload": {"id": "c-erase"}});
    let url = app.url(&format!("/webhooks/c7/{tenant}/{WEBHOOK_SECRET}"));
    assert_eq!(
        post(&app, &url, serde_json::to_vec(&event).expect("json"), &[])
            .await
            .status()
            .as_u16(),
        200
    );
    backend::crm::sync::run_due(&app.pool, &app.crm, Utc::now())
        .await
        .expect("pass");
    let (email, first, last, phone): (String, Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("select email, first_name, last_name, phone from customers where id = $1")
            .bind(customer)
            .fetch_one(&app.owner)
            .await
            .expect("customer");
    assert!(
        email.starts_with("erased-") && email.ends_with("@erased.invalid"),
        "{email}"
    );
    assert_eq!((first, last, phone), (None, None, None));
    assert_eq!(
        count(&app, "point_transactions").await,
        1,
        "the ledger stays"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_sandbox_vouches_for_a_launch_only_on_a_demo_server(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    connect(&app, app.winery, "sandbox").await;
    let tenant = tenant_of(&app, app.winery).await;
    let fresh = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let launch = app.url(&format!(
        "/integrations/commerce7/launch?tenantId={tenant}&account=sandbox:guide@example.com&adminUITheme=light"
    ));
    let res = fresh.get(&launch).send().await.expect("launch");
    assert_eq!(
        res.status().as_u16(),
        303,
        "the test server runs in demo mode"
    );
    let direct = fresh
        .get(app.url("/sandbox/c7/v1/account/user"))
        .header("tenant", &tenant)
        .header("authorization", "sandbox:guide@example.com")
        .send()
        .await
        .expect("direct");
    assert_eq!(direct.status().as_u16(), 200);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn outside_demo_mode_the_sandbox_vouches_for_nobody(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn_not_demo(options).await;
    connect(&app, app.winery, "sandbox").await;
    let tenant = tenant_of(&app, app.winery).await;
    let fresh = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let launch = app.url(&format!(
        "/integrations/commerce7/launch?tenantId={tenant}&account=sandbox:guide@example.com"
    ));
    assert_eq!(
        fresh
            .get(&launch)
            .send()
            .await
            .expect("launch")
            .status()
            .as_u16(),
        401
    );
    app.stop().await;
}
