//! Inserts into `audit_log`: one row per change, with who acted and the state before and after.

use crate::Result;
use domain::ids::{AdminUserId, ClientId};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// Who made a change.
#[derive(Clone, Debug)]
pub enum Actor {
    Admin { id: AdminUserId, email: String },
    System { job: String },
    Webhook { provider: String },
    Cli { command: String },
}

impl Actor {
    fn kind(&self) -> &'static str {
        match self {
            Self::Admin { .. } => "admin",
            Self::System { .. } => "system",
            Self::Webhook { .. } => "webhook",
            Self::Cli { .. } => "cli",
        }
    }

    fn label(&self) -> &str {
        match self {
            Self::Admin { email, .. } => email,
            Self::System { job } => job,
            Self::Webhook { provider } => provider,
            Self::Cli { command } => command,
        }
    }

    fn admin_id(&self) -> Option<Uuid> {
        match self {
            Self::Admin { id, .. } => Some(id.as_uuid()),
            _ => None,
        }
    }
}

/// One audited change.
pub struct Entry<'a> {
    pub client: ClientId,
    pub actor: &'a Actor,
    /// Dotted verb, e.g. `stage.updated`.
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<&'a str>,
}

/// Writes an audit row (inside the caller's transaction, so it commits with the change).
pub async fn record(conn: &mut PgConnection, entry: Entry<'_>) -> Result<()> {
    sqlx::query!(
        r#"insert into audit_log (client_id, actor_kind, actor_admin_id, actor_label, action,
                                  entity_type, entity_id, before, after, reason)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        entry.client.as_uuid(),
        entry.actor.kind(),
        entry.actor.admin_id(),
        entry.actor.label(),
        entry.action,
        entry.entity_type,
        entry.entity_id,
        entry.before,
        entry.after,
        entry.reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An audit row as read back.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The most recent audit rows of `client`, newest first.
pub async fn recent(
    conn: &mut PgConnection,
    client: ClientId,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let rows = sqlx::query_as!(
        AuditRow,
        r#"select actor_label, action, entity_type, entity_id, before, after
           from audit_log where client_id = $1 order by created_at desc, id desc limit $2"#,
        client.as_uuid(),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}
