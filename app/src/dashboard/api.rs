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
