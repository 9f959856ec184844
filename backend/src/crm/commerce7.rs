//! The Commerce7 API client (integrations.md section 1): app credentials in HTTP Basic and the
//! `tenant` header on every call. Each stage is a club with an auto-applied percentage promotion for
//! that club; a grant creates a club membership and a revoke sets its cancel date (D21).
//!
//! Facts integrations.md marks UNCONFIRMED are decided in this file only, each where it is used:
//! the order fields ([`order_from_json`]), the membership body ([`Commerce7::create_membership`]) and
//! the percentage unit of promotions ([`promotion_body`]).

use super::http;
use super::{Crm, CrmCustomer, CrmError, CrmOrder, CustomerData, StageIds, StageSpec};
use chrono::{DateTime, Utc};
use domain::Money;
use domain::orders::{OrderAmounts, OrderStatus};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.commerce7.com/v1";

/// The app's credentials from the Commerce7 Dev Center, shared by every tenant.
#[derive(Clone)]
pub struct AppCredentials {
    pub app_id: String,
    pub app_secret: SecretString,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// A Commerce7 admin user, as `GET /account/user` describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountUser {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A delivery Commerce7 failed to make, from `/web-hook-log`.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedDelivery {
    pub id: String,
    pub object: String,
    pub action: String,
    pub payload: Value,
}

/// A client for one tenant.
#[derive(Clone, Debug)]
pub struct Commerce7 {
    http: reqwest::Client,
    base: String,
    tenant: String,
    credentials: AppCredentials,
}

/// Commerce7's error body: `{"message": …, "errors": [{"field": …, "message": …}]}`.
fn describe(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let message = v.get("message")?.as_str()?.to_owned();
    let details: Vec<String> = v
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let field = e.get("field").and_then(Value::as_str).unwrap_or("");
            let why = e.get("message").and_then(Value::as_str)?;
            Some(if field.is_empty() {
                why.to_owned()
            } else {
                format!("{field} {why}")
            })
        })
        .collect();
    Some(if details.is_empty() {
        message
    } else {
        format!("{message} ({})", details.join("; "))
    })
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn id_of(v: &Value, what: &str) -> Result<String, CrmError> {
    text(v, "id").ok_or_else(|| CrmError::transient(format!("{what}: the answer carries no id")))
}

fn cents(v: &Value, key: &str) -> Money {
    Money::from_cents(v.get(key).and_then(Value::as_i64).unwrap_or(0))
}

fn instant(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    text(v, key)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A customer from `GET /customer/{id}` or a search.
pub fn customer_from_json(v: &Value) -> Option<CrmCustomer> {
    let first = |list: &str, key: &str| {
        v.get(list)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|e| text(e, key))
    };
    Some(CrmCustomer {
        id: text(v, "id")?,
        email: first("emails", "email"),
        first_name: text(v, "firstName"),
        last_name: text(v, "lastName"),
        phone: first("phones", "phone"),
    })
}

/// An order from `GET /order/{id}`. Amounts are integer cents. UNCONFIRMED (integrations.md 1.6
/// lists only `total`): the merchandise subtotal is `subTotal`, discounts `discountTotal`, tax
/// `taxTotal` (or `tax`), shipping `shippingTotal`, the refunded amount `refundTotal`; the status
/// comes from `paymentStatus` ("Paid", "Refunded", "Partially Refunded", "Unpaid", "Voided"), and
/// the order counts at `orderSubmittedDate` (else `orderPaidDate`, else `createdAt`).
///
/// # Errors
/// An order without an id or a recognisable time.
pub fn order_from_json(v: &Value) -> Result<CrmOrder, CrmError> {
    let id = id_of(v, "the order")?;
    let placed_at = instant(v, "orderSubmittedDate")
        .or_else(|| instant(v, "orderPaidDate"))
        .or_else(|| instant(v, "createdAt"))
        .ok_or_else(|| CrmError::rejected(format!("order {id} carries no date")))?;
    let status = text(v, "paymentStatus")
        .and_then(|s| OrderStatus::parse(&s))
        .unwrap_or(OrderStatus::Pending);
    let total = cents(v, "total");
    let tax = if v.get("taxTotal").is_some() {
        cents(v, "taxTotal")
    } else {
        cents(v, "tax")
    };
    let subtotal = if v.get("subTotal").is_some() {
        cents(v, "subTotal")
    } else {
        total
    };
    let refunded = match status {
        OrderStatus::Refunded => total,
        _ => cents(v, "refundTotal"),
    };
    Ok(CrmOrder {
        id,
        customer_id: text(v, "customerId"),
        placed_at,
        status,
        amounts: OrderAmounts {
            subtotal,
            discount: cents(v, "discountTotal"),
            tax,
            shipping: cents(v, "shippingTotal"),
            total,
        },
        refunded,
    })
}

/// The promotion of a stage's club. Percentages are sent ×100 (15 % is 1500), as REF did against a
/// live tenant (integrations.md 1.6).
fn promotion_body(stage: &StageSpec, club_id: &str, at: DateTime<Utc>) -> Value {
    json!({
        "title": format!("{} member discount", stage.name),
        "actionMessage": format!("{} member discount", stage.name),
        "type": "Product",
        "discountType": "Percentage Off",
        "discount": stage.discount_hundredths,
        "appliesTo": "Store",
        "appliesToObjectIds": [],
        "excludes": null,
        "excludeObjectIds": [],
        "cartRequirementType": "None",
        "usageLimitType": "Unlimited",
        "status": "Enabled",
        "availableTo": "Club",
        "availableToObjectIds": [club_id],
        "clubFrequencies": [],
        "promotionSets": [],
        "startDate": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "endDate": null,
    })
}

impl Commerce7 {
    /// A client for `tenant` at `base` (no trailing slash; [`DEFAULT_BASE_URL`] in production).
    pub fn new(
        http: reqwest::Client,
        base: &str,
        tenant: &str,
        credentials: AppCredentials,
    ) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            tenant: tenant.to_owned(),
            credentials,
        }
    }

    /// The tenant this client speaks for.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("tenant", &self.tenant)
            .header(reqwest::header::ACCEPT, "application/json")
            .basic_auth(
                &self.credentials.app_id,
                Some(self.credentials.app_secret.expose_secret()),
            )
    }

    async fn call(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Value, CrmError> {
        let answer = http::send(request, what, describe).await?;
        let body = answer.json()?;
        // A 200 carrying errors has been seen by REF; treat it as a refusal.
        if let Some(errors) = body.get("errors").and_then(Value::as_array)
            && !errors.is_empty()
        {
            return Err(CrmError::rejected(format!(
                "{what}: {}",
                describe(&answer.body).unwrap_or_else(|| "refused".to_owned())
            )));
        }
        Ok(body)
    }

    /// `call`, with 404 as `None`.
    async fn find(&self, path: &str, what: &str) -> Result<Option<Value>, CrmError> {
        match self.call(self.request(Method::GET, path), what).await {
            Ok(v) => Ok(Some(v)),
            Err(CrmError::Rejected {
                status: Some(404), ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<Value, CrmError> {
        self.call(self.request(method, path).json(body), what).await
    }

    /// `GET /customer/{id}`, raw.
    pub async fn customer_json(&self, id: &str) -> Result<Option<Value>, CrmError> {
        self.find(&format!("/customer/{id}"), "fetching the customer")
            .await
    }

    /// `POST /club`: the stage's club.
    pub async fn create_club(&self, stage: &StageSpec) -> Result<String, CrmError> {
        let body = json!({
            "title": stage.name,
            "slug": format!("vinculum-{}", stage.slug),
            "type": "Traditional",
            "seo": { "title": stage.name },
            "webStatus": "Not Available",
            "adminStatus": "Available",
        });
        let v = self
            .send_json(Method::POST, "/club", &body, "creating the club")
            .await?;
        id_of(&v, "creating the club")
    }

    /// `PUT /club/{id}`: the club's title follows the stage's name.
    pub async fn update_club(&self, id: &str, stage: &StageSpec) -> Result<(), CrmError> {
        let body = json!({ "title": stage.name, "seo": { "title": stage.name } });
        self.send_json(
            Method::PUT,
            &format!("/club/{id}"),
            &body,
            "updating the club",
        )
        .await
        .map(drop)
    }

    /// `POST /promotion`: the club's discount.
    pub async fn create_promotion(
        &self,
        stage: &StageSpec,
        club_id: &str,
        at: DateTime<Utc>,
    ) -> Result<String, CrmError> {
        let body = promotion_body(stage, club_id, at);
        let v = self
            .send_json(Method::POST, "/promotion", &body, "creating the promotion")
            .await?;
        id_of(&v, "creating the promotion")
    }

    /// `PUT /promotion/{id}`: the discount follows the stage.
    pub async fn update_promotion(&self, id: &str, stage: &StageSpec) -> Result<(), CrmError> {
        let body = json!({
            "title": format!("{} member discount", stage.name),
            "discount": stage.discount_hundredths,
        });
        self.send_json(
            Method::PUT,
            &format!("/promotion/{id}"),
            &body,
            "updating the promotion",
        )
        .await
        .map(drop)
    }

    /// `POST /club-membership`. UNCONFIRMED: whether a Traditional club membership needs address
    /// and card ids; none are sent, and pickup is the delivery method.
    pub async fn create_membership(
        &self,
        customer: &str,
        club: &str,
        at: DateTime<Utc>,
    ) -> Result<String, CrmError> {
        let body = json!({
            "customerId": customer,
            "clubId": club,
            "signupDate": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "cancelDate": null,
            "orderDeliveryMethod": "Pickup",
        });
        let v = self
            .send_json(
                Method::POST,
                "/club-membership",
                &body,
                "creating the club membership",
            )
            .await?;
        id_of(&v, "creating the club membership")
    }

    /// `PUT /club-membership/{id}` with a cancel date.
    pub async fn cancel_membership(&self, id: &str, at: DateTime<Utc>) -> Result<(), CrmError> {
        let body = json!({
            "cancelDate": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "cancellationReason": "Other",
        });
        match self
            .send_json(
                Method::PUT,
                &format!("/club-membership/{id}"),
                &body,
                "cancelling the club membership",
            )
            .await
        {
            // Already gone in Commerce7: nothing left to cancel.
            Err(CrmError::Rejected {
                status: Some(404), ..
            }) => Ok(()),
            other => other.map(drop),
        }
    }

    /// The membership in `club` the customer holds now (no cancel date), from the customer's
    /// `clubs` list.
    async fn open_membership(
        &self,
        customer: &str,
        club: &str,
    ) -> Result<Option<String>, CrmError> {
        let Some(v) = self.customer_json(customer).await? else {
            return Err(CrmError::rejected(format!(
                "customer {customer} does not exist in Commerce7"
            )));
        };
        Ok(v.get("clubs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| {
                text(c, "clubId").as_deref() == Some(club)
                    && c.get("cancelDate").is_none_or(Value::is_null)
            })
            .and_then(|c| text(c, "clubMembershipId")))
    }

    /// `POST /web-hook`: subscribes `url` to `object`/`action` deliveries.
    pub async fn register_webhook(
        &self,
        object: &str,
        action: &str,
        url: &str,
    ) -> Result<String, CrmError> {
        let body = json!({ "object": object, "action": action, "url": url });
        let v = self
            .send_json(Method::POST, "/web-hook", &body, "registering a webhook")
            .await?;
        id_of(&v, "registering a webhook")
    }

    /// `DELETE /web-hook/{id}` (204; an unknown id is already gone).
    pub async fn delete_webhook(&self, id: &str) -> Result<(), CrmError> {
        match self
            .call(
                self.request(Method::DELETE, &format!("/web-hook/{id}")),
                "removing a webhook",
            )
            .await
        {
            Err(CrmError::Rejected {
                status: Some(404), ..
            }) => Ok(()),
            other => other.map(drop),
        }
    }

    /// `GET /web-hook-log?isSuccess=false&updatedAt=gte:…`: deliveries that failed since `since`.
    pub async fn failed_deliveries(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<FailedDelivery>, CrmError> {
        let since = since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let request = self.request(Method::GET, "/web-hook-log").query(&[
            ("isSuccess", "false"),
            ("updatedAt", &format!("gte:{since}")),
        ]);
        let v = self.call(request, "reading the webhook log").await?;
        Ok(v.get("webHookLogs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|log| {
                Some(FailedDelivery {
                    id: text(log, "id")?,
                    object: text(log, "object")?,
                    action: text(log, "action")?,
                    payload: log.get("payload")?.clone(),
                })
            })
            .collect())
    }

    /// `GET /account/user` with the launch's `account` token (raw, no "Bearer"): the admin who
    /// opened Vinculum inside Commerce7, or `None` when Commerce7 does not know the token.
    pub async fn account_user(&self, account: &str) -> Result<Option<AccountUser>, CrmError> {
        let request = self
            .http
            .get(format!("{}/account/user", self.base))
            .header("tenant", &self.tenant)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::AUTHORIZATION, account);
        match http::send(request, "verifying the Commerce7 user", describe).await {
            Ok(answer) => {
                let v = answer.json()?;
                Ok(Some(AccountUser {
                    id: id_of(&v, "verifying the Commerce7 user")?,
                    email: text(&v, "email").ok_or_else(|| {
                        CrmError::rejected("the Commerce7 user has no e-mail address")
                    })?,
                    first_name: text(&v, "firstName"),
                    last_name: text(&v, "lastName"),
                }))
            }
            Err(CrmError::Unauthorized { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Crm for Commerce7 {
    async fn ensure_stage(&self, stage: &StageSpec) -> Result<StageIds, CrmError> {
        let mut ids = stage.ids.clone();
        let club = match &ids.club_id {
            Some(id) => {
                self.update_club(id, stage).await?;
                id.clone()
            }
            None => self.create_club(stage).await?,
        };
        ids.club_id = Some(club.clone());
        match &ids.promotion_id {
            Some(id) => self.update_promotion(id, stage).await?,
            None => ids.promotion_id = Some(self.create_promotion(stage, &club, Utc::now()).await?),
        }
        Ok(ids)
    }

    async fn grant(
        &self,
        stage: &StageIds,
        customer: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, CrmError> {
        let club = stage
            .club_id
            .as_deref()
            .ok_or_else(|| CrmError::rejected("the stage has no Commerce7 club yet"))?;
        // A retried grant finds the membership an earlier, timed-out attempt created.
        if let Some(existing) = self.open_membership(customer, club).await? {
            return Ok(Some(existing));
        }
        self.create_membership(customer, club, at).await.map(Some)
    }

    async fn revoke(
        &self,
        stage: &StageIds,
        customer: &str,
        membership: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), CrmError> {
        let membership = match membership {
            Some(id) => Some(id.to_owned()),
            None => match stage.club_id.as_deref() {
                Some(club) => self.open_membership(customer, club).await?,
                None => None,
            },
        };
        match membership {
            Some(id) => self.cancel_membership(&id, at).await,
            None => Ok(()),
        }
    }

    async fn upsert_customer(&self, customer: &CustomerData) -> Result<String, CrmError> {
        if let Some(found) = self.find_customer_by_email(&customer.email).await? {
            return Ok(found.id);
        }
        let mut body = json!({
            "firstName": customer.first_name.clone().unwrap_or_default(),
            "lastName": customer.last_name.clone().unwrap_or_default(),
            "emails": [{ "email": customer.email }],
        });
        if let Some(phone) = &customer.phone {
            body["phones"] = json!([{ "phone": phone }]);
        }
        let v = self
            .send_json(Method::POST, "/customer", &body, "creating the customer")
            .await?;
        id_of(&v, "creating the customer")
    }

    async fn find_customer_by_email(&self, email: &str) -> Result<Option<CrmCustomer>, CrmError> {
        let request = self
            .request(Method::GET, "/customer")
            .query(&[("q", email), ("limit", "1")]);
        let v = self.call(request, "searching customers").await?;
        Ok(v.get("customers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(customer_from_json)
            .find(|c| {
                c.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            }))
    }

    async fn fetch_customer(&self, id: &str) -> Result<Option<CrmCustomer>, CrmError> {
        Ok(self
            .customer_json(id)
            .await?
            .as_ref()
            .and_then(customer_from_json))
    }

    async fn fetch_order(&self, id: &str) -> Result<Option<CrmOrder>, CrmError> {
        match self
            .find(&format!("/order/{id}"), "fetching the order")
            .await?
        {
            Some(v) => order_from_json(&v).map(Some),
            None => Ok(None),
        }
    }
}
