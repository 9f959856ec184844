//! Queries on `import_runs`: an uploaded, validated order file, its dry-run preview and the
//! progress of the import itself.

use crate::Result;
use domain::ids::{AdminUserId, ClientId};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// An import run as the page shows it.
#[derive(Clone, Debug)]
pub struct ImportRun {
    pub id: Uuid,
    pub file_name: String,
    pub row_count: i32,
    pub status: String,
    pub processed_rows: i32,
    pub preview: Option<Value>,
    pub result: Option<Value>,
    pub error_message: Option<String>,
}

/// Stores a validated file, ready for its dry run.
pub async fn insert(
    conn: &mut PgConnection,
    client: ClientId,
    by: Option<AdminUserId>,
    file_name: &str,
    rows: &Value,
    row_count: i32,
) -> Result<Uuid> {
    let id = sqlx::query_scalar!(
        r#"insert into import_runs (client_id, created_by, file_name, rows, row_count)
           values ($1, $2, $3, $4, $5) returning id"#,
        client.as_uuid(),
        by.map(|b| b.as_uuid()),
        file_name,
        rows,
        row_count
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// A run's state.
pub async fn find(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
) -> Result<Option<ImportRun>> {
    let run = sqlx::query_as!(
        ImportRun,
        r#"select id, file_name, row_count, status, processed_rows, preview, result, error_message
           from import_runs where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(run)
}

/// A run's rows.
pub async fn rows(conn: &mut PgConnection, client: ClientId, id: Uuid) -> Result<Value> {
    let rows = sqlx::query_scalar!(
        "select rows from import_runs where client_id = $1 and id = $2",
        client.as_uuid(),
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(rows)
}

/// Moves a run from `from` to `to`; false when it was not in `from` (a second click, a race).
pub async fn transition(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    from: &str,
    to: &str,
) -> Result<bool> {
    let changed = sqlx::query!(
        "update import_runs set status = $4 where client_id = $1 and id = $2 and status = $3",
        client.as_uuid(),
        id,
        from,
        to
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Records the dry run's summary.
pub async fn set_preview(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    preview: &Value,
) -> Result<()> {
    sqlx::query!(
        "update import_runs set preview = $3, status = 'previewed' where client_id = $1 and id = $2",
        client.as_uuid(),
        id,
        preview
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records progress of the import.
pub async fn set_progress(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    processed: i32,
) -> Result<()> {
    sqlx::query!(
        "update import_runs set processed_rows = $3 where client_id = $1 and id = $2",
        client.as_uuid(),
        id,
        processed
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the outcome: `completed` with its summary, or `failed` with a message.
pub async fn finish(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    result: Option<&Value>,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query!(
        r#"update import_runs
           set status = case when $4::text is null then 'completed' else 'failed' end, result = $3, error_message = $4
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id,
        result,
        error
    )
    .execute(conn)
    .await?;
    Ok(())
}
