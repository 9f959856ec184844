//! The admin dashboard against a real database: every figure checked against an independent SQL
//! count over the source tables (not the rollups), the period boundaries on the winery's clock,
//! the rollups kept by order processing alone agreeing with a full rebuild, and the empty winery.

mod common;

use backend::analytics;
use backend::auth::{Admin, Role};
use backend::db::audit::Actor;
use backend::demo::{self, SeedOptions};
use backend::orders::process_order;
use chrono::{DateTime, NaiveDate, Utc};
use domain::analytics::{Dashboard, Period};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// The figures of one period, counted straight from orders, enrollments, extensions and the
/// ledger with the period's local midnights: what the rollups must agree with.
#[derive(Debug, PartialEq, Eq)]
struct Expected {
    joined: i64,
    renewed: i64,
    upgraded: i64,
    expired: i64,
    member_orders: i64,
    member_revenue: i64,
    other_orders: i64,
    other_revenue: i64,
    issued: i64,
    redeemed: i64,
}

async fn expected(owner: &PgPool, client: Uuid, zone: &str, period: Period) -> Expected {
    // A membership's join is its first start: a renewal moves `enrolled_at`, so the first
    // renewal's `previous_enrolled_at` is the original one. An upgrade row is covered from the
    // upgrade, a joined row from its join, until it ended (or will expire).
    let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        r#"with b as (select ($3::date::timestamp at time zone $2) as lo, (($4::date + 1)::timestamp at time zone $2) as hi),
           spans as (
               select e.id, e.customer_id, e.status, e.ended_at,
                      u.extended_at is null as is_join,
                      coalesce(u.extended_at,
                               (select r.previous_enrolled_at from club_extensions r
                                 where r.enrollment_id = e.id and r.extension_type = 'renewal'
                                 order by r.extended_at limit 1),
                               e.enrolled_at) as began,
                      coalesce(e.ended_at, e.expires_at) as ends
               from club_enrollments e
               left join club_extensions u on u.enrollment_id = e.id and u.extension_type = 'upgrade'
               where e.client_id = $1
           ),
           sold as (
               select o.total_cents - o.refunded_cents as revenue,
                      exists (select 1 from spans s where s.customer_id = o.customer_id
                              and s.began < o.placed_at and s.ends >= o.placed_at) as by_member
               from orders o, b
               where o.client_id = $1 and o.placed_at >= b.lo and o.placed_at < b.hi
                 and o.processed_at is not null and o.status in ('paid', 'partially_refunded')
           )
           select
             (select count(*) from spans, b where is_join and began >= b.lo and began < b.hi),
             (select count(*) from club_extensions x, b where x.client_id = $1 and x.extension_type = 'renewal'
                and x.extended_at >= b.lo and x.extended_at < b.hi),
             (select count(*) from club_extensions x, b where x.client_id = $1 and x.extension_type = 'upgrade'
                and x.extended_at >= b.lo and x.extended_at < b.hi),
             (select count(*) from spans, b where status = 'expired' and ended_at >= b.lo and ended_at < b.hi),
             (select count(*) from sold where by_member),
             (select coalesce(sum(revenue), 0)::int8 from sold where by_member),
             (select count(*) from sold where not by_member),
             (select coalesce(sum(revenue), 0)::int8 from sold where not by_member),
             (select coalesce(sum(points), 0)::int8 from point_transactions p, b where p.client_id = $1
                and p.transaction_type in ('earned', 'bonus') and p.transaction_date >= b.lo and p.transaction_date < b.hi),
             (select coalesce(-sum(points), 0)::int8 from point_transactions p, b where p.client_id = $1
                and p.transaction_type = 'redeemed' and p.transaction_date >= b.lo and p.transaction_date < b.hi)"#,
    )
    .bind(client)
    .bind(zone)
    .bind(period.from)
    .bind(period.to)
    .fetch_one(owner)
    .await
    .expect("independent count");
    Expected {
        joined: row.0,
        renewed: row.1,
        upgraded: row.2,
        expired: row.3,
        member_orders: row.4,
        member_revenue: row.5,
        other_orders: row.6,
        other_revenue: row.7,
        issued: row.8,
        redeemed: row.9,
    }
}

fn shown(d: &Dashboard) -> Expected {
    Expected {
        joined: d.flows.joined,
        renewed: d.flows.renewed,
        upgraded: d.flows.upgraded,
        expired: d.flows.expired,
        member_orders: d.members.orders,
        member_revenue: d.members.revenue.cents(),
        other_orders: d.others.orders,
        other_revenue: d.others.revenue.cents(),
        issued: d.points_issued,
        redeemed: d.points_redeemed,
    }
}

/// Processes paid orders `(crm id, e-mail, RFC 3339 instant, cents)` as webhooks would, each as of
/// its own instant.
async fn place(
    pool: &PgPool,
    club: &backend::orders::ClubClient,
    orders: &[(&str, &str, &str, i64)],
) {
    let actor = Actor::Webhook {
        provider: "test".to_owned(),
    };
    for (id, email, when, cents) in orders {
        let event = common::paid_order(id, email, at(when), *cents);
        process_order(pool, club, &event, &actor, at(when))
            .await
            .expect("processed");
    }
}

async fn admin_of(pool: &PgPool, client: domain::ids::ClientId, zone: &str) -> Admin {
    let mut admin = common::make_admin(pool, client, Role::Owner).await;
    zone.clone_into(&mut admin.time_zone);
    admin
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn every_dashboard_figure_matches_an_independent_count_on_the_demo_winery(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let now = at("2026-11-29T20:00:00Z");
    let mut seed = SeedOptions::demo(400, now);
    seed.slug = "dash".to_owned();
    seed.admin_email = "dash@vinculum.test".to_owned();
    demo::seed(&pool, &seed).await.expect("seeded");
    let client = demo::demo_client(&pool, "dash").await.expect("client");
    let admin = admin_of(&pool, client, demo::DEMO_TIME_ZONE).await;

    // A member redeems, so the redeemed figure is not trivially zero.
    let rich: (Uuid,) = sqlx::query_as(
        "select id from customers where client_id = $1 order by loyalty_points_balance desc limit 1",
    )
    .bind(client.as_uuid())
    .fetch_one(&owner)
    .await
    .expect("a customer with points");
    let reward: (Uuid,) = sqlx::query_as(
        "select id from loyalty_rewards where client_id = $1 order by points_required limit 1",
    )
    .bind(client.as_uuid())
    .fetch_one(&owner)
    .await
    .expect("a reward");
    backend::loyalty::redeem(
        &pool,
        client,
        backend::loyalty::Redeemer::Admin(&admin),
        domain::ids::CustomerId::new(rich.0),
        reward.0,
        now,
    )
    .await
    .expect("redeemed");

    // Three CRM operations that gave up, and two messages that bounced this month and one before.
    sqlx::query(
        "update crm_sync_queue set status = 'failed'
         where id in (select id from crm_sync_queue where client_id = $1 order by sequence limit 3)",
    )
    .bind(client.as_uuid())
    .execute(&owner)
    .await
    .expect("failures");
    for (n, when) in [
        "2026-11-03T12:00:00Z",
        "2026-11-20T12:00:00Z",
        "2026-10-20T12:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        sqlx::query(
            "insert into communication_log (client_id, customer_id, template_type, channel, provider, to_address,
                                            status, idempotency_key, created_at)
             select $1, id, 'monthly_status', 'email', 'sandbox', email, 'bounced', $2, $3
             from customers where client_id = $1 order by email limit 1",
        )
        .bind(client.as_uuid())
        .bind(format!("test:{n}"))
        .bind(at(when))
        .execute(&owner)
        .await
        .expect("bounce");
    }

    for period in [
        Period::parse("", "", day("2026-11-29")).expect("month to date"),
        Period::parse("2026-10-01", "2026-10-31", day("2026-11-29")).expect("october"),
        Period::parse("2025-06-15", "2026-07-20", day("2026-11-29")).expect("a long one"),
    ] {
        let board = analytics::dashboard(&pool, &admin, period, now)
            .await
            .expect("dashboard");
        let independent = expected(&owner, client.as_uuid(), demo::DEMO_TIME_ZONE, period).await;
        assert_eq!(shown(&board), independent, "{period:?}");
        let previous = expected(
            &owner,
            client.as_uuid(),
            demo::DEMO_TIME_ZONE,
            period.previous(),
        )
        .await;
        assert_eq!(board.previous_flows.joined, previous.joined);
        assert_eq!(board.previous_flows.expired, previous.expired);
        let (failures, undelivered): (i64, i64) = sqlx::query_as(
            "select (select count(*) from crm_sync_queue where client_id = $1 and status = 'failed'),
                    (select count(*) from communication_log where client_id = $1 and status in ('failed', 'bounced')
                       and created_at >= ($2::date::timestamp at time zone $4)
                       and created_at < (($3::date + 1)::timestamp at time zone $4))",
        )
        .bind(client.as_uuid())
        .bind(period.from)
        .bind(period.to)
        .bind(demo::DEMO_TIME_ZONE)
        .fetch_one(&owner)
        .await
        .expect("counts");
        assert_eq!(
            (board.crm_failures, board.undelivered),
            (failures, undelivered)
        );
    }
    // A past period that ends mid-month: its stage counts are those at the end of its last day.
    let mid = Period::parse("2026-09-20", "2026-10-15", day("2026-11-29")).expect("period");
    let board = analytics::dashboard(&pool, &admin, mid, now)
        .await
        .expect("dashboard");
    let then: i64 = sqlx::query_scalar(
        "with t as (select ('2026-10-16'::timestamp at time zone $2) as at)
         select count(*) from club_enrollments e, t
         where e.client_id = $1
           and coalesce((select x.extended_at from club_extensions x
                          where x.enrollment_id = e.id and x.extension_type = 'upgrade'),
                        (select r.previous_enrolled_at from club_extensions r
                          where r.enrollment_id = e.id and r.extension_type = 'renewal'
                          order by r.extended_at limit 1),
                        e.enrolled_at) < t.at
           and coalesce(e.ended_at, e.expires_at) > t.at",
    )
    .bind(client.as_uuid())
    .bind(demo::DEMO_TIME_ZONE)
    .fetch_one(&owner)
    .await
    .expect("members then");
    assert_eq!(board.active_members(), then);
    assert!(then > 0);

    let board = analytics::dashboard(
        &pool,
        &admin,
        Period::parse("", "", day("2026-11-29")).expect("period"),
        now,
    )
    .await
    .expect("dashboard");
    assert!(board.has_data);
    assert!(board.flows.joined + board.flows.renewed > 0, "{board:?}");
    assert!(board.members.orders > 0 && board.others.orders > 0);
    assert!(board.points_redeemed > 0 && board.points_issued > 0);
    assert_eq!((board.crm_failures, board.undelivered), (3, 2));

    // Live figures: members per stage, expiring within 30 days, unredeemed points and their value.
    let (active, expiring, balances): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from club_enrollments where client_id = $1 and status = 'active'),
                (select count(*) from club_enrollments where client_id = $1 and status = 'active'
                   and expires_at > $2 and expires_at <= $2 + interval '30 days'),
                (select coalesce(sum(loyalty_points_balance), 0)::int8 from customers where client_id = $1)",
    )
    .bind(client.as_uuid())
    .bind(now)
    .fetch_one(&owner)
    .await
    .expect("live counts");
    let at_risk: i64 = sqlx::query_scalar(
        "with g as (select customer_id, count(*) as n, min(placed_at) as f, max(placed_at) as l from orders
                    where client_id = $1 and processed_at is not null and status in ('paid', 'partially_refunded')
                    group by customer_id)
         select count(*) from club_enrollments e join g on g.customer_id = e.customer_id
         where e.client_id = $1 and e.status = 'active' and e.expires_at > $2
           and e.expires_at <= $2 + interval '90 days' and g.n >= 2
           and (g.l - g.f) / (g.n - 1) > e.expires_at - $2",
    )
    .bind(client.as_uuid())
    .bind(now)
    .fetch_one(&owner)
    .await
    .expect("at risk");
    assert_eq!(board.at_risk, at_risk);
    assert!(at_risk > 0, "the demo has members at risk");
    assert_eq!(board.active_members(), active);
    assert_eq!(board.expiring_soon, expiring);
    assert_eq!(board.points_outstanding, balances);
    assert_eq!(board.liability.cents(), balances, "1 point is worth $0.01");
    assert!(balances > 0);
    assert_eq!(board.forecast.len(), 6);
    let on_calendar: u64 = board.charts.calendar.iter().sum();
    assert!(on_calendar >= u64::try_from(expiring).expect("count"));
    assert_eq!(board.charts.months.len(), 12);
    assert_eq!(board.charts.months[11], "Nov 2026");
    let last_month: f64 = board.charts.stages.iter().map(|s| s.values[11]).sum();
    assert_eq!(
        last_month, active as f64,
        "the chart's current month is live"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_order_counts_on_its_local_day_and_order_processing_alone_keeps_the_rollups_exact(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let zone = "Pacific/Auckland";
    let club = common::club_winery(&pool, &owner, zone).await;
    let admin = admin_of(&pool, club.id, zone).await;
    let orders = [
        // 23:30 on 31 March in Auckland (UTC+13): March.
        ("A1", "ana@example.com", "2026-03-31T10:30:00Z", 8_000),
        // 00:30 on 1 April in Auckland: April, though still 31 March in UTC.
        ("B1", "ben@example.com", "2026-03-31T11:30:00Z", 16_000),
        // Ana renews at Bronze in April, then upgrades to Gold; Ben buys without qualifying.
        ("A2", "ana@example.com", "2026-04-10T01:00:00Z", 9_000),
        ("A3", "ana@example.com", "2026-04-20T01:00:00Z", 35_000),
        ("B2", "ben@example.com", "2026-04-21T01:00:00Z", 2_000),
    ];
    place(&pool, &club, &orders).await;
    let now = at("2026-04-25T00:00:00Z");
    let march = Period::parse("2026-03-01", "2026-03-31", day("2026-04-25")).expect("march");
    let april = Period::parse("2026-04-01", "2026-04-30", day("2026-04-25")).expect("april");
    let board = analytics::dashboard(&pool, &admin, march, now)
        .await
        .expect("march");
    assert_eq!((board.flows.joined, board.others.orders), (1, 1));
    assert_eq!(board.others.revenue.cents(), 8_000);
    let board = analytics::dashboard(&pool, &admin, april, now)
        .await
        .expect("april");
    assert_eq!(board.flows.joined, 1, "Ben joined on 1 April local time");
    assert_eq!((board.flows.renewed, board.flows.upgraded), (1, 1));
    assert_eq!(board.members.orders, 3, "A2, A3 (the upgrade) and B2");
    assert_eq!(board.members.revenue.cents(), 46_000);
    assert_eq!(
        (board.others.orders, board.others.revenue.cents()),
        (1, 16_000)
    );
    assert_eq!(board.upgrade_rate(), Some(50.0));
    for period in [march, april] {
        let shown = shown(
            &analytics::dashboard(&pool, &admin, period, now)
                .await
                .expect("board"),
        );
        assert_eq!(
            shown,
            expected(&owner, club.id.as_uuid(), zone, period).await
        );
    }

    // A full rebuild finds nothing to correct.
    let snapshot = || async {
        sqlx::query_as::<_, (NaiveDate, i32, i32, i32, i64, i64)>(
            "select day, joined, renewed, upgraded, member_revenue_cents, other_revenue_cents
             from stats_days where client_id = $1 and (joined + renewed + upgraded + member_orders + other_orders) > 0
             order by day",
        )
        .bind(club.id.as_uuid())
        .fetch_all(&owner)
        .await
        .expect("rollups")
    };
    let incremental = snapshot().await;
    assert_eq!(incremental.len(), 5);
    analytics::refresh(&pool, club.id, now, true)
        .await
        .expect("rebuilt");
    assert_eq!(snapshot().await, incremental);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_winery_with_no_data_gets_an_empty_dashboard_and_its_rollups_stay_its_own(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let empty = common::make_client(&pool, "Empty Cellars").await;
    let admin = admin_of(&pool, empty, "UTC").await;
    let now = at("2026-11-29T12:00:00Z");
    let board = analytics::dashboard(
        &pool,
        &admin,
        Period::parse("", "", day("2026-11-29")).expect("period"),
        now,
    )
    .await
    .expect("an empty dashboard, not an error");
    assert!(!board.has_data);
    assert_eq!(board.active_members(), 0);
    assert_eq!(board.redemption_rate(), None);
    assert_eq!(board.members.average(), None);
    analytics::refresh(&pool, empty, now, true)
        .await
        .expect("refresh of nothing");

    // Another winery's orders never show up in this one's rollups.
    let club = common::club_winery(&pool, &owner, "UTC").await;
    let event = common::paid_order("X1", "x@example.com", now, 9_000);
    process_order(
        &pool,
        &club,
        &event,
        &Actor::Webhook {
            provider: "test".to_owned(),
        },
        now,
    )
    .await
    .expect("processed");
    let board = analytics::dashboard(
        &pool,
        &admin,
        Period::parse("", "", day("2026-11-29")).expect("period"),
        now,
    )
    .await
    .expect("dashboard");
    assert_eq!((board.others.orders, board.flows.joined), (0, 0));
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn members_whose_usual_gap_outlasts_their_membership_are_at_risk_and_reminded_once_a_day(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let club = common::club_winery(&pool, &owner, "UTC").await;
    sqlx::query(
        "insert into communication_configs (client_id, email_provider, email_from_address, postal_address)
         values ($1, 'sandbox', 'club@example.com', '1 Vineyard Lane, Napa')",
    )
    .bind(club.id.as_uuid())
    .execute(&owner)
    .await
    .expect("messaging");
    let admin = admin_of(&pool, club.id, "UTC").await;
    let actor = Actor::Webhook {
        provider: "test".to_owned(),
    };
    // Bronze lasts 3 months from 1 March (to 1 June). Ana orders every 60 days, Ben every 10 and
    // Cy once; on 1 May, 31 days are left.
    let orders = [
        ("A1", "ana@example.com", "2026-03-01T12:00:00Z", 8_000),
        ("B1", "ben@example.com", "2026-03-01T12:00:00Z", 9_000),
        ("C1", "cy@example.com", "2026-03-01T12:00:00Z", 20_000),
        ("B2", "ben@example.com", "2026-03-11T12:00:00Z", 1_000),
        ("A2", "ana@example.com", "2026-04-30T12:00:00Z", 2_000),
    ];
    place(&pool, &club, &orders).await;
    let now = at("2026-05-01T12:00:00Z");
    let list = analytics::at_risk(&pool, &admin, now).await.expect("list");
    assert_eq!(list.total, 1);
    let ana = &list.rows[0];
    assert_eq!(
        (ana.email.as_str(), ana.usual_gap_days),
        ("ana@example.com", 60)
    );
    assert_eq!((ana.days_left, ana.lifetime.cents()), (31, 10_000));
    assert!(!ana.reminded_today);
    let board = analytics::dashboard(
        &pool,
        &admin,
        Period::parse("", "", day("2026-05-01")).expect("period"),
        now,
    )
    .await
    .expect("dashboard");
    assert_eq!(board.at_risk, 1);

    // One click queues the expiration warning; a second the same day sends nothing more.
    let first = analytics::remind(&pool, &admin, ana.enrollment, now)
        .await
        .expect("reminded");
    assert!(first.starts_with("Renewal reminder queued"), "{first}");
    let again = analytics::remind(&pool, &admin, ana.enrollment, now)
        .await
        .expect("answered");
    assert_eq!(again, "A reminder already went to this member today.");
    let queued: i64 = sqlx::query_scalar(
        "select count(*) from communication_log where client_id = $1 and template_type = 'expiration_warning'",
    )
    .bind(club.id.as_uuid())
    .fetch_one(&owner)
    .await
    .expect("count");
    assert_eq!(queued, 1);
    assert!(
        analytics::at_risk(&pool, &admin, now)
            .await
            .expect("list")
            .rows[0]
            .reminded_today
    );

    // Ana renews: a year of Gold, so she is no longer at risk.
    let event = common::paid_order("A3", "ana@example.com", now, 40_000);
    process_order(&pool, &club, &event, &actor, now)
        .await
        .expect("processed");
    assert_eq!(
        analytics::at_risk(&pool, &admin, now)
            .await
            .expect("list")
            .total,
        0
    );

    // Another winery's membership cannot be reminded.
    let other = common::club_winery(&pool, &owner, "UTC").await;
    let theirs = common::paid_order("Z1", "zed@example.com", now, 9_000);
    process_order(&pool, &other, &theirs, &actor, now)
        .await
        .expect("processed");
    let their_enrollment: Uuid =
        sqlx::query_scalar("select id from club_enrollments where client_id = $1")
            .bind(other.id.as_uuid())
            .fetch_one(&owner)
            .await
            .expect("enrollment");
    let refused = analytics::remind(
        &pool,
        &admin,
        domain::ids::EnrollmentId::new(their_enrollment),
        now,
    )
    .await;
    assert!(
        matches!(refused, Err(backend::Error::NotFound { .. })),
        "{refused:?}"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_figures_member_list_holds_the_members_it_counts_in_either_query_shape(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let now = at("2026-11-29T20:00:00Z");
    let mut seed = SeedOptions::demo(300, now);
    seed.slug = "lists".to_owned();
    seed.admin_email = "lists@vinculum.test".to_owned();
    demo::seed(&pool, &seed).await.expect("seeded");
    let client = demo::demo_client(&pool, "lists").await.expect("client");
    let admin = admin_of(&pool, client, demo::DEMO_TIME_ZONE).await;
    let zone = demo::DEMO_TIME_ZONE;
    let (from, to) = (day("2025-12-01"), day("2026-11-29"));
    for (event, independent) in [
        (
            "joined",
            "select distinct c.email from club_enrollments e join customers c on c.id = e.customer_id
             where e.client_id = $1 and e.started_at >= $2 and e.started_at < $3
               and not exists (select 1 from club_extensions x where x.enrollment_id = e.id and x.extension_type = 'upgrade')",
        ),
        (
            "renewed",
            "select distinct c.email from club_extensions x join club_enrollments e on e.id = x.enrollment_id
             join customers c on c.id = e.customer_id
             where x.client_id = $1 and x.extension_type = 'renewal' and x.extended_at >= $2 and x.extended_at < $3",
        ),
        (
            "upgraded",
            "select distinct c.email from club_extensions x join club_enrollments e on e.id = x.enrollment_id
             join customers c on c.id = e.customer_id
             where x.client_id = $1 and x.extension_type = 'upgrade' and x.extended_at >= $2 and x.extended_at < $3",
        ),
        (
            "expired",
            "select distinct c.email from club_enrollments e join customers c on c.id = e.customer_id
             where e.client_id = $1 and e.status = 'expired' and e.ended_at >= $2 and e.ended_at < $3",
        ),
    ] {
        let mut expected: Vec<String> = sqlx::query_scalar(independent)
            .bind(client.as_uuid())
            .bind(analytics::start_of(from, demo_zone()))
            .bind(analytics::start_of(to.succ_opt().expect("day"), demo_zone()))
            .fetch_all(&owner)
            .await
            .expect("independent");
        expected.sort();
        assert!(!expected.is_empty(), "the demo has {event} members");
        let mut filter = backend::members::parse_filter("", "", "any", "", "").expect("filter");
        filter.event = backend::members::parse_event(event, "2025-12-01", "2026-11-29", to)
            .expect("event");
        // Sorting the movements' members, then walking customers in e-mail order: the same rows.
        for walk_above in [i64::MAX, -1] {
            let mut shown = Vec::new();
            filter.after = None;
            loop {
                let page =
                    backend::members::list_page_with(&pool, &admin, &filter, now, 7, walk_above)
                        .await
                        .expect("page");
                shown.extend(page.rows.iter().map(|r| r.email.clone()));
                match page.next {
                    Some(after) => filter.after = Some(after),
                    None => break,
                }
            }
            assert_eq!(shown, expected, "{event}, walk above {walk_above}, {zone}");
        }
    }
    assert!(matches!(
        backend::members::parse_event("churned", "", "", to),
        Err(backend::Error::Invalid(_))
    ));
}

fn demo_zone() -> chrono_tz::Tz {
    domain::calendar::parse_time_zone(demo::DEMO_TIME_ZONE).expect("zone")
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_what_if_preview_counts_the_members_a_stage_change_would_touch(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let club = common::club_winery(&pool, &owner, "UTC").await;
    let admin = admin_of(&pool, club.id, "UTC").await;
    // Bronze ($75, 3 months, 10 %), Silver ($150, 6, 15 %), Gold ($300, 12, 20 %).
    let when = "2026-06-01T12:00:00Z";
    place(
        &pool,
        &club,
        &[
            ("A", "a@example.com", when, 10_000),
            ("E", "e@example.com", when, 9_000),
            ("B", "b@example.com", when, 20_000),
            ("C", "c@example.com", when, 26_000),
            ("D", "d@example.com", when, 32_000),
        ],
    )
    .await;
    let ladder = backend::club::ladder(&pool, &admin).await.expect("ladder");
    let stage = |name: &str| {
        ladder
            .stages
            .iter()
            .find(|s| s.values.name == name)
            .expect("stage")
            .id
    };
    let what_if =
        |name: &'static str, discount: &'static str, months: &'static str, min: &'static str| {
            let (pool, admin, id) = (pool.clone(), admin.clone(), stage(name));
            async move {
                let values =
                    domain::club::StageValues::parse(name, discount, months, min).expect("values");
                backend::club::what_if(&pool, &admin, id, values)
                    .await
                    .expect("preview")
            }
        };

    let lower_gold = what_if("Gold", "20", "12", "250").await;
    assert_eq!(
        lower_gold.effects,
        [
            "1 Silver member would have qualified for Gold under the new minimum ($250.00); they move up with their next qualifying order."
        ]
    );
    assert_eq!(lower_gold.problem, None);
    let lower_silver = what_if("Silver", "15", "6", "80").await;
    assert_eq!(
        lower_silver.effects,
        [
            "2 Bronze members would have qualified for Silver under the new minimum ($80.00); they move up with their next qualifying order."
        ]
    );
    let raise_gold = what_if("Gold", "20", "12", "350").await;
    assert!(
        raise_gold.effects[0]
            .starts_with("1 of the 1 current Gold members qualified with less than $350.00"),
        "{:?}",
        raise_gold.effects
    );
    let longer = what_if("Silver", "18", "9", "150").await;
    assert_eq!(
        longer.effects,
        [
            "New and renewed Silver memberships from now on last 9 months instead of 6; the 2 current Silver members keep their dates until they next qualify.",
            "The 2 active Silver members get 18% instead of 15% at checkout, once the change reaches the CRM."
        ]
    );
    let broken = what_if("Silver", "15", "6", "400").await;
    assert!(
        broken.problem.is_some(),
        "a minimum above Gold's breaks the ladder"
    );
    let same = what_if("Bronze", "10", "3", "75").await;
    assert_eq!(
        same.effects,
        ["These are Bronze's current minimum, duration and discount: nothing would change."]
    );

    // Nothing was saved, and another winery's stage is not found.
    let after = backend::club::ladder(&pool, &admin).await.expect("ladder");
    assert_eq!(after.stages, ladder.stages);
    let other = common::club_winery(&pool, &owner, "UTC").await;
    let their_admin = admin_of(&pool, other.id, "UTC").await;
    let values = domain::club::StageValues::parse("Gold", "20", "12", "250").expect("values");
    let refused = backend::club::what_if(&pool, &their_admin, stage("Gold"), values).await;
    assert!(
        matches!(refused, Err(backend::Error::NotFound { .. })),
        "{refused:?}"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_bulk_demo_seed_records_the_same_figures_as_the_independent_count(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let now = at("2026-11-29T20:00:00Z");
    // Above the importer's limit, the seed writes in bulk (what `--customers 1000000` runs).
    let mut seed = SeedOptions::demo(demo::IMPORT_LIMIT + 1, now);
    seed.slug = "bulk".to_owned();
    seed.admin_email = "bulk@vinculum.test".to_owned();
    demo::seed(&pool, &seed).await.expect("seeded");
    let client = demo::demo_client(&pool, "bulk").await.expect("client");
    let admin = admin_of(&pool, client, demo::DEMO_TIME_ZONE).await;
    for period in [
        Period::parse("2026-10-01", "2026-10-31", day("2026-11-29")).expect("october"),
        Period::parse("2025-01-01", "2026-11-29", day("2026-11-29")).expect("long"),
    ] {
        let board = analytics::dashboard(&pool, &admin, period, now)
            .await
            .expect("dashboard");
        let independent = expected(&owner, client.as_uuid(), demo::DEMO_TIME_ZONE, period).await;
        assert_eq!(shown(&board), independent, "{period:?}");
        assert!(board.members.orders > 0 && board.others.orders > 0);
    }
}
