//! The member portal's rules and views (issue 8): what a member is told to do next ("spend $X in one
//! order by <date> to renew", "spend $Y in one order to reach Gold (20%)"), the winery's framing
//! allow-list and brand colour, and the shapes the portal's pages show.

use crate::Money;
use crate::Percent;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A stage as the portal shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageOffer {
    pub name: String,
    pub discount_hundredths: u32,
    pub min_purchase_cents: i64,
    pub duration_months: u32,
}

impl StageOffer {
    /// "Gold (20%)".
    pub fn title(&self) -> String {
        format!(
            "{} ({})",
            self.name,
            Percent::from_hundredths(self.discount_hundredths)
        )
    }
}

/// What one order can still do for a member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextSteps {
    /// "Spend $150.00 in one order by July 1, 2026 to renew."; `None` when the stage admits no
    /// renewals any more (D8: a deactivated stage runs to its expiry).
    pub renew: Option<String>,
    /// "Spend $300.00 in one order to reach Gold (20%)."; `None` at the top of the ladder.
    pub upgrade: Option<String>,
}

/// The next steps of a member of `current` whose membership runs until `expires_label` (a date on
/// the winery's calendar). A renewal needs one order reaching the stage's own minimum before the
/// expiry (the engine: a lower stage changes nothing); an upgrade one order reaching the next
/// active stage's minimum, at any time (D1 keeps the start date).
pub fn next_steps(
    current: &StageOffer,
    current_active: bool,
    next: Option<&StageOffer>,
    expires_label: &str,
    currency: &str,
) -> NextSteps {
    let money = |cents: i64| Money::from_cents(cents).display(currency);
    NextSteps {
        renew: current_active.then(|| {
            format!(
                "Spend {} in one order by {expires_label} to renew.",
                money(current.min_purchase_cents)
            )
        }),
        upgrade: next.map(|n| {
            format!(
                "Spend {} in one order to reach {}.",
                money(n.min_purchase_cents),
                n.title()
            )
        }),
    }
}

/// How a stage is joined, for a customer who is not a member: "One order of $75.00 or more joins
/// Bronze: 10% off for 3 months."
pub fn join_sentence(stage: &StageOffer, currency: &str) -> String {
    let months = if stage.duration_months == 1 {
        "1 month".to_owned()
    } else {
        format!("{} months", stage.duration_months)
    };
    format!(
        "One order of {} or more joins {}: {} off for {months}.",
        Money::from_cents(stage.min_purchase_cents).display(currency),
        stage.name,
        Percent::from_hundredths(stage.discount_hundredths)
    )
}

/// The most origins a winery may list.
pub const MAX_FRAME_ANCESTORS: usize = 10;

/// Why a framing origin was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FrameAncestorError {
    #[error(
        "\"{0}\" is not an origin. Write it as https://www.example.com (a scheme and a host, no path)."
    )]
    NotAnOrigin(String),
    #[error("\"{0}\" must use https (http is accepted for localhost only).")]
    NotHttps(String),
    #[error("List at most {MAX_FRAME_ANCESTORS} sites.")]
    TooMany,
}

/// Parses the origins allowed to frame the portal (CSP `frame-ancestors`), one per line or
/// separated by spaces or commas: `https://host`, `https://*.host` or `https://host:port`. Each is
/// checked character by character, so nothing typed here can add another CSP directive.
///
/// # Errors
/// The first entry that is not an origin, or more than [`MAX_FRAME_ANCESTORS`] entries.
pub fn parse_frame_ancestors(raw: &str) -> Result<Vec<String>, FrameAncestorError> {
    let mut origins: Vec<String> = Vec::new();
    for entry in raw
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|e| !e.is_empty())
    {
        let origin = parse_origin(entry)?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if origins.len() > MAX_FRAME_ANCESTORS {
        return Err(FrameAncestorError::TooMany);
    }
    Ok(origins)
}

fn parse_origin(entry: &str) -> Result<String, FrameAncestorError> {
    let lower = entry.trim_end_matches('/').to_ascii_lowercase();
    let not_origin = || FrameAncestorError::NotAnOrigin(entry.to_owned());
    let (scheme, rest) = lower.split_once("://").ok_or_else(not_origin)?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(not_origin());
    }
    let bare = host.strip_prefix("*.").unwrap_or(host);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if bare.is_empty() || bare.len() > 253 || !bare.split('.').all(label_ok) {
        return Err(not_origin());
    }
    let local = matches!(bare, "localhost" | "127.0.0.1");
    match scheme {
        "https" => {}
        "http" if local => {}
        "http" => return Err(FrameAncestorError::NotHttps(entry.to_owned())),
        _ => return Err(not_origin()),
    }
    Ok(lower)
}

/// Whether `raw` is a brand colour the portal accepts: `#` and six hex digits (the database's
/// own check).
pub fn is_brand_color(raw: &str) -> bool {
    raw.len() == 7 && raw.starts_with('#') && raw[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The winery as the portal shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    pub slug: String,
    pub name: String,
    /// An https address, or empty.
    pub logo_url: String,
    /// `#rrggbb`, or empty for the default.
    pub brand_color: String,
}

/// A membership as the status page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipView {
    pub stage: String,
    /// "15%".
    pub discount: String,
    /// The expiry date on the winery's calendar.
    pub expires_on: String,
    pub days_left: i64,
    pub next: NextSteps,
    /// The start of the current membership on the winery's calendar.
    pub member_since: String,
}

/// One line of the points ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLine {
    pub on: String,
    pub points: i32,
    pub reason: String,
}

/// The member's points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsView {
    pub balance: i64,
    /// The balance in money, e.g. "$4.00".
    pub value: String,
    pub earning: bool,
    /// Days counted toward earning, and the days needed ("212 of 365 days").
    pub progress_days: i64,
    pub threshold_days: i64,
    pub recent: Vec<LedgerLine>,
}

/// The status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub first_name: String,
    pub email: String,
    /// `None` for a customer who is not a member.
    pub membership: Option<MembershipView>,
    /// Every active stage, lowest first, with how to join it (shown to non-members).
    pub join: Vec<String>,
    /// Total days as a member (D10).
    pub membership_days: i64,
    /// Discounts on the orders placed as a member, e.g. "$129.90".
    pub saved: String,
    pub points: PointsView,
}

/// A reward in the member's catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalReward {
    pub id: String,
    pub name: String,
    pub description: String,
    pub points: i64,
    /// "Until March 31, 2027", "From …", or empty.
    pub window: String,
    /// "3 left", or empty when the stock is unlimited.
    pub stock: String,
    /// Why it cannot be redeemed now (not enough points, out of stock, not yet open), or `None`.
    pub blocked: Option<String>,
    /// The balance after redeeming it.
    pub balance_after: i64,
}

/// A past redemption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalRedemption {
    pub on: String,
    pub reward: String,
    pub points: i64,
    /// "Requested", "Fulfilled", "Cancelled".
    pub status: String,
}

/// The rewards page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardsView {
    pub balance: i64,
    pub rewards: Vec<PortalReward>,
    pub history: Vec<PortalRedemption>,
}

/// One step of the member's club history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    pub on: String,
    pub text: String,
}

/// The savings statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementView {
    pub name: String,
    pub email: String,
    /// The date it was drawn up, on the winery's calendar.
    pub as_of: String,
    /// Discounts on the orders placed as a member.
    pub saved: String,
    pub member_orders: i64,
    pub member_spend: String,
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub membership_days: i64,
    pub current_stage: Option<String>,
    pub history: Vec<HistoryLine>,
}

/// The portal's settings, as the admin edits them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSettings {
    pub portal_url: String,
    pub logo_url: String,
    pub brand_color: String,
    /// One origin per line.
    pub frame_ancestors: String,
    /// HTML the winery pastes into its website.
    pub embed_snippet: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, discount: u32, min: i64, months: u32) -> StageOffer {
        StageOffer {
            name: name.to_owned(),
            discount_hundredths: discount,
            min_purchase_cents: min,
            duration_months: months,
        }
    }

    #[test]
    fn a_silver_member_is_told_the_renewal_and_the_upgrade_amounts() {
        let silver = stage("Silver", 1_500, 15_000, 6);
        let gold = stage("Gold", 2_000, 30_000, 12);
        let steps = next_steps(&silver, true, Some(&gold), "July 1, 2026", "USD");
        assert_eq!(
            steps.renew.as_deref(),
            Some("Spend $150.00 in one order by July 1, 2026 to renew.")
        );
        assert_eq!(
            steps.upgrade.as_deref(),
            Some("Spend $300.00 in one order to reach Gold (20%).")
        );
    }

    #[test]
    fn the_top_stage_has_no_upgrade_and_a_retired_stage_no_renewal() {
        let gold = stage("Gold", 2_000, 30_000, 12);
        let top = next_steps(&gold, true, None, "May 2, 2027", "USD");
        assert!(top.renew.is_some());
        assert_eq!(top.upgrade, None);
        let retired = next_steps(&gold, false, None, "May 2, 2027", "USD");
        assert_eq!(retired.renew, None);
    }

    #[test]
    fn a_non_member_reads_how_to_join_each_stage() {
        assert_eq!(
            join_sentence(&stage("Bronze", 1_000, 7_500, 3), "USD"),
            "One order of $75.00 or more joins Bronze: 10% off for 3 months."
        );
        assert_eq!(
            join_sentence(&stage("Trial", 500, 0, 1), "USD"),
            "One order of $0.00 or more joins Trial: 5% off for 1 month."
        );
    }

    #[test]
    fn framing_origins_are_accepted_only_as_plain_origins() {
        assert_eq!(
            parse_frame_ancestors(
                "https://www.Winery.example/\n https://*.shop.example:8443, https://www.winery.example"
            ),
            Ok(vec![
                "https://www.winery.example".to_owned(),
                "https://*.shop.example:8443".to_owned()
            ])
        );
        assert_eq!(parse_frame_ancestors("  "), Ok(vec![]));
        assert_eq!(
            parse_frame_ancestors("http://localhost:3000"),
            Ok(vec!["http://localhost:3000".to_owned()])
        );
        for bad in [
            "www.winery.example",
            "https://winery.example/club",
            "https://winery.example;script-src",
            "https://'self'",
            "javascript://x",
            "https://*",
            "https://a..b",
            "https://host:99999999",
        ] {
            assert!(
                matches!(
                    parse_frame_ancestors(bad),
                    Err(FrameAncestorError::NotAnOrigin(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            parse_frame_ancestors("http://winery.example"),
            Err(FrameAncestorError::NotHttps(
                "http://winery.example".to_owned()
            ))
        );
        let many: Vec<String> = (0..11).map(|i| format!("https://s{i}.example")).collect();
        assert_eq!(
            parse_frame_ancestors(&many.join(" ")),
            Err(FrameAncestorError::TooMany)
        );
    }

    #[test]
    fn brand_colours_are_six_hex_digits() {
        assert!(is_brand_color("#7b2d43"));
        assert!(!is_brand_color("7b2d43"));
        assert!(!is_brand_color("#7b2d4"));
        assert!(!is_brand_color("#7b2d4g"));
        assert!(!is_brand_color("red"));
    }
}
