//! E-mail addresses as Vinculum stores them: trimmed and lower-cased, so uniqueness per winery is
//! case-insensitive.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Longest address accepted (the `varchar(255)` columns).
pub const MAX_EMAIL_LEN: usize = 255;

/// Why an e-mail address was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("is required")]
    Empty,
    #[error("must be at most 255 characters")]
    TooLong,
    #[error("is not valid")]
    Malformed,
}

/// An e-mail address that passed our syntax rules; lower-cased on construction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Trims, lower-cases and checks the shape `local@domain.tld` (no spaces, one `@`).
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == ';');
        if !well_formed {
            return Err(EmailError::Malformed);
        }
        Ok(Self(email))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let email = EmailAddress::parse("  Ann.Smith@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "ann.smith@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@@example.com",
            "a b@example.com",
            "ann@.example.com",
            "ann@example.com.",
            "ann@exa..mple.com",
            "a,b@example.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(EmailError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(EmailAddress::parse("   "), Err(EmailError::Empty));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn the_wire_cannot_smuggle_in_an_unchecked_address() {
        let parsed: Result<EmailAddress, _> = serde_json::from_str("\"not-an-email\"");
        assert!(parsed.is_err());
    }

    proptest! {
        #[test]
        fn parsing_is_idempotent(local in "[a-z0-9._+-]{1,20}", domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}") {
            let first = EmailAddress::parse(&format!("{local}@{domain}")).expect("generated addresses are valid");
            let second = EmailAddress::parse(first.as_str()).expect("a parsed address parses again");
            prop_assert_eq!(first, second);
        }
    }
}
