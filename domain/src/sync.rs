//! The CRM sync queue as the admin sees it: each eligibility operation waiting for, or sent to,
//! the CRM (decisions D21, D22). Wire types, shared by server and browser.

use serde::{Deserialize, Serialize};

/// One queued operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncItemView {
    pub id: uuid::Uuid,
    /// `grant`, `revoke` or `move`.
    pub action: String,
    pub member: String,
    pub email: String,
    pub stage: Option<String>,
    /// For a move, the stage being left.
    pub old_stage: Option<String>,
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub queued_label: String,
    pub error: Option<String>,
}

/// The queue: counts by status and the newest items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncQueueView {
    pub pending: i64,
    pub failed: i64,
    pub completed: i64,
    /// Newest first, at most [`SYNC_PAGE`].
    pub items: Vec<SyncItemView>,
}

/// How a winery is connected to its CRM, for the connection page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// `commerce7`, `shopify`, `sandbox`, or empty when there is no connection.
    pub provider: String,
    /// The Commerce7 tenant or the Shopify shop.
    pub tenant: String,
    /// How the CRM is reached, in words ("app credentials", "token valid until …").
    pub credentials: String,
    pub webhooks_registered: i64,
    pub last_webhook_label: Option<String>,
    pub last_webhook_error: Option<String>,
    /// Deliveries waiting, processed (or ignored), failed.
    pub inbox_waiting: i64,
    pub inbox_done: i64,
    pub inbox_failed: i64,
    /// The sandbox's club memberships (demo): member, club, since, cancelled on.
    pub sandbox_memberships: Vec<SandboxMembershipView>,
}

/// A club membership in the sandbox CRM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxMembershipView {
    pub email: String,
    pub club: String,
    pub since: String,
    pub cancelled: Option<String>,
}

impl ConnectionView {
    /// The CRM's name for people.
    pub fn provider_label(&self) -> &'static str {
        match self.provider.as_str() {
            "commerce7" => "Commerce7",
            "shopify" => "Shopify",
            "sandbox" => "Sandbox CRM (a built-in stand-in for Commerce7)",
            _ => "Not connected",
        }
    }
}

/// How many items the page lists.
pub const SYNC_PAGE: i64 = 200;

impl SyncItemView {
    /// The operation in words: "Grant Bronze", "Move Bronze → Silver", "Revoke Gold".
    pub fn describe(&self) -> String {
        let stage = self.stage.clone().unwrap_or_else(|| "?".to_owned());
        match (self.action.as_str(), &self.old_stage) {
            ("move", Some(old)) => format!("Move {old} → {stage}"),
            ("grant", _) => format!("Grant {stage}"),
            ("revoke", _) => format!("Revoke {stage}"),
            (other, _) => format!("{other} {stage}"),
        }
    }
}

/// D22: the wait before the next try after `attempts` tries: 1, 2, 4, … minutes, capped at 60,
/// spread by up to ±10 % (`jitter` in `[0, 1)`) so many items failing together do not return
/// together.
pub fn retry_delay_seconds(attempts: i32, jitter: f64) -> i64 {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 6)).unwrap_or(6);
    let minutes = 2_i64.pow(exponent).min(60);
    let spread = 0.9 + 0.2 * jitter.clamp(0.0, 1.0);
    // At most 3,960 seconds: the cast cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let seconds = (minutes as f64 * 60.0 * spread).round() as i64;
    seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_one_two_four_minutes_and_never_more_than_an_hour_and_a_tenth() {
        let plain: Vec<i64> = (1..=9).map(|n| retry_delay_seconds(n, 0.5)).collect();
        assert_eq!(plain, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(retry_delay_seconds(1, 0.0), 54);
        assert_eq!(retry_delay_seconds(1, 0.999_999), 66);
        assert_eq!(retry_delay_seconds(30, 1.0), 3960);
        assert_eq!(retry_delay_seconds(0, 0.5), 60);
    }
}
