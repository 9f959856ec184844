//! The messaging admin's wire types, shared by the server and the browser: the outbox and log,
//! one message with its delivery events, and the choices of the template editor's preview.

use serde::{Deserialize, Serialize};

/// Every status a message can have, in the order it moves through them.
pub const STATUSES: [&str; 8] = [
    "queued",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "failed",
    "skipped",
];

/// Rows per outbox page.
pub const OUTBOX_PAGE: i64 = 100;

/// The outbox's filters (empty means any).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxFilter {
    pub kind: String,
    pub status: String,
    /// The start of the member's name or e-mail address.
    pub member: String,
}

/// One message in the outbox or log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: uuid::Uuid,
    pub created_label: String,
    pub kind: String,
    pub channel: String,
    pub provider: String,
    pub status: String,
    pub to: String,
    pub member: String,
    pub subject: String,
    pub error: Option<String>,
}

/// A page of the outbox, with counts by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxView {
    pub rows: Vec<OutboxRow>,
    /// `(status, count)` for every status present.
    pub counts: Vec<(String, i64)>,
}

/// One delivery event reported by the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub status: String,
    pub at_label: String,
    pub detail: Option<String>,
}

/// One message in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub row: OutboxRow,
    pub html: Option<String>,
    pub text: String,
    pub provider_message_id: Option<String>,
    pub attempts: i32,
    pub sent_label: Option<String>,
    pub events: Vec<DeliveryView>,
}

/// A member the preview can be rendered as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewMember {
    pub id: uuid::Uuid,
    pub label: String,
}
