//! Liveness, readiness and the headers every response carries.

use crate::helpers::TestApp;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn health_answers_and_readiness_confirms_the_database(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.expect("body"), "ready\n");
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn readiness_fails_when_a_migration_is_missing(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    sqlx::query(
        "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)",
    )
    .execute(&app.owner)
    .await
    .expect("forget a migration");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert!(
        ready
            .text()
            .await
            .expect("body")
            .contains("1 migration(s) not applied")
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn every_response_carries_the_security_headers(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    for path in ["/healthz", "/login", "/no-such-page"] {
        let res = app.get(path).await;
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        // The admin may be framed by the CRMs' admins only (it runs embedded there).
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(
            csp.ends_with(&format!(
                "frame-ancestors 'self' {}",
                server::startup::ADMIN_FRAME_ANCESTORS
            )),
            "{path}: {csp}"
        );
        assert!(csp.contains("object-src 'none'"), "{path}: {csp}");
    }
    assert_eq!(app.get("/no-such-page").await.status(), 404);
    app.stop().await;
}
