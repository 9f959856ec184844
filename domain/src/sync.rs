//! The CRM sync queue as the admin sees it: each eligibility operation waiting for, or sent to,
//! the CRM (decisions D21, D22). Wire types, shared by server and browser.

use serde::{Deserialize, Serialize};

/// One queued operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncItemView {
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
