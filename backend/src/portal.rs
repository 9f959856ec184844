//! The member portal (issue 8): sign-in by a single-use e-mailed link, member sessions, and what a
//! signed-in member sees and does (status, rewards and redemptions, messages, savings statement).
//!
//! Rules chosen here:
//! - A link is asked for with an address; the answer is the same whether the address belongs to a
//!   customer or not. A known address gets a `portal_sign_in` e-mail through the winery's own
//!   provider; the link works once, within [`LINK_TTL`].
//! - Opening the link shows a "Sign in" button; the POST spends it. Mail scanners that fetch every
//!   link in an e-mail therefore cannot use it up.
//! - Requests are limited per address ([`MAX_REQUESTS_PER_EMAIL`]) and per network address
//!   ([`MAX_REQUESTS_PER_IP`]) in [`RATE_WINDOW`], counted under advisory locks so a burst of
//!   concurrent requests is counted exactly.
//! - Every query is scoped to the winery (row-level security) and to the session's customer; no
//!   request names a customer.

use crate::auth::{SessionToken, token_hash};
use crate::comms::links;
use crate::db::{self, clients, loyalty as q, portal};
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use domain::EmailAddress;
use domain::Money;
use domain::Percent;
use domain::calendar::parse_time_zone;
use domain::ids::{ClientId, CustomerId};
use domain::loyalty::{RedemptionCheck, check_redemption};
use domain::portal::{
    Branding, HistoryLine, LedgerLine, MembershipView, PointsView, PortalRedemption, PortalReward,
    PortalSettings, RewardsView, StageOffer, StatementView, StatusView,
};
use sqlx::PgPool;
use uuid::Uuid;

/// How long a sign-in link works.
pub const LINK_TTL: Duration = Duration::minutes(30);
/// How long a member stays signed in.
pub const SESSION_TTL: Duration = Duration::days(14);
/// The window the request limits count in.
pub const RATE_WINDOW: Duration = Duration::minutes(15);
/// Links one address may ask for in the window.
pub const MAX_REQUESTS_PER_EMAIL: i64 = 5;
/// Links one network address may ask for in the window (a household or an office shares one).
pub const MAX_REQUESTS_PER_IP: i64 = 20;
/// How long requests are kept for counting.
pub const REQUEST_RETENTION: Duration = Duration::days(1);

/// A winery's portal.
#[derive(Clone, Debug)]
pub struct Winery {
    pub client: ClientId,
    pub zone: Tz,
    pub currency: String,
    pub branding: Branding,
    pub frame_ancestors: Vec<String>,
}

/// The portal of the winery with this slug.
///
/// # Errors
/// [`Error::NotFound`] for an unknown slug (or an uninstalled winery); database failures.
pub async fn winery(pool: &PgPool, slug: &str) -> Result<Winery> {
    let not_found = Error::NotFound { what: "winery" };
    if slug.is_empty() || slug.len() > 100 {
        return Err(not_found);
    }
    let mut tx = db::begin_platform(pool).await?;
    let client = clients::find_by_slug(&mut tx, slug).await?;
    let Some(client) = client.filter(|c| c.status != "uninstalled") else {
        return Err(not_found);
    };
    let row = sqlx::query!(
        "select logo_url, brand_color, portal_frame_ancestors from clients where id = $1",
        client.id.as_uuid()
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Winery {
        client: client.id,
        zone: parse_time_zone(&client.time_zone).unwrap_or(chrono_tz::UTC),
        currency: client.currency,
        branding: Branding {
            slug: client.slug,
            name: client.org_name,
            logo_url: row.logo_url.unwrap_or_default(),
            brand_color: row.brand_color.unwrap_or_default(),
        },
        frame_ancestors: row.portal_frame_ancestors,
    })
}

/// The origins allowed to frame this winery's portal (empty for an unknown slug).
///
/// # Errors
/// Database failures.
pub async fn frame_ancestors(pool: &PgPool, slug: &str) -> Result<Vec<String>> {
    let mut tx = db::begin_platform(pool).await?;
    let origins = sqlx::query_scalar!(
        "select portal_frame_ancestors from clients where slug = $1",
        slug
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(origins.unwrap_or_default())
}

/// A signed-in member.
#[derive(Clone, Debug)]
pub struct Member {
    pub client: ClientId,
    pub customer: CustomerId,
    pub zone: Tz,
    pub currency: String,
}

/// Asks for a sign-in link for `email` at the winery `slug`. A known address gets the e-mail;
/// an unknown one gets nothing; both get `Ok(())`.
///
/// # Errors
/// - [`Error::Invalid`] for a malformed address (nothing is counted or sent);
/// - [`Error::RateLimited`] past the limits;
/// - [`Error::NotFound`] for an unknown winery.
pub async fn request_link(
    pool: &PgPool,
    slug: &str,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let email = EmailAddress::parse(email).map_err(|e| {
        Error::invalid("email", format!("Please check the e-mail address: it {e}."))
    })?;
    let winery = winery(pool, slug).await?;

    let mut tx = db::begin_platform(pool).await?;
    // Both keys, always in the same order, so two requests never wait on each other in a cycle.
    let mut keys = [format!("email:{}", email.as_str()), format!("ip:{ip}")];
    keys.sort();
    for key in &keys {
        portal::lock_request_key(&mut tx, key).await?;
    }
    let (by_email, by_ip) =
        portal::recent_requests(&mut tx, email.as_str(), ip, now - RATE_WINDOW).await?;
    if by_email >= MAX_REQUESTS_PER_EMAIL || by_ip >= MAX_REQUESTS_PER_IP {
        tx.commit().await?;
        return Err(Error::RateLimited {
            retry_after_minutes: RATE_WINDOW.num_minutes(),
        });
    }
    portal::record_request(&mut tx, email.as_str(), ip, now).await?;
    tx.commit().await?;

    let mut tx = db::begin_scoped(pool, winery.client).await?;
    if let Some(customer) = portal::find_customer(&mut tx, winery.client, email.as_str()).await? {
        let id = Uuid::new_v4();
        portal::insert_link(&mut tx, winery.client, customer, id, now + LINK_TTL, now).await?;
        let runtime = crate::comms::runtime();
        let token = links::sign_in_token(&runtime.link_key, winery.client, id);
        let detail = crate::comms::outbox::Detail {
            sign_in_url: Some(links::sign_in_url(
                &runtime.public_url,
                &winery.branding.slug,
                &token,
            )),
            ..crate::comms::outbox::Detail::default()
        };
        crate::comms::outbox::queue_event(
            &mut tx,
            winery.client,
            customer,
            domain::comms::MessageType::PortalSignIn,
            &id.to_string(),
            &detail,
            now,
        )
        .await?;
        tracing::info!(client = %winery.client, "portal sign-in link queued");
    }
    tx.commit().await?;
    Ok(())
}

fn bad_link(message: &str) -> Error {
    Error::invalid("token", message.to_owned())
}

/// Spends a sign-in link and opens a session. The token must be signed with this server's key
/// for this winery, and its link unused and unexpired.
///
/// # Errors
/// [`Error::Invalid`] (field `token`) for a link that is forged, for another winery, used or
/// expired; [`Error::NotFound`] for an unknown winery.
pub async fn sign_in(
    pool: &PgPool,
    slug: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(SessionToken, Member)> {
    let winery = winery(pool, slug).await?;
    let invalid = "This sign-in link is not valid. Ask for a new one below.";
    let (client, link) = links::verify_sign_in(&crate::comms::runtime().link_key, token)
        .filter(|(client, _)| *client == winery.client)
        .ok_or_else(|| bad_link(invalid))?;
    let mut tx = db::begin_scoped(pool, client).await?;
    let found = portal::lock_link(&mut tx, client, link)
        .await?
        .ok_or_else(|| bad_link(invalid))?;
    if found.used_at.is_some() {
        return Err(bad_link(
            "This sign-in link has already been used. Ask for a new one below.",
        ));
    }
    if found.expires_at <= now {
        return Err(bad_link(
            "This sign-in link has expired (links work for 30 minutes). Ask for a new one below.",
        ));
    }
    portal::use_link(&mut tx, client, link, now).await?;
    let session = SessionToken::generate();
    portal::insert_session(
        &mut tx,
        client,
        found.customer,
        &token_hash(session.expose()),
        now + SESSION_TTL,
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(client = %client, "member signed in to the portal");
    Ok((
        session,
        Member {
            client,
            customer: found.customer,
            zone: winery.zone,
            currency: winery.currency,
        },
    ))
}

/// The member a session cookie belongs to at this winery, or `None`.
///
/// # Errors
/// Database failures.
pub async fn authenticate(
    pool: &PgPool,
    winery: &Winery,
    session: &str,
    now: DateTime<Utc>,
) -> Result<Option<Member>> {
    if session.is_empty() || session.len() > 128 {
        return Ok(None);
    }
    let mut tx = db::begin_scoped(pool, winery.client).await?;
    let customer = portal::find_session(&mut tx, winery.client, &token_hash(session), now).await?;
    tx.commit().await?;
    Ok(customer.map(|customer| Member {
        client: winery.client,
        customer,
        zone: winery.zone,
        currency: winery.currency.clone(),
    }))
}

/// Ends a session.
///
/// # Errors
/// Database failures.
pub async fn sign_out(pool: &PgPool, member: &Member, session: &str) -> Result<()> {
    let mut tx = db::begin_scoped(pool, member.client).await?;
    portal::delete_session(&mut tx, member.client, &token_hash(session)).await?;
    tx.commit().await?;
    Ok(())
}

/// `July 1, 2026` on the winery's clock.
fn date(t: DateTime<Utc>, zone: Tz) -> String {
    crate::comms::snapshot::date_label(t, zone)
}

fn offer(name: String, discount: i32, min: i64, months: i32) -> StageOffer {
    StageOffer {
        name,
        discount_hundredths: u32::try_from(discount).unwrap_or(0),
        min_purchase_cents: min,
        duration_months: u32::try_from(months).unwrap_or(1),
    }
}

/// The status page.
///
/// # Errors
/// [`Error::NotFound`] when the customer is gone; database failures.
pub async fn status(pool: &PgPool, member: &Member, now: DateTime<Utc>) -> Result<StatusView> {
    let (client, customer, zone) = (member.client, member.customer, member.zone);
    let mut tx = db::begin_scoped(pool, client).await?;
    let row = portal::status(&mut tx, client, customer)
        .await?
        .ok_or(Error::NotFound { what: "member" })?;
    let stages = portal::open_stages(&mut tx, client).await?;
    let settings = q::settings(&mut tx, client).await?.unwrap_or_default();
    let (membership_days, progress_days) =
        q::membership_days(&mut tx, client, &[customer.as_uuid()], now)
            .await?
            .first()
            .map_or((0, 0), |(_, total, progress)| {
                (i64::from(*total), i64::from(*progress))
            });
    let recent = q::ledger(&mut tx, client, customer, 10).await?;
    let totals = portal::totals(&mut tx, client, customer).await?;
    tx.commit().await?;

    let currency = member.currency.as_str();
    // D6: a row past its expiry is no longer in force, even before the nightly job ends it.
    let membership = match (&row.stage, row.expires_at) {
        (Some(stage), Some(expires_at)) if expires_at > now => {
            let current = offer(
                stage.clone(),
                row.discount_hundredths.unwrap_or(0),
                row.min_cents.unwrap_or(0),
                row.duration_months.unwrap_or(1),
            );
            let order = row.stage_order.unwrap_or(i32::MAX);
            let next = stages.iter().find(|s| s.stage_order > order).map(|s| {
                offer(
                    s.name.clone(),
                    s.discount_hundredths,
                    s.min_cents,
                    s.duration_months,
                )
            });
            let expires_on = date(expires_at, zone);
            Some(MembershipView {
                stage: stage.clone(),
                discount: Percent::from_hundredths(current.discount_hundredths).to_string(),
                days_left: crate::comms::snapshot::days_until(now, expires_at),
                next: domain::portal::next_steps(
                    &current,
                    row.stage_active.unwrap_or(false),
                    next.as_ref(),
                    &expires_on,
                    currency,
                ),
                expires_on,
                member_since: date(row.started_at.or(row.enrolled_at).unwrap_or(now), zone),
            })
        }
        _ => None,
    };
    let join = stages
        .into_iter()
        .map(|s| {
            domain::portal::join_sentence(
                &offer(
                    s.name,
                    s.discount_hundredths,
                    s.min_cents,
                    s.duration_months,
                ),
                currency,
            )
        })
        .collect();
    let balance = i64::from(row.balance);
    Ok(StatusView {
        first_name: row.first_name.unwrap_or_default(),
        email: row.email,
        membership,
        join,
        membership_days,
        saved: Money::from_cents(totals.saved_cents).display(currency),
        points: PointsView {
            balance,
            value: settings.value_of(balance).display(currency),
            earning: row.earning,
            progress_days,
            threshold_days: i64::from(settings.min_membership_days),
            recent: recent
                .into_iter()
                .map(|r| LedgerLine {
                    on: date(r.transaction_date, zone),
                    points: r.points,
                    reason: r.description.unwrap_or_else(|| r.transaction_type.clone()),
                })
                .collect(),
        },
    })
}

fn window(from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>, zone: Tz) -> String {
    match (from, until) {
        (None, None) => String::new(),
        (Some(f), None) => format!("From {}", date(f, zone)),
        (None, Some(u)) => format!("Until {}", date(u, zone)),
        (Some(f), Some(u)) => format!("{} to {}", date(f, zone), date(u, zone)),
    }
}

fn redemption_status(raw: &str) -> String {
    match raw {
        "pending" => "Requested",
        "fulfilled" => "Fulfilled",
        "cancelled" => "Cancelled",
        "refunded" => "Points returned",
        other => other,
    }
    .to_owned()
}

/// The rewards page: the catalog as this member can use it, and their redemptions.
///
/// # Errors
/// Database failures.
pub async fn rewards(pool: &PgPool, member: &Member, now: DateTime<Utc>) -> Result<RewardsView> {
    let (client, customer, zone) = (member.client, member.customer, member.zone);
    let mut tx = db::begin_scoped(pool, client).await?;
    let points = q::customer_points(&mut tx, client, customer).await?;
    let settings = q::settings(&mut tx, client).await?.unwrap_or_default();
    let balance = i64::from(points.balance);
    let held = q::holding_by_reward(&mut tx, client, customer).await?;
    let mut rewards = Vec::new();
    for r in q::rewards(&mut tx, client).await? {
        if !r.is_active || r.values.available_until.is_some_and(|u| now > u) {
            continue;
        }
        let check = RedemptionCheck {
            reward_active: r.is_active,
            reward_deleted: false,
            points_required: i64::from(r.values.points_required),
            available_from: r.values.available_from,
            available_until: r.values.available_until,
            is_wine_sale: r.values.reward_type == domain::loyalty::RewardType::WinePointSale,
            quantity_available: r.values.quantity_available.map(i64::from),
            quantity_redeemed: i64::from(r.quantity_redeemed),
            per_customer_limit: r.values.per_customer_limit.map(i64::from),
            customer_redeemed: held.get(&r.id).copied().unwrap_or(0),
            balance,
            min_points_for_redemption: i64::from(settings.min_points_for_redemption),
        };
        let blocked = check_redemption(&check, now)
            .err()
            .map(|e| e.describe(|t| date(t, zone)));
        let points_required = i64::from(r.values.points_required);
        rewards.push(PortalReward {
            id: r.id.to_string(),
            window: window(r.values.available_from, r.values.available_until, zone),
            stock: r
                .values
                .quantity_available
                .map(|q| {
                    let left = i64::from(q) - i64::from(r.quantity_redeemed);
                    if left > 0 {
                        format!("{left} left")
                    } else {
                        "Sold out".to_owned()
                    }
                })
                .unwrap_or_default(),
            name: r.values.name,
            description: r.values.description.unwrap_or_default(),
            points: points_required,
            blocked,
            balance_after: balance - points_required,
        });
    }
    rewards.sort_by_key(|r| r.points);
    let history = q::redemptions(&mut tx, client, Some(customer), 50)
        .await?
        .into_iter()
        .map(|r| PortalRedemption {
            on: date(r.redeemed_at, zone),
            reward: r.reward,
            points: i64::from(r.points_spent),
            status: redemption_status(&r.status),
        })
        .collect();
    tx.commit().await?;
    Ok(RewardsView {
        balance,
        rewards,
        history,
    })
}

/// Redeems a reward for the signed-in member, through the loyalty service (the same checks and
/// row locks as an admin's redemption). Returns the balance after.
///
/// # Errors
/// [`Error::Invalid`] for a malformed reward id; [`Error::NotFound`] for an unknown reward;
/// [`Error::Conflict`] with the reason it is refused (too few points, out of stock, ...).
pub async fn redeem(
    pool: &PgPool,
    member: &Member,
    reward: &str,
    now: DateTime<Utc>,
) -> Result<i32> {
    let reward = Uuid::parse_str(reward.trim()).map_err(|_| Error::NotFound { what: "reward" })?;
    crate::loyalty::redeem(
        pool,
        member.client,
        crate::loyalty::Redeemer::Member,
        member.customer,
        reward,
        now,
    )
    .await
}

fn history_text(event: &str, stage: &str) -> String {
    match event {
        "joined" => format!("Joined {stage}"),
        "renewal" => format!("Renewed {stage}"),
        "upgrade" => format!("Moved up to {stage}"),
        "expired" => format!("{stage} membership ended"),
        "revoked" => format!("{stage} membership was withdrawn"),
        other => format!("{stage}: {other}"),
    }
}

/// The savings statement.
///
/// # Errors
/// [`Error::NotFound`] when the customer is gone; database failures.
pub async fn statement(
    pool: &PgPool,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<StatementView> {
    let (client, customer, zone) = (member.client, member.customer, member.zone);
    let mut tx = db::begin_scoped(pool, client).await?;
    let row = portal::status(&mut tx, client, customer)
        .await?
        .ok_or(Error::NotFound { what: "member" })?;
    let totals = portal::totals(&mut tx, client, customer).await?;
    let history = portal::history(&mut tx, client, customer).await?;
    let membership_days = q::membership_days(&mut tx, client, &[customer.as_uuid()], now)
        .await?
        .first()
        .map_or(0, |(_, total, _)| i64::from(*total));
    tx.commit().await?;
    let name = [row.first_name.as_deref(), row.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let money = |cents: i64| Money::from_cents(cents).display(&member.currency);
    Ok(StatementView {
        name,
        email: row.email,
        as_of: date(now, zone),
        saved: money(totals.saved_cents),
        member_orders: totals.member_orders,
        member_spend: money(totals.member_spend_cents),
        points_earned: i64::from(row.lifetime),
        points_redeemed: totals.redeemed,
        membership_days,
        current_stage: row.stage,
        history: history
            .into_iter()
            .map(|h| HistoryLine {
                on: date(h.at, zone),
                text: history_text(&h.event, &h.stage),
            })
            .collect(),
    })
}

/// The winery's portal settings.
///
/// # Errors
/// Database failures.
pub async fn settings(pool: &PgPool, admin: &crate::auth::Admin) -> Result<PortalSettings> {
    let mut tx = db::begin_platform(pool).await?;
    let row = sqlx::query!(
        "select slug, org_name, logo_url, brand_color, portal_frame_ancestors from clients where id = $1",
        admin.client_id.as_uuid()
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let portal_url = format!("{}/m/{}", crate::comms::runtime().public_url, row.slug);
    Ok(PortalSettings {
        embed_snippet: embed_snippet(&portal_url, &row.org_name),
        portal_url,
        logo_url: row.logo_url.unwrap_or_default(),
        brand_color: row.brand_color.unwrap_or_default(),
        frame_ancestors: row.portal_frame_ancestors.join("\n"),
    })
}

fn embed_snippet(portal_url: &str, winery: &str) -> String {
    let title: String = winery
        .chars()
        .filter(|c| !matches!(c, '"' | '<' | '>' | '&'))
        .collect();
    format!(
        "<iframe src=\"{portal_url}\" title=\"{title} member portal\" loading=\"lazy\"\n        style=\"width: 100%; min-height: 760px; border: 0;\"></iframe>"
    )
}

/// Saves the portal's logo, colour and framing allow-list. Every value is checked before
/// anything is written.
///
/// # Errors
/// [`Error::Forbidden`] for a viewer; [`Error::Invalid`] naming the field at fault.
pub async fn save_settings(
    pool: &PgPool,
    admin: &crate::auth::Admin,
    logo_url: &str,
    brand_color: &str,
    frame_ancestors: &str,
) -> Result<()> {
    admin.require_editor()?;
    let logo_url = logo_url.trim();
    let logo_ok = logo_url.is_empty()
        || (logo_url.starts_with("https://")
            && logo_url.len() <= 500
            && !logo_url
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '"' | '<' | '>')));
    if !logo_ok {
        return Err(Error::invalid(
            "logo_url",
            "The logo must be an https:// address of an image (at most 500 characters).",
        ));
    }
    let brand_color = brand_color.trim().to_ascii_lowercase();
    if !brand_color.is_empty() && !domain::portal::is_brand_color(&brand_color) {
        return Err(Error::invalid(
            "brand_color",
            "The colour is # and six hex digits, as in #7b2d43.",
        ));
    }
    let origins = domain::portal::parse_frame_ancestors(frame_ancestors)
        .map_err(|e| Error::invalid("frame_ancestors", e.to_string()))?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    sqlx::query!(
        "update clients set logo_url = nullif($2, ''), brand_color = nullif($3, ''), portal_frame_ancestors = $4 where id = $1",
        admin.client_id.as_uuid(),
        logo_url,
        brand_color,
        &origins
    )
    .execute(&mut *tx)
    .await?;
    db::audit::record(
        &mut tx,
        db::audit::Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action: "portal.settings_saved",
            entity_type: "client",
            entity_id: Some(admin.client_id.as_uuid()),
            before: None,
            after: Some(serde_json::json!({
                "logo_url": logo_url,
                "brand_color": brand_color,
                "frame_ancestors": origins,
            })),
            reason: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
