//! Standalone authentication for winery staff: argon2 password checks, database-backed sessions
//! (only the SHA-256 of the cookie token is stored) and login rate limiting.
//!
//! Errors never reveal whether an account exists: an unknown address and a wrong password get the
//! same message and take the same time (a dummy hash is verified for unknown addresses).
//! Every way of signing in ends in an [`Admin`], so embedded (iframe) modes plug in beside
//! [`authenticate`] later without touching the services.

use crate::db::{self, admins, audit::Actor};
use crate::{Error, Result};
use anyhow::Context as _;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use domain::EmailAddress;
use domain::ids::{AdminUserId, ClientId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::fmt;
use std::sync::OnceLock;

/// How long a session lasts after login.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// The window over which failed logins are counted.
pub const RATE_WINDOW: Duration = Duration::minutes(15);
/// Failed logins allowed per e-mail address within the window.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
/// Failed logins allowed per network address within the window.
pub const MAX_FAILURES_PER_IP: i64 = 30;
/// Shortest password accepted when an account is created.
pub const MIN_PASSWORD_LEN: usize = 10;

const BAD_CREDENTIALS: &str = "The e-mail address or password is incorrect.";

/// What a staff member may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    Viewer,
}

impl Role {
    fn parse(raw: &str) -> Self {
        match raw {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            _ => Self::Viewer,
        }
    }
}

/// A signed-in winery staff member: who is asking, and for which tenant.
#[derive(Clone, Debug)]
pub struct Admin {
    pub user_id: AdminUserId,
    pub client_id: ClientId,
    pub email: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub org_name: String,
    pub currency: String,
    pub time_zone: String,
}

impl Admin {
    /// The actor recorded in audit rows.
    pub fn actor(&self) -> Actor {
        Actor::Admin {
            id: self.user_id,
            email: self.email.clone(),
        }
    }

    /// The winery's clock (UTC when the stored zone is unknown).
    pub fn zone(&self) -> chrono_tz::Tz {
        domain::calendar::parse_time_zone(&self.time_zone).unwrap_or(chrono_tz::UTC)
    }

    /// Refuses viewers: only owners and admins change things.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a viewer.
    pub fn require_editor(&self) -> Result<()> {
        match self.role {
            Role::Owner | Role::Admin => Ok(()),
            Role::Viewer => Err(Error::Forbidden),
        }
    }
}

impl From<admins::SessionAdmin> for Admin {
    fn from(s: admins::SessionAdmin) -> Self {
        Self {
            user_id: s.user_id,
            client_id: s.client_id,
            email: s.email,
            display_name: s.display_name,
            role: Role::parse(&s.role),
            org_name: s.org_name,
            currency: s.currency,
            time_zone: s.time_zone,
        }
    }
}

/// The secret a browser holds in its session cookie. Its `Debug` never shows the value.
pub struct SessionToken(String);

impl SessionToken {
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The cookie value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Hashes a password with argon2id and a random salt.
///
/// # Errors
/// A password shorter than [`MIN_PASSWORD_LEN`].
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::invalid(
            "password",
            format!("The password must be at least {MIN_PASSWORD_LEN} characters."),
        ));
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-at-all").unwrap_or_default())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks an e-mail address and password and opens a session.
///
/// # Errors
/// - [`Error::Invalid`] for a malformed address or wrong credentials (one message for both an
///   unknown address and a wrong password);
/// - [`Error::RateLimited`] after too many failures for the address or the network address.
#[tracing::instrument(skip_all)]
pub async fn login(
    pool: &PgPool,
    email: &str,
    password: &str,
    ip: &str,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(SessionToken, Admin)> {
    let email = EmailAddress::parse(email)
        .map_err(|e| Error::invalid("email", format!("The e-mail address {e}.")))?;
    if password.is_empty() {
        return Err(Error::invalid("password", "Enter your password."));
    }
    if password.len() > 1_024 {
        return Err(Error::invalid("password", BAD_CREDENTIALS));
    }

    let mut tx = db::begin_platform(pool).await?;
    let (by_email, by_ip) =
        admins::recent_failures(&mut tx, email.as_str(), ip, now - RATE_WINDOW).await?;
    if by_email >= MAX_FAILURES_PER_EMAIL || by_ip >= MAX_FAILURES_PER_IP {
        return Err(Error::RateLimited {
            retry_after_minutes: RATE_WINDOW.num_minutes(),
        });
    }
    let credentials = admins::find_credentials(&mut tx, email.as_str()).await?;
    tx.commit().await?;

    let (user, hash) = match credentials {
        Some(c) => (Some(c.id), c.password_hash),
        None => (None, dummy_hash().to_owned()),
    };
    let password = password.to_owned();
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .context("joining the password check")?;

    let mut tx = db::begin_platform(pool).await?;
    let user = match (user, verified) {
        (Some(user), true) => user,
        _ => {
            admins::record_attempt(&mut tx, email.as_str(), ip, false, now).await?;
            tx.commit().await?;
            tracing::info!("failed admin login");
            return Err(Error::invalid("password", BAD_CREDENTIALS));
        }
    };
    admins::record_attempt(&mut tx, email.as_str(), ip, true, now).await?;
    let token = SessionToken::generate();
    admins::insert_session(
        &mut tx,
        user,
        &token_hash(token.expose()),
        now + SESSION_TTL,
        user_agent,
    )
    .await?;
    let admin = admins::find_session(&mut tx, &token_hash(token.expose()), now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a session just created was not found"))?;
    tx.commit().await?;
    tracing::info!(admin = %admin.user_id, "admin signed in");
    Ok((token, admin.into()))
}

/// Resolves a session cookie to the signed-in admin, or `None` when it is unknown or expired.
///
/// # Errors
/// Database failures only.
pub async fn authenticate(pool: &PgPool, token: &str, now: DateTime<Utc>) -> Result<Option<Admin>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let mut tx = db::begin_platform(pool).await?;
    let admin = admins::find_session(&mut tx, &token_hash(token), now).await?;
    tx.commit().await?;
    Ok(admin.map(Admin::from))
}

/// Ends the session held by this cookie.
///
/// # Errors
/// Database failures only.
pub async fn logout(pool: &PgPool, token: &str) -> Result<()> {
    let mut tx = db::begin_platform(pool).await?;
    admins::delete_session(&mut tx, &token_hash(token)).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates or resets an admin account for `client` (the command line and the demo seed use it).
///
/// # Errors
/// A malformed address or a too-short password.
pub async fn upsert_admin(
    pool: &PgPool,
    client: ClientId,
    email: &str,
    password: &str,
    display_name: Option<&str>,
) -> Result<AdminUserId> {
    let email = EmailAddress::parse(email)
        .map_err(|e| Error::invalid("email", format!("The e-mail address {e}.")))?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .context("joining the password hash")??;
    let mut tx = db::begin_platform(pool).await?;
    let id = admins::upsert_user(
        &mut tx,
        client,
        email.as_str(),
        &hash,
        display_name,
        "owner",
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").expect("long enough");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash_password("short"), Err(Error::Invalid(_))));
    }

    #[test]
    fn session_tokens_are_random_and_never_printed() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert_eq!(format!("{a:?}"), "SessionToken(..)");
    }
}
