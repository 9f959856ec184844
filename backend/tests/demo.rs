//! The demo winery: a plausible club with enrollments in every state, consistent with the rules.

mod common;

use backend::demo::{self, SeedOptions};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_demo_seed_creates_enrollments_in_every_state_once(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let now = DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .expect("instant")
        .with_timezone(&Utc);
    let seed = SeedOptions::demo(200, now);

    let report = demo::seed(&pool, &seed).await.expect("seeded");
    assert!(report.created);
    assert_eq!(report.customers, 200);
    for (state, count) in [
        ("active", report.active),
        ("expired", report.expired),
        ("upgraded", report.upgraded),
        ("revoked", report.revoked),
        ("flagged", report.flagged),
        ("renewals", report.renewals),
    ] {
        assert!(count > 0, "the demo needs {state} rows");
    }

    // The flags agree with the rows, every active row is in force, and upgrades kept their start.
    let inconsistent: i64 = sqlx::query_scalar(
        "select count(*) from customers c
         where c.is_club_member <> exists (select 1 from club_enrollments e where e.customer_id = c.id and e.status = 'active')",
    )
    .fetch_one(&owner)
    .await
    .expect("query");
    assert_eq!(inconsistent, 0);
    let stale: i64 = sqlx::query_scalar(
        "select count(*) from club_enrollments where status = 'active' and expires_at <= $1",
    )
    .bind(now)
    .fetch_one(&owner)
    .await
    .expect("query");
    assert_eq!(stale, 0);
    let shortened: i64 = sqlx::query_scalar(
        "select count(*) from club_extensions where extension_type = 'upgrade' and new_expires_at < previous_expires_at",
    )
    .fetch_one(&owner)
    .await
    .expect("query");
    assert_eq!(shortened, 0, "D1: an upgrade never shortens a membership");

    // A second run changes nothing; the demo admin can sign in.
    assert!(!demo::seed(&pool, &seed).await.expect("second run").created);
    backend::auth::login(
        &pool,
        demo::DEMO_EMAIL,
        demo::DEMO_PASSWORD,
        "127.0.0.1",
        None,
        Utc::now(),
    )
    .await
    .expect("demo login");
    let client = demo::demo_client(&pool, demo::DEMO_SLUG)
        .await
        .expect("demo exists");
    let admin = backend::auth::authenticate(
        &pool,
        backend::auth::login(
            &pool,
            demo::DEMO_EMAIL,
            demo::DEMO_PASSWORD,
            "127.0.0.1",
            None,
            Utc::now(),
        )
        .await
        .expect("login")
        .0
        .expose(),
        Utc::now(),
    )
    .await
    .expect("lookup")
    .expect("session");
    assert_eq!(admin.client_id, client);
    let ladder = backend::club::ladder(&pool, &admin).await.expect("ladder");
    let names: Vec<_> = ladder
        .stages
        .iter()
        .map(|s| s.values.name.as_str())
        .collect();
    assert_eq!(names, demo::demo_stage_names());
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn isolated_copies_can_be_seeded_under_other_slugs(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let now = Utc::now();
    for (slug, email) in [("e2e-one", "one@e2e.test"), ("e2e-two", "two@e2e.test")] {
        let options = SeedOptions {
            slug: slug.to_owned(),
            admin_email: email.to_owned(),
            admin_password: "e2e-password".to_owned(),
            ..SeedOptions::demo(20, now)
        };
        assert!(demo::seed(&pool, &options).await.expect("seeded").created);
    }
    let one = demo::demo_client(&pool, "e2e-one").await.expect("one");
    let two = demo::demo_client(&pool, "e2e-two").await.expect("two");
    assert_ne!(one, two);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_same_seed_gives_the_same_club(_: PgPoolOptions, options: PgConnectOptions) {
    let pool = common::app_pool(&options).await;
    let now = DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .expect("instant")
        .with_timezone(&Utc);
    let options = SeedOptions {
        seed: 7,
        ..SeedOptions::demo(150, now)
    };
    let first = demo::seed(&pool, &options).await.expect("seeded");
    let again = demo::seed(
        &pool,
        &SeedOptions {
            reset: true,
            ..options
        },
    )
    .await
    .expect("reseeded");
    assert_eq!(first, again);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_benchmark_sized_seed_is_written_in_bulk_by_the_same_rules(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let now = DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .expect("instant")
        .with_timezone(&Utc);
    let report = demo::seed(&pool, &SeedOptions::demo(demo::IMPORT_LIMIT + 1, now))
        .await
        .expect("seeded");
    assert_eq!(report.customers, demo::IMPORT_LIMIT + 1);
    assert!(
        report.active > 0
            && report.expired > 0
            && report.upgraded > 0
            && report.revoked > 0
            && report.flagged > 0
    );
    let inconsistent: i64 = sqlx::query_scalar(
        "select count(*) from customers c
         where c.is_club_member <> exists (select 1 from club_enrollments e where e.customer_id = c.id and e.status = 'active')",
    )
    .fetch_one(&owner)
    .await
    .expect("query");
    assert_eq!(inconsistent, 0);
    let stale: i64 = sqlx::query_scalar(
        "select count(*) from club_enrollments where status = 'active' and expires_at <= $1",
    )
    .bind(now)
    .fetch_one(&owner)
    .await
    .expect("query");
    assert_eq!(stale, 0);
}
