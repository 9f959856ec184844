//! Loyalty points (domain.md section 5, decisions D10 to D15): earning inside order processing,
//! refund reversals, and the admin's settings, rewards catalog, redemptions and adjustments.
//!
//! Every ledger write happens with the customer's row locked, in the same transaction as the
//! change that caused it, so the balance always equals the sum of the ledger and never goes
//! negative (D13, D14). Points never expire.

use crate::auth::Admin;
use crate::db::audit::{self, Actor, Entry};
use crate::db::loyalty::{self as q, LedgerEntry};
use crate::db::{self, clients, customers, enrollments};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use domain::Money;
use domain::ids::{CustomerId, OrderId};
use domain::loyalty::{
    LedgerCheckView, LedgerRowView, LoyaltySettings, LoyaltyView, MemberPointsView,
    RedemptionCheck, RedemptionView, RewardValues, RewardView, check_redemption, earning,
    points_for, points_to_reverse,
};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Reads a form's local date-time (`2026-04-01T10:00`) on the admin's winery's clock; empty is
/// `None`.
///
/// # Errors
/// Text that is not a date and time.
pub fn parse_local_time(
    admin: &Admin,
    field: &'static str,
    raw: &str,
) -> Result<Option<DateTime<Utc>>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let naive = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| Error::invalid(field, "Enter a date and time such as 2026-04-01T10:00."))?;
    Ok(Some(domain::calendar::resolve_local(admin.zone(), naive)))
}

/// Settings used when a winery has none: inactive, so nothing is earned (domain.md 5.1).
fn settings_or_inactive(s: Option<LoyaltySettings>) -> LoyaltySettings {
    s.unwrap_or(LoyaltySettings {
        is_active: false,
        ..LoyaltySettings::default()
    })
}

/// The loyalty step of an order, after the club step, in its transaction (the customer row is
/// locked): refreshes the membership and progress days as of the order, switches earning on when
/// the threshold is reached (that order earns), and credits the order's points (D11, D12).
/// Returns the points earned.
pub async fn after_order(
    conn: &mut PgConnection,
    client: domain::ids::ClientId,
    customer: CustomerId,
    order: OrderId,
    order_label: &str,
    amount: Money,
    at: DateTime<Utc>,
) -> Result<i64> {
    let settings = settings_or_inactive(q::settings(conn, client).await?);
    let days = q::membership_days(conn, client, &[customer.as_uuid()], at).await?;
    let (cumulative, progress) = days.first().map_or((0, 0), |(_, c, p)| (*c, *p));
    let member = enrollments::active_for_update(conn, client, customer)
        .await?
        .is_some_and(|a| at < a.expires_at);
    let earns = earning(member, &settings, i64::from(progress));
    q::set_earning(conn, client, customer, cumulative, progress, earns, at).await?;
    if !earns {
        return Ok(0);
    }
    let points = points_for(amount, &settings);
    if points <= 0 {
        return Ok(0);
    }
    let points = i32::try_from(points).map_err(|_| anyhow::anyhow!("points overflow"))?;
    q::append(
        conn,
        client,
        customer,
        &LedgerEntry {
            kind: "earned",
            points,
            order: Some(order),
            reward: None,
            description: &format!("Order {order_label}"),
            created_by: "system",
            admin: None,
            at,
        },
    )
    .await?;
    Ok(i64::from(points))
}

/// An order a refund or cancellation reached.
pub struct RefundedOrder<'a> {
    pub id: OrderId,
    /// The CRM's order id, for the ledger row.
    pub label: &'a str,
    pub refunded: Money,
    pub total: Money,
}

/// D4: takes back the points a refunded or cancelled order earned, in proportion to the refunded
/// share of its total, rounded down, with an `adjusted` row that names the order. Never takes the
/// balance below zero (points already spent stay spent). Returns the points taken back.
pub async fn reverse_for_refund(
    conn: &mut PgConnection,
    client: domain::ids::ClientId,
    customer: CustomerId,
    order: &RefundedOrder<'_>,
    at: DateTime<Utc>,
) -> Result<i64> {
    let (earned, reversed) = q::order_points(conn, client, order.id).await?;
    let due = points_to_reverse(earned, order.refunded, order.total, reversed);
    if due == 0 {
        return Ok(0);
    }
    let balance = i64::from(q::customer_points(conn, client, customer).await?.balance);
    let take = due.min(balance);
    if take == 0 {
        return Ok(0);
    }
    let capped = if take < due {
        format!(" (capped at the balance; {due} were due)")
    } else {
        String::new()
    };
    q::append(
        conn,
        client,
        customer,
        &LedgerEntry {
            kind: "adjusted",
            points: -i32::try_from(take).map_err(|_| anyhow::anyhow!("points overflow"))?,
            order: Some(order.id),
            reward: None,
            description: &format!("Order {} refunded{capped}", order.label),
            created_by: "system",
            admin: None,
            at,
        },
    )
    .await?;
    Ok(take)
}

fn name_of(first: Option<String>, last: Option<String>, email: &str) -> String {
    let name = format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default())
        .trim()
        .to_owned();
    if name.is_empty() {
        email.to_owned()
    } else {
        name
    }
}

fn reward_view(r: q::Reward, admin: &Admin) -> RewardView {
    let z = admin.zone();
    let window_label = match (r.values.available_from, r.values.available_until) {
        (None, None) => None,
        (from, until) => Some(format!(
            "{} – {}",
            from.map_or_else(|| "now".to_owned(), |t| domain::calendar::local_label(t, z)),
            until.map_or_else(
                || "no end".to_owned(),
                |t| domain::calendar::local_label(t, z)
            )
        )),
    };
    let local = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.with_timezone(&z).format("%Y-%m-%dT%H:%M").to_string())
    };
    RewardView {
        id: r.id,
        from_local: local(r.values.available_from),
        until_local: local(r.values.available_until),
        values: r.values,
        quantity_redeemed: r.quantity_redeemed,
        is_active: r.is_active,
        window_label,
    }
}

fn redemption_view(r: q::RedemptionListRow, admin: &Admin) -> RedemptionView {
    RedemptionView {
        id: r.id,
        customer_id: CustomerId::new(r.customer_id),
        member: name_of(r.first_name, r.last_name, &r.email),
        reward: r.reward,
        points: r.points_spent,
        status: r.status,
        redeemed_label: domain::calendar::local_label(r.redeemed_at, admin.zone()),
    }
}

/// The loyalty page's data.
///
/// # Errors
/// Database failures only.
pub async fn overview(pool: &PgPool, admin: &Admin) -> Result<LoyaltyView> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let settings = q::settings(&mut tx, admin.client_id)
        .await?
        .unwrap_or_default();
    let rewards = q::rewards(&mut tx, admin.client_id)
        .await?
        .into_iter()
        .map(|r| reward_view(r, admin))
        .collect();
    let queue = q::redemptions(&mut tx, admin.client_id, None, 200)
        .await?
        .into_iter()
        .map(|r| redemption_view(r, admin))
        .collect();
    let last_check =
        q::last_check(&mut tx, admin.client_id)
            .await?
            .map(|(at, checked, count, violations)| LedgerCheckView {
                checked_label: domain::calendar::local_label(at, admin.zone()),
                customers_checked: checked,
                violation_count: count,
                violations,
            });
    tx.commit().await?;
    Ok(LoyaltyView {
        settings,
        rewards,
        queue,
        last_check,
        time_zone: admin.time_zone.clone(),
    })
}

/// Saves the winery's loyalty settings (audited).
///
/// # Errors
/// A viewer.
pub async fn save_settings(pool: &PgPool, admin: &Admin, settings: &LoyaltySettings) -> Result<()> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let before = q::settings(&mut tx, admin.client_id).await?;
    q::save_settings(&mut tx, admin.client_id, settings).await?;
    audit::record(
        &mut tx,
        Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action: "loyalty.settings_updated",
            entity_type: "loyalty_point_rules",
            entity_id: None,
            before: before.map(|b| json!(b)),
            after: Some(json!(settings)),
            reason: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn audit_reward(
    conn: &mut PgConnection,
    admin: &Admin,
    action: &str,
    id: Uuid,
    before: Option<&RewardValues>,
    after: Option<&RewardValues>,
) -> Result<()> {
    audit::record(
        conn,
        Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action,
            entity_type: "loyalty_reward",
            entity_id: Some(id),
            before: before.map(|v| json!(v)),
            after: after.map(|v| json!(v)),
            reason: None,
        },
    )
    .await
}

/// Adds a reward to the catalog.
///
/// # Errors
/// A viewer.
pub async fn add_reward(pool: &PgPool, admin: &Admin, values: &RewardValues) -> Result<Uuid> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let id = q::insert_reward(&mut tx, admin.client_id, values).await?;
    audit_reward(&mut tx, admin, "reward.created", id, None, Some(values)).await?;
    tx.commit().await?;
    Ok(id)
}

/// Saves a reward. A stock below what was already redeemed is refused.
///
/// # Errors
/// An unknown (or another winery's, or deleted) reward, a stock below the redeemed count, or a
/// viewer.
pub async fn update_reward(
    pool: &PgPool,
    admin: &Admin,
    id: Uuid,
    values: &RewardValues,
    is_active: bool,
) -> Result<()> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (before, deleted) = q::lock_reward(&mut tx, admin.client_id, id)
        .await?
        .ok_or(Error::NotFound { what: "reward" })?;
    if deleted {
        return Err(Error::NotFound { what: "reward" });
    }
    if values
        .quantity_available
        .is_some_and(|q| i64::from(q) < i64::from(before.quantity_redeemed))
    {
        return Err(Error::invalid(
            "quantity_available",
            format!(
                "The stock cannot be below the {} already redeemed.",
                before.quantity_redeemed
            ),
        ));
    }
    q::update_reward(&mut tx, admin.client_id, id, values, is_active).await?;
    audit_reward(
        &mut tx,
        admin,
        "reward.updated",
        id,
        Some(&before.values),
        Some(values),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a reward from the catalog; its redemption history stays.
///
/// # Errors
/// An unknown reward, or a viewer.
pub async fn delete_reward(
    pool: &PgPool,
    admin: &Admin,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (before, deleted) = q::lock_reward(&mut tx, admin.client_id, id)
        .await?
        .ok_or(Error::NotFound { what: "reward" })?;
    if deleted {
        return Err(Error::NotFound { what: "reward" });
    }
    q::delete_reward(&mut tx, admin.client_id, id, now).await?;
    audit_reward(
        &mut tx,
        admin,
        "reward.deleted",
        id,
        Some(&before.values),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Who asks for a redemption.
#[derive(Clone, Copy, Debug)]
pub enum Redeemer<'a> {
    /// An admin on the member's behalf.
    Admin(&'a Admin),
    /// The member (the portal).
    Member,
}

/// Redeems a reward for a customer: everything is checked (D13) and written in one transaction
/// with the customer's and the reward's rows locked, so concurrent requests can neither overspend
/// nor oversell. Returns the balance after.
///
/// # Errors
/// An unknown reward or member ([`Error::NotFound`]), or the rule the redemption breaks
/// ([`Error::Conflict`] with the reason: not enough points, out of stock, outside the window, over
/// the per-customer limit).
pub async fn redeem(
    pool: &PgPool,
    client: domain::ids::ClientId,
    who: Redeemer<'_>,
    customer: CustomerId,
    reward: Uuid,
    now: DateTime<Utc>,
) -> Result<i32> {
    if let Redeemer::Admin(admin) = who {
        admin.require_editor()?;
    }
    let mut tx = db::begin_scoped(pool, client).await?;
    customers::lock(&mut tx, client, customer)
        .await?
        .ok_or(Error::NotFound { what: "member" })?;
    let (r, deleted) = q::lock_reward(&mut tx, client, reward)
        .await?
        .ok_or(Error::NotFound { what: "reward" })?;
    let settings = q::settings(&mut tx, client).await?.unwrap_or_default();
    let points = q::customer_points(&mut tx, client, customer).await?;
    let check = RedemptionCheck {
        reward_active: r.is_active,
        reward_deleted: deleted,
        points_required: i64::from(r.values.points_required),
        available_from: r.values.available_from,
        available_until: r.values.available_until,
        is_wine_sale: r.values.reward_type == domain::loyalty::RewardType::WinePointSale,
        quantity_available: r.values.quantity_available.map(i64::from),
        quantity_redeemed: i64::from(r.quantity_redeemed),
        per_customer_limit: r.values.per_customer_limit.map(i64::from),
        customer_redeemed: q::holding_redemptions(&mut tx, client, customer, reward).await?,
        balance: i64::from(points.balance),
        min_points_for_redemption: i64::from(settings.min_points_for_redemption),
    };
    if let Err(refused) = check_redemption(&check, now) {
        let zone = clients::find(&mut tx, client)
            .await?
            .and_then(|c| domain::calendar::parse_time_zone(&c.time_zone).ok())
            .unwrap_or(chrono_tz::UTC);
        return Err(Error::Conflict(
            refused.describe(|t| domain::calendar::local_label(t, zone)),
        ));
    }
    let cost =
        i32::try_from(r.values.points_required).map_err(|_| anyhow::anyhow!("cost overflow"))?;
    let (created_by, admin) = match who {
        Redeemer::Admin(a) => ("admin", Some(a.user_id)),
        Redeemer::Member => ("customer", None),
    };
    let (transaction, balance) = q::append(
        &mut tx,
        client,
        customer,
        &LedgerEntry {
            kind: "redeemed",
            points: -cost,
            order: None,
            reward: Some(reward),
            description: &format!("Redeemed {}", r.values.name),
            created_by,
            admin,
            at: now,
        },
    )
    .await?;
    q::count_redeemed(&mut tx, client, reward, 1).await?;
    let id =
        q::insert_redemption(&mut tx, client, customer, reward, transaction, cost, now).await?;
    let actor = match who {
        Redeemer::Admin(a) => a.actor(),
        Redeemer::Member => Actor::System {
            job: "member portal".to_owned(),
        },
    };
    audit::record(
        &mut tx,
        Entry {
            client,
            actor: &actor,
            action: "reward.redeemed",
            entity_type: "reward_redemption",
            entity_id: Some(id),
            before: None,
            after: Some(
                json!({ "reward": r.values.name, "points": cost, "customer_id": customer }),
            ),
            reason: None,
        },
    )
    .await?;
    let detail = crate::comms::outbox::Detail {
        reward: Some((r.values.name.clone(), i64::from(cost))),
        ..crate::comms::outbox::Detail::default()
    };
    crate::comms::outbox::queue_event(
        &mut tx,
        client,
        customer,
        domain::comms::MessageType::RewardRedeemed,
        &id.to_string(),
        &detail,
        now,
    )
    .await?;
    crate::analytics::touch(&mut tx, client, &[now]).await?;
    tx.commit().await?;
    Ok(balance)
}

/// What an admin does with a redemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedemptionAction {
    /// Pending → fulfilled.
    Fulfil,
    /// Pending → cancelled: the points come back and the stock is freed.
    Cancel,
    /// Fulfilled → refunded: the points come back and the stock is freed.
    Refund,
}

/// Moves a redemption along (domain.md 5.7). Cancelled and refunded give the points back through
/// an `adjusted` row and free the stock; both are final.
///
/// # Errors
/// An unknown redemption, a move its status does not allow, or a viewer.
pub async fn act_on_redemption(
    pool: &PgPool,
    admin: &Admin,
    id: Uuid,
    action: RedemptionAction,
    now: DateTime<Utc>,
) -> Result<()> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let r = q::lock_redemption(&mut tx, admin.client_id, id)
        .await?
        .ok_or(Error::NotFound { what: "redemption" })?;
    let customer = CustomerId::new(r.customer_id);
    customers::lock(&mut tx, admin.client_id, customer).await?;
    let (to, allowed_from) = match action {
        RedemptionAction::Fulfil => ("fulfilled", "pending"),
        RedemptionAction::Cancel => ("cancelled", "pending"),
        RedemptionAction::Refund => ("refunded", "fulfilled"),
    };
    if r.status != allowed_from {
        return Err(Error::Conflict(format!(
            "This redemption of {} is {}, so it cannot be {to} now. Nothing was changed.",
            r.reward_name, r.status
        )));
    }
    let returned = if action == RedemptionAction::Fulfil {
        None
    } else {
        let (transaction, _) = q::append(
            &mut tx,
            admin.client_id,
            customer,
            &LedgerEntry {
                kind: "adjusted",
                points: r.points_spent,
                order: None,
                reward: Some(r.reward_id),
                description: &format!("{} {}: points returned", r.reward_name, to),
                created_by: "admin",
                admin: Some(admin.user_id),
                at: now,
            },
        )
        .await?;
        q::count_redeemed(&mut tx, admin.client_id, r.reward_id, -1).await?;
        Some(transaction)
    };
    q::set_redemption_status(
        &mut tx,
        admin.client_id,
        id,
        to,
        &admin.email,
        now,
        returned,
    )
    .await?;
    audit::record(
        &mut tx,
        Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action: &format!("redemption.{to}"),
            entity_type: "reward_redemption",
            entity_id: Some(id),
            before: Some(json!({ "status": r.status })),
            after: Some(json!({ "status": to })),
            reason: None,
        },
    )
    .await?;
    if action == RedemptionAction::Fulfil {
        let detail = crate::comms::outbox::Detail {
            reward: Some((r.reward_name.clone(), i64::from(r.points_spent))),
            ..crate::comms::outbox::Detail::default()
        };
        crate::comms::outbox::queue_event(
            &mut tx,
            admin.client_id,
            customer,
            domain::comms::MessageType::RedemptionFulfilled,
            &id.to_string(),
            &detail,
            now,
        )
        .await?;
    }
    crate::analytics::touch(&mut tx, admin.client_id, &[now]).await?;
    tx.commit().await?;
    Ok(())
}

/// The kinds of manual adjustment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    /// Extra points (positive only; counts toward the lifetime total).
    Bonus,
    /// A correction, either way.
    Correction,
}

/// Adds or removes points by hand, with a reason the member sees in their ledger.
///
/// # Errors
/// A missing reason, zero points, a bonus below zero, a balance that would go negative, or a
/// viewer.
pub async fn adjust(
    pool: &PgPool,
    admin: &Admin,
    customer: CustomerId,
    kind: Adjustment,
    points: i32,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<i32> {
    admin.require_editor()?;
    let reason = domain::loyalty::parse_reason(reason)
        .map_err(|e| Error::invalid("reason", format!("The reason {e}.")))?;
    if points == 0 {
        return Err(Error::invalid(
            "points",
            "Enter a number of points other than 0.",
        ));
    }
    if kind == Adjustment::Bonus && points < 0 {
        return Err(Error::invalid(
            "points",
            "A bonus adds points; use a correction to remove some.",
        ));
    }
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    customers::lock(&mut tx, admin.client_id, customer)
        .await?
        .ok_or(Error::NotFound { what: "member" })?;
    let (_, balance) = q::append(
        &mut tx,
        admin.client_id,
        customer,
        &LedgerEntry {
            kind: if kind == Adjustment::Bonus {
                "bonus"
            } else {
                "adjusted"
            },
            points,
            order: None,
            reward: None,
            description: &reason,
            created_by: "admin",
            admin: Some(admin.user_id),
            at: now,
        },
    )
    .await
    .map_err(|e| match e {
        Error::Conflict(m) => Error::invalid(
            "points",
            format!("{m} A correction cannot take it below zero."),
        ),
        other => other,
    })?;
    audit::record(
        &mut tx,
        Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action: "points.adjusted",
            entity_type: "customer",
            entity_id: Some(customer.as_uuid()),
            before: None,
            after: Some(json!({ "points": points, "balance": balance })),
            reason: Some(&reason),
        },
    )
    .await?;
    crate::analytics::touch(&mut tx, admin.client_id, &[now]).await?;
    tx.commit().await?;
    Ok(balance)
}

/// A member's points: balance, progress, ledger, redemptions and the rewards they could redeem.
///
/// # Errors
/// An unknown member (including another winery's).
pub async fn member_points(
    pool: &PgPool,
    admin: &Admin,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<MemberPointsView> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let points = q::customer_points(&mut tx, admin.client_id, customer).await?;
    let settings = q::settings(&mut tx, admin.client_id)
        .await?
        .unwrap_or_default();
    let z = admin.zone();
    let ledger = q::ledger(&mut tx, admin.client_id, customer, 200)
        .await?
        .into_iter()
        .map(|r| LedgerRowView {
            at_label: domain::calendar::local_label(r.transaction_date, z),
            kind: r.transaction_type,
            points: r.points,
            balance_after: r.balance_after,
            description: r.description,
        })
        .collect();
    let redemptions = q::redemptions(&mut tx, admin.client_id, Some(customer), 100)
        .await?
        .into_iter()
        .map(|r| redemption_view(r, admin))
        .collect();
    let rewards = q::rewards(&mut tx, admin.client_id)
        .await?
        .into_iter()
        .filter(|r| {
            r.is_active
                && r.values.available_from.is_none_or(|f| now >= f)
                && r.values.available_until.is_none_or(|u| now <= u)
                && r.values
                    .quantity_available
                    .is_none_or(|q| i64::from(r.quantity_redeemed) < i64::from(q))
        })
        .map(|r| reward_view(r, admin))
        .collect();
    // The stored days are as of the customer's last order; the page shows today's.
    let progress_days = q::membership_days(&mut tx, admin.client_id, &[customer.as_uuid()], now)
        .await?
        .first()
        .map_or(points.progress_days, |(_, _, progress)| *progress);
    tx.commit().await?;
    Ok(MemberPointsView {
        balance: points.balance,
        lifetime: points.lifetime,
        value: settings.value_of(i64::from(points.balance)),
        earning: earning(points.is_member, &settings, i64::from(progress_days)),
        progress_days,
        threshold_days: settings.min_membership_days,
        ledger,
        redemptions,
        rewards,
    })
}
