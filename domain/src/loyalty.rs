//! Loyalty points' pure rules (domain.md section 5, decisions D10 to D15): the winery's settings,
//! points on an order (D12), the earning switch (D11), redemption checks (D13), and the rewards
//! catalog's values. Nothing here touches a database.

use crate::money::Money;
use crate::percent::Percent;
use crate::text::{self, TextError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A winery's loyalty settings, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltySettings {
    /// Points per dollar, in hundredths (1.00 point per dollar is 100).
    pub points_per_dollar_hundredths: u32,
    /// Extra points on top, as a percentage (50% multiplies by 1.5).
    pub bonus: Percent,
    /// Days of membership before an order earns (D11; default 365).
    pub min_membership_days: u32,
    /// The dollar value of one point, in ten-thousandths of a dollar (0.01 is 100).
    pub point_value_ten_thousandths: u32,
    /// The balance needed before anything can be redeemed (D13).
    pub min_points_for_redemption: u32,
    pub is_active: bool,
}

impl Default for LoyaltySettings {
    fn default() -> Self {
        Self {
            points_per_dollar_hundredths: 100,
            bonus: Percent::from_hundredths(0),
            min_membership_days: 365,
            point_value_ten_thousandths: 100,
            min_points_for_redemption: 100,
            is_active: true,
        }
    }
}

/// Which settings field was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsProblem {
    /// The form input.
    pub field: &'static str,
    pub message: String,
}

fn decimal_units(raw: &str, places: u32, max_units: u64) -> Option<u32> {
    let raw = raw.trim();
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > places as usize || whole.len() > 9 {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut fraction_units: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    for _ in fraction.len()..places as usize {
        fraction_units *= 10;
    }
    let units = whole
        .checked_mul(10u64.pow(places))?
        .checked_add(fraction_units)?;
    (units <= max_units)
        .then(|| u32::try_from(units).ok())
        .flatten()
}

impl LoyaltySettings {
    /// Parses the settings form.
    ///
    /// # Errors
    /// The first refused field, with a sentence for the admin.
    pub fn parse(
        points_per_dollar: &str,
        bonus_percent: &str,
        min_membership_days: &str,
        point_value: &str,
        min_points_for_redemption: &str,
        is_active: bool,
    ) -> Result<Self, SettingsProblem> {
        let problem = |field, message: &str| SettingsProblem {
            field,
            message: message.to_owned(),
        };
        let points_per_dollar_hundredths = decimal_units(points_per_dollar, 2, 100_000)
            .ok_or_else(|| {
                problem(
                    "points_per_dollar",
                    "Points per dollar must be a number from 0 to 1,000 with at most two decimals.",
                )
            })?;
        let bonus = Percent::parse(bonus_percent)
            .ok()
            .filter(|p| p.hundredths() <= 100_000)
            .ok_or_else(|| {
                problem(
                    "bonus_percent",
                    "The bonus must be a percentage from 0 to 1,000.",
                )
            })?;
        let min_membership_days = min_membership_days
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| *d <= 3_650)
            .ok_or_else(|| {
                problem(
                    "min_membership_days",
                    "The membership days before earning must be a whole number from 0 to 3,650.",
                )
            })?;
        let point_value_ten_thousandths = decimal_units(point_value, 4, 1_000_000)
            .filter(|v| *v > 0)
            .ok_or_else(|| problem("point_value", "A point's value must be more than $0 and at most $100, with at most four decimals."))?;
        let min_points_for_redemption = min_points_for_redemption
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|p| *p <= 10_000_000)
            .ok_or_else(|| {
                problem(
                    "min_points_for_redemption",
                    "The minimum balance to redeem must be a whole number of points.",
                )
            })?;
        Ok(Self {
            points_per_dollar_hundredths,
            bonus,
            min_membership_days,
            point_value_ten_thousandths,
            min_points_for_redemption,
            is_active,
        })
    }

    /// Points per dollar as typed ("1.5").
    pub fn points_per_dollar_text(&self) -> String {
        Percent::from_hundredths(self.points_per_dollar_hundredths).to_plain_string()
    }

    /// A point's value as typed ("0.01").
    pub fn point_value_text(&self) -> String {
        let v = self.point_value_ten_thousandths;
        let text = format!("{}.{:04}", v / 10_000, v % 10_000);
        let trimmed = text.trim_end_matches('0');
        if trimmed.ends_with('.') {
            format!("{trimmed}00")
        } else {
            trimmed.to_owned()
        }
    }

    /// The dollar value of `points`, rounded down to the cent.
    pub fn value_of(&self, points: i64) -> Money {
        Money::from_cents(points * i64::from(self.point_value_ten_thousandths) / 100)
    }
}

/// D12: `floor(qualifying amount × points per dollar × (1 + bonus / 100))`, floored once, after
/// the bonus. Integer arithmetic throughout.
pub fn points_for(amount: Money, settings: &LoyaltySettings) -> i64 {
    let cents = i128::from(amount.cents().max(0));
    let rate = i128::from(settings.points_per_dollar_hundredths);
    let bonus = 10_000 + i128::from(settings.bonus.hundredths());
    let points = cents * rate * bonus / (100 * 100 * 10_000);
    i64::try_from(points).unwrap_or(i64::MAX)
}

/// D11: whether an order at this moment earns points. Earning needs an active membership, active
/// rules, and at least the threshold of progress days.
pub fn earning(member: bool, settings: &LoyaltySettings, progress_days: i64) -> bool {
    member && settings.is_active && progress_days >= i64::from(settings.min_membership_days)
}

/// D4: the points a refund takes back from an order that earned `earned`: in proportion to the
/// refunded share of the order's total, rounded down, less what earlier refunds already took.
pub fn points_to_reverse(earned: i64, refunded: Money, total: Money, already_reversed: i64) -> i64 {
    if total.cents() <= 0 || earned <= 0 {
        return 0;
    }
    let share = i128::from(refunded.cents().clamp(0, total.cents()));
    let due = i128::from(earned) * share / i128::from(total.cents());
    (i64::try_from(due).unwrap_or(earned) - already_reversed).max(0)
}

/// The kinds of reward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RewardType {
    Merchandise,
    Event,
    Tasting,
    /// Wine at a points price, only inside its dated window.
    WinePointSale,
    Other,
}

impl RewardType {
    pub const ALL: [RewardType; 5] = [
        Self::Merchandise,
        Self::Event,
        Self::Tasting,
        Self::WinePointSale,
        Self::Other,
    ];

    /// Reads the stored word.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim() {
            "merchandise" => Self::Merchandise,
            "event" => Self::Event,
            "tasting" => Self::Tasting,
            "wine_point_sale" => Self::WinePointSale,
            "other" => Self::Other,
            _ => return None,
        })
    }

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merchandise => "merchandise",
            Self::Event => "event",
            Self::Tasting => "tasting",
            Self::WinePointSale => "wine_point_sale",
            Self::Other => "other",
        }
    }

    /// The word for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Merchandise => "Merchandise",
            Self::Event => "Event",
            Self::Tasting => "Tasting",
            Self::WinePointSale => "Wine at a points price",
            Self::Other => "Other",
        }
    }
}

/// A reward's editable values, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardValues {
    pub reward_type: RewardType,
    pub name: String,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub points_required: u32,
    /// `None`: unlimited stock.
    pub quantity_available: Option<u32>,
    /// `None`: no per-customer limit.
    pub per_customer_limit: Option<u32>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
}

fn optional_count(
    raw: &str,
    field: &'static str,
    what: &str,
    min: u32,
) -> Result<Option<u32>, SettingsProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<u32>()
        .ok()
        .filter(|n| *n >= min && *n <= 10_000_000)
        .map(Some)
        .ok_or_else(|| SettingsProblem {
            field,
            message: format!("{what} must be a whole number of at least {min}, or empty."),
        })
}

impl RewardValues {
    /// Parses the reward form. Times are already instants (the form's local times are resolved in
    /// the winery's zone by the caller).
    ///
    /// # Errors
    /// The first refused field, with a sentence for the admin.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        reward_type: &str,
        name: &str,
        description: &str,
        image_url: &str,
        points_required: &str,
        quantity_available: &str,
        per_customer_limit: &str,
        available_from: Option<DateTime<Utc>>,
        available_until: Option<DateTime<Utc>>,
    ) -> Result<Self, SettingsProblem> {
        let problem = |field, message: String| SettingsProblem { field, message };
        let reward_type = RewardType::parse(reward_type)
            .ok_or_else(|| problem("reward_type", "Choose the kind of reward.".to_owned()))?;
        let name = text::bounded(name, 255, false)
            .map_err(|e| problem("name", format!("The reward's name {e}.")))?;
        let description = text::optional(description, 2_000, true)
            .map_err(|e| problem("description", format!("The description {e}.")))?;
        let image_url = text::optional(image_url, 1_000, false)
            .map_err(|e| problem("image_url", format!("The image address {e}.")))?;
        if image_url
            .as_ref()
            .is_some_and(|url| !(url.starts_with("https://") || url.starts_with("http://")))
        {
            return Err(problem(
                "image_url",
                "The image address must start with https:// or http://.".to_owned(),
            ));
        }
        let points_required = points_required
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|p| *p > 0 && *p <= 10_000_000)
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| {
                problem(
                    "points_required",
                    "The cost must be a whole number of points above 0.".to_owned(),
                )
            })?;
        let quantity_available =
            optional_count(quantity_available, "quantity_available", "The stock", 0)?;
        let per_customer_limit = optional_count(
            per_customer_limit,
            "per_customer_limit",
            "The limit per customer",
            1,
        )?;
        if let (Some(from), Some(until)) = (available_from, available_until)
            && until <= from
        {
            return Err(problem(
                "available_until",
                "The availability must end after it starts.".to_owned(),
            ));
        }
        if reward_type == RewardType::WinePointSale
            && (available_from.is_none() || available_until.is_none())
        {
            return Err(problem(
                "available_from",
                "Wine at a points price needs both a start and an end date.".to_owned(),
            ));
        }
        Ok(Self {
            reward_type,
            name,
            description,
            image_url,
            points_required,
            quantity_available,
            per_customer_limit,
            available_from,
            available_until,
        })
    }
}

/// What a redemption is checked against (decisions D13, domain.md 5.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedemptionCheck {
    pub reward_active: bool,
    pub reward_deleted: bool,
    pub points_required: i64,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub is_wine_sale: bool,
    pub quantity_available: Option<i64>,
    pub quantity_redeemed: i64,
    pub per_customer_limit: Option<i64>,
    /// This customer's redemptions of this reward that still hold (pending or fulfilled).
    pub customer_redeemed: i64,
    pub balance: i64,
    pub min_points_for_redemption: i64,
}

/// Why a redemption was refused, in words for the admin or the member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RedemptionError {
    #[error("This reward is not available.")]
    Unavailable,
    #[error("{}", self.describe(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()))]
    NotYet(DateTime<Utc>),
    #[error("{}", self.describe(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()))]
    Ended(DateTime<Utc>),
    #[error("This reward is out of stock.")]
    OutOfStock,
    #[error("This reward is limited to {0} per customer, and that many are already redeemed.")]
    OverLimit(i64),
    #[error("Not enough points: this reward costs {cost} points and the balance is {balance}.")]
    NotEnoughPoints { cost: i64, balance: i64 },
    #[error("A balance of at least {0} points is needed before redeeming.")]
    BelowMinimum(i64),
}

impl RedemptionError {
    /// The message, with the window's times written by `label` (on the winery's clock).
    pub fn describe(&self, label: impl Fn(DateTime<Utc>) -> String) -> String {
        match self {
            Self::NotYet(t) => format!("This reward can be redeemed from {}.", label(*t)),
            Self::Ended(t) => format!("This reward could be redeemed until {}.", label(*t)),
            other => other.to_string(),
        }
    }
}

/// Checks a redemption at `now` (the caller holds the customer's and the reward's row locks).
///
/// # Errors
/// The first rule the redemption breaks.
pub fn check_redemption(c: &RedemptionCheck, now: DateTime<Utc>) -> Result<(), RedemptionError> {
    if !c.reward_active
        || c.reward_deleted
        || (c.is_wine_sale && (c.available_from.is_none() || c.available_until.is_none()))
    {
        return Err(RedemptionError::Unavailable);
    }
    if let Some(from) = c.available_from.filter(|from| now < *from) {
        return Err(RedemptionError::NotYet(from));
    }
    if let Some(until) = c.available_until.filter(|until| now > *until) {
        return Err(RedemptionError::Ended(until));
    }
    if c.quantity_available
        .is_some_and(|q| c.quantity_redeemed >= q)
    {
        return Err(RedemptionError::OutOfStock);
    }
    if let Some(limit) = c.per_customer_limit.filter(|l| c.customer_redeemed >= *l) {
        return Err(RedemptionError::OverLimit(limit));
    }
    if c.balance < c.min_points_for_redemption {
        return Err(RedemptionError::BelowMinimum(c.min_points_for_redemption));
    }
    if c.balance < c.points_required {
        return Err(RedemptionError::NotEnoughPoints {
            cost: c.points_required,
            balance: c.balance,
        });
    }
    Ok(())
}

/// D10: whole days in the union of `intervals` (each `[start, end)`), counted from `from` (the
/// progress reset, when there is one) up to `now`. The reference the database's
/// `membership_days` function is tested against.
pub fn union_days(
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
    from: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> i64 {
    let mut clipped: Vec<(DateTime<Utc>, DateTime<Utc>)> = intervals
        .iter()
        .map(|(s, f)| (from.map_or(*s, |r| (*s).max(r)), (*f).min(now)))
        .filter(|(s, f)| f > s)
        .collect();
    clipped.sort();
    let mut total = chrono::Duration::zero();
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (s, f) in clipped {
        current = match current {
            Some((cs, cf)) if s <= cf => Some((cs, cf.max(f))),
            Some((cs, cf)) => {
                total += cf - cs;
                Some((s, f))
            }
            None => Some((s, f)),
        };
    }
    if let Some((cs, cf)) = current {
        total += cf - cs;
    }
    total.num_seconds().div_euclid(86_400)
}

/// A reason typed by an admin (adjustments): required, one paragraph at most.
///
/// # Errors
/// Empty or too long.
pub fn parse_reason(raw: &str) -> Result<String, TextError> {
    text::bounded(raw, 500, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn points_are_floored_once_after_the_bonus() {
        let mut s = LoyaltySettings::default();
        assert_eq!(points_for(Money::from_cents(12_000), &s), 120);
        s.bonus = Percent::from_hundredths(5_000);
        assert_eq!(
            points_for(Money::from_cents(12_000), &s),
            180,
            "domain.md L-A: 120 with 50% bonus"
        );
        assert_eq!(
            points_for(Money::from_cents(12_099), &s),
            181,
            "floor(181.485)"
        );
        s.points_per_dollar_hundredths = 150;
        s.bonus = Percent::from_hundredths(0);
        assert_eq!(
            points_for(Money::from_cents(999), &s),
            14,
            "floor(9.99 × 1.5 = 14.985)"
        );
        assert_eq!(points_for(Money::ZERO, &s), 0);
    }

    #[test]
    fn earning_needs_membership_active_rules_and_the_threshold() {
        let s = LoyaltySettings::default();
        assert!(earning(true, &s, 365));
        assert!(!earning(true, &s, 364));
        assert!(!earning(false, &s, 900));
        assert!(!earning(
            true,
            &LoyaltySettings {
                is_active: false,
                ..s.clone()
            },
            900
        ));
    }

    #[test]
    fn refunds_take_back_points_in_proportion_rounded_down() {
        assert_eq!(
            points_to_reverse(200, Money::from_cents(5_000), Money::from_cents(20_000), 0),
            50
        );
        assert_eq!(
            points_to_reverse(
                200,
                Money::from_cents(20_000),
                Money::from_cents(20_000),
                50
            ),
            150,
            "the rest after a partial refund"
        );
        assert_eq!(
            points_to_reverse(7, Money::from_cents(1), Money::from_cents(3), 0),
            2,
            "floor(7/3)"
        );
        assert_eq!(
            points_to_reverse(0, Money::from_cents(1), Money::from_cents(3), 0),
            0
        );
    }

    #[test]
    fn settings_are_parsed_with_named_problems() {
        let s = LoyaltySettings::parse("1.5", "25", "365", "0.01", "100", true).expect("valid");
        assert_eq!(
            (
                s.points_per_dollar_hundredths,
                s.bonus.hundredths(),
                s.point_value_ten_thousandths
            ),
            (150, 2_500, 100)
        );
        assert_eq!(s.points_per_dollar_text(), "1.5");
        assert_eq!(s.point_value_text(), "0.01");
        for (args, field) in [
            (("-1", "0", "365", "0.01", "100"), "points_per_dollar"),
            (("abc", "0", "365", "0.01", "100"), "points_per_dollar"),
            (("1", "-5", "365", "0.01", "100"), "bonus_percent"),
            (("1", "0", "4000", "0.01", "100"), "min_membership_days"),
            (("1", "0", "365", "0", "100"), "point_value"),
            (("1", "0", "365", "0.00001", "100"), "point_value"),
            (("1", "0", "365", "0.01", "-1"), "min_points_for_redemption"),
        ] {
            let (a, b, c, d, e) = args;
            assert_eq!(
                LoyaltySettings::parse(a, b, c, d, e, true).map_err(|p| p.field),
                Err(field),
                "{args:?}"
            );
        }
        assert_eq!(s.value_of(150), Money::from_cents(150));
    }

    #[test]
    fn rewards_are_validated() {
        let ok = RewardValues::parse("merchandise", "T-shirt", "", "", "300", "", "2", None, None)
            .expect("valid");
        assert_eq!(
            (
                ok.points_required,
                ok.quantity_available,
                ok.per_customer_limit
            ),
            (300, None, Some(2))
        );
        type Case<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, &'a str);
        let cases: [Case; 6] = [
            ("merchandise", "-5", None, None, "points_required"),
            ("merchandise", "0", None, None, "points_required"),
            (
                "merchandise",
                "10",
                Some("2026-02-01T00:00:00Z"),
                Some("2026-01-01T00:00:00Z"),
                "available_until",
            ),
            (
                "wine_point_sale",
                "10",
                Some("2026-01-01T00:00:00Z"),
                None,
                "available_from",
            ),
            ("spaceship", "10", None, None, "reward_type"),
            ("event", "10", None, None, "none"),
        ];
        for (kind, cost, from, until, field) in cases {
            let got = RewardValues::parse(
                kind,
                "Thing",
                "",
                "",
                cost,
                "",
                "",
                from.map(utc),
                until.map(utc),
            )
            .map_err(|p| p.field);
            if field == "none" {
                assert!(got.is_ok());
            } else {
                assert_eq!(got, Err(field), "{kind} {cost}");
            }
        }
        assert!(RewardValues::parse("other", "X", "", "ftp://x", "1", "", "", None, None).is_err());
        assert!(
            RewardValues::parse("other", "X", "", "", "1", "", "0", None, None).is_err(),
            "a limit of 0 makes no sense"
        );
    }

    fn check() -> RedemptionCheck {
        RedemptionCheck {
            reward_active: true,
            reward_deleted: false,
            points_required: 300,
            available_from: None,
            available_until: None,
            is_wine_sale: false,
            quantity_available: Some(5),
            quantity_redeemed: 0,
            per_customer_limit: Some(2),
            customer_redeemed: 0,
            balance: 320,
            min_points_for_redemption: 100,
        }
    }

    #[test]
    fn redemptions_are_checked_against_every_rule() {
        let now = utc("2026-03-01T12:00:00Z");
        assert_eq!(check_redemption(&check(), now), Ok(()));
        assert_eq!(
            check_redemption(
                &RedemptionCheck {
                    balance: 299,
                    ..check()
                },
                now
            ),
            Err(RedemptionError::NotEnoughPoints {
                cost: 300,
                balance: 299
            })
        );
        assert_eq!(
            check_redemption(
                &RedemptionCheck {
                    quantity_redeemed: 5,
                    ..check()
                },
                now
            ),
            Err(RedemptionError::OutOfStock)
        );
        assert_eq!(
            check_redemption(
                &RedemptionCheck {
                    customer_redeemed: 2,
                    ..check()
                },
                now
            ),
            Err(RedemptionError::OverLimit(2))
        );
        assert_eq!(
            check_redemption(
                &RedemptionCheck {
                    reward_active: false,
                    ..check()
                },
                now
            ),
            Err(RedemptionError::Unavailable)
        );
        assert_eq!(
            check_redemption(
                &RedemptionCheck {
                    balance: 50,
                    points_required: 40,
                    ..check()
                },
                now
            ),
            Err(RedemptionError::BelowMinimum(100))
        );
        let window = RedemptionCheck {
            is_wine_sale: true,
            available_from: Some(utc("2026-04-01T00:00:00Z")),
            available_until: Some(utc("2026-04-30T00:00:00Z")),
            ..check()
        };
        assert!(matches!(
            check_redemption(&window, now),
            Err(RedemptionError::NotYet(_))
        ));
        assert!(matches!(
            check_redemption(&window, utc("2026-05-01T00:00:00Z")),
            Err(RedemptionError::Ended(_))
        ));
        assert_eq!(
            check_redemption(&window, utc("2026-04-10T00:00:00Z")),
            Ok(())
        );
        let no_window = RedemptionCheck {
            is_wine_sale: true,
            ..check()
        };
        assert_eq!(
            check_redemption(&no_window, now),
            Err(RedemptionError::Unavailable)
        );
    }

    #[test]
    fn membership_days_are_the_union_of_intervals_floored() {
        // domain.md 5.2: Bronze 01-01, renewed 03-15: 73 days on 03-15, not 0.
        let day = |d: &str| utc(&format!("{d}T12:00:00Z"));
        assert_eq!(
            union_days(
                &[(day("2026-01-01"), day("2026-06-15"))],
                None,
                day("2026-03-15")
            ),
            73
        );
        // Scenario 6 on 03-01: overlapping upgraded rows count once: 59 days, not 330.
        let rows = [
            (day("2026-01-01"), day("2026-02-01")),
            (day("2026-01-01"), day("2026-03-01")),
            (day("2026-01-01"), day("2027-01-01")),
        ];
        assert_eq!(union_days(&rows, None, day("2026-03-01")), 59);
        // Gaps do not count; a reset counts from itself.
        let gap = [
            (day("2026-01-01"), day("2026-04-01")),
            (day("2026-05-01"), day("2026-08-01")),
        ];
        assert_eq!(union_days(&gap, None, day("2026-12-01")), 182);
        assert_eq!(
            union_days(&gap, Some(day("2026-04-01")), day("2026-12-01")),
            92
        );
    }

    proptest! {
        #[test]
        fn the_union_never_exceeds_the_span_nor_the_sum(
            raw in prop::collection::vec((0i64..1000, 1i64..400), 0..8),
            from in prop::option::of(0i64..1000),
        ) {
            let base = utc("2025-01-01T00:00:00Z");
            let days = |d: i64| base + chrono::Duration::days(d);
            let intervals: Vec<_> = raw.iter().map(|(s, len)| (days(*s), days(s + len))).collect();
            let now = days(1500);
            let union = union_days(&intervals, from.map(days), now);
            let sum: i64 = raw.iter().map(|(_, len)| *len).sum();
            prop_assert!(union <= sum);
            prop_assert!(union <= 1500);
            prop_assert!(union >= raw.iter().map(|(_, len)| *len).max().unwrap_or(0).min(1500) - from.unwrap_or(0).min(1500));
        }
    }
}

/// A reward in the catalog, as the admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardView {
    pub id: uuid::Uuid,
    pub values: RewardValues,
    pub quantity_redeemed: i32,
    pub is_active: bool,
    /// The availability window in the winery's time zone, as shown.
    pub window_label: Option<String>,
    /// The window's ends as a form's local date-time values (`2026-04-01T10:00`).
    pub from_local: Option<String>,
    pub until_local: Option<String>,
}

/// One redemption, as the queue and the member page show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionView {
    pub id: uuid::Uuid,
    pub customer_id: crate::ids::CustomerId,
    pub member: String,
    pub reward: String,
    pub points: i32,
    /// `pending`, `fulfilled`, `cancelled` or `refunded`.
    pub status: String,
    pub redeemed_label: String,
}

/// One ledger row, with its running balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRowView {
    pub at_label: String,
    /// `earned`, `redeemed`, `bonus` or `adjusted`.
    pub kind: String,
    pub points: i32,
    pub balance_after: i32,
    pub description: Option<String>,
}

/// The last ledger check (D14).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCheckView {
    pub checked_label: String,
    pub customers_checked: i32,
    pub violation_count: i32,
    /// "customer e-mail: what is wrong", the first hundred.
    pub violations: Vec<String>,
}

/// The loyalty page: settings, catalog, redemption queue and the last ledger check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltyView {
    pub settings: LoyaltySettings,
    pub rewards: Vec<RewardView>,
    pub queue: Vec<RedemptionView>,
    pub last_check: Option<LedgerCheckView>,
    pub time_zone: String,
}

/// A member's points, for the member page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPointsView {
    pub balance: i32,
    pub lifetime: i32,
    /// What the balance is worth at the winery's point value.
    pub value: Money,
    pub earning: bool,
    pub progress_days: i32,
    pub threshold_days: u32,
    /// Newest first.
    pub ledger: Vec<LedgerRowView>,
    pub redemptions: Vec<RedemptionView>,
    /// Rewards the member could redeem now (active, in their window, in stock).
    pub rewards: Vec<RewardView>,
}
