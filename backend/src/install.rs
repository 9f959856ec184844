//! Installing and uninstalling Vinculum from a CRM (integrations.md 1.2 and 2.2; decisions D23,
//! D24): the Commerce7 activation and de-activation calls, the Shopify OAuth install with its HMAC
//! and `state` checks, the webhook subscriptions Commerce7 needs, and connecting a winery to the
//! built-in sandbox CRM.

use crate::crm::commerce7::Commerce7;
use crate::crm::registry::Registry;
use crate::crm::{CrmError, shopify, signing};
use crate::db::{self, clients};
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use domain::ids::ClientId;
use rand::RngCore as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use sqlx::PgPool;

/// The Commerce7 deliveries Vinculum subscribes to (object, action).
pub const COMMERCE7_TOPICS: &[(&str, &str)] = &[
    ("Order", "Create"),
    ("Order", "Update"),
    ("Customer", "Create"),
    ("Customer", "Update"),
    ("Customer", "Delete"),
    ("Club Membership", "Update"),
    ("Club Membership", "Delete"),
    ("Club", "Update"),
    ("Club", "Delete"),
];

/// A fresh webhook secret.
pub fn new_secret() -> secrecy::SecretString {
    secrecy::SecretString::from(random_hex(24))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A slug for a new winery from its tenant id or shop (`spectra-winery`), made unique.
fn slug_for(tenant: &str) -> String {
    let base = crate::crm::stage_slug(tenant.trim_end_matches(".myshopify.com"));
    let base: String = base.chars().take(40).collect();
    format!("{}-{}", base.trim_end_matches('-'), &random_hex(3))
}

/// The webhook URL of a Commerce7 winery: the per-tenant secret is in the path (D23).
pub fn commerce7_webhook_url(public_url: &str, tenant: &str, secret: &str) -> String {
    format!(
        "{}/webhooks/c7/{tenant}/{secret}",
        public_url.trim_end_matches('/')
    )
}

/// Creates the winery for a CRM tenant, or installs it again (its data kept), and gives it a
/// connection with a fresh webhook secret. Returns the winery and the secret.
async fn ensure_winery(
    pool: &PgPool,
    registry: &Registry,
    crm_type: &str,
    provider: &str,
    tenant: &str,
    org_name: &str,
    now: DateTime<Utc>,
) -> Result<(ClientId, String)> {
    let mut tx = db::begin_platform(pool).await?;
    let client = match clients::find_by_tenant(&mut tx, crm_type, tenant).await? {
        Some(existing) => {
            clients::set_installed(&mut tx, existing.id, true, now).await?;
            existing.id
        }
        None => {
            clients::insert(
                &mut tx,
                &clients::NewClient {
                    slug: &slug_for(tenant),
                    tenant_shop: tenant,
                    crm_type,
                    org_name,
                    org_contact: None,
                    time_zone: "America/Los_Angeles",
                    currency: "USD",
                },
            )
            .await?
        }
    };
    tx.commit().await?;
    let secret = random_hex(24);
    let sealed = registry.cipher()?.seal(&secret);
    let mut tx = db::begin_scoped(pool, client).await?;
    db::crm::save_connection(&mut tx, client, provider, &sealed, &json!([])).await?;
    // Operations queued while disconnected can go now.
    db::crm::wake(&mut tx, client, now).await?;
    tx.commit().await?;
    Ok((client, secret))
}

/// Subscribes the winery's webhook URL to every topic Vinculum needs, replacing earlier
/// subscriptions. Returns how many were registered.
///
/// # Errors
/// The CRM refused or could not be reached (the earlier subscriptions are kept then).
pub async fn register_commerce7_webhooks(
    pool: &PgPool,
    crm: &Commerce7,
    client: ClientId,
    url: &str,
) -> Result<usize> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let connection = db::crm::connection(&mut tx, client).await?;
    tx.commit().await?;
    let mut ids = Vec::with_capacity(COMMERCE7_TOPICS.len());
    for (object, action) in COMMERCE7_TOPICS {
        let id = crm
            .register_webhook(object, action, url)
            .await
            .map_err(|e| {
                Error::Conflict(format!("registering the {object} {action} webhook: {e}"))
            })?;
        ids.push(id);
    }
    // The earlier subscriptions point at an old secret: remove them (best effort).
    let earlier: Vec<String> = connection
        .as_ref()
        .and_then(|c| c.webhook_ids.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for id in earlier {
        if let Err(e) = crm.delete_webhook(&id).await {
            tracing::warn!(webhook = %id, error = %e, "could not remove an old webhook subscription");
        }
    }
    let mut tx = db::begin_scoped(pool, client).await?;
    sqlx::query!(
        "update crm_connections set webhook_ids = $2, last_webhook_error = null where client_id = $1",
        client.as_uuid(),
        json!(ids)
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

/// Commerce7's activation call: creates (or reinstalls) the winery and registers its webhooks.
/// The body carries `tenantId`, the installing `user`, and our setup variables
/// (`organization-name`).
///
/// # Errors
/// A body without `tenantId` ([`Error::Invalid`]); database failures. A webhook registration that
/// fails is recorded on the connection for the admin, not returned: the install itself stands.
pub async fn install_commerce7(
    pool: &PgPool,
    registry: &Registry,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<ClientId> {
    let tenant = body
        .get("tenantId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or_else(|| Error::invalid("tenantId", "The install names no tenant."))?;
    let org_name = body
        .get("organization-name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(tenant);
    let crm = registry.commerce7(tenant)?;
    let (client, secret) = ensure_winery(
        pool,
        registry,
        "commerce7",
        "commerce7",
        tenant,
        org_name,
        now,
    )
    .await?;
    let url = commerce7_webhook_url(&registry.config.public_url, tenant, &secret);
    if let Err(e) = register_commerce7_webhooks(pool, &crm, client, &url).await {
        tracing::warn!(tenant, error = %e, "installed, but the webhooks could not be registered");
        let mut tx = db::begin_scoped(pool, client).await?;
        sqlx::query!(
            "update crm_connections set last_webhook_error = $2 where client_id = $1",
            client.as_uuid(),
            e.to_string()
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(client)
}

/// Commerce7's de-activation call: the winery is uninstalled (D24). Unknown tenants are fine.
///
/// # Errors
/// A body without `tenantId`; database failures.
pub async fn uninstall_commerce7(pool: &PgPool, body: &Value, now: DateTime<Utc>) -> Result<bool> {
    let tenant = body
        .get("tenantId")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid("tenantId", "The uninstall names no tenant."))?;
    let mut tx = db::begin_platform(pool).await?;
    let winery = clients::find_by_tenant(&mut tx, "commerce7", tenant).await?;
    tx.commit().await?;
    let Some(winery) = winery else {
        return Ok(false);
    };
    crate::webhooks::uninstall(pool, winery.id, "commerce7", now).await?;
    Ok(true)
}

/// Connects a winery to the built-in sandbox CRM (the demo): a connection with a fresh secret and
/// the sandbox's webhook subscriptions pointing at this server.
///
/// # Errors
/// The sandbox cannot be reached (the server is not running), or database failures.
pub async fn connect_sandbox(
    pool: &PgPool,
    registry: &Registry,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = db::begin_platform(pool).await?;
    let winery = clients::find(&mut tx, client)
        .await?
        .ok_or(Error::NotFound { what: "winery" })?;
    tx.commit().await?;
    let secret = random_hex(24);
    let sealed = registry.cipher()?.seal(&secret);
    let mut tx = db::begin_scoped(pool, client).await?;
    db::crm::save_connection(&mut tx, client, "sandbox", &sealed, &json!([])).await?;
    db::crm::wake(&mut tx, client, now).await?;
    tx.commit().await?;
    let url = commerce7_webhook_url(&registry.config.public_url, &winery.tenant_shop, &secret);
    register_commerce7_webhooks(pool, &registry.sandbox(&winery.tenant_shop), client, &url).await?;
    Ok(())
}

/// The query of a Shopify request, as name/value pairs (values URL-decoded).
pub type Query = [(String, String)];

fn param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Checks a request Shopify signed (the App URL and the OAuth callback): the HMAC, a fresh
/// timestamp (a day at most), and a well-formed shop. Returns the shop.
fn shopify_signed<'a>(
    registry: &Registry,
    query: &'a Query,
    now: DateTime<Utc>,
) -> Result<&'a str> {
    let app = registry.shopify_app()?;
    if !signing::shopify_query_is_valid(app.api_secret.expose_secret().as_bytes(), query) {
        return Err(Error::Unauthorized);
    }
    let fresh = param(query, "timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .is_some_and(|t| (now.timestamp() - t).abs() <= 24 * 3600);
    if !fresh {
        return Err(Error::Unauthorized);
    }
    param(query, "shop")
        .filter(|s| signing::is_valid_shop_domain(s))
        .ok_or_else(|| Error::invalid("shop", "That is not a Shopify shop."))
}

/// The App URL Shopify opens to install: after the checks, the address of Shopify's consent
/// screen, with a one-time `state` remembered for the callback.
///
/// # Errors
/// A bad signature or a stale request ([`Error::Unauthorized`]), a bad shop, or database failures.
pub async fn shopify_begin(
    pool: &PgPool,
    registry: &Registry,
    query: &Query,
    now: DateTime<Utc>,
) -> Result<String> {
    let shop = shopify_signed(registry, query, now)?;
    let state = random_hex(16);
    let mut tx = db::begin_platform(pool).await?;
    sqlx::query!(
        "delete from oauth_states where created_at < $1",
        now - Duration::hours(1)
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into oauth_states (state, shop, created_at) values ($1, $2, $3)",
        state,
        shop,
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let redirect = format!(
        "{}/integrations/shopify/callback",
        registry.config.public_url.trim_end_matches('/')
    );
    Ok(shopify::authorize_url(
        registry.shopify_app()?,
        shop,
        &state,
        &redirect,
    ))
}

/// The OAuth callback: the HMAC, the `state` Vinculum issued (used once, within the hour) for the
/// same shop, then the code exchanged for the shop's tokens, stored sealed. Creates (or
/// reinstalls) the winery.
///
/// # Errors
/// A bad signature, an unknown or reused `state` ([`Error::Unauthorized`]), a code Shopify
/// refused, or database failures.
pub async fn shopify_callback(
    pool: &PgPool,
    registry: &Registry,
    query: &Query,
    now: DateTime<Utc>,
) -> Result<ClientId> {
    let shop = shopify_signed(registry, query, now)?;
    let state = param(query, "state").unwrap_or_default();
    let mut tx = db::begin_platform(pool).await?;
    let issued = sqlx::query_scalar!(
        "delete from oauth_states where state = $1 and shop = $2 and created_at > $3 returning state",
        state,
        shop,
        now - Duration::hours(1)
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    if issued.is_none() {
        return Err(Error::Unauthorized);
    }
    let code = param(query, "code").ok_or(Error::Unauthorized)?;
    let tokens = shopify::exchange_code(registry.http(), registry.shopify_app()?, shop, code)
        .await
        .map_err(|e: CrmError| Error::Conflict(format!("Shopify refused the install: {e}")))?;
    let name = shop.trim_end_matches(".myshopify.com");
    let (client, _) = ensure_winery(pool, registry, "shopify", "shopify", shop, name, now).await?;
    registry.store_tokens(pool, client, &tokens, now).await?;
    Ok(client)
}

/// Commerce7's launch: the `account` token is checked with Commerce7 (`GET /account/user`); the
/// user gets an admin account at the winery (created on first launch) and a Vinculum token.
/// `None` when Commerce7 does not know the token.
///
/// # Errors
/// A tenant without Vinculum installed ([`Error::NotFound`]); Commerce7 unreachable; database
/// failures.
pub async fn launch_commerce7(
    pool: &PgPool,
    registry: &Registry,
    tokens: &crate::embedded::TokenKey,
    tenant: &str,
    account: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let mut tx = db::begin_platform(pool).await?;
    let winery = clients::find_by_tenant(&mut tx, "commerce7", tenant)
        .await?
        .filter(|w| w.status == "installed")
        .ok_or(Error::NotFound { what: "winery" })?;
    tx.commit().await?;
    let mut tx = db::begin_scoped(pool, winery.id).await?;
    let connection = db::crm::connection(&mut tx, winery.id).await?;
    tx.commit().await?;
    let crm = match connection.as_ref().map(|c| c.provider.as_str()) {
        Some("sandbox") => registry.sandbox(tenant),
        _ => registry.commerce7(tenant)?,
    };
    let user = crm
        .account_user(account)
        .await
        .map_err(|e| Error::Conflict(format!("Commerce7 could not confirm the user: {e}")))?;
    let Some(user) = user else {
        return Ok(None);
    };
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let admin = crate::embedded::admin_for(
        pool,
        winery.id,
        &winery.slug,
        &user.email,
        Some(name.as_str()).filter(|n| !n.is_empty()),
    )
    .await?;
    Ok(Some(crate::embedded::mint(tokens, admin, winery.id, now)))
}

/// Points the sandbox's webhook subscriptions of a winery at this server (its address may have
/// changed since the last run), using the connection's secret.
///
/// # Errors
/// The sandbox cannot be reached, or database failures.
pub async fn refresh_sandbox_webhooks(
    pool: &PgPool,
    registry: &Registry,
    client: ClientId,
) -> Result<bool> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let winery = clients::find(&mut tx, client).await?;
    let connection = db::crm::connection(&mut tx, client).await?;
    tx.commit().await?;
    let (Some(winery), Some(connection)) = (winery, connection) else {
        return Ok(false);
    };
    if connection.provider != "sandbox" {
        return Ok(false);
    }
    let secret = registry
        .cipher()?
        .open(&connection.webhook_secret_encrypted)
        .map_err(|e| anyhow::anyhow!("opening the webhook secret: {e}"))?;
    let url = commerce7_webhook_url(
        &registry.config.public_url,
        &winery.tenant_shop,
        secret.expose_secret(),
    );
    register_commerce7_webhooks(pool, &registry.sandbox(&winery.tenant_shop), client, &url).await?;
    Ok(true)
}

/// Gives a winery a sandbox connection unless it has a connection already (the demo seed; no CRM
/// call: the server registers the sandbox's webhooks when it starts). Returns whether it did.
///
/// # Errors
/// Database failures.
pub async fn attach_sandbox(
    pool: &PgPool,
    cipher: &crate::crypto::Cipher,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = db::begin_scoped(pool, client).await?;
    if db::crm::connection(&mut tx, client).await?.is_some() {
        return Ok(false);
    }
    let sealed = cipher.seal(&random_hex(24));
    db::crm::save_connection(&mut tx, client, "sandbox", &sealed, &json!([])).await?;
    db::crm::wake(&mut tx, client, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The admin a Shopify session token names. A shop that is not installed yet (Shopify manages the
/// install of embedded apps), or whose token is gone, is installed here: the session token is
/// exchanged for the shop's expiring offline token (integrations.md 2.2, option A).
///
/// # Errors
/// Database failures; a token exchange Shopify refused.
pub async fn shopify_session(
    pool: &PgPool,
    registry: &Registry,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<crate::auth::Admin>> {
    let app = registry.shopify_app()?;
    let Ok(session) = signing::verify_session_token(
        token,
        &app.api_key,
        app.api_secret.expose_secret().as_bytes(),
        now,
    ) else {
        return Ok(None);
    };
    let mut tx = db::begin_platform(pool).await?;
    let winery = clients::find_by_tenant(&mut tx, "shopify", &session.shop).await?;
    tx.commit().await?;
    let has_token = match winery.as_ref().filter(|w| w.status == "installed") {
        Some(w) => {
            let mut tx = db::begin_scoped(pool, w.id).await?;
            let tokens = db::crm::tokens(&mut tx, w.id).await?;
            tx.commit().await?;
            tokens.is_some()
        }
        None => false,
    };
    if !has_token {
        let tokens = shopify::exchange_session_token(registry.http(), app, &session.shop, token)
            .await
            .map_err(|e| Error::Conflict(format!("Shopify refused the token exchange: {e}")))?;
        let name = session.shop.trim_end_matches(".myshopify.com");
        let (client, _) = ensure_winery(
            pool,
            registry,
            "shopify",
            "shopify",
            &session.shop,
            name,
            now,
        )
        .await?;
        registry.store_tokens(pool, client, &tokens, now).await?;
    }
    crate::embedded::shopify_admin(pool, session).await
}
