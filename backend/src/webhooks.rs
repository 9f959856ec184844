//! Webhooks from Commerce7 and Shopify (decisions D23, D24): each delivery is authenticated
//! (Shopify: HMAC over the raw body; Commerce7: the per-tenant secret in its URL), stored raw in the
//! inbox under its delivery key (so a redelivery changes nothing), and answered at once. The CRM
//! worker then processes the inbox in arrival order ([`process_inbox`]): orders into the club
//! engine (re-fetched from the CRM first: a payload is only a hint), customer changes, erasure,
//! memberships cancelled in the CRM, and uninstalls.

use crate::crm::registry::{Provider, Registry};
use crate::crm::{Crm, CrmCustomer, CrmError, CrmOrder, shopify, signing};
use crate::db::audit::{self, Actor, Entry};
use crate::db::customers::{self, CustomerRef};
use crate::db::orders::OrderEvent;
use crate::db::{self, clients, enrollments, webhooks as q};
use crate::orders::{ClubClient, process_order};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use domain::EmailAddress;
use domain::ids::ClientId;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// Why a delivery was refused (nothing was stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The signature or the secret does not match (401).
    Unauthorized,
    /// No winery has this tenant or shop (404).
    UnknownTenant,
    /// The body is not the JSON the topic needs (400).
    Malformed(&'static str),
}

/// What became of an accepted delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receipt {
    Stored,
    /// The same delivery was stored before; nothing changed.
    Duplicate,
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0x1f]);
    }
    hex::encode(hash.finalize())
}

/// Commerce7's object names, normalised: lower case without spaces ("Club Membership" and
/// "ClubMembership" are both `clubmembership`).
fn normalise(word: &str) -> String {
    word.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

async fn store(
    pool: &PgPool,
    client: ClientId,
    provider: &str,
    topic: &str,
    key: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Receipt> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let stored = q::insert(&mut tx, client, provider, topic, key, payload, now).await?;
    if stored {
        db::crm::wake(&mut tx, client, now).await?;
    }
    tx.commit().await?;
    Ok(if stored {
        Receipt::Stored
    } else {
        Receipt::Duplicate
    })
}

/// A Commerce7 delivery to `/webhooks/c7/{tenant}/{secret}`.
///
/// # Errors
/// Database failures; refusals are the inner `Err`.
pub async fn receive_commerce7(
    pool: &PgPool,
    registry: &Registry,
    tenant: &str,
    secret: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Result<Receipt, Refusal>> {
    let mut tx = db::begin_platform(pool).await?;
    let winery = clients::find_by_tenant(&mut tx, "commerce7", tenant).await?;
    tx.commit().await?;
    let Some(winery) = winery.filter(|w| w.status == "installed") else {
        return Ok(Err(Refusal::UnknownTenant));
    };
    let mut tx = db::begin_scoped(pool, winery.id).await?;
    let connection = db::crm::connection(&mut tx, winery.id).await?;
    tx.commit().await?;
    let Some(connection) = connection else {
        return Ok(Err(Refusal::UnknownTenant));
    };
    let expected = registry
        .cipher()?
        .open(&connection.webhook_secret_encrypted)
        .map_err(|e| anyhow::anyhow!("opening the webhook secret: {e}"))?;
    use secrecy::ExposeSecret as _;
    if !signing::constant_time_eq(expected.expose_secret().as_bytes(), secret.as_bytes()) {
        return Ok(Err(Refusal::Unauthorized));
    }
    let Ok(event) = serde_json::from_slice::<Value>(body) else {
        return Ok(Err(Refusal::Malformed("the body is not JSON")));
    };
    let (topic, key) = match commerce7_key(tenant, &event) {
        Ok(k) => k,
        Err(refusal) => return Ok(Err(refusal)),
    };
    store(pool, winery.id, "commerce7", &topic, &key, &event, now)
        .await
        .map(Ok)
}

/// A Commerce7 delivery's topic (`order/create`) and key: there is no delivery id, so the key is
/// the tenant, object, action, the object's id and its `updatedAt` (integrations.md 1.7).
fn commerce7_key(tenant: &str, event: &Value) -> Result<(String, String), Refusal> {
    let (Some(object), Some(action)) = (
        event.get("object").and_then(Value::as_str),
        event.get("action").and_then(Value::as_str),
    ) else {
        return Err(Refusal::Malformed("object and action are required"));
    };
    let Some(id) = event.pointer("/payload/id").and_then(Value::as_str) else {
        return Err(Refusal::Malformed("the payload has no id"));
    };
    if event
        .get("tenantId")
        .and_then(Value::as_str)
        .is_some_and(|t| t != tenant)
    {
        return Err(Refusal::Malformed("the tenant does not match the URL"));
    }
    let updated = event
        .pointer("/payload/updatedAt")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (object, action) = (normalise(object), normalise(action));
    let key = sha256_hex(&[tenant, &object, &action, id, updated]);
    Ok((format!("{object}/{action}"), key))
}

/// The nightly reconcile, when it was asked for: the deliveries Commerce7 failed to make since the
/// last run (two days back the first time) go into the inbox as if they had arrived; those already
/// received are duplicates and change nothing. Returns how many were new.
///
/// # Errors
/// Database failures; a CRM failure leaves the reconcile asked for, for the next pass.
pub async fn reconcile(
    pool: &PgPool,
    provider: &Provider,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<usize> {
    let Provider::Commerce7(crm) = provider else {
        return Ok(0);
    };
    let mut tx = db::begin_scoped(pool, client).await?;
    let due = db::crm::reconcile_due(&mut tx, client).await?;
    tx.commit().await?;
    let Some((requested, last)) = due else {
        return Ok(0);
    };
    let since = last.unwrap_or(requested - chrono::Duration::hours(48));
    let failed = match crm.failed_deliveries(since).await {
        Ok(failed) => failed,
        Err(e) => {
            tracing::warn!(error = %e, "the webhook log could not be read; the reconcile waits");
            return Ok(0);
        }
    };
    let mut stored = 0;
    for delivery in failed {
        let event = json!({
            "object": delivery.object, "action": delivery.action,
            "tenantId": crm.tenant(), "payload": delivery.payload
        });
        let Ok((topic, key)) = commerce7_key(crm.tenant(), &event) else {
            continue;
        };
        if store(pool, client, "commerce7", &topic, &key, &event, now).await? == Receipt::Stored {
            stored += 1;
        }
    }
    let mut tx = db::begin_scoped(pool, client).await?;
    db::crm::reconciled(&mut tx, client, requested).await?;
    tx.commit().await?;
    if stored > 0 {
        tracing::info!(stored, "replayed deliveries from the webhook log");
    }
    Ok(stored)
}

/// The headers of a Shopify delivery.
#[derive(Clone, Debug, Default)]
pub struct ShopifyHeaders {
    pub topic: Option<String>,
    pub hmac: Option<String>,
    pub shop: Option<String>,
    pub webhook_id: Option<String>,
}

/// A Shopify delivery to `/webhooks/shopify` (and its compliance topics).
///
/// # Errors
/// Database failures, or a server that is not a Shopify app; refusals are the inner `Err`.
pub async fn receive_shopify(
    pool: &PgPool,
    registry: &Registry,
    headers: &ShopifyHeaders,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Result<Receipt, Refusal>> {
    let app = registry.shopify_app()?;
    use secrecy::ExposeSecret as _;
    let signed = headers.hmac.as_deref().is_some_and(|h| {
        signing::shopify_webhook_is_valid(app.api_secret.expose_secret().as_bytes(), body, h)
    });
    if !signed {
        return Ok(Err(Refusal::Unauthorized));
    }
    let (Some(topic), Some(shop)) = (headers.topic.as_deref(), headers.shop.as_deref()) else {
        return Ok(Err(Refusal::Malformed(
            "X-Shopify-Topic and X-Shopify-Shop-Domain are required",
        )));
    };
    if !signing::is_valid_shop_domain(shop) {
        return Ok(Err(Refusal::UnknownTenant));
    }
    let mut tx = db::begin_platform(pool).await?;
    let winery = clients::find_by_tenant(&mut tx, "shopify", shop).await?;
    tx.commit().await?;
    let Some(winery) = winery else {
        return Ok(Err(Refusal::UnknownTenant));
    };
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return Ok(Err(Refusal::Malformed("the body is not JSON")));
    };
    if !payload.is_object() {
        return Ok(Err(Refusal::Malformed("the body is not a JSON object")));
    }
    let key = headers
        .webhook_id
        .clone()
        .filter(|k| !k.trim().is_empty() && k.len() <= 200)
        .unwrap_or_else(|| sha256_hex(&[topic, &String::from_utf8_lossy(body)]));
    store(pool, winery.id, "shopify", topic, &key, &payload, now)
        .await
        .map(Ok)
}

/// What processing one delivery came to.
enum Handled {
    Processed,
    Ignored(&'static str),
}

/// How a delivery failed.
enum Failure {
    /// Try again later (the CRM is unreachable or throttling).
    Later(String),
    /// Retrying cannot help; the delivery is marked failed.
    Never(String),
}

impl From<CrmError> for Failure {
    fn from(e: CrmError) -> Self {
        if e.is_retryable() || matches!(e, CrmError::Unauthorized { .. }) {
            Self::Later(e.to_string())
        } else {
            Self::Never(e.to_string())
        }
    }
}

/// What an inbox pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboxReport {
    pub processed: usize,
    pub ignored: usize,
    pub failed: usize,
    /// A delivery will be tried again: the rest wait behind it, in order.
    pub blocked: bool,
}

/// How many tries a delivery gets before it is marked failed.
const MAX_TRIES: i32 = 10;

/// Processes the winery's stored deliveries, oldest first. A delivery that needs another try
/// stops the pass, so later deliveries never overtake it.
///
/// # Errors
/// Database failures.
pub async fn process_inbox(
    pool: &PgPool,
    provider: Option<&Provider>,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<InboxReport> {
    let mut report = InboxReport::default();
    loop {
        let mut tx = db::begin_scoped(pool, client).await?;
        let batch = q::due(&mut tx, client, 25).await?;
        tx.commit().await?;
        if batch.is_empty() {
            return Ok(report);
        }
        for delivery in batch {
            let outcome = handle(pool, provider, client, &delivery, now).await?;
            let (status, error) = match &outcome {
                Ok(Handled::Processed) => ("processed", None),
                Ok(Handled::Ignored(why)) => ("ignored", Some((*why).to_owned())),
                Err(Failure::Never(e)) => ("failed", Some(e.clone())),
                Err(Failure::Later(e)) if delivery.attempts + 1 >= MAX_TRIES => {
                    ("failed", Some(e.clone()))
                }
                Err(Failure::Later(e)) => ("received", Some(e.clone())),
            };
            let mut tx = db::begin_scoped(pool, client).await?;
            q::settle(&mut tx, client, delivery.id, status, error.as_deref(), now).await?;
            tx.commit().await?;
            match status {
                "processed" => report.processed += 1,
                "ignored" => report.ignored += 1,
                "failed" => {
                    report.failed += 1;
                    tracing::warn!(delivery = %delivery.id, topic = %delivery.topic,
                        error = error.as_deref().unwrap_or(""), "webhook delivery failed");
                }
                _ => {
                    report.blocked = true;
                    return Ok(report);
                }
            }
        }
    }
}

async fn handle(
    pool: &PgPool,
    provider: Option<&Provider>,
    client: ClientId,
    delivery: &q::Delivery,
    now: DateTime<Utc>,
) -> Result<Result<Handled, Failure>> {
    match delivery.provider.as_str() {
        "commerce7" => commerce7(pool, provider, client, delivery, now).await,
        "shopify" => shopify_topic(pool, provider, client, delivery, now).await,
        _ => Ok(Ok(Handled::Ignored("not a CRM delivery"))),
    }
}

macro_rules! crm {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Err(Failure::from(e))),
        }
    };
}

fn webhook_actor(provider: &str) -> Actor {
    Actor::Webhook {
        provider: provider.to_owned(),
    }
}

/// The customer an order names, as the order processing needs them.
fn customer_ref(c: &CrmCustomer) -> std::result::Result<CustomerRef, Failure> {
    let email = c
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
        .ok_or_else(|| Failure::Never(format!("customer {} has no valid e-mail address", c.id)))?;
    Ok(CustomerRef {
        crm_id: Some(c.id.clone()),
        email,
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        phone: c.phone.clone(),
    })
}

/// Runs an order through the club engine.
async fn count_order(
    pool: &PgPool,
    client: ClientId,
    order: CrmOrder,
    customer: CustomerRef,
    provider: &str,
    now: DateTime<Utc>,
) -> Result<Result<Handled, Failure>> {
    let club = ClubClient::load(pool, client).await?;
    let event = OrderEvent {
        crm_id: order.id,
        customer: Some(customer),
        placed_at: order.placed_at,
        status: order.status,
        amounts: order.amounts,
        refunded: order.refunded,
        source: "webhook",
    };
    process_order(pool, &club, &event, &webhook_actor(provider), now).await?;
    Ok(Ok(Handled::Processed))
}

/// Upserts a customer's contact details.
async fn update_customer(pool: &PgPool, client: ClientId, who: &CustomerRef) -> Result<()> {
    let mut tx = db::begin_scoped(pool, client).await?;
    customers::upsert(&mut tx, client, who).await?;
    tx.commit().await?;
    Ok(())
}

/// D24: anonymises a customer, with an audit row.
async fn erase(
    pool: &PgPool,
    client: ClientId,
    crm_id: Option<&str>,
    email: Option<&str>,
    provider: &str,
) -> Result<Result<Handled, Failure>> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let Some(customer) = q::erase_customer(&mut tx, client, crm_id, email).await? else {
        tx.commit().await?;
        return Ok(Ok(Handled::Ignored("no such customer")));
    };
    audit::record(
        &mut tx,
        Entry {
            client,
            actor: &webhook_actor(provider),
            action: "customer.erased",
            entity_type: "customer",
            entity_id: Some(customer.as_uuid()),
            before: None,
            after: None,
            reason: Some("erasure requested by the CRM"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Handled::Processed))
}

async fn commerce7(
    pool: &PgPool,
    provider: Option<&Provider>,
    client: ClientId,
    delivery: &q::Delivery,
    now: DateTime<Utc>,
) -> Result<Result<Handled, Failure>> {
    let payload = delivery
        .payload
        .get("payload")
        .cloned()
        .unwrap_or(Value::Null);
    let id = payload.get("id").and_then(Value::as_str).unwrap_or("");
    let Some(crm) = provider else {
        return Ok(Err(Failure::Later(
            "the winery has no CRM connection".to_owned(),
        )));
    };
    match delivery.topic.as_str() {
        "order/create" | "order/update" => {
            let Some(order) = crm!(crm.fetch_order(id).await) else {
                return Ok(Ok(Handled::Ignored(
                    "the order no longer exists in the CRM",
                )));
            };
            let Some(customer_id) = order.customer_id.clone() else {
                return Ok(Ok(Handled::Ignored("the order names no customer")));
            };
            let Some(customer) = crm!(crm.fetch_customer(&customer_id).await) else {
                return Ok(Err(Failure::Never(format!(
                    "the order's customer {customer_id} does not exist in the CRM"
                ))));
            };
            let who = match customer_ref(&customer) {
                Ok(who) => who,
                Err(f) => return Ok(Err(f)),
            };
            count_order(pool, client, order, who, "commerce7", now).await
        }
        "customer/create" | "customer/update" => {
            let Some(customer) = crm!(crm.fetch_customer(id).await) else {
                return Ok(Ok(Handled::Ignored(
                    "the customer no longer exists in the CRM",
                )));
            };
            match customer_ref(&customer) {
                Ok(who) => {
                    update_customer(pool, client, &who).await?;
                    Ok(Ok(Handled::Processed))
                }
                Err(f) => Ok(Err(f)),
            }
        }
        "customer/delete" => erase(pool, client, Some(id), None, "commerce7").await,
        "clubmembership/update" | "clubmembership/delete" => {
            let cancelled = delivery.topic.ends_with("delete")
                || payload.get("cancelDate").is_some_and(|d| !d.is_null())
                || payload.get("status").and_then(Value::as_str) == Some("Cancelled");
            if !cancelled {
                return Ok(Ok(Handled::Ignored("the membership is still open")));
            }
            membership_cancelled(pool, client, id, now).await
        }
        "club/delete" => {
            let mut tx = db::begin_scoped(pool, client).await?;
            let queued = q::club_deleted(&mut tx, client, id, now).await?;
            tx.commit().await?;
            Ok(Ok(match queued {
                Some(_) => Handled::Processed,
                None => Handled::Ignored("no stage uses this club"),
            }))
        }
        _ => Ok(Ok(Handled::Ignored("a topic Vinculum does not use"))),
    }
}

/// A membership cancelled in Commerce7 expires our enrollment (no revoke goes back: the CRM
/// already cancelled it). A cancellation Vinculum made itself finds no active grant and changes
/// nothing.
async fn membership_cancelled(
    pool: &PgPool,
    client: ClientId,
    crm_membership: &str,
    now: DateTime<Utc>,
) -> Result<Result<Handled, Failure>> {
    let mut tx = db::begin_scoped(pool, client).await?;
    let Some((customer, stage)) = q::membership_by_crm_id(&mut tx, client, crm_membership).await?
    else {
        tx.commit().await?;
        return Ok(Ok(Handled::Ignored(
            "not an open membership Vinculum granted",
        )));
    };
    customers::lock(&mut tx, client, customer).await?;
    db::crm::record_revoke(&mut tx, client, customer, stage, now).await?;
    if let Some(enrollment) = q::active_enrollment(&mut tx, client, customer, stage).await? {
        let reason = "cancelled in Commerce7";
        enrollments::end(&mut tx, client, enrollment, "expired", now, reason).await?;
        customers::membership_ended(&mut tx, client, customer, now).await?;
        customers::refresh_member_flag(&mut tx, client, customer).await?;
        audit::record(
            &mut tx,
            Entry {
                client,
                actor: &webhook_actor("commerce7"),
                action: "enrollment.expired",
                entity_type: "club_enrollment",
                entity_id: Some(enrollment.as_uuid()),
                before: Some(json!({ "status": "active" })),
                after: Some(json!({ "status": "expired", "ended_at": now })),
                reason: Some(reason),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(Handled::Processed))
}

/// The Shopify customer in a REST-style payload.
fn shopify_customer(v: &Value) -> Option<CrmCustomer> {
    let id = v
        .get("admin_graphql_api_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            v.get("id")
                .and_then(Value::as_i64)
                .map(|n| format!("gid://shopify/Customer/{n}"))
        })?;
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(CrmCustomer {
        id,
        email: text("email"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        phone: text("phone"),
    })
}

async fn shopify_topic(
    pool: &PgPool,
    provider: Option<&Provider>,
    client: ClientId,
    delivery: &q::Delivery,
    now: DateTime<Utc>,
) -> Result<Result<Handled, Failure>> {
    let p = &delivery.payload;
    match delivery.topic.as_str() {
        "orders/paid" | "orders/cancelled" | "orders/updated" | "orders/create" => {
            // Re-fetched when the shop's token works; the signed payload otherwise.
            let gid = p.get("admin_graphql_api_id").and_then(Value::as_str);
            let order = match (provider, gid) {
                (Some(crm), Some(gid)) => match crm!(crm.fetch_order(gid).await) {
                    Some(order) => order,
                    None => return Ok(Ok(Handled::Ignored("the order no longer exists"))),
                },
                _ => crm!(shopify::order_from_webhook(p)),
            };
            let Some(customer) = p.get("customer").and_then(shopify_customer) else {
                return Ok(Ok(Handled::Ignored("the order names no customer")));
            };
            match customer_ref(&customer) {
                Ok(who) => count_order(pool, client, order, who, "shopify", now).await,
                Err(f) => Ok(Err(f)),
            }
        }
        "refunds/create" => {
            let Some(order_id) = p.get("order_id").and_then(Value::as_i64) else {
                return Ok(Err(Failure::Never("the refund names no order".to_owned())));
            };
            let Some(crm) = provider else {
                return Ok(Err(Failure::Later(
                    "the shop's token is missing".to_owned(),
                )));
            };
            let Some(order) = crm!(crm.fetch_order(&order_id.to_string()).await) else {
                return Ok(Ok(Handled::Ignored("the order no longer exists")));
            };
            // A refund only changes an order Vinculum already has.
            let mut tx = db::begin_scoped(pool, client).await?;
            let known = known_order_customer(&mut tx, client, &order.id).await?;
            tx.commit().await?;
            let Some(customer) = known else {
                return Ok(Ok(Handled::Ignored("an order Vinculum never counted")));
            };
            count_order(pool, client, order, customer, "shopify", now).await
        }
        "customers/update" | "customers/create" => {
            match shopify_customer(p).map(|c| customer_ref(&c)) {
                Some(Ok(who)) => {
                    update_customer(pool, client, &who).await?;
                    Ok(Ok(Handled::Processed))
                }
                Some(Err(f)) => Ok(Err(f)),
                None => Ok(Err(Failure::Never("the customer has no id".to_owned()))),
            }
        }
        "customers/redact" => {
            let customer = p.get("customer").cloned().unwrap_or(Value::Null);
            let crm_id = shopify_customer(&customer).map(|c| c.id);
            let email = customer.get("email").and_then(Value::as_str);
            erase(pool, client, crm_id.as_deref(), email, "shopify").await
        }
        "customers/data_request" => {
            let mut tx = db::begin_scoped(pool, client).await?;
            audit::record(
                &mut tx,
                Entry {
                    client,
                    actor: &webhook_actor("shopify"),
                    action: "customer.data_requested",
                    entity_type: "customer",
                    entity_id: None,
                    before: None,
                    after: Some(p.clone()),
                    reason: Some("a customer asked Shopify for their data"),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(Ok(Handled::Processed))
        }
        "app/uninstalled" => {
            uninstall(pool, client, "shopify", now).await?;
            Ok(Ok(Handled::Processed))
        }
        "shop/redact" => {
            erase_tenant_now(pool, client).await?;
            Ok(Ok(Handled::Processed))
        }
        _ => Ok(Ok(Handled::Ignored("a topic Vinculum does not use"))),
    }
}

/// The customer of an order Vinculum already stored, for a refund.
async fn known_order_customer(
    conn: &mut sqlx::PgConnection,
    client: ClientId,
    crm_order: &str,
) -> Result<Option<CustomerRef>> {
    let Some((crm_id, email, first, last, phone)) =
        db::orders::customer_of(conn, client, crm_order).await?
    else {
        return Ok(None);
    };
    let email = EmailAddress::parse(&email)
        .map_err(|_| anyhow::anyhow!("a stored e-mail address that does not parse"))?;
    Ok(Some(CustomerRef {
        crm_id,
        email,
        first_name: first,
        last_name: last,
        phone,
    }))
}

/// The name of the job that deletes an uninstalled winery's data (D24).
pub const ERASE_TENANT: &str = "erase-tenant";

/// D24: an uninstall marks the winery uninstalled, forgets its tokens at once, and schedules the
/// deletion of its data 48 hours later (a reinstall before then keeps it).
///
/// # Errors
/// Database failures.
pub async fn uninstall(
    pool: &PgPool,
    client: ClientId,
    provider: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = db::begin_scoped(pool, client).await?;
    db::crm::delete_tokens(&mut tx, client).await?;
    let changed = clients::set_installed(&mut tx, client, false, now).await?;
    if changed {
        audit::record(
            &mut tx,
            Entry {
                client,
                actor: &webhook_actor(provider),
                action: "client.uninstalled",
                entity_type: "client",
                entity_id: Some(client.as_uuid()),
                before: None,
                after: Some(json!({ "erase_after": now + chrono::Duration::hours(48) })),
                reason: None,
            },
        )
        .await?;
        db::jobs::enqueue(
            &mut tx,
            ERASE_TENANT,
            Some(client),
            &json!({}),
            now + chrono::Duration::hours(48),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes a winery and, by cascade, every row it owns.
///
/// # Errors
/// Database failures.
pub async fn erase_tenant_now(pool: &PgPool, client: ClientId) -> Result<()> {
    let mut tx = db::begin_platform(pool).await?;
    clients::delete(&mut tx, client).await?;
    tx.commit().await?;
    Ok(())
}

/// The `erase-tenant` job: deletes the winery if it is still uninstalled.
///
/// # Errors
/// Database failures.
pub async fn erase_if_uninstalled(pool: &PgPool, client: ClientId) -> Result<bool> {
    let mut tx = db::begin_platform(pool).await?;
    let winery = clients::find(&mut tx, client).await?;
    tx.commit().await?;
    match winery {
        Some(w) if w.status == "uninstalled" => {
            erase_tenant_now(pool, client).await?;
            Ok(true)
        }
        Some(_) => Ok(false),
        None => Err(Error::NotFound { what: "winery" }),
    }
}
