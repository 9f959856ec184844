//! The stage builder service against a real database: each change is checked against the ladder
//! rule (D2), audited, and refused cleanly (changing nothing) for bad or stale input.

mod common;

use backend::auth::{Admin, Role};
use backend::{Error, club};
use domain::club::{Direction, LadderView, ProgramValues, StageValues};
use domain::ids::StageId;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

fn values(name: &str, discount: &str, months: &str, min: &str) -> StageValues {
    StageValues::parse(name, discount, months, min).expect("valid test values")
}

async fn setup(options: &PgConnectOptions) -> (PgPool, Admin) {
    let pool = common::app_pool(options).await;
    let client = common::make_client(&pool, "Cellars").await;
    let admin = common::make_admin(&pool, client, Role::Owner).await;
    (pool, admin)
}

/// Bronze, Silver and Gold of the worked scenarios.
async fn docs_ladder(pool: &PgPool, admin: &Admin) -> LadderView {
    for (i, (name, d, m, min)) in [
        ("Bronze", "10", "3", "75"),
        ("Silver", "15", "6", "150"),
        ("Gold", "20", "12", "300"),
    ]
    .into_iter()
    .enumerate()
    {
        club::add_stage(pool, admin, values(name, d, m, min), i + 1, Uuid::new_v4())
            .await
            .expect("valid stage");
    }
    club::ladder(pool, admin).await.expect("ladder")
}

fn names(ladder: &LadderView) -> Vec<String> {
    ladder
        .stages
        .iter()
        .map(|s| s.values.name.clone())
        .collect()
}

fn stage(ladder: &LadderView, name: &str) -> (StageId, i32) {
    let s = ladder
        .stages
        .iter()
        .find(|s| s.values.name == name)
        .expect("stage exists");
    (s.id, s.version)
}

async fn audit_actions(pool: &PgPool, admin: &Admin) -> Vec<String> {
    let mut tx = backend::db::begin_scoped(pool, admin.client_id)
        .await
        .expect("tx");
    let rows = backend::db::audit::recent(&mut tx, admin.client_id, 100)
        .await
        .expect("audit");
    rows.into_iter().map(|r| r.action).collect()
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_first_view_creates_the_program_with_an_empty_ladder(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let ladder = club::ladder(&pool, &admin).await.expect("ladder");
    assert_eq!(ladder.program.name, club::DEFAULT_PROGRAM_NAME);
    assert!(ladder.stages.is_empty());
    assert_ne!(
        ladder.add_form_key,
        club::ladder(&pool, &admin)
            .await
            .expect("again")
            .add_form_key,
        "each view gets a fresh form key"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn adding_stages_builds_the_ladder_and_audits_each_one(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let ladder = docs_ladder(&pool, &admin).await;
    assert_eq!(names(&ladder), ["Bronze", "Silver", "Gold"]);
    assert_eq!(
        ladder.stages.iter().map(|s| s.position).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let gold = &ladder.stages[2];
    assert_eq!(gold.values.min_purchase.cents(), 30_000);
    assert_eq!(gold.values.discount.hundredths(), 2_000);
    assert_eq!(audit_actions(&pool, &admin).await, ["stage.created"; 3]);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn inserting_at_the_bottom_shifts_the_others_up(_: PgPoolOptions, options: PgConnectOptions) {
    let (pool, admin) = setup(&options).await;
    docs_ladder(&pool, &admin).await;
    club::add_stage(
        &pool,
        &admin,
        values("Copper", "5", "1", "25"),
        1,
        Uuid::new_v4(),
    )
    .await
    .expect("valid at the bottom");
    let ladder = club::ladder(&pool, &admin).await.expect("ladder");
    assert_eq!(names(&ladder), ["Copper", "Bronze", "Silver", "Gold"]);
    assert_eq!(
        ladder.stages.iter().map(|s| s.position).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_minimum_lower_than_the_stage_below_is_refused_naming_stage_and_field(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let before = docs_ladder(&pool, &admin).await;
    let err = club::add_stage(
        &pool,
        &admin,
        values("Platinum", "25", "12", "200"),
        4,
        Uuid::new_v4(),
    )
    .await
    .expect_err("below Gold's minimum");
    match err {
        Error::Invalid(invalid) => {
            assert_eq!(invalid.field, Some("min_purchase"));
            assert_eq!(
                invalid.message,
                "Platinum: minimum purchase (200.00) must be more than Gold's (300.00), the stage below it."
            );
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let after = club::ladder(&pool, &admin).await.expect("ladder");
    assert_eq!(after.stages, before.stages, "nothing changed");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn editing_a_stage_saves_it_and_records_before_and_after(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let ladder = docs_ladder(&pool, &admin).await;
    let (silver, version) = stage(&ladder, "Silver");
    let saved = club::update_stage(
        &pool,
        &admin,
        silver,
        values("Silver", "16", "6", "175"),
        version,
    )
    .await
    .expect("valid edit");
    assert_eq!(saved.values.min_purchase.cents(), 17_500);
    assert_eq!(saved.version, version + 1);

    let mut tx = backend::db::begin_scoped(&pool, admin.client_id)
        .await
        .expect("tx");
    let row = backend::db::audit::recent(&mut tx, admin.client_id, 1)
        .await
        .expect("audit")
        .remove(0);
    assert_eq!(row.action, "stage.updated");
    assert_eq!(row.actor_label, admin.email);
    assert_eq!(
        row.before.expect("before")["min_purchase_amount_cents"],
        15_000
    );
    assert_eq!(
        row.after.expect("after")["min_purchase_amount_cents"],
        17_500
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_stale_form_submitted_twice_is_refused_the_second_time(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let ladder = docs_ladder(&pool, &admin).await;
    let (silver, version) = stage(&ladder, "Silver");
    club::update_stage(
        &pool,
        &admin,
        silver,
        values("Silver", "16", "6", "175"),
        version,
    )
    .await
    .expect("first submission");
    let err = club::update_stage(
        &pool,
        &admin,
        silver,
        values("Silver", "17", "6", "180"),
        version,
    )
    .await
    .expect_err("same version again");
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("Silver was changed after this page was loaded")),
        "{err:?}"
    );
    let now = club::ladder(&pool, &admin).await.expect("ladder");
    assert_eq!(
        now.stages[1].values.min_purchase.cents(),
        17_500,
        "the second submission changed nothing"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_add_form_submitted_twice_adds_the_stage_once(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let key = Uuid::new_v4();
    club::add_stage(&pool, &admin, values("Bronze", "10", "3", "75"), 1, key)
        .await
        .expect("first submission");
    let err = club::add_stage(&pool, &admin, values("Bronze", "10", "3", "75"), 1, key)
        .await
        .expect_err("resubmitted");
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("already submitted")),
        "{err:?}"
    );
    assert_eq!(
        names(&club::ladder(&pool, &admin).await.expect("ladder")),
        ["Bronze"]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn moving_active_stages_out_of_order_is_refused_but_inactive_ones_move(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let ladder = docs_ladder(&pool, &admin).await;
    let (bronze, version) = stage(&ladder, "Bronze");
    let err = club::move_stage(&pool, &admin, bronze, Direction::Up, version)
        .await
        .expect_err("Bronze above Silver");
    assert!(
        matches!(&err, Error::Invalid(i) if i.field == Some("min_purchase")),
        "{err:?}"
    );

    let (gold, version) = stage(&ladder, "Gold");
    let gold_view = club::set_stage_active(&pool, &admin, gold, false, version)
        .await
        .expect("deactivate");
    assert!(!gold_view.is_active);
    club::move_stage(&pool, &admin, gold, Direction::Down, gold_view.version)
        .await
        .expect("inactive Gold moves");
    let ladder = club::ladder(&pool, &admin).await.expect("ladder");
    assert_eq!(names(&ladder), ["Bronze", "Gold", "Silver"]);
    let (gold, version) = stage(&ladder, "Gold");
    let err = club::set_stage_active(&pool, &admin, gold, true, version)
        .await
        .expect_err("Gold below Silver");
    assert!(
        matches!(&err, Error::Invalid(i) if i.message.starts_with("Gold:")),
        "{err:?}"
    );
    assert_eq!(
        audit_actions(&pool, &admin).await[..2],
        ["stage.moved".to_owned(), "stage.deactivated".to_owned()]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_stage_with_enrollments_cannot_be_deleted_but_an_unused_one_can(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let owner = common::owner_pool(&options).await;
    let ladder = docs_ladder(&pool, &admin).await;
    let (bronze, bronze_version) = stage(&ladder, "Bronze");
    sqlx::query(
        "with c as (insert into customers (client_id, email) values ($1, 'ann@example.com') returning id)
         insert into club_enrollments (client_id, customer_id, club_stage_id, enrolled_at, expires_at)
         select $1, c.id, $2, now(), now() + interval '3 months' from c",
    )
    .bind(admin.client_id.as_uuid())
    .bind(bronze.as_uuid())
    .execute(&owner)
    .await
    .expect("enrollment");

    let err = club::delete_stage(&pool, &admin, bronze, bronze_version)
        .await
        .expect_err("in use");
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("Deactivate it instead")),
        "{err:?}"
    );

    let (gold, version) = stage(&ladder, "Gold");
    club::delete_stage(&pool, &admin, gold, version)
        .await
        .expect("unused stage deleted");
    let ladder = club::ladder(&pool, &admin).await.expect("ladder");
    assert_eq!(names(&ladder), ["Bronze", "Silver"]);
    assert_eq!(ladder.stages[0].active_member_count, 1);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn another_wineries_stage_is_answered_as_not_found_and_left_alone(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let other_client = common::make_client(&pool, "Rival").await;
    let rival = common::make_admin(&pool, other_client, Role::Owner).await;
    let theirs = docs_ladder(&pool, &rival).await;
    let (their_gold, version) = stage(&theirs, "Gold");

    let attempts = [
        club::update_stage(
            &pool,
            &admin,
            their_gold,
            values("Hacked", "50", "12", "1"),
            version,
        )
        .await
        .err(),
        club::move_stage(&pool, &admin, their_gold, Direction::Down, version)
            .await
            .err(),
        club::set_stage_active(&pool, &admin, their_gold, false, version)
            .await
            .err(),
        club::delete_stage(&pool, &admin, their_gold, version)
            .await
            .err(),
    ];
    for err in attempts {
        assert!(
            matches!(err, Some(Error::NotFound { what: "stage" })),
            "{err:?}"
        );
    }
    assert_eq!(
        club::ladder(&pool, &rival).await.expect("ladder").stages,
        theirs.stages
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_program_is_edited_with_a_version_check(_: PgPoolOptions, options: PgConnectOptions) {
    let (pool, admin) = setup(&options).await;
    let ladder = club::ladder(&pool, &admin).await.expect("ladder");
    let values = ProgramValues::parse("Founders' Circle", "Our club").expect("valid");
    let saved = club::update_program(&pool, &admin, values.clone(), false, ladder.program.version)
        .await
        .expect("saved");
    assert_eq!(
        (saved.name.as_str(), saved.is_active),
        ("Founders' Circle", false)
    );
    let err = club::update_program(&pool, &admin, values, true, ladder.program.version)
        .await
        .expect_err("stale");
    assert!(matches!(err, Error::Conflict(_)));
    assert!(
        !club::ladder(&pool, &admin)
            .await
            .expect("ladder")
            .program
            .is_active
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_viewer_cannot_change_the_ladder(_: PgPoolOptions, options: PgConnectOptions) {
    let (pool, owner) = setup(&options).await;
    let viewer = common::make_admin(&pool, owner.client_id, Role::Viewer).await;
    let err = club::add_stage(
        &pool,
        &viewer,
        values("Bronze", "10", "3", "75"),
        1,
        Uuid::new_v4(),
    )
    .await
    .expect_err("viewer");
    assert!(matches!(err, Error::Forbidden));
    assert!(
        club::ladder(&pool, &viewer)
            .await
            .expect("viewers may look")
            .stages
            .is_empty()
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn concurrent_additions_keep_positions_unique_and_contiguous(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (pool, admin) = setup(&options).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (pool, admin) = (pool.clone(), admin.clone());
            tokio::spawn(async move {
                let v = values(
                    &format!("Tier {i}"),
                    "10",
                    "3",
                    &format!("{}", 100 * (i + 1)),
                );
                // Everyone asks for the bottom; some succeed, the rest break the ladder and are refused.
                club::add_stage(&pool, &admin, v, 1, Uuid::new_v4()).await
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await.expect("task");
    }
    let ladder = club::ladder(&pool, &admin).await.expect("ladder");
    let positions: Vec<u32> = ladder.stages.iter().map(|s| s.position).collect();
    assert_eq!(
        positions,
        (1..=u32::try_from(ladder.stages.len()).expect("small")).collect::<Vec<_>>()
    );
    domain::club::check_ladder(&ladder.rungs(), None).expect("the stored ladder obeys D2");
}
