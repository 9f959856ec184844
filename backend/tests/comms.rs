//! Member messages against a real database: the warning and monthly schedules with explicit
//! `now` (domain.md 6.6 and 6.8, D17), the Auckland clock (D5), event messages from real orders,
//! preferences and unsubscribe (D18), providers missing (D19), the sandbox worker, and the
//! delivery callbacks' signatures.

mod common;

use backend::comms::{self, links, worker};
use backend::db::audit::Actor;
use backend::orders::{ClubClient, OrderOutcome, process_order};
use chrono::{DateTime, Utc};
use domain::ids::{ClientId, CustomerId};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

struct World {
    pool: PgPool,
    owner: PgPool,
    club: ClubClient,
    next: usize,
}

/// (type, channel, status, key).
type LogRow = (String, String, String, String);

impl World {
    async fn new(options: &PgConnectOptions, zone: &str) -> Self {
        let pool = common::app_pool(options).await;
        let owner = common::owner_pool(options).await;
        let club = common::club_winery(&pool, &owner, zone).await;
        sqlx::query(
            "insert into communication_configs (client_id, email_provider, sms_provider, email_from_address, postal_address)
             values ($1, 'sandbox', 'sandbox', 'club@example.com', '1 Vineyard Lane, Napa')",
        )
        .bind(club.id.as_uuid())
        .execute(&owner)
        .await
        .expect("config");
        Self {
            pool,
            owner,
            club,
            next: 1,
        }
    }

    fn client(&self) -> ClientId {
        self.club.id
    }

    async fn order(&mut self, email: &str, when: DateTime<Utc>, dollars: i64) -> OrderOutcome {
        let event = common::paid_order(&format!("O{}", self.next), email, when, dollars * 100);
        self.next += 1;
        let actor = Actor::Webhook {
            provider: "test".to_owned(),
        };
        process_order(&self.pool, &self.club, &event, &actor, when)
            .await
            .expect("processed")
    }

    async fn job(&self, name: &str, now: DateTime<Utc>) -> String {
        let job = backend::jobs::find(name).expect("job");
        backend::jobs::run(&self.pool, job, Some(self.client()), now)
            .await
            .expect("job ran")
            .summary
    }

    async fn log(&self, kind: &str) -> Vec<LogRow> {
        sqlx::query_as(
            "select template_type, channel, status, idempotency_key from communication_log
             where client_id = $1 and template_type = $2 order by created_at, channel",
        )
        .bind(self.client().as_uuid())
        .bind(kind)
        .fetch_all(&self.owner)
        .await
        .expect("log")
    }

    async fn customer(&self, email: &str) -> CustomerId {
        let id: Uuid =
            sqlx::query_scalar("select id from customers where client_id = $1 and email = $2")
                .bind(self.client().as_uuid())
                .bind(email)
                .fetch_one(&self.owner)
                .await
                .expect("customer");
        CustomerId::new(id)
    }

    async fn set_expiry(&self, email: &str, expires_at: DateTime<Utc>) {
        sqlx::query(
            "update club_enrollments set expires_at = $3 where client_id = $1 and status = 'active'
             and customer_id = (select id from customers where client_id = $1 and email = $2)",
        )
        .bind(self.client().as_uuid())
        .bind(email)
        .bind(expires_at)
        .execute(&self.owner)
        .await
        .expect("expiry");
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_member_expiring_on_september_15_with_a_7_day_lead_is_warned_once_on_september_9(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options, "UTC").await;
    // Silver on 2026-03-15 12:00 runs six months, to 2026-09-15 12:00 (domain.md 4.9).
    w.order("ann@example.com", at("2026-03-15T12:00:00Z"), 150)
        .await;
    // 09-08 10:00: the window ends at 09-15 10:00 and misses the 12:00 expiry.
    w.job("expiration-warnings", at("2026-09-08T10:00:00Z"))
        .await;
    assert!(w.log("expiration_warning").await.is_empty());
    // 09-09 10:00 catches it; the runs up to 09-14 find it already warned.
    w.job("expiration-warnings", at("2026-09-09T10:00:00Z"))
        .await;
    for day in 10..=14 {
        let summary = w
            .job(
                "expiration-warnings",
                at(&format!("2026-09-{day}T10:00:00Z")),
            )
            .await;
        assert!(summary.contains("0 queued"), "{summary}");
    }
    let sent = w.log("expiration_warning").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].1.as_str(), sent[0].2.as_str()),
        ("email", "queued")
    );
    let body: String = sqlx::query_scalar(
        "select rendered_text from communication_log where template_type = 'expiration_warning'",
    )
    .fetch_one(&w.owner)
    .await
    .expect("text");
    assert!(body.contains("expires in 7 days"), "{body}");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_renewal_on_september_12_re_arms_the_warning_for_the_new_expiry(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options, "UTC").await;
    w.order("ann@example.com", at("2026-03-15T12:00:00Z"), 150)
        .await;
    w.job("expiration-warnings", at("2026-09-09T10:00:00Z"))
        .await;
    // The renewal on 09-12 sets the expiry to 2027-03-12 12:00 (six months from the order).
    w.order("ann@example.com", at("2026-09-12T12:00:00Z"), 150)
        .await;
    w.job("expiration-warnings", at("2027-03-05T10:00:00Z"))
        .await;
    assert_eq!(w.log("expiration_warning").await.len(), 1, "too early");
    w.job("expiration-warnings", at("2027-03-06T10:00:00Z"))
        .await;
    let sent = w.log("expiration_warning").await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_ne!(sent[0].3, sent[1].3, "a new key for the new expiry");
    // The renewal itself sent a "renewed" message, once.
    assert_eq!(w.log("renewed").await.len(), 1);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_monthly_status_run_twice_in_one_month_sends_once(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options, "UTC").await;
    w.order("ann@example.com", at("2026-03-15T12:00:00Z"), 150)
        .await;
    w.order("bob@example.com", at("2026-03-20T12:00:00Z"), 80)
        .await;
    let first = w.job("monthly-status", at("2026-05-01T09:00:00Z")).await;
    assert!(first.contains("2 queued"), "{first}");
    let second = w.job("monthly-status", at("2026-05-01T15:00:00Z")).await;
    assert!(
        second.contains("0 queued") && second.contains("2 already sent"),
        "{second}"
    );
    assert_eq!(w.log("monthly_status").await.len(), 2);
    // June is a new month.
    w.job("monthly-status", at("2026-06-01T09:00:00Z")).await;
    assert_eq!(w.log("monthly_status").await.len(), 4);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_monthly_status_follows_the_worked_scenario(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options, "UTC").await;
    w.order("ann@example.com", at("2026-01-01T12:00:00Z"), 150)
        .await;
    w.set_expiry("ann@example.com", at("2026-07-01T12:00:00Z"))
        .await;
    w.job("monthly-status", at("2026-05-01T09:00:00Z")).await;
    let (html, channel): (String, String) = sqlx::query_as(
        "select rendered_html, channel from communication_log where template_type = 'monthly_status'",
    )
    .fetch_one(&w.owner)
    .await
    .expect("one message: no SMS without an opt-in");
    assert_eq!(channel, "email");
    assert!(html.contains("valid until July 1, 2026"));
    assert!(html.contains("Spend $300.00 in one order to reach <strong>Gold</strong>"));
    assert!(html.contains("1 Vineyard Lane, Napa"));
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_winery_in_auckland_gets_its_messages_at_nine_in_the_morning_auckland_time(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    use backend::jobs::Schedule;
    let w = World::new(&options, "Pacific/Auckland").await;
    let auckland: chrono_tz::Tz = "Pacific/Auckland".parse().expect("zone");
    let spec = backend::jobs::find("monthly-status").expect("job");
    assert_eq!(spec.schedule, Schedule::MonthlyLocal { day: 1, hour: 9 });
    // 09:00 on 1 June in Auckland (NZST, UTC+12) is 21:00 UTC on 31 May.
    assert_eq!(
        spec.schedule
            .current_slot(at("2026-05-31T21:00:00Z"), auckland),
        Some(at("2026-05-31T21:00:00Z"))
    );
    assert_eq!(
        spec.schedule
            .current_slot(at("2026-05-31T20:59:59Z"), auckland),
        Some(at("2026-04-30T21:00:00Z"))
    );
    let warnings = backend::jobs::find("expiration-warnings").expect("job");
    // 10:00 on 15 January in Auckland (NZDT, UTC+13) is 21:00 UTC on the 14th.
    assert_eq!(
        warnings
            .schedule
            .current_slot(at("2026-01-14T21:30:00Z"), auckland),
        Some(at("2026-01-14T21:00:00Z"))
    );
    // The scheduler enqueues the monthly job for this winery at that instant, not before.
    let enqueued_before = backend::jobs::schedule_due(&w.pool, at("2026-05-31T20:59:00Z"))
        .await
        .expect("tick");
    let enqueued_at = backend::jobs::schedule_due(&w.pool, at("2026-05-31T21:00:00Z"))
        .await
        .expect("tick");
    assert!(
        enqueued_at >= 1,
        "the 09:00 slot is new ({enqueued_before} before)"
    );
    let slots: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "select slot_at from scheduled_runs where job = 'monthly-status' and client_id = $1 order by slot_at",
    )
    .bind(w.client().as_uuid())
    .fetch_all(&w.owner)
    .await
    .expect("slots");
    assert_eq!(slots.last(), Some(&at("2026-05-31T21:00:00Z")));
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn an_unsubscribed_member_is_skipped_and_the_skip_is_logged(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options, "UTC").await;
    w.order("ann@example.com", at("2026-03-15T12:00:00Z"), 150)
        .await;
    let ann = w.customer("ann@example.com").await;
    let token = links::token(&comms::runtime().link_key, w.client(), ann);
    comms::preferences::unsubscribe(&w.pool, &token, at("2026-04-01T00:00:00Z"))
        .await
        .expect("unsubscribed");
    w.job("monthly-status", at("2026-05-01T09:00:00Z")).await;
    let rows = w.log("monthly_status").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "skipped");
    // A forged token is refused and changes nothing.
    let err = comms::preferences::unsubscribe(&w.pool, "abc.def", at("2026-04-01T00:00:00Z"))
        .await
        .expect_err("refused");
    assert!(matches!(err, backend::Error::Invalid(_)));
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_winery_without_a_provider_records_every_message_as_skipped(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options, "UTC").await;
    sqlx::query("update communication_configs set email_provider = null, sms_provider = null")
        .execute(&w.owner)
        .await
        .expect("no providers");
    w.order("ann@example.com", at("2026-03-15T12:00:00Z"), 150)
        .await;
    let welcome = w.log("welcome").await;
    assert_eq!(welcome.len(), 1);
    assert_eq!(welcome[0].2, "skipped");
    let reason: String = sqlx::query_scalar(
        "select error_message from communication_log where template_type = 'welcome'",
    )
    .fetch_one(&w.owner)
    .await
    .expect("reason");
    assert_eq!(reason, "skipped (no provider)");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn orders_queue_welcome_and_upgrade_messages_once_and_the_sandbox_worker_sends_them(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options, "UTC").await;
    w.order("ann@example.com", at("2026-03-15T12:00:00Z"), 80)
        .await;
    w.order("ann@example.com", at("2026-04-01T12:00:00Z"), 320)
        .await;
    assert_eq!(w.log("welcome").await.len(), 1);
    assert_eq!(w.log("upgraded").await.len(), 1);
    let upgraded: String = sqlx::query_scalar(
        "select subject from communication_log where template_type = 'upgraded'",
    )
    .fetch_one(&w.owner)
    .await
    .expect("subject");
    assert_eq!(upgraded, "You're now Gold, there");
    let report = worker::run_due(&w.pool, at("2026-04-01T12:00:01Z"))
        .await
        .expect("pass");
    assert_eq!(report.sent, 2);
    let statuses: Vec<(String, Option<String>)> = sqlx::query_as(
        "select status, provider_message_id from communication_log order by created_at",
    )
    .fetch_all(&w.owner)
    .await
    .expect("statuses");
    assert!(
        statuses
            .iter()
            .all(|(s, id)| s == "sent" && id.as_deref().is_some_and(|i| i.starts_with("sandbox-"))),
        "{statuses:?}"
    );
    // A second pass finds nothing.
    let again = worker::run_due(&w.pool, at("2026-04-01T12:01:00Z"))
        .await
        .expect("pass");
    assert_eq!(again, worker::PassReport::default());
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_bad_callback_signature_is_refused_and_writes_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let w = World::new(&options, "UTC").await;
    let params = vec![
        ("MessageSid".to_owned(), "SM1".to_owned()),
        ("MessageStatus".to_owned(), "delivered".to_owned()),
    ];
    // The sandbox has no auth token: nothing can be verified, so nothing is accepted.
    let verdict = comms::callbacks::twilio_status(
        &w.pool,
        w.client(),
        "https://example.com/webhooks/comms/twilio/x/status",
        &params,
        "bm90IGEgc2lnbmF0dXJl",
        at("2026-04-01T00:00:00Z"),
    )
    .await
    .expect("answered");
    assert_eq!(verdict, comms::callbacks::Verdict::Unauthorized);
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn expiration_processing_tells_the_member_once_that_their_membership_ended(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options, "UTC").await;
    // Bronze on 2026-01-01 runs three months, to 2026-04-01 12:00.
    w.order("ann@example.com", at("2026-01-01T12:00:00Z"), 80)
        .await;
    let summary = w
        .job("expire-memberships", at("2026-04-02T02:00:00Z"))
        .await;
    assert!(summary.ends_with("; 1 messages queued"), "{summary}");
    w.job("expire-memberships", at("2026-04-03T02:00:00Z"))
        .await;
    let ended = w.log("membership_expired").await;
    assert_eq!(ended.len(), 1, "{ended:?}");
    let text: String = sqlx::query_scalar(
        "select rendered_text from communication_log where template_type = 'membership_expired'",
    )
    .fetch_one(&w.owner)
    .await
    .expect("text");
    assert!(text.contains("Your Bronze membership"), "{text}");
    assert!(text.contains("ended on April 1, 2026"), "{text}");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_monthly_status_reaches_every_member_of_a_winery_larger_than_one_page(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let w = World::new(&options, "UTC").await;
    // 2,345 members, written directly: more than two pages of 1,000.
    sqlx::query(
        "with c as (
             insert into customers (client_id, email, first_name, is_club_member)
             select $1, 'member' || n || '@example.com', 'Member', true from generate_series(1, 2345) n
             returning id
         )
         insert into club_enrollments (client_id, customer_id, club_stage_id, enrolled_at, expires_at)
         select $1, c.id, (select id from club_stages where client_id = $1 and name = 'Silver'),
                '2026-03-01T12:00:00Z', '2026-09-01T12:00:00Z'
         from c",
    )
    .bind(w.client().as_uuid())
    .execute(&w.owner)
    .await
    .expect("members");
    let summary = w.job("monthly-status", at("2026-05-01T09:00:00Z")).await;
    assert!(summary.contains("2345 queued"), "{summary}");
    let distinct: i64 = sqlx::query_scalar(
        "select count(distinct customer_id) from communication_log where template_type = 'monthly_status'",
    )
    .fetch_one(&w.owner)
    .await
    .expect("count");
    assert_eq!(distinct, 2345);
}
