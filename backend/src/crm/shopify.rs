//! The Shopify Admin GraphQL client and the OAuth helpers (integrations.md section 2). Every call
//! is a POST to `{shop}/admin/api/{version}/graphql.json` with the shop's access token in
//! `X-Shopify-Access-Token`. Each stage is a code discount limited to specific customers plus the
//! customer tag `vinculum-<stage slug>`; a grant adds the customer to both, a revoke removes them
//! (D21). The shop's host always comes from [`ShopifyApp::shop_base`], so tests point it at
//! wiremock.
//!
//! Facts integrations.md marks [mem] or UNCONFIRMED are decided in this file only, each where it is
//! used: creating a discount for no customers yet ([`Shopify::create_discount`]), what Shopify's
//! subtotal includes ([`order_from_graphql`]), the webhook order fields ([`order_from_webhook`])
//! and the refresh-token request ([`refresh_token`]).
//!
//! Throttling is handled in line only when Shopify asks for a wait of at most two seconds; longer
//! waits go back to the caller as [`CrmError::Transient`] with `retry_after`, for the job queue.

use super::http;
use super::signing::is_valid_shop_domain;
use super::{Crm, CrmCustomer, CrmError, CrmOrder, CustomerData, StageIds, StageSpec};
use chrono::{DateTime, Utc};
use domain::Money;
use domain::orders::{OrderAmounts, OrderStatus};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;

/// The Admin API version this client speaks; upgraded deliberately (integrations.md 2.1).
pub const DEFAULT_API_VERSION: &str = "2025-10";

/// The most attempts one GraphQL call makes when Shopify asks for a short wait.
const MAX_TRIES: u32 = 3;

/// The longest wait slept in line; a longer one is handed back to the job queue.
const INLINE_WAIT: Duration = Duration::from_secs(2);

/// The fields read from a Customer. Newer API versions prefer the `default…` objects; `email` and
/// `phone` are kept as fallbacks.
macro_rules! customer_fields {
    () => {
        "id firstName lastName defaultEmailAddress { emailAddress } \
         defaultPhoneNumber { phoneNumber } email phone"
    };
}

const FIND_CUSTOMER: &str = concat!(
    "query($q: String!) { customers(first: 1, query: $q) { nodes { ",
    customer_fields!(),
    " } } }"
);

const CUSTOMER: &str = concat!(
    "query($id: ID!) { customer(id: $id) { ",
    customer_fields!(),
    " } }"
);

const CUSTOMER_CREATE: &str = "mutation($input: CustomerInput!) { customerCreate(input: $input) { \
     customer { id } userErrors { field message } } }";

const DISCOUNT_CREATE: &str = "mutation($d: DiscountCodeBasicInput!) { \
     discountCodeBasicCreate(basicCodeDiscount: $d) { \
     codeDiscountNode { id } userErrors { field message code } } }";

const DISCOUNT_UPDATE: &str = "mutation($id: ID!, $d: DiscountCodeBasicInput!) { \
     discountCodeBasicUpdate(id: $id, basicCodeDiscount: $d) { \
     codeDiscountNode { id } userErrors { field message code } } }";

const TAGS_ADD: &str = "mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { \
     node { id } userErrors { field message } } }";

const TAGS_REMOVE: &str = "mutation($id: ID!, $tags: [String!]!) { \
     tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } } }";

const ORDER: &str = "query($id: ID!) { order(id: $id) { id createdAt cancelledAt \
     displayFinancialStatus customer { id } \
     subtotalPriceSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } } \
     totalTaxSet { shopMoney { amount } } totalShippingPriceSet { shopMoney { amount } } \
     totalPriceSet { shopMoney { amount } } totalRefundedSet { shopMoney { amount } } } }";

/// The app's settings from the Partner Dashboard, shared by every shop.
#[derive(Clone)]
pub struct ShopifyApp {
    /// The client id.
    pub api_key: String,
    /// The client secret: signs webhooks, query strings and session tokens.
    pub api_secret: SecretString,
    /// Comma-separated access scopes (`read_customers,write_customers,write_discounts`).
    pub scopes: String,
    /// `YYYY-MM`; [`DEFAULT_API_VERSION`] in production.
    pub api_version: String,
    /// Replaces `https://{shop}` for every shop (tests: the wiremock server).
    pub base_url: Option<String>,
}

impl std::fmt::Debug for ShopifyApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopifyApp")
            .field("api_key", &self.api_key)
            .field("scopes", &self.scopes)
            .field("api_version", &self.api_version)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ShopifyApp {
    /// Where `shop`'s Admin API lives (no trailing slash): `base_url` when set, else
    /// `https://{shop}`. `shop` must have passed [`is_valid_shop_domain`] already.
    pub fn shop_base(&self, shop: &str) -> String {
        match &self.base_url {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => format!("https://{shop}"),
        }
    }
}

/// A client for one shop, with its offline access token.
#[derive(Clone)]
pub struct Shopify {
    http: reqwest::Client,
    base: String,
    version: String,
    token: SecretString,
}

impl std::fmt::Debug for Shopify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shopify")
            .field("base", &self.base)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Whether a customer joins or leaves a stage's discount and tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Add,
    Remove,
}

impl Change {
    /// The key of `context.customers` in a discount update.
    fn key(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
        }
    }
}

/// Shopify's error bodies, as one sentence: GraphQL `errors` (a list of `{message}`), REST
/// `errors` (a string or `{field: [messages]}`) and OAuth `error`/`error_description`.
fn describe(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    if let Some(errors) = v.get("errors") {
        return error_text(errors);
    }
    text(&v, "error_description").or_else(|| text(&v, "error"))
}

fn error_text(errors: &Value) -> Option<String> {
    let parts: Vec<String> = match errors {
        Value::String(s) => vec![s.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|e| e.as_str().map(str::to_owned).or_else(|| text(e, "message")))
            .collect(),
        Value::Object(fields) => fields
            .iter()
            .map(|(field, why)| format!("{field}: {}", words(why)))
            .collect(),
        _ => Vec::new(),
    };
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A string, or a list of strings joined by commas.
fn words(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(list) => list
            .iter()
            .map(|w| w.as_str().map_or_else(|| w.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    text_at(v, &format!("/{key}"))
}

/// A non-empty string at a JSON pointer.
fn text_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An id that webhooks send as a number and elsewhere as a string.
fn id_text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::Number(n) => Some(n.to_string()),
        other => other
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    }
}

fn instant(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    text(v, key)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The GID of a REST-style numeric id (`gid://shopify/{kind}/{id}`); anything else is taken as a
/// GID already.
fn gid(kind: &str, id: &str) -> String {
    let id = id.trim();
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        format!("gid://shopify/{kind}/{id}")
    } else {
        id.to_owned()
    }
}

/// A decimal amount in shop currency (`"199.65"`, `"0.0"`) as [`Money`]. Trailing zeros beyond the
/// cents are dropped; a non-zero third decimal (a three-decimal currency) is refused.
fn money(raw: &str) -> Option<Money> {
    let raw = raw.trim();
    let cut = match raw.split_once('.') {
        Some((whole, fraction)) => format!("{whole}.{}", fraction.trim_end_matches('0')),
        None => raw.to_owned(),
    };
    Money::parse(&cut).ok()
}

/// The amount at `pointer` (a decimal string or number); zero when absent.
fn amount(v: &Value, pointer: &str, order: &str) -> Result<Money, CrmError> {
    let raw = match v.pointer(pointer) {
        None | Some(Value::Null) => return Ok(Money::ZERO),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    };
    money(&raw)
        .ok_or_else(|| CrmError::rejected(format!("order {order}: {raw:?} is not an amount")))
}

fn add(a: Money, b: Money) -> Money {
    Money::from_cents(a.cents().saturating_add(b.cents()))
}

/// The status of an order from its financial status (`PAID` in GraphQL, `paid` in webhooks). A
/// cancelled order is cancelled whatever its payment says; a voided payment cancels the order;
/// `PENDING`, `AUTHORIZED`, `PARTIALLY_PAID`, `EXPIRED` and unknown words are pending.
fn order_status(financial: Option<&str>, cancelled: bool) -> OrderStatus {
    if cancelled {
        return OrderStatus::Cancelled;
    }
    match financial.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("PAID") => OrderStatus::Paid,
        Some("PARTIALLY_REFUNDED") => OrderStatus::PartiallyRefunded,
        Some("REFUNDED") => OrderStatus::Refunded,
        Some("VOIDED") => OrderStatus::Cancelled,
        _ => OrderStatus::Pending,
    }
}

/// Whether a date field is set (not absent, not null).
fn is_set(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(|c| !c.is_null())
}

/// A customer from the GraphQL `Customer` fields this client reads (`customer_fields!`).
pub fn customer_from_graphql(v: &Value) -> Option<CrmCustomer> {
    Some(CrmCustomer {
        id: text(v, "id")?,
        email: text_at(v, "/defaultEmailAddress/emailAddress").or_else(|| text(v, "email")),
        first_name: text(v, "firstName"),
        last_name: text(v, "lastName"),
        phone: text_at(v, "/defaultPhoneNumber/phoneNumber").or_else(|| text(v, "phone")),
    })
}

/// An order from the GraphQL `order` query. Amounts are `shopMoney` decimal strings.
/// UNCONFIRMED ([mem]): Shopify's `subtotalPriceSet` is the merchandise *after* discounts, while
/// [`OrderAmounts::subtotal`] is before them, so the discounts are added back; the subtotal basis
/// of `OrderAmounts::qualifying` then gives Shopify's own subtotal. The order counts at
/// `createdAt`.
///
/// # Errors
/// An order without an id, without a date, or with an amount that is not a decimal in cents.
pub fn order_from_graphql(v: &Value) -> Result<CrmOrder, CrmError> {
    let id = text(v, "id").ok_or_else(|| CrmError::transient("the order carries no id"))?;
    let placed_at = instant(v, "createdAt")
        .ok_or_else(|| CrmError::rejected(format!("order {id} carries no date")))?;
    let status = order_status(
        text(v, "displayFinancialStatus").as_deref(),
        is_set(v, "cancelledAt"),
    );
    let set = |field: &str| amount(v, &format!("/{field}/shopMoney/amount"), &id);
    let discount = set("totalDiscountsSet")?;
    Ok(CrmOrder {
        customer_id: text_at(v, "/customer/id"),
        placed_at,
        status,
        amounts: OrderAmounts {
            subtotal: add(set("subtotalPriceSet")?, discount),
            discount,
            tax: set("totalTaxSet")?,
            shipping: set("totalShippingPriceSet")?,
            total: set("totalPriceSet")?,
        },
        refunded: set("totalRefundedSet")?,
        id,
    })
}

/// The amount refunded by a webhook order's `refunds[].transactions[]`: successful (or
/// status-less) transactions of kind `refund` (or kind-less).
fn refunded_in_webhook(v: &Value, order: &str) -> Result<Money, CrmError> {
    let mut refunded = Money::ZERO;
    let transactions = v
        .get("refunds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("transactions").and_then(Value::as_array))
        .flatten();
    for t in transactions {
        let kind = text(t, "kind");
        let state = text(t, "status");
        if kind.as_deref().is_none_or(|k| k == "refund")
            && state.as_deref().is_none_or(|s| s == "success")
        {
            refunded = add(refunded, amount(t, "/amount", order)?);
        }
    }
    Ok(refunded)
}

/// An order from a REST-style webhook body (`orders/create`, `orders/paid`, `orders/updated`,
/// `orders/cancelled`), for when the GraphQL fetch is not possible. Ids become GIDs
/// (`admin_graphql_api_id`, else built from the numeric `id`) so they match [`Shopify`]'s.
/// Fields listed in integrations.md 2.6, all [mem]: `id`, `admin_graphql_api_id`, `created_at`,
/// `cancelled_at`, `financial_status`, `subtotal_price`, `total_discounts`, `total_price`,
/// `customer.id`. UNCONFIRMED (not listed there): `total_tax`,
/// `total_shipping_price_set.shop_money.amount` (zero when absent) and
/// `refunds[].transactions[].amount`; a `refunded` order without refund transactions counts its
/// total as refunded. `subtotal_price` is after discounts, as in [`order_from_graphql`].
///
/// # Errors
/// An order without an id, without a date, or with an amount that is not a decimal in cents.
pub fn order_from_webhook(v: &Value) -> Result<CrmOrder, CrmError> {
    let id = text(v, "admin_graphql_api_id")
        .or_else(|| id_text(v, "id").map(|n| gid("Order", &n)))
        .ok_or_else(|| CrmError::rejected("the order webhook carries no id"))?;
    let placed_at = instant(v, "created_at")
        .ok_or_else(|| CrmError::rejected(format!("order {id} carries no date")))?;
    let status = order_status(
        text(v, "financial_status").as_deref(),
        is_set(v, "cancelled_at"),
    );
    let discount = amount(v, "/total_discounts", &id)?;
    let total = amount(v, "/total_price", &id)?;
    let mut refunded = refunded_in_webhook(v, &id)?;
    if status == OrderStatus::Refunded && refunded == Money::ZERO {
        refunded = total;
    }
    let customer_id = v.get("customer").and_then(|c| {
        text(c, "admin_graphql_api_id").or_else(|| id_text(c, "id").map(|n| gid("Customer", &n)))
    });
    Ok(CrmOrder {
        customer_id,
        placed_at,
        status,
        amounts: OrderAmounts {
            subtotal: add(amount(v, "/subtotal_price", &id)?, discount),
            discount,
            tax: amount(v, "/total_tax", &id)?,
            shipping: amount(v, "/total_shipping_price_set/shop_money/amount", &id)?,
            total,
        },
        refunded,
        id,
    })
}

/// A mutation's `userErrors` as a refusal: `"field: message"` for each, joined by `; ` (the field
/// path is dotted; errors without a field give the message alone).
fn user_errors(payload: &Value) -> Result<(), CrmError> {
    let Some(errors) = payload
        .get("userErrors")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    else {
        return Ok(());
    };
    let lines: Vec<String> = errors
        .iter()
        .map(|e| {
            let message = text(e, "message").unwrap_or_else(|| "refused".to_owned());
            let field = match e.get("field") {
                Some(Value::Array(path)) => path
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("."),
                Some(Value::String(f)) => f.clone(),
                _ => String::new(),
            };
            if field.is_empty() {
                message
            } else {
                format!("{field}: {message}")
            }
        })
        .collect();
    Err(CrmError::rejected(lines.join("; ")))
}

/// How long Shopify's leaky bucket needs to hold this query again, from `extensions.cost`:
/// `(requestedQueryCost - currentlyAvailable) / restoreRate` seconds. `None` when the cost is not
/// reported.
fn throttle_wait(body: &Value) -> Option<Duration> {
    let cost = body.pointer("/extensions/cost")?;
    let requested = cost.get("requestedQueryCost")?.as_f64()?;
    let available = cost
        .pointer("/throttleStatus/currentlyAvailable")?
        .as_f64()?;
    let restore = cost.pointer("/throttleStatus/restoreRate")?.as_f64()?;
    Duration::try_from_secs_f64((requested - available).max(0.0) / restore).ok()
}

/// The refusal carried by an answer's top-level `errors`, if any: `THROTTLED` is transient (with
/// the wait [`throttle_wait`] computes), `ACCESS_DENIED` unauthorized, `INTERNAL_SERVER_ERROR`
/// transient, anything else (syntax, cost too high, invalid id) a rejection.
fn top_level_refusal(body: &Value, what: &str) -> Option<CrmError> {
    let errors = body.get("errors")?;
    let list: Vec<&Value> = match errors {
        Value::Null => return None,
        Value::Array(list) if list.is_empty() => return None,
        Value::Array(list) => list.iter().collect(),
        other => vec![other],
    };
    let code = |e: &Value| text_at(e, "/extensions/code").unwrap_or_default();
    let message = format!(
        "{what}: {}",
        error_text(errors).unwrap_or_else(|| "refused".to_owned())
    );
    if list
        .iter()
        .any(|e| code(e) == "THROTTLED" || text(e, "message").as_deref() == Some("Throttled"))
    {
        return Some(CrmError::Transient {
            message,
            retry_after: throttle_wait(body),
        });
    }
    Some(if list.iter().any(|e| code(e) == "ACCESS_DENIED") {
        CrmError::Unauthorized { message }
    } else if list.iter().any(|e| code(e) == "INTERNAL_SERVER_ERROR") {
        CrmError::transient(message)
    } else {
        CrmError::rejected(message)
    })
}

/// Adds `what` in front of a rejection's message.
fn in_context(error: CrmError, what: &str) -> CrmError {
    match error {
        CrmError::Rejected { status, message } => CrmError::Rejected {
            status,
            message: format!("{what}: {message}"),
        },
        other => other,
    }
}

/// A stage's customer tag.
fn stage_tag(slug: &str) -> String {
    format!("vinculum-{slug}")
}

/// A new discount code: `VINCULUM-{SLUG}-{6 random upper-case letters or digits}`. Nobody types it
/// (the discount is limited to the stage's customers); the random part keeps codes unique when a
/// stage is created again.
fn discount_code(slug: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    let suffix: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("VINCULUM-{}-{suffix}", slug.to_ascii_uppercase())
}

fn discount_title(stage: &StageSpec) -> String {
    format!("{} member discount", stage.name)
}

/// What a stage's members get: a percentage (0.0–1.0) off every item.
fn customer_gets(stage: &StageSpec) -> Value {
    json!({
        "value": { "percentage": f64::from(stage.discount_hundredths) / 10_000.0 },
        "items": { "all": true },
    })
}

fn discount_of(stage: &StageIds) -> Result<&str, CrmError> {
    stage
        .discount_id
        .as_deref()
        .ok_or_else(|| CrmError::rejected("the stage has no Shopify discount yet"))
}

impl Shopify {
    /// A client for `shop` (a domain that passed [`is_valid_shop_domain`]) with its access token.
    pub fn new(http: reqwest::Client, app: &ShopifyApp, shop: &str, token: SecretString) -> Self {
        Self {
            http,
            base: app.shop_base(shop),
            version: app.api_version.clone(),
            token,
        }
    }

    /// One POST of the query; the `data` of the answer.
    async fn attempt(&self, body: &Value, what: &str) -> Result<Value, CrmError> {
        let request = self
            .http
            .post(format!(
                "{}/admin/api/{}/graphql.json",
                self.base, self.version
            ))
            .header("X-Shopify-Access-Token", self.token.expose_secret())
            .json(body);
        let mut answer = http::send(request, what, describe).await?.json()?;
        if let Some(refusal) = top_level_refusal(&answer, what) {
            return Err(refusal);
        }
        match answer.get_mut("data").map(Value::take) {
            Some(data) if !data.is_null() => Ok(data),
            _ => Err(CrmError::transient(format!(
                "{what}: the answer carries no data"
            ))),
        }
    }

    /// Runs a query or mutation and returns its `data`. When Shopify asks for a wait of at most
    /// [`INLINE_WAIT`] (`THROTTLED`, or an HTTP 429 or 5xx with such a `Retry-After`) the call
    /// sleeps and tries again, [`MAX_TRIES`] times in all; a longer wait is returned as
    /// [`CrmError::Transient`] with `retry_after`.
    async fn graphql(&self, query: &str, variables: Value, what: &str) -> Result<Value, CrmError> {
        let body = json!({ "query": query, "variables": variables });
        let mut tries = 1;
        loop {
            match self.attempt(&body, what).await {
                Err(CrmError::Transient {
                    retry_after: Some(wait),
                    ..
                }) if tries < MAX_TRIES && wait <= INLINE_WAIT => {
                    tries += 1;
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// Runs a mutation and returns its payload (`data.{field}`), refused when it carries
    /// `userErrors`.
    async fn mutate(
        &self,
        query: &str,
        variables: Value,
        field: &str,
        what: &str,
    ) -> Result<Value, CrmError> {
        let mut data = self.graphql(query, variables, what).await?;
        let payload = data
            .get_mut(field)
            .map(Value::take)
            .filter(|p| !p.is_null())
            .ok_or_else(|| CrmError::transient(format!("{what}: the answer carries no {field}")))?;
        user_errors(&payload).map_err(|e| in_context(e, what))?;
        Ok(payload)
    }

    /// `discountCodeBasicCreate`: the stage's discount, starting `at`, for no customer yet.
    /// UNCONFIRMED: that Shopify accepts `context.customers.add` with an empty list (the discount
    /// then applies to nobody until the first grant).
    pub async fn create_discount(
        &self,
        stage: &StageSpec,
        at: DateTime<Utc>,
    ) -> Result<String, CrmError> {
        let what = "creating the discount";
        let discount = json!({
            "title": discount_title(stage),
            "code": discount_code(&stage.slug),
            "startsAt": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "context": { "customers": { "add": [] } },
            "customerGets": customer_gets(stage),
            "appliesOncePerCustomer": false,
            "combinesWith": {
                "orderDiscounts": false,
                "productDiscounts": false,
                "shippingDiscounts": true,
            },
        });
        let payload = self
            .mutate(
                DISCOUNT_CREATE,
                json!({ "d": discount }),
                "discountCodeBasicCreate",
                what,
            )
            .await?;
        text_at(&payload, "/codeDiscountNode/id")
            .ok_or_else(|| CrmError::transient(format!("{what}: the answer carries no id")))
    }

    /// `discountCodeBasicUpdate`: the discount's title and percentage follow the stage.
    pub async fn update_discount(&self, id: &str, stage: &StageSpec) -> Result<(), CrmError> {
        let discount =
            json!({ "title": discount_title(stage), "customerGets": customer_gets(stage) });
        self.mutate(
            DISCOUNT_UPDATE,
            json!({ "id": id, "d": discount }),
            "discountCodeBasicUpdate",
            "updating the discount",
        )
        .await
        .map(drop)
    }

    /// `discountCodeBasicUpdate` with `context.customers.{add|remove}`: the customer (a GID) joins
    /// or leaves the discount.
    async fn change_discount_customer(
        &self,
        discount: &str,
        customer: &str,
        change: Change,
    ) -> Result<(), CrmError> {
        let context = json!({ "customers": { change.key(): [customer] } });
        let what = match change {
            Change::Add => "adding the customer to the discount",
            Change::Remove => "removing the customer from the discount",
        };
        self.mutate(
            DISCOUNT_UPDATE,
            json!({ "id": discount, "d": { "context": context } }),
            "discountCodeBasicUpdate",
            what,
        )
        .await
        .map(drop)
    }

    /// `tagsAdd` / `tagsRemove` on the customer (a GID). Both leave other tags alone.
    async fn change_customer_tag(
        &self,
        customer: &str,
        tag: &str,
        change: Change,
    ) -> Result<(), CrmError> {
        let (query, field, what) = match change {
            Change::Add => (TAGS_ADD, "tagsAdd", "tagging the customer"),
            Change::Remove => (TAGS_REMOVE, "tagsRemove", "untagging the customer"),
        };
        self.mutate(query, json!({ "id": customer, "tags": [tag] }), field, what)
            .await
            .map(drop)
    }

    /// `customerCreate`: only the details we have are sent.
    async fn create_customer(&self, customer: &CustomerData) -> Result<String, CrmError> {
        let what = "creating the customer";
        let mut input = json!({ "email": customer.email });
        for (key, value) in [
            ("firstName", &customer.first_name),
            ("lastName", &customer.last_name),
            ("phone", &customer.phone),
        ] {
            if let Some(value) = value {
                input[key] = json!(value);
            }
        }
        let payload = self
            .mutate(
                CUSTOMER_CREATE,
                json!({ "input": input }),
                "customerCreate",
                what,
            )
            .await?;
        text_at(&payload, "/customer/id")
            .ok_or_else(|| CrmError::transient(format!("{what}: the answer carries no id")))
    }
}

impl Crm for Shopify {
    async fn ensure_stage(&self, stage: &StageSpec) -> Result<StageIds, CrmError> {
        let mut ids = stage.ids.clone();
        match &ids.discount_id {
            Some(id) => self.update_discount(id, stage).await?,
            None => ids.discount_id = Some(self.create_discount(stage, Utc::now()).await?),
        }
        ids.tag = Some(stage_tag(&stage.slug));
        Ok(ids)
    }

    /// Adds the customer to the stage's discount, then tags them. Shopify has no membership id.
    async fn grant(
        &self,
        stage: &StageIds,
        customer: &str,
        _at: DateTime<Utc>,
    ) -> Result<Option<String>, CrmError> {
        let discount = discount_of(stage)?;
        let customer = gid("Customer", customer);
        self.change_discount_customer(discount, &customer, Change::Add)
            .await?;
        if let Some(tag) = &stage.tag {
            self.change_customer_tag(&customer, tag, Change::Add)
                .await?;
        }
        Ok(None)
    }

    /// Removes the customer from the stage's discount, then untags them. A stage without a
    /// discount has granted nothing to take back.
    async fn revoke(
        &self,
        stage: &StageIds,
        customer: &str,
        _membership: Option<&str>,
        _at: DateTime<Utc>,
    ) -> Result<(), CrmError> {
        let customer = gid("Customer", customer);
        if let Some(discount) = stage.discount_id.as_deref() {
            self.change_discount_customer(discount, &customer, Change::Remove)
                .await?;
        }
        if let Some(tag) = &stage.tag {
            self.change_customer_tag(&customer, tag, Change::Remove)
                .await?;
        }
        Ok(())
    }

    async fn upsert_customer(&self, customer: &CustomerData) -> Result<String, CrmError> {
        if let Some(found) = self.find_customer_by_email(&customer.email).await? {
            return Ok(found.id);
        }
        self.create_customer(customer).await
    }

    async fn find_customer_by_email(&self, email: &str) -> Result<Option<CrmCustomer>, CrmError> {
        let data = self
            .graphql(
                FIND_CUSTOMER,
                json!({ "q": format!("email:{email}") }),
                "searching customers",
            )
            .await?;
        Ok(data
            .pointer("/customers/nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(customer_from_graphql)
            .find(|c| {
                c.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            }))
    }

    async fn fetch_customer(&self, id: &str) -> Result<Option<CrmCustomer>, CrmError> {
        let data = self
            .graphql(
                CUSTOMER,
                json!({ "id": gid("Customer", id) }),
                "fetching the customer",
            )
            .await?;
        Ok(data.get("customer").and_then(customer_from_graphql))
    }

    async fn fetch_order(&self, id: &str) -> Result<Option<CrmOrder>, CrmError> {
        let data = self
            .graphql(
                ORDER,
                json!({ "id": gid("Order", id) }),
                "fetching the order",
            )
            .await?;
        match data.get("order") {
            Some(order) if !order.is_null() => order_from_graphql(order).map(Some),
            _ => Ok(None),
        }
    }
}

/// The tokens of an OAuth answer. Expiring offline tokens carry `expires_in` (3600 s) and a
/// refresh token; store the new refresh token every time (Shopify rotates it).
#[derive(Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// The granted scopes, comma-separated.
    pub scope: Option<String>,
    /// Seconds until the access token expires.
    pub expires_in: Option<i64>,
    pub refresh_token: Option<SecretString>,
    /// Seconds until the refresh token expires ([mem]).
    pub refresh_token_expires_in: Option<i64>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .finish_non_exhaustive()
    }
}

/// A token answer (no `token_type`: Shopify does not send one).
fn token_set(v: &Value) -> Option<TokenSet> {
    Some(TokenSet {
        access_token: SecretString::from(text(v, "access_token")?),
        scope: text(v, "scope"),
        expires_in: v.get("expires_in").and_then(Value::as_i64),
        refresh_token: text(v, "refresh_token").map(SecretString::from),
        refresh_token_expires_in: v.get("refresh_token_expires_in").and_then(Value::as_i64),
    })
}

/// Where the merchant approves the install (authorization code grant, integrations.md 2.2
/// option B): `{shop}/admin/oauth/authorize?client_id=…&scope=…&redirect_uri=…&state=…`, every
/// value URL-encoded. `shop` must have passed [`is_valid_shop_domain`]; `state` is the nonce the
/// callback must bring back.
pub fn authorize_url(app: &ShopifyApp, shop: &str, state: &str, redirect_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &app.api_key)
        .append_pair("scope", &app.scopes)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .finish();
    format!("{}/admin/oauth/authorize?{query}", app.shop_base(shop))
}

/// `POST {shop}/admin/oauth/access_token` with a JSON body.
async fn token_request(
    http: &reqwest::Client,
    app: &ShopifyApp,
    shop: &str,
    body: &Value,
    what: &str,
) -> Result<TokenSet, CrmError> {
    if !is_valid_shop_domain(shop) {
        return Err(CrmError::rejected(format!(
            "{what}: {shop:?} is not a myshopify.com domain"
        )));
    }
    let request = http
        .post(format!("{}/admin/oauth/access_token", app.shop_base(shop)))
        .header(reqwest::header::ACCEPT, "application/json")
        .json(body);
    let answer = http::send(request, what, describe).await?.json()?;
    token_set(&answer)
        .ok_or_else(|| CrmError::transient(format!("{what}: the answer carries no access token")))
}

/// The authorization code grant's last step: the callback's `code` for an expiring offline token.
///
/// # Errors
/// [`CrmError::Rejected`] for a shop that is not a myshopify.com domain or a code Shopify refuses;
/// the usual [`CrmError`]s otherwise.
pub async fn exchange_code(
    http: &reqwest::Client,
    app: &ShopifyApp,
    shop: &str,
    code: &str,
) -> Result<TokenSet, CrmError> {
    let body = json!({
        "client_id": app.api_key,
        "client_secret": app.api_secret.expose_secret(),
        "code": code,
        "expiring": "1",
    });
    token_request(http, app, shop, &body, "exchanging the install code").await
}

/// Token exchange (integrations.md 2.2 option A): a verified session token for an expiring
/// offline access token. Shopify answers an invalid or expired session token with HTTP 400.
///
/// # Errors
/// As [`exchange_code`].
pub async fn exchange_session_token(
    http: &reqwest::Client,
    app: &ShopifyApp,
    shop: &str,
    session_token: &str,
) -> Result<TokenSet, CrmError> {
    let body = json!({
        "client_id": app.api_key,
        "client_secret": app.api_secret.expose_secret(),
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": session_token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
        "expiring": "1",
    });
    token_request(http, app, shop, &body, "exchanging the session token").await
}

/// A new access token (and a new refresh token, which replaces the old one) for an expiring
/// offline token. UNCONFIRMED ([mem], integrations.md 2.2 and open question 14.2): the parameters
/// are `client_id`, `client_secret`, `grant_type=refresh_token` and `refresh_token`, sent as JSON
/// to the same endpoint as the other grants.
///
/// # Errors
/// As [`exchange_code`].
pub async fn refresh_token(
    http: &reqwest::Client,
    app: &ShopifyApp,
    shop: &str,
    refresh_token: &SecretString,
) -> Result<TokenSet, CrmError> {
    let body = json!({
        "client_id": app.api_key,
        "client_secret": app.api_secret.expose_secret(),
        "grant_type": "refresh_token",
        "refresh_token": refresh_token.expose_secret(),
    });
    token_request(http, app, shop, &body, "refreshing the access token").await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(base_url: Option<&str>) -> ShopifyApp {
        ShopifyApp {
            api_key: "test-client-id".to_owned(),
            api_secret: SecretString::from("very-secret-value"),
            scopes: "read_customers,write_customers,write_discounts".to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            base_url: base_url.map(str::to_owned),
        }
    }

    fn webhook_order() -> Value {
        json!({
            "id": 820982911946154508_u64,
            "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
            "email": "jon@example.com",
            "created_at": "2026-03-01T10:15:00-05:00",
            "cancelled_at": null,
            "financial_status": "partially_refunded",
            "subtotal_price": "180.00",
            "total_discounts": "20.00",
            "total_tax": "14.40",
            "total_shipping_price_set": { "shop_money": { "amount": "5.25", "currency_code": "USD" } },
            "total_price": "199.65",
            "refunds": [
                { "transactions": [
                    { "kind": "refund", "status": "success", "amount": "30.00" },
                    { "kind": "refund", "status": "failure", "amount": "99.00" },
                ] },
                { "transactions": [ { "kind": "refund", "status": "success", "amount": "10.5" } ] },
            ],
            "customer": { "id": 115310627314723954_u64, "email": "jon@example.com" },
        })
    }

    #[test]
    fn a_webhook_order_reads_its_amounts_status_and_ids() {
        let order = order_from_webhook(&webhook_order()).expect("a valid order");
        assert_eq!(order.id, "gid://shopify/Order/820982911946154508");
        assert_eq!(
            order.customer_id.as_deref(),
            Some("gid://shopify/Customer/115310627314723954")
        );
        assert_eq!(order.placed_at.to_rfc3339(), "2026-03-01T15:15:00+00:00");
        assert_eq!(order.status, OrderStatus::PartiallyRefunded);
        assert_eq!(
            order.amounts,
            OrderAmounts {
                subtotal: Money::from_cents(20_000),
                discount: Money::from_cents(2_000),
                tax: Money::from_cents(1_440),
                shipping: Money::from_cents(525),
                total: Money::from_cents(19_965),
            }
        );
        assert_eq!(order.refunded, Money::from_cents(4_050));
    }

    #[test]
    fn a_sparse_webhook_order_falls_back_to_numeric_ids_and_zero_amounts() {
        let v = json!({
            "id": 42,
            "created_at": "2026-03-01T10:15:00Z",
            "financial_status": "refunded",
            "total_price": "50.00",
            "customer": { "id": 7 },
        });
        let order = order_from_webhook(&v).expect("a valid order");
        assert_eq!(order.id, "gid://shopify/Order/42");
        assert_eq!(
            order.customer_id.as_deref(),
            Some("gid://shopify/Customer/7")
        );
        assert_eq!(order.status, OrderStatus::Refunded);
        assert_eq!(order.amounts.shipping, Money::ZERO);
        assert_eq!(order.amounts.subtotal, Money::ZERO);
        assert_eq!(order.refunded, Money::from_cents(5_000));
    }

    #[test]
    fn a_cancelled_webhook_order_is_cancelled_and_a_bad_one_is_refused() {
        let mut v = webhook_order();
        v["cancelled_at"] = json!("2026-03-02T10:00:00Z");
        v["financial_status"] = json!("paid");
        assert_eq!(
            order_from_webhook(&v).expect("valid").status,
            OrderStatus::Cancelled
        );

        let mut no_date = webhook_order();
        no_date["created_at"] = Value::Null;
        assert!(matches!(
            order_from_webhook(&no_date),
            Err(CrmError::Rejected { .. })
        ));
        let mut bad_amount = webhook_order();
        bad_amount["total_price"] = json!("12.345");
        assert!(matches!(
            order_from_webhook(&bad_amount),
            Err(CrmError::Rejected { .. })
        ));
        assert!(order_from_webhook(&json!({ "created_at": "2026-03-01T10:15:00Z" })).is_err());
    }

    #[test]
    fn financial_statuses_map_to_order_statuses() {
        let cases = [
            ("PAID", OrderStatus::Paid),
            ("paid", OrderStatus::Paid),
            ("PARTIALLY_REFUNDED", OrderStatus::PartiallyRefunded),
            ("REFUNDED", OrderStatus::Refunded),
            ("VOIDED", OrderStatus::Cancelled),
            ("PENDING", OrderStatus::Pending),
            ("AUTHORIZED", OrderStatus::Pending),
            ("PARTIALLY_PAID", OrderStatus::Pending),
            ("EXPIRED", OrderStatus::Pending),
            ("SOMETHING_NEW", OrderStatus::Pending),
        ];
        for (word, status) in cases {
            assert_eq!(order_status(Some(word), false), status, "{word}");
        }
        assert_eq!(order_status(None, false), OrderStatus::Pending);
        assert_eq!(order_status(Some("PAID"), true), OrderStatus::Cancelled);
    }

    #[test]
    fn shop_amounts_become_cents() {
        assert_eq!(money("199.65"), Some(Money::from_cents(19_965)));
        assert_eq!(money("0.0"), Some(Money::ZERO));
        assert_eq!(money("12"), Some(Money::from_cents(1_200)));
        assert_eq!(money("10.500"), Some(Money::from_cents(1_050)));
        assert_eq!(money("10.505"), None);
        assert_eq!(money("-1.00"), None);
        assert_eq!(money("abc"), None);
    }

    #[test]
    fn numeric_ids_become_gids_and_gids_stay() {
        assert_eq!(gid("Order", "123"), "gid://shopify/Order/123");
        assert_eq!(gid("Order", " 123 "), "gid://shopify/Order/123");
        assert_eq!(
            gid("Customer", "gid://shopify/Customer/9"),
            "gid://shopify/Customer/9"
        );
    }

    #[test]
    fn user_errors_become_a_rejection_naming_each_field() {
        assert_eq!(user_errors(&json!({ "userErrors": [] })), Ok(()));
        assert_eq!(user_errors(&json!({ "customer": { "id": "x" } })), Ok(()));
        let refused = user_errors(&json!({ "userErrors": [
            { "field": ["basicCodeDiscount", "code"], "message": "Code must be unique" },
            { "field": null, "message": "Something else" },
        ] }))
        .expect_err("refused");
        assert!(!refused.is_retryable());
        assert_eq!(
            refused.to_string(),
            "basicCodeDiscount.code: Code must be unique; Something else"
        );
    }

    #[test]
    fn the_throttle_wait_comes_from_the_query_cost() {
        let body = json!({ "extensions": { "cost": {
            "requestedQueryCost": 101, "actualQueryCost": null,
            "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": 1, "restoreRate": 50.0 },
        } } });
        assert_eq!(throttle_wait(&body), Some(Duration::from_secs(2)));
        assert_eq!(throttle_wait(&json!({})), None);
        let zero_rate = json!({ "extensions": { "cost": {
            "requestedQueryCost": 10,
            "throttleStatus": { "currentlyAvailable": 0, "restoreRate": 0 },
        } } });
        assert_eq!(throttle_wait(&zero_rate), None);
    }

    #[test]
    fn top_level_errors_are_sorted_by_what_to_do() {
        let throttled = json!({ "errors": [{ "message": "Throttled" }] });
        assert!(matches!(
            top_level_refusal(&throttled, "x"),
            Some(CrmError::Transient {
                retry_after: None,
                ..
            })
        ));
        let denied = json!({ "errors": [{ "message": "Access denied", "extensions": { "code": "ACCESS_DENIED" } }] });
        assert!(matches!(
            top_level_refusal(&denied, "x"),
            Some(CrmError::Unauthorized { .. })
        ));
        let syntax = json!({ "errors": [{ "message": "Parse error on \"}\"" }] });
        assert_eq!(
            top_level_refusal(&syntax, "x"),
            Some(CrmError::rejected("x: Parse error on \"}\""))
        );
        assert_eq!(top_level_refusal(&json!({ "errors": [] }), "x"), None);
        assert_eq!(top_level_refusal(&json!({ "data": {} }), "x"), None);
    }

    #[test]
    fn error_bodies_are_described_in_one_sentence() {
        assert_eq!(
            describe(r#"{"errors":"[API] Invalid API key or access token"}"#).as_deref(),
            Some("[API] Invalid API key or access token")
        );
        assert_eq!(
            describe(r#"{"errors":{"email":["is invalid","is taken"]}}"#).as_deref(),
            Some("email: is invalid, is taken")
        );
        assert_eq!(
            describe(r#"{"error":"invalid_request","error_description":"bad code"}"#).as_deref(),
            Some("bad code")
        );
        assert_eq!(describe("<html>"), None);
    }

    #[test]
    fn discount_codes_name_the_stage_and_end_in_six_random_characters() {
        let code = discount_code("gold-circle");
        let suffix = code
            .strip_prefix("VINCULUM-GOLD-CIRCLE-")
            .expect("the stage prefix");
        assert_eq!(suffix.len(), 6);
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn percentages_are_fractions_of_one() {
        let stage = StageSpec {
            name: "Gold".to_owned(),
            slug: "gold".to_owned(),
            discount_hundredths: 1_500,
            ids: StageIds::default(),
        };
        assert_eq!(customer_gets(&stage)["value"]["percentage"], json!(0.15));
    }

    #[test]
    fn the_authorize_url_encodes_every_value() {
        let url = authorize_url(
            &app(None),
            "snowdevil.myshopify.com",
            "nonce 1&2",
            "https://vinculum.example/auth/callback?x=1",
        );
        assert_eq!(
            url,
            "https://snowdevil.myshopify.com/admin/oauth/authorize?client_id=test-client-id\
             &scope=read_customers%2Cwrite_customers%2Cwrite_discounts\
             &redirect_uri=https%3A%2F%2Fvinculum.example%2Fauth%2Fcallback%3Fx%3D1\
             &state=nonce+1%262"
        );
        assert!(
            authorize_url(
                &app(Some("http://127.0.0.1:9/")),
                "a.myshopify.com",
                "s",
                "r"
            )
            .starts_with("http://127.0.0.1:9/admin/oauth/authorize?")
        );
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let app = app(None);
        let client = Shopify::new(
            reqwest::Client::new(),
            &app,
            "snowdevil.myshopify.com",
            SecretString::from("shpat_secret_token"),
        );
        let tokens = TokenSet {
            access_token: SecretString::from("shpat_secret_token"),
            scope: Some("read_customers".to_owned()),
            expires_in: Some(3600),
            refresh_token: Some(SecretString::from("shprt_secret_refresh")),
            refresh_token_expires_in: None,
        };
        let printed = format!("{app:?} {client:?} {tokens:?}");
        assert!(!printed.contains("very-secret-value"), "{printed}");
        assert!(!printed.contains("shpat_secret_token"), "{printed}");
        assert!(!printed.contains("shprt_secret_refresh"), "{printed}");
        assert!(printed.contains("snowdevil.myshopify.com"), "{printed}");
    }
}
