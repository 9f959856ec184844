//! Which CRM client serves a winery: the platform's CRM settings ([`CrmConfig`]), one shared HTTP
//! client, and the [`Provider`] built from the winery's connection (Commerce7, Shopify, or the
//! built-in sandbox that speaks Commerce7).

use super::commerce7::{AppCredentials, Commerce7};
use super::shopify::{self, Shopify, ShopifyApp, TokenSet};
use super::{Crm, CrmCustomer, CrmError, CrmOrder, CustomerData, StageIds, StageSpec};
use crate::crypto::Cipher;
use crate::db::{self, clients};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use domain::ids::ClientId;
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use std::time::Duration;

/// Platform-wide CRM settings (the server reads them from the environment).
#[derive(Clone, Debug)]
pub struct CrmConfig {
    /// The Commerce7 API (`VINCULUM_C7_API_URL`, default [`super::commerce7::DEFAULT_BASE_URL`]).
    pub commerce7_base: String,
    /// The app's Commerce7 credentials, when the platform is a Commerce7 app.
    pub commerce7: Option<AppCredentials>,
    /// The Basic credentials Commerce7 must send to the install and uninstall endpoints.
    pub commerce7_install: Option<AppCredentials>,
    /// Where the built-in sandbox CRM answers: this server's own address plus `/sandbox/c7/v1`.
    pub sandbox_base: String,
    /// The credentials the sandbox accepts (derived from the server's secret key).
    pub sandbox: AppCredentials,
    /// The Shopify app, when the platform is one.
    pub shopify: Option<ShopifyApp>,
    /// The externally visible address of this server, for webhook URLs.
    pub public_url: String,
    /// How long one CRM request may take.
    pub timeout: Duration,
}

/// Builds CRM clients for wineries.
#[derive(Clone, Debug)]
pub struct Registry {
    pub config: CrmConfig,
    http: reqwest::Client,
    cipher: Option<Cipher>,
}

/// A winery's CRM client.
#[derive(Clone, Debug)]
pub enum Provider {
    Commerce7(Commerce7),
    Shopify(Shopify),
}

impl Provider {
    /// Whether the stage already has every CRM object a grant needs.
    pub fn stage_ready(&self, ids: &StageIds) -> bool {
        match self {
            Self::Commerce7(_) => ids.club_id.is_some() && ids.promotion_id.is_some(),
            Self::Shopify(_) => ids.discount_id.is_some() && ids.tag.is_some(),
        }
    }
}

impl Registry {
    /// A registry with one HTTP client for every CRM call.
    ///
    /// # Errors
    /// The HTTP client cannot be built (no TLS roots).
    pub fn new(config: CrmConfig, cipher: Option<Cipher>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("vinculum/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
        Ok(Self {
            config,
            http,
            cipher,
        })
    }

    /// The shared HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The cipher for secrets at rest.
    ///
    /// # Errors
    /// The server runs without `VINCULUM_SECRET_KEY`.
    pub fn cipher(&self) -> Result<&Cipher> {
        self.cipher
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("VINCULUM_SECRET_KEY is needed for CRM secrets").into())
    }

    /// A Commerce7 client for `tenant` at the real API.
    ///
    /// # Errors
    /// The platform has no Commerce7 app credentials.
    pub fn commerce7(&self, tenant: &str) -> Result<Commerce7> {
        let credentials = self.config.commerce7.clone().ok_or_else(|| {
            Error::Conflict("Commerce7 is not configured on this server.".to_owned())
        })?;
        Ok(Commerce7::new(
            self.http.clone(),
            &self.config.commerce7_base,
            tenant,
            credentials,
        ))
    }

    /// A client for the built-in sandbox CRM, as `tenant`.
    pub fn sandbox(&self, tenant: &str) -> Commerce7 {
        Commerce7::new(
            self.http.clone(),
            &self.config.sandbox_base,
            tenant,
            self.config.sandbox.clone(),
        )
    }

    /// The winery's CRM client, or `None` when it has no connection (its operations wait).
    ///
    /// # Errors
    /// Database failures, or a connection this server has no credentials for.
    pub async fn provider(&self, pool: &PgPool, client: ClientId) -> Result<Option<Provider>> {
        let mut tx = db::begin_scoped(pool, client).await?;
        let winery = clients::find(&mut tx, client).await?;
        let connection = db::crm::connection(&mut tx, client).await?;
        tx.commit().await?;
        let (Some(winery), Some(connection)) = (winery, connection) else {
            return Ok(None);
        };
        Ok(Some(match connection.provider.as_str() {
            "sandbox" => Provider::Commerce7(self.sandbox(&winery.tenant_shop)),
            "commerce7" => Provider::Commerce7(self.commerce7(&winery.tenant_shop)?),
            "shopify" => {
                let Some(shop) = self
                    .shopify_client(pool, client, &winery.tenant_shop, false)
                    .await?
                else {
                    return Ok(None);
                };
                Provider::Shopify(shop)
            }
            other => {
                return Err(anyhow::anyhow!("no CRM client for connection {other}").into());
            }
        }))
    }

    /// A fresh client after the CRM refused our credentials: Shopify's token is refreshed (once);
    /// other CRMs have nothing to refresh (`None`).
    ///
    /// # Errors
    /// Database failures, or a refresh Shopify refused.
    pub async fn refreshed(&self, pool: &PgPool, client: ClientId) -> Result<Option<Provider>> {
        let mut tx = db::begin_scoped(pool, client).await?;
        let winery = clients::find(&mut tx, client).await?;
        tx.commit().await?;
        match winery {
            Some(w) if w.crm_type == "shopify" => Ok(self
                .shopify_client(pool, client, &w.tenant_shop, true)
                .await?
                .map(Provider::Shopify)),
            _ => Ok(None),
        }
    }

    /// The Shopify app.
    ///
    /// # Errors
    /// The platform is not configured as a Shopify app.
    pub fn shopify_app(&self) -> Result<&ShopifyApp> {
        self.config
            .shopify
            .as_ref()
            .ok_or_else(|| Error::Conflict("Shopify is not configured on this server.".to_owned()))
    }

    /// Seals and stores a shop's tokens.
    ///
    /// # Errors
    /// Database failures, or no secret key.
    pub async fn store_tokens(
        &self,
        pool: &PgPool,
        client: ClientId,
        tokens: &TokenSet,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let cipher = self.cipher()?;
        let sealed = db::crm::SealedTokens {
            access_token: cipher.seal(tokens.access_token.expose_secret()),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| cipher.seal(t.expose_secret())),
            scope: tokens.scope.clone(),
            expires_at: tokens
                .expires_in
                .map(|s| now + chrono::Duration::seconds(s)),
            refresh_expires_at: tokens
                .refresh_token_expires_in
                .map(|s| now + chrono::Duration::seconds(s)),
        };
        let mut tx = db::begin_scoped(pool, client).await?;
        db::crm::save_tokens(&mut tx, client, &sealed).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A Shopify client with a live token: refreshed when it expires within five minutes, or
    /// when `force` says the last call was refused. `None` when the shop has no token (uninstalled).
    ///
    /// # Errors
    /// Database failures, no secret key, or a refresh Shopify refused.
    pub async fn shopify_client(
        &self,
        pool: &PgPool,
        client: ClientId,
        shop: &str,
        force: bool,
    ) -> Result<Option<Shopify>> {
        let app = self.shopify_app()?;
        let cipher = self.cipher()?;
        let mut tx = db::begin_scoped(pool, client).await?;
        let stored = db::crm::tokens(&mut tx, client).await?;
        tx.commit().await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let open = |sealed: &[u8]| {
            cipher
                .open(sealed)
                .map_err(|e| Error::from(anyhow::anyhow!("opening a stored token: {e}")))
        };
        let now = Utc::now();
        let expiring = stored
            .expires_at
            .is_some_and(|at| at - chrono::Duration::minutes(5) <= now);
        let token = match (&stored.refresh_token, force || expiring) {
            (Some(refresh), true) => {
                let fresh = shopify::refresh_token(&self.http, app, shop, &open(refresh)?)
                    .await
                    .map_err(|e| Error::Conflict(format!("refreshing the Shopify token: {e}")))?;
                self.store_tokens(pool, client, &fresh, now).await?;
                fresh.access_token
            }
            _ => open(&stored.access_token)?,
        };
        Ok(Some(Shopify::new(self.http.clone(), app, shop, token)))
    }
}

impl Crm for Provider {
    async fn ensure_stage(&self, stage: &StageSpec) -> Result<StageIds, CrmError> {
        match self {
            Self::Commerce7(c) => c.ensure_stage(stage).await,
            Self::Shopify(c) => c.ensure_stage(stage).await,
        }
    }

    async fn grant(
        &self,
        stage: &StageIds,
        customer: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, CrmError> {
        match self {
            Self::Commerce7(c) => c.grant(stage, customer, at).await,
            Self::Shopify(c) => c.grant(stage, customer, at).await,
        }
    }

    async fn revoke(
        &self,
        stage: &StageIds,
        customer: &str,
        membership: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), CrmError> {
        match self {
            Self::Commerce7(c) => c.revoke(stage, customer, membership, at).await,
            Self::Shopify(c) => c.revoke(stage, customer, membership, at).await,
        }
    }

    async fn upsert_customer(&self, customer: &CustomerData) -> Result<String, CrmError> {
        match self {
            Self::Commerce7(c) => c.upsert_customer(customer).await,
            Self::Shopify(c) => c.upsert_customer(customer).await,
        }
    }

    async fn find_customer_by_email(&self, email: &str) -> Result<Option<CrmCustomer>, CrmError> {
        match self {
            Self::Commerce7(c) => c.find_customer_by_email(email).await,
            Self::Shopify(c) => c.find_customer_by_email(email).await,
        }
    }

    async fn fetch_customer(&self, id: &str) -> Result<Option<CrmCustomer>, CrmError> {
        match self {
            Self::Commerce7(c) => c.fetch_customer(id).await,
            Self::Shopify(c) => c.fetch_customer(id).await,
        }
    }

    async fn fetch_order(&self, id: &str) -> Result<Option<CrmOrder>, CrmError> {
        match self {
            Self::Commerce7(c) => c.fetch_order(id).await,
            Self::Shopify(c) => c.fetch_order(id).await,
        }
    }
}
