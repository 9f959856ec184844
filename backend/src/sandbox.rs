//! The sandbox CRM: a built-in stand-in for Commerce7, the demo's default. It speaks the subset of
//! the Commerce7 API that [`crate::crm::commerce7`] uses (customers, clubs, promotions, club
//! memberships, orders, webhook subscriptions and their log, the launch check), over HTTP, so the
//! demo runs the real client code path. Its objects live in `sandbox_crm_objects`, per sandbox
//! tenant; nothing else in the product reads them.
//!
//! [`simulate_order`] is the demo's "simulate an order": it stores an order (and its customer) in
//! the sandbox and sends the `Order`/`Create` webhook through the real receiver.

use crate::Result;
use crate::db;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// An answer of the sandbox API: status and JSON body (`Null` for an empty body).
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

fn ok(body: Value) -> Answer {
    Answer { status: 200, body }
}

fn error(status: u16, kind: &str, message: &str) -> Answer {
    Answer {
        status,
        body: json!({ "statusCode": status, "type": kind, "message": message, "errors": [] }),
    }
}

fn not_found(what: &str) -> Answer {
    error(404, "notFound", &format!("{what} not found"))
}

fn invalid(field: &str) -> Answer {
    Answer {
        status: 422,
        body: json!({
            "statusCode": 422, "type": "validationError",
            "message": "One or more elements is missing or invalid",
            "errors": [{ "field": field, "message": "required" }]
        }),
    }
}

fn stamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn get(conn: &mut PgConnection, tenant: &str, kind: &str, id: &str) -> Result<Option<Value>> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(None);
    };
    let body = sqlx::query_scalar!(
        "select body from sandbox_crm_objects where tenant = $1 and kind = $2 and id = $3",
        tenant,
        kind,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(body)
}

async fn list(conn: &mut PgConnection, tenant: &str, kind: &str) -> Result<Vec<Value>> {
    let bodies = sqlx::query_scalar!(
        "select body from sandbox_crm_objects where tenant = $1 and kind = $2 order by created_at, id",
        tenant,
        kind
    )
    .fetch_all(conn)
    .await?;
    Ok(bodies)
}

/// Stores a new object with a fresh id; returns it as stored.
async fn create(
    conn: &mut PgConnection,
    tenant: &str,
    kind: &str,
    mut body: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Value> {
    let id = Uuid::new_v4();
    body.insert("id".to_owned(), json!(id.to_string()));
    body.insert("createdAt".to_owned(), json!(stamp(now)));
    body.insert("updatedAt".to_owned(), json!(stamp(now)));
    let body = Value::Object(body);
    sqlx::query!(
        "insert into sandbox_crm_objects (tenant, kind, id, body) values ($1, $2, $3, $4)",
        tenant,
        kind,
        id,
        body
    )
    .execute(conn)
    .await?;
    Ok(body)
}

/// Merges `changes` into an object; `None` when there is no such object.
async fn update(
    conn: &mut PgConnection,
    tenant: &str,
    kind: &str,
    id: &str,
    changes: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Option<Value>> {
    let Some(Value::Object(mut body)) = get(conn, tenant, kind, id).await? else {
        return Ok(None);
    };
    for (k, v) in changes {
        if k != "id" && k != "createdAt" {
            body.insert(k.clone(), v.clone());
        }
    }
    body.insert("updatedAt".to_owned(), json!(stamp(now)));
    let body = Value::Object(body);
    sqlx::query!(
        "update sandbox_crm_objects set body = $4 where tenant = $1 and kind = $2 and id = $3::text::uuid",
        tenant,
        kind,
        id,
        body
    )
    .execute(conn)
    .await?;
    Ok(Some(body))
}

async fn delete(conn: &mut PgConnection, tenant: &str, kind: &str, id: &str) -> Result<bool> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(false);
    };
    let gone = sqlx::query!(
        "delete from sandbox_crm_objects where tenant = $1 and kind = $2 and id = $3",
        tenant,
        kind,
        id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(gone == 1)
}

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A customer with its `clubs` list, as `GET /customer/{id}` shows it.
async fn customer_view(conn: &mut PgConnection, tenant: &str, customer: Value) -> Result<Value> {
    let id = field(&customer, "id").unwrap_or_default().to_owned();
    let clubs: Vec<Value> = list(conn, tenant, "club-membership")
        .await?
        .into_iter()
        .filter(|m| field(m, "customerId") == Some(id.as_str()))
        .map(|m| {
            json!({
                "clubId": m.get("clubId"), "clubTitle": m.pointer("/club/title"),
                "clubMembershipId": m.get("id"), "signupDate": m.get("signupDate"),
                "cancelDate": m.get("cancelDate")
            })
        })
        .collect();
    let mut customer = customer;
    customer["clubs"] = Value::Array(clubs);
    Ok(customer)
}

fn object(body: &Value) -> Map<String, Value> {
    body.as_object().cloned().unwrap_or_default()
}

/// Answers one sandbox API request for `tenant` (already authenticated by the caller).
///
/// # Errors
/// Database failures.
pub async fn handle(
    pool: &PgPool,
    tenant: &str,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Answer> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut tx = db::begin_platform(pool).await?;
    let answer = match (method, segments.as_slice()) {
        ("GET", ["customer"]) => {
            let q = param("q").unwrap_or("").to_lowercase();
            let mut found = Vec::new();
            for c in list(&mut tx, tenant, "customer").await? {
                let matches = c
                    .get("emails")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|e| field(e, "email").is_some_and(|m| m.to_lowercase() == q));
                if q.is_empty() || matches {
                    found.push(c);
                }
            }
            let total = found.len();
            ok(json!({ "customers": found, "total": total }))
        }
        ("GET", ["customer", id]) => match get(&mut tx, tenant, "customer", id).await? {
            Some(c) => ok(customer_view(&mut tx, tenant, c).await?),
            None => not_found("Customer"),
        },
        ("POST", ["customer"]) => {
            let email = body
                .pointer("/emails/0/email")
                .and_then(Value::as_str)
                .filter(|e| e.contains('@'));
            if email.is_none() {
                invalid("emails")
            } else {
                ok(create(&mut tx, tenant, "customer", object(body), now).await?)
            }
        }
        ("POST", ["club"]) => match field(body, "title") {
            Some(_) => ok(create(&mut tx, tenant, "club", object(body), now).await?),
            None => invalid("title"),
        },
        ("POST", ["promotion"]) => match field(body, "title") {
            Some(_) => ok(create(&mut tx, tenant, "promotion", object(body), now).await?),
            None => invalid("title"),
        },
        ("PUT", [kind @ ("club" | "promotion"), id]) => {
            match update(&mut tx, tenant, kind, id, &object(body), now).await? {
                Some(v) => ok(v),
                None => not_found(kind),
            }
        }
        ("POST", ["club-membership"]) => {
            let (Some(customer), Some(club)) = (field(body, "customerId"), field(body, "clubId"))
            else {
                return Ok(invalid("clubId"));
            };
            let club_row = get(&mut tx, tenant, "club", club).await?;
            if get(&mut tx, tenant, "customer", customer).await?.is_none() || club_row.is_none() {
                invalid("customerId")
            } else {
                let mut m = object(body);
                m.insert("status".to_owned(), json!("Active"));
                m.insert(
                    "club".to_owned(),
                    json!({ "title": club_row.as_ref().and_then(|c| c.get("title")) }),
                );
                ok(create(&mut tx, tenant, "club-membership", m, now).await?)
            }
        }
        ("GET", ["club-membership"]) => {
            ok(json!({ "clubMemberships": list(&mut tx, tenant, "club-membership").await? }))
        }
        ("GET", ["club-membership", id]) => {
            match get(&mut tx, tenant, "club-membership", id).await? {
                Some(v) => ok(v),
                None => not_found("Club membership"),
            }
        }
        ("PUT", ["club-membership", id]) => {
            let mut changes = object(body);
            if body.get("cancelDate").is_some_and(|d| !d.is_null()) {
                changes.insert("status".to_owned(), json!("Cancelled"));
            }
            match update(&mut tx, tenant, "club-membership", id, &changes, now).await? {
                Some(v) => ok(v),
                None => not_found("Club membership"),
            }
        }
        ("GET", ["order", id]) => match get(&mut tx, tenant, "order", id).await? {
            Some(v) => ok(v),
            None => not_found("Order"),
        },
        ("POST", ["web-hook"]) => match (
            field(body, "object"),
            field(body, "action"),
            field(body, "url"),
        ) {
            (Some(_), Some(_), Some(_)) => {
                ok(create(&mut tx, tenant, "web-hook", object(body), now).await?)
            }
            _ => invalid("url"),
        },
        ("GET", ["web-hook"]) => {
            ok(json!({ "webHooks": list(&mut tx, tenant, "web-hook").await? }))
        }
        ("DELETE", ["web-hook", id]) => {
            if delete(&mut tx, tenant, "web-hook", id).await? {
                Answer {
                    status: 204,
                    body: Value::Null,
                }
            } else {
                not_found("Web hook")
            }
        }
        ("GET", ["web-hook-log"]) => {
            let failed_only = param("isSuccess") == Some("false");
            let logs: Vec<Value> = list(&mut tx, tenant, "web-hook-log")
                .await?
                .into_iter()
                .filter(|l| !failed_only || l.get("isSuccess") == Some(&json!(false)))
                .collect();
            ok(json!({ "webHookLogs": logs }))
        }
        _ => error(404, "notFound", "No such endpoint in the sandbox CRM"),
    };
    tx.commit().await?;
    Ok(answer)
}

/// `GET /account/user` of the sandbox: a launch token `sandbox:<email>` names its user.
pub fn account_user(token: &str) -> Answer {
    match token.strip_prefix("sandbox:").filter(|e| e.contains('@')) {
        Some(email) => ok(json!({
            "id": format!("sandbox-{}", hex::encode(&email.as_bytes()[..email.len().min(16)])),
            "firstName": "Sandbox", "lastName": "User", "email": email
        })),
        None => error(401, "unauthorized", "Unauthorized user"),
    }
}

/// What the demo's "simulate an order" form describes.
#[derive(Clone, Debug)]
pub struct SimulatedOrder {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub subtotal_cents: i64,
}

/// Stores the order (and, if new, the customer) in the sandbox, then returns the `Order`/`Create`
/// deliveries to send: each subscribed URL with its JSON body.
///
/// # Errors
/// Database failures.
pub async fn simulate_order(
    pool: &PgPool,
    tenant: &str,
    order: &SimulatedOrder,
    now: DateTime<Utc>,
) -> Result<(String, Vec<(String, Value)>)> {
    let mut tx = db::begin_platform(pool).await?;
    let email = order.email.to_lowercase();
    let existing = list(&mut tx, tenant, "customer")
        .await?
        .into_iter()
        .find(|c| {
            c.pointer("/emails/0/email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case(&email))
        });
    let customer = match existing {
        Some(c) => c,
        None => {
            let body = json!({
                "firstName": order.first_name, "lastName": order.last_name,
                "emails": [{ "email": email }], "phones": []
            });
            create(&mut tx, tenant, "customer", object(&body), now).await?
        }
    };
    let number = list(&mut tx, tenant, "order").await?.len() + 1001;
    let stored = create(
        &mut tx,
        tenant,
        "order",
        object(&json!({
            "orderNumber": number, "customerId": customer.get("id"),
            "orderSubmittedDate": stamp(now), "orderPaidDate": stamp(now), "paymentStatus": "Paid",
            "subTotal": order.subtotal_cents, "discountTotal": 0, "taxTotal": 0, "shippingTotal": 0,
            "total": order.subtotal_cents, "channel": "Web",
            "customer": { "firstName": order.first_name, "lastName": order.last_name, "email": email }
        })),
        now,
    )
    .await?;
    let hooks: Vec<(String, Value)> = list(&mut tx, tenant, "web-hook")
        .await?
        .into_iter()
        .filter(|h| field(h, "object") == Some("Order") && field(h, "action") == Some("Create"))
        .filter_map(|h| field(&h, "url").map(str::to_owned))
        .map(|url| {
            let event = json!({
                "object": "Order", "action": "Create", "tenantId": tenant,
                "user": "sandbox@vinculum.test", "payload": stored
            });
            (url, event)
        })
        .collect();
    tx.commit().await?;
    let number = format!("#{number}");
    Ok((number, hooks))
}

/// Records a delivery the sandbox could not make, for `GET /web-hook-log` (the reconcile job).
///
/// # Errors
/// Database failures.
pub async fn log_failed_delivery(
    pool: &PgPool,
    tenant: &str,
    url: &str,
    event: &Value,
    status: Option<u16>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = db::begin_platform(pool).await?;
    let body = json!({
        "url": url, "object": event.get("object"), "action": event.get("action"),
        "payload": event.get("payload"), "user": event.get("user"), "isSuccess": false,
        "error": { "status": status, "message": "delivery failed" }
    });
    create(&mut tx, tenant, "web-hook-log", object(&body), now).await?;
    tx.commit().await?;
    Ok(())
}

/// The sandbox's club memberships for a tenant, for the admin's connection page and the tests:
/// (customer e-mail, club title, signup date, cancel date).
///
/// # Errors
/// Database failures.
pub async fn memberships(
    pool: &PgPool,
    tenant: &str,
) -> Result<Vec<(String, String, String, Option<String>)>> {
    let mut tx = db::begin_platform(pool).await?;
    let customers = list(&mut tx, tenant, "customer").await?;
    let rows = list(&mut tx, tenant, "club-membership").await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let email = customers
                .iter()
                .find(|c| c.get("id") == m.get("customerId"))
                .and_then(|c| c.pointer("/emails/0/email"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            (
                email,
                m.pointer("/club/title")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned(),
                field(&m, "signupDate").unwrap_or("").to_owned(),
                field(&m, "cancelDate").map(str::to_owned),
            )
        })
        .collect())
}
