//! Bounded, trimmed text for names and descriptions typed by people.

use thiserror::Error;

/// Why a piece of text was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TextError {
    #[error("is required")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Trims `raw` and checks it is 1..=`max` characters with no control characters.
/// `allow_newlines` admits line breaks (descriptions), which single-line names refuse.
pub fn bounded(raw: &str, max: usize, allow_newlines: bool) -> Result<String, TextError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    let bad =
        |c: char| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t'));
    if trimmed.chars().any(bad) {
        return Err(TextError::ControlCharacter);
    }
    Ok(trimmed.to_owned())
}

/// Like [`bounded`], but empty text is allowed and becomes `None`.
pub fn optional(raw: &str, max: usize, allow_newlines: bool) -> Result<Option<String>, TextError> {
    match bounded(raw, max, allow_newlines) {
        Ok(text) => Ok(Some(text)),
        Err(TextError::Empty) => Ok(None),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_text_is_trimmed_and_limited() {
        assert_eq!(bounded("  Gold ", 10, false), Ok("Gold".to_owned()));
        assert_eq!(bounded("   ", 10, false), Err(TextError::Empty));
        assert_eq!(
            bounded(&"x".repeat(11), 10, false),
            Err(TextError::TooLong { max: 10 })
        );
        assert_eq!(
            bounded("a\u{0}b", 10, false),
            Err(TextError::ControlCharacter)
        );
        assert_eq!(bounded("a\nb", 10, false), Err(TextError::ControlCharacter));
        assert_eq!(bounded("a\nb", 10, true), Ok("a\nb".to_owned()));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(bounded("Rosé", 4, false), Ok("Rosé".to_owned()));
    }

    #[test]
    fn optional_text_turns_blank_into_none() {
        assert_eq!(optional("  ", 5, true), Ok(None));
        assert_eq!(optional(" hi ", 5, true), Ok(Some("hi".to_owned())));
        assert!(optional("toolong", 5, true).is_err());
    }
}
