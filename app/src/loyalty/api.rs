//! Server functions of the loyalty pages: thin adapters into `backend::loyalty`.

use crate::error::AppError;
use domain::loyalty::{LoyaltyView, MemberPointsView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn parse_uuid(what: &str, raw: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(raw.trim()).map_err(|_| AppError::NotFound {
        what: what.to_owned(),
    })
}

#[cfg(feature = "ssr")]
fn parse_customer(raw: &str) -> Result<domain::ids::CustomerId, AppError> {
    domain::ids::CustomerId::parse(raw).map_err(|_| AppError::NotFound {
        what: "member".to_owned(),
    })
}

#[cfg(feature = "ssr")]
fn settings_problem(p: domain::loyalty::SettingsProblem) -> AppError {
    AppError::invalid(p.field, p.message)
}

/// Settings, catalog, redemption queue and the last ledger check.
#[server(prefix = "/api", endpoint = "loyalty/overview")]
pub async fn get_loyalty() -> Result<LoyaltyView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::loyalty::overview(&state().pool, &admin).await?)
}

/// Saves the loyalty settings.
#[server(prefix = "/api", endpoint = "loyalty/settings")]
pub async fn save_loyalty_settings(
    points_per_dollar: String,
    bonus_percent: String,
    min_membership_days: String,
    point_value: String,
    min_points_for_redemption: String,
    is_active: String,
) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let active = crate::club::api::parse_flag("is_active", &is_active)?;
    let settings = domain::loyalty::LoyaltySettings::parse(
        &points_per_dollar,
        &bonus_percent,
        &min_membership_days,
        &point_value,
        &min_points_for_redemption,
        active,
    )
    .map_err(settings_problem)?;
    Ok(backend::loyalty::save_settings(&state().pool, &admin, &settings).await?)
}

/// The reward form's fields, as typed; both reward endpoints take them flattened.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RewardForm {
    pub reward_type: String,
    pub name: String,
    pub description: String,
    pub image_url: String,
    pub points_required: String,
    pub quantity_available: String,
    pub per_customer_limit: String,
    /// A local date-time on the winery's clock (`2026-04-01T10:00`), or empty.
    pub available_from: String,
    pub available_until: String,
}

#[cfg(feature = "ssr")]
impl RewardForm {
    fn values(
        &self,
        admin: &backend::auth::Admin,
    ) -> Result<domain::loyalty::RewardValues, AppError> {
        let from =
            backend::loyalty::parse_local_time(admin, "available_from", &self.available_from)?;
        let until =
            backend::loyalty::parse_local_time(admin, "available_until", &self.available_until)?;
        domain::loyalty::RewardValues::parse(
            &self.reward_type,
            &self.name,
            &self.description,
            &self.image_url,
            &self.points_required,
            &self.quantity_available,
            &self.per_customer_limit,
            from,
            until,
        )
        .map_err(settings_problem)
    }
}

/// Adds a reward to the catalog.
#[server(prefix = "/api", endpoint = "loyalty/rewards/add")]
pub async fn add_reward(#[server(flatten)] reward: RewardForm) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let values = reward.values(&admin)?;
    backend::loyalty::add_reward(&state().pool, &admin, &values).await?;
    Ok(())
}

/// Saves a reward (`is_active`: `true` or `false`).
#[server(prefix = "/api", endpoint = "loyalty/rewards/save")]
pub async fn save_reward(
    id: String,
    is_active: String,
    #[server(flatten)] reward: RewardForm,
) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let values = reward.values(&admin)?;
    let active = crate::club::api::parse_flag("is_active", &is_active)?;
    let id = parse_uuid("reward", &id)?;
    Ok(backend::loyalty::update_reward(&state().pool, &admin, id, &values, active).await?)
}

/// Removes a reward from the catalog (its redemptions stay).
#[server(prefix = "/api", endpoint = "loyalty/rewards/delete")]
pub async fn delete_reward(id: String) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::loyalty::delete_reward(
        &state().pool,
        &admin,
        parse_uuid("reward", &id)?,
        chrono::Utc::now(),
    )
    .await?)
}

/// Fulfils, cancels or refunds a redemption (`action`: `fulfil`, `cancel`, `refund`).
#[server(prefix = "/api", endpoint = "loyalty/redemptions/act")]
pub async fn act_on_redemption(id: String, action: String) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    use backend::loyalty::RedemptionAction;
    let admin = require_admin()?;
    let action = match action.as_str() {
        "fulfil" => RedemptionAction::Fulfil,
        "cancel" => RedemptionAction::Cancel,
        "refund" => RedemptionAction::Refund,
        _ => {
            return Err(AppError::invalid(
                "action",
                "Choose fulfil, cancel or refund.",
            ));
        }
    };
    Ok(backend::loyalty::act_on_redemption(
        &state().pool,
        &admin,
        parse_uuid("redemption", &id)?,
        action,
        chrono::Utc::now(),
    )
    .await?)
}

/// Runs the ledger check (D14) now.
#[server(prefix = "/api", endpoint = "loyalty/check")]
pub async fn check_ledgers() -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let job = backend::jobs::find("verify-ledgers").ok_or(AppError::Unavailable)?;
    backend::jobs::run(
        &state().pool,
        job,
        Some(admin.client_id),
        chrono::Utc::now(),
    )
    .await?;
    Ok(())
}

/// A member's points, ledger, redemptions and redeemable rewards.
#[server(prefix = "/api", endpoint = "loyalty/member")]
pub async fn get_member_points(customer_id: String) -> Result<MemberPointsView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::loyalty::member_points(
        &state().pool,
        &admin,
        parse_customer(&customer_id)?,
        chrono::Utc::now(),
    )
    .await?)
}

/// Redeems a reward for a member; returns the balance after.
#[server(prefix = "/api", endpoint = "loyalty/redeem")]
pub async fn redeem_for_member(customer_id: String, reward_id: String) -> Result<i32, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let customer = parse_customer(&customer_id)?;
    let reward = parse_uuid("reward", &reward_id)?;
    let redeemer = backend::loyalty::Redeemer::Admin(&admin);
    Ok(backend::loyalty::redeem(
        &state().pool,
        admin.client_id,
        redeemer,
        customer,
        reward,
        chrono::Utc::now(),
    )
    .await?)
}

/// Adds (`bonus`) or corrects (`adjusted`) a member's points, with a reason they will see.
#[server(prefix = "/api", endpoint = "loyalty/adjust")]
pub async fn adjust_points(
    customer_id: String,
    kind: String,
    points: String,
    reason: String,
) -> Result<i32, AppError> {
    use crate::ssr::{require_admin, state};
    use backend::loyalty::Adjustment;
    let admin = require_admin()?;
    let customer = parse_customer(&customer_id)?;
    let kind = match kind.as_str() {
        "bonus" => Adjustment::Bonus,
        "adjusted" => Adjustment::Correction,
        _ => return Err(AppError::invalid("kind", "Choose a bonus or a correction.")),
    };
    let points = points.trim().parse::<i32>().map_err(|_| {
        AppError::invalid(
            "points",
            "Enter a whole number of points, such as 50 or -20.",
        )
    })?;
    Ok(backend::loyalty::adjust(
        &state().pool,
        &admin,
        customer,
        kind,
        points,
        &reason,
        chrono::Utc::now(),
    )
    .await?)
}
