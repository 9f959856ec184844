//! Order import through the real engine: a dry run that writes nothing and predicts the import
//! exactly, the background job with its progress, and bad files refused whole.

mod common;

use backend::auth::Role;
use backend::db::audit::Actor;
use backend::import;
use backend::jobs::{self, Outcome};
use backend::orders::ClubClient;
use chrono::{DateTime, Utc};
use domain::imports::ImportStatus;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const FILE: &str = "order_id,customer_email,first_name,last_name,placed_at,subtotal,discount,tax,shipping,total,status
H-3,ann@example.com,Ann,Lee,2026-02-01T12:00:00Z,180.00,0,14.40,0,194.40,paid
H-1,ann@example.com,Ann,Lee,2026-01-01T12:00:00Z,90.00,0,7.20,15.00,112.20,paid
H-2,bo@example.com,Bo,Wu,2026-01-05T12:00:00Z,60.00,0,4.80,15.00,79.80,paid
H-4,cy@example.com,Cy,Ng,2026-01-10T12:00:00Z,95.00,0,7.60,15.00,117.60,paid
H-5,cy@example.com,Cy,Ng,2026-03-01T12:00:00Z,100.00,0,8.00,15.00,123.00,paid
H-6,di@example.com,Di,Ox,2026-01-20T12:00:00Z,400.00,0,32.00,0,432.00,refunded
";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

async fn setup(options: &PgConnectOptions) -> (PgPool, PgPool, ClubClient, backend::auth::Admin) {
    let pool = common::app_pool(options).await;
    let owner = common::owner_pool(options).await;
    let id = common::make_client(&pool, "Import Cellars").await;
    let admin = common::make_admin(&pool, id, Role::Owner).await;
    for (i, (name, d, m, min)) in [
        ("Bronze", "10", "3", "75"),
        ("Silver", "15", "6", "150"),
        ("Gold", "20", "12", "300"),
    ]
    .into_iter()
    .enumerate()
    {
        let values = domain::club::StageValues::parse(name, d, m, min).expect("valid");
        backend::club::add_stage(&pool, &admin, values, i + 1, Uuid::new_v4())
            .await
            .expect("stage");
    }
    let club = ClubClient::load(&pool, id).await.expect("client");
    (pool, owner, club, admin)
}

async fn count(owner: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(owner)
        .await
        .expect("count")
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_dry_run_writes_nothing_and_predicts_the_import_exactly(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, owner, club, _) = setup(&options).await;
    let rows = import::parse(FILE.as_bytes()).expect("valid file");
    let actor = Actor::Cli {
        command: "test".to_owned(),
    };
    let now = at("2026-06-01T12:00:00Z");

    let dry = import::run(&pool, &club, &rows, &actor, now, false)
        .await
        .expect("dry run");
    assert_eq!(
        (
            count(&owner, "orders").await,
            count(&owner, "club_enrollments").await,
            count(&owner, "customers").await
        ),
        (0, 0, 0)
    );
    // Ann: enroll Bronze (H-1), upgrade Silver (H-3). Bo: too small. Cy: Bronze (H-4), renewal (H-5).
    // Di: a refunded order never counts. By June, Ann's Silver (to 07-01) is still active; Cy's
    // Bronze (renewed 03-01, to 06-01 12:00) has expired exactly at `now`.
    assert_eq!(dry.orders, 6);
    assert_eq!(
        (
            dry.enrollments,
            dry.renewals,
            dry.upgrades,
            dry.expiries,
            dry.not_counted
        ),
        (2, 1, 1, 1, 1)
    );

    let done = import::run(&pool, &club, &rows, &actor, now, true)
        .await
        .expect("import");
    assert_eq!(done, dry, "the dry run predicted the import");
    assert_eq!(count(&owner, "orders").await, 6);
    let again = import::run(&pool, &club, &rows, &actor, now, true)
        .await
        .expect("re-import");
    assert_eq!(again.duplicates, 5, "counted orders are known");
    assert_eq!(again.enrollments + again.renewals + again.upgrades, 0);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_upload_runs_its_dry_run_and_import_in_the_background_with_progress(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, owner, _, admin) = setup(&options).await;
    let now = at("2026-06-01T12:00:00Z");
    let id = import::start(&pool, &admin, "history.csv", FILE.as_bytes(), now)
        .await
        .expect("accepted");
    assert_eq!(
        import::status(&pool, &admin, id).await.expect("run").status,
        ImportStatus::Previewing
    );
    assert!(
        import::commit(&pool, &admin, id, now).await.is_err(),
        "cannot import before the dry run"
    );

    while jobs::run_next(&pool, now).await.expect("step") != Outcome::Empty {}
    let run = import::status(&pool, &admin, id).await.expect("run");
    assert_eq!(run.status, ImportStatus::Previewed);
    assert_eq!(run.preview.as_ref().map(|p| p.enrollments), Some(2));
    assert_eq!(
        count(&owner, "orders").await,
        0,
        "the dry run wrote nothing"
    );

    import::commit(&pool, &admin, id, now)
        .await
        .expect("confirmed");
    assert!(
        import::commit(&pool, &admin, id, now).await.is_err(),
        "a second confirmation is refused"
    );
    while jobs::run_next(&pool, now).await.expect("step") != Outcome::Empty {}
    let run = import::status(&pool, &admin, id).await.expect("run");
    assert_eq!(run.status, ImportStatus::Completed);
    assert_eq!((run.processed_rows, run.row_count), (6, 6));
    assert_eq!(run.result, run.preview);
    assert_eq!(count(&owner, "orders").await, 6);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_file_with_bad_rows_is_refused_whole_and_writes_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, owner, _, admin) = setup(&options).await;
    let bad = format!(
        "{FILE}H-7,nobody,X,Y,not-a-date,-1,0,0,0,1,paid\nH-1,dup@example.com,D,U,2026-01-01T12:00:00Z,1,0,0,0,1,paid\n"
    );
    let err = import::start(&pool, &admin, "bad.csv", bad.as_bytes(), Utc::now())
        .await
        .expect_err("refused");
    let backend::Error::Invalid(invalid) = err else {
        panic!("expected a validation error")
    };
    assert_eq!(invalid.field, Some("file"));
    for expected in [
        "line 8: customer_email is not valid",
        "line 8: placed_at",
        "line 8: subtotal \"-1\" must not be negative",
        "line 9: order_id \"H-1\" already appears on line 3",
    ] {
        assert!(
            invalid.message.contains(expected),
            "{expected} missing from:\n{}",
            invalid.message
        );
    }
    assert_eq!(
        (
            count(&owner, "import_runs").await,
            count(&owner, "orders").await,
            count(&owner, "jobs").await
        ),
        (0, 0, 0)
    );
    let missing = import::start(
        &pool,
        &admin,
        "x.csv",
        b"order_id,customer_email\nA,a@example.com\n",
        Utc::now(),
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(missing, backend::Error::Invalid(i) if i.message.contains("line 1: the header lacks the columns first_name"))
    );
}
