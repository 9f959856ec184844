//! Standalone sign-in: argon2 passwords, database sessions, no account enumeration, rate limits.

mod common;

use backend::Error;
use backend::auth::{self, Role};
use chrono::{Duration, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const PASSWORD: &str = "correct horse battery";

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_right_password_opens_a_session_that_resolves_to_the_admin(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let client = common::make_client(&pool, "Cellars").await;
    let admin = common::make_admin(&pool, client, Role::Owner).await;
    let now = Utc::now();

    let (token, signed_in) = auth::login(
        &pool,
        &admin.email.to_uppercase(),
        PASSWORD,
        "10.0.0.1",
        Some("test"),
        now,
    )
    .await
    .expect("signed in");
    assert_eq!(signed_in.client_id, client);

    let resolved = auth::authenticate(&pool, token.expose(), now)
        .await
        .expect("lookup")
        .expect("valid session");
    assert_eq!(resolved.user_id, admin.user_id);
    assert!(
        auth::authenticate(&pool, token.expose(), now + auth::SESSION_TTL)
            .await
            .expect("lookup")
            .is_none(),
        "expired"
    );

    auth::logout(&pool, token.expose()).await.expect("logout");
    assert!(
        auth::authenticate(&pool, token.expose(), now)
            .await
            .expect("lookup")
            .is_none(),
        "logged out"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_wrong_password_and_an_unknown_account_get_the_same_answer(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let client = common::make_client(&pool, "Cellars").await;
    let admin = common::make_admin(&pool, client, Role::Owner).await;

    let wrong = auth::login(
        &pool,
        &admin.email,
        "wrong password!",
        "10.0.0.1",
        None,
        Utc::now(),
    )
    .await
    .expect_err("wrong");
    let unknown = auth::login(
        &pool,
        "nobody@example.com",
        PASSWORD,
        "10.0.0.1",
        None,
        Utc::now(),
    )
    .await
    .expect_err("unknown");
    let message = |e: Error| match e {
        Error::Invalid(i) => i.message,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(message(wrong), message(unknown));
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn too_many_failures_lock_the_address_out_for_a_while(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let client = common::make_client(&pool, "Cellars").await;
    let admin = common::make_admin(&pool, client, Role::Owner).await;
    let now = Utc::now();
    for _ in 0..auth::MAX_FAILURES_PER_EMAIL {
        let _ = auth::login(
            &pool,
            &admin.email,
            "wrong password!",
            "10.0.0.2",
            None,
            now,
        )
        .await;
    }
    let locked = auth::login(&pool, &admin.email, PASSWORD, "10.0.0.3", None, now)
        .await
        .expect_err("locked");
    assert!(matches!(locked, Error::RateLimited { .. }), "{locked:?}");
    // The same lock-out applies to an address with no account, so it reveals nothing.
    for _ in 0..auth::MAX_FAILURES_PER_EMAIL {
        let _ = auth::login(
            &pool,
            "ghost@example.com",
            "whatever-123",
            "10.0.0.4",
            None,
            now,
        )
        .await;
    }
    assert!(matches!(
        auth::login(
            &pool,
            "ghost@example.com",
            "whatever-123",
            "10.0.0.5",
            None,
            now
        )
        .await,
        Err(Error::RateLimited { .. })
    ));
    // After the window the right password works again.
    auth::login(
        &pool,
        &admin.email,
        PASSWORD,
        "10.0.0.3",
        None,
        now + auth::RATE_WINDOW + Duration::seconds(1),
    )
    .await
    .expect("the window has passed");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn malformed_input_is_refused_before_any_lookup(_: PgPoolOptions, options: PgConnectOptions) {
    let pool = common::app_pool(&options).await;
    for (email, password, field) in [
        ("not-an-email", PASSWORD, "email"),
        ("a@example.com", "", "password"),
    ] {
        match auth::login(&pool, email, password, "10.0.0.1", None, Utc::now()).await {
            Err(Error::Invalid(i)) => assert_eq!(i.field, Some(field)),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_uninstalled_wineries_staff_cannot_sign_in(_: PgPoolOptions, options: PgConnectOptions) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let client = common::make_client(&pool, "Cellars").await;
    let admin = common::make_admin(&pool, client, Role::Owner).await;
    sqlx::query("update clients set status = 'uninstalled', uninstalled_at = now() where id = $1")
        .bind(client.as_uuid())
        .execute(&owner)
        .await
        .expect("uninstall");
    assert!(
        auth::login(&pool, &admin.email, PASSWORD, "10.0.0.1", None, Utc::now())
            .await
            .is_err()
    );
}
