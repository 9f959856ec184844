//! Who gets which message on which channel (decisions D18 and D19, domain.md section 6.4): the
//! winery's switches, the member's preferences and consent, and the providers configured.

use super::{Channel, Family, MessageType};
use serde::{Deserialize, Serialize};

/// A member's choices. A member without a stored row has [`Preferences::default`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub email_monthly_status: bool,
    pub email_expiration_warnings: bool,
    pub email_promotions: bool,
    pub sms_monthly_status: bool,
    pub sms_expiration_warnings: bool,
    pub sms_promotions: bool,
    pub unsubscribed_all: bool,
    /// Whether an SMS opt-in (method and time) is on record.
    pub sms_opted_in: bool,
}

impl Default for Preferences {
    /// D18: email on for monthly status, warnings and promotions; SMS on only for warnings, and
    /// only after an opt-in.
    fn default() -> Self {
        Self {
            email_monthly_status: true,
            email_expiration_warnings: true,
            email_promotions: true,
            sms_monthly_status: false,
            sms_expiration_warnings: true,
            sms_promotions: false,
            unsubscribed_all: false,
            sms_opted_in: false,
        }
    }
}

impl Preferences {
    /// The member's own switch for a family on a channel. Account notices have none.
    pub fn allows(&self, family: Family, channel: Channel) -> bool {
        match (family, channel) {
            (Family::MonthlyStatus, Channel::Email) => self.email_monthly_status,
            (Family::MonthlyStatus, Channel::Sms) => self.sms_monthly_status,
            (Family::ExpirationWarnings, Channel::Email) => self.email_expiration_warnings,
            (Family::ExpirationWarnings, Channel::Sms) => self.sms_expiration_warnings,
            (Family::Account, _) | (Family::SignIn, Channel::Email) => true,
            (Family::SignIn, Channel::Sms) => false,
        }
    }
}

/// What the winery has set up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinerySwitches {
    pub email_provider: bool,
    pub sms_provider: bool,
    pub send_monthly_status: bool,
    pub send_expiration_warnings: bool,
    /// The event types the winery sends.
    pub events: Vec<MessageType>,
}

impl WinerySwitches {
    /// Whether the winery sends this type at all.
    pub fn sends(&self, kind: MessageType) -> bool {
        match kind.family() {
            Family::MonthlyStatus => self.send_monthly_status,
            Family::ExpirationWarnings => self.send_expiration_warnings,
            Family::Account => self.events.contains(&kind),
            Family::SignIn => true,
        }
    }

    fn has_provider(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email_provider,
            Channel::Sms => self.sms_provider,
        }
    }
}

/// Where a message can go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reachable {
    pub email: bool,
    /// A phone number in E.164 form.
    pub phone: bool,
}

/// Why a message is not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipReason {
    /// The winery does not send this type.
    WineryOff,
    /// The member switched this family off, or never switched SMS on.
    PreferenceOff,
    /// SMS without a recorded opt-in.
    NoSmsConsent,
    /// No address for the channel (no e-mail, or no E.164 phone number).
    NoAddress,
    /// The member unsubscribed from everything.
    Unsubscribed,
    /// The winery has no provider for the channel (D19).
    NoProvider,
}

impl SkipReason {
    /// The sentence stored with a recorded skip.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::WineryOff => "skipped: the winery does not send this message",
            Self::PreferenceOff => "skipped: the member turned this message off",
            Self::NoSmsConsent => "skipped: no SMS opt-in on record",
            Self::NoAddress => "skipped: no address for this channel",
            Self::Unsubscribed => "skipped (unsubscribed)",
            Self::NoProvider => "skipped (no provider)",
        }
    }
}

/// The verdict for one message on one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Send,
    /// Not sent, and written to the log so the winery can see why (a member who unsubscribed,
    /// a winery without a provider).
    Record(SkipReason),
    /// Not sent and not logged: the message was never meant for this member on this channel.
    Silent(SkipReason),
}

/// Decides whether `kind` goes to a member on `channel`. `prefs` is `None` when the member has
/// no stored preferences (the defaults apply).
///
/// The order matters for what the log shows: the winery's switches, the member's switch for
/// the family, consent and address come first and are silent; then "unsubscribed from all"
/// and a missing provider, which are recorded.
pub fn decide(
    kind: MessageType,
    channel: Channel,
    winery: &WinerySwitches,
    prefs: Option<&Preferences>,
    reachable: Reachable,
) -> Decision {
    let prefs = prefs.copied().unwrap_or_default();
    if !winery.sends(kind) {
        return Decision::Silent(SkipReason::WineryOff);
    }
    if !prefs.allows(kind.family(), channel) {
        return Decision::Silent(SkipReason::PreferenceOff);
    }
    match channel {
        Channel::Email if !reachable.email => return Decision::Silent(SkipReason::NoAddress),
        Channel::Sms if !reachable.phone => return Decision::Silent(SkipReason::NoAddress),
        Channel::Sms if !prefs.sms_opted_in => return Decision::Silent(SkipReason::NoSmsConsent),
        _ => {}
    }
    if prefs.unsubscribed_all && kind.family() != Family::SignIn {
        return Decision::Record(SkipReason::Unsubscribed);
    }
    if !winery.has_provider(channel) {
        return Decision::Record(SkipReason::NoProvider);
    }
    Decision::Send
}

#[cfg(test)]
mod tests {
    use super::*;

    fn winery() -> WinerySwitches {
        WinerySwitches {
            email_provider: true,
            sms_provider: true,
            send_monthly_status: true,
            send_expiration_warnings: true,
            events: MessageType::ALL.to_vec(),
        }
    }

    const BOTH: Reachable = Reachable {
        email: true,
        phone: true,
    };

    /// One letter per type in `MessageType::ALL` order: `S` sent, `U` recorded as unsubscribed,
    /// `P` silent (preference off), `C` silent (no SMS consent).
    fn row(prefs: Option<&Preferences>, channel: Channel) -> String {
        MessageType::ALL
            .into_iter()
            .map(|kind| match decide(kind, channel, &winery(), prefs, BOTH) {
                Decision::Send => 'S',
                Decision::Record(SkipReason::Unsubscribed) => 'U',
                Decision::Silent(SkipReason::PreferenceOff) => 'P',
                Decision::Silent(SkipReason::NoSmsConsent) => 'C',
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_preference_matrix_covers_every_type_channel_and_state() {
        // Columns: welcome, upgraded, renewed, expiration_warning, membership_expired,
        // monthly_status, points_earned, reward_redeemed, redemption_fulfilled, portal_sign_in
        // (by e-mail whatever the member chose; never by text).
        let opted_in = Preferences {
            sms_opted_in: true,
            ..Preferences::default()
        };
        let everything_on = Preferences {
            sms_monthly_status: true,
            sms_promotions: true,
            ..opted_in
        };
        let unsubscribed = Preferences {
            unsubscribed_all: true,
            ..everything_on
        };
        let families_off = Preferences {
            email_monthly_status: false,
            email_expiration_warnings: false,
            sms_monthly_status: false,
            sms_expiration_warnings: false,
            ..opted_in
        };
        let cases: [(&str, Option<&Preferences>, &str, &str); 6] = [
            ("no row", None, "SSSSSSSSSS", "CCCCCPCCCP"),
            (
                "defaults, SMS opt-in",
                Some(&opted_in),
                "SSSSSSSSSS",
                "SSSSSPSSSP",
            ),
            (
                "everything on",
                Some(&everything_on),
                "SSSSSSSSSS",
                "SSSSSSSSSP",
            ),
            (
                "unsubscribed_all",
                Some(&unsubscribed),
                "UUUUUUUUUS",
                "UUUUUUUUUP",
            ),
            (
                "families off",
                Some(&families_off),
                "SSSPSPSSSS",
                "SSSPSPSSSP",
            ),
            (
                "SMS on without opt-in",
                Some(&Preferences {
                    sms_monthly_status: true,
                    ..Preferences::default()
                }),
                "SSSSSSSSSS",
                "CCCCCCCCCP",
            ),
        ];
        for (name, prefs, email, sms) in cases {
            assert_eq!(row(prefs, Channel::Email), email, "email, {name}");
            assert_eq!(row(prefs, Channel::Sms), sms, "sms, {name}");
        }
    }

    #[test]
    fn a_winery_without_a_provider_records_the_skip() {
        let none = WinerySwitches {
            email_provider: false,
            sms_provider: false,
            ..winery()
        };
        let prefs = Preferences {
            sms_opted_in: true,
            ..Preferences::default()
        };
        for channel in Channel::ALL {
            assert_eq!(
                decide(
                    MessageType::ExpirationWarning,
                    channel,
                    &none,
                    Some(&prefs),
                    BOTH
                ),
                Decision::Record(SkipReason::NoProvider)
            );
        }
    }

    #[test]
    fn the_wineries_switches_and_missing_addresses_are_silent() {
        let off = WinerySwitches {
            send_monthly_status: false,
            send_expiration_warnings: false,
            events: vec![MessageType::Welcome],
            ..winery()
        };
        for kind in MessageType::ALL {
            // The sign-in link has no winery switch.
            let expected = if matches!(kind, MessageType::Welcome | MessageType::PortalSignIn) {
                Decision::Send
            } else {
                Decision::Silent(SkipReason::WineryOff)
            };
            assert_eq!(
                decide(kind, Channel::Email, &off, None, BOTH),
                expected,
                "{kind}"
            );
        }
        let nowhere = Reachable {
            email: false,
            phone: false,
        };
        let opted_in = Preferences {
            sms_opted_in: true,
            ..Preferences::default()
        };
        for channel in Channel::ALL {
            assert_eq!(
                decide(
                    MessageType::Welcome,
                    channel,
                    &winery(),
                    Some(&opted_in),
                    nowhere
                ),
                Decision::Silent(SkipReason::NoAddress)
            );
        }
    }
}
