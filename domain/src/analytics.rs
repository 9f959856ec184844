//! What the admin dashboard shows: the chosen period and its checks, the figures, the chart data,
//! and the points-liability forecast. Wire types, shared by server and browser.

use crate::charts::Series;
use crate::ids::StageId;
use crate::money::Money;
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// The longest period the dashboard sums over.
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;
/// The days ahead that "expiring soon" counts.
pub const EXPIRING_DAYS: u32 = 30;
/// The days the expiry calendar shows.
pub const CALENDAR_DAYS: usize = 90;
/// The months the charts show (the period's last month and the eleven before it).
pub const CHART_MONTHS: usize = 12;
/// The months the liability forecast projects.
pub const FORECAST_MONTHS: usize = 6;

/// The days ahead the at-risk list looks: reminders are for memberships ending soon.
pub const AT_RISK_DAYS: i64 = 90;
/// The most at-risk members listed (the most valuable first).
pub const AT_RISK_LIMIT: i64 = 200;

/// An active member whose usual gap between orders is longer than the time left before their
/// membership ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRisk {
    pub customer: crate::ids::CustomerId,
    pub enrollment: crate::ids::EnrollmentId,
    pub name: String,
    pub email: String,
    pub stage: String,
    pub expires_label: String,
    pub days_left: i64,
    pub usual_gap_days: i64,
    pub last_order_label: String,
    /// What their counted orders add up to, less refunds.
    pub lifetime: Money,
    /// Whether a renewal reminder was queued for this membership today.
    pub reminded_today: bool,
}

/// The at-risk list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRiskList {
    /// The most valuable first, at most [`AT_RISK_LIMIT`].
    pub rows: Vec<AtRisk>,
    /// All members at risk within [`AT_RISK_DAYS`].
    pub total: i64,
    pub currency: String,
}

/// A span of whole local days in the winery's time zone, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a period was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("“{0}” is not a date; use YYYY-MM-DD.")]
    NotADate(String),
    #[error("The period ends ({to}) before it starts ({from}).")]
    EndsBeforeStart { from: NaiveDate, to: NaiveDate },
    #[error("The period is longer than three years; choose a shorter one.")]
    TooLong,
}

impl Period {
    /// The month to date: the 1st of `today`'s month through `today`.
    pub fn month_to_date(today: NaiveDate) -> Self {
        Self {
            from: today.with_day(1).unwrap_or(today),
            to: today,
        }
    }

    /// Reads the period from the dashboard's query parameters; blank ends default to the month to
    /// date.
    ///
    /// # Errors
    /// A malformed date, an end before the start, or a span over [`MAX_PERIOD_DAYS`].
    pub fn parse(from: &str, to: &str, today: NaiveDate) -> Result<Self, PeriodError> {
        let date = |raw: &str| {
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
                .map_err(|_| PeriodError::NotADate(raw.trim().chars().take(40).collect()))
        };
        let default = Self::month_to_date(today);
        let to = if to.trim().is_empty() {
            default.to
        } else {
            date(to)?
        };
        let from = if from.trim().is_empty() {
            to.with_day(1).unwrap_or(to)
        } else {
            date(from)?
        };
        if to < from {
            return Err(PeriodError::EndsBeforeStart { from, to });
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    /// The number of days, both ends counted.
    pub fn days(self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period it is compared with: the whole previous month when this one starts on the 1st
    /// and stays within its month, else the same number of days just before.
    pub fn previous(self) -> Self {
        let to = self.from - Duration::days(1);
        if self.from.day() == 1
            && self.to.month() == self.from.month()
            && self.to.year() == self.from.year()
        {
            return Self {
                from: to.with_day(1).unwrap_or(to),
                to,
            };
        }
        Self {
            from: self.from - Duration::days(self.days()),
            to,
        }
    }

    /// The first days of the [`CHART_MONTHS`] months that end with the period's last month.
    pub fn chart_months(self) -> Vec<NaiveDate> {
        let last = self.to.with_day(1).unwrap_or(self.to);
        (0..CHART_MONTHS)
            .rev()
            .map(|back| months_before(last, back))
            .collect()
    }

    /// The last days of the [`Period::chart_months`].
    pub fn chart_month_ends(self) -> Vec<NaiveDate> {
        self.chart_months()
            .into_iter()
            .map(|first| first + chrono::Months::new(1) - Duration::days(1))
            .collect()
    }
}

/// The first of the month `back` months before `first`.
pub fn months_before(first: NaiveDate, back: usize) -> NaiveDate {
    let index = first.year() * 12 + first.month0() as i32 - i32::try_from(back).unwrap_or(0);
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(first)
}

/// Club movements over a period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flows {
    /// New memberships (not upgrades).
    pub joined: i64,
    pub renewed: i64,
    pub upgraded: i64,
    pub expired: i64,
}

/// Orders and their revenue (total less refunds) for one kind of buyer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sales {
    pub orders: i64,
    pub revenue: Money,
}

impl Sales {
    /// The average order value, when there were orders.
    pub fn average(self) -> Option<Money> {
        (self.orders > 0).then(|| Money::from_cents(self.revenue.cents() / self.orders))
    }
}

/// Active members of one stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCount {
    pub id: StageId,
    pub name: String,
    pub members: i64,
}

/// A ratio shown as a percentage with one decimal, or "—" when the base is zero.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The data behind the five charts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Charts {
    /// "Nov 2026", one per chart month.
    pub months: Vec<String>,
    /// Active members per stage at each month's end (the current month: now), lowest stage first.
    pub stages: Vec<Series>,
    /// Joined, renewed, upgraded, expired per month.
    pub flows: Vec<Series>,
    /// Points issued and redeemed per month.
    pub points: Vec<Series>,
    /// Revenue (in dollars) from members and from others per month.
    pub revenue: Vec<Series>,
    /// The expiry calendar: the first day and the number of memberships ending on each day.
    pub calendar_from: Option<NaiveDate>,
    pub calendar: Vec<u64>,
}

/// The dashboard for one period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub period: Period,
    pub previous: Period,
    pub time_zone: String,
    pub currency: String,
    /// Active members per stage now (or at the period's end, for a past period), top stage first.
    pub stages: Vec<StageCount>,
    pub flows: Flows,
    pub previous_flows: Flows,
    pub expiring_soon: i64,
    /// Members at risk of lapsing within [`AT_RISK_DAYS`] (see [`AtRisk`]).
    pub at_risk: i64,
    /// Unredeemed points now, and their value.
    pub points_outstanding: i64,
    pub liability: Money,
    /// The projected liability at the end of each of the next [`FORECAST_MONTHS`] months.
    pub forecast: Vec<(String, Money)>,
    pub points_issued: i64,
    pub points_redeemed: i64,
    pub members: Sales,
    pub others: Sales,
    /// CRM operations that gave up, and messages not delivered, in the period.
    pub crm_failures: i64,
    pub undelivered: i64,
    /// Whether the winery has any order, member or stage at all.
    pub has_data: bool,
    pub charts: Charts,
}

impl Dashboard {
    /// Points redeemed per point issued in the period, as a percentage.
    pub fn redemption_rate(&self) -> Option<f64> {
        rate(self.points_redeemed, self.points_issued)
    }

    /// Upgrades per member who qualified again (renewed or upgraded) in the period.
    pub fn upgrade_rate(&self) -> Option<f64> {
        rate(
            self.flows.upgraded,
            self.flows.renewed + self.flows.upgraded,
        )
    }

    /// All active members.
    pub fn active_members(&self) -> i64 {
        self.stages.iter().map(|s| s.members).sum()
    }
}

/// Projects `history` (equally spaced values, oldest first) `ahead` steps on its least-squares
/// line, never below zero. Fewer than two points project the last value flat.
pub fn forecast(history: &[f64], ahead: usize) -> Vec<f64> {
    let n = history.len();
    let Some(&last) = history.last() else {
        return vec![0.0; ahead];
    };
    if n < 2 {
        return vec![last.max(0.0); ahead];
    }
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = history.iter().sum::<f64>() / nf;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in history.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = sxy / sxx;
    (1..=ahead)
        .map(|k| (mean_y + slope * ((n - 1 + k) as f64 - mean_x)).max(0.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid")
    }

    #[test]
    fn a_blank_period_is_the_month_to_date_and_compares_with_the_whole_last_month() {
        let p = Period::parse("", "", d("2026-03-17")).expect("valid");
        assert_eq!((p.from, p.to), (d("2026-03-01"), d("2026-03-17")));
        let prev = p.previous();
        assert_eq!((prev.from, prev.to), (d("2026-02-01"), d("2026-02-28")));
    }

    #[test]
    fn an_arbitrary_period_compares_with_as_many_days_before_it() {
        let p = Period::parse("2026-03-10", "2026-03-19", d("2026-12-01")).expect("valid");
        assert_eq!(p.days(), 10);
        let prev = p.previous();
        assert_eq!((prev.from, prev.to), (d("2026-02-28"), d("2026-03-09")));
    }

    #[test]
    fn a_period_ending_before_it_starts_is_refused_with_both_dates() {
        let err = Period::parse("2026-05-02", "2026-05-01", d("2026-12-01")).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "The period ends (2026-05-01) before it starts (2026-05-02)."
        );
        assert!(matches!(
            Period::parse("May 1", "", d("2026-12-01")),
            Err(PeriodError::NotADate(_))
        ));
        assert_eq!(
            Period::parse("2020-01-01", "2026-01-01", d("2026-12-01")),
            Err(PeriodError::TooLong)
        );
    }

    #[test]
    fn chart_months_are_the_twelve_months_ending_with_the_period_across_a_year_end() {
        let p = Period::parse("2026-02-01", "2026-02-10", d("2026-12-01")).expect("valid");
        let months = p.chart_months();
        assert_eq!(months.len(), 12);
        assert_eq!(months[0], d("2025-03-01"));
        assert_eq!(months[11], d("2026-02-01"));
        let ends = p.chart_month_ends();
        assert_eq!((ends[0], ends[11]), (d("2025-03-31"), d("2026-02-28")));
    }

    #[test]
    fn the_forecast_follows_a_straight_trend_and_never_goes_below_zero() {
        assert_eq!(forecast(&[10.0, 20.0, 30.0], 2), vec![40.0, 50.0]);
        assert_eq!(forecast(&[30.0, 20.0, 10.0], 3), vec![0.0, 0.0, 0.0]);
        assert_eq!(forecast(&[7.0], 2), vec![7.0, 7.0]);
        assert_eq!(forecast(&[], 1), vec![0.0]);
    }

    #[test]
    fn rates_have_one_decimal_and_none_without_a_base() {
        assert_eq!(rate(1, 3), Some(33.3));
        assert_eq!(rate(5, 0), None);
        let sales = Sales {
            orders: 4,
            revenue: Money::from_cents(10_001),
        };
        assert_eq!(sales.average(), Some(Money::from_cents(2_500)));
        assert_eq!(Sales::default().average(), None);
    }
}
