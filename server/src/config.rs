//! Configuration, read once from the environment at start-up and passed down explicitly.
//! A missing or malformed required value stops the program with a message that names it.

use anyhow::{Context as _, Result, bail};
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use std::net::SocketAddr;
use std::str::FromStr;

/// Every setting, with its environment variable. Deliberately not `Debug`: it holds the database
/// password and the secret key.
#[derive(Clone)]
pub struct Settings {
    /// `DATABASE_URL` (required).
    pub database: PgConnectOptions,
    /// `VINCULUM_DB_MAX_CONNECTIONS` (default 10).
    pub db_max_connections: u32,
    /// `VINCULUM_LISTEN_ADDR` (default: `LEPTOS_SITE_ADDR`, else 127.0.0.1:3000).
    pub listen_addr: SocketAddr,
    /// `VINCULUM_PUBLIC_URL` (default http://127.0.0.1:3000): links in messages; https makes
    /// cookies `Secure`.
    pub public_url: String,
    /// `VINCULUM_SECRET_KEY` (required for `serve`): 32 bytes as 64 hex characters, used to encrypt
    /// provider secrets at rest and to sign links. Never logged.
    pub secret_key: Option<SecretString>,
    /// `VINCULUM_DEMO` (default false): show the demo login on the sign-in page.
    pub demo_mode: bool,
    /// `VINCULUM_TRUST_PROXY` (default false): take the client address from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// `VINCULUM_WORKERS` (default 2): concurrent job loops in `serve`.
    pub workers: usize,
    /// The CRM settings (see [`CrmSettings`]).
    pub crm: CrmSettings,
}

/// The CRM settings. Never `Debug`: it holds the apps' secrets.
#[derive(Clone)]
pub struct CrmSettings {
    /// `VINCULUM_C7_API_URL` (default `https://api.commerce7.com/v1`).
    pub commerce7_base: String,
    /// `VINCULUM_C7_APP_ID` and `VINCULUM_C7_APP_SECRET`: the app's Commerce7 credentials.
    pub commerce7_app: Option<(String, SecretString)>,
    /// `VINCULUM_C7_INSTALL_USER` and `VINCULUM_C7_INSTALL_PASSWORD`: the Basic credentials
    /// Commerce7 sends to the install and uninstall endpoints (set in the Dev Center).
    pub commerce7_install: Option<(String, SecretString)>,
    /// `VINCULUM_SHOPIFY_API_KEY` and `VINCULUM_SHOPIFY_API_SECRET`: the Shopify app.
    pub shopify_app: Option<(String, SecretString)>,
    /// `VINCULUM_SHOPIFY_SCOPES` (default `read_customers,write_customers,read_orders,write_discounts`).
    pub shopify_scopes: String,
    /// `VINCULUM_SHOPIFY_API_VERSION` (default `2025-10`).
    pub shopify_api_version: String,
    /// `VINCULUM_SHOPIFY_BASE_URL`: every shop at one address (tests and local stand-ins only).
    pub shopify_base_url: Option<String>,
    /// `VINCULUM_CRM_TIMEOUT_SECS` (default 15): the limit of one CRM request.
    pub timeout_secs: u64,
}

/// Both variables of a pair, or neither.
fn pair(id_var: &str, secret_var: &str) -> Result<Option<(String, SecretString)>> {
    match (var(id_var), var(secret_var)) {
        (Some(id), Some(secret)) => Ok(Some((id, SecretString::from(secret)))),
        (None, None) => Ok(None),
        _ => bail!("set both {id_var} and {secret_var}, or neither"),
    }
}

impl CrmSettings {
    fn from_env() -> Result<Self> {
        let commerce7_base = var("VINCULUM_C7_API_URL")
            .unwrap_or_else(|| backend::crm::commerce7::DEFAULT_BASE_URL.to_owned());
        let shopify_base_url = var("VINCULUM_SHOPIFY_BASE_URL");
        for (name, url) in [
            ("VINCULUM_C7_API_URL", Some(&commerce7_base)),
            ("VINCULUM_SHOPIFY_BASE_URL", shopify_base_url.as_ref()),
        ] {
            if url.is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
                bail!("{name} must start with http:// or https://");
            }
        }
        let timeout_secs: u64 = parse_number("VINCULUM_CRM_TIMEOUT_SECS", 15)?;
        if timeout_secs == 0 {
            bail!("VINCULUM_CRM_TIMEOUT_SECS must be at least 1");
        }
        Ok(Self {
            commerce7_base,
            commerce7_app: pair("VINCULUM_C7_APP_ID", "VINCULUM_C7_APP_SECRET")?,
            commerce7_install: pair("VINCULUM_C7_INSTALL_USER", "VINCULUM_C7_INSTALL_PASSWORD")?,
            shopify_app: pair("VINCULUM_SHOPIFY_API_KEY", "VINCULUM_SHOPIFY_API_SECRET")?,
            shopify_scopes: var("VINCULUM_SHOPIFY_SCOPES").unwrap_or_else(|| {
                "read_customers,write_customers,read_orders,write_discounts".to_owned()
            }),
            shopify_api_version: var("VINCULUM_SHOPIFY_API_VERSION")
                .unwrap_or_else(|| backend::crm::shopify::DEFAULT_API_VERSION.to_owned()),
            shopify_base_url,
            timeout_secs,
        })
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_bool(name: &str, default: bool) -> Result<bool> {
    match var(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => bail!("{name} must be true or false, not {other:?}"),
    }
}

fn parse_number<T: FromStr>(name: &str, default: T) -> Result<T> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a positive whole number, not {raw:?}")),
    }
}

impl Settings {
    /// Reads the settings. `need_secret` makes `VINCULUM_SECRET_KEY` required.
    ///
    /// # Errors
    /// A required variable is missing, or a value is malformed; the message names the variable.
    pub fn from_env(need_secret: bool) -> Result<Self> {
        let url = var("DATABASE_URL").context(
            "DATABASE_URL is not set: point it at PostgreSQL, e.g. postgres://user@127.0.0.1:5432/vinculum (make dev sets it for you)",
        )?;
        let database = PgConnectOptions::from_str(&url)
            .map_err(|_| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL"))?
            .application_name("vinculum");
        let listen = var("VINCULUM_LISTEN_ADDR")
            .or_else(|| var("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let listen_addr = listen.parse().map_err(|_| {
            anyhow::anyhow!(
                "VINCULUM_LISTEN_ADDR must be host:port, e.g. 127.0.0.1:3000, not {listen:?}"
            )
        })?;
        let public_url = var("VINCULUM_PUBLIC_URL").unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("VINCULUM_PUBLIC_URL must start with http:// or https://");
        }
        let secret_key = match var("VINCULUM_SECRET_KEY") {
            Some(key) => {
                let key = key.trim();
                if key.len() != 64 || !key.chars().all(|c| c.is_ascii_hexdigit()) {
                    bail!(
                        "VINCULUM_SECRET_KEY must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32`"
                    );
                }
                Some(SecretString::from(key.to_owned()))
            }
            None if need_secret => bail!(
                "VINCULUM_SECRET_KEY is not set: it must be 64 hexadecimal characters (generate one with `openssl rand -hex 32`)"
            ),
            None => None,
        };
        let workers: usize = parse_number("VINCULUM_WORKERS", 2)?;
        let db_max_connections: u32 = parse_number("VINCULUM_DB_MAX_CONNECTIONS", 10)?;
        if db_max_connections == 0 {
            bail!("VINCULUM_DB_MAX_CONNECTIONS must be at least 1");
        }
        Ok(Self {
            database,
            db_max_connections,
            listen_addr,
            public_url,
            secret_key,
            demo_mode: parse_bool("VINCULUM_DEMO", false)?,
            trust_proxy: parse_bool("VINCULUM_TRUST_PROXY", false)?,
            workers,
            crm: CrmSettings::from_env()?,
        })
    }

    /// Whether the site is served over https (cookies are then `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl Settings {
    /// The address this server reaches itself at (the sandbox CRM is served here).
    pub fn self_url(&self) -> String {
        let addr = self.listen_addr;
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            addr.ip().to_string()
        };
        format!("http://{host}:{}", addr.port())
    }

    /// The messaging providers' base URLs: production unless `VINCULUM_SENDGRID_URL`,
    /// `VINCULUM_MANDRILL_URL`, `VINCULUM_KLAVIYO_URL` or `VINCULUM_TWILIO_URL` point elsewhere (a
    /// test double); `VINCULUM_KLAVIYO_REVISION` pins Klaviyo's API revision.
    pub fn messaging_endpoints(&self) -> backend::comms::providers::Endpoints {
        let mut endpoints = backend::comms::providers::Endpoints::production();
        let set = |name: &str, field: &mut String| {
            if let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
                *field = value.trim().trim_end_matches('/').to_owned();
            }
        };
        set("VINCULUM_SENDGRID_URL", &mut endpoints.sendgrid);
        set("VINCULUM_MANDRILL_URL", &mut endpoints.mandrill);
        set("VINCULUM_KLAVIYO_URL", &mut endpoints.klaviyo);
        set("VINCULUM_TWILIO_URL", &mut endpoints.twilio);
        set("VINCULUM_KLAVIYO_REVISION", &mut endpoints.klaviyo_revision);
        endpoints.timeout = std::time::Duration::from_secs(self.crm.timeout_secs);
        endpoints
    }

    /// The CRM registry these settings describe. The sandbox accepts credentials derived from the
    /// secret key, so nobody can call it without the key.
    pub fn crm_config(&self) -> backend::crm::registry::CrmConfig {
        use backend::crm::commerce7::AppCredentials;
        use secrecy::ExposeSecret as _;
        let crm = &self.crm;
        let sandbox_secret = self.secret_key.as_ref().map_or_else(
            || "sandbox-without-secret-key".to_owned(),
            |key| {
                backend::crm::signing::sign_hs256(
                    &serde_json::json!({ "purpose": "sandbox-crm" }),
                    key.expose_secret().as_bytes(),
                )
            },
        );
        backend::crm::registry::CrmConfig {
            commerce7_base: crm.commerce7_base.clone(),
            commerce7: crm
                .commerce7_app
                .as_ref()
                .map(|(id, secret)| AppCredentials {
                    app_id: id.clone(),
                    app_secret: secret.clone(),
                }),
            commerce7_install: crm.commerce7_install.as_ref().map(|(user, password)| {
                AppCredentials {
                    app_id: user.clone(),
                    app_secret: password.clone(),
                }
            }),
            sandbox_base: format!("{}/sandbox/c7/v1", self.self_url()),
            sandbox: AppCredentials {
                app_id: "vinculum-sandbox".to_owned(),
                app_secret: SecretString::from(sandbox_secret),
            },
            shopify: crm.shopify_app.as_ref().map(|(key, secret)| {
                backend::crm::shopify::ShopifyApp {
                    api_key: key.clone(),
                    api_secret: secret.clone(),
                    scopes: crm.shopify_scopes.clone(),
                    api_version: crm.shopify_api_version.clone(),
                    base_url: crm.shopify_base_url.clone(),
                }
            }),
            public_url: self.public_url.clone(),
            timeout: std::time::Duration::from_secs(crm.timeout_secs),
        }
    }
}
