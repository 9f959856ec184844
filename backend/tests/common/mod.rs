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
