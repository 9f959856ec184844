//! The member portal against a real database: magic links (used, expired, forged, another
//! winery's), the same answer for unknown addresses, the rate limits under a burst of concurrent
//! requests, the status page's renew and upgrade amounts, redemptions with too few points, and
//! members who can never reach another member's or another winery's data.

mod common;

use backend::comms::links;
use backend::db::audit::Actor;
use backend::orders::{ClubClient, process_order};
use backend::{Error, portal};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

struct World {
    pool: PgPool,
    owner: PgPool,
    club: ClubClient,
    slug: String,
    next: usize,
}

impl World {
    async fn new(options: &PgConnectOptions) -> Self {
        let pool = common::app_pool(options).await;
        let owner = common::owner_pool(options).await;
        let club = common::club_winery(&pool, &owner, "UTC").await;
        sqlx::query(
            "insert into communication_configs (client_id, email_provider, sms_provider, email_from_address, postal_address)
             values ($1, 'sandbox', 'sandbox', 'club@example.com', '1 Vineyard Lane, Napa')",
        )
        .bind(club.id.as_uuid())
        .execute(&owner)
        .await
        .expect("config");
        let slug = sqlx::query_scalar("select slug from clients where id = $1")
            .bind(club.id.as_uuid())
            .fetch_one(&owner)
            .await
            .expect("slug");
        Self {
            pool,
            owner,
            club,
            slug,
            next: 1,
        }
    }

    async fn order(&mut self, email: &str, when: DateTime<Utc>, dollars: i64) {
        let event = common::paid_order(&format!("O{}", self.next), email, when, dollars * 100);
        self.next += 1;
        let actor = Actor::Webhook {
            provider: "test".to_owned(),
        };
        process_order(&self.pool, &self.club, &event, &actor, when)
            .await
            .expect("processed");
    }

    /// The sign-in tokens e-mailed to `email`, oldest first.
    async fn tokens(&self, email: &str) -> Vec<String> {
        let texts: Vec<String> = sqlx::query_scalar(
            "select rendered_text from communication_log
             where client_id = $1 and template_type = 'portal_sign_in' and to_address = $2 order by created_at",
        )
        .bind(self.club.id.as_uuid())
        .bind(email)
        .fetch_all(&self.owner)
        .await
        .expect("log");
        texts
            .iter()
            .map(|t| {
                let start = t.find("token=").expect("a link in the e-mail") + "token=".len();
                t[start..]
                    .split_whitespace()
                    .next()
                    .expect("token")
                    .to_owned()
            })
            .collect()
    }

    /// Asks for a link for `email` and returns its token from the outbox.
    async fn link(&self, email: &str, now: DateTime<Utc>) -> String {
        portal::request_link(&self.pool, &self.slug, email, "10.0.0.1", now)
            .await
            .expect("link requested");
        self.tokens(&email.trim().to_lowercase())
            .await
            .pop()
            .expect("a link was sent")
    }

    /// The member a session cookie names at the portal `slug`.
    async fn session(
        &self,
        slug: &str,
        session: &str,
        now: DateTime<Utc>,
    ) -> Option<portal::Member> {
        let winery = portal::winery(&self.pool, slug).await.expect("winery");
        portal::authenticate(&self.pool, &winery, session, now)
            .await
            .expect("query")
    }

    async fn sign_in(&self, email: &str, now: DateTime<Utc>) -> (String, portal::Member) {
        let token = self.link(email, now).await;
        let (session, member) = portal::sign_in(&self.pool, &self.slug, &token, now)
            .await
            .expect("signed in");
        (session.expose().to_owned(), member)
    }
}

fn invalid_message(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Invalid(invalid)) => invalid.message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_link_signs_in_once_and_never_after_it_is_used_or_expired(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let now = at("2026-06-01T12:00:00Z");
    w.order("ann@example.com", now - Duration::days(10), 160)
        .await;
    let token = w.link(" Ann@Example.com ", now).await;
    // The e-mail went through the winery's (sandbox) provider with a link to this winery.
    let (status, text): (String, String) = sqlx::query_as(
        "select status, rendered_text from communication_log where template_type = 'portal_sign_in'",
    )
    .fetch_one(&w.owner)
    .await
    .expect("message");
    assert_eq!(status, "queued");
    assert!(
        text.contains(&format!("/m/{}/sign-in?token=", w.slug)),
        "{text}"
    );

    let (session, member) = portal::sign_in(&w.pool, &w.slug, &token, now + Duration::minutes(29))
        .await
        .expect("a fresh link signs in");
    let found = w
        .session(&w.slug, session.expose(), now)
        .await
        .expect("the session names the member");
    assert_eq!(found.customer, member.customer);

    // Used.
    let again = portal::sign_in(&w.pool, &w.slug, &token, now + Duration::minutes(1)).await;
    assert!(invalid_message(again).contains("already been used"));
    // Expired: 30 minutes is the limit.
    let late = w.link("ann@example.com", now).await;
    let expired = portal::sign_in(&w.pool, &w.slug, &late, now + Duration::minutes(30)).await;
    assert!(invalid_message(expired).contains("expired"));
    // Signing out ends the session.
    portal::sign_out(&w.pool, &member, session.expose())
        .await
        .expect("signed out");
    assert!(w.session(&w.slug, session.expose(), now).await.is_none());
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn forged_tampered_and_other_wineries_links_are_refused(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let now = at("2026-06-01T12:00:00Z");
    w.order("ann@example.com", now - Duration::days(10), 160)
        .await;
    let token = w.link("ann@example.com", now).await;
    let (_, link) = links::verify_sign_in(&backend::comms::runtime().link_key, &token)
        .expect("our own token verifies");

    // The same link row, signed with another key.
    let forged = links::sign_in_token(&[7u8; 32], w.club.id, link);
    assert!(
        invalid_message(portal::sign_in(&w.pool, &w.slug, &forged, now).await)
            .contains("not valid")
    );
    // One character changed.
    let mut tampered = token.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    assert!(
        invalid_message(portal::sign_in(&w.pool, &w.slug, &tampered, now).await)
            .contains("not valid")
    );
    assert!(
        invalid_message(portal::sign_in(&w.pool, &w.slug, "garbage", now).await)
            .contains("not valid")
    );
    // Another winery's portal.
    let other = common::make_client(&w.pool, "Other Cellars").await;
    let other_slug: String = sqlx::query_scalar("select slug from clients where id = $1")
        .bind(other.as_uuid())
        .fetch_one(&w.owner)
        .await
        .expect("slug");
    assert!(
        invalid_message(portal::sign_in(&w.pool, &other_slug, &token, now).await)
            .contains("not valid")
    );
    // None of that spent the real link.
    portal::sign_in(&w.pool, &w.slug, &token, now)
        .await
        .expect("the genuine link still works");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn unknown_and_malformed_addresses_get_the_same_answer_or_a_clear_error(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let w = World::new(&options).await;
    let now = at("2026-06-01T12:00:00Z");
    portal::request_link(&w.pool, &w.slug, "nobody@example.com", "10.0.0.1", now)
        .await
        .expect("an unknown address gets the same answer");
    let sent: i64 = sqlx::query_scalar("select count(*) from communication_log")
        .fetch_one(&w.owner)
        .await
        .expect("count");
    assert_eq!(sent, 0, "nothing is sent to an unknown address");
    let bad = portal::request_link(&w.pool, &w.slug, "not-an-address", "10.0.0.1", now).await;
    assert!(invalid_message(bad).contains("e-mail address"));
    let counted: i64 = sqlx::query_scalar("select count(*) from portal_link_requests")
        .fetch_one(&w.owner)
        .await
        .expect("count");
    assert_eq!(counted, 1, "a malformed address is not counted");
    assert!(matches!(
        portal::request_link(
            &w.pool,
            "no-such-winery",
            "ann@example.com",
            "10.0.0.1",
            now
        )
        .await,
        Err(Error::NotFound { .. })
    ));
}

/// Fires `n` requests at once and counts the accepted ones.
async fn burst(
    w: &World,
    n: usize,
    email: impl Fn(usize) -> String,
    ip: impl Fn(usize) -> String,
) -> usize {
    let now = at("2026-06-01T12:00:00Z");
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (pool, slug, email, ip) = (w.pool.clone(), w.slug.clone(), email(i), ip(i));
            tokio::spawn(async move { portal::request_link(&pool, &slug, &email, &ip, now).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("joined") {
            Ok(()) => accepted += 1,
            Err(Error::RateLimited { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    accepted
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_rate_limits_hold_under_a_hundred_concurrent_requests(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    w.order("ann@example.com", at("2026-05-20T12:00:00Z"), 160)
        .await;
    // One address from a hundred network addresses: five links, and five e-mails.
    let accepted = burst(
        &w,
        100,
        |_| "ann@example.com".to_owned(),
        |i| format!("10.1.0.{i}"),
    )
    .await;
    assert_eq!(accepted, portal::MAX_REQUESTS_PER_EMAIL as usize);
    assert_eq!(w.tokens("ann@example.com").await.len(), 5);
    // One network address asking for a hundred addresses.
    let accepted = burst(
        &w,
        100,
        |i| format!("guess{i}@example.com"),
        |_| "10.2.0.1".to_owned(),
    )
    .await;
    assert_eq!(accepted, portal::MAX_REQUESTS_PER_IP as usize);
    // The window passes.
    let later = at("2026-06-01T12:16:00Z");
    portal::request_link(&w.pool, &w.slug, "ann@example.com", "10.1.0.1", later)
        .await
        .expect("allowed again after the window");
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_status_page_names_the_renewal_and_upgrade_amounts_and_a_non_member_sees_how_to_join(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let now = at("2026-06-01T12:00:00Z");
    // Silver (15 %, 6 months, $150) from 1 March: expires 1 September.
    w.order("ann@example.com", at("2026-03-01T12:00:00Z"), 160)
        .await;
    w.order("bob@example.com", at("2025-01-01T12:00:00Z"), 80)
        .await;
    let (_, ann) = w.sign_in("ann@example.com", now).await;
    let status = portal::status(&w.pool, &ann, now).await.expect("status");
    let m = status.membership.expect("a member");
    assert_eq!((m.stage.as_str(), m.discount.as_str()), ("Silver", "15%"));
    assert_eq!(m.expires_on, "September 1, 2026");
    assert_eq!(m.days_left, 92);
    assert_eq!(
        m.next.renew.as_deref(),
        Some("Spend $150.00 in one order by September 1, 2026 to renew.")
    );
    assert_eq!(
        m.next.upgrade.as_deref(),
        Some("Spend $300.00 in one order to reach Gold (20%).")
    );
    assert_eq!(status.points.progress_days, 92);
    assert_eq!(status.points.threshold_days, 365);
    assert!(!status.points.earning);

    // Bob's Bronze lapsed long ago.
    let (_, bob) = w.sign_in("bob@example.com", now).await;
    let status = portal::status(&w.pool, &bob, now).await.expect("status");
    assert!(status.membership.is_none());
    assert_eq!(
        status.join,
        [
            "One order of $75.00 or more joins Bronze: 10% off for 3 months.",
            "One order of $150.00 or more joins Silver: 15% off for 6 months.",
            "One order of $300.00 or more joins Gold: 20% off for 12 months.",
        ]
    );
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_redemption_with_too_few_points_is_refused_and_changes_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let now = at("2026-06-01T12:00:00Z");
    w.order("ann@example.com", now - Duration::days(30), 160)
        .await;
    let reward: uuid::Uuid = sqlx::query_scalar(
        "insert into loyalty_rewards (client_id, reward_type, name, points_required)
         values ($1, 'merchandise', 'Corkscrew', 300) returning id",
    )
    .bind(w.club.id.as_uuid())
    .fetch_one(&w.owner)
    .await
    .expect("reward");
    let (_, ann) = w.sign_in("ann@example.com", now).await;
    let refused = portal::redeem(&w.pool, &ann, &reward.to_string(), now).await;
    match refused {
        Err(Error::Conflict(message)) => assert!(message.contains("points"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let redemptions: i64 = sqlx::query_scalar("select count(*) from reward_redemptions")
        .fetch_one(&w.owner)
        .await
        .expect("count");
    assert_eq!(redemptions, 0);
    let rewards = portal::rewards(&w.pool, &ann, now).await.expect("rewards");
    assert_eq!(rewards.rewards.len(), 1);
    assert!(rewards.rewards[0].blocked.is_some(), "the catalog says why");
    // A malformed or unknown reward id.
    assert!(matches!(
        portal::redeem(&w.pool, &ann, "not-a-reward", now).await,
        Err(Error::NotFound { .. })
    ));
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_member_reaches_only_their_own_data_and_never_another_winerys(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let mut w = World::new(&options).await;
    let now = at("2026-06-01T12:00:00Z");
    w.order("ann@example.com", now - Duration::days(30), 160)
        .await;
    w.order("bob@example.com", now - Duration::days(30), 320)
        .await;
    let (ann_session, ann) = w.sign_in("ann@example.com", now).await;
    let status = portal::status(&w.pool, &ann, now).await.expect("status");
    assert_eq!(status.email, "ann@example.com");
    assert_eq!(status.membership.expect("member").stage, "Silver");

    // Another winery, with its own reward.
    let mut other = World::new(&options).await;
    other
        .order("ann@example.com", now - Duration::days(30), 400)
        .await;
    // Ann's session means nothing at the other winery's portal.
    assert!(w.session(&other.slug, &ann_session, now).await.is_none());
    // Nor can she redeem the other winery's reward through her own winery.
    let foreign: uuid::Uuid = sqlx::query_scalar(
        "insert into loyalty_rewards (client_id, reward_type, name, points_required)
         values ($1, 'merchandise', 'Foreign', 1) returning id",
    )
    .bind(other.club.id.as_uuid())
    .fetch_one(&other.owner)
    .await
    .expect("reward");
    assert!(matches!(
        portal::redeem(&w.pool, &ann, &foreign.to_string(), now).await,
        Err(Error::NotFound { .. })
    ));
    let rewards = portal::rewards(&w.pool, &ann, now).await.expect("rewards");
    assert!(rewards.rewards.iter().all(|r| r.name != "Foreign"));
}
