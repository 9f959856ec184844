//! Queries on the loyalty tables: the winery's settings, the points ledger (append-only; the
//! caller holds the customer's row lock), rewards and redemptions, and the ledger check (D14).

use crate::{Error, Result};
use chrono::{DateTime, Utc};
use domain::Percent;
use domain::ids::{AdminUserId, ClientId, CustomerId, OrderId};
use domain::loyalty::{LoyaltySettings, RewardType, RewardValues};
use sqlx::PgConnection;
use uuid::Uuid;

/// The winery's settings; `None` when it has none (then nothing is earned).
pub async fn settings(
    conn: &mut PgConnection,
    client: ClientId,
) -> Result<Option<LoyaltySettings>> {
    let row = sqlx::query!(
        r#"select (points_per_dollar * 100)::int4 as "ppd!", (bonus_points_percentage * 100)::int4 as "bonus!",
                  min_membership_days, (point_dollar_value * 10000)::int4 as "value!", min_points_for_redemption,
                  is_active
           from loyalty_point_rules where client_id = $1"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| LoyaltySettings {
        points_per_dollar_hundredths: u32::try_from(r.ppd).unwrap_or(0),
        bonus: Percent::from_hundredths(u32::try_from(r.bonus).unwrap_or(0)),
        min_membership_days: u32::try_from(r.min_membership_days).unwrap_or(365),
        point_value_ten_thousandths: u32::try_from(r.value).unwrap_or(100),
        min_points_for_redemption: u32::try_from(r.min_points_for_redemption).unwrap_or(0),
        is_active: r.is_active,
    }))
}

/// Creates or replaces the winery's settings.
pub async fn save_settings(
    conn: &mut PgConnection,
    client: ClientId,
    s: &LoyaltySettings,
) -> Result<()> {
    sqlx::query!(
        r#"insert into loyalty_point_rules (client_id, points_per_dollar, bonus_points_percentage, min_membership_days,
                                            point_dollar_value, min_points_for_redemption, is_active)
           values ($1, $2::int8 / 100.0, $3::int8 / 100.0, $4, $5::int8 / 10000.0, $6, $7)
           on conflict (client_id) do update
               set points_per_dollar = excluded.points_per_dollar,
                   bonus_points_percentage = excluded.bonus_points_percentage,
                   min_membership_days = excluded.min_membership_days,
                   point_dollar_value = excluded.point_dollar_value,
                   min_points_for_redemption = excluded.min_points_for_redemption,
                   is_active = excluded.is_active"#,
        client.as_uuid(),
        i64::from(s.points_per_dollar_hundredths),
        i64::from(s.bonus.hundredths()),
        i32::try_from(s.min_membership_days).unwrap_or(365),
        i64::from(s.point_value_ten_thousandths),
        i32::try_from(s.min_points_for_redemption).unwrap_or(0),
        s.is_active
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Membership and progress days (D10, D11) for `customers` as of `now`.
pub async fn membership_days(
    conn: &mut PgConnection,
    client: ClientId,
    customers: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, i32, i32)>> {
    let rows = sqlx::query!(
        r#"select customer_id as "customer_id!", cumulative_days as "cumulative!", progress_days as "progress!"
           from membership_days($1, $2, $3)"#,
        client.as_uuid(),
        customers,
        now
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.customer_id, r.cumulative, r.progress))
        .collect())
}

/// Stores recomputed days for a set of customers, in one statement.
pub async fn store_days(
    conn: &mut PgConnection,
    client: ClientId,
    customers: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64> {
    let updated = sqlx::query!(
        r#"update customers c set cumulative_membership_days = d.cumulative_days, loyalty_progress_days = d.progress_days
           from membership_days($1, $2, $3) d
           where c.client_id = $1 and c.id = d.customer_id
             and (c.cumulative_membership_days, c.loyalty_progress_days) is distinct from (d.cumulative_days, d.progress_days)"#,
        client.as_uuid(),
        customers,
        now
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated)
}

/// A customer's loyalty state.
#[derive(Clone, Debug)]
pub struct CustomerPoints {
    pub balance: i32,
    pub lifetime: i32,
    /// As of the customer's last order.
    pub progress_days: i32,
    pub is_member: bool,
}

/// Reads a customer's loyalty state.
pub async fn customer_points(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<CustomerPoints> {
    let r = sqlx::query!(
        r#"select loyalty_points_balance, loyalty_points_lifetime, loyalty_progress_days, is_club_member
           from customers where client_id = $1 and id = $2"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_optional(conn)
    .await?
    .ok_or(Error::NotFound { what: "member" })?;
    Ok(CustomerPoints {
        balance: r.loyalty_points_balance,
        lifetime: r.loyalty_points_lifetime,
        progress_days: r.loyalty_progress_days,
        is_member: r.is_club_member,
    })
}

/// Stores the earning switch and the days after an order (D11): `eligible_since` is set when
/// earning switches on.
pub async fn set_earning(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    cumulative_days: i32,
    progress_days: i32,
    earning: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        r#"update customers
           set cumulative_membership_days = $3, loyalty_progress_days = $4,
               loyalty_eligible_since = case when $5 and not loyalty_earning_active then $6 else loyalty_eligible_since end,
               loyalty_earning_active = $5
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        customer.as_uuid(),
        cumulative_days,
        progress_days,
        earning,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One ledger row to append.
pub struct LedgerEntry<'a> {
    /// `earned`, `redeemed`, `bonus` or `adjusted`.
    pub kind: &'a str,
    pub points: i32,
    pub order: Option<OrderId>,
    pub reward: Option<Uuid>,
    pub description: &'a str,
    /// `system`, `admin` or `customer`.
    pub created_by: &'a str,
    pub admin: Option<AdminUserId>,
    pub at: DateTime<Utc>,
}

/// Appends a ledger row and moves the balance (and, for earned and bonus points, the lifetime
/// total) with it. The caller holds the customer's row lock. Returns the row's id and the balance
/// after it.
///
/// # Errors
/// A row that would take the balance below zero (D13, D14).
pub async fn append(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    e: &LedgerEntry<'_>,
) -> Result<(Uuid, i32)> {
    let balance: i32 = sqlx::query_scalar!(
        "select loyalty_points_balance from customers where client_id = $1 and id = $2",
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_one(&mut *conn)
    .await?;
    let after = balance
        .checked_add(e.points)
        .ok_or_else(|| anyhow::anyhow!("points overflow"))?;
    if after < 0 {
        return Err(Error::Conflict(format!(
            "Not enough points: the balance is {balance}."
        )));
    }
    let id = sqlx::query_scalar!(
        r#"insert into point_transactions (client_id, customer_id, transaction_type, points, order_id, reward_id,
                                           description, balance_after, created_by, actor_admin_id, transaction_date)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id"#,
        client.as_uuid(),
        customer.as_uuid(),
        e.kind,
        e.points,
        e.order.map(|o| o.as_uuid()),
        e.reward,
        e.description,
        after,
        e.created_by,
        e.admin.map(|a| a.as_uuid()),
        e.at
    )
    .fetch_one(&mut *conn)
    .await?;
    let lifetime_gain = if matches!(e.kind, "earned" | "bonus") && e.points > 0 {
        e.points
    } else {
        0
    };
    sqlx::query!(
        r#"update customers set loyalty_points_balance = $3, loyalty_points_lifetime = loyalty_points_lifetime + $4
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        customer.as_uuid(),
        after,
        lifetime_gain
    )
    .execute(conn)
    .await?;
    Ok((id, after))
}

/// The points an order earned, and what refunds already took back.
pub async fn order_points(
    conn: &mut PgConnection,
    client: ClientId,
    order: OrderId,
) -> Result<(i64, i64)> {
    let r = sqlx::query!(
        r#"select coalesce(sum(points) filter (where transaction_type = 'earned'), 0) as "earned!",
                  coalesce(-sum(points) filter (where transaction_type = 'adjusted' and points < 0), 0) as "reversed!"
           from point_transactions where client_id = $1 and order_id = $2"#,
        client.as_uuid(),
        order.as_uuid()
    )
    .fetch_one(conn)
    .await?;
    Ok((r.earned, r.reversed))
}

/// A ledger row as read.
pub struct LedgerRow {
    pub transaction_type: String,
    pub points: i32,
    pub balance_after: i32,
    pub description: Option<String>,
    pub transaction_date: DateTime<Utc>,
}

/// A customer's ledger, newest first.
pub async fn ledger(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    limit: i64,
) -> Result<Vec<LedgerRow>> {
    let rows = sqlx::query_as!(
        LedgerRow,
        r#"select transaction_type, points, balance_after, description, transaction_date
           from point_transactions where client_id = $1 and customer_id = $2
           order by sequence desc limit $3"#,
        client.as_uuid(),
        customer.as_uuid(),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

struct RewardRow {
    id: Uuid,
    reward_type: String,
    name: String,
    description: Option<String>,
    image_url: Option<String>,
    points_required: i32,
    quantity_available: Option<i32>,
    quantity_redeemed: i32,
    per_customer_limit: Option<i32>,
    available_from: Option<DateTime<Utc>>,
    available_until: Option<DateTime<Utc>>,
    is_active: bool,
}

/// A stored reward.
#[derive(Clone, Debug)]
pub struct Reward {
    pub id: Uuid,
    pub values: RewardValues,
    pub quantity_redeemed: i32,
    pub is_active: bool,
}

impl From<RewardRow> for Reward {
    fn from(r: RewardRow) -> Self {
        let count = |v: Option<i32>| v.and_then(|n| u32::try_from(n).ok());
        Self {
            id: r.id,
            values: RewardValues {
                reward_type: RewardType::parse(&r.reward_type).unwrap_or(RewardType::Other),
                name: r.name,
                description: r.description,
                image_url: r.image_url,
                points_required: u32::try_from(r.points_required).unwrap_or(0),
                quantity_available: count(r.quantity_available),
                per_customer_limit: count(r.per_customer_limit),
                available_from: r.available_from,
                available_until: r.available_until,
            },
            quantity_redeemed: r.quantity_redeemed,
            is_active: r.is_active,
        }
    }
}

/// The catalog (not deleted), newest first.
pub async fn rewards(conn: &mut PgConnection, client: ClientId) -> Result<Vec<Reward>> {
    let rows = sqlx::query_as!(
        RewardRow,
        r#"select id, reward_type, name, description, image_url, points_required, quantity_available, quantity_redeemed,
                  per_customer_limit, available_from, available_until, is_active
           from loyalty_rewards where client_id = $1 and deleted_at is null order by created_at desc"#,
        client.as_uuid()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Reward::from).collect())
}

/// A reward, locked for a redemption or an edit. Deleted rewards are found too (the caller decides).
pub async fn lock_reward(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
) -> Result<Option<(Reward, bool)>> {
    let row = sqlx::query!(
        r#"select id, reward_type, name, description, image_url, points_required, quantity_available, quantity_redeemed,
                  per_customer_limit, available_from, available_until, is_active, deleted_at is not null as "deleted!"
           from loyalty_rewards where client_id = $1 and id = $2 for update"#,
        client.as_uuid(),
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| {
        let deleted = r.deleted;
        let reward = Reward::from(RewardRow {
            id: r.id,
            reward_type: r.reward_type,
            name: r.name,
            description: r.description,
            image_url: r.image_url,
            points_required: r.points_required,
            quantity_available: r.quantity_available,
            quantity_redeemed: r.quantity_redeemed,
            per_customer_limit: r.per_customer_limit,
            available_from: r.available_from,
            available_until: r.available_until,
            is_active: r.is_active,
        });
        (reward, deleted)
    }))
}

fn opt_i32(v: Option<u32>) -> Option<i32> {
    v.and_then(|n| i32::try_from(n).ok())
}

/// Adds a reward to the catalog.
pub async fn insert_reward(
    conn: &mut PgConnection,
    client: ClientId,
    v: &RewardValues,
) -> Result<Uuid> {
    let id = sqlx::query_scalar!(
        r#"insert into loyalty_rewards (client_id, reward_type, name, description, image_url, points_required,
                                        quantity_available, per_customer_limit, available_from, available_until)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id"#,
        client.as_uuid(),
        v.reward_type.as_str(),
        v.name,
        v.description,
        v.image_url,
        i32::try_from(v.points_required).unwrap_or(i32::MAX),
        opt_i32(v.quantity_available),
        opt_i32(v.per_customer_limit),
        v.available_from,
        v.available_until
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Saves a reward's values and active flag.
pub async fn update_reward(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    v: &RewardValues,
    is_active: bool,
) -> Result<()> {
    sqlx::query!(
        r#"update loyalty_rewards
           set reward_type = $3, name = $4, description = $5, image_url = $6, points_required = $7,
               quantity_available = $8, per_customer_limit = $9, available_from = $10, available_until = $11,
               is_active = $12
           where client_id = $1 and id = $2 and deleted_at is null"#,
        client.as_uuid(),
        id,
        v.reward_type.as_str(),
        v.name,
        v.description,
        v.image_url,
        i32::try_from(v.points_required).unwrap_or(i32::MAX),
        opt_i32(v.quantity_available),
        opt_i32(v.per_customer_limit),
        v.available_from,
        v.available_until,
        is_active
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Soft-deletes a reward: it leaves the catalog; its redemptions stay.
pub async fn delete_reward(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "update loyalty_rewards set deleted_at = $3, is_active = false where client_id = $1 and id = $2 and deleted_at is null",
        client.as_uuid(),
        id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a reward's redeemed count by `delta` (a redemption, or its cancellation).
pub async fn count_redeemed(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    delta: i32,
) -> Result<()> {
    sqlx::query!(
        "update loyalty_rewards set quantity_redeemed = quantity_redeemed + $3 where client_id = $1 and id = $2",
        client.as_uuid(),
        id,
        delta
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// This customer's redemptions of this reward that still hold (pending or fulfilled).
pub async fn holding_redemptions(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    reward: Uuid,
) -> Result<i64> {
    let n = sqlx::query_scalar!(
        r#"select count(*) as "n!" from reward_redemptions
           where client_id = $1 and customer_id = $2 and reward_id = $3 and status in ('pending', 'fulfilled')"#,
        client.as_uuid(),
        customer.as_uuid(),
        reward
    )
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// The customer's redemptions that still hold (pending or fulfilled), per reward: what the
/// per-customer limits count, for the whole catalog in one read.
pub async fn holding_by_reward(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<std::collections::HashMap<Uuid, i64>> {
    let rows = sqlx::query!(
        r#"select reward_id, count(*) as "n!" from reward_redemptions
           where client_id = $1 and customer_id = $2 and status in ('pending', 'fulfilled')
           group by reward_id"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.reward_id, r.n)).collect())
}

/// Records a redemption.
pub async fn insert_redemption(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    reward: Uuid,
    transaction: Uuid,
    points: i32,
    at: DateTime<Utc>,
) -> Result<Uuid> {
    let id = sqlx::query_scalar!(
        r#"insert into reward_redemptions (client_id, customer_id, reward_id, point_transaction_id, points_spent, redeemed_at)
           values ($1, $2, $3, $4, $5, $6) returning id"#,
        client.as_uuid(),
        customer.as_uuid(),
        reward,
        transaction,
        points,
        at
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// A redemption, locked for a status change.
pub struct RedemptionRow {
    pub customer_id: Uuid,
    pub reward_id: Uuid,
    pub points_spent: i32,
    pub status: String,
    pub reward_name: String,
}

/// Locks a redemption.
pub async fn lock_redemption(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
) -> Result<Option<RedemptionRow>> {
    let row = sqlx::query_as!(
        RedemptionRow,
        r#"select r.customer_id, r.reward_id, r.points_spent, r.status, w.name as reward_name
           from reward_redemptions r join loyalty_rewards w on w.client_id = r.client_id and w.id = r.reward_id
           where r.client_id = $1 and r.id = $2 for update of r"#,
        client.as_uuid(),
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// Moves a redemption to `status`; `fulfilled` records who and when, the others the return row.
pub async fn set_redemption_status(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    status: &str,
    by: &str,
    at: DateTime<Utc>,
    return_transaction: Option<Uuid>,
) -> Result<()> {
    sqlx::query!(
        r#"update reward_redemptions
           set status = $3::text,
               fulfilled_at = case when $3::text = 'fulfilled' then $5 else fulfilled_at end,
               fulfilled_by = case when $3::text = 'fulfilled' then $4 else fulfilled_by end,
               cancelled_at = case when $3::text in ('cancelled', 'refunded') then $5 else cancelled_at end,
               return_transaction_id = coalesce($6, return_transaction_id)
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id,
        status,
        by,
        at,
        return_transaction
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A redemption as listed.
pub struct RedemptionListRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub reward: String,
    pub points_spent: i32,
    pub status: String,
    pub redeemed_at: DateTime<Utc>,
}

/// Redemptions, newest first: open ones (pending and fulfilled) for the queue, or one customer's.
pub async fn redemptions(
    conn: &mut PgConnection,
    client: ClientId,
    customer: Option<CustomerId>,
    limit: i64,
) -> Result<Vec<RedemptionListRow>> {
    let rows = sqlx::query_as!(
        RedemptionListRow,
        r#"select r.id, r.customer_id, c.email, c.first_name, c.last_name, w.name as reward, r.points_spent, r.status,
                  r.redeemed_at
           from reward_redemptions r
           join customers c on c.client_id = r.client_id and c.id = r.customer_id
           join loyalty_rewards w on w.client_id = r.client_id and w.id = r.reward_id
           where r.client_id = $1
             and (($2::uuid is null and r.status in ('pending', 'fulfilled')) or r.customer_id = $2)
           order by r.redeemed_at desc, r.id
           limit $3"#,
        client.as_uuid(),
        customer.map(|c| c.as_uuid()),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// D14 for every customer of the winery, set-based: each row's balance_after is the previous
/// one plus its points (in the order written), the last equals the customer's balance, no
/// balance is negative, and the lifetime total is the sum of positive earned and bonus rows.
/// Returns how many customers were checked and the violations (the first hundred).
pub async fn verify(conn: &mut PgConnection, client: ClientId) -> Result<(i64, Vec<String>)> {
    let checked = sqlx::query_scalar!(
        r#"select count(*) as "n!" from customers where client_id = $1"#,
        client.as_uuid()
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_scalar!(
        r#"with chain as (
               select customer_id, sequence, points, balance_after,
                      coalesce(lag(balance_after) over (partition by customer_id order by sequence), 0) as before
               from point_transactions where client_id = $1
           ),
           broken as (
               select customer_id, min(sequence) as first_bad from chain
               where balance_after <> before + points or balance_after < 0
               group by customer_id
           ),
           sums as (
               select customer_id, sum(points) as total,
                      sum(points) filter (where transaction_type in ('earned', 'bonus') and points > 0) as lifetime
               from point_transactions where client_id = $1 group by customer_id
           )
           select c.email || ': ' || concat_ws('; ',
                      case when b.customer_id is not null then 'the running balance breaks at row ' || b.first_bad end,
                      case when c.loyalty_points_balance <> coalesce(s.total, 0)
                           then 'balance ' || c.loyalty_points_balance || ' but the ledger sums to ' || coalesce(s.total, 0) end,
                      case when c.loyalty_points_lifetime <> coalesce(s.lifetime, 0)
                           then 'lifetime ' || c.loyalty_points_lifetime || ' but earned and bonus rows sum to ' || coalesce(s.lifetime, 0) end,
                      case when c.loyalty_points_balance < 0 then 'negative balance' end) as "problem!"
           from customers c
           left join sums s on s.customer_id = c.id
           left join broken b on b.customer_id = c.id
           where c.client_id = $1
             and (b.customer_id is not null or c.loyalty_points_balance <> coalesce(s.total, 0)
                  or c.loyalty_points_lifetime <> coalesce(s.lifetime, 0) or c.loyalty_points_balance < 0)
           order by c.email
           limit 100"#,
        client.as_uuid()
    )
    .fetch_all(conn)
    .await?;
    Ok((checked, rows))
}

/// Records a ledger check.
pub async fn record_check(
    conn: &mut PgConnection,
    client: ClientId,
    at: DateTime<Utc>,
    checked: i64,
    violations: &[String],
    violation_count: i64,
) -> Result<()> {
    sqlx::query!(
        r#"insert into ledger_checks (client_id, checked_at, customers_checked, violations, violation_count)
           values ($1, $2, $3, $4, $5)"#,
        client.as_uuid(),
        at,
        i32::try_from(checked).unwrap_or(i32::MAX),
        serde_json::json!(violations),
        i32::try_from(violation_count).unwrap_or(i32::MAX)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The last ledger check: when, how many customers, how many violations and the first of them.
pub async fn last_check(
    conn: &mut PgConnection,
    client: ClientId,
) -> Result<Option<(DateTime<Utc>, i32, i32, Vec<String>)>> {
    let row = sqlx::query!(
        r#"select checked_at, customers_checked, violation_count, violations
           from ledger_checks where client_id = $1 order by checked_at desc, created_at desc limit 1"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| {
        let violations: Vec<String> = serde_json::from_value(r.violations).unwrap_or_default();
        (
            r.checked_at,
            r.customers_checked,
            r.violation_count,
            violations,
        )
    }))
}
