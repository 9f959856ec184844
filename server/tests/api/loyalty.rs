//! The loyalty endpoints over HTTP: other tenants' rewards and members, and refused input that
//! writes nothing.

use crate::helpers::{TestApp, app_error};
use app::error::AppError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const REWARD: [(&str, &str); 9] = [
    ("reward_type", "merchandise"),
    ("name", "Corkscrew"),
    ("description", ""),
    ("image_url", ""),
    ("points_required", "300"),
    ("quantity_available", ""),
    ("per_customer_limit", ""),
    ("available_from", ""),
    ("available_until", ""),
];

async fn reward_of(app: &TestApp, winery: domain::ids::ClientId) -> String {
    let id: uuid::Uuid = sqlx::query_scalar(
        "insert into loyalty_rewards (client_id, reward_type, name, points_required)
         values ($1, 'merchandise', 'Their corkscrew', 300) returning id",
    )
    .bind(winery.as_uuid())
    .fetch_one(&app.owner)
    .await
    .expect("reward");
    id.to_string()
}

async fn customer_of(app: &TestApp, winery: domain::ids::ClientId, email: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar(
        "insert into customers (client_id, email, loyalty_points_balance) values ($1, $2, 0) returning id",
    )
    .bind(winery.as_uuid())
    .bind(email)
    .fetch_one(&app.owner)
    .await
    .expect("customer");
    id.to_string()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.owner)
        .await
        .expect("count")
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn another_wineries_rewards_and_members_are_answered_as_not_found(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let theirs = reward_of(&app, app.rival).await;
    let their_member = customer_of(&app, app.rival, "theirs@example.com").await;
    let mine = reward_of(&app, app.winery).await;
    app.sign_in().await;

    let mut edit: Vec<(&str, &str)> = vec![("id", &theirs), ("is_active", "false")];
    edit.extend(REWARD);
    let res = app.call("/api/loyalty/rewards/save", &edit).await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        app_error(res).await,
        AppError::NotFound {
            what: "reward".to_owned()
        }
    );
    let res = app
        .call("/api/loyalty/rewards/delete", &[("id", &theirs)])
        .await;
    assert_eq!(res.status(), 404);
    for (customer, reward) in [(&their_member, &mine), (&their_member, &theirs)] {
        let res = app
            .call(
                "/api/loyalty/redeem",
                &[("customer_id", customer), ("reward_id", reward)],
            )
            .await;
        assert_eq!(res.status(), 404, "{customer} {reward}");
    }
    let res = app
        .call(
            "/api/loyalty/adjust",
            &[
                ("customer_id", &their_member),
                ("kind", "bonus"),
                ("points", "500"),
                ("reason", "Mine now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .call("/api/loyalty/member", &[("customer_id", &their_member)])
        .await;
    assert_eq!(res.status(), 404);

    let untouched = count(
        &app,
        "select count(*) from loyalty_rewards where name = 'Their corkscrew' and is_active and deleted_at is null",
    )
    .await;
    assert_eq!(untouched, 2, "both wineries' rewards are as they were");
    assert_eq!(
        count(&app, "select count(*) from point_transactions").await,
        0
    );
    assert_eq!(
        count(&app, "select count(*) from reward_redemptions").await,
        0
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn bad_rewards_and_adjustments_are_refused_with_the_field_named(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let customer = customer_of(&app, app.winery, "ann@example.com").await;
    app.sign_in().await;

    let cases: [(&str, &str, &str); 6] = [
        ("points_required", "-5", "points_required"),
        ("points_required", "0", "points_required"),
        ("name", "  ", "name"),
        ("image_url", "ftp://example.com/a.png", "image_url"),
        ("available_from", "next tuesday", "available_from"),
        ("reward_type", "wine_point_sale", "available_from"),
    ];
    for (field, value, named) in cases {
        let form: Vec<(&str, &str)> = REWARD
            .iter()
            .map(|&(k, v)| (k, if k == field { value } else { v }))
            .collect();
        let res = app.call("/api/loyalty/rewards/add", &form).await;
        assert_eq!(res.status(), 422, "{field}={value}");
        assert!(
            matches!(app_error(res).await, AppError::Validation { field: Some(f), .. } if f == named),
            "{field}={value}"
        );
    }
    // A window whose end precedes its start.
    let mut backwards: Vec<(&str, &str)> = REWARD
        .iter()
        .copied()
        .filter(|(k, _)| !k.starts_with("available_"))
        .collect();
    backwards.extend([
        ("available_from", "2026-05-01T10:00"),
        ("available_until", "2026-04-01T10:00"),
    ]);
    let res = app.call("/api/loyalty/rewards/add", &backwards).await;
    assert_eq!(res.status(), 422);
    assert!(matches!(
        app_error(res).await,
        AppError::Validation { field: Some(f), message } if f == "available_until" && message.contains("end after it starts")
    ));
    for (kind, points, reason, named) in [
        ("bonus", "50", "   ", "reason"),
        ("bonus", "fifty", "Gift", "points"),
        ("bonus", "-5", "Gift", "points"),
        ("gift", "50", "Gift", "kind"),
    ] {
        let res = app
            .call(
                "/api/loyalty/adjust",
                &[
                    ("customer_id", &customer),
                    ("kind", kind),
                    ("points", points),
                    ("reason", reason),
                ],
            )
            .await;
        assert_eq!(res.status(), 422, "{kind} {points} {reason:?}");
        assert!(
            matches!(app_error(res).await, AppError::Validation { field: Some(f), .. } if f == named),
            "{kind} {points} {reason:?}"
        );
    }
    let res = app
        .call(
            "/api/loyalty/redemptions/act",
            &[
                ("id", &uuid::Uuid::new_v4().to_string()),
                ("action", "burn"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(count(&app, "select count(*) from loyalty_rewards").await, 0);
    assert_eq!(
        count(&app, "select count(*) from point_transactions").await,
        0
    );
    app.stop().await;
}
