//! The job framework: enqueue, claim with a lease, retry with backoff, scheduler slot dedupe, and
//! the `purge-sessions` job.

mod common;

use backend::db::{self, jobs as q};
use backend::jobs::{self, Outcome};
use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_scheduler_enqueues_each_slot_once_even_when_three_copies_tick_together(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let now = at("2026-11-29T05:00:30Z");
    let ticks: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn({
                let pool = pool.clone();
                async move { jobs::schedule_due(&pool, now).await }
            })
        })
        .collect();
    let mut total = 0;
    for t in ticks {
        total += t.await.expect("task").expect("tick");
    }
    assert_eq!(total, 1, "purge-sessions is due once for the 05:00 slot");
    assert_eq!(
        jobs::schedule_due(&pool, now + Duration::minutes(10))
            .await
            .expect("tick"),
        0,
        "same slot"
    );
    assert_eq!(
        jobs::schedule_due(&pool, at("2026-11-29T06:00:05Z"))
            .await
            .expect("tick"),
        1,
        "next slot"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_worker_runs_a_due_job_once(_: PgPoolOptions, options: PgConnectOptions) {
    let pool = common::app_pool(&options).await;
    let now = at("2026-11-29T05:00:30Z");
    jobs::schedule_due(&pool, now).await.expect("tick");
    assert_eq!(
        jobs::run_next(&pool, now).await.expect("step"),
        Outcome::Ran {
            job: "purge-sessions".to_owned(),
            succeeded: true
        }
    );
    assert_eq!(
        jobs::run_next(&pool, now).await.expect("step"),
        Outcome::Empty
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_failing_job_is_retried_with_backoff_then_marked_failed(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let now = at("2026-11-29T05:00:00Z");
    let mut tx = db::begin_platform(&pool).await.expect("tx");
    let id = q::enqueue(
        &mut tx,
        "no-such-job",
        None,
        &serde_json::json!({}),
        now,
        None,
    )
    .await
    .expect("enqueue")
    .expect("id");
    sqlx::query("update jobs set max_attempts = 2 where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .expect("limit");
    tx.commit().await.expect("commit");

    assert_eq!(
        jobs::run_next(&pool, now).await.expect("step"),
        Outcome::Ran {
            job: "no-such-job".to_owned(),
            succeeded: false
        }
    );
    assert_eq!(
        jobs::run_next(&pool, now).await.expect("step"),
        Outcome::Empty,
        "the retry waits a minute"
    );
    let later = now + jobs::backoff(1) + Duration::seconds(1);
    assert!(matches!(
        jobs::run_next(&pool, later).await.expect("step"),
        Outcome::Ran {
            succeeded: false,
            ..
        }
    ));

    let mut tx = db::begin_platform(&pool).await.expect("tx");
    let status = q::status(&mut tx, id).await.expect("status").expect("row");
    assert_eq!((status.status.as_str(), status.attempts), ("failed", 2));
    assert!(
        status
            .last_error
            .expect("error recorded")
            .contains("unknown job kind")
    );
    assert_eq!(
        jobs::run_next(&pool, later + Duration::hours(2))
            .await
            .expect("step"),
        Outcome::Empty
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_job_whose_worker_died_runs_again_after_its_lease(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let now = at("2026-11-29T05:00:00Z");
    let mut tx = db::begin_platform(&pool).await.expect("tx");
    q::enqueue(
        &mut tx,
        "purge-sessions",
        None,
        &serde_json::json!({}),
        now,
        None,
    )
    .await
    .expect("enqueue");
    // A worker claims it and dies without finishing.
    let claimed = q::claim_next(&mut tx, now, now + jobs::LEASE)
        .await
        .expect("claim")
        .expect("a job");
    tx.commit().await.expect("commit");

    assert_eq!(
        jobs::run_next(&pool, now + Duration::minutes(5))
            .await
            .expect("step"),
        Outcome::Empty,
        "still leased"
    );
    assert!(matches!(
        jobs::run_next(&pool, now + jobs::LEASE + Duration::seconds(1))
            .await
            .expect("step"),
        Outcome::Ran {
            succeeded: true,
            ..
        }
    ));
    let mut tx = db::begin_platform(&pool).await.expect("tx");
    assert_eq!(
        q::status(&mut tx, claimed.id)
            .await
            .expect("status")
            .expect("row")
            .attempts,
        2
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn purge_sessions_deletes_only_expired_sessions(_: PgPoolOptions, options: PgConnectOptions) {
    let pool = common::app_pool(&options).await;
    let client = common::make_client(&pool, "Cellars").await;
    let admin = common::make_admin(&pool, client, backend::auth::Role::Owner).await;
    let now = Utc::now();
    let (old, _) = backend::auth::login(
        &pool,
        &admin.email,
        "correct horse battery",
        "1.1.1.1",
        None,
        now - Duration::days(2),
    )
    .await
    .expect("old session");
    let (fresh, _) = backend::auth::login(
        &pool,
        &admin.email,
        "correct horse battery",
        "1.1.1.1",
        None,
        now,
    )
    .await
    .expect("fresh session");

    let job = jobs::find("purge-sessions").expect("registered");
    let report = jobs::run(&pool, job, None, now).await.expect("runs");
    assert!(
        report.summary.starts_with("deleted 1 expired sessions"),
        "{}",
        report.summary
    );
    assert!(
        backend::auth::authenticate(&pool, fresh.expose(), now)
            .await
            .expect("lookup")
            .is_some()
    );
    assert!(
        backend::auth::authenticate(&pool, old.expose(), now - Duration::days(2))
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(
        jobs::run(&pool, job, Some(client), now).await.is_err(),
        "a platform job takes no client"
    );
}
