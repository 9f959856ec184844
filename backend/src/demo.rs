//! The demo winery: a tenant with a Bronze/Silver/Gold ladder, customers with plausible order
//! history, and enrollments in every state (active, renewed, upgraded, expired, revoked, flagged
//! for review). The default demo (up to [`IMPORT_LIMIT`] customers) generates its history as an
//! order file and replays it through the order importer, the same path as
//! `vinculum import orders`. Benchmark-sized seeds apply the same pure engine (`domain::engine`) in
//! memory and write in batches, so `--customers 1000000` runs in minutes and bounded memory.
//! Deterministic for a given seed.

use crate::auth;
use crate::db::audit::Actor;
use crate::db::{self, clients};
use crate::import::{self, ImportRow};
use crate::members::{self, Ending};
use crate::orders::ClubClient;
use crate::{Error, Result};
use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use domain::Money;
use domain::calendar::parse_time_zone;
use domain::engine::{ClubAction, Membership, StageRule, apply_order};
use domain::ids::{ClientId, CustomerId, StageId};
use domain::orders::OrderStatus;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The demo winery's slug.
pub const DEMO_SLUG: &str = "demo";
/// The demo admin's e-mail address (shown on the login page in demo mode).
pub const DEMO_EMAIL: &str = "demo@vinculum.test";
/// The demo admin's password (shown on the login page in demo mode).
pub const DEMO_PASSWORD: &str = "vinculum-demo";
/// The demo winery's time zone.
pub const DEMO_TIME_ZONE: &str = "America/Los_Angeles";

const BATCH: usize = 2_000;
/// Seeds up to this many customers go through the order importer; larger ones are written in bulk.
pub const IMPORT_LIMIT: usize = 5_000;

/// How to seed.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// The winery's slug ([`DEMO_SLUG`] for the demo; tests seed isolated copies under others).
    pub slug: String,
    pub admin_email: String,
    pub admin_password: String,
    pub customers: usize,
    pub now: DateTime<Utc>,
    /// Delete an existing demo winery first.
    pub reset: bool,
    /// The random seed; the same seed gives the same data.
    pub seed: u64,
}

impl SeedOptions {
    /// The standard demo winery with `customers` customers, as of `now`.
    pub fn demo(customers: usize, now: DateTime<Utc>) -> Self {
        Self {
            slug: DEMO_SLUG.to_owned(),
            admin_email: DEMO_EMAIL.to_owned(),
            admin_password: DEMO_PASSWORD.to_owned(),
            customers,
            now,
            reset: false,
            seed: 42,
        }
    }
}

/// What the seed did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub created: bool,
    pub customers: usize,
    pub orders: usize,
    pub active: usize,
    pub expired: usize,
    pub upgraded: usize,
    pub revoked: usize,
    pub renewals: usize,
    pub flagged: usize,
}

struct Stage {
    id: StageId,
    discount_hundredths: i64,
    rule: StageRule,
}

/// Creates the demo winery unless it exists (or recreates it with `reset`).
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip_all, fields(customers = options.customers))]
pub async fn seed(pool: &PgPool, options: &SeedOptions) -> Result<SeedReport> {
    let zone = parse_time_zone(DEMO_TIME_ZONE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = db::begin_platform(pool).await?;
    if let Some(existing) = clients::find_by_slug(&mut tx, &options.slug).await? {
        if !options.reset {
            return Ok(SeedReport::default());
        }
        clients::delete(&mut tx, existing.id).await?;
    }
    let tenant_shop = format!("{}.sandbox", options.slug);
    let client = clients::insert(
        &mut tx,
        &clients::NewClient {
            slug: &options.slug,
            tenant_shop: &tenant_shop,
            crm_type: "commerce7",
            org_name: "Vinculum Demo Cellars",
            org_contact: Some(&options.admin_email),
            time_zone: DEMO_TIME_ZONE,
            currency: "USD",
        },
    )
    .await?;
    tx.commit().await?;
    let admin_id = auth::upsert_admin(
        pool,
        client,
        &options.admin_email,
        &options.admin_password,
        Some("Demo Admin"),
    )
    .await?;

    let mut tx = db::begin_scoped(pool, client).await?;
    let stages = create_club(&mut tx, client).await?;
    sqlx::query!(
        "insert into loyalty_point_rules (client_id) values ($1)",
        client.as_uuid()
    )
    .execute(&mut *tx)
    .await?;
    create_rewards(&mut tx, client).await?;
    sqlx::query!(
        r#"insert into communication_configs
               (client_id, email_provider, sms_provider, email_from_address, email_from_name, postal_address)
           values ($1, 'sandbox', 'sandbox', 'club@demo-cellars.example', 'Vinculum Demo Cellars',
                   '1 Vineyard Lane, Napa, CA 94558')"#,
        client.as_uuid()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    let report = if options.customers <= IMPORT_LIMIT {
        let admin = auth::Admin {
            user_id: admin_id,
            client_id: client,
            email: options.admin_email.clone(),
            display_name: Some("Demo Admin".to_owned()),
            role: auth::Role::Owner,
            org_name: "Vinculum Demo Cellars".to_owned(),
            currency: "USD".to_owned(),
            time_zone: DEMO_TIME_ZONE.to_owned(),
        };
        seed_through_importer(pool, &admin, options).await?
    } else {
        seed_in_bulk(pool, client, &stages, zone, options).await?
    };
    crate::analytics::refresh(pool, client, options.now, true).await?;
    tracing::info!(?report, "demo winery seeded");
    Ok(report)
}

/// The default demo: the history is generated as an order file and replayed through the importer
/// (the same path as `vinculum import orders`); then a few qualifying orders are refunded, which
/// flags their memberships (D4), and a third of those are revoked by the demo admin.
async fn seed_through_importer(
    pool: &PgPool,
    admin: &auth::Admin,
    options: &SeedOptions,
) -> Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut rows = Vec::new();
    for n in 0..options.customers {
        let Profile {
            first, last, times, ..
        } = profile(&mut rng, options.now, REPEATS);
        for t in times {
            let sub = subtotal(&mut rng);
            let (tax, shipping) = (sub * 8 / 100, if sub >= 15_000 { 0 } else { 1_500 });
            rows.push(ImportRow {
                line: rows.len() + 2,
                order_id: format!("DEMO-{:07}", rows.len() + 1),
                email: email_of(first, last, n),
                first_name: Some(first.to_owned()),
                last_name: Some(last.to_owned()),
                placed_at: t,
                subtotal: sub,
                discount: 0,
                tax,
                shipping,
                total: sub + tax + shipping,
                status: OrderStatus::Paid,
            });
        }
    }
    for (days_ago, sub, discount) in PORTAL_MEMBER_ORDERS {
        rows.push(ImportRow {
            line: rows.len() + 2,
            order_id: format!("DEMO-{:07}", rows.len() + 1),
            email: PORTAL_MEMBER_EMAIL.to_owned(),
            first_name: Some("Avery".to_owned()),
            last_name: Some("Member".to_owned()),
            placed_at: options.now - Duration::days(days_ago),
            subtotal: sub,
            discount,
            tax: (sub - discount) * 8 / 100,
            shipping: 0,
            total: (sub - discount) * 108 / 100,
            status: OrderStatus::Paid,
        });
    }
    rows.sort_by_key(|r| r.placed_at);
    let club = ClubClient::load(pool, admin.client_id).await?;
    let actor = Actor::System {
        job: "demo seed".to_owned(),
    };
    import::run(pool, &club, &rows, &actor, options.now, true).await?;

    // Refund every twentieth qualifying order of a current membership.
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let qualifying: Vec<String> = sqlx::query_scalar!(
        r#"select o.crm_id from club_enrollments e join orders o on o.client_id = e.client_id and o.id = e.qualifying_order_id
           where e.client_id = $1 and e.status = 'active' order by o.crm_id"#,
        admin.client_id.as_uuid()
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let refunds: Vec<ImportRow> = qualifying
        .iter()
        .step_by(20)
        .filter_map(|id| rows.iter().find(|r| &r.order_id == id))
        .filter(|r| r.email != PORTAL_MEMBER_EMAIL)
        .map(|r| ImportRow {
            status: OrderStatus::Refunded,
            ..r.clone()
        })
        .collect();
    import::run(pool, &club, &refunds, &actor, options.now, true).await?;
    for (i, (_, enrollment)) in members::flagged(pool, admin).await?.into_iter().enumerate() {
        if i % 3 == 0 {
            members::end(
                pool,
                admin,
                enrollment.id,
                Ending::Revoke,
                "Qualifying order refunded",
                options.now,
            )
            .await?;
        }
    }
    portal_member_texts(pool, admin.client_id, options.now).await?;
    count(pool, admin.client_id, options.customers).await
}

/// The demo's portal member, who signs in at `/m/<slug>` with this address.
pub const PORTAL_MEMBER_EMAIL: &str = "member@example.com";

/// Days ago, subtotal and discount (cents) of the portal member's orders: a Silver member for
/// about 18 months (the first order joins at full price; later ones get the 15% discount),
/// renewed before every expiry, earning points on the last two orders (220 + 180 = 400 points).
const PORTAL_MEMBER_ORDERS: [(i64, i64, i64); 5] = [
    (560, 16_000, 0),
    (400, 20_000, 3_000),
    (250, 19_500, 2_925),
    (100, 25_900, 3_885),
    (20, 21_200, 3_180),
];

/// The portal member agreed to texts when they joined (so the portal can show turning them off).
async fn portal_member_texts(pool: &PgPool, client: ClientId, now: DateTime<Utc>) -> Result<()> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let customer = sqlx::query_scalar!(
        "update customers set phone = '+15555550123' where client_id = $1 and email = $2 returning id",
        client.as_uuid(),
        PORTAL_MEMBER_EMAIL
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(customer) = customer {
        let consent = crate::comms::preferences::consent_text("Vinculum Demo Cellars");
        crate::comms::callbacks::sms_opt_in(
            &mut tx,
            client,
            CustomerId::new(customer),
            "+15555550123",
            "signup_form",
            &consent,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What the winery holds now, for the report.
async fn count(pool: &PgPool, client: ClientId, customers: usize) -> Result<SeedReport> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let row = sqlx::query!(
        r#"select
               (select count(*) from orders where client_id = $1) as "orders!",
               (select count(*) from club_enrollments where client_id = $1 and status = 'active') as "active!",
               (select count(*) from club_enrollments where client_id = $1 and status = 'expired') as "expired!",
               (select count(*) from club_enrollments where client_id = $1 and status = 'upgraded') as "upgraded!",
               (select count(*) from club_enrollments where client_id = $1 and status = 'revoked') as "revoked!",
               (select count(*) from club_enrollments where client_id = $1 and flagged_at is not null) as "flagged!",
               (select count(*) from club_extensions where client_id = $1 and extension_type = 'renewal') as "renewals!""#,
        client.as_uuid()
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let n = |v: i64| usize::try_from(v).unwrap_or(0);
    Ok(SeedReport {
        created: true,
        customers,
        orders: n(row.orders),
        active: n(row.active),
        expired: n(row.expired),
        upgraded: n(row.upgraded),
        revoked: n(row.revoked),
        renewals: n(row.renewals),
        flagged: n(row.flagged),
    })
}

/// Benchmark-sized seeds: the same pure engine (`domain::engine`) applied in memory, written in
/// batches with `unnest` inserts, so a million customers take minutes, not hours.
async fn seed_in_bulk(
    pool: &PgPool,
    client: ClientId,
    stages: &[Stage],
    zone: Tz,
    options: &SeedOptions,
) -> Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut report = SeedReport {
        created: true,
        ..SeedReport::default()
    };
    let mut next_order = 1usize;
    let mut start = 0;
    while start < options.customers {
        let count = BATCH.min(options.customers - start);
        let batch = generate(
            &mut rng,
            stages,
            zone,
            options.now,
            start,
            count,
            &mut next_order,
        );
        let mut tx = db::begin_scoped(pool, client).await?;
        insert_batch(&mut tx, client, &batch).await?;
        tx.commit().await?;
        report.customers += count;
        report.orders += batch.orders.len();
        report.renewals += batch
            .extensions
            .iter()
            .filter(|x| x.kind == "renewal")
            .count();
        for e in &batch.enrollments {
            match e.status {
                "active" => report.active += 1,
                "expired" => report.expired += 1,
                "upgraded" => report.upgraded += 1,
                _ => report.revoked += 1,
            }
            report.flagged += usize::from(e.flag_reason.is_some());
        }
        start += count;
    }
    Ok(report)
}

async fn create_club(conn: &mut PgConnection, client: ClientId) -> Result<Vec<Stage>> {
    let program = sqlx::query_scalar!(
        r#"insert into club_programs (client_id, name, description)
           values ($1, 'Founders'' Circle', 'Buy once to join. Every qualifying order renews your membership; a bigger one moves you up the ladder.')
           returning id"#,
        client.as_uuid()
    )
    .fetch_one(&mut *conn)
    .await?;
    let ladder: [(&'static str, i64, u32, i64); 3] = [
        ("Bronze", 1_000, 3, 7_500),
        ("Silver", 1_500, 6, 15_000),
        ("Gold", 2_000, 12, 30_000),
    ];
    let mut stages = Vec::with_capacity(ladder.len());
    for (order, (name, discount_hundredths, months, min_cents)) in (1u32..).zip(ladder) {
        let id = sqlx::query_scalar!(
            r#"insert into club_stages (client_id, club_program_id, name, discount_percentage, duration_months,
                                        min_purchase_amount_cents, stage_order)
               values ($1, $2, $3, $4::int8 / 100.0, $5, $6, $7) returning id"#,
            client.as_uuid(),
            program,
            name,
            discount_hundredths,
            i32::try_from(months).unwrap_or(1),
            min_cents,
            i32::try_from(order).unwrap_or(1)
        )
        .fetch_one(&mut *conn)
        .await?;
        let id = StageId::new(id);
        stages.push(Stage {
            id,
            discount_hundredths,
            rule: StageRule {
                id,
                order,
                duration_months: months,
                min_purchase: Money::from_cents(min_cents),
                is_active: true,
            },
        });
    }
    Ok(stages)
}

struct CustomerRow {
    id: Uuid,
    email: String,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    is_club_member: bool,
    cumulative_days: i32,
    created_at: DateTime<Utc>,
}

struct OrderRow {
    id: Uuid,
    crm_id: String,
    customer_id: Uuid,
    placed_at: DateTime<Utc>,
    subtotal: i64,
    discount: i64,
    tax: i64,
    shipping: i64,
    qualifying: i64,
    status: &'static str,
    refunded: i64,
    /// Whether the customer held a membership when the order came (see `orders.by_member`).
    by_member: bool,
}

struct EnrollmentRow {
    id: Uuid,
    customer_id: Uuid,
    stage_id: Uuid,
    /// When the row began (a join, or the upgrade); renewals move `enrolled_at`, never this.
    started_at: DateTime<Utc>,
    enrolled_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    order_id: Option<Uuid>,
    status: &'static str,
    ended_at: Option<DateTime<Utc>>,
    end_reason: Option<&'static str>,
    flag_reason: Option<&'static str>,
    flagged_at: Option<DateTime<Utc>>,
}

struct ExtensionRow {
    enrollment_id: Uuid,
    from_stage: Uuid,
    to_stage: Uuid,
    order_id: Uuid,
    kind: &'static str,
    at: DateTime<Utc>,
    previous_enrolled_at: DateTime<Utc>,
    previous_expires_at: DateTime<Utc>,
    new_expires_at: DateTime<Utc>,
}

#[derive(Default)]
struct Batch {
    customers: Vec<CustomerRow>,
    orders: Vec<OrderRow>,
    enrollments: Vec<EnrollmentRow>,
    extensions: Vec<ExtensionRow>,
}

const FIRST_NAMES: &[&str] = &[
    "Ava", "Ben", "Chloe", "Diego", "Elena", "Felix", "Grace", "Hiro", "Isla", "Jonah", "Kira",
    "Liam", "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rosa", "Sam", "Tess", "Uma", "Victor",
    "Wren", "Xavier", "Yara", "Zoe",
];
const LAST_NAMES: &[&str] = &[
    "Alvarez", "Bennett", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi", "Schmidt",
    "Tanaka", "Novak", "Walsh", "Young",
];

/// A customer of the demo: a name, when they first bought, and when they ordered since.
struct Profile {
    first: &'static str,
    last: &'static str,
    joined: DateTime<Utc>,
    times: Vec<DateTime<Utc>>,
}

/// Repeat orders per customer of the importer-sized demo: 0 to 8, about four on average.
const REPEATS: std::ops::Range<usize> = 0..9;
/// Repeat orders per customer of a bulk seed: 0 to 10, so a million customers place about five
/// million orders (issue 7's scale).
const BULK_REPEATS: std::ops::Range<usize> = 0..11;

fn profile(rng: &mut StdRng, now: DateTime<Utc>, repeats: std::ops::Range<usize>) -> Profile {
    let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
    let joined = now - Duration::days(rng.gen_range(30..900));
    let mut times: Vec<DateTime<Utc>> = (0..rng.gen_range(repeats))
        .map(|_| joined + Duration::minutes(rng.gen_range(0..(now - joined).num_minutes().max(1))))
        .collect();
    times.sort();
    Profile {
        first,
        last,
        joined,
        times,
    }
}

fn email_of(first: &str, last: &str, n: usize) -> String {
    format!(
        "{}.{}.{n}@example.com",
        first.to_lowercase(),
        last.to_lowercase()
    )
}

/// A plausible order subtotal in cents: mostly modest, sometimes a case or a big celebration.
fn subtotal(rng: &mut StdRng) -> i64 {
    let dollars = match rng.gen_range(0..100) {
        0..=29 => rng.gen_range(20..75),
        30..=64 => rng.gen_range(75..150),
        65..=89 => rng.gen_range(150..300),
        _ => rng.gen_range(300..700),
    };
    dollars * 100 + rng.gen_range(0..100)
}

fn generate(
    rng: &mut StdRng,
    stages: &[Stage],
    zone: Tz,
    now: DateTime<Utc>,
    offset: usize,
    count: usize,
    next_order: &mut usize,
) -> Batch {
    let rules: Vec<StageRule> = stages.iter().map(|s| s.rule.clone()).collect();
    let mut batch = Batch::default();
    let mut members_seen = 0usize;
    for n in offset..offset + count {
        let Profile {
            first,
            last,
            joined,
            times,
        } = profile(rng, now, BULK_REPEATS);
        let customer_id = Uuid::new_v4();

        let mut current: Option<(usize, Membership)> = None; // index into batch.enrollments
        let mut span_start: Option<DateTime<Utc>> = None;
        let mut banked_days = 0i64;
        for t in times {
            let order_id = Uuid::new_v4();
            let sub = subtotal(rng);
            // D7: a member at checkout gets the stage's discount from the CRM.
            let discount = current
                .as_ref()
                .filter(|(_, m)| t < m.expires_at)
                .and_then(|(_, m)| stages.iter().find(|s| s.id == m.stage))
                .map_or(0, |s| sub * s.discount_hundredths / 10_000);
            let qualifying = sub - discount;
            let shipping = if qualifying >= 15_000 { 0 } else { 1_500 };
            let tax = qualifying * 8 / 100;
            batch.orders.push(OrderRow {
                id: order_id,
                crm_id: format!("DEMO-{:07}", *next_order),
                customer_id,
                placed_at: t,
                subtotal: sub,
                discount,
                tax,
                shipping,
                qualifying,
                status: OrderStatus::Paid.as_str(),
                refunded: 0,
                by_member: false,
            });
            *next_order += 1;

            let decision = apply_order(
                current.as_ref().map(|(_, m)| m),
                &rules,
                true,
                Money::from_cents(qualifying),
                t,
                zone,
            );
            if let Some(order) = batch.orders.last_mut() {
                order.by_member = current.is_some() && !decision.expire_stale;
            }
            if decision.expire_stale {
                expire_current(&mut batch, &mut current, &mut span_start, &mut banked_days);
            }
            match decision.action {
                ClubAction::NoChange => {}
                ClubAction::Enroll {
                    stage,
                    enrolled_at,
                    expires_at,
                } => {
                    span_start = Some(enrolled_at);
                    batch.enrollments.push(EnrollmentRow {
                        id: Uuid::new_v4(),
                        customer_id,
                        stage_id: stage.as_uuid(),
                        started_at: enrolled_at,
                        enrolled_at,
                        expires_at,
                        order_id: Some(order_id),
                        status: "active",
                        ended_at: None,
                        end_reason: None,
                        flag_reason: None,
                        flagged_at: None,
                    });
                    current = Some((
                        batch.enrollments.len() - 1,
                        Membership {
                            stage,
                            enrolled_at,
                            expires_at,
                        },
                    ));
                }
                ClubAction::Renew {
                    stage,
                    enrolled_at,
                    expires_at,
                } => {
                    if let Some((index, m)) = current.as_mut() {
                        let row = &mut batch.enrollments[*index];
                        batch.extensions.push(ExtensionRow {
                            enrollment_id: row.id,
                            from_stage: stage.as_uuid(),
                            to_stage: stage.as_uuid(),
                            order_id,
                            kind: "renewal",
                            at: t,
                            previous_enrolled_at: row.enrolled_at,
                            previous_expires_at: row.expires_at,
                            new_expires_at: expires_at,
                        });
                        row.enrolled_at = enrolled_at;
                        row.expires_at = expires_at;
                        row.order_id = Some(order_id);
                        *m = Membership {
                            stage,
                            enrolled_at,
                            expires_at,
                        };
                    }
                }
                ClubAction::Upgrade {
                    from,
                    to,
                    enrolled_at,
                    expires_at,
                } => {
                    if let Some((index, m)) = current.take() {
                        let old = &mut batch.enrollments[index];
                        old.status = "upgraded";
                        old.ended_at = Some(t);
                        old.end_reason = Some("upgraded");
                        let new_id = Uuid::new_v4();
                        batch.extensions.push(ExtensionRow {
                            enrollment_id: new_id,
                            from_stage: from.as_uuid(),
                            to_stage: to.as_uuid(),
                            order_id,
                            kind: "upgrade",
                            at: t,
                            previous_enrolled_at: m.enrolled_at,
                            previous_expires_at: m.expires_at,
                            new_expires_at: expires_at,
                        });
                        batch.enrollments.push(EnrollmentRow {
                            id: new_id,
                            customer_id,
                            stage_id: to.as_uuid(),
                            started_at: t,
                            enrolled_at,
                            expires_at,
                            order_id: Some(order_id),
                            status: "active",
                            ended_at: None,
                            end_reason: None,
                            flag_reason: None,
                            flagged_at: None,
                        });
                        current = Some((
                            batch.enrollments.len() - 1,
                            Membership {
                                stage: to,
                                enrolled_at,
                                expires_at,
                            },
                        ));
                    }
                }
            }
        }
        // The daily job has expired whatever ran out before now.
        if current.as_ref().is_some_and(|(_, m)| m.expires_at <= now) {
            expire_current(&mut batch, &mut current, &mut span_start, &mut banked_days);
        }
        // A few active memberships whose qualifying order was later refunded: one revoked by the
        // admin, the others flagged for review (decisions D4).
        if let Some((index, _)) = current.as_ref() {
            members_seen += 1;
            let row = &mut batch.enrollments[*index];
            if members_seen % 30 == 7 {
                // Revoked now: after every order of the history, which it was a member for.
                row.status = "revoked";
                row.ended_at = Some(now);
                row.end_reason = Some("Revoked by the winery: qualifying order refunded");
                mark_refunded(&mut batch.orders, row.order_id);
                current = None;
                span_start = None;
            } else if members_seen % 20 == 3 {
                row.flag_reason = Some("Qualifying order refunded");
                row.flagged_at = Some(now - Duration::days(2));
                mark_refunded(&mut batch.orders, row.order_id);
            }
        }
        let live_days = span_start.map_or(0, |s| (now - s).num_days());
        batch.customers.push(CustomerRow {
            id: customer_id,
            email: email_of(first, last, n),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            phone: (n % 3 == 0).then(|| format!("+1707555{:04}", n % 10_000)),
            is_club_member: current.is_some(),
            cumulative_days: i32::try_from(banked_days + live_days).unwrap_or(i32::MAX),
            created_at: joined,
        });
    }
    batch
}

/// Expires the current membership at its `expires_at`, banking the span's whole days (D10).
fn expire_current(
    batch: &mut Batch,
    current: &mut Option<(usize, Membership)>,
    span: &mut Option<DateTime<Utc>>,
    banked: &mut i64,
) {
    if let Some((index, m)) = current.take() {
        let row = &mut batch.enrollments[index];
        row.status = "expired";
        row.ended_at = Some(m.expires_at);
        row.end_reason = Some("expired");
        if let Some(start) = span.take() {
            *banked += (m.expires_at - start).num_days();
        }
    }
}

fn mark_refunded(orders: &mut [OrderRow], order: Option<Uuid>) {
    if let Some(o) = orders.iter_mut().find(|o| Some(o.id) == order) {
        o.status = OrderStatus::Refunded.as_str();
        o.refunded = o.subtotal - o.discount + o.tax + o.shipping;
    }
}

async fn insert_batch(conn: &mut PgConnection, client: ClientId, batch: &Batch) -> Result<()> {
    let c = &batch.customers;
    sqlx::query!(
        r#"insert into customers (id, client_id, email, first_name, last_name, phone, is_club_member,
                                  cumulative_membership_days, loyalty_progress_days, created_at)
           select id, $1, email, first_name, last_name, phone, member, days, days, created
           from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::int4[], $9::timestamptz[])
                as t(id, email, first_name, last_name, phone, member, days, created)"#,
        client.as_uuid(),
        &c.iter().map(|r| r.id).collect::<Vec<_>>(),
        &c.iter().map(|r| r.email.clone()).collect::<Vec<_>>(),
        &c.iter().map(|r| r.first_name.clone()).collect::<Vec<_>>(),
        &c.iter().map(|r| r.last_name.clone()).collect::<Vec<_>>(),
        &c.iter().map(|r| r.phone.clone()) .collect::<Vec<Option<String>>>() as &[Option<String>],
        &c.iter().map(|r| r.is_club_member).collect::<Vec<_>>(),
        &c.iter().map(|r| r.cumulative_days).collect::<Vec<_>>(),
        &c.iter().map(|r| r.created_at).collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .context("inserting demo customers")?;

    let o = &batch.orders;
    sqlx::query!(
        r#"insert into orders (id, client_id, crm_id, customer_id, placed_at, paid_at, subtotal_cents, discount_cents,
                               tax_cents, shipping_cents, total_cents, qualifying_amount_cents, refunded_cents,
                               status, processed_at, source, by_member)
           select id, $1, crm_id, customer_id, placed, placed, sub, disc, tax, ship, sub - disc + tax + ship, qual,
                  refunded, status, placed, 'demo', by_member
           from unnest($2::uuid[], $3::text[], $4::uuid[], $5::timestamptz[], $6::int8[], $7::int8[], $8::int8[],
                       $9::int8[], $10::int8[], $11::text[], $12::int8[], $13::bool[])
                as t(id, crm_id, customer_id, placed, sub, disc, tax, ship, qual, status, refunded, by_member)"#,
        client.as_uuid(),
        &o.iter().map(|r| r.id).collect::<Vec<_>>(),
        &o.iter().map(|r| r.crm_id.clone()).collect::<Vec<_>>(),
        &o.iter().map(|r| r.customer_id).collect::<Vec<_>>(),
        &o.iter().map(|r| r.placed_at).collect::<Vec<_>>(),
        &o.iter().map(|r| r.subtotal).collect::<Vec<_>>(),
        &o.iter().map(|r| r.discount).collect::<Vec<_>>(),
        &o.iter().map(|r| r.tax).collect::<Vec<_>>(),
        &o.iter().map(|r| r.shipping).collect::<Vec<_>>(),
        &o.iter().map(|r| r.qualifying).collect::<Vec<_>>(),
        &o.iter().map(|r| r.status.to_owned()).collect::<Vec<_>>(),
        &o.iter().map(|r| r.refunded).collect::<Vec<_>>(),
        &o.iter().map(|r| r.by_member).collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .context("inserting demo orders")?;

    let e = &batch.enrollments;
    sqlx::query!(
        r#"insert into club_enrollments (id, client_id, customer_id, club_stage_id, enrolled_at, expires_at,
                                         qualifying_order_id, status, ended_at, end_reason, flagged_at, flag_reason,
                                         synced_to_crm, crm_sync_at, started_at)
           select id, $1, customer_id, stage_id, enrolled, expires, order_id, status, ended, reason, flagged, flag,
                  true, enrolled, started
           from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::timestamptz[], $7::uuid[],
                       $8::text[], $9::timestamptz[], $10::text[], $11::timestamptz[], $12::text[], $13::timestamptz[])
                as t(id, customer_id, stage_id, enrolled, expires, order_id, status, ended, reason, flagged, flag, started)"#,
        client.as_uuid(),
        &e.iter().map(|r| r.id).collect::<Vec<_>>(),
        &e.iter().map(|r| r.customer_id).collect::<Vec<_>>(),
        &e.iter().map(|r| r.stage_id).collect::<Vec<_>>(),
        &e.iter().map(|r| r.enrolled_at).collect::<Vec<_>>(),
        &e.iter().map(|r| r.expires_at).collect::<Vec<_>>(),
        &e.iter().map(|r| r.order_id).collect::<Vec<Option<Uuid>>>() as &[Option<Uuid>],
        &e.iter().map(|r| r.status.to_owned()).collect::<Vec<_>>(),
        &e.iter().map(|r| r.ended_at).collect::<Vec<Option<DateTime<Utc>>>>() as &[Option<DateTime<Utc>>],
        &e.iter().map(|r| r.end_reason.map(str::to_owned)).collect::<Vec<Option<String>>>() as &[Option<String>],
        &e.iter().map(|r| r.flagged_at).collect::<Vec<Option<DateTime<Utc>>>>() as &[Option<DateTime<Utc>>],
        &e.iter().map(|r| r.flag_reason.map(str::to_owned)).collect::<Vec<Option<String>>>() as &[Option<String>],
        &e.iter().map(|r| r.started_at).collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .context("inserting demo enrollments")?;

    let x = &batch.extensions;
    sqlx::query!(
        r#"insert into club_extensions (client_id, enrollment_id, extended_from_stage_id, extended_to_stage_id, order_id,
                                        extension_type, extended_at, previous_enrolled_at, previous_expires_at,
                                        new_expires_at)
           select $1, enrollment_id, from_stage, to_stage, order_id, kind, at, prev_enrolled, prev_expires, new_expires
           from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::timestamptz[],
                       $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
                as t(enrollment_id, from_stage, to_stage, order_id, kind, at, prev_enrolled, prev_expires, new_expires)"#,
        client.as_uuid(),
        &x.iter().map(|r| r.enrollment_id).collect::<Vec<_>>(),
        &x.iter().map(|r| r.from_stage).collect::<Vec<_>>(),
        &x.iter().map(|r| r.to_stage).collect::<Vec<_>>(),
        &x.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        &x.iter().map(|r| r.kind.to_owned()).collect::<Vec<_>>(),
        &x.iter().map(|r| r.at).collect::<Vec<_>>(),
        &x.iter().map(|r| r.previous_enrolled_at).collect::<Vec<_>>(),
        &x.iter().map(|r| r.previous_expires_at).collect::<Vec<_>>(),
        &x.iter().map(|r| r.new_expires_at).collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .context("inserting demo extensions")?;
    Ok(())
}

/// The id of the winery seeded under `slug`.
///
/// # Errors
/// No such winery.
pub async fn demo_client(pool: &PgPool, slug: &str) -> Result<ClientId> {
    let mut tx = db::begin_platform(pool).await?;
    let client = clients::find_by_slug(&mut tx, slug)
        .await?
        .ok_or(Error::NotFound {
            what: "demo winery",
        })?;
    tx.commit().await?;
    Ok(client.id)
}

/// The names of the demo ladder, bottom to top.
pub fn demo_stage_names() -> [&'static str; 3] {
    ["Bronze", "Silver", "Gold"]
}

/// A small rewards catalog, so the loyalty page has something to show.
async fn create_rewards(conn: &mut PgConnection, client: ClientId) -> Result<()> {
    let catalog = [
        (
            "merchandise",
            "Winery corkscrew",
            "A waiter's friend with the winery's crest.",
            "300",
            "",
        ),
        (
            "tasting",
            "Library tasting for two",
            "Six older vintages, poured in the cellar.",
            "1500",
            "20",
        ),
        (
            "event",
            "Harvest dinner seat",
            "A seat at the long table in the vineyard.",
            "4000",
            "12",
        ),
    ];
    for (kind, name, description, points, stock) in catalog {
        let values = domain::loyalty::RewardValues::parse(
            kind,
            name,
            description,
            "",
            points,
            stock,
            "",
            None,
            None,
        )
        .map_err(|p| Error::invalid(p.field, p.message))?;
        db::loyalty::insert_reward(conn, client, &values).await?;
    }
    Ok(())
}
