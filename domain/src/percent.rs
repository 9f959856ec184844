//! Percentages with two decimal places, held as integer hundredths (15.25% is 1525), matching the
//! `numeric(5,2)` columns without ever touching a float.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Why a percentage typed by a person was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum PercentError {
    #[error("is required")]
    Empty,
    #[error("must be a number such as 15 or 12.5")]
    Malformed,
    #[error("must have at most two decimal places")]
    TooPrecise,
    #[error("must not be negative")]
    Negative,
    #[error("is too large")]
    TooLarge,
}

/// A non-negative percentage in hundredths of a percent.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Percent(u32);

impl Percent {
    /// Wraps a value in hundredths of a percent (1525 is 15.25%).
    pub const fn from_hundredths(hundredths: u32) -> Self {
        Self(hundredths)
    }

    /// The value in hundredths of a percent.
    pub const fn hundredths(self) -> u32 {
        self.0
    }

    /// Parses `15`, `15.5`, `15.25` or `15%`. Values above 10,000% are refused as nonsense.
    pub fn parse(raw: &str) -> Result<Self, PercentError> {
        let trimmed = raw.trim();
        let trimmed = trimmed.strip_suffix('%').unwrap_or(trimmed).trim_end();
        if trimmed.is_empty() {
            return Err(PercentError::Empty);
        }
        if trimmed.starts_with('-') {
            return Err(PercentError::Negative);
        }
        let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
        if (whole.is_empty() && fraction.is_empty())
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
        {
            return Err(PercentError::Malformed);
        }
        if fraction.len() > 2 {
            return Err(PercentError::TooPrecise);
        }
        if whole.len() > 5 {
            return Err(PercentError::TooLarge);
        }
        let whole: u32 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| PercentError::Malformed)?
        };
        let fraction: u32 = match fraction.len() {
            0 => 0,
            1 => {
                fraction
                    .parse::<u32>()
                    .map_err(|_| PercentError::Malformed)?
                    * 10
            }
            _ => fraction.parse().map_err(|_| PercentError::Malformed)?,
        };
        let hundredths = whole * 100 + fraction;
        if hundredths > 1_000_000 {
            return Err(PercentError::TooLarge);
        }
        Ok(Self(hundredths))
    }

    /// The number without a sign and without needless zeros: `15`, `12.5`, `12.25`.
    pub fn to_plain_string(self) -> String {
        let whole = self.0 / 100;
        match self.0 % 100 {
            0 => whole.to_string(),
            f if f.is_multiple_of(10) => format!("{whole}.{}", f / 10),
            f => format!("{whole}.{f:02}"),
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.to_plain_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentages_parse_with_or_without_a_sign() {
        assert_eq!(Percent::parse("15"), Ok(Percent::from_hundredths(1_500)));
        assert_eq!(
            Percent::parse(" 12.5 % "),
            Ok(Percent::from_hundredths(1_250))
        );
        assert_eq!(Percent::parse("0.25"), Ok(Percent::from_hundredths(25)));
        assert_eq!(Percent::parse("100"), Ok(Percent::from_hundredths(10_000)));
    }

    #[test]
    fn bad_percentages_are_refused_with_a_reason() {
        assert_eq!(Percent::parse(""), Err(PercentError::Empty));
        assert_eq!(Percent::parse("%"), Err(PercentError::Empty));
        assert_eq!(Percent::parse("ten"), Err(PercentError::Malformed));
        assert_eq!(Percent::parse("-5"), Err(PercentError::Negative));
        assert_eq!(Percent::parse("1.234"), Err(PercentError::TooPrecise));
        assert_eq!(Percent::parse("99999999"), Err(PercentError::TooLarge));
    }

    #[test]
    fn percentages_display_without_needless_zeros() {
        assert_eq!(Percent::from_hundredths(1_500).to_string(), "15%");
        assert_eq!(Percent::from_hundredths(1_250).to_string(), "12.5%");
        assert_eq!(Percent::from_hundredths(1_225).to_string(), "12.25%");
        assert_eq!(Percent::from_hundredths(5).to_string(), "0.05%");
    }

    proptest! {
        #[test]
        fn the_plain_form_parses_back(hundredths in 0u32..=1_000_000) {
            let percent = Percent::from_hundredths(hundredths);
            prop_assert_eq!(Percent::parse(&percent.to_plain_string()), Ok(percent));
        }
    }
}
