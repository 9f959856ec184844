//! One-time keys carried by admin "create" forms: the first submission claims the key, a second
//! submission of the same form finds it taken.

use crate::Result;
use domain::ids::ClientId;
use sqlx::PgConnection;
use uuid::Uuid;

/// Claims `key` for `action`. Returns false when the key was already used.
pub async fn claim(
    conn: &mut PgConnection,
    client: ClientId,
    key: Uuid,
    action: &str,
) -> Result<bool> {
    let inserted = sqlx::query!(
        r#"insert into idempotency_keys (client_id, key, action) values ($1, $2, $3)
           on conflict do nothing"#,
        client.as_uuid(),
        key,
        action
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
