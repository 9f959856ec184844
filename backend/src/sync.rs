//! The CRM integration from the admin's side: the sync queue (with "retry now" and "resync all
//! members"), the connection's health, re-registering webhooks, and the demo's simulated orders.

use crate::Result;
use crate::auth::Admin;
use crate::crm::registry::Registry;
use crate::db::{self, crm as q, crm_queue};
use crate::{Error, sandbox};
use chrono::{DateTime, Utc};
use domain::sync::{ConnectionView, SandboxMembershipView};
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use uuid::Uuid;

/// The admin's winery's queue.
///
/// # Errors
/// Database failures only.
pub async fn overview(pool: &PgPool, admin: &Admin) -> Result<domain::sync::SyncQueueView> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let view = crm_queue::overview(&mut tx, admin.client_id, admin.zone()).await?;
    tx.commit().await?;
    Ok(view)
}

/// "Retry now": a failed operation goes back to the queue with fresh attempts.
///
/// # Errors
/// An unknown (or another winery's) item, or one that has not failed; a viewer.
pub async fn retry(pool: &PgPool, admin: &Admin, item: Uuid, now: DateTime<Utc>) -> Result<()> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    if !q::retry_item(&mut tx, admin.client_id, item, now).await? {
        return Err(Error::NotFound {
            what: "failed operation",
        });
    }
    tx.commit().await?;
    Ok(())
}

/// "Resync all members": a grant for every active membership. Returns how many were queued.
///
/// # Errors
/// A viewer; database failures.
pub async fn resync_all(pool: &PgPool, admin: &Admin, now: DateTime<Utc>) -> Result<i64> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let queued = q::resync_all(&mut tx, admin.client_id, now).await?;
    tx.commit().await?;
    Ok(queued)
}

/// The connection page's data.
///
/// # Errors
/// Database failures only.
pub async fn connection(pool: &PgPool, admin: &Admin) -> Result<ConnectionView> {
    let z = admin.zone();
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let winery = db::clients::find(&mut tx, admin.client_id)
        .await?
        .ok_or(Error::NotFound { what: "winery" })?;
    let connection = q::connection(&mut tx, admin.client_id).await?;
    let tokens = q::tokens(&mut tx, admin.client_id).await?;
    let inbox = sqlx::query!(
        r#"select count(*) filter (where status = 'received') as "waiting!",
                  count(*) filter (where status in ('processed', 'ignored')) as "done!",
                  count(*) filter (where status = 'failed') as "failed!"
           from webhook_inbox where client_id = $1"#,
        admin.client_id.as_uuid()
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some(connection) = connection else {
        return Ok(ConnectionView {
            tenant: winery.tenant_shop,
            ..ConnectionView::default()
        });
    };
    let credentials = match (connection.provider.as_str(), tokens) {
        ("shopify", Some(t)) => match t.expires_at {
            Some(at) => format!(
                "An access token valid until {}, refreshed automatically before it expires",
                domain::calendar::local_label(at, z)
            ),
            None => "An access token that does not expire".to_owned(),
        },
        ("shopify", None) => "No access token: install Vinculum again from Shopify".to_owned(),
        ("sandbox", _) => {
            "The sandbox's own credentials, derived from the server's secret key".to_owned()
        }
        _ => "The Vinculum app's Commerce7 credentials".to_owned(),
    };
    let sandbox_memberships = if connection.provider == "sandbox" {
        sandbox::memberships(pool, &winery.tenant_shop)
            .await?
            .into_iter()
            .rev()
            .map(|(email, club, since, cancelled)| {
                let label = |raw: &str| {
                    DateTime::parse_from_rfc3339(raw).map_or_else(
                        |_| raw.to_owned(),
                        |t| domain::calendar::local_label(t.with_timezone(&Utc), z),
                    )
                };
                SandboxMembershipView {
                    email,
                    club,
                    since: label(&since),
                    cancelled: cancelled.as_deref().map(label),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(ConnectionView {
        provider: connection.provider,
        tenant: winery.tenant_shop,
        credentials,
        webhooks_registered: connection
            .webhook_ids
            .as_array()
            .map_or(0, |a| i64::try_from(a.len()).unwrap_or(0)),
        last_webhook_label: connection
            .last_webhook_at
            .map(|t| domain::calendar::local_label(t, z)),
        last_webhook_error: connection.last_webhook_error,
        inbox_waiting: inbox.waiting,
        inbox_done: inbox.done,
        inbox_failed: inbox.failed,
        sandbox_memberships,
    })
}

/// Registers the winery's Commerce7 (or sandbox) webhooks again, with a fresh secret. Returns how
/// many.
///
/// # Errors
/// A Shopify winery (its webhooks are declared with the app), no connection, the CRM refusing, or
/// a viewer.
pub async fn register_webhooks(
    pool: &PgPool,
    registry: &Registry,
    admin: &Admin,
    now: DateTime<Utc>,
) -> Result<usize> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let winery = db::clients::find(&mut tx, admin.client_id)
        .await?
        .ok_or(Error::NotFound { what: "winery" })?;
    let connection = q::connection(&mut tx, admin.client_id).await?;
    tx.commit().await?;
    let crm = match connection.as_ref().map(|c| c.provider.as_str()) {
        Some("sandbox") => registry.sandbox(&winery.tenant_shop),
        Some("commerce7") => registry.commerce7(&winery.tenant_shop)?,
        Some(_) => {
            return Err(Error::Conflict(
                "Shopify's webhooks are declared with the app; nothing to register here."
                    .to_owned(),
            ));
        }
        None => {
            return Err(Error::Conflict(
                "This winery has no CRM connection.".to_owned(),
            ));
        }
    };
    let provider = connection.map(|c| c.provider).unwrap_or_default();
    // The new subscriptions first; the new secret is kept only once the CRM has them.
    let secret = crate::install::new_secret();
    let url = crate::install::commerce7_webhook_url(
        &registry.config.public_url,
        &winery.tenant_shop,
        secret.expose_secret(),
    );
    let registered =
        crate::install::register_commerce7_webhooks(pool, &crm, admin.client_id, &url).await?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let ids = q::connection(&mut tx, admin.client_id)
        .await?
        .map(|c| c.webhook_ids)
        .unwrap_or_default();
    let sealed = registry.cipher()?.seal(secret.expose_secret());
    q::save_connection(&mut tx, admin.client_id, &provider, &sealed, &ids).await?;
    q::wake(&mut tx, admin.client_id, now).await?;
    tx.commit().await?;
    Ok(registered)
}

/// The demo's "simulate an order": the order goes into the sandbox CRM and its `Order`/`Create`
/// webhook through the real receiver, exactly as Commerce7 would send it. Returns the order number.
///
/// # Errors
/// A winery not on the sandbox CRM, a delivery the receiver refused, or a viewer.
pub async fn simulate_order(
    pool: &PgPool,
    registry: &Registry,
    admin: &Admin,
    order: &sandbox::SimulatedOrder,
    now: DateTime<Utc>,
) -> Result<String> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let winery = db::clients::find(&mut tx, admin.client_id)
        .await?
        .ok_or(Error::NotFound { what: "winery" })?;
    let provider = q::connection(&mut tx, admin.client_id)
        .await?
        .map(|c| c.provider);
    tx.commit().await?;
    if provider.as_deref() != Some("sandbox") {
        return Err(Error::Conflict(
            "Simulated orders are for wineries on the sandbox CRM.".to_owned(),
        ));
    }
    let (number, deliveries) =
        sandbox::simulate_order(pool, &winery.tenant_shop, order, now).await?;
    if deliveries.is_empty() {
        return Err(Error::Conflict(
            "The sandbox has no webhook subscription for orders; register the webhooks first."
                .to_owned(),
        ));
    }
    for (url, event) in deliveries {
        let sent = registry.http().post(&url).json(&event).send().await;
        let status = sent.as_ref().ok().map(|r| r.status().as_u16());
        if status != Some(200) {
            sandbox::log_failed_delivery(pool, &winery.tenant_shop, &url, &event, status, now)
                .await?;
            return Err(Error::Conflict(format!(
                "The webhook receiver did not accept order {number} ({}).",
                status.map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"))
            )));
        }
    }
    Ok(number)
}
