//! Loyalty points through real orders, jobs and redemptions against a real database: the worked
//! scenarios L-A and L-C of domain.md 5.8 (every ledger row asserted), the threshold rules (D11),
//! refund reversals (D4), concurrency (D13) and bad input. Events at 12:00 UTC, UTC winery (D5).

mod common;

use backend::Error;
use backend::auth::{Admin, Role};
use backend::db::audit::Actor;
use backend::loyalty::{self, Adjustment, Redeemer, RedemptionAction};
use backend::orders::{ClubClient, OrderOutcome, process_order};
use chrono::{DateTime, Utc};
use domain::ids::CustomerId;
use domain::loyalty::RewardValues;
use domain::orders::OrderStatus;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

fn at(s: &str) -> DateTime<Utc> {
    let full = if s.len() == 10 {
        format!("{s}T12:00:00Z")
    } else {
        s.to_owned()
    };
    DateTime::parse_from_rfc3339(&full)
        .expect("instant")
        .with_timezone(&Utc)
}

struct World {
    pool: PgPool,
    owner: PgPool,
    club: ClubClient,
    admin: Admin,
    next: usize,
}

/// (type, points, balance after, description), in the order written.
type Row = (String, i32, i32, Option<String>);

/// (balance, lifetime, cumulative days, progress days, earning, eligible since).
type State = (i32, i32, i32, i32, bool, Option<DateTime<Utc>>);

impl World {
    async fn new(options: &PgConnectOptions) -> Self {
        let pool = common::app_pool(options).await;
        let owner = common::owner_pool(options).await;
        let club = common::club_winery(&pool, &owner, "UTC").await;
        let admin = common::make_admin(&pool, club.id, Role::Owner).await;
        Self {
            pool,
            owner,
            club,
            admin,
            next: 1,
        }
    }

    async fn order(&mut self, email: &str, when: &str, dollars: i64) -> OrderOutcome {
        let event = common::paid_order(&format!("O{}", self.next), email, at(when), dollars * 100);
        self.next += 1;
        self.send(&event).await
    }

    async fn send(&self, event: &backend::db::orders::OrderEvent) -> OrderOutcome {
        let actor = Actor::Webhook {
            provider: "test".to_owned(),
        };
        process_order(&self.pool, &self.club, event, &actor, event.placed_at)
            .await
            .expect("processed")
    }

    async fn expire(&self, now: &str) {
        let job = backend::jobs::find("expire-memberships").expect("job");
        backend::jobs::run(&self.pool, job, Some(self.club.id), at(now))
            .await
            .expect("expired");
    }

    async fn customer(&self, email: &str) -> CustomerId {
        let id: Uuid =
            sqlx::query_scalar("select id from customers where client_id = $1 and email = $2")
                .bind(self.club.id.as_uuid())
                .bind(email)
                .fetch_one(&self.owner)
                .await
                .expect("customer");
        CustomerId::new(id)
    }

    async fn ledger(&self, email: &str) -> Vec<Row> {
        sqlx::query_as(
            "select t.transaction_type, t.points, t.balance_after, t.description from point_transactions t
             join customers c on c.id = t.customer_id where c.client_id = $1 and c.email = $2 order by t.sequence",
        )
        .bind(self.club.id.as_uuid())
        .bind(email)
        .fetch_all(&self.owner)
        .await
        .expect("ledger")
    }

    async fn state(&self, email: &str) -> State {
        sqlx::query_as(
            "select loyalty_points_balance, loyalty_points_lifetime, cumulative_membership_days, loyalty_progress_days,
                    loyalty_earning_active, loyalty_eligible_since
             from customers where client_id = $1 and email = $2",
        )
        .bind(self.club.id.as_uuid())
        .bind(email)
        .fetch_one(&self.owner)
        .await
        .expect("state")
    }

    async fn reward(&self, name: &str, cost: u32, stock: Option<u32>, limit: Option<u32>) -> Uuid {
        let values = RewardValues {
            reward_type: domain::loyalty::RewardType::Merchandise,
            name: name.to_owned(),
            description: None,
            image_url: None,
            points_required: cost,
            quantity_available: stock,
            per_customer_limit: limit,
            available_from: None,
            available_until: None,
        };
        loyalty::add_reward(&self.pool, &self.admin, &values)
            .await
            .expect("reward")
    }

    async fn redeem(&self, email: &str, reward: Uuid, when: &str) -> Result<i32, Error> {
        let customer = self.customer(email).await;
        loyalty::redeem(
            &self.pool,
            self.club.id,
            Redeemer::Admin(&self.admin),
            customer,
            reward,
            at(when),
        )
        .await
    }

    async fn membership_days(&self, email: &str, now: &str) -> (i32, i32) {
        sqlx::query_as(
            "select cumulative_days, progress_days from membership_days($1, array[$2::uuid], $3)",
        )
        .bind(self.club.id.as_uuid())
        .bind(self.customer(email).await.as_uuid())
        .bind(at(now))
        .fetch_one(&self.owner)
        .await
        .expect("days")
    }
}

fn row(kind: &str, points: i32, balance: i32, description: &str) -> Row {
    (
        kind.to_owned(),
        points,
        balance,
        Some(description.to_owned()),
    )
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_l_a_earning_starts_after_365_days_and_restarts_after_a_lapse(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let ann = "ann@example.com";
    let tshirt = w.reward("T-shirt", 300, None, None).await;
    let days = |s: &State| (s.2, s.4);

    w.order(ann, "2025-01-01", 90).await;
    assert_eq!(days(&w.state(ann).await), (0, false));
    w.order(ann, "2025-03-20", 90).await;
    assert_eq!(days(&w.state(ann).await), (78, false));
    w.order(ann, "2025-06-10", 200).await;
    assert_eq!(days(&w.state(ann).await), (160, false));
    w.order(ann, "2025-09-01", 160).await;
    assert_eq!(days(&w.state(ann).await), (243, false));
    let o5 = w.order(ann, "2026-01-05", 200).await;
    assert!(
        matches!(o5, OrderOutcome::Counted { points: 200, .. }),
        "the crossing order earns: {o5:?}"
    );
    assert_eq!(
        w.state(ann).await,
        (200, 200, 369, 369, true, Some(at("2026-01-05")))
    );
    w.order(ann, "2026-02-14", 120).await;
    assert_eq!(w.state(ann).await.0, 320);
    assert_eq!(days(&w.state(ann).await), (409, true));
    assert_eq!(
        w.redeem(ann, tshirt, "2026-03-01").await.expect("redeemed"),
        20
    );
    let redeemed: i32 =
        sqlx::query_scalar("select quantity_redeemed from loyalty_rewards where id = $1")
            .bind(tshirt)
            .fetch_one(&w.owner)
            .await
            .expect("count");
    assert_eq!(redeemed, 1);

    w.expire("2026-07-06T02:00:00Z").await;
    let lapsed = w.state(ann).await;
    assert_eq!(
        (lapsed.0, lapsed.2, lapsed.4),
        (20, 550, false),
        "balance and days kept, earning off"
    );
    assert_eq!(lapsed.3, 0, "progress reset");

    let fresh = w.order(ann, "2026-08-01", 200).await;
    assert!(
        matches!(fresh, OrderOutcome::Counted { points: 0, .. }),
        "{fresh:?}"
    );
    assert_eq!(days(&w.state(ann).await), (550, false));
    w.order(ann, "2027-01-15", 150).await;
    w.order(ann, "2027-07-01", 150).await;
    assert_eq!(w.state(ann).await.0, 20, "no points while re-qualifying");
    let crossing = w.order(ann, "2027-08-01", 100).await;
    assert!(
        matches!(crossing, OrderOutcome::Counted { points: 100, .. }),
        "{crossing:?}"
    );
    assert_eq!(
        w.state(ann).await,
        (120, 420, 915, 365, true, Some(at("2027-08-01")))
    );

    assert_eq!(
        w.ledger(ann).await,
        [
            row("earned", 200, 200, "Order O5"),
            row("earned", 120, 320, "Order O6"),
            row("redeemed", -300, 20, "Redeemed T-shirt"),
            row("earned", 100, 120, "Order O10"),
        ]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_l_c_a_lapse_while_earning_needs_another_365_days(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let bo = "bo@example.com";
    // Gold from 2024-11-17, renewed 2025-04-01 (to 2026-04-01): 500 days by the expiry.
    w.order(bo, "2024-11-17", 300).await;
    w.order(bo, "2025-04-01", 300).await;
    // Six Silver-sized orders once earning: 1,200 points, no club change (Silver is below Gold).
    for day in [
        "2025-12-01",
        "2025-12-15",
        "2026-01-01",
        "2026-01-15",
        "2026-02-01",
        "2026-02-15",
    ] {
        w.order(bo, day, 200).await;
    }
    assert_eq!(w.state(bo).await.0, 1_200);
    w.expire("2026-04-02T02:00:00Z").await;
    let lapsed = w.state(bo).await;
    assert_eq!((lapsed.0, lapsed.2, lapsed.4), (1_200, 500, false));

    let back = w.order(bo, "2026-05-01", 100).await;
    assert!(
        matches!(back, OrderOutcome::Counted { points: 0, .. }),
        "{back:?}"
    );
    // Renewals keep the new membership continuous.
    for day in ["2026-07-15", "2026-10-01", "2026-12-15", "2027-03-01"] {
        w.order(bo, day, 100).await;
    }
    assert_eq!(
        w.membership_days(bo, "2026-11-01").await,
        (684, 184),
        "184 days later, not earning"
    );
    assert!(!w.state(bo).await.4);
    let crossing = w.order(bo, "2027-05-01", 150).await;
    assert!(
        matches!(crossing, OrderOutcome::Counted { points: 150, .. }),
        "{crossing:?}"
    );
    let s = w.state(bo).await;
    assert_eq!((s.0, s.2, s.3, s.4), (1_350, 865, 365, true));
    let ledger = w.ledger(bo).await;
    let balances: Vec<i32> = ledger.iter().map(|r| r.2).collect();
    assert_eq!(balances, [200, 400, 600, 800, 1_000, 1_200, 1_350]);
    assert!(ledger.iter().all(|r| r.0 == "earned"));
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_lapse_before_first_qualifying_keeps_the_progress(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let cy = "cy@example.com";
    // Gold for a year minus a day... then a lapse, then back.
    w.order(cy, "2025-01-01", 300).await; // to 2026-01-01: 365 days, but no order observed earning
    w.expire("2026-01-02T02:00:00Z").await;
    assert_eq!(
        w.state(cy).await.3,
        365,
        "progress kept: earning was never on"
    );
    let back = w.order(cy, "2026-03-01", 90).await;
    assert!(
        matches!(back, OrderOutcome::Counted { points: 90, .. }),
        "365 days of progress: the re-enrolling order earns ({back:?})"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_member_page_counts_progress_to_today_not_to_the_last_order(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let di = "di@example.com";
    w.order(di, "2025-01-01", 300).await; // Gold, to 2026-01-01
    w.order(di, "2025-12-01", 300).await; // renewed, to 2026-12-01
    let customer = w.customer(di).await;
    let page = |now: &'static str| {
        let (pool, admin) = (w.pool.clone(), w.admin.clone());
        async move {
            loyalty::member_points(&pool, &admin, customer, at(now))
                .await
                .expect("member points")
        }
    };
    assert_eq!(w.state(di).await.3, 334, "stored as of the last order");
    let before = page("2025-12-31").await;
    assert_eq!((before.progress_days, before.earning), (364, false));
    assert_eq!(before.threshold_days, 365);
    let after = page("2026-01-02").await;
    assert_eq!(
        (after.progress_days, after.earning),
        (366, true),
        "the next order will earn"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_refund_takes_back_points_in_proportion_and_never_below_zero(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let di = "di@example.com";
    w.order(di, "2025-01-01", 300).await;
    w.order(di, "2025-06-01", 300).await;
    w.order(di, "2026-02-01", 200).await; // O3 earns 200
    let mut partial = common::paid_order("O3", di, at("2026-02-01"), 20_000);
    partial.status = OrderStatus::PartiallyRefunded;
    partial.refunded = domain::Money::from_cents(5_000);
    let outcome = w.send(&partial).await;
    assert!(
        matches!(outcome, OrderOutcome::Reversed { points_reversed: 50, ref enrollments, .. } if enrollments.is_empty()),
        "{outcome:?}"
    );
    let mut full = partial.clone();
    full.status = OrderStatus::Refunded;
    let outcome = w.send(&full).await;
    assert!(
        matches!(
            outcome,
            OrderOutcome::Reversed {
                points_reversed: 150,
                ..
            }
        ),
        "the rest: {outcome:?}"
    );
    assert_eq!(w.state(di).await.0, 0);
    assert_eq!(
        w.ledger(di).await,
        [
            row("earned", 200, 200, "Order O3"),
            row("adjusted", -50, 150, "Order O3 refunded"),
            row("adjusted", -150, 0, "Order O3 refunded"),
        ]
    );

    // Points already spent stay spent: the reversal is capped at the balance.
    w.order(di, "2026-03-01", 200).await; // O4 earns 200
    let reward = w.reward("Tasting", 150, None, None).await;
    w.redeem(di, reward, "2026-03-02").await.expect("redeemed");
    let mut refund = common::paid_order("O4", di, at("2026-03-01"), 20_000);
    refund.status = OrderStatus::Refunded;
    w.send(&refund).await;
    let s = w.state(di).await;
    assert_eq!(s.0, 0, "never negative");
    let last = w.ledger(di).await.pop().expect("a row");
    assert_eq!(last.1, -50);
    assert!(
        last.3
            .expect("description")
            .contains("capped at the balance; 200 were due")
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn redemptions_follow_their_statuses_and_give_points_back(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let ed = "ed@example.com";
    w.order(ed, "2025-01-01", 300).await;
    w.order(ed, "2025-12-01", 300).await; // renews Gold; 334 days: not yet
    w.order(ed, "2026-01-05", 250).await; // 369 days: earns 250
    let customer = w.customer(ed).await;
    loyalty::adjust(
        &w.pool,
        &w.admin,
        customer,
        Adjustment::Bonus,
        250,
        "Harvest party host",
        at("2026-01-06"),
    )
    .await
    .expect("bonus");
    let hat = w.reward("Hat", 100, Some(10), None).await;
    w.redeem(ed, hat, "2026-01-07").await.expect("first");
    w.redeem(ed, hat, "2026-01-07").await.expect("second");
    let ids: Vec<Uuid> =
        sqlx::query_scalar("select id from reward_redemptions order by redeemed_at, created_at")
            .fetch_all(&w.owner)
            .await
            .expect("ids");
    loyalty::act_on_redemption(
        &w.pool,
        &w.admin,
        ids[0],
        RedemptionAction::Fulfil,
        at("2026-01-08"),
    )
    .await
    .expect("fulfilled");
    loyalty::act_on_redemption(
        &w.pool,
        &w.admin,
        ids[1],
        RedemptionAction::Cancel,
        at("2026-01-08"),
    )
    .await
    .expect("cancelled");
    let err = loyalty::act_on_redemption(
        &w.pool,
        &w.admin,
        ids[1],
        RedemptionAction::Fulfil,
        at("2026-01-09"),
    )
    .await
    .expect_err("final");
    assert!(matches!(err, Error::Conflict(m) if m.contains("cancelled")));
    loyalty::act_on_redemption(
        &w.pool,
        &w.admin,
        ids[0],
        RedemptionAction::Refund,
        at("2026-01-10"),
    )
    .await
    .expect("refunded");
    assert_eq!(
        w.ledger(ed).await,
        [
            row("earned", 250, 250, "Order O3"),
            row("bonus", 250, 500, "Harvest party host"),
            row("redeemed", -100, 400, "Redeemed Hat"),
            row("redeemed", -100, 300, "Redeemed Hat"),
            row("adjusted", 100, 400, "Hat cancelled: points returned"),
            row("adjusted", 100, 500, "Hat refunded: points returned"),
        ]
    );
    let s = w.state(ed).await;
    assert_eq!(
        (s.0, s.1),
        (500, 500),
        "lifetime counts earned and bonus only"
    );
    let stock: i32 =
        sqlx::query_scalar("select quantity_redeemed from loyalty_rewards where id = $1")
            .bind(hat)
            .fetch_one(&w.owner)
            .await
            .expect("stock");
    assert_eq!(stock, 0, "cancelled and refunded free the stock");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn bad_redemptions_and_adjustments_are_refused_and_change_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let fi = "fi@example.com";
    w.order(fi, "2025-01-01", 300).await;
    let customer = w.customer(fi).await;
    loyalty::adjust(
        &w.pool,
        &w.admin,
        customer,
        Adjustment::Bonus,
        250,
        "Welcome gift",
        at("2025-01-02"),
    )
    .await
    .expect("bonus");
    let limited = w.reward("Glass", 100, None, Some(1)).await;
    let sold_out = w.reward("Magnum", 100, Some(0), None).await;
    let pricey = w.reward("Barrel", 1_000, None, None).await;
    let window = RewardValues {
        reward_type: domain::loyalty::RewardType::WinePointSale,
        name: "Library Cabernet".to_owned(),
        description: None,
        image_url: None,
        points_required: 50,
        quantity_available: None,
        per_customer_limit: None,
        available_from: Some(at("2025-06-01")),
        available_until: Some(at("2025-06-30")),
    };
    let sale = loyalty::add_reward(&w.pool, &w.admin, &window)
        .await
        .expect("sale");
    w.redeem(fi, limited, "2025-02-01")
        .await
        .expect("first glass");
    let before = w.ledger(fi).await;

    let refusals = [
        (limited, "2025-02-01", "limited to 1 per customer"),
        (sold_out, "2025-02-01", "out of stock"),
        (
            pricey,
            "2025-02-01",
            "Not enough points: this reward costs 1000 points and the balance is 150",
        ),
        // The window is told on the winery's clock (switched to Los Angeles below).
        (
            sale,
            "2025-02-01",
            "This reward can be redeemed from Jun 1, 2025 05:00 PDT.",
        ),
        (
            sale,
            "2025-07-01",
            "This reward could be redeemed until Jun 30, 2025 05:00 PDT.",
        ),
    ];
    sqlx::query("update clients set time_zone = 'America/Los_Angeles' where id = $1")
        .bind(w.club.id.as_uuid())
        .execute(&w.owner)
        .await
        .expect("zone");
    for (reward, when, message) in refusals {
        match w.redeem(fi, reward, when).await {
            Err(Error::Conflict(m)) => assert!(m.contains(message), "{m}"),
            other => panic!("expected a refusal with {message:?}, got {other:?}"),
        }
    }
    sqlx::query("update clients set time_zone = 'UTC' where id = $1")
        .bind(w.club.id.as_uuid())
        .execute(&w.owner)
        .await
        .expect("zone");
    assert!(
        w.redeem(fi, sale, "2025-06-15").await.is_ok(),
        "inside the window"
    );

    let no_reason = loyalty::adjust(
        &w.pool,
        &w.admin,
        customer,
        Adjustment::Correction,
        -10,
        "  ",
        at("2025-02-02"),
    )
    .await;
    assert!(matches!(no_reason, Err(Error::Invalid(i)) if i.field == Some("reason")));
    let negative = loyalty::adjust(
        &w.pool,
        &w.admin,
        customer,
        Adjustment::Correction,
        -10_000,
        "Oops",
        at("2025-02-02"),
    )
    .await;
    assert!(matches!(negative, Err(Error::Invalid(i)) if i.field == Some("points")));

    // Another winery's reward is not found.
    let rival = common::club_winery(&w.pool, &w.owner, "UTC").await;
    let rival_admin = common::make_admin(&w.pool, rival.id, Role::Owner).await;
    let theirs = loyalty::add_reward(
        &w.pool,
        &rival_admin,
        &RewardValues {
            name: "Theirs".to_owned(),
            ..window.clone()
        },
    )
    .await
    .expect("theirs");
    assert!(matches!(
        w.redeem(fi, theirs, "2025-06-15").await,
        Err(Error::NotFound { what: "reward" })
    ));
    let after = w.ledger(fi).await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "only the one valid redemption was written"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn twenty_concurrent_redemptions_with_points_for_three_succeed_three_times(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let gus = "gus@example.com";
    w.order(gus, "2025-01-01", 300).await;
    let customer = w.customer(gus).await;
    loyalty::adjust(
        &w.pool,
        &w.admin,
        customer,
        Adjustment::Bonus,
        300,
        "Three rewards' worth",
        at("2025-01-02"),
    )
    .await
    .expect("bonus");
    let reward = w.reward("Corkscrew", 100, None, None).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (pool, client, admin) = (w.pool.clone(), w.club.id, w.admin.clone());
            tokio::spawn(async move {
                loyalty::redeem(
                    &pool,
                    client,
                    Redeemer::Admin(&admin),
                    customer,
                    reward,
                    at("2025-01-03"),
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(Error::Conflict(m)) => assert!(
                m.starts_with("Not enough points") || m.contains("balance of at least"),
                "{m}"
            ),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 3);
    assert_eq!(w.state(gus).await.0, 0);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_reward_with_stock_five_is_redeemed_five_times_by_fifty_members_at_once(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let w = World::new(&options).await;
    let reward = w.reward("Barrel tasting", 100, Some(5), None).await;
    let mut members = Vec::new();
    for n in 0..50 {
        let id: Uuid = sqlx::query_scalar(
            "insert into customers (client_id, email, loyalty_points_balance) values ($1, $2, 0) returning id",
        )
        .bind(w.club.id.as_uuid())
        .bind(format!("m{n}@example.com"))
        .fetch_one(&w.owner)
        .await
        .expect("member");
        loyalty::adjust(
            &w.pool,
            &w.admin,
            CustomerId::new(id),
            Adjustment::Bonus,
            200,
            "Contest",
            at("2025-01-01"),
        )
        .await
        .expect("bonus");
        members.push(CustomerId::new(id));
    }
    let tasks: Vec<_> = members
        .into_iter()
        .map(|customer| {
            let (pool, client, admin) = (w.pool.clone(), w.club.id, w.admin.clone());
            tokio::spawn(async move {
                loyalty::redeem(
                    &pool,
                    client,
                    Redeemer::Admin(&admin),
                    customer,
                    reward,
                    at("2025-01-02"),
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.expect("task").is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 5);
    let redeemed: i32 =
        sqlx::query_scalar("select quantity_redeemed from loyalty_rewards where id = $1")
            .bind(reward)
            .fetch_one(&w.owner)
            .await
            .expect("count");
    assert_eq!(redeemed, 5);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_ledger_check_finds_nothing_on_honest_data_and_reports_tampering(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    w.order("hal@example.com", "2025-01-01", 300).await;
    w.order("hal@example.com", "2026-01-05", 300).await;
    let job = backend::jobs::find("verify-ledgers").expect("job");
    let report = backend::jobs::run(&w.pool, job, Some(w.club.id), at("2026-01-06"))
        .await
        .expect("ran");
    assert!(
        report
            .summary
            .starts_with("checked 1 customers: 0 violations"),
        "{}",
        report.summary
    );
    sqlx::query("update customers set loyalty_points_balance = loyalty_points_balance + 7")
        .execute(&w.owner)
        .await
        .expect("tamper");
    let report = backend::jobs::run(&w.pool, job, Some(w.club.id), at("2026-01-07"))
        .await
        .expect("ran");
    assert!(
        report.summary.contains("1 violations")
            && report.summary.contains("hal@example.com: balance"),
        "{}",
        report.summary
    );
    let view = loyalty::overview(&w.pool, &w.admin)
        .await
        .expect("overview");
    assert_eq!(
        view.last_check.expect("recorded").violation_count,
        1,
        "the admin sees the last result"
    );
}

/// One step of a random loyalty history.
#[derive(Clone, Debug)]
enum Step {
    Order { gap_days: i64, dollars: i64 },
    Expire,
    Redeem,
    CancelLastRedemption,
    RefundLastOrder { percent: i64 },
    Replay,
}

fn steps() -> impl proptest::strategy::Strategy<Value = Vec<Step>> {
    use proptest::prelude::*;
    let step = prop_oneof![
        4 => (0i64..120, prop_oneof![20i64..75, 75i64..700]).prop_map(|(gap_days, dollars)| Step::Order { gap_days, dollars }),
        1 => Just(Step::Expire),
        2 => Just(Step::Redeem),
        1 => Just(Step::CancelLastRedemption),
        1 => (1i64..=100).prop_map(|percent| Step::RefundLastOrder { percent }),
        1 => Just(Step::Replay),
    ];
    prop::collection::vec(step, 5..30)
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn random_histories_keep_every_ledger_invariant(_: PgPoolOptions, options: PgConnectOptions) {
    use proptest::strategy::{Strategy, ValueTree};
    let w = World::new(&options).await;
    sqlx::query("update loyalty_point_rules set min_membership_days = 60, min_points_for_redemption = 0 where client_id = $1")
        .bind(w.club.id.as_uuid())
        .execute(&w.owner)
        .await
        .expect("a short threshold so histories earn");
    let reward = w.reward("Token", 40, None, None).await;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for case in 0..24 {
        let history = steps().new_tree(&mut runner).expect("a case").current();
        let email = format!("p{case}@example.com");
        let mut t = at("2025-01-01");
        let mut orders: Vec<backend::db::orders::OrderEvent> = Vec::new();
        let mut n = 0;
        for step in history {
            match step {
                Step::Order { gap_days, dollars } => {
                    t += chrono::Duration::days(gap_days) + chrono::Duration::minutes(1);
                    n += 1;
                    let event =
                        common::paid_order(&format!("P{case}-{n}"), &email, t, dollars * 100);
                    w.send(&event).await;
                    orders.push(event);
                }
                Step::Expire => {
                    w.expire(&(t + chrono::Duration::hours(1)).to_rfc3339())
                        .await
                }
                Step::Redeem => {
                    if !orders.is_empty() {
                        let customer = w.customer(&email).await;
                        let _ = loyalty::redeem(
                            &w.pool,
                            w.club.id,
                            Redeemer::Admin(&w.admin),
                            customer,
                            reward,
                            t,
                        )
                        .await;
                    }
                }
                Step::CancelLastRedemption => {
                    let last: Option<Uuid> = sqlx::query_scalar(
                        "select r.id from reward_redemptions r join customers c on c.id = r.customer_id
                         where c.email = $1 and r.status = 'pending' order by r.created_at desc limit 1",
                    )
                    .bind(&email)
                    .fetch_optional(&w.owner)
                    .await
                    .expect("query");
                    if let Some(id) = last {
                        loyalty::act_on_redemption(
                            &w.pool,
                            &w.admin,
                            id,
                            RedemptionAction::Cancel,
                            t,
                        )
                        .await
                        .expect("cancelled");
                    }
                }
                Step::RefundLastOrder { percent } => {
                    if let Some(last) = orders.last() {
                        let mut refund = last.clone();
                        refund.refunded =
                            domain::Money::from_cents(last.amounts.total.cents() * percent / 100);
                        refund.status = if percent == 100 {
                            OrderStatus::Refunded
                        } else {
                            OrderStatus::PartiallyRefunded
                        };
                        w.send(&refund).await;
                    }
                }
                Step::Replay => {
                    if let Some(last) = orders.last() {
                        let again = w.send(last).await;
                        assert!(
                            matches!(
                                again,
                                OrderOutcome::Duplicate { .. } | OrderOutcome::Reversed { .. }
                            ),
                            "case {case}: {again:?}"
                        );
                    }
                }
            }
        }
        // Never two earned rows for one order.
        let doubles: i64 = sqlx::query_scalar(
            "select count(*) from (select order_id from point_transactions where transaction_type = 'earned'
                                   group by order_id having count(*) > 1) d",
        )
        .fetch_one(&w.owner)
        .await
        .expect("query");
        assert_eq!(doubles, 0, "case {case}: an order earned twice");
    }
    // Balance = sum of the ledger, running balances hold, nothing negative, lifetime = earned + bonus.
    let job = backend::jobs::find("verify-ledgers").expect("job");
    let report = backend::jobs::run(&w.pool, job, Some(w.club.id), at("2030-01-01"))
        .await
        .expect("ran");
    assert!(
        report.summary.contains(": 0 violations"),
        "{}",
        report.summary
    );
    let earners: i64 = sqlx::query_scalar("select count(distinct customer_id) from point_transactions where transaction_type = 'earned'")
        .fetch_one(&w.owner)
        .await
        .expect("count");
    assert!(
        earners > 5,
        "the histories must exercise earning ({earners} customers earned)"
    );
}
