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
        })
    }

    /// Whether the site is served over https (cookies are then `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
