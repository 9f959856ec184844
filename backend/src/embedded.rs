//! Signing in inside the CRM's admin, where third-party cookies are unreliable (architecture.md
//! section 3). Commerce7 opens Vinculum with an `account` token that Commerce7 itself verifies;
//! Vinculum then mints its own short-lived token (HS256, a key derived from the server's secret)
//! that the page carries in its URL and the hydrated app sends as `Authorization: Bearer` with
//! every server-function call. Shopify's own session tokens (HS256, signed with the app secret) are
//! accepted the same way.

use crate::auth::{Admin, hash_password};
use crate::crm::signing;
use crate::db::{self, admins};
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use domain::EmailAddress;
use domain::ids::{AdminUserId, ClientId};
use rand::RngCore as _;
use serde_json::{Value, json};
use sqlx::PgPool;

/// How long a launch token lasts; the CRM opens Vinculum again after that.
pub const TOKEN_LIFETIME: Duration = Duration::hours(1);

/// The key of Vinculum's own embedded tokens. Its `Debug` never shows it.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// Derives the key from the server's secret (so it rotates with it).
    pub fn derive(secret: &[u8]) -> Self {
        let derived = signing::sign_hs256(&json!({ "purpose": "embedded-token" }), secret);
        Self(derived.into_bytes())
    }
}

/// Mints a token naming `user` of `client`, valid for [`TOKEN_LIFETIME`].
pub fn mint(key: &TokenKey, user: AdminUserId, client: ClientId, now: DateTime<Utc>) -> String {
    signing::sign_hs256(
        &json!({
            "iss": "vinculum",
            "sub": user.as_uuid().to_string(),
            "cid": client.as_uuid().to_string(),
            "iat": now.timestamp(),
            "exp": (now + TOKEN_LIFETIME).timestamp(),
        }),
        &key.0,
    )
}

/// The admin a Vinculum embedded token names, if it is valid, unexpired and its winery installed.
///
/// # Errors
/// Database failures only.
pub async fn authenticate(
    pool: &PgPool,
    key: &TokenKey,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Admin>> {
    let Ok(claims) = signing::verify_hs256(token, &key.0) else {
        return Ok(None);
    };
    if claims.get("iss").and_then(Value::as_str) != Some("vinculum") {
        return Ok(None);
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp <= now.timestamp() {
        return Ok(None);
    }
    let id = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
    };
    let (Some(user), Some(client)) = (id("sub"), id("cid")) else {
        return Ok(None);
    };
    let mut tx = db::begin_platform(pool).await?;
    let found = admins::find_user(&mut tx, AdminUserId::new(user), ClientId::new(client)).await?;
    tx.commit().await?;
    Ok(found.map(Admin::from))
}

/// The winery's admin account for a CRM user, created on their first launch. An address already
/// used at another winery gets a `+<winery>` tag, so one person may work for two wineries.
///
/// # Errors
/// A malformed e-mail address, or database failures.
pub async fn admin_for(
    pool: &PgPool,
    client: ClientId,
    slug: &str,
    email: &str,
    display_name: Option<&str>,
) -> Result<AdminUserId> {
    let email = EmailAddress::parse(email)
        .map_err(|e| Error::invalid("email", format!("The CRM user's e-mail address {e}.")))?;
    let plain = email.as_str().to_owned();
    let tagged = match plain.split_once('@') {
        Some((local, domain)) => format!("{local}+{slug}@{domain}"),
        None => plain.clone(),
    };
    let mut tx = db::begin_platform(pool).await?;
    for candidate in [&plain, &tagged] {
        match admins::find_by_email(&mut tx, candidate).await? {
            Some((user, owner)) if owner == client => {
                tx.commit().await?;
                return Ok(user);
            }
            Some(_) => continue,
            None => {
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                let password = hex::encode(bytes);
                let hash = tokio::task::spawn_blocking(move || hash_password(&password))
                    .await
                    .map_err(|e| anyhow::anyhow!("joining the password hash: {e}"))??;
                let user = admins::insert_embedded(&mut tx, client, candidate, &hash, display_name)
                    .await?;
                tx.commit().await?;
                return Ok(user);
            }
        }
    }
    Err(Error::Conflict(format!(
        "{plain} is already an admin of two other wineries."
    )))
}

/// The admin a verified Shopify session token (App Bridge, `Authorization: Bearer`) names: the
/// shop must have Vinculum installed; its user gets an admin account there on first use.
///
/// # Errors
/// Database failures only.
pub async fn shopify_admin(pool: &PgPool, session: signing::SessionToken) -> Result<Option<Admin>> {
    let mut tx = db::begin_platform(pool).await?;
    let winery = crate::db::clients::find_by_tenant(&mut tx, "shopify", &session.shop)
        .await?
        .filter(|w| w.status == "installed");
    tx.commit().await?;
    let Some(winery) = winery else {
        return Ok(None);
    };
    let user = session.user_id.unwrap_or_else(|| "shop".to_owned());
    let local: String = user
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect();
    let email = format!("shopify-{local}@{}", session.shop);
    let admin = admin_for(pool, winery.id, &winery.slug, &email, None).await?;
    let mut tx = db::begin_platform(pool).await?;
    let found = admins::find_user(&mut tx, admin, winery.id).await?;
    tx.commit().await?;
    Ok(found.map(Admin::from))
}
