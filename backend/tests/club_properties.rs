//! The club engine under stress: concurrent orders for one customer, time zones, and properties
//! over random order sequences, all through the real service and database.

mod common;

use backend::db::audit::Actor;
use backend::db::orders::OrderEvent;
use backend::orders::{ClubChange, OrderOutcome, process_order};
use chrono::{DateTime, Duration, Utc};
use domain::ids::ClientId;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

/// (stage name, status, enrolled_at, expires_at) of a customer's rows, oldest first.
async fn rows(
    owner: &PgPool,
    client: ClientId,
    email: &str,
) -> Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> {
    sqlx::query_as(
        "select s.name, e.status, e.enrolled_at, e.expires_at from club_enrollments e
         join customers c on c.id = e.customer_id join club_stages s on s.id = e.club_stage_id
         where c.client_id = $1 and c.email = $2 order by e.created_at, e.id",
    )
    .bind(client.as_uuid())
    .bind(email)
    .fetch_all(owner)
    .await
    .expect("rows")
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn twenty_concurrent_orders_for_one_customer_leave_one_active_enrollment(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await; // eight connections
    let owner = common::owner_pool(&options).await;
    let club = common::club_winery(&pool, &owner, "UTC").await;
    let email = "busy@example.com";
    let amounts = [
        9_000, 18_000, 36_000, 5_000, 12_000, 20_000, 8_000, 40_000, 16_000, 7_600,
    ];
    let events: Vec<OrderEvent> = (0..20)
        .map(|n| {
            common::paid_order(
                &format!("C{n}"),
                email,
                at("2026-01-01T12:00:00Z") + Duration::days(n * 9),
                amounts[usize::try_from(n).expect("small") % amounts.len()],
            )
        })
        .collect();
    let actor = Actor::Webhook {
        provider: "test".to_owned(),
    };

    let tasks: Vec<_> = events
        .iter()
        .cloned()
        .map(|event| {
            let (pool, club, actor) = (pool.clone(), club.clone(), actor.clone());
            tokio::spawn(async move {
                process_order(&pool, &club, &event, &actor, event.placed_at).await
            })
        })
        .collect();
    let mut extended = 0;
    for t in tasks {
        match t.await.expect("task").expect("processed") {
            OrderOutcome::Counted {
                change: ClubChange::Renewed { .. } | ClubChange::Upgraded { .. },
                ..
            } => extended += 1,
            OrderOutcome::Counted { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let active: i64 =
        sqlx::query_scalar("select count(*) from club_enrollments where status = 'active'")
            .fetch_one(&owner)
            .await
            .expect("count");
    assert_eq!(active, 1, "exactly one active enrollment");
    let extensions: i64 = sqlx::query_scalar("select count(*) from club_extensions")
        .fetch_one(&owner)
        .await
        .expect("count");
    assert_eq!(
        extensions, extended,
        "one extension row per renewing or upgrading order"
    );

    // The same twenty orders again change nothing.
    let before = rows(&owner, club.id, email).await;
    for event in &events {
        let outcome = process_order(&pool, &club, event, &actor, event.placed_at)
            .await
            .expect("processed");
        assert!(
            matches!(outcome, OrderOutcome::Duplicate { .. }),
            "{outcome:?}"
        );
    }
    assert_eq!(rows(&owner, club.id, email).await, before);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn wineries_in_auckland_and_los_angeles_expire_members_at_two_in_the_morning_local(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let actor = Actor::Webhook {
        provider: "test".to_owned(),
    };
    for (zone, enrolled, expires, job_at) in [
        // 2026-01-31 10:00 local + 1 month = 2026-02-28 10:00 local, on each winery's own calendar.
        (
            "Pacific/Auckland",
            "2026-01-30T21:00:00Z",
            "2026-02-27T21:00:00Z",
            "2026-02-28T13:00:00Z",
        ),
        (
            "America/Los_Angeles",
            "2026-01-31T18:00:00Z",
            "2026-02-28T18:00:00Z",
            "2026-03-01T10:00:00Z",
        ),
    ] {
        let club = common::club_winery(&pool, &owner, zone).await;
        sqlx::query(
            "update club_stages set duration_months = 1 where client_id = $1 and name = 'Bronze'",
        )
        .bind(club.id.as_uuid())
        .execute(&owner)
        .await
        .expect("a one-month Bronze");
        let email = format!("member@{}.example", zone.replace('/', "-").to_lowercase());
        process_order(
            &pool,
            &club,
            &common::paid_order("T1", &email, at(enrolled), 9_000),
            &actor,
            at(enrolled),
        )
        .await
        .expect("enrolled");
        let expiry: DateTime<Utc> =
            sqlx::query_scalar("select expires_at from club_enrollments where client_id = $1")
                .bind(club.id.as_uuid())
                .fetch_one(&owner)
                .await
                .expect("row");
        assert_eq!(
            expiry,
            at(expires),
            "{zone}: one month on the local calendar, same local time"
        );

        // The scheduler's slot for the expiry job is 02:00 local on the following night.
        let slot = backend::jobs::Schedule::DailyLocal { hour: 2 }
            .current_slot(
                at(job_at),
                domain::calendar::parse_time_zone(zone).expect("zone"),
            )
            .expect("slot");
        assert_eq!(slot, at(job_at), "{zone}: 02:00 local");
        let job = backend::jobs::find("expire-memberships").expect("job");
        let before = backend::jobs::run(&pool, job, Some(club.id), slot - Duration::days(1))
            .await
            .expect("ran");
        assert!(
            before.summary.starts_with("expired 0"),
            "{zone}: {}",
            before.summary
        );
        let after = backend::jobs::run(&pool, job, Some(club.id), slot)
            .await
            .expect("ran");
        assert!(
            after.summary.starts_with("expired 1"),
            "{zone}: {}",
            after.summary
        );
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_scheduler_enqueues_each_wineries_expiry_at_its_own_local_two_oclock(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let auckland = common::club_winery(&pool, &owner, "Pacific/Auckland").await;
    let los_angeles = common::club_winery(&pool, &owner, "America/Los_Angeles").await;
    backend::jobs::schedule_due(&pool, at("2026-01-15T12:00:00Z"))
        .await
        .expect("tick");
    let slots: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as("select client_id, slot_at from scheduled_runs where job = 'expire-memberships' order by slot_at")
        .fetch_all(&owner)
        .await
        .expect("slots");
    assert!(
        slots.contains(&(auckland.id.as_uuid(), at("2026-01-14T13:00:00Z"))),
        "{slots:?}"
    );
    assert!(
        slots.contains(&(los_angeles.id.as_uuid(), at("2026-01-15T10:00:00Z"))),
        "{slots:?}"
    );
}

/// A random order sequence: (days after the previous order, amount in dollars).
fn sequences() -> impl Strategy<Value = Vec<(i64, i64)>> {
    prop::collection::vec(
        (
            0i64..200,
            prop_oneof![10i64..75, 75i64..150, 150i64..300, 300i64..700],
        ),
        1..12,
    )
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn random_order_sequences_keep_the_club_invariants(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let club = common::club_winery(&pool, &owner, "America/Los_Angeles").await;
    let actor = Actor::Webhook {
        provider: "test".to_owned(),
    };
    let mut runner = TestRunner::deterministic();
    for case in 0..24 {
        let sequence = sequences().new_tree(&mut runner).expect("a case").current();
        let mut previous_active: Option<(String, DateTime<Utc>, DateTime<Utc>)> = None;
        let mut t = at("2025-01-01T18:00:00Z");
        let (first, replay) = (
            format!("case{case}@example.com"),
            format!("replay{case}@example.com"),
        );
        for (n, (gap, dollars)) in sequence.iter().enumerate() {
            t += Duration::days(*gap) + Duration::hours(i64::try_from(n).expect("small"));
            let event = common::paid_order(&format!("P{case}-{n}"), &first, t, dollars * 100);
            let outcome = process_order(&pool, &club, &event, &actor, t)
                .await
                .expect("processed");
            let now = rows(&owner, club.id, &first).await;
            let active: Vec<_> = now.iter().filter(|r| r.1 == "active").collect();
            assert!(active.len() <= 1, "case {case}: two active enrollments");
            if let (
                OrderOutcome::Counted {
                    change: ClubChange::Upgraded { .. },
                    ..
                },
                Some((_, enrolled, _)),
            ) = (&outcome, &previous_active)
            {
                assert_eq!(
                    active[0].2, *enrolled,
                    "case {case}: an upgrade keeps enrolled_at"
                );
            }
            if let (Some((stage, _, expires)), Some(current)) = (&previous_active, active.first()) {
                let expired_first = matches!(
                    outcome,
                    OrderOutcome::Counted {
                        expired_stale: true,
                        ..
                    }
                );
                if !expired_first {
                    assert!(
                        current.3 >= *expires,
                        "case {case}: {stage} expiry moved earlier without an expiry"
                    );
                }
            }
            previous_active = active.first().map(|r| (r.0.clone(), r.2, r.3));
        }
        // Replaying the same sequence for another customer gives identical rows.
        let mut t = at("2025-01-01T18:00:00Z");
        for (n, (gap, dollars)) in sequence.iter().enumerate() {
            t += Duration::days(*gap) + Duration::hours(i64::try_from(n).expect("small"));
            let event = common::paid_order(&format!("R{case}-{n}"), &replay, t, dollars * 100);
            process_order(&pool, &club, &event, &actor, t)
                .await
                .expect("processed");
        }
        assert_eq!(
            rows(&owner, club.id, &first).await,
            rows(&owner, club.id, &replay).await,
            "case {case}: replay differs"
        );
    }
}
