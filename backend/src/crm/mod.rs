//! The CRM integration (decisions D21–D24): the [`Crm`] trait that hides Commerce7 and Shopify,
//! their clients, the signatures that authenticate their requests, and the worker that sends the
//! queued operations (grant, revoke, move) so each stage's discount applies at checkout.
//!
//! Every base URL is configuration ([`CrmConfig`]); tests point the clients at wiremock.

pub mod commerce7;
mod http;
pub mod registry;
pub mod shopify;
pub mod signing;
pub mod sync;

use chrono::{DateTime, Utc};
use domain::Money;
use domain::orders::{OrderAmounts, OrderStatus};
use std::future::Future;
use std::time::Duration;

/// Why a CRM call failed, sorted by what the caller should do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// Worth trying again later: the network, a timeout, 429 or throttling, a 5xx.
    #[error("{message}")]
    Transient {
        message: String,
        /// How long the CRM asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The CRM refused the request (a 4xx, a validation error); the same request will fail again.
    #[error("{message}")]
    Rejected {
        status: Option<u16>,
        message: String,
    },
    /// The CRM refused our credentials (401 or 403).
    #[error("{message}")]
    Unauthorized { message: String },
}

impl CrmError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    pub(crate) fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn rejected(message: impl Into<String>) -> Self {
        Self::Rejected {
            status: None,
            message: message.into(),
        }
    }
}

/// A customer as the CRM holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrmCustomer {
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

/// The contact details Vinculum sends when it creates or updates a CRM customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerData {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

/// A stage's objects in the CRM, as far as they exist.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageIds {
    /// Commerce7: the club.
    pub club_id: Option<String>,
    /// Commerce7: the club's auto-applied promotion.
    pub promotion_id: Option<String>,
    /// Shopify: the discount limited to the stage's members.
    pub discount_id: Option<String>,
    /// Shopify: the customer tag `vinculum-<stage-slug>`.
    pub tag: Option<String>,
}

/// What the CRM needs to know about a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSpec {
    pub name: String,
    /// Lower-case words joined by dashes, from the name (`gold-circle`).
    pub slug: String,
    /// The discount in hundredths of a percent (15 % is 1500).
    pub discount_hundredths: u32,
    /// What already exists.
    pub ids: StageIds,
}

/// A stage's slug: its name in lower-case ASCII words joined by dashes.
pub fn stage_slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "stage".to_owned()
    } else {
        slug
    }
}

/// An order as the CRM holds it. Webhook payloads are only hints (D23): the order is fetched again
/// with our credentials before it counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrmOrder {
    pub id: String,
    pub customer_id: Option<String>,
    pub placed_at: DateTime<Utc>,
    pub status: OrderStatus,
    pub amounts: OrderAmounts,
    pub refunded: Money,
}

/// The operations Vinculum needs from a CRM (D21). Each is safe to repeat: a retried grant finds
/// the membership an earlier attempt created instead of creating a second one.
pub trait Crm: Sync {
    /// Creates the stage's CRM objects that are missing and brings the existing ones up to date
    /// (name and discount). Returns the ids.
    fn ensure_stage(
        &self,
        stage: &StageSpec,
    ) -> impl Future<Output = Result<StageIds, CrmError>> + Send;

    /// Makes a customer eligible for a stage's discount. Returns the CRM membership id, when the
    /// CRM has one (Commerce7).
    fn grant(
        &self,
        stage: &StageIds,
        customer: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<String>, CrmError>> + Send;

    /// Ends a customer's eligibility for a stage's discount; `membership` is what the grant
    /// returned, when it is known.
    fn revoke(
        &self,
        stage: &StageIds,
        customer: &str,
        membership: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), CrmError>> + Send;

    /// An upgrade: from one stage's discount to another's. Revokes first, then grants.
    fn move_stage(
        &self,
        from: &StageIds,
        to: &StageIds,
        customer: &str,
        membership: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<String>, CrmError>> + Send {
        async move {
            self.revoke(from, customer, membership, at).await?;
            self.grant(to, customer, at).await
        }
    }

    /// Finds the customer by e-mail address, creating them when the CRM has none, and returns
    /// their CRM id.
    fn upsert_customer(
        &self,
        customer: &CustomerData,
    ) -> impl Future<Output = Result<String, CrmError>> + Send;

    /// The customer with this e-mail address, if the CRM has one.
    fn find_customer_by_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<CrmCustomer>, CrmError>> + Send;

    /// A customer by CRM id; `None` when the CRM has none.
    fn fetch_customer(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<CrmCustomer>, CrmError>> + Send;

    /// An order by CRM id; `None` when the CRM has none.
    fn fetch_order(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<CrmOrder>, CrmError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_slug_is_lower_case_words_joined_by_dashes() {
        assert_eq!(stage_slug("Gold Circle"), "gold-circle");
        assert_eq!(stage_slug("  Silver -- Plus! "), "silver-plus");
        assert_eq!(stage_slug("Rosé"), "ros");
        assert_eq!(stage_slug("***"), "stage");
    }

    #[test]
    fn only_transient_failures_are_worth_retrying() {
        assert!(CrmError::transient("timeout").is_retryable());
        assert!(!CrmError::rejected("bad").is_retryable());
        assert!(
            !CrmError::Unauthorized {
                message: "no".into()
            }
            .is_retryable()
        );
    }
}
