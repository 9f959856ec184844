//! Money as integer minor units (decisions D26). The currency is the winery's (`clients.currency`);
//! amounts of one winery are never mixed with another's, so a value carries cents only and the
//! currency is supplied when it is shown.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// The largest amount accepted from a person: one billion in major units.
pub const MAX_CENTS: i64 = 100_000_000_000;

/// Why an amount typed by a person was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("is required")]
    Empty,
    #[error("must be an amount such as 75 or 75.50")]
    Malformed,
    #[error("must not be negative")]
    Negative,
    #[error("must have at most two decimal places")]
    TooPrecise,
    #[error("is too large")]
    TooLarge,
}

/// An amount of money in minor units (cents). Never a float.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    /// Wraps an amount already in cents (from the database or a CRM payload).
    pub const fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    /// The amount in cents.
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Parses a non-negative decimal amount as a person types it: `75`, `75.5`, `$1,234.56`.
    /// Thousands separators and a leading `$` are accepted; more than two decimals are refused
    /// rather than rounded.
    pub fn parse(raw: &str) -> Result<Self, MoneyError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(MoneyError::Empty);
        }
        let unsigned = trimmed.strip_prefix('-').map(str::trim_start);
        let body = unsigned.unwrap_or(trimmed);
        let body = body
            .strip_prefix('$')
            .unwrap_or(body)
            .trim_start()
            .replace(',', "");
        let (whole, fraction) = match body.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (body.as_str(), ""),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(MoneyError::Malformed);
        }
        if !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
        {
            return Err(MoneyError::Malformed);
        }
        if fraction.len() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        if whole.len() > 12 {
            return Err(MoneyError::TooLarge);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MoneyError::Malformed)?
        };
        let fraction_cents: i64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().map_err(|_| MoneyError::Malformed)? * 10,
            _ => fraction.parse().map_err(|_| MoneyError::Malformed)?,
        };
        let cents = whole * 100 + fraction_cents;
        if unsigned.is_some() && cents != 0 {
            return Err(MoneyError::Negative);
        }
        if cents > MAX_CENTS {
            return Err(MoneyError::TooLarge);
        }
        Ok(Self(cents))
    }

    /// The plain decimal form used in form fields: `1234.56`, `75.00`.
    pub fn to_decimal_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// The amount with the currency's symbol and thousands separators: `$1,234.56`.
    pub fn display(self, currency: &str) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = (abs / 100).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let symbol = match currency {
            "USD" | "CAD" | "AUD" | "NZD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            "ZAR" => "R",
            other => return format!("{sign}{other} {grouped}.{:02}", abs % 100),
        };
        format!("{sign}{symbol}{grouped}.{:02}", abs % 100)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_parse_as_people_type_them() {
        let cases = [
            ("75", 7_500),
            ("75.5", 7_550),
            ("75.50", 7_550),
            ("$1,234.56", 123_456),
            ("  $ 300 ", 30_000),
            (".5", 50),
            ("0", 0),
            ("-0", 0),
        ];
        for (raw, cents) in cases {
            assert_eq!(Money::parse(raw), Ok(Money::from_cents(cents)), "{raw}");
        }
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        let cases = [
            ("", MoneyError::Empty),
            ("abc", MoneyError::Malformed),
            ("1.2.3", MoneyError::Malformed),
            ("1e5", MoneyError::Malformed),
            (".", MoneyError::Malformed),
            ("-5", MoneyError::Negative),
            ("-$5.00", MoneyError::Negative),
            ("5.001", MoneyError::TooPrecise),
            ("9999999999999", MoneyError::TooLarge),
            ("1000000001", MoneyError::TooLarge),
        ];
        for (raw, error) in cases {
            assert_eq!(Money::parse(raw), Err(error), "{raw}");
        }
    }

    #[test]
    fn amounts_display_with_symbol_and_grouping() {
        assert_eq!(
            Money::from_cents(123_456_789).display("USD"),
            "$1,234,567.89"
        );
        assert_eq!(Money::from_cents(7_500).display("EUR"), "€75.00");
        assert_eq!(Money::from_cents(5).display("CHF"), "CHF 0.05");
        assert_eq!(Money::from_cents(-150).display("USD"), "-$1.50");
        assert_eq!(Money::from_cents(100).to_decimal_string(), "1.00");
    }

    proptest! {
        #[test]
        fn the_decimal_form_parses_back_to_the_same_amount(cents in 0..=MAX_CENTS) {
            let money = Money::from_cents(cents);
            prop_assert_eq!(Money::parse(&money.to_decimal_string()), Ok(money));
            prop_assert_eq!(Money::parse(&money.display("USD")), Ok(money));
        }
    }
}
