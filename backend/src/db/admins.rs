//! Queries on the platform tables of standalone authentication: `admin_users`, `admin_sessions`
//! and `login_attempts`. Read before a tenant is known; each row still names its client.

use crate::Result;
use chrono::{DateTime, Utc};
use domain::ids::{AdminUserId, ClientId};
use sqlx::PgConnection;

/// An admin user with the password hash, for verifying a login. Deliberately not `Serialize`.
pub struct Credentials {
    pub id: AdminUserId,
    pub password_hash: String,
}

/// Finds the credentials of an active admin of an installed client.
pub async fn find_credentials(conn: &mut PgConnection, email: &str) -> Result<Option<Credentials>> {
    let row = sqlx::query!(
        r#"select u.id, u.password_hash
           from admin_users u join clients c on c.id = u.client_id
           where u.email = $1 and u.is_active and c.status = 'installed'"#,
        email
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Credentials {
        id: AdminUserId::new(r.id),
        password_hash: r.password_hash,
    }))
}

/// Who is signed in, resolved from a session.
#[derive(Clone, Debug)]
pub struct SessionAdmin {
    pub user_id: AdminUserId,
    pub client_id: ClientId,
    pub email: String,
    pub display_name: Option<String>,
    pub role: String,
    pub org_name: String,
    pub currency: String,
    pub time_zone: String,
}

/// An admin row joined with their winery, as both lookups read it.
struct AdminRow {
    id: uuid::Uuid,
    client_id: uuid::Uuid,
    email: String,
    display_name: Option<String>,
    role: String,
    org_name: String,
    currency: String,
    time_zone: String,
}

impl From<AdminRow> for SessionAdmin {
    fn from(r: AdminRow) -> Self {
        Self {
            user_id: AdminUserId::new(r.id),
            client_id: ClientId::new(r.client_id),
            email: r.email,
            display_name: r.display_name,
            role: r.role,
            org_name: r.org_name,
            currency: r.currency,
            time_zone: r.time_zone,
        }
    }
}

/// Resolves an unexpired session by the hash of its token, touching `last_seen_at`.
pub async fn find_session(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<SessionAdmin>> {
    let row = sqlx::query_as!(
        AdminRow,
        r#"with touched as (
               update admin_sessions set last_seen_at = $2
               where token_hash = $1 and expires_at > $2
               returning admin_user_id
           )
           select u.id, u.client_id, u.email, u.display_name, u.role,
                  c.org_name, c.currency as "currency!", c.time_zone
           from touched t
           join admin_users u on u.id = t.admin_user_id and u.is_active
           join clients c on c.id = u.client_id and c.status = 'installed'"#,
        token_hash,
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(SessionAdmin::from))
}

/// Stores a new session for `user`.
pub async fn insert_session(
    conn: &mut PgConnection,
    user: AdminUserId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
    user_agent: Option<&str>,
) -> Result<()> {
    sqlx::query!(
        r#"insert into admin_sessions (token_hash, admin_user_id, client_id, expires_at, user_agent)
           select $1, u.id, u.client_id, $3, $4 from admin_users u where u.id = $2"#,
        token_hash,
        user.as_uuid(),
        expires_at,
        user_agent
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update admin_users set last_login_at = now() where id = $1",
        user.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the session with this token hash (logout).
pub async fn delete_session(conn: &mut PgConnection, token_hash: &[u8]) -> Result<()> {
    sqlx::query!(
        "delete from admin_sessions where token_hash = $1",
        token_hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a login attempt for rate limiting.
pub async fn record_attempt(
    conn: &mut PgConnection,
    email: &str,
    ip: &str,
    succeeded: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "insert into login_attempts (email, ip, succeeded, attempted_at) values ($1, $2, $3, $4)",
        email,
        ip,
        succeeded,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Failed attempts since `since`, for this e-mail address and for this network address.
pub async fn recent_failures(
    conn: &mut PgConnection,
    email: &str,
    ip: &str,
    since: DateTime<Utc>,
) -> Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"select
               (select count(*) from login_attempts where email = $1 and not succeeded and attempted_at > $3) as "by_email!",
               (select count(*) from login_attempts where ip = $2 and not succeeded and attempted_at > $3) as "by_ip!""#,
        email,
        ip,
        since
    )
    .fetch_one(conn)
    .await?;
    Ok((row.by_email, row.by_ip))
}

/// Creates (or, for the same e-mail, replaces the password and client of) an admin user.
pub async fn upsert_user(
    conn: &mut PgConnection,
    client: ClientId,
    email: &str,
    password_hash: &str,
    display_name: Option<&str>,
    role: &str,
) -> Result<AdminUserId> {
    let id = sqlx::query_scalar!(
        r#"insert into admin_users (client_id, email, password_hash, display_name, role)
           values ($1, $2, $3, $4, $5)
           on conflict (email) do update
               set client_id = excluded.client_id, password_hash = excluded.password_hash,
                   display_name = excluded.display_name, role = excluded.role, is_active = true
           returning id"#,
        client.as_uuid(),
        email,
        password_hash,
        display_name,
        role
    )
    .fetch_one(conn)
    .await?;
    Ok(AdminUserId::new(id))
}

/// Deletes expired sessions and login attempts older than `attempts_before`; returns both counts.
pub async fn purge_expired(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    attempts_before: DateTime<Utc>,
) -> Result<(u64, u64)> {
    let sessions = sqlx::query!("delete from admin_sessions where expires_at <= $1", now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let attempts = sqlx::query!(
        "delete from login_attempts where attempted_at < $1",
        attempts_before
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok((sessions, attempts))
}

/// Resolves an active admin of an installed winery by id (an embedded launch token names them).
pub async fn find_user(
    conn: &mut PgConnection,
    user: AdminUserId,
    client: ClientId,
) -> Result<Option<SessionAdmin>> {
    let row = sqlx::query_as!(
        AdminRow,
        r#"select u.id, u.client_id, u.email, u.display_name, u.role,
                  c.org_name, c.currency as "currency!", c.time_zone
           from admin_users u join clients c on c.id = u.client_id and c.status = 'installed'
           where u.id = $1 and u.client_id = $2 and u.is_active"#,
        user.as_uuid(),
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(SessionAdmin::from))
}

/// The admin user with this e-mail address and the winery it belongs to.
pub async fn find_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<(AdminUserId, ClientId)>> {
    let row = sqlx::query!(
        "select id, client_id from admin_users where email = $1",
        email
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (AdminUserId::new(r.id), ClientId::new(r.client_id))))
}

/// Adds an admin who signs in only through the CRM (their password is random and never shown).
pub async fn insert_embedded(
    conn: &mut PgConnection,
    client: ClientId,
    email: &str,
    password_hash: &str,
    display_name: Option<&str>,
) -> Result<AdminUserId> {
    let id = sqlx::query_scalar!(
        r#"insert into admin_users (client_id, email, password_hash, display_name, role)
           values ($1, $2, $3, $4, 'owner') returning id"#,
        client.as_uuid(),
        email,
        password_hash,
        display_name
    )
    .fetch_one(conn)
    .await?;
    Ok(AdminUserId::new(id))
}
