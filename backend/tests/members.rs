//! The member list: prefix search on names and e-mail under row-level security, the filters, and
//! keyset pagination.

mod common;

use backend::auth::Role;
use backend::members::{self, parse_filter};
use chrono::{Duration, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn search_matches_the_start_of_names_and_addresses_and_pages_by_address(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let client = common::make_client(&pool, "List Cellars").await;
    let admin = common::make_admin(&pool, client, Role::Owner).await;
    let rival = common::make_client(&pool, "Rival").await;
    sqlx::query(
        "insert into customers (client_id, email, first_name, last_name)
         select $1, 'guest' || lpad(n::text, 3, '0') || '@example.com', 'Guest', 'Number' || n from generate_series(1, 60) n",
    )
    .bind(client.as_uuid())
    .execute(&owner)
    .await
    .expect("guests");
    for (c, email, first, last) in [
        (client, "ann.lee@example.com", "Ann", "Lee"),
        (client, "bo@lee-family.example", "Bo", "Wu"),
        (rival, "ann.lee@rival.example", "Ann", "Lee"),
    ] {
        sqlx::query("insert into customers (client_id, email, first_name, last_name) values ($1, $2, $3, $4)")
            .bind(c.as_uuid())
            .bind(email)
            .bind(first)
            .bind(last)
            .execute(&owner)
            .await
            .expect("customer");
    }
    let now = Utc::now();
    let emails = |page: &domain::members::MemberPage| {
        page.rows
            .iter()
            .map(|r| r.email.clone())
            .collect::<Vec<_>>()
    };
    let search = |q: &str| parse_filter(q, "", "any", "", "").expect("valid filter");

    let found = members::list(&pool, &admin, &search("ANN lee"), now)
        .await
        .expect("list");
    assert_eq!(
        emails(&found),
        ["ann.lee@example.com"],
        "both words, any case, this winery only"
    );
    let found = members::list(&pool, &admin, &search("lee"), now)
        .await
        .expect("list");
    assert_eq!(
        emails(&found),
        ["ann.lee@example.com"],
        "a last name; bo@lee-family does not start with lee"
    );
    let found = members::list(&pool, &admin, &search("bo@lee"), now)
        .await
        .expect("list");
    assert_eq!(
        emails(&found),
        ["bo@lee-family.example"],
        "an address prefix"
    );
    let found = members::list(&pool, &admin, &search("nn"), now)
        .await
        .expect("list");
    assert!(found.rows.is_empty(), "the middle of a word does not match");

    // Sixty guests: a full page, then the rest from the cursor.
    let first = members::list(&pool, &admin, &search("guest"), now)
        .await
        .expect("list");
    assert_eq!(first.rows.len(), 50);
    let after = first.next.clone().expect("another page");
    let second = members::list(
        &pool,
        &admin,
        &parse_filter("guest", "", "any", "", &after).expect("filter"),
        now,
    )
    .await
    .expect("list");
    assert_eq!(second.rows.len(), 10);
    assert!(second.next.is_none());
    assert!(second.rows[0].email > first.rows[49].email);
    let everyone = members::list(
        &pool,
        &admin,
        &parse_filter("", "", "any", "", "").expect("filter"),
        now,
    )
    .await
    .expect("list");
    assert_eq!(everyone.rows.len(), 50, "the broad list pages too");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn filters_select_by_stage_status_and_expiry(_: PgPoolOptions, options: PgConnectOptions) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let client = common::make_client(&pool, "Filter Cellars").await;
    let admin = common::make_admin(&pool, client, Role::Owner).await;
    let values = domain::club::StageValues::parse("Bronze", "10", "3", "75").expect("valid");
    let bronze = backend::club::add_stage(&pool, &admin, values, 1, uuid::Uuid::new_v4())
        .await
        .expect("stage")
        .id;
    let now = Utc::now();
    for (email, expires_in_days, flagged) in [
        ("soon@example.com", Some(5), false),
        ("later@example.com", Some(80), true),
        ("none@example.com", None, false),
    ] {
        let id: uuid::Uuid = sqlx::query_scalar(
            "insert into customers (client_id, email) values ($1, $2) returning id",
        )
        .bind(client.as_uuid())
        .bind(email)
        .fetch_one(&owner)
        .await
        .expect("customer");
        if let Some(days) = expires_in_days {
            sqlx::query(
                "insert into club_enrollments (client_id, customer_id, club_stage_id, enrolled_at, expires_at, flagged_at, flag_reason)
                 values ($1, $2, $3, $4, $5, case when $6 then $4 end, case when $6 then 'refund' end)",
            )
            .bind(client.as_uuid())
            .bind(id)
            .bind(bronze.as_uuid())
            .bind(now - Duration::days(10))
            .bind(now + Duration::days(days))
            .bind(flagged)
            .execute(&owner)
            .await
            .expect("enrollment");
        }
    }
    let emails = |page: domain::members::MemberPage| {
        page.rows.into_iter().map(|r| r.email).collect::<Vec<_>>()
    };
    let list = |q: &str, stage: &str, status: &str, within: &str| {
        let filter = parse_filter(q, stage, status, within, "").expect("valid filter");
        let (pool, admin) = (pool.clone(), admin.clone());
        async move {
            members::list(&pool, &admin, &filter, now)
                .await
                .expect("list")
        }
    };
    assert_eq!(
        emails(list("", "", "active", "").await),
        ["later@example.com", "soon@example.com"]
    );
    assert_eq!(
        emails(list("", "", "not_member", "").await),
        ["none@example.com"]
    );
    assert_eq!(
        emails(list("", "", "flagged", "").await),
        ["later@example.com"]
    );
    assert_eq!(
        emails(list("", "", "any", "30").await),
        ["soon@example.com"]
    );
    assert_eq!(
        emails(list("", &bronze.to_string(), "any", "").await),
        ["later@example.com", "soon@example.com"]
    );
    assert_eq!(
        emails(list("soon", "", "active", "30").await),
        ["soon@example.com"],
        "search and filters together"
    );
    assert_eq!(
        emails(list("soon", "", "not_member", "").await),
        Vec::<String>::new()
    );
    for (q, stage, status, within) in [
        ("x", "", "any", ""),
        ("", "not-a-stage", "any", ""),
        ("", "", "sleeping", ""),
        ("", "", "any", "-3"),
        ("a b c d", "", "any", ""),
    ] {
        assert!(
            parse_filter(q, stage, status, within, "").is_err(),
            "{q:?} {stage:?} {status:?} {within:?}"
        );
    }
}
