//! The dashboard and the CSV exports over HTTP: bad periods and filters answered clearly, an
//! empty winery's dashboard, the exports' rows, escaping and tenancy, and sign-in required.

use crate::helpers::{TestApp, app_error};
use app::error::AppError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn customer(app: &TestApp, winery: domain::ids::ClientId, email: &str, first: &str) {
    sqlx::query("insert into customers (client_id, email, first_name) values ($1, $2, $3)")
        .bind(winery.as_uuid())
        .bind(email)
        .bind(first)
        .execute(&app.owner)
        .await
        .expect("customer");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_bad_period_is_refused_clearly_and_an_empty_winery_gets_an_empty_dashboard(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    app.sign_in().await;
    let res = app
        .call(
            "/api/dashboard",
            &[("from", "2026-05-02"), ("to", "2026-05-01")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        app_error(res).await,
        AppError::invalid(
            "period",
            "The period ends (2026-05-01) before it starts (2026-05-02)."
        )
    );
    let res = app
        .call("/api/dashboard", &[("from", "May"), ("to", "")])
        .await;
    assert_eq!(res.status(), 422);

    let res = app
        .call("/api/dashboard", &[("from", ""), ("to", "")])
        .await;
    assert_eq!(res.status(), 200);
    let board: domain::analytics::Dashboard = res.json().await.expect("dashboard");
    assert!(!board.has_data);
    assert_eq!(board.active_members(), 0);
    let html = app.get("/admin").await.text().await.expect("page");
    assert!(html.contains("No club stages or orders yet"), "{html}");
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_member_export_streams_the_filtered_list_escaped_and_only_this_winerys(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    sqlx::query(
        "insert into customers (client_id, email, first_name)
         select $1, format('c%s@example.com', lpad(n::text, 5, '0')), 'Pat' from generate_series(1, 2345) n",
    )
    .bind(app.winery.as_uuid())
    .execute(&app.owner)
    .await
    .expect("customers");
    customer(
        &app,
        app.winery,
        "formula@example.com",
        "=cmd|' /C calc'!A0",
    )
    .await;
    customer(&app, app.winery, "comma@example.com", "Smith, Jo").await;
    customer(&app, app.rival, "rival@example.com", "Rival").await;

    // Signed out: sent to sign in, nothing exported.
    let res = app.get("/admin/members/export.csv").await;
    assert!(res.status().is_redirection());

    app.sign_in().await;
    let res = app.get("/admin/members/export.csv").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let body = res.text().await.expect("csv");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "email,name,stage,expires,flagged,membership_days");
    assert_eq!(
        lines.len(),
        1 + 2_347,
        "every customer of this winery, across pages"
    );
    assert!(!body.contains("rival@example.com"));
    assert!(
        body.contains("formula@example.com,'=cmd|' /C calc'!A0,,,no,0"),
        "a formula is defused"
    );
    assert!(body.contains("comma@example.com,\"Smith, Jo\",,,no,0"));

    // The list's filters apply: a search, and a status nobody has.
    let body = app
        .get("/admin/members/export.csv?q=comma")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(body.lines().count(), 2);
    let body = app
        .get("/admin/members/export.csv?status=active")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(body.lines().count(), 1);

    // Bad filters: a clear message, no file.
    let res = app.get("/admin/members/export.csv?stage=nonsense").await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.text().await.expect("text"),
        "That stage does not exist."
    );
    let res = app
        .get("/admin/members/export.csv?event=joined&from=2026-05-02&to=2026-05-01")
        .await;
    assert_eq!(res.status(), 400);

    // The ledger: this winery's rows only, oldest first.
    for (winery, email, points) in [
        (app.winery, "comma@example.com", 40),
        (app.rival, "rival@example.com", 70),
        (app.winery, "comma@example.com", 25),
    ] {
        sqlx::query(
            "insert into point_transactions (client_id, customer_id, transaction_type, points, balance_after, description)
             select $1, id, 'bonus', $3, $3, 'Welcome, friend' from customers where client_id = $1 and email = $2",
        )
        .bind(winery.as_uuid())
        .bind(email)
        .bind(points)
        .execute(&app.owner)
        .await
        .expect("ledger row");
    }
    let res = app.get("/admin/loyalty/ledger.csv").await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.expect("csv");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "date,email,type,points,balance_after,order,description,by"
    );
    assert_eq!(lines.len(), 3, "{body}");
    assert!(
        lines[1].ends_with(",comma@example.com,bonus,40,40,,\"Welcome, friend\",system"),
        "{body}"
    );
    assert!(lines[2].contains(",bonus,25,25,"));
    assert!(!body.contains("rival"));
    app.stop().await;
}
