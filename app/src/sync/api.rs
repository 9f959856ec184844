//! Server functions of the CRM pages: thin adapters into `backend::sync`.

use crate::error::AppError;
use domain::sync::{ConnectionView, SyncQueueView};
use leptos::prelude::*;

/// The queue: counts and the newest operations.
#[server(prefix = "/api", endpoint = "sync/queue")]
pub async fn sync_queue() -> Result<SyncQueueView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::sync::overview(&state().pool, &admin).await?)
}

/// "Retry now" for a failed operation.
#[server(prefix = "/api", endpoint = "sync/retry")]
pub async fn retry_sync_item(id: String) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound {
        what: "failed operation".to_owned(),
    })?;
    Ok(backend::sync::retry(&state().pool, &admin, id, chrono::Utc::now()).await?)
}

/// "Resync all members": queues a grant for every active membership; returns how many.
#[server(prefix = "/api", endpoint = "sync/resync")]
pub async fn resync_members() -> Result<i64, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::sync::resync_all(&state().pool, &admin, chrono::Utc::now()).await?)
}

/// The connection: CRM, tenant, credentials, webhook health.
#[server(prefix = "/api", endpoint = "sync/connection")]
pub async fn get_connection() -> Result<ConnectionView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::sync::connection(&state().pool, &admin).await?)
}

/// Registers the winery's webhooks again (Commerce7 and the sandbox); returns how many.
#[server(prefix = "/api", endpoint = "sync/webhooks")]
pub async fn register_webhooks() -> Result<usize, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let state = state();
    Ok(
        backend::sync::register_webhooks(&state.pool, &state.crm, &admin, chrono::Utc::now())
            .await?,
    )
}

/// The demo's "simulate an order": returns the order number.
#[server(prefix = "/api", endpoint = "sync/simulate")]
pub async fn simulate_order(
    email: String,
    first_name: String,
    last_name: String,
    amount: String,
) -> Result<String, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let email = domain::EmailAddress::parse(&email)
        .map_err(|e| AppError::invalid("email", format!("The e-mail address {e}.")))?;
    let amount = domain::Money::parse(&amount)
        .ok()
        .filter(|m| m.cents() > 0 && m.cents() <= 10_000_000)
        .ok_or_else(|| {
            AppError::invalid(
                "amount",
                "Enter an amount in dollars between 0.01 and 100,000, such as 90 or 149.50.",
            )
        })?;
    let name = |raw: &str, field: &'static str| {
        let raw = raw.trim();
        if raw.is_empty() || raw.chars().count() > 100 {
            Err(AppError::invalid(
                field,
                "Enter a name of 1 to 100 characters.",
            ))
        } else {
            Ok(raw.to_owned())
        }
    };
    let order = backend::sandbox::SimulatedOrder {
        email: email.as_str().to_owned(),
        first_name: name(&first_name, "first_name")?,
        last_name: name(&last_name, "last_name")?,
        subtotal_cents: amount.cents(),
    };
    let state = state();
    Ok(
        backend::sync::simulate_order(&state.pool, &state.crm, &admin, &order, chrono::Utc::now())
            .await?,
    )
}
