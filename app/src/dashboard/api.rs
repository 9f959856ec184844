//! The dashboard's server function: a thin adapter into `backend::analytics`.

use crate::error::AppError;
use domain::analytics::Dashboard;
use leptos::prelude::*;

/// The dashboard for the period `from`–`to` (local dates; blank is the month to date).
#[server(prefix = "/api", endpoint = "dashboard")]
pub async fn get_dashboard(from: String, to: String) -> Result<Dashboard, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let now = chrono::Utc::now();
    let today = now.with_timezone(&admin.zone()).date_naive();
    let period = domain::analytics::Period::parse(&from, &to, today)
        .map_err(|e| AppError::invalid("period", e.to_string()))?;
    Ok(backend::analytics::dashboard(&state().pool, &admin, period, now).await?)
}

/// The members at risk of lapsing, the most valuable first.
#[server(prefix = "/api", endpoint = "dashboard/at-risk")]
pub async fn get_at_risk() -> Result<domain::analytics::AtRiskList, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::analytics::at_risk(&state().pool, &admin, chrono::Utc::now()).await?)
}

/// Sends one at-risk member a renewal reminder now; answers what happened.
#[server(prefix = "/api", endpoint = "dashboard/remind")]
pub async fn send_reminder(enrollment_id: String) -> Result<String, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let enrollment =
        domain::ids::EnrollmentId::parse(&enrollment_id).map_err(|_| AppError::NotFound {
            what: "active membership".to_owned(),
        })?;
    Ok(backend::analytics::remind(&state().pool, &admin, enrollment, chrono::Utc::now()).await?)
}
