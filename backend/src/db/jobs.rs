//! Queries on the platform tables `jobs` and `scheduled_runs`: enqueue, claim with a lease,
//! finish, and the scheduler's one-enqueue-per-slot dedupe.

use crate::Result;
use chrono::{DateTime, Utc};
use domain::ids::ClientId;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A job row claimed by a worker.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub kind: String,
    pub client_id: Option<ClientId>,
    pub payload: Value,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Inserts a job; a job with the same `dedupe_key` already queued makes this a no-op.
/// Returns the new job's id, or `None` when deduplicated.
pub async fn enqueue(
    conn: &mut PgConnection,
    kind: &str,
    client: Option<ClientId>,
    payload: &Value,
    run_after: DateTime<Utc>,
    dedupe_key: Option<&str>,
) -> Result<Option<Uuid>> {
    let id = sqlx::query_scalar!(
        r#"insert into jobs (kind, client_id, payload, run_after, dedupe_key)
           values ($1, $2, $3, $4, $5)
           on conflict (dedupe_key) do nothing
           returning id"#,
        kind,
        client.map(|c| c.as_uuid()),
        payload,
        run_after,
        dedupe_key
    )
    .fetch_optional(conn)
    .await?;
    Ok(id)
}

/// Claims the next due job: queued and due, or running with a lapsed lease (its worker died).
/// `FOR UPDATE SKIP LOCKED` lets any number of workers share the queue.
pub async fn claim_next(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<ClaimedJob>> {
    let row = sqlx::query!(
        r#"update jobs set status = 'running', attempts = attempts + 1, locked_until = $2
           where id = (
               select id from jobs
               where (status = 'queued' and run_after <= $1)
                  or (status = 'running' and locked_until < $1)
               order by run_after
               for update skip locked
               limit 1
           )
           returning id, kind, client_id, payload, attempts, max_attempts"#,
        now,
        lease_until
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| ClaimedJob {
        id: r.id,
        kind: r.kind,
        client_id: r.client_id.map(ClientId::new),
        payload: r.payload,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
    }))
}

/// Marks a claimed job done.
pub async fn succeed(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    sqlx::query!(
        "update jobs set status = 'succeeded', locked_until = null, last_error = null, finished_at = $2 where id = $1",
        id,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failure: the job is queued again at `retry_at`, or marked failed when `retry_at` is
/// `None` (attempts exhausted).
pub async fn fail(
    conn: &mut PgConnection,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"update jobs
           set status = case when $3::timestamptz is null then 'failed' else 'queued' end,
               run_after = coalesce($3, run_after), locked_until = null, last_error = $2,
               finished_at = case when $3::timestamptz is null then $4::timestamptz end
           where id = $1"#,
        id,
        error,
        retry_at,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that the scheduler enqueued `job` for `client` at `slot`. Returns false when another
/// copy of the scheduler already did (the unique slot index).
pub async fn claim_slot(
    conn: &mut PgConnection,
    job: &str,
    client: Option<ClientId>,
    slot: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query!(
        r#"insert into scheduled_runs (job, client_id, slot_at) values ($1, $2, $3)
           on conflict do nothing"#,
        job,
        client.map(|c| c.as_uuid()),
        slot
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Links a claimed slot to the job it enqueued.
pub async fn link_slot(
    conn: &mut PgConnection,
    job: &str,
    client: Option<ClientId>,
    slot: DateTime<Utc>,
    job_id: Uuid,
) -> Result<()> {
    sqlx::query!(
        r#"update scheduled_runs set job_id = $4
           where job = $1 and coalesce(client_id, '00000000-0000-0000-0000-000000000000'::uuid)
                 = coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid) and slot_at = $3"#,
        job,
        client.map(|c| c.as_uuid()),
        slot,
        job_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A job's state, for tests and the command line.
#[derive(Debug, Clone)]
pub struct JobStatus {
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Reads a job's state.
pub async fn status(conn: &mut PgConnection, id: Uuid) -> Result<Option<JobStatus>> {
    let row = sqlx::query_as!(
        JobStatus,
        "select kind, status, attempts, last_error from jobs where id = $1",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}
