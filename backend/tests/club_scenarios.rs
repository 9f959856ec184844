//! The worked scenarios of domain.md sections 4.8 to 4.10, settled by decisions.md, each driven
//! through the real order service and the real expiry job against a real database, with every
//! event at 12:00 UTC for a winery whose time zone is UTC (D5). Each asserts the rows the
//! scenario lists: enrollments, extensions, the member flag and the queued CRM operations.

mod common;

use backend::db::audit::Actor;
use backend::db::customers::CustomerRef;
use backend::db::orders::OrderEvent;
use backend::orders::{ClubChange, ClubClient, OrderOutcome, process_order};
use chrono::{DateTime, Utc};
use domain::Money;
use domain::ids::ClientId;
use domain::orders::{OrderAmounts, OrderStatus};
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

/// A winery with a ladder, one customer, and helpers to place orders and run the expiry job.
struct Club {
    pool: PgPool,
    owner: PgPool,
    client: ClubClient,
    stages: Vec<(String, Uuid)>,
    email: String,
    next_order: usize,
}

/// (stage, status, enrolled_at, expires_at, qualifying order) as read.
type RowTuple = (Uuid, String, DateTime<Utc>, DateTime<Utc>, Option<String>);
/// (enrollment stage, from, to, kind, order, new expiry) as read.
type ExtTuple = (
    Uuid,
    Option<Uuid>,
    Uuid,
    String,
    Option<String>,
    DateTime<Utc>,
);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    stage: String,
    status: String,
    enrolled_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    qualifying_order: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ext {
    enrollment_stage: String,
    from: String,
    to: String,
    kind: String,
    order: String,
    new_expires_at: DateTime<Utc>,
}

impl Club {
    /// Bronze (10 %, 3 months, $75), Silver (15 %, 6, $150), Gold (20 %, 12, $300): domain.md 4.8.
    async fn docs(options: &PgConnectOptions) -> Self {
        Self::with_ladder(
            options,
            "UTC",
            &[
                ("Bronze", 10, 3, 75),
                ("Silver", 15, 6, 150),
                ("Gold", 20, 12, 300),
            ],
        )
        .await
    }

    async fn with_ladder(
        options: &PgConnectOptions,
        zone: &str,
        ladder: &[(&str, i64, i32, i64)],
    ) -> Self {
        let pool = common::app_pool(options).await;
        let owner = common::owner_pool(options).await;
        let id = common::make_client(&pool, "Scenario Cellars").await;
        sqlx::query("update clients set time_zone = $2 where id = $1")
            .bind(id.as_uuid())
            .bind(zone)
            .execute(&owner)
            .await
            .expect("zone");
        let program: Uuid = sqlx::query_scalar(
            "insert into club_programs (client_id, name) values ($1, 'Club') returning id",
        )
        .bind(id.as_uuid())
        .fetch_one(&owner)
        .await
        .expect("program");
        let mut stages = Vec::new();
        for (i, (name, discount, months, min)) in ladder.iter().enumerate() {
            let stage: Uuid = sqlx::query_scalar(
                "insert into club_stages (client_id, club_program_id, name, discount_percentage, duration_months, min_purchase_amount_cents, stage_order)
                 values ($1, $2, $3, $4::int8, $5, $6, $7) returning id",
            )
            .bind(id.as_uuid())
            .bind(program)
            .bind(*name)
            .bind(*discount)
            .bind(*months)
            .bind(min * 100)
            .bind(i32::try_from(i + 1).expect("small"))
            .fetch_one(&owner)
            .await
            .expect("stage");
            stages.push(((*name).to_owned(), stage));
        }
        let client = ClubClient::load(&pool, id).await.expect("client");
        Self {
            pool,
            owner,
            client,
            stages,
            email: format!("ann-{}@example.com", Uuid::new_v4().simple()),
            next_order: 1,
        }
    }

    fn id(&self) -> ClientId {
        self.client.id
    }

    fn stage_name(&self, id: Uuid) -> String {
        self.stages
            .iter()
            .find(|(_, s)| *s == id)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| "?".to_owned())
    }

    fn event(&mut self, when: &str, dollars: i64, status: OrderStatus) -> OrderEvent {
        let crm_id = format!("O{}", self.next_order);
        self.next_order += 1;
        self.event_named(&crm_id, when, dollars, status)
    }

    fn event_named(
        &self,
        crm_id: &str,
        when: &str,
        dollars: i64,
        status: OrderStatus,
    ) -> OrderEvent {
        let amount = Money::from_cents(dollars * 100);
        OrderEvent {
            crm_id: crm_id.to_owned(),
            customer: Some(CustomerRef {
                crm_id: None,
                email: domain::EmailAddress::parse(&self.email).expect("email"),
                first_name: Some("Ann".to_owned()),
                last_name: Some("Lee".to_owned()),
                phone: None,
            }),
            placed_at: at(when),
            status,
            amounts: OrderAmounts {
                subtotal: amount,
                discount: Money::ZERO,
                tax: Money::ZERO,
                shipping: Money::ZERO,
                total: amount,
            },
            refunded: Money::ZERO,
            source: "webhook",
        }
    }

    /// A paid order of `dollars` placed at `when` (a date means 12:00 UTC).
    async fn order(&mut self, when: &str, dollars: i64) -> OrderOutcome {
        let event = self.event(when, dollars, OrderStatus::Paid);
        self.send(&event).await
    }

    async fn send(&self, event: &OrderEvent) -> OrderOutcome {
        let actor = Actor::Webhook {
            provider: "test".to_owned(),
        };
        process_order(&self.pool, &self.client, event, &actor, event.placed_at)
            .await
            .expect("order processed")
    }

    /// Runs the expiry job as of `now`.
    async fn expire(&self, now: &str) -> String {
        let job = backend::jobs::find("expire-memberships").expect("job");
        backend::jobs::run(&self.pool, job, Some(self.id()), at(now))
            .await
            .expect("job ran")
            .summary
    }

    /// The customer's enrollments, oldest first.
    async fn rows(&self) -> Vec<Row> {
        let rows: Vec<RowTuple> = sqlx::query_as(
            "select e.club_stage_id, e.status, e.enrolled_at, e.expires_at, o.crm_id
             from club_enrollments e join customers c on c.id = e.customer_id
             left join orders o on o.id = e.qualifying_order_id
             where c.client_id = $1 and c.email = $2 order by e.created_at, e.id",
        )
        .bind(self.id().as_uuid())
        .bind(&self.email)
        .fetch_all(&self.owner)
        .await
        .expect("rows");
        rows.into_iter()
            .map(|(stage, status, enrolled_at, expires_at, order)| Row {
                stage: self.stage_name(stage),
                status,
                enrolled_at,
                expires_at,
                qualifying_order: order,
            })
            .collect()
    }

    async fn extensions(&self) -> Vec<Ext> {
        let rows: Vec<ExtTuple> = sqlx::query_as(
            "select e.club_stage_id, x.extended_from_stage_id, x.extended_to_stage_id, x.extension_type, o.crm_id, x.new_expires_at
             from club_extensions x join club_enrollments e on e.id = x.enrollment_id
             join customers c on c.id = e.customer_id left join orders o on o.id = x.order_id
             where c.client_id = $1 and c.email = $2 order by x.created_at, x.id",
        )
        .bind(self.id().as_uuid())
        .bind(&self.email)
        .fetch_all(&self.owner)
        .await
        .expect("extensions");
        rows.into_iter()
            .map(|(enrollment, from, to, kind, order, new_expires_at)| Ext {
                enrollment_stage: self.stage_name(enrollment),
                from: from.map(|f| self.stage_name(f)).unwrap_or_default(),
                to: self.stage_name(to),
                kind,
                order: order.unwrap_or_default(),
                new_expires_at,
            })
            .collect()
    }

    async fn is_member(&self) -> bool {
        sqlx::query_scalar(
            "select is_club_member from customers where client_id = $1 and email = $2",
        )
        .bind(self.id().as_uuid())
        .bind(&self.email)
        .fetch_one(&self.owner)
        .await
        .expect("flag")
    }

    /// The queued CRM operations, in order: "grant Bronze", "move Bronze->Silver", "revoke Silver".
    async fn crm_ops(&self) -> Vec<String> {
        let rows: Vec<(String, Uuid, Option<Uuid>)> = sqlx::query_as(
            "select q.action_type, q.stage_id, q.old_stage_id from crm_sync_queue q join customers c on c.id = q.customer_id
             where c.client_id = $1 and c.email = $2 order by q.sequence",
        )
        .bind(self.id().as_uuid())
        .bind(&self.email)
        .fetch_all(&self.owner)
        .await
        .expect("queue");
        rows.into_iter()
            .map(|(action, stage, old)| match old {
                Some(old) => format!(
                    "{action} {}->{}",
                    self.stage_name(old),
                    self.stage_name(stage)
                ),
                None => format!("{action} {}", self.stage_name(stage)),
            })
            .collect()
    }
}

fn row(stage: &str, status: &str, enrolled: &str, expires: &str, order: &str) -> Row {
    Row {
        stage: stage.to_owned(),
        status: status.to_owned(),
        enrolled_at: at(enrolled),
        expires_at: at(expires),
        qualifying_order: Some(order.to_owned()),
    }
}

fn ext(enrollment: &str, from: &str, to: &str, kind: &str, order: &str, expires: &str) -> Ext {
    Ext {
        enrollment_stage: enrollment.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        kind: kind.to_owned(),
        order: order.to_owned(),
        new_expires_at: at(expires),
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_1_a_first_qualifying_order_enrolls(_: PgPoolOptions, options: PgConnectOptions) {
    let mut club = Club::docs(&options).await;
    let outcome = club.order("2026-01-01", 90).await;
    assert!(
        matches!(
            outcome,
            OrderOutcome::Counted {
                change: ClubChange::Enrolled { .. },
                expired_stale: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        club.rows().await,
        [row("Bronze", "active", "2026-01-01", "2026-04-01", "O1")]
    );
    assert_eq!(club.extensions().await, []);
    assert!(club.is_member().await);
    assert_eq!(club.crm_ops().await, ["grant Bronze"]);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_2_an_early_upgrade_keeps_the_start_and_gains_time(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-02-01", 180).await;
    assert_eq!(
        club.rows().await,
        [
            row("Bronze", "upgraded", "2026-01-01", "2026-04-01", "O1"),
            row("Silver", "active", "2026-01-01", "2026-07-01", "O2"),
        ]
    );
    assert_eq!(
        club.extensions().await,
        [ext(
            "Silver",
            "Bronze",
            "Silver",
            "upgrade",
            "O2",
            "2026-07-01"
        )]
    );
    assert!(club.is_member().await);
    assert_eq!(
        club.crm_ops().await,
        ["grant Bronze", "move Bronze->Silver"]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_3_a_late_upgrade_still_expires_from_the_start(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-03-20", 180).await;
    assert_eq!(
        club.rows().await,
        [
            row("Bronze", "upgraded", "2026-01-01", "2026-04-01", "O1"),
            row("Silver", "active", "2026-01-01", "2026-07-01", "O2"),
        ]
    );
    assert_eq!(
        club.extensions().await,
        [ext(
            "Silver",
            "Bronze",
            "Silver",
            "upgrade",
            "O2",
            "2026-07-01"
        )]
    );
    assert_eq!(
        club.crm_ops().await,
        ["grant Bronze", "move Bronze->Silver"]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_4_a_same_stage_order_renews_in_place(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-03-15", 90).await;
    assert_eq!(
        club.rows().await,
        [row("Bronze", "active", "2026-03-15", "2026-06-15", "O2")]
    );
    assert_eq!(
        club.extensions().await,
        [ext(
            "Bronze",
            "Bronze",
            "Bronze",
            "renewal",
            "O2",
            "2026-06-15"
        )]
    );
    assert_eq!(
        club.crm_ops().await,
        ["grant Bronze"],
        "a renewal changes nothing in the CRM"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_5_without_a_purchase_it_expires_and_starts_over(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    assert_eq!(
        club.expire("2026-04-01T02:00:00Z").await,
        "expired 0 memberships; 0 CRM revocations queued; 0 messages queued",
        "not yet"
    );
    assert_eq!(
        club.expire("2026-04-02T02:00:00Z").await,
        "expired 1 memberships; 1 CRM revocations queued; 0 messages queued"
    );
    assert!(!club.is_member().await);
    assert_eq!(
        club.rows().await,
        [row("Bronze", "expired", "2026-01-01", "2026-04-01", "O1")]
    );
    club.order("2026-05-01", 90).await;
    assert_eq!(
        club.rows().await,
        [
            row("Bronze", "expired", "2026-01-01", "2026-04-01", "O1"),
            row("Bronze", "active", "2026-05-01", "2026-08-01", "O2"),
        ]
    );
    assert_eq!(club.extensions().await, []);
    assert!(club.is_member().await);
    assert_eq!(
        club.crm_ops().await,
        ["grant Bronze", "revoke Bronze", "grant Bronze"]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_6_multiple_upgrades_climb_to_gold_from_the_first_start(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-02-01", 180).await;
    club.order("2026-03-01", 360).await;
    assert_eq!(
        club.rows().await,
        [
            row("Bronze", "upgraded", "2026-01-01", "2026-04-01", "O1"),
            row("Silver", "upgraded", "2026-01-01", "2026-07-01", "O2"),
            row("Gold", "active", "2026-01-01", "2027-01-01", "O3"),
        ]
    );
    assert_eq!(
        club.extensions().await,
        [
            ext("Silver", "Bronze", "Silver", "upgrade", "O2", "2026-07-01"),
            ext("Gold", "Silver", "Gold", "upgrade", "O3", "2027-01-01"),
        ]
    );
    assert_eq!(
        club.crm_ops().await,
        ["grant Bronze", "move Bronze->Silver", "move Silver->Gold"]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_7_a_last_minute_upgrade_still_counts(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-03-31T23:59:00Z", 180).await;
    assert_eq!(
        club.rows().await,
        [
            row("Bronze", "upgraded", "2026-01-01", "2026-04-01", "O1"),
            row("Silver", "active", "2026-01-01", "2026-07-01", "O2"),
        ]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_8_an_order_below_the_next_stage_renews(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-02-15", 120).await;
    assert_eq!(
        club.rows().await,
        [row("Bronze", "active", "2026-02-15", "2026-05-15", "O2")]
    );
    assert_eq!(
        club.extensions().await,
        [ext(
            "Bronze",
            "Bronze",
            "Bronze",
            "renewal",
            "O2",
            "2026-05-15"
        )]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn scenario_9_a_big_first_order_goes_straight_to_gold(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 360).await;
    assert_eq!(
        club.rows().await,
        [row("Gold", "active", "2026-01-01", "2027-01-01", "O1")]
    );
    assert_eq!(club.crm_ops().await, ["grant Gold"]);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_briefs_lifecycle_enrolls_renews_upgrades_expires_and_starts_over(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    // domain.md 4.9: Bronze (10 %, 3 months, $100), Silver (15 %, 6, $250), Gold (20 %, 12, $500).
    let mut club = Club::with_ladder(
        &options,
        "UTC",
        &[
            ("Bronze", 10, 3, 100),
            ("Silver", 15, 6, 250),
            ("Gold", 20, 12, 500),
        ],
    )
    .await;
    club.order("2026-01-10", 150).await;
    assert_eq!(
        club.rows().await,
        [row("Bronze", "active", "2026-01-10", "2026-04-10", "O1")]
    );
    let o2 = club.order("2026-02-20", 80).await;
    assert!(
        matches!(
            o2,
            OrderOutcome::Counted {
                change: ClubChange::None,
                ..
            }
        ),
        "{o2:?}"
    );
    club.order("2026-03-15", 120).await;
    assert_eq!(
        club.rows().await,
        [row("Bronze", "active", "2026-03-15", "2026-06-15", "O3")]
    );
    club.order("2026-04-20", 300).await;
    club.order("2026-06-01", 120).await;
    let rows = club.rows().await;
    assert_eq!(
        rows,
        [
            row("Bronze", "upgraded", "2026-03-15", "2026-06-15", "O3"),
            row("Silver", "active", "2026-03-15", "2026-09-15", "O4"),
        ],
        "O5 at a lower stage does not renew Silver"
    );
    assert_eq!(
        club.extensions().await,
        [
            ext("Bronze", "Bronze", "Bronze", "renewal", "O3", "2026-06-15"),
            ext("Silver", "Bronze", "Silver", "upgrade", "O4", "2026-09-15"),
        ]
    );
    assert_eq!(
        club.expire("2026-09-15T02:00:00Z").await,
        "expired 0 memberships; 0 CRM revocations queued; 0 messages queued"
    );
    assert_eq!(
        club.expire("2026-09-16T02:00:00Z").await,
        "expired 1 memberships; 1 CRM revocations queued; 0 messages queued"
    );
    assert!(!club.is_member().await);
    club.order("2026-10-05", 150).await;
    assert_eq!(
        club.rows().await[2],
        row("Bronze", "active", "2026-10-05", "2027-01-05", "O6")
    );
    assert_eq!(
        club.crm_ops().await,
        [
            "grant Bronze",
            "move Bronze->Silver",
            "revoke Silver",
            "grant Bronze"
        ]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_order_after_expiry_but_before_the_job_expires_the_stale_row_first(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::with_ladder(
        &options,
        "UTC",
        &[
            ("Bronze", 10, 3, 100),
            ("Silver", 15, 6, 250),
            ("Gold", 20, 12, 500),
        ],
    )
    .await;
    club.order("2026-03-15", 120).await;
    club.order("2026-04-20", 300).await;
    let outcome = club.order("2026-09-15T20:00:00Z", 150).await;
    assert!(
        matches!(
            outcome,
            OrderOutcome::Counted {
                expired_stale: true,
                change: ClubChange::Enrolled { .. },
                ..
            }
        ),
        "{outcome:?}"
    );
    let rows = club.rows().await;
    assert_eq!(
        rows[1],
        row("Silver", "expired", "2026-03-15", "2026-09-15", "O2")
    );
    assert_eq!(
        rows[2],
        row(
            "Bronze",
            "active",
            "2026-09-15T20:00:00Z",
            "2026-12-15T20:00:00Z",
            "O3"
        )
    );
    assert_eq!(
        club.crm_ops().await,
        [
            "grant Bronze",
            "move Bronze->Silver",
            "revoke Silver",
            "grant Bronze"
        ]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_top_stage_member_spending_again_renews_gold(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 360).await;
    club.order("2026-05-01", 600).await;
    assert_eq!(
        club.rows().await,
        [row("Gold", "active", "2026-05-01", "2027-05-01", "O2")]
    );
    assert_eq!(
        club.extensions().await,
        [ext("Gold", "Gold", "Gold", "renewal", "O2", "2027-05-01")]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_order_two_stages_up_jumps_straight_to_gold(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-02-01", 600).await;
    assert_eq!(
        club.rows().await,
        [
            row("Bronze", "upgraded", "2026-01-01", "2026-04-01", "O1"),
            row("Gold", "active", "2026-01-01", "2027-01-01", "O2"),
        ]
    );
    assert_eq!(
        club.extensions().await,
        [ext("Gold", "Bronze", "Gold", "upgrade", "O2", "2027-01-01")]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_order_at_the_exact_expiry_instant_is_a_new_enrollment(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    let outcome = club.order("2026-04-01", 90).await;
    assert!(
        matches!(
            outcome,
            OrderOutcome::Counted {
                expired_stale: true,
                change: ClubChange::Enrolled { .. },
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        club.rows().await,
        [
            row("Bronze", "expired", "2026-01-01", "2026-04-01", "O1"),
            row("Bronze", "active", "2026-04-01", "2026-07-01", "O2"),
        ]
    );
    assert_eq!(club.extensions().await, [], "not a renewal");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_redelivered_order_changes_nothing(_: PgPoolOptions, options: PgConnectOptions) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    let o2 = club.event("2026-02-01", 180, OrderStatus::Paid);
    assert!(matches!(club.send(&o2).await, OrderOutcome::Counted { .. }));
    let rows = club.rows().await;
    let again = club.send(&o2).await;
    assert!(matches!(again, OrderOutcome::Duplicate { .. }), "{again:?}");
    assert_eq!(club.rows().await, rows);
    assert_eq!(club.extensions().await.len(), 1);
    assert_eq!(
        club.crm_ops().await,
        ["grant Bronze", "move Bronze->Silver"]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_order_counts_once_it_is_paid(_: PgPoolOptions, options: PgConnectOptions) {
    let club = Club::docs(&options).await;
    let pending = club.event_named("O1", "2026-01-01", 90, OrderStatus::Pending);
    assert!(matches!(
        club.send(&pending).await,
        OrderOutcome::Recorded { .. }
    ));
    assert_eq!(club.rows().await, []);
    let paid = club.event_named("O1", "2026-01-01", 90, OrderStatus::Paid);
    assert!(matches!(
        club.send(&paid).await,
        OrderOutcome::Counted { .. }
    ));
    assert_eq!(
        club.rows().await,
        [row("Bronze", "active", "2026-01-01", "2026-04-01", "O1")]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_refunded_qualifying_order_flags_the_enrollment_without_touching_dates(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-02-01", 180).await;
    let refunded = club.event_named("O2", "2026-02-01", 180, OrderStatus::Refunded);
    let outcome = club.send(&refunded).await;
    let OrderOutcome::Reversed { enrollments, .. } = outcome else {
        panic!("expected a flag, got {outcome:?}")
    };
    assert_eq!(enrollments.len(), 1);
    assert_eq!(
        club.rows().await[1],
        row("Silver", "active", "2026-01-01", "2026-07-01", "O2"),
        "dates stay"
    );
    let reason: Option<String> =
        sqlx::query_scalar("select flag_reason from club_enrollments where id = $1")
            .bind(enrollments[0].as_uuid())
            .fetch_one(&club.owner)
            .await
            .expect("flag");
    assert_eq!(reason.as_deref(), Some("Qualifying order O2 was refunded"));
    assert!(
        matches!(club.send(&refunded).await, OrderOutcome::Duplicate { .. }),
        "a second refund notice flags nothing new"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_guest_order_without_an_email_changes_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    let mut event = club.event("2026-01-01", 500, OrderStatus::Paid);
    event.customer = None;
    assert!(matches!(
        club.send(&event).await,
        OrderOutcome::Ignored { .. }
    ));
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&club.owner)
        .await
        .expect("count");
    assert_eq!(orders, 0);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_deactivated_stage_admits_nobody_and_its_members_are_judged_against_active_stages(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 180).await;
    sqlx::query("update club_stages set is_active = false where name = 'Silver'")
        .execute(&club.owner)
        .await
        .expect("deactivate");
    // A Silver-sized order now renews nothing (Silver admits nobody) and qualifies for Bronze,
    // which is below the member's stage: no change; the membership runs to its expiry (D8).
    let outcome = club.order("2026-03-01", 180).await;
    assert!(
        matches!(
            outcome,
            OrderOutcome::Counted {
                change: ClubChange::None,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        club.rows().await,
        [row("Silver", "active", "2026-01-01", "2026-07-01", "O1")]
    );
    // A Gold-sized order upgrades past the inactive stage.
    club.order("2026-04-01", 400).await;
    assert_eq!(
        club.rows().await[1],
        row("Gold", "active", "2026-01-01", "2027-01-01", "O3")
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_qualifying_amount_is_merchandise_after_discounts(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    let mut event = club.event("2026-01-01", 0, OrderStatus::Paid);
    // $80 of wine with $10 off, plus $20 tax and shipping: $70 after discounts, below Bronze's $75.
    event.amounts = OrderAmounts {
        subtotal: Money::from_cents(8_000),
        discount: Money::from_cents(1_000),
        tax: Money::from_cents(500),
        shipping: Money::from_cents(1_500),
        total: Money::from_cents(9_000),
    };
    assert!(matches!(
        club.send(&event).await,
        OrderOutcome::Counted {
            change: ClubChange::None,
            ..
        }
    ));
    sqlx::query("update clients set qualifying_amount_basis = 'total' where id = $1")
        .bind(club.id().as_uuid())
        .execute(&club.owner)
        .await
        .expect("basis");
    let client = ClubClient::load(&club.pool, club.id())
        .await
        .expect("client");
    let mut second = club.event("2026-01-02", 0, OrderStatus::Paid);
    second.amounts = event.amounts;
    let actor = Actor::Webhook {
        provider: "test".to_owned(),
    };
    let outcome = process_order(&club.pool, &client, &second, &actor, second.placed_at)
        .await
        .expect("processed");
    assert!(
        matches!(
            outcome,
            OrderOutcome::Counted {
                change: ClubChange::Enrolled { .. },
                ..
            }
        ),
        "the $90 total reaches Bronze"
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_expiry_job_is_idempotent_and_runs_once_when_two_copies_race(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let club = Club::docs(&options).await;
    // Twenty members, all expired by April.
    for n in 0..20 {
        let mut member = Club {
            email: format!("m{n}-{}@example.com", Uuid::new_v4().simple()),
            next_order: 100 + n,
            ..clone_club(&club)
        };
        member.order("2026-01-01", 90).await;
    }
    let (a, b) = tokio::join!(
        club.expire("2026-04-02T02:00:00Z"),
        club.expire("2026-04-02T02:00:00Z")
    );
    let expired: Vec<i64> = [a, b]
        .iter()
        .map(|s| {
            s.split(' ')
                .nth(1)
                .and_then(|n| n.parse().ok())
                .expect("count")
        })
        .collect();
    assert_eq!(expired.iter().sum::<i64>(), 20, "{expired:?}");
    assert_eq!(
        club.expire("2026-04-03T02:00:00Z").await,
        "expired 0 memberships; 0 CRM revocations queued; 0 messages queued"
    );
    let revocations: i64 =
        sqlx::query_scalar("select count(*) from crm_sync_queue where action_type = 'revoke'")
            .fetch_one(&club.owner)
            .await
            .expect("count");
    assert_eq!(revocations, 20);
    let members: i64 = sqlx::query_scalar("select count(*) from customers where is_club_member")
        .fetch_one(&club.owner)
        .await
        .expect("count");
    assert_eq!(members, 0);
}

fn clone_club(club: &Club) -> Club {
    Club {
        pool: club.pool.clone(),
        owner: club.owner.clone(),
        client: club.client.clone(),
        stages: club.stages.clone(),
        email: club.email.clone(),
        next_order: club.next_order,
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_order_for_an_unknown_winery_changes_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = common::app_pool(&options).await;
    let owner = common::owner_pool(&options).await;
    let unknown = ClientId::new(Uuid::new_v4());
    let err = ClubClient::load(&pool, unknown)
        .await
        .expect_err("no such winery");
    assert!(
        matches!(err, backend::Error::NotFound { what: "winery" }),
        "{err:?}"
    );
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&owner)
        .await
        .expect("count");
    assert_eq!(orders, 0);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_queued_crm_operations_are_visible_to_the_admin(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut club = Club::docs(&options).await;
    club.order("2026-01-01", 90).await;
    club.order("2026-02-01", 180).await;
    let admin = common::make_admin(&club.pool, club.id(), backend::auth::Role::Owner).await;
    let queue = backend::sync::overview(&club.pool, &admin)
        .await
        .expect("overview");
    assert_eq!((queue.pending, queue.failed, queue.completed), (2, 0, 0));
    let described: Vec<String> = queue.items.iter().map(|i| i.describe()).collect();
    assert_eq!(
        described,
        ["Move Bronze → Silver", "Grant Bronze"],
        "newest first"
    );
    assert_eq!(queue.items[0].member, "Ann Lee");
}
