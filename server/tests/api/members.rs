//! The member views and the order import over HTTP: other tenants' ids, bad reasons, uploads.

use crate::helpers::{TestApp, app_error};
use app::error::AppError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const FILE: &str = "order_id,customer_email,first_name,last_name,placed_at,subtotal,discount,tax,shipping,total,status
A-1,ann@example.com,Ann,Lee,2026-11-01T12:00:00Z,90,0,0,0,90,paid
";

async fn member_of(app: &TestApp, winery: domain::ids::ClientId, email: &str) -> (String, String) {
    let customer: uuid::Uuid =
        sqlx::query_scalar("insert into customers (client_id, email) values ($1, $2) returning id")
            .bind(winery.as_uuid())
            .bind(email)
            .fetch_one(&app.owner)
            .await
            .expect("customer");
    let stage: uuid::Uuid = sqlx::query_scalar(
        "select id from club_stages where client_id = $1 order by stage_order limit 1",
    )
    .bind(winery.as_uuid())
    .fetch_one(&app.owner)
    .await
    .expect("stage");
    (customer.to_string(), stage.to_string())
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn another_wineries_member_is_answered_as_not_found(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.docs_ladder(app.rival, &app.rival_email).await;
    let (theirs, their_stage) = member_of(&app, app.rival, "theirs@example.com").await;
    app.sign_in().await;
    let res = app.call("/api/members/detail", &[("id", &theirs)]).await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        app_error(res).await,
        AppError::NotFound {
            what: "member".to_owned()
        }
    );
    let res = app
        .call(
            "/api/members/enroll",
            &[
                ("customer_id", &theirs),
                ("stage_id", &their_stage),
                ("reason", "mine now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 404);
    let enrolled: i64 = sqlx::query_scalar("select count(*) from club_enrollments")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(enrolled, 0);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_manual_enrollment_needs_a_reason_of_reasonable_length(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.docs_ladder(app.winery, &app.admin_email).await;
    let (customer, stage) = member_of(&app, app.winery, "ann@example.com").await;
    app.sign_in().await;
    let long = "x".repeat(600);
    for reason in ["   ", long.as_str()] {
        let res = app
            .call(
                "/api/members/enroll",
                &[
                    ("customer_id", &customer),
                    ("stage_id", &stage),
                    ("reason", reason),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(
            matches!(app_error(res).await, AppError::Validation { field: Some(f), .. } if f == "reason")
        );
    }
    let res = app
        .call(
            "/api/members/enroll",
            &[
                ("customer_id", &customer),
                ("stage_id", &stage),
                ("reason", "Comp"),
            ],
        )
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    // A second manual enrollment is refused: she is a member now.
    let res = app
        .call(
            "/api/members/enroll",
            &[
                ("customer_id", &customer),
                ("stage_id", &stage),
                ("reason", "Again"),
            ],
        )
        .await;
    assert_eq!(res.status(), 409);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_upload_is_validated_and_a_valid_one_opens_its_import_page(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.docs_ladder(app.winery, &app.admin_email).await;
    app.sign_in().await;
    let upload = |bytes: &'static [u8]| {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name("orders.csv")
            .mime_str("text/csv")
            .expect("mime");
        reqwest::multipart::Form::new().part("file", part)
    };
    let res = app
        .client
        .post(app.url("/api/import/upload"))
        .header("accept", "text/html")
        .header("referer", app.url("/admin/import"))
        .multipart(upload(FILE.as_bytes()))
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(location.starts_with("/admin/import/"), "{location}");

    let res = app
        .client
        .post(app.url("/api/import/upload"))
        .header("accept", "text/html")
        .header("referer", app.url("/admin/import"))
        .multipart(upload(b"order_id,customer_email\nA,a@example.com\n"))
        .send()
        .await
        .expect("upload");
    let location = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.contains("__err="),
        "a refused file comes back to the upload page: {location}"
    );
    let page = app
        .client
        .get(&location)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("line 1: the header lacks the columns"),
        "the problems are on the page"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_upload_over_the_limit_is_refused(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    app.sign_in().await;
    let huge = vec![b'a'; 22 * 1024 * 1024];
    let part = reqwest::multipart::Part::bytes(huge).file_name("huge.csv");
    let res = app
        .client
        .post(app.url("/api/import/upload"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 413);
    app.stop().await;
}
