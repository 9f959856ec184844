//! The admin dashboard: its figures and chart data read from the rollups (`db::stats`) and a few
//! indexed live counts, and the upkeep of those rollups — after each order, by the nightly
//! `refresh-stats` job, and in full after an import or a demo seed.

use crate::Result;
use crate::auth::Admin;
use crate::db::{self, clients, stats};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::Money;
use domain::analytics::{
    AT_RISK_DAYS, AT_RISK_LIMIT, AtRisk, AtRiskList, CALENDAR_DAYS, Charts, Dashboard,
    EXPIRING_DAYS, FORECAST_MONTHS, Flows, Period, Sales, StageCount, forecast, months_before,
};
use domain::charts::Series;
use domain::ids::{ClientId, StageId};
use sqlx::{PgConnection, PgPool};

/// The days before today the nightly job recomputes (late refunds, expiries, redemptions).
pub const NIGHTLY_DAYS: i64 = 40;

/// What a refresh did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refreshed {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub snapshots: usize,
}

/// Brings the winery's rollups up to date as of `now`: every day since its first data when
/// `full` (or when nothing was built yet), else the last [`NIGHTLY_DAYS`]; then the stage
/// snapshot of yesterday and of any of the last twelve month ends still missing.
///
/// # Errors
/// Database failures only.
pub async fn refresh(
    pool: &PgPool,
    client: ClientId,
    now: DateTime<Utc>,
    full: bool,
) -> Result<Refreshed> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let zone = zone_of(&mut tx, client).await?;
    let refreshed = refresh_in(&mut tx, client, zone, now, full).await?;
    tx.commit().await?;
    Ok(refreshed)
}

/// [`refresh`] inside the caller's transaction.
///
/// # Errors
/// Database failures only.
pub async fn refresh_in(
    conn: &mut PgConnection,
    client: ClientId,
    zone: Tz,
    now: DateTime<Utc>,
    full: bool,
) -> Result<Refreshed> {
    let today = stats::day_of(now, zone);
    let recent = today - Duration::days(NIGHTLY_DAYS);
    let from = if full || !stats::has_days(conn, client).await? {
        stats::first_day(conn, client, zone)
            .await?
            .map_or(today, |first| first.min(today))
    } else {
        recent
    };
    stats::refresh_days(conn, client, zone, from, today).await?;
    if full {
        stats::refresh_customers(conn, client).await?;
    }
    let yesterday = today - Duration::days(1);
    let mut days = vec![yesterday];
    let this_month = today.with_day(1).unwrap_or(today);
    for back in 0..11 {
        days.push(months_before(this_month, back) - Duration::days(1));
    }
    days.sort_unstable();
    days.dedup();
    let mut wanted = stats::missing_snapshots(conn, client, &days).await?;
    if !wanted.contains(&yesterday) {
        wanted.push(yesterday);
    }
    stats::snapshot_stages(conn, client, zone, &wanted).await?;
    Ok(Refreshed {
        from,
        to: today,
        snapshots: wanted.len(),
    })
}

/// Recomputes the rollup days of `instants` in the caller's transaction (after a redemption, an
/// adjustment or a manual change).
///
/// # Errors
/// Database failures only.
pub async fn touch(
    conn: &mut PgConnection,
    client: ClientId,
    instants: &[DateTime<Utc>],
) -> Result<()> {
    let zone = zone_of(conn, client).await?;
    stats::touch(conn, client, zone, instants).await
}

/// Recomputes the rollup days from `from`'s through `to`'s in the caller's transaction.
///
/// # Errors
/// Database failures only.
pub async fn touch_range(
    conn: &mut PgConnection,
    client: ClientId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<()> {
    let zone = zone_of(conn, client).await?;
    stats::refresh_days(
        conn,
        client,
        zone,
        stats::day_of(from, zone),
        stats::day_of(to, zone),
    )
    .await?;
    Ok(())
}

async fn zone_of(conn: &mut PgConnection, client: ClientId) -> Result<Tz> {
    let found = clients::find(conn, client).await?;
    Ok(found
        .and_then(|c| domain::calendar::parse_time_zone(&c.time_zone).ok())
        .unwrap_or(chrono_tz::UTC))
}

struct Sums {
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

impl Sums {
    fn flows(&self) -> Flows {
        Flows {
            joined: self.joined,
            renewed: self.renewed,
            upgraded: self.upgraded,
            expired: self.expired,
        }
    }
}

async fn sums(conn: &mut PgConnection, client: ClientId, period: Period) -> Result<Sums> {
    let row = sqlx::query!(
        r#"select coalesce(sum(joined), 0)::int8 as "joined!", coalesce(sum(renewed), 0)::int8 as "renewed!",
                  coalesce(sum(upgraded), 0)::int8 as "upgraded!", coalesce(sum(expired), 0)::int8 as "expired!",
                  coalesce(sum(member_orders), 0)::int8 as "member_orders!",
                  coalesce(sum(member_revenue_cents), 0)::int8 as "member_revenue!",
                  coalesce(sum(other_orders), 0)::int8 as "other_orders!",
                  coalesce(sum(other_revenue_cents), 0)::int8 as "other_revenue!",
                  coalesce(sum(points_issued), 0)::int8 as "issued!",
                  coalesce(sum(points_redeemed), 0)::int8 as "redeemed!"
           from stats_days where client_id = $1 and day between $2 and $3"#,
        client.as_uuid(),
        period.from,
        period.to
    )
    .fetch_one(conn)
    .await?;
    Ok(Sums {
        joined: row.joined,
        renewed: row.renewed,
        upgraded: row.upgraded,
        expired: row.expired,
        member_orders: row.member_orders,
        member_revenue: row.member_revenue,
        other_orders: row.other_orders,
        other_revenue: row.other_revenue,
        issued: row.issued,
        redeemed: row.redeemed,
    })
}

fn month_label(first: NaiveDate) -> String {
    first.format("%b %Y").to_string()
}

/// The dashboard for `period`, as of `now`.
///
/// # Errors
/// Database failures only.
pub async fn dashboard(
    pool: &PgPool,
    admin: &Admin,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Dashboard> {
    let client = admin.client_id;
    let zone = admin.zone();
    let today = stats::day_of(now, zone);
    let mut tx = db::begin_scoped(pool, client).await?;
    // The stage counts of days already over come from snapshots: the period's last day and the
    // charts' month-ends. The nightly job keeps yesterday's and the last twelve month-ends; any
    // other is computed from enrollment history the first time it is asked for, and kept.
    let mut past: Vec<NaiveDate> = period
        .chart_month_ends()
        .into_iter()
        .chain(std::iter::once(period.to))
        .filter(|d| *d < today)
        .collect();
    past.sort_unstable();
    past.dedup();
    let missing = stats::missing_snapshots(&mut tx, client, &past).await?;
    if !missing.is_empty() {
        stats::snapshot_stages(&mut tx, client, zone, &missing).await?;
    }
    let current = sums(&mut tx, client, period).await?;
    let previous_period = period.previous();
    let previous = sums(&mut tx, client, previous_period).await?;

    // Active members per stage: live for a period reaching today, else the period's last snapshot.
    let stage_rows = sqlx::query!(
        r#"select s.id, s.name, s.stage_order,
                  case when $2::date >= $3::date
                       then (select count(*) from club_enrollments e
                             where e.client_id = $1 and e.status = 'active' and e.club_stage_id = s.id)
                       else coalesce((select d.members::int8 from stats_stage_days d
                                      where d.client_id = $1 and d.stage_id = s.id and d.day = $2), 0)
                  end as "members!"
           from club_stages s where s.client_id = $1
           order by s.stage_order desc"#,
        client.as_uuid(),
        period.to,
        today
    )
    .fetch_all(&mut *tx)
    .await?;
    let stages: Vec<StageCount> = stage_rows
        .iter()
        .map(|r| StageCount {
            id: StageId::new(r.id),
            name: r.name.clone(),
            members: r.members,
        })
        .collect();

    let live = sqlx::query!(
        r#"select
               (select count(*) from club_enrollments where client_id = $1 and status = 'active'
                  and expires_at > $2 and expires_at <= $3) as "expiring!",
               (select count(*) from club_enrollments where client_id = $1 and status = 'active'
                  and at_risk_from <= $2 and expires_at > $2 and expires_at <= $6) as "at_risk!",
               (select count(*) from crm_sync_queue where client_id = $1 and status = 'failed') as "crm_failures!",
               (select count(*) from communication_log where client_id = $1 and status in ('failed', 'bounced')
                  and created_at >= $4 and created_at < $5) as "undelivered!",
               (select coalesce(sum(points_net), 0)::int8 from stats_days where client_id = $1) as "outstanding!",
               (select (point_dollar_value * 10000)::int8 from loyalty_point_rules where client_id = $1) as "value_e4",
               (exists (select 1 from club_stages where client_id = $1)
                or exists (select 1 from orders where client_id = $1)) as "has_data!""#,
        client.as_uuid(),
        now,
        now + Duration::days(i64::from(EXPIRING_DAYS)),
        start_of(period.from, zone),
        start_of(period.to + Duration::days(1), zone),
        now + Duration::days(AT_RISK_DAYS)
    )
    .fetch_one(&mut *tx)
    .await?;
    let value_e4 = live.value_e4.unwrap_or(100);
    let liability_of =
        |points: f64| Money::from_cents((points * value_e4 as f64 / 100.0).round() as i64);

    let charts = charts(
        &mut tx,
        client,
        zone,
        period,
        now,
        &stages.iter().rev().cloned().collect::<Vec<_>>(),
    )
    .await?;
    // The liability at each chart month's end, then its trend projected.
    let outstanding_by_month = sqlx::query!(
        r#"select date_trunc('month', day)::date as "month!", sum(points_net)::int8 as "net!"
           from stats_days where client_id = $1 and day <= $2 group by 1 order by 1"#,
        client.as_uuid(),
        today
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut running = 0_i64;
    let history: Vec<f64> = outstanding_by_month
        .iter()
        .map(|r| {
            running += r.net;
            running as f64
        })
        .collect();
    let recent = &history[history.len().saturating_sub(6)..];
    let this_month = today.with_day(1).unwrap_or(today);
    let forecast = forecast(recent, FORECAST_MONTHS)
        .into_iter()
        .enumerate()
        .map(|(i, points)| {
            let month = this_month + chrono::Months::new(u32::try_from(i).unwrap_or(0) + 1);
            (month_label(month), liability_of(points))
        })
        .collect();
    Ok(Dashboard {
        period,
        previous: previous_period,
        time_zone: admin.time_zone.clone(),
        currency: admin.currency.clone(),
        stages,
        flows: current.flows(),
        previous_flows: previous.flows(),
        expiring_soon: live.expiring,
        at_risk: live.at_risk,
        points_outstanding: live.outstanding,
        liability: liability_of(live.outstanding as f64),
        forecast,
        points_issued: current.issued,
        points_redeemed: current.redeemed,
        members: Sales {
            orders: current.member_orders,
            revenue: Money::from_cents(current.member_revenue),
        },
        others: Sales {
            orders: current.other_orders,
            revenue: Money::from_cents(current.other_revenue),
        },
        crm_failures: live.crm_failures,
        undelivered: live.undelivered,
        has_data: live.has_data,
        charts,
    })
}

/// The instant local midnight starts `day` in `zone`.
pub fn start_of(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    domain::calendar::resolve_local(zone, day.and_time(chrono::NaiveTime::MIN))
}

async fn charts(
    conn: &mut PgConnection,
    client: ClientId,
    zone: Tz,
    period: Period,
    now: DateTime<Utc>,
    stages: &[StageCount],
) -> Result<Charts> {
    let months = period.chart_months();
    let ends = period.chart_month_ends();
    let (first, last_end) = (months[0], ends[ends.len() - 1]);
    let rows = sqlx::query!(
        r#"select date_trunc('month', day)::date as "month!",
                  sum(joined)::int8 as "joined!", sum(renewed)::int8 as "renewed!",
                  sum(upgraded)::int8 as "upgraded!", sum(expired)::int8 as "expired!",
                  sum(member_revenue_cents)::int8 as "member_revenue!", sum(other_revenue_cents)::int8 as "other_revenue!",
                  sum(points_issued)::int8 as "issued!", sum(points_redeemed)::int8 as "redeemed!"
           from stats_days where client_id = $1 and day between $2 and $3 group by 1"#,
        client.as_uuid(),
        first,
        last_end
    )
    .fetch_all(&mut *conn)
    .await?;
    let index = |month: NaiveDate| months.iter().position(|m| *m == month);
    let n = months.len();
    let mut flows = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let mut points = [vec![0.0; n], vec![0.0; n]];
    let mut revenue = [vec![0.0; n], vec![0.0; n]];
    for r in &rows {
        let Some(i) = index(r.month) else { continue };
        flows[0][i] = r.joined as f64;
        flows[1][i] = r.renewed as f64;
        flows[2][i] = r.upgraded as f64;
        flows[3][i] = r.expired as f64;
        points[0][i] = r.issued as f64;
        points[1][i] = r.redeemed as f64;
        revenue[0][i] = (r.member_revenue as f64 / 100.0).round();
        revenue[1][i] = (r.other_revenue as f64 / 100.0).round();
    }
    let named = |names: &[&str], values: Vec<Vec<f64>>| -> Vec<Series> {
        names
            .iter()
            .zip(values)
            .map(|(name, values)| Series {
                name: (*name).to_owned(),
                values,
            })
            .collect()
    };

    // Members per stage at each month's end: snapshots, and live counts for a month not over yet.
    let today = stats::day_of(now, zone);
    let snaps = sqlx::query!(
        "select day, stage_id, members from stats_stage_days where client_id = $1 and day = any($2)",
        client.as_uuid(),
        &ends
    )
    .fetch_all(&mut *conn)
    .await?;
    let stage_series = stages
        .iter()
        .map(|s| Series {
            name: s.name.clone(),
            values: ends
                .iter()
                .map(|end| {
                    if *end >= today {
                        s.members as f64
                    } else {
                        snaps
                            .iter()
                            .find(|r| r.day == *end && r.stage_id == s.id.as_uuid())
                            .map_or(0.0, |r| f64::from(r.members))
                    }
                })
                .collect(),
        })
        .collect();

    // The expiry calendar: memberships ending on each of the next 90 local days.
    let calendar_rows = sqlx::query!(
        r#"select (expires_at at time zone $2)::date as "day!", count(*) as "n!"
           from club_enrollments
           where client_id = $1 and status = 'active' and expires_at >= $3 and expires_at < $4
           group by 1"#,
        client.as_uuid(),
        zone.name(),
        start_of(today, zone),
        start_of(today + Duration::days(CALENDAR_DAYS as i64), zone)
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut calendar = vec![0_u64; CALENDAR_DAYS];
    for r in calendar_rows {
        let offset = (r.day - today).num_days();
        if let Some(slot) = usize::try_from(offset)
            .ok()
            .and_then(|i| calendar.get_mut(i))
        {
            *slot = u64::try_from(r.n).unwrap_or(0);
        }
    }
    Ok(Charts {
        months: months.iter().map(|m| month_label(*m)).collect(),
        stages: stage_series,
        flows: named(
            &["New", "Renewed", "Upgraded", "Expired"],
            flows.into_iter().collect(),
        ),
        points: named(&["Issued", "Redeemed"], points.into_iter().collect()),
        revenue: named(&["Members", "Non-members"], revenue.into_iter().collect()),
        calendar_from: Some(today),
        calendar,
    })
}

/// The members at risk of lapsing: an active membership ending within [`AT_RISK_DAYS`] whose
/// member's usual gap between orders is longer than the time left. The most valuable first.
///
/// # Errors
/// Database failures only.
pub async fn at_risk(pool: &PgPool, admin: &Admin, now: DateTime<Utc>) -> Result<AtRiskList> {
    let zone = admin.zone();
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let until = now + Duration::days(AT_RISK_DAYS);
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from club_enrollments
           where client_id = $1 and status = 'active' and at_risk_from <= $2 and expires_at > $2 and expires_at <= $3"#,
        admin.client_id.as_uuid(),
        now,
        until
    )
    .fetch_one(&mut *tx)
    .await?;
    // Customers from the most valuable down, each probed for an at-risk membership: a page
    // comes after a few thousand probes, where sorting every member at risk would not.
    let rows = sqlx::query!(
        r#"select c.id as customer, e.id as enrollment, c.email, c.first_name, c.last_name, s.name as stage,
                  e.expires_at, c.last_order_at as "last_order_at!", c.lifetime_cents,
                  (extract(epoch from (c.last_order_at - c.first_order_at)) / (c.order_count - 1) / 86400)::int8 as "gap_days!",
                  exists (select 1 from communication_log l
                          where l.client_id = e.client_id
                            and l.idempotency_key = $5 || e.id || $6) as "reminded!"
           from customers c
           cross join lateral (
               select e.id, e.client_id, e.club_stage_id, e.expires_at from club_enrollments e
               where e.client_id = c.client_id and e.customer_id = c.id and e.status = 'active'
                 and e.at_risk_from <= $2 and e.expires_at > $2 and e.expires_at <= $3
               limit 1
           ) as e
           join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
           where c.client_id = $1 and c.order_count >= 2
           order by c.lifetime_cents desc, c.email
           limit $4"#,
        admin.client_id.as_uuid(),
        now,
        until,
        AT_RISK_LIMIT,
        reminder_key_prefix(),
        format!(":{}", stats::day_of(now, zone))
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let name = format!(
                "{} {}",
                r.first_name.unwrap_or_default(),
                r.last_name.unwrap_or_default()
            )
            .trim()
            .to_owned();
            AtRisk {
                customer: domain::ids::CustomerId::new(r.customer),
                enrollment: domain::ids::EnrollmentId::new(r.enrollment),
                name: if name.is_empty() {
                    r.email.clone()
                } else {
                    name
                },
                email: r.email,
                stage: r.stage,
                expires_label: domain::calendar::local_label(r.expires_at, zone),
                days_left: (r.expires_at - now).num_days(),
                usual_gap_days: r.gap_days,
                last_order_label: domain::calendar::local_label(r.last_order_at, zone),
                lifetime: Money::from_cents(r.lifetime_cents),
                reminded_today: r.reminded,
            }
        })
        .collect();
    Ok(AtRiskList {
        rows,
        total,
        currency: admin.currency.clone(),
    })
}

/// The event of a renewal reminder: one per membership and local day (so the at-risk list can say
/// "reminded today" and a second click the same day sends nothing).
fn reminder_event(enrollment: uuid::Uuid, day: chrono::NaiveDate) -> String {
    format!("reminder:{enrollment}:{day}")
}

/// What every reminder's idempotency key starts with (the list finds today's by prefix, the
/// membership and `:<day>`).
fn reminder_key_prefix() -> String {
    domain::comms::event_key(domain::comms::MessageType::ExpirationWarning, "reminder:")
}

/// Sends an active member a renewal reminder now: the expiration warning, through the winery's
/// provider, at most once a day per membership. Returns what happened, in a sentence.
///
/// # Errors
/// An unknown (or another winery's, or no longer active) membership; a viewer.
pub async fn remind(
    pool: &PgPool,
    admin: &Admin,
    enrollment: domain::ids::EnrollmentId,
    now: DateTime<Utc>,
) -> Result<String> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let customer = sqlx::query_scalar!(
        "select customer_id from club_enrollments where client_id = $1 and id = $2 and status = 'active'",
        admin.client_id.as_uuid(),
        enrollment.as_uuid()
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(crate::Error::NotFound {
        what: "active membership",
    })?;
    let today = stats::day_of(now, admin.zone());
    let done = crate::comms::outbox::queue_event(
        &mut tx,
        admin.client_id,
        domain::ids::CustomerId::new(customer),
        domain::comms::MessageType::ExpirationWarning,
        &reminder_event(enrollment.as_uuid(), today),
        &crate::comms::outbox::Detail::default(),
        now,
    )
    .await?;
    crate::db::audit::record(
        &mut tx,
        crate::db::audit::Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action: "member.reminded",
            entity_type: "club_enrollment",
            entity_id: Some(enrollment.as_uuid()),
            before: None,
            after: Some(serde_json::json!({ "queued": done.queued, "skipped": done.skipped })),
            reason: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(if done.queued > 0 {
        "Renewal reminder queued; it goes out within a minute.".to_owned()
    } else if done.duplicates > 0 {
        "A reminder already went to this member today.".to_owned()
    } else if done.skipped > 0 {
        "Not sent: the member opted out of these messages, or has no address for them (see the outbox).".to_owned()
    } else {
        "Not sent: expiration warnings are switched off in the message settings.".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reminder_key_is_its_prefix_the_membership_and_the_day() {
        let id = uuid::Uuid::nil();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let key = domain::comms::event_key(
            domain::comms::MessageType::ExpirationWarning,
            &reminder_event(id, day),
        );
        assert_eq!(key, format!("{}{id}:{day}", reminder_key_prefix()));
        assert_eq!(
            key,
            "event:expiration_warning:reminder:00000000-0000-0000-0000-000000000000:2026-12-02"
        );
    }
}
