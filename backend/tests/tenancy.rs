//! Row-level security (decisions D27): in one tenant's scope, a query with no client filter sees
//! none of another tenant's rows, for every tenant table; writes into another tenant are refused.

mod common;

use backend::db;
use domain::ids::ClientId;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

/// Every table with a `client_id` that must be policed. Platform tables (read before a tenant is
/// known) are listed separately and checked to be exactly the rest.
const TENANT_TABLES: &[&str] = &[
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
    "loyalty_rewards",
    "point_transactions",
    "reward_redemptions",
    "communication_configs",
    "communication_templates",
    "communication_log",
    "communication_preferences",
    "crm_sync_queue",
    "webhook_inbox",
    "audit_log",
    "idempotency_keys",
    "import_runs",
    "ledger_checks",
    "crm_memberships",
    "crm_connections",
    "stats_days",
    "stats_stage_days",
    "portal_links",
    "portal_sessions",
];
const PLATFORM_TABLES_WITH_CLIENT: &[&str] = &[
    "admin_users",
    "admin_sessions",
    "jobs",
    "scheduled_runs",
    "crm_wakeups",
    "outbox_wakeups",
];

/// One row in every tenant table for `client`, written by the owner (bypassing RLS).
async fn fill_every_table(owner: &PgPool, client: ClientId) {
    let c = client.as_uuid();
    let (customer, order, program, stage, enrollment, reward, txn, admin) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let statements = [
        format!(
            "insert into admin_users (id, client_id, email, password_hash) values ('{admin}', '{c}', 'a-{admin}@example.com', 'x')"
        ),
        format!(
            "insert into platform_sessions (client_id, access_token_encrypted) values ('{c}', '\\x00')"
        ),
        format!(
            "insert into customers (id, client_id, email) values ('{customer}', '{c}', 'c-{customer}@example.com')"
        ),
        format!(
            "insert into products (client_id, crm_id, title) values ('{c}', 'p1', 'Pinot Noir 2022')"
        ),
        format!(
            "insert into orders (id, client_id, crm_id, customer_id, placed_at, total_cents) values ('{order}', '{c}', 'o1', '{customer}', now(), 9000)"
        ),
        format!(
            "insert into discounts (client_id, crm_id, code, type, percentage) values ('{c}', 'd1', 'SAVE10', 'percentage', 10)"
        ),
        format!(
            "insert into club_programs (id, client_id, name) values ('{program}', '{c}', 'Club')"
        ),
        format!(
            "insert into club_stages (id, client_id, club_program_id, name, discount_percentage, duration_months, min_purchase_amount_cents, stage_order) values ('{stage}', '{c}', '{program}', 'Bronze', 10, 3, 7500, 1)"
        ),
        format!(
            "insert into club_enrollments (id, client_id, customer_id, club_stage_id, enrolled_at, expires_at, qualifying_order_id) values ('{enrollment}', '{c}', '{customer}', '{stage}', now(), now() + interval '3 months', '{order}')"
        ),
        format!(
            "insert into club_extensions (client_id, enrollment_id, extended_from_stage_id, extended_to_stage_id, order_id, extension_type, previous_enrolled_at, previous_expires_at, new_expires_at) values ('{c}', '{enrollment}', '{stage}', '{stage}', '{order}', 'renewal', now(), now(), now() + interval '3 months')"
        ),
        format!("insert into loyalty_point_rules (client_id) values ('{c}')"),
        format!(
            "insert into loyalty_rewards (id, client_id, reward_type, name, points_required) values ('{reward}', '{c}', 'merchandise', 'T-shirt', 300)"
        ),
        format!(
            "insert into point_transactions (id, client_id, customer_id, transaction_type, points, order_id, balance_after) values ('{txn}', '{c}', '{customer}', 'earned', 90, '{order}', 90)"
        ),
        format!(
            "insert into reward_redemptions (client_id, customer_id, reward_id, point_transaction_id, points_spent) values ('{c}', '{customer}', '{reward}', '{txn}', 50)"
        ),
        format!(
            "insert into communication_configs (client_id, email_provider) values ('{c}', 'sandbox')"
        ),
        format!(
            "insert into communication_templates (client_id, template_type, channel, text_body) values ('{c}', 'welcome', 'sms', 'Hi')"
        ),
        format!(
            "insert into communication_log (client_id, customer_id, template_type, channel, provider, to_address, idempotency_key) values ('{c}', '{customer}', 'welcome', 'email', 'sandbox', 'c@example.com', 'event:{enrollment}')"
        ),
        format!(
            "insert into communication_preferences (client_id, customer_id) values ('{c}', '{customer}')"
        ),
        format!(
            "insert into crm_sync_queue (client_id, customer_id, enrollment_id, action_type, stage_id) values ('{c}', '{customer}', '{enrollment}', 'grant', '{stage}')"
        ),
        format!(
            "insert into webhook_inbox (client_id, provider, topic, delivery_key, payload) values ('{c}', 'shopify', 'orders/paid', 'd-{order}', '{{}}')"
        ),
        format!(
            "insert into audit_log (client_id, actor_kind, actor_label, action, entity_type) values ('{c}', 'system', 'test', 'test.created', 'test')"
        ),
        format!(
            "insert into idempotency_keys (client_id, key, action) values ('{c}', '{}', 'test')",
            Uuid::new_v4()
        ),
        format!(
            "insert into admin_sessions (token_hash, admin_user_id, client_id, expires_at) values (sha256('{admin}'::bytea), '{admin}', '{c}', now() + interval '1 hour')"
        ),
        format!(
            "insert into import_runs (client_id, file_name, rows, row_count) values ('{c}', 'orders.csv', '[]', 0)"
        ),
        format!(
            "insert into ledger_checks (client_id, checked_at, customers_checked) values ('{c}', now(), 1)"
        ),
        format!(
            "insert into crm_memberships (client_id, customer_id, stage_id, crm_membership_id, granted_at) values ('{c}', '{customer}', '{stage}', 'm-1', now())"
        ),
        format!(
            "insert into crm_connections (client_id, provider, webhook_secret_encrypted) values ('{c}', 'sandbox', '\\x00')"
        ),
        format!("insert into stats_days (client_id, day, joined) values ('{c}', current_date, 1)"),
        format!(
            "insert into stats_stage_days (client_id, day, stage_id, members) values ('{c}', current_date, '{stage}', 1)"
        ),
        format!(
            "insert into portal_links (id, client_id, customer_id, expires_at) values (gen_random_uuid(), '{c}', '{customer}', now() + interval '30 minutes')"
        ),
        format!(
            "insert into portal_sessions (token_hash, client_id, customer_id, expires_at) values (sha256(gen_random_uuid()::text::bytea), '{c}', '{customer}', now() + interval '1 day')"
        ),
        format!("insert into crm_wakeups (client_id, due_at) values ('{c}', now())"),
        format!("insert into outbox_wakeups (client_id, due_at) values ('{c}', now())"),
        format!("insert into jobs (kind, client_id) values ('test-job', '{c}')"),
        format!(
            "insert into scheduled_runs (job, client_id, slot_at) values ('test-job', '{c}', now())"
        ),
    ];
    for sql in statements {
        sqlx::query(&sql)
            .execute(owner)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn every_table_with_a_client_id_is_either_policed_or_a_known_platform_table(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let owner = common::owner_pool(&options).await;
    let with_client: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.columns
         where table_schema = 'public' and column_name = 'client_id' order by 1",
    )
    .fetch_all(&owner)
    .await
    .expect("catalog");
    let mut expected: Vec<String> = TENANT_TABLES
        .iter()
        .chain(PLATFORM_TABLES_WITH_CLIENT)
        .map(|t| (*t).to_owned())
        .collect();
    expected.sort();
    assert_eq!(
        with_client, expected,
        "a new table with client_id must be added to one of the lists"
    );

    for table in TENANT_TABLES {
        let (enabled, forced): (bool, bool) =
            sqlx::query_as("select relrowsecurity, relforcerowsecurity from pg_class where relname = $1 and relkind = 'r'")
                .bind(table)
                .fetch_one(&owner)
                .await
                .expect("table exists");
        assert!(
            enabled && forced,
            "{table} must enable and force row-level security"
        );
        let policies: i64 =
            sqlx::query_scalar("select count(*) from pg_policies where tablename = $1")
                .bind(table)
                .fetch_one(&owner)
                .await
                .expect("policies");
        assert_eq!(policies, 1, "{table} must have its tenant policy");
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_query_without_a_client_filter_sees_only_its_own_tenant_in_every_table(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    // Arrange: two wineries with a row in every tenant table.
    let owner = common::owner_pool(&options).await;
    let app = common::app_pool(&options).await;
    let a = common::make_client(&app, "Winery A").await;
    let b = common::make_client(&app, "Winery B").await;
    fill_every_table(&owner, a).await;
    fill_every_table(&owner, b).await;

    for table in TENANT_TABLES {
        // Act: read every row of the table, with no client filter, in A's scope.
        let mut tx = db::begin_scoped(&app, a).await.expect("scoped tx");
        let seen: Vec<Uuid> = sqlx::query_scalar(&format!("select client_id from {table}"))
            .fetch_all(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        tx.rollback().await.expect("rollback");

        // Assert: A's rows are there and none of B's.
        assert!(!seen.is_empty(), "{table}: tenant A should see its own row");
        assert!(
            seen.iter().all(|c| *c == a.as_uuid()),
            "{table}: tenant A saw another tenant's row"
        );
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn without_a_tenant_scope_tenant_tables_show_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let owner = common::owner_pool(&options).await;
    let app = common::app_pool(&options).await;
    let a = common::make_client(&app, "Winery A").await;
    fill_every_table(&owner, a).await;

    for table in TENANT_TABLES {
        let mut tx = db::begin_platform(&app).await.expect("tx");
        let count: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        tx.rollback().await.expect("rollback");
        assert_eq!(count, 0, "{table} must show no rows outside a tenant scope");
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn writing_another_tenants_row_is_refused_and_changes_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let owner = common::owner_pool(&options).await;
    let app = common::app_pool(&options).await;
    let a = common::make_client(&app, "Winery A").await;
    let b = common::make_client(&app, "Winery B").await;
    fill_every_table(&owner, b).await;

    // Inserting a row that names B while scoped to A fails the policy's check.
    let mut tx = db::begin_scoped(&app, a).await.expect("tx");
    let insert =
        sqlx::query("insert into customers (client_id, email) values ($1, 'intruder@example.com')")
            .bind(b.as_uuid())
            .execute(&mut *tx)
            .await;
    assert!(insert.is_err(), "a cross-tenant insert must be refused");
    tx.rollback().await.expect("rollback");

    // Updates and deletes in A's scope cannot reach B's rows.
    let mut tx = db::begin_scoped(&app, a).await.expect("tx");
    let updated = sqlx::query("update customers set first_name = 'Mallory'")
        .execute(&mut *tx)
        .await
        .expect("update runs");
    let deleted = sqlx::query("delete from club_stages")
        .execute(&mut *tx)
        .await
        .expect("delete runs");
    tx.commit().await.expect("commit");
    assert_eq!((updated.rows_affected(), deleted.rows_affected()), (0, 0));
    let untouched: i64 =
        sqlx::query_scalar("select count(*) from customers where first_name = 'Mallory'")
            .fetch_one(&owner)
            .await
            .expect("count");
    assert_eq!(untouched, 0);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_application_role_is_not_a_superuser_even_when_logging_in_as_one(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = common::app_pool(&options).await;
    let (role, superuser): (String, bool) = sqlx::query_as(
        "select current_user::text, (select rolsuper from pg_roles where rolname = current_user)",
    )
    .fetch_one(&app)
    .await
    .expect("role");
    assert_eq!(role, db::APP_ROLE);
    assert!(!superuser);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn deleting_a_tenant_removes_every_one_of_its_rows(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let owner = common::owner_pool(&options).await;
    let app = common::app_pool(&options).await;
    let a = common::make_client(&app, "Winery A").await;
    let b = common::make_client(&app, "Winery B").await;
    fill_every_table(&owner, a).await;
    fill_every_table(&owner, b).await;

    let mut tx = db::begin_platform(&app).await.expect("tx");
    backend::db::clients::delete(&mut tx, a)
        .await
        .expect("delete cascades");
    tx.commit().await.expect("commit");

    for table in TENANT_TABLES.iter().chain(PLATFORM_TABLES_WITH_CLIENT) {
        let left: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where client_id = $1"
        ))
        .bind(a.as_uuid())
        .fetch_one(&owner)
        .await
        .expect("count");
        let kept: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where client_id = $1"
        ))
        .bind(b.as_uuid())
        .fetch_one(&owner)
        .await
        .expect("count");
        assert_eq!(left, 0, "{table} kept rows of the deleted tenant");
        assert!(kept > 0, "{table} lost rows of the other tenant");
    }
}
