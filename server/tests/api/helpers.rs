//! `TestApp`: the real router on a random local port, a fresh database per test (from
//! `#[sqlx::test]`), a cookie-keeping client that does not follow redirects, and two wineries.

use app::ssr::UiConfig;
use backend::auth::Role;
use backend::crm::commerce7::AppCredentials;
use backend::crm::registry::{CrmConfig, Registry};
use backend::crypto::Cipher;
use domain::ids::ClientId;
use leptos::prelude::LeptosOptions;
use reqwest::{Client, Response, header};
use secrecy::SecretString;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use std::net::SocketAddr;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub owner: PgPool,
    pub client: Client,
    pub winery: ClientId,
    pub admin_email: String,
    pub rival: ClientId,
    pub rival_email: String,
    /// The CRM registry the server uses.
    pub crm: std::sync::Arc<Registry>,
    /// The key of embedded launch tokens.
    pub tokens: backend::embedded::TokenKey,
    server: tokio::task::JoinHandle<()>,
}

/// The sandbox CRM's app secret in tests.
pub const SANDBOX_SECRET: &str = "sandbox-test-secret";

async fn make_winery(pool: &PgPool, name: &str) -> (ClientId, String) {
    let slug = format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut tx = backend::db::begin_platform(pool).await.expect("tx");
    let id = backend::db::clients::insert(
        &mut tx,
        &backend::db::clients::NewClient {
            slug: &slug,
            tenant_shop: &format!("{slug}.example"),
            crm_type: "commerce7",
            org_name: name,
            org_contact: None,
            time_zone: "UTC",
            currency: "USD",
        },
    )
    .await
    .expect("winery");
    tx.commit().await.expect("commit");
    let email = format!("{slug}@example.com");
    backend::auth::upsert_admin(pool, id, &email, PASSWORD, Some("Owner"))
        .await
        .expect("admin");
    (id, email)
}

impl TestApp {
    pub async fn spawn(options: PgConnectOptions) -> Self {
        Self::spawn_with(options, false).await
    }

    pub async fn spawn_with(options: PgConnectOptions, secure_cookies: bool) -> Self {
        Self::spawn_full(options, secure_cookies, true, |_| {}).await
    }

    /// A test app that is not a demo server (no demo login, no sandbox launches).
    pub async fn spawn_not_demo(options: PgConnectOptions) -> Self {
        Self::spawn_full(options, false, false, |_| {}).await
    }

    /// A test app whose CRM settings `adjust` changes (mock Commerce7 or Shopify addresses).
    pub async fn spawn_crm(options: PgConnectOptions, adjust: impl FnOnce(&mut CrmConfig)) -> Self {
        Self::spawn_full(options, false, true, adjust).await
    }

    async fn spawn_full(
        options: PgConnectOptions,
        secure_cookies: bool,
        demo_mode: bool,
        adjust: impl FnOnce(&mut CrmConfig),
    ) -> Self {
        server::telemetry::init();
        let pool = backend::db::connect(options.clone(), 8)
            .await
            .expect("app pool");
        let owner = PgPool::connect_with(options).await.expect("owner pool");
        let leptos_options = LeptosOptions::builder()
            .output_name("vinculum")
            .site_root("target/site")
            .build();
        let ui = UiConfig {
            demo_mode,
            secure_cookies,
            trust_forwarded_for: false,
        };
        let cipher = Cipher::from_hex(&SecretString::from("ab".repeat(32))).expect("key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("addr"));
        let mut crm = CrmConfig {
            commerce7_base: "http://127.0.0.1:9/unused".to_owned(),
            commerce7: None,
            commerce7_install: None,
            sandbox_base: format!("{address}/sandbox/c7/v1"),
            sandbox: AppCredentials {
                app_id: "vinculum-sandbox".to_owned(),
                app_secret: SecretString::from(SANDBOX_SECRET.to_owned()),
            },
            shopify: None,
            public_url: address.clone(),
            timeout: std::time::Duration::from_secs(2),
        };
        adjust(&mut crm);
        let state = server::startup::app_state(
            pool.clone(),
            leptos_options,
            ui,
            cipher,
            crm,
            backend::comms::providers::Endpoints::production(),
        )
        .expect("state");
        let registry = state.crm.clone();
        let tokens = state.tokens.clone();
        let router = server::startup::build_router(state);
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let (winery, admin_email) = make_winery(&pool, "cellars").await;
        let (rival, rival_email) = make_winery(&pool, "rival").await;
        Self {
            address,
            pool,
            owner,
            client,
            winery,
            admin_email,
            rival,
            rival_email,
            crm: registry,
            tokens,
            server,
        }
    }

    /// Stops the server and closes both pools, so `#[sqlx::test]` can drop the test database at
    /// once (PostgreSQL otherwise waits five seconds for idle connections before dropping it).
    pub async fn stop(self) {
        self.server.abort();
        self.pool.close().await;
        self.owner.close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Calls a server function the way the hydrated app does (form-encoded in, JSON out).
    pub async fn call(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .header(header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Posts a form the way a browser without JavaScript does.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)], referer: &str) -> Response {
        self.client
            .post(self.url(path))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::REFERER, self.url(referer))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    pub async fn sign_in_as(&self, email: &str) {
        let res = self
            .call(
                "/api/auth/login",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("next", "/admin/club"),
                ],
            )
            .await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "sign-in failed: {}",
            res.status()
        );
    }

    pub async fn sign_in(&self) {
        self.sign_in_as(&self.admin_email.clone()).await;
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// The signed-in admin of `winery`, for calling services directly.
    pub async fn admin_of(&self, winery: ClientId, email: &str) -> backend::auth::Admin {
        backend::auth::Admin {
            user_id: {
                let mut tx = backend::db::begin_platform(&self.pool).await.expect("tx");
                let id: uuid::Uuid =
                    sqlx::query_scalar("select id from admin_users where email = $1")
                        .bind(email)
                        .fetch_one(&mut *tx)
                        .await
                        .expect("user");
                id.into()
            },
            client_id: winery,
            email: email.to_owned(),
            display_name: None,
            role: Role::Owner,
            org_name: "Test".to_owned(),
            currency: "USD".to_owned(),
            time_zone: "UTC".to_owned(),
        }
    }

    /// Bronze, Silver and Gold for `winery`.
    pub async fn docs_ladder(&self, winery: ClientId, email: &str) -> domain::club::LadderView {
        let admin = self.admin_of(winery, email).await;
        for (i, (name, d, m, min)) in [
            ("Bronze", "10", "3", "75"),
            ("Silver", "15", "6", "150"),
            ("Gold", "20", "12", "300"),
        ]
        .into_iter()
        .enumerate()
        {
            let values = domain::club::StageValues::parse(name, d, m, min).expect("valid");
            backend::club::add_stage(&self.pool, &admin, values, i + 1, uuid::Uuid::new_v4())
                .await
                .expect("stage");
        }
        backend::club::ladder(&self.pool, &admin)
            .await
            .expect("ladder")
    }

    pub async fn ladder(&self, winery: ClientId, email: &str) -> domain::club::LadderView {
        let admin = self.admin_of(winery, email).await;
        backend::club::ladder(&self.pool, &admin)
            .await
            .expect("ladder")
    }
}

/// The JSON error a server function answered with.
pub async fn app_error(res: Response) -> app::error::AppError {
    let body = res.text().await.expect("body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not an AppError ({e}): {body}"))
}
