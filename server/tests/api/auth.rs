//! Sign-in, sign-out, the session cookie and the gate in front of every server function.

use crate::helpers::{PASSWORD, TestApp, app_error};
use app::error::AppError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn every_server_function_but_sign_in_refuses_a_visitor_without_a_session(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let paths: Vec<String> = server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    assert!(
        paths.len() >= 10,
        "server functions are registered: {paths:?}"
    );
    for path in paths {
        if server::auth::PUBLIC_API.contains(&path.as_str()) {
            continue;
        }
        let res = app.call(&path, &[]).await;
        assert_eq!(res.status(), 401, "{path} answered without a session");
        assert_eq!(app_error(res).await, AppError::Unauthorized, "{path}");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn admin_pages_send_visitors_to_sign_in_and_signed_in_admins_past_it(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let res = app.get("/admin/club").await;
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/login?next=/admin/club");
    assert_eq!(app.get("/").await.headers()["location"], "/login?next=/");

    app.sign_in().await;
    assert_eq!(app.get("/admin/club").await.status(), 200);
    assert_eq!(app.get("/login").await.headers()["location"], "/admin");
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn sign_in_sets_an_http_only_same_site_cookie(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let res = app
        .call(
            "/api/auth/login",
            &[
                ("email", &app.admin_email),
                ("password", PASSWORD),
                ("next", "/admin/club"),
            ],
        )
        .await;
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cookie.starts_with("vinculum_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http must not mark the cookie Secure"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_cookie_is_secure_when_served_over_https(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn_with(options, true).await;
    let res = app
        .call(
            "/api/auth/login",
            &[
                ("email", &app.admin_email),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("; Secure")
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_wrong_password_and_an_unknown_address_look_the_same(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let wrong = app
        .call(
            "/api/auth/login",
            &[
                ("email", &app.admin_email),
                ("password", "nope-nope-nope"),
                ("next", "/"),
            ],
        )
        .await;
    let unknown = app
        .call(
            "/api/auth/login",
            &[
                ("email", "ghost@example.com"),
                ("password", "nope-nope-nope"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), unknown.status());
    assert!(wrong.headers().get("set-cookie").is_none());
    assert_eq!(app_error(wrong).await, app_error(unknown).await);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn sign_in_is_rate_limited(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    for _ in 0..backend::auth::MAX_FAILURES_PER_EMAIL {
        app.call(
            "/api/auth/login",
            &[
                ("email", &app.admin_email),
                ("password", "nope-nope-nope"),
                ("next", "/"),
            ],
        )
        .await;
    }
    let res = app
        .call(
            "/api/auth/login",
            &[
                ("email", &app.admin_email),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(res.status(), 429);
    assert!(matches!(app_error(res).await, AppError::RateLimited { .. }));
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn sign_out_ends_the_session(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    app.sign_in().await;
    assert_eq!(app.call("/api/auth/me", &[]).await.status(), 200);
    app.call("/api/auth/logout", &[]).await;
    assert_eq!(app.call("/api/auth/me", &[]).await.status(), 401);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn sign_in_never_redirects_off_site(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let res = app
        .post_form(
            "/api/auth/login",
            &[
                ("email", &app.admin_email),
                ("password", PASSWORD),
                ("next", "https://evil.example/"),
            ],
            "/login",
        )
        .await;
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/admin");
    app.stop().await;
}
