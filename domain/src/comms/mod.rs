//! Member communications (decisions D16 to D20): the message types and channels, their
//! idempotency keys, phone numbers in E.164 form and SMS segment counts. The preference rules,
//! the template engine, the variables and the default templates live in the submodules; all of
//! it compiles to wasm, so the admin's live preview is the message the server sends.

pub mod defaults;
pub mod prefs;
pub mod settings;
pub mod template;
pub mod vars;
pub mod views;

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// What a message is about (D16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    Welcome,
    Upgraded,
    Renewed,
    ExpirationWarning,
    MembershipExpired,
    MonthlyStatus,
    PointsEarned,
    RewardRedeemed,
    RedemptionFulfilled,
    /// The member portal's magic sign-in link, sent because the member asked for it.
    PortalSignIn,
}

impl MessageType {
    /// Every type, in the order the admin sees them.
    pub const ALL: [Self; 10] = [
        Self::Welcome,
        Self::Upgraded,
        Self::Renewed,
        Self::ExpirationWarning,
        Self::MembershipExpired,
        Self::MonthlyStatus,
        Self::PointsEarned,
        Self::RewardRedeemed,
        Self::RedemptionFulfilled,
        Self::PortalSignIn,
    ];

    /// The name stored in the database and used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::Upgraded => "upgraded",
            Self::Renewed => "renewed",
            Self::ExpirationWarning => "expiration_warning",
            Self::MembershipExpired => "membership_expired",
            Self::MonthlyStatus => "monthly_status",
            Self::PointsEarned => "points_earned",
            Self::RewardRedeemed => "reward_redeemed",
            Self::RedemptionFulfilled => "redemption_fulfilled",
            Self::PortalSignIn => "portal_sign_in",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Self::Welcome => "Welcome",
            Self::Upgraded => "Upgraded",
            Self::Renewed => "Renewed",
            Self::ExpirationWarning => "Expiration warning",
            Self::MembershipExpired => "Membership expired",
            Self::MonthlyStatus => "Monthly status",
            Self::PointsEarned => "Points earned",
            Self::RewardRedeemed => "Reward redeemed",
            Self::RedemptionFulfilled => "Redemption fulfilled",
            Self::PortalSignIn => "Portal sign-in link",
        }
    }

    /// When it is sent, in a sentence.
    pub fn trigger(self) -> &'static str {
        match self {
            Self::Welcome => "A customer joins the club.",
            Self::Upgraded => "A member moves up to a higher stage.",
            Self::Renewed => "A member renews with a qualifying order.",
            Self::ExpirationWarning => {
                "Daily at 10:00, when a membership expires within the lead time."
            }
            Self::MembershipExpired => "Expiration processing ends a membership.",
            Self::MonthlyStatus => "The 1st of every month at 09:00.",
            Self::PointsEarned => {
                "An order earns loyalty points (off unless the winery turns it on)."
            }
            Self::RewardRedeemed => "A member redeems a reward.",
            Self::RedemptionFulfilled => "The winery fulfils a redemption.",
            Self::PortalSignIn => "A member asks for a sign-in link on the member portal.",
        }
    }

    /// The preference family that governs it.
    pub fn family(self) -> Family {
        match self {
            Self::MonthlyStatus => Family::MonthlyStatus,
            Self::ExpirationWarning => Family::ExpirationWarnings,
            Self::PortalSignIn => Family::SignIn,
            _ => Family::Account,
        }
    }

    /// Whether an event-driven type is sent until the winery says otherwise (D16: points earned
    /// is off by default). The two scheduled types have their own winery switches.
    pub fn on_by_default(self) -> bool {
        !matches!(self, Self::PointsEarned)
    }

    /// Whether the type is sent by an event rather than a schedule (and the winery can switch it
    /// off). The sign-in link is neither: it answers the member's own request.
    pub fn is_event(self) -> bool {
        self.family() == Family::Account
    }

    /// The channels it travels on: everything by e-mail and text, except the sign-in link, which
    /// goes to the address the member typed.
    pub fn channels(self) -> &'static [Channel] {
        match self {
            Self::PortalSignIn => &[Channel::Email],
            _ => &Channel::ALL,
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The groups of messages a member can switch on and off (D18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    MonthlyStatus,
    ExpirationWarnings,
    /// Notices about the member's own account: welcome, renewal, upgrade, expiry, points and
    /// redemptions. Only "unsubscribe from all" stops them.
    Account,
    /// The portal's sign-in link. The member asked for it a moment ago, so nothing stops it, not
    /// even "unsubscribe from all" (which the member may be signing in to undo).
    SignIn,
}

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const ALL: [Self; 2] = [Self::Email, Self::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Email => "Email",
            Self::Sms => "SMS",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The idempotency key of an expiration warning (D17): one per enrollment and expiry, so a
/// renewal, which moves the expiry, re-arms the warning.
pub fn warning_key(enrollment: uuid::Uuid, expires_at: chrono::DateTime<chrono::Utc>) -> String {
    format!("warning:{enrollment}:{}", expires_at.timestamp())
}

/// The idempotency key of a monthly status (D17): one per customer and calendar month.
pub fn monthly_key(customer: uuid::Uuid, year: i32, month: u32) -> String {
    format!("monthly:{customer}:{year:04}-{month:02}")
}

/// The idempotency key of an event message (D17): one per event and type.
pub fn event_key(kind: MessageType, event: &str) -> String {
    format!("event:{}:{event}", kind.as_str())
}

/// Why a phone number was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PhoneError {
    #[error("must start with + and the country code, as in +15551234567")]
    NoCountryCode,
    #[error("must have 8 to 15 digits after the +")]
    Length,
    #[error("may contain only digits, spaces, dashes, dots and brackets")]
    Character,
}

/// A phone number in E.164 form (`+15551234567`), which SMS providers require (D18).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone(String);

impl Phone {
    /// Accepts the usual separators and keeps only `+` and the digits.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let trimmed = raw.trim();
        let Some(rest) = trimmed.strip_prefix('+') else {
            return Err(PhoneError::NoCountryCode);
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(PhoneError::Character),
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(PhoneError::Length);
        }
        Ok(Self(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an SMS body is encoded on the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmsEncoding {
    /// The GSM 03.38 alphabet: 160 characters in one message, 153 per part when split.
    Gsm7,
    /// Anything else (emoji, most accents): 70 characters, 67 per part.
    Ucs2,
}

/// The size of an SMS body, as the editor shows it beside the preview.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSize {
    pub encoding: SmsEncoding,
    /// Characters as the network counts them (GSM extension characters count twice; UCS-2
    /// counts UTF-16 units).
    pub units: usize,
    pub segments: usize,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// Counts the segments an SMS body takes.
pub fn sms_size(body: &str) -> SmsSize {
    let mut gsm_units = 0;
    let mut gsm = true;
    for c in body.chars() {
        if GSM7_BASIC.contains(c) {
            gsm_units += 1;
        } else if GSM7_EXTENDED.contains(c) {
            gsm_units += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (encoding, units, single, part) = if gsm {
        (SmsEncoding::Gsm7, gsm_units, 160, 153)
    } else {
        (SmsEncoding::Ucs2, body.encode_utf16().count(), 70, 67)
    };
    let segments = match units {
        0 => 0,
        n if n <= single => 1,
        n => n.div_ceil(part),
    };
    SmsSize {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_type_round_trips_through_its_name() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::parse(t.as_str()), Some(t));
        }
        assert_eq!(MessageType::parse("newsletter"), None);
    }

    #[test]
    fn only_points_earned_is_off_by_default() {
        let off: Vec<_> = MessageType::ALL
            .into_iter()
            .filter(|t| !t.on_by_default())
            .collect();
        assert_eq!(off, [MessageType::PointsEarned]);
    }

    #[test]
    fn a_warning_key_changes_when_the_expiry_moves() {
        let id = uuid::Uuid::nil();
        let first = chrono::DateTime::from_timestamp(1_789_473_600, 0).expect("instant");
        let renewed = chrono::DateTime::from_timestamp(1_804_852_800, 0).expect("instant");
        assert_eq!(warning_key(id, first), warning_key(id, first));
        assert_ne!(warning_key(id, first), warning_key(id, renewed));
        assert_eq!(
            monthly_key(id, 2026, 5),
            "monthly:00000000-0000-0000-0000-000000000000:2026-05"
        );
    }

    #[test]
    fn phone_numbers_are_normalised_to_e164_or_refused() {
        assert_eq!(
            Phone::parse(" +1 (555) 123-4567 ").map(|p| p.to_string()),
            Ok("+15551234567".to_owned())
        );
        assert_eq!(Phone::parse("5551234567"), Err(PhoneError::NoCountryCode));
        assert_eq!(Phone::parse("+1555"), Err(PhoneError::Length));
        assert_eq!(Phone::parse("+1555123456x"), Err(PhoneError::Character));
    }

    #[test]
    fn sms_segments_follow_the_gsm_and_ucs2_limits() {
        assert_eq!(sms_size("").segments, 0);
        assert_eq!(sms_size(&"a".repeat(160)).segments, 1);
        assert_eq!(sms_size(&"a".repeat(161)).segments, 2);
        assert_eq!(sms_size(&"a".repeat(306)).segments, 2);
        assert_eq!(sms_size(&"a".repeat(307)).segments, 3);
        // An extension character counts twice.
        let euro = sms_size(&format!("{}€", "a".repeat(158)));
        assert_eq!(
            (euro.encoding, euro.units, euro.segments),
            (SmsEncoding::Gsm7, 160, 1)
        );
        // One emoji switches the whole message to UCS-2.
        let emoji = sms_size(&format!("{}🍷", "a".repeat(69)));
        assert_eq!(emoji.encoding, SmsEncoding::Ucs2);
        assert_eq!((emoji.units, emoji.segments), (71, 2));
    }
}
