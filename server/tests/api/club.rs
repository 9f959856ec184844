//! The stage builder over HTTP: bad input, other tenants, stale forms, plain form posts, limits.

use crate::helpers::{TestApp, app_error};
use app::error::AppError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn bad_stage_input_gets_a_clear_message_and_changes_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let before = app.docs_ladder(app.winery, &app.admin_email).await;
    app.sign_in().await;
    let key = before.add_form_key.to_string();
    let long_name = "x".repeat(5_000);
    // (what, name, discount, months, minimum, position, field, message fragment)
    let cases = [
        (
            "malformed discount",
            "Platinum",
            "lots",
            "12",
            "600",
            "4",
            "discount_percentage",
            "Platinum: discount must be a number",
        ),
        (
            "discount above 100%",
            "Platinum",
            "150",
            "12",
            "600",
            "4",
            "discount_percentage",
            "at most 100%",
        ),
        (
            "zero discount",
            "Platinum",
            "0",
            "12",
            "600",
            "4",
            "discount_percentage",
            "above 0%",
        ),
        (
            "duration out of range",
            "Platinum",
            "25",
            "500",
            "600",
            "4",
            "duration_months",
            "from 1 to 120",
        ),
        (
            "fractional duration",
            "Platinum",
            "25",
            "1.5",
            "600",
            "4",
            "duration_months",
            "whole number of months",
        ),
        (
            "negative minimum",
            "Platinum",
            "25",
            "12",
            "-5",
            "4",
            "min_purchase",
            "must be zero or more",
        ),
        (
            "minimum below the stage below",
            "Platinum",
            "25",
            "12",
            "200",
            "4",
            "min_purchase",
            "must be more than Gold's (300.00)",
        ),
        (
            "oversized name",
            long_name.as_str(),
            "25",
            "12",
            "600",
            "4",
            "name",
            "at most 60 characters",
        ),
        (
            "empty name",
            "   ",
            "25",
            "12",
            "600",
            "4",
            "name",
            "is required",
        ),
        (
            "position off the ladder",
            "Platinum",
            "25",
            "12",
            "600",
            "99",
            "position",
            "Choose where the stage goes",
        ),
    ];
    for (what, name, discount, months, minimum, position, field, fragment) in cases {
        let res = app
            .call(
                "/api/club/stages/add",
                &[
                    ("form_key", key.as_str()),
                    ("name", name),
                    ("discount_percentage", discount),
                    ("duration_months", months),
                    ("min_purchase", minimum),
                    ("position", position),
                ],
            )
            .await;
        assert_eq!(res.status(), 422, "{what}");
        match app_error(res).await {
            AppError::Validation {
                field: Some(f),
                message,
            } => {
                assert_eq!(f, field, "{what}");
                assert!(message.contains(fragment), "{what}: {message}");
            }
            other => panic!("{what}: expected a validation error, got {other:?}"),
        }
    }
    // A form that lacks a field entirely.
    let res = app
        .call(
            "/api/club/stages/add",
            &[("form_key", key.as_str()), ("name", "Platinum")],
        )
        .await;
    assert!(matches!(app_error(res).await, AppError::Validation { .. }));
    assert_eq!(
        app.ladder(app.winery, &app.admin_email).await.stages,
        before.stages,
        "nothing changed"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn another_wineries_stage_is_answered_as_not_found(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let theirs = app.docs_ladder(app.rival, &app.rival_email).await;
    app.docs_ladder(app.winery, &app.admin_email).await;
    app.sign_in().await;
    let gold = theirs.stages[2].id.to_string();
    let version = theirs.stages[2].version.to_string();
    let attempts: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "/api/club/stages/update",
            vec![
                ("stage_id", &gold),
                ("version", &version),
                ("name", "Mine"),
                ("discount_percentage", "50"),
                ("duration_months", "12"),
                ("min_purchase", "999"),
            ],
        ),
        (
            "/api/club/stages/move",
            vec![
                ("stage_id", &gold),
                ("version", &version),
                ("direction", "down"),
            ],
        ),
        (
            "/api/club/stages/set-active",
            vec![
                ("stage_id", &gold),
                ("version", &version),
                ("active", "false"),
            ],
        ),
        (
            "/api/club/stages/delete",
            vec![("stage_id", &gold), ("version", &version)],
        ),
    ];
    for (path, form) in attempts {
        let res = app.call(path, &form).await;
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(
            app_error(res).await,
            AppError::NotFound {
                what: "stage".to_owned()
            },
            "{path}"
        );
    }
    let res = app
        .call(
            "/api/club/stages/delete",
            &[("stage_id", "not-a-uuid"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        app.ladder(app.rival, &app.rival_email).await.stages,
        theirs.stages,
        "their ladder is untouched"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_stale_form_submitted_twice_is_refused_the_second_time(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let ladder = app.docs_ladder(app.winery, &app.admin_email).await;
    app.sign_in().await;
    let silver = ladder.stages[1].id.to_string();
    let version = ladder.stages[1].version.to_string();
    let form = [
        ("stage_id", silver.as_str()),
        ("version", version.as_str()),
        ("name", "Silver"),
        ("discount_percentage", "16"),
        ("duration_months", "6"),
        ("min_purchase", "175"),
    ];
    assert_eq!(
        app.call("/api/club/stages/update", &form).await.status(),
        200
    );
    let again = app.call("/api/club/stages/update", &form).await;
    assert_eq!(again.status(), 409);
    assert!(
        matches!(app_error(again).await, AppError::Conflict { message } if message.contains("Nothing was saved"))
    );

    let key = app
        .ladder(app.winery, &app.admin_email)
        .await
        .add_form_key
        .to_string();
    let add = [
        ("form_key", key.as_str()),
        ("name", "Platinum"),
        ("discount_percentage", "25"),
        ("duration_months", "24"),
        ("min_purchase", "600"),
        ("position", "4"),
    ];
    assert_eq!(app.call("/api/club/stages/add", &add).await.status(), 200);
    assert_eq!(app.call("/api/club/stages/add", &add).await.status(), 409);
    assert_eq!(
        app.ladder(app.winery, &app.admin_email).await.stages.len(),
        4,
        "added once"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_form_posted_without_javascript_comes_back_with_its_error_on_the_page(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let ladder = app.docs_ladder(app.winery, &app.admin_email).await;
    app.sign_in().await;
    let key = ladder.add_form_key.to_string();
    let bad = |min: &'static str| {
        vec![
            ("form_key", key.clone()),
            ("name", "Diamond".to_owned()),
            ("discount_percentage", "30".to_owned()),
            ("duration_months", "24".to_owned()),
            ("min_purchase", min.to_owned()),
            ("position", "4".to_owned()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| {
        v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };

    let first: Vec<(&str, String)> = as_refs(&bad("200"));
    let form: Vec<(&str, &str)> = first.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app
        .post_form("/api/club/stages/add", &form, "/admin/club")
        .await;
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(location.contains("__err="), "{location}");
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
        page.contains("Diamond: minimum purchase (200.00) must be more than Gold&#x27;s (300.00)")
            || page
                .contains("Diamond: minimum purchase (200.00) must be more than Gold's (300.00)"),
        "the error is on the page"
    );

    // A second error from that page replaces the first rather than hiding behind it.
    let second: Vec<(&str, String)> = as_refs(&bad("100"));
    let form: Vec<(&str, &str)> = second.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let referer = location.trim_start_matches(&app.address).to_owned();
    let res = app.post_form("/api/club/stages/add", &form, &referer).await;
    let location = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(location.matches("__err=").count(), 1, "{location}");
    let page = app
        .client
        .get(&location)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("(100.00)"), "the latest error is shown");
    assert_eq!(
        app.ladder(app.winery, &app.admin_email).await.stages.len(),
        3
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_oversized_body_is_refused(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    app.sign_in().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let res = app
        .call("/api/club/stages/add", &[("name", huge.as_str())])
        .await;
    assert_eq!(res.status(), 413);
    // Even a refused body gets the security headers.
    assert!(res.headers().contains_key("content-security-policy"));
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn database_errors_reach_the_browser_only_as_a_reference(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.docs_ladder(app.winery, &app.admin_email).await;
    app.sign_in().await;
    // Sabotage: the stage table loses a column the query needs.
    sqlx::query("alter table club_stages rename column duration_months to duration_months_gone")
        .execute(&app.owner)
        .await
        .expect("sabotage");
    let res = app.call("/api/club/ladder", &[]).await;
    assert_eq!(res.status(), 500);
    let body = res.text().await.expect("body");
    assert!(
        !body.contains("duration_months") && !body.contains("column") && !body.contains("relation"),
        "{body}"
    );
    let error: AppError = serde_json::from_str(&body).expect("an AppError");
    assert!(matches!(error, AppError::Internal { reference } if reference.len() == 12));
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_ladder_page_renders_the_stages_on_the_server(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.docs_ladder(app.winery, &app.admin_email).await;
    app.sign_in().await;
    let html = app.get("/admin/club").await.text().await.expect("html");
    for expected in [
        "Stage ladder",
        "Gold",
        "Silver",
        "Bronze",
        "$300.00",
        "Add a stage",
        "name=\"form_key\"",
    ] {
        assert!(html.contains(expected), "the page lacks {expected}");
    }
    app.stop().await;
}
