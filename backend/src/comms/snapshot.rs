//! What a message knows about its member and winery: one set-based query per batch of members
//! (their contact, active enrollment, next stage, points and preferences), turned into the
//! template variables of domain.md section 6.3.

use super::links;
use crate::Result;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use domain::Money;
use domain::Percent;
use domain::calendar::{parse_time_zone, resolve_local};
use domain::comms::prefs::{Preferences, WinerySwitches};
use domain::comms::vars::MessageVars;
use domain::comms::{MessageType, Phone};
use domain::ids::{ClientId, CustomerId};
use sqlx::PgConnection;
use uuid::Uuid;

/// A winery's messaging settings and the facts its messages show.
#[derive(Clone, Debug)]
pub struct Winery {
    pub client: ClientId,
    pub name: String,
    pub slug: String,
    pub zone: Tz,
    pub currency: String,
    pub logo_url: Option<String>,
    pub shop_url: String,
    pub postal_address: Option<String>,
    pub custom_content: Option<String>,
    pub email_provider: Option<String>,
    pub sms_provider: Option<String>,
    pub warning_days_before: i32,
    pub switches: WinerySwitches,
    pub earning_threshold_days: i64,
}

/// Loads the winery (`None` when it does not exist).
///
/// # Errors
/// Database failures.
pub async fn winery(conn: &mut PgConnection, client: ClientId) -> Result<Option<Winery>> {
    let row = sqlx::query!(
        r#"select c.org_name, c.slug, c.time_zone, c.currency, c.logo_url, c.crm_type, c.tenant_shop,
                  k.email_provider as "email_provider?", k.sms_provider as "sms_provider?",
                  k.postal_address as "postal_address?", k.custom_content as "custom_content?",
                  coalesce(k.send_monthly_status, true) as "send_monthly_status!",
                  coalesce(k.send_expiration_warnings, true) as "send_expiration_warnings!",
                  coalesce(k.warning_days_before, 7) as "warning_days_before!",
                  coalesce(k.event_types, array['welcome', 'upgraded', 'renewed', 'membership_expired',
                      'reward_redeemed', 'redemption_fulfilled']::text[]) as "event_types!",
                  coalesce((select r.min_membership_days from loyalty_point_rules r
                            where r.client_id = c.id), 365) as "threshold!"
           from clients c
           left join communication_configs k on k.client_id = c.id
           where c.id = $1"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let portal = format!("{}/m/{}", super::runtime().public_url, r.slug);
    let shop_url = if r.crm_type == "shopify" {
        format!("https://{}", r.tenant_shop)
    } else {
        portal
    };
    Ok(Some(Winery {
        client,
        name: r.org_name,
        slug: r.slug,
        zone: parse_time_zone(&r.time_zone).unwrap_or(chrono_tz::UTC),
        currency: r.currency,
        logo_url: r.logo_url,
        shop_url,
        postal_address: r.postal_address,
        custom_content: r.custom_content,
        switches: WinerySwitches {
            email_provider: r.email_provider.is_some(),
            sms_provider: r.sms_provider.is_some(),
            send_monthly_status: r.send_monthly_status,
            send_expiration_warnings: r.send_expiration_warnings,
            events: r
                .event_types
                .iter()
                .filter_map(|t| MessageType::parse(t))
                .collect(),
        },
        email_provider: r.email_provider,
        sms_provider: r.sms_provider,
        warning_days_before: r.warning_days_before,
        earning_threshold_days: i64::from(r.threshold),
    }))
}

/// Which members a batch holds.
#[derive(Clone, Debug)]
pub enum Selection {
    /// These customers, members or not.
    Customers(Vec<CustomerId>),
    /// Every member with an active enrollment (the monthly status).
    Members,
    /// Members whose active enrollment expires in `[from, until]` (the warnings).
    Expiring {
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    },
}

/// One member as a message sees them.
#[derive(Clone, Debug)]
pub struct Member {
    pub customer: CustomerId,
    pub email: String,
    /// An E.164 number: the one the SMS opt-in was given for, else the customer's own.
    pub phone: Option<Phone>,
    pub name: String,
    pub enrollment: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `None` when the member has no stored preferences (the defaults apply).
    pub preferences: Option<Preferences>,
    pub vars: MessageVars,
}

/// The first instant of the month that holds `now` on the winery's clock, and of the month before.
fn month_bounds(now: DateTime<Utc>, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = now.with_timezone(&zone).date_naive();
    let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local);
    let previous = first
        .pred_opt()
        .and_then(|d| NaiveDate::from_ymd_opt(d.year(), d.month(), 1))
        .unwrap_or(first);
    let at = |d: NaiveDate| resolve_local(zone, d.and_hms_opt(0, 0, 0).unwrap_or_default());
    (at(previous), at(first))
}

/// The members of `selection` with their variables as of `now`.
///
/// # Errors
/// Database failures.
pub async fn members(
    conn: &mut PgConnection,
    winery: &Winery,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<Vec<Member>> {
    members_page(conn, winery, selection, None, i64::MAX, now).await
}

/// At most `limit` members of `selection` whose customer id comes after `after`, in id order: a
/// batch job reads a winery of any size page by page, keeping one page in memory.
///
/// # Errors
/// Database failures.
pub async fn members_page(
    conn: &mut PgConnection,
    winery: &Winery,
    selection: &Selection,
    after: Option<uuid::Uuid>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Member>> {
    let (ids, members_only, from, until) = match selection {
        Selection::Customers(ids) => (
            Some(ids.iter().map(CustomerId::as_uuid).collect::<Vec<_>>()),
            false,
            None,
            None,
        ),
        Selection::Members => (None, true, None, None),
        Selection::Expiring { from, until } => (None, true, Some(*from), Some(*until)),
    };
    let (last_month, this_month) = month_bounds(now, winery.zone);
    let rows = sqlx::query!(
        r#"select c.id, c.email, c.first_name, c.last_name, c.phone, c.anonymized_at,
                  c.loyalty_points_balance, c.loyalty_points_lifetime, c.loyalty_earning_active,
                  c.cumulative_membership_days,
                  e.id as "enrollment?", e.expires_at as "expires_at?", s.name as "stage?",
                  (s.discount_percentage * 100)::int as "discount?",
                  s.min_purchase_amount_cents as "min_cents?",
                  n.name as "next_stage?", (n.discount_percentage * 100)::int as "next_discount?",
                  n.min_purchase_amount_cents as "next_cents?",
                  (select coalesce(sum(t.points), 0) from point_transactions t
                    where t.client_id = c.client_id and t.customer_id = c.id
                      and t.transaction_type = 'earned'
                      and t.transaction_date >= $6 and t.transaction_date < $7)::bigint as "earned_last_month!",
                  p.customer_id as "has_prefs?",
                  p.email_monthly_status as "email_monthly_status?",
                  p.email_expiration_warnings as "email_expiration_warnings?",
                  p.email_promotions as "email_promotions?",
                  p.sms_monthly_status as "sms_monthly_status?",
                  p.sms_expiration_warnings as "sms_expiration_warnings?",
                  p.sms_promotions as "sms_promotions?",
                  p.unsubscribed_all as "unsubscribed_all?",
                  p.sms_opt_in_at as "sms_opt_in_at?",
                  p.sms_phone as "sms_phone?"
           from customers c
           left join lateral (
               select ce.id, ce.expires_at, ce.club_stage_id from club_enrollments ce
               where ce.client_id = c.client_id and ce.customer_id = c.id and ce.status = 'active'
               limit 1
           ) e on true
           left join club_stages s on s.client_id = c.client_id and s.id = e.club_stage_id
           left join lateral (
               select ns.name, ns.discount_percentage, ns.min_purchase_amount_cents from club_stages ns
               where ns.client_id = c.client_id and ns.is_active and ns.stage_order > s.stage_order
               order by ns.stage_order limit 1
           ) n on true
           left join communication_preferences p on p.client_id = c.client_id and p.customer_id = c.id
           where c.client_id = $1 and c.anonymized_at is null
             and ($2::uuid[] is null or c.id = any($2))
             and (not $3 or e.id is not null)
             and ($4::timestamptz is null or (e.expires_at >= $4 and e.expires_at <= $5))
             and ($8::uuid is null or c.id > $8)
           order by c.id
           limit $9"#,
        winery.client.as_uuid(),
        ids.as_deref(),
        members_only,
        from,
        until,
        last_month,
        this_month,
        after,
        limit
    )
    .fetch_all(conn)
    .await?;
    let runtime = super::runtime();
    let money = |cents: Option<i64>| {
        cents
            .map(|c| Money::from_cents(c).display(&winery.currency))
            .unwrap_or_default()
    };
    let percent = |h: Option<i32>| {
        h.and_then(|h| u32::try_from(h).ok())
            .map(|h| Percent::from_hundredths(h).to_string())
            .unwrap_or_default()
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let customer = CustomerId::new(r.id);
            let preferences = r.has_prefs.map(|_| Preferences {
                email_monthly_status: r.email_monthly_status.unwrap_or(true),
                email_expiration_warnings: r.email_expiration_warnings.unwrap_or(true),
                email_promotions: r.email_promotions.unwrap_or(true),
                sms_monthly_status: r.sms_monthly_status.unwrap_or(false),
                sms_expiration_warnings: r.sms_expiration_warnings.unwrap_or(true),
                sms_promotions: r.sms_promotions.unwrap_or(false),
                unsubscribed_all: r.unsubscribed_all.unwrap_or(false),
                sms_opted_in: r.sms_opt_in_at.is_some(),
            });
            let phone = r
                .sms_phone
                .as_deref()
                .or(r.phone.as_deref())
                .and_then(|p| Phone::parse(p).ok());
            let token = links::token(&runtime.link_key, winery.client, customer);
            let days_remaining = r.expires_at.map_or(0, |at| days_until(now, at));
            let name = [r.first_name.as_deref(), r.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let vars = MessageVars {
                first_name: r.first_name.clone().unwrap_or_else(|| "there".to_owned()),
                last_name: r.last_name.clone().unwrap_or_default(),
                email: r.email.clone(),
                phone: r.phone.clone().unwrap_or_default(),
                current_stage: r.stage.clone().unwrap_or_default(),
                discount_percentage: percent(r.discount),
                expires_at: r
                    .expires_at
                    .map(|at| date_label(at, winery.zone))
                    .unwrap_or_default(),
                expires_at_iso: r
                    .expires_at
                    .map(|at| at.with_timezone(&winery.zone).date_naive().to_string())
                    .unwrap_or_default(),
                days_remaining,
                is_expiring_soon: r.expires_at.is_some() && days_remaining <= 30,
                min_purchase_amount: money(r.min_cents),
                has_upgrade_available: r.next_stage.is_some(),
                next_stage: r.next_stage.clone().unwrap_or_default(),
                next_stage_discount: percent(r.next_discount),
                next_stage_amount: money(r.next_cents),
                previous_stage: String::new(),
                points_balance: i64::from(r.loyalty_points_balance),
                points_lifetime: i64::from(r.loyalty_points_lifetime),
                points_earned_last_month: r.earned_last_month,
                is_earning_points: r.loyalty_earning_active,
                points_earned: 0,
                membership_days: i64::from(r.cumulative_membership_days),
                earning_threshold_days: winery.earning_threshold_days,
                reward_name: String::new(),
                reward_points: 0,
                winery_name: winery.name.clone(),
                winery_logo_url: winery.logo_url.clone().unwrap_or_default(),
                shop_url: winery.shop_url.clone(),
                postal_address: winery.postal_address.clone().unwrap_or_default(),
                custom_content: winery.custom_content.clone().unwrap_or_default(),
                unsubscribe_url: links::unsubscribe_url(&runtime.public_url, &token),
                preferences_url: links::preferences_url(&runtime.public_url, &token),
                portal_url: format!("{}/m/{}", runtime.public_url, winery.slug),
                sign_in_url: String::new(),
            };
            Member {
                customer,
                email: r.email,
                phone,
                name,
                enrollment: r.enrollment,
                expires_at: r.expires_at,
                preferences,
                vars,
            }
        })
        .collect())
}

/// Whole days from `now` until `at`, rounded up (domain.md 6.3).
pub fn days_until(now: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    let seconds = (at - now).num_seconds();
    if seconds <= 0 {
        0
    } else {
        seconds.div_euclid(86_400) + i64::from(seconds.rem_euclid(86_400) > 0)
    }
}

/// `July 1, 2026` on the winery's clock.
pub fn date_label(at: DateTime<Utc>, zone: Tz) -> String {
    zone.from_utc_datetime(&at.naive_utc())
        .format("%B %-d, %Y")
        .to_string()
}

/// The lead-time window of the warnings job: enrollments expiring in `[now, now + days]`.
pub fn warning_window(now: DateTime<Utc>, days: i32) -> (DateTime<Utc>, DateTime<Utc>) {
    (now, now + Duration::days(i64::from(days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn days_remaining_round_up_as_in_the_worked_scenario() {
        // domain.md 6.8: 61.125 days become 62.
        assert_eq!(
            days_until(at("2026-05-01T09:00:00Z"), at("2026-07-01T12:00:00Z")),
            62
        );
        assert_eq!(
            days_until(at("2026-09-09T10:00:00Z"), at("2026-09-15T12:00:00Z")),
            7
        );
        assert_eq!(
            days_until(at("2026-09-16T00:00:00Z"), at("2026-09-15T12:00:00Z")),
            0
        );
    }

    #[test]
    fn the_statement_month_is_the_previous_calendar_month_on_the_winerys_clock() {
        let auckland: Tz = "Pacific/Auckland".parse().expect("zone");
        // 09:00 on 1 June in Auckland is 21:00 UTC on 31 May.
        let (from, to) = month_bounds(at("2026-05-31T21:00:00Z"), auckland);
        assert_eq!(from, at("2026-04-30T12:00:00Z"));
        assert_eq!(to, at("2026-05-31T12:00:00Z"));
    }
}
