//! Helpers shared by the backend's integration tests: each test gets a fresh database from
//! `#[sqlx::test]`; these build the application pool (the non-superuser role) and tenants on it.
#![allow(dead_code)]

use backend::auth::{Admin, Role};
use backend::db::{self, clients};
use domain::ids::{AdminUserId, ClientId};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

/// The application pool for a test database: every connection runs as `vinculum_app`.
pub async fn app_pool(options: &PgConnectOptions) -> PgPool {
    db::connect(options.clone(), 8)
        .await
        .expect("the application pool connects")
}

/// The owner's pool (a superuser here), for set-up that bypasses row-level security.
pub async fn owner_pool(options: &PgConnectOptions) -> PgPool {
    PgPool::connect_with(options.clone())
        .await
        .expect("the owner pool connects")
}

/// Creates a winery with a random slug.
pub async fn make_client(pool: &PgPool, name: &str) -> ClientId {
    let slug = format!(
        "{}-{}",
        name.to_lowercase().replace(' ', "-"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut tx = db::begin_platform(pool).await.expect("tx");
    let id = clients::insert(
        &mut tx,
        &clients::NewClient {
            slug: &slug,
            tenant_shop: &format!("{slug}.example"),
            crm_type: "commerce7",
            org_name: name,
            org_contact: None,
            time_zone: "UTC",
            currency: "USD",
        },
    )
    .await
    .expect("client inserted");
    tx.commit().await.expect("commit");
    id
}

/// Creates an owner account for `client` and returns it as a signed-in admin.
pub async fn make_admin(pool: &PgPool, client: ClientId, role: Role) -> Admin {
    let email = format!("owner-{}@example.com", uuid::Uuid::new_v4().simple());
    let user: AdminUserId =
        backend::auth::upsert_admin(pool, client, &email, "correct horse battery", None)
            .await
            .expect("admin created");
    Admin {
        user_id: user,
        client_id: client,
        email,
        display_name: None,
        role,
        org_name: "Test Winery".to_owned(),
        currency: "USD".to_owned(),
        time_zone: "UTC".to_owned(),
    }
}

/// A winery in `zone` with the ladder of domain.md 4.8 — Bronze (10 %, 3 months, $75), Silver
/// (15 %, 6, $150), Gold (20 %, 12, $300) — and the default loyalty rules (1 point per dollar,
/// 365 days, 100 points to redeem).
pub async fn club_winery(pool: &PgPool, owner: &PgPool, zone: &str) -> backend::orders::ClubClient {
    let id = make_client(pool, "Club Cellars").await;
    sqlx::query("update clients set time_zone = $2 where id = $1")
        .bind(id.as_uuid())
        .bind(zone)
        .execute(owner)
        .await
        .expect("zone");
    let program: uuid::Uuid = sqlx::query_scalar(
        "insert into club_programs (client_id, name) values ($1, 'Club') returning id",
    )
    .bind(id.as_uuid())
    .fetch_one(owner)
    .await
    .expect("program");
    for (i, (name, discount, months, min)) in [
        ("Bronze", 10, 3, 7_500),
        ("Silver", 15, 6, 15_000),
        ("Gold", 20, 12, 30_000),
    ]
    .into_iter()
    .enumerate()
    {
        sqlx::query(
            "insert into club_stages (client_id, club_program_id, name, discount_percentage, duration_months,
                                      min_purchase_amount_cents, stage_order)
             values ($1, $2, $3, $4::int4, $5, $6, $7)",
        )
        .bind(id.as_uuid())
        .bind(program)
        .bind(name)
        .bind(discount)
        .bind(months)
        .bind(min as i64)
        .bind(i32::try_from(i + 1).expect("small"))
        .execute(owner)
        .await
        .expect("stage");
    }
    sqlx::query("insert into loyalty_point_rules (client_id) values ($1)")
        .bind(id.as_uuid())
        .execute(owner)
        .await
        .expect("loyalty rules");
    backend::orders::ClubClient::load(pool, id)
        .await
        .expect("client")
}

/// A paid order of `cents` (merchandise, no discount, tax or shipping) placed at `placed_at`.
pub fn paid_order(
    crm_id: &str,
    email: &str,
    placed_at: chrono::DateTime<chrono::Utc>,
    cents: i64,
) -> backend::db::orders::OrderEvent {
    let amount = domain::Money::from_cents(cents);
    backend::db::orders::OrderEvent {
        crm_id: crm_id.to_owned(),
        customer: Some(backend::db::customers::CustomerRef {
            crm_id: None,
            email: domain::EmailAddress::parse(email).expect("email"),
            first_name: None,
            last_name: None,
            phone: None,
        }),
        placed_at,
        status: domain::orders::OrderStatus::Paid,
        amounts: domain::orders::OrderAmounts {
            subtotal: amount,
            discount: domain::Money::ZERO,
            tax: domain::Money::ZERO,
            shipping: domain::Money::ZERO,
            total: amount,
        },
        refunded: domain::Money::ZERO,
        source: "webhook",
    }
}
