//! The migrations build the complete data model on an empty database, and undo cleanly.

mod common;

use backend::health::{Readiness, readiness};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const SEED_TABLES: &[&str] = &[
    "clients",
    "platform_sessions",
    "customers",
    "products",
    "orders",
    "discounts",
    "club_programs",
    "club_stages",
    "club_enrollments",
    "club_extensions",
    "loyalty_point_rules",
    "point_transactions",
    "loyalty_rewards",
    "reward_redemptions",
    "communication_configs",
    "communication_templates",
    "communication_log",
    "communication_preferences",
    "crm_sync_queue",
];
const ARCHITECTURE_TABLES: &[&str] = &[
    "webhook_inbox",
    "jobs",
    "scheduled_runs",
    "audit_log",
    "admin_users",
    "admin_sessions",
    "login_attempts",
    "idempotency_keys",
    "import_runs",
    "ledger_checks",
];

#[sqlx::test(migrations = false)]
async fn migrations_build_every_table_on_an_empty_database(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    // Arrange: an empty database, not yet migrated.
    let owner = common::owner_pool(&options).await;
    let before: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_schema = 'public'",
    )
    .fetch_one(&owner)
    .await
    .expect("count");
    assert_eq!(before, 0);

    // Act
    backend::db::migrate(options.clone())
        .await
        .expect("migrations apply");

    // Assert: the 19 tables of the seed and the architecture's own, and readiness.
    for table in SEED_TABLES.iter().chain(ARCHITECTURE_TABLES) {
        let exists: bool = sqlx::query_scalar("select to_regclass($1) is not null")
            .bind(format!("public.{table}"))
            .fetch_one(&owner)
            .await
            .expect("lookup");
        assert!(exists, "{table} is missing");
    }
    let app = common::app_pool(&options).await;
    assert_eq!(
        readiness(&app).await.expect("database answers"),
        Readiness::Ready
    );

    // Applying again is a no-op.
    backend::db::migrate(options.clone())
        .await
        .expect("second run is a no-op");
}

#[sqlx::test(migrations = false)]
async fn readiness_reports_pending_migrations(_: PgPoolOptions, options: PgConnectOptions) {
    let owner = common::owner_pool(&options).await;
    // Only the first migration, then the role exists and can read the migrations table.
    let first = backend::MIGRATOR.iter().next().expect("a migration");
    sqlx::raw_sql("create table _sqlx_migrations (version bigint primary key, description text not null, installed_on timestamptz not null default now(), success boolean not null, checksum bytea not null, execution_time bigint not null)")
        .execute(&owner)
        .await
        .expect("table");
    sqlx::raw_sql(first.sql.as_ref())
        .execute(&owner)
        .await
        .expect("first migration");
    sqlx::query("insert into _sqlx_migrations (version, description, success, checksum, execution_time) values ($1, 'x', true, '\\x00', 0)")
        .bind(first.version)
        .execute(&owner)
        .await
        .expect("record");
    sqlx::raw_sql("grant select on _sqlx_migrations to vinculum_app")
        .execute(&owner)
        .await
        .expect("grant");

    let app = common::app_pool(&options).await;
    match readiness(&app).await.expect("database answers") {
        Readiness::PendingMigrations(pending) => assert_eq!(
            pending.len(),
            backend::MIGRATOR
                .iter()
                .filter(|m| m.migration_type.is_up_migration())
                .count()
                - 1
        ),
        Readiness::Ready => panic!("must not be ready with pending migrations"),
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn every_migration_can_be_undone_and_applied_again(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let owner = common::owner_pool(&options).await;
    backend::MIGRATOR
        .undo(&owner, 0)
        .await
        .expect("down migrations run");
    let left: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_schema = 'public' and table_name <> '_sqlx_migrations'",
    )
    .fetch_one(&owner)
    .await
    .expect("count");
    assert_eq!(left, 0, "down migrations must drop every table");
    backend::MIGRATOR
        .run(&owner)
        .await
        .expect("up migrations run again");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_database_enforces_one_active_enrollment_per_customer(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let owner = common::owner_pool(&options).await;
    let sql = r#"
        with c as (insert into clients (slug, tenant_shop, crm_type, org_name) values ('w', 'w', 'shopify', 'W') returning id),
             cu as (insert into customers (client_id, email) select id, 'a@example.com' from c returning id, client_id),
             p as (insert into club_programs (client_id, name) select id, 'Club' from c returning id, client_id),
             s as (insert into club_stages (client_id, club_program_id, name, discount_percentage, duration_months, min_purchase_amount_cents, stage_order)
                   select client_id, id, 'Bronze', 10, 3, 7500, 1 from p returning id, client_id)
        insert into club_enrollments (client_id, customer_id, club_stage_id, enrolled_at, expires_at)
        select s.client_id, cu.id, s.id, now(), now() + interval '3 months' from s, cu"#;
    sqlx::query(sql)
        .execute(&owner)
        .await
        .expect("first active enrollment");
    let second = sqlx::query(
        "insert into club_enrollments (client_id, customer_id, club_stage_id, enrolled_at, expires_at)
         select client_id, customer_id, club_stage_id, now(), now() + interval '1 month' from club_enrollments",
    )
    .execute(&owner)
    .await;
    let err = second.expect_err("a second active enrollment must be refused");
    assert_eq!(
        err.as_database_error().and_then(|e| e.constraint()),
        Some("club_enrollments_one_active_key")
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn check_constraints_refuse_out_of_range_values(_: PgPoolOptions, options: PgConnectOptions) {
    let owner = common::owner_pool(&options).await;
    sqlx::query("insert into clients (slug, tenant_shop, crm_type, org_name) values ('w', 'w', 'shopify', 'W')")
        .execute(&owner)
        .await
        .expect("client");
    let refused = [
        "insert into clients (slug, tenant_shop, crm_type, org_name) values ('Bad Slug', 'x', 'shopify', 'X')",
        "insert into clients (slug, tenant_shop, crm_type, org_name) values ('x', 'x', 'woocommerce', 'X')",
        "insert into clients (slug, tenant_shop, crm_type, org_name, currency) values ('x', 'x', 'shopify', 'X', 'usd')",
        "insert into customers (client_id, email) select id, 'Upper@Example.com' from clients",
        "insert into customers (client_id, email, loyalty_points_balance) select id, 'a@example.com', -1 from clients",
        "insert into orders (client_id, crm_id, placed_at, total_cents) select id, 'o', now(), -5 from clients",
        "insert into loyalty_rewards (client_id, reward_type, name, points_required) select id, 'merchandise', 'Hat', 0 from clients",
        "insert into loyalty_rewards (client_id, reward_type, name, points_required) select id, 'wine_point_sale', 'Sale', 10 from clients",
        "insert into communication_configs (client_id, warning_days_before) select id, 10 from clients",
    ];
    for sql in refused {
        assert!(
            sqlx::query(sql).execute(&owner).await.is_err(),
            "should be refused: {sql}"
        );
    }
    let program: uuid::Uuid = sqlx::query_scalar(
        "insert into club_programs (client_id, name) select id, 'Club' from clients returning id",
    )
    .fetch_one(&owner)
    .await
    .expect("program");
    for (discount, months, min, order) in [
        ("0", 3, 100, 1),
        ("100.5", 3, 100, 1),
        ("10", 0, 100, 1),
        ("10", 121, 100, 1),
        ("10", 3, -1, 1),
        ("10", 3, 100, 0),
    ] {
        let result = sqlx::query(
            "insert into club_stages (client_id, club_program_id, name, discount_percentage, duration_months, min_purchase_amount_cents, stage_order)
             select id, $1, 'S', $2::numeric, $3, $4, $5 from clients",
        )
        .bind(program)
        .bind(discount)
        .bind(months)
        .bind(min as i64)
        .bind(order)
        .execute(&owner)
        .await;
        assert!(
            result.is_err(),
            "stage ({discount}%, {months} months, {min}, order {order}) should be refused"
        );
    }
}
