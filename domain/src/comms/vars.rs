//! The variables a template can use (domain.md section 6.3, with D15's statement period), their
//! descriptions for the editor, and sample values for the preview.

use serde::{Deserialize, Serialize};

/// Everything a message knows about its member, their club and their winery. Amounts and dates
/// are already formatted for reading, in the winery's currency and time zone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageVars {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,

    pub current_stage: String,
    pub discount_percentage: String,
    pub expires_at: String,
    pub expires_at_iso: String,
    pub days_remaining: i64,
    pub is_expiring_soon: bool,
    /// The amount one order must reach to renew (the stage's minimum).
    pub min_purchase_amount: String,

    pub next_stage: String,
    pub next_stage_discount: String,
    pub next_stage_amount: String,
    pub has_upgrade_available: bool,
    /// For an upgrade: the stage left behind.
    pub previous_stage: String,

    pub points_balance: i64,
    pub points_lifetime: i64,
    /// D15: the points earned in the previous calendar month.
    pub points_earned_last_month: i64,
    pub is_earning_points: bool,
    /// For a points-earned message: the points this order earned.
    pub points_earned: i64,
    pub membership_days: i64,
    pub earning_threshold_days: i64,

    /// For redemptions.
    pub reward_name: String,
    pub reward_points: i64,

    pub winery_name: String,
    pub winery_logo_url: String,
    pub shop_url: String,
    pub postal_address: String,
    pub custom_content: String,

    pub unsubscribe_url: String,
    pub preferences_url: String,
    pub portal_url: String,
    /// For the portal's sign-in e-mail: the single-use link (empty in every other message).
    pub sign_in_url: String,
}

/// Every variable, with what it holds, for the editor's reference and for the check on save.
pub const VARIABLES: &[(&str, &str)] = &[
    ("first_name", "The member's first name"),
    ("last_name", "The member's last name"),
    ("email", "The member's e-mail address"),
    ("phone", "The member's phone number"),
    ("current_stage", "The stage's name, e.g. Silver"),
    ("discount_percentage", "The stage's discount, e.g. 15%"),
    ("expires_at", "The expiry date, e.g. July 1, 2026"),
    ("expires_at_iso", "The expiry date as 2026-07-01"),
    ("days_remaining", "Whole days until the expiry, rounded up"),
    ("is_expiring_soon", "True when 30 days or fewer remain"),
    (
        "min_purchase_amount",
        "What one order must reach to renew, e.g. $150.00",
    ),
    (
        "next_stage",
        "The next higher stage's name (empty at the top)",
    ),
    ("next_stage_discount", "The next stage's discount"),
    ("next_stage_amount", "The next stage's minimum order"),
    ("has_upgrade_available", "True when a higher stage exists"),
    ("previous_stage", "After an upgrade: the stage left behind"),
    ("points_balance", "The points balance"),
    ("points_lifetime", "All points ever earned"),
    (
        "points_earned_last_month",
        "Points earned in the previous calendar month",
    ),
    ("is_earning_points", "True once the member earns points"),
    ("points_earned", "Points the latest order earned"),
    ("membership_days", "Days of membership so far"),
    (
        "earning_threshold_days",
        "Membership days needed to start earning",
    ),
    ("reward_name", "The redeemed reward's name"),
    ("reward_points", "The points the reward cost"),
    ("winery_name", "The winery's name"),
    (
        "winery_logo_url",
        "The winery's logo address (may be empty)",
    ),
    ("shop_url", "The winery's shop"),
    ("postal_address", "The winery's postal address"),
    (
        "custom_content",
        "A paragraph the winery writes in the settings",
    ),
    ("unsubscribe_url", "One-click unsubscribe link"),
    ("preferences_url", "The member's preference page"),
    ("portal_url", "The member portal"),
    (
        "sign_in_url",
        "The sign-in e-mail's single-use link (30 minutes)",
    ),
];

/// Whether `name` is a known variable.
pub fn is_known(name: &str) -> bool {
    VARIABLES.iter().any(|(known, _)| *known == name)
}

impl MessageVars {
    /// Made-up values for previewing a template without a real member.
    pub fn sample(winery_name: &str) -> Self {
        Self {
            first_name: "Ann".to_owned(),
            last_name: "Lee".to_owned(),
            email: "ann@example.com".to_owned(),
            phone: "+15551234567".to_owned(),
            current_stage: "Silver".to_owned(),
            discount_percentage: "15%".to_owned(),
            expires_at: "July 1, 2026".to_owned(),
            expires_at_iso: "2026-07-01".to_owned(),
            days_remaining: 7,
            is_expiring_soon: true,
            min_purchase_amount: "$150.00".to_owned(),
            next_stage: "Gold".to_owned(),
            next_stage_discount: "20%".to_owned(),
            next_stage_amount: "$300.00".to_owned(),
            has_upgrade_available: true,
            previous_stage: "Bronze".to_owned(),
            points_balance: 1250,
            points_lifetime: 3400,
            points_earned_last_month: 180,
            is_earning_points: true,
            points_earned: 95,
            membership_days: 412,
            earning_threshold_days: 365,
            reward_name: "Barrel tasting for two".to_owned(),
            reward_points: 500,
            winery_name: winery_name.to_owned(),
            winery_logo_url: String::new(),
            shop_url: "https://example.com/shop".to_owned(),
            postal_address: "1 Vineyard Lane, Napa, CA 94558".to_owned(),
            custom_content: String::new(),
            unsubscribe_url: "https://example.com/u/sample".to_owned(),
            preferences_url: "https://example.com/p/sample".to_owned(),
            portal_url: "https://example.com/m/sample".to_owned(),
            sign_in_url: "https://example.com/m/sample/sign-in?token=sample".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_the_variables_is_documented_and_nothing_more() {
        let value = serde_json::to_value(MessageVars::default()).expect("serializes");
        let fields: Vec<&String> = value.as_object().expect("an object").keys().collect();
        for field in &fields {
            assert!(is_known(field), "{field} has no description");
        }
        assert_eq!(fields.len(), VARIABLES.len());
    }
}
