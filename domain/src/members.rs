//! What the admin sees of members: list rows, filters, the timeline of one member, and the
//! previews shown before a manual change is committed. Wire types, shared by server and browser.

use crate::ids::{CustomerId, EnrollmentId, StageId};
use crate::money::Money;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Largest page of the member list.
pub const PAGE_SIZE: i64 = 50;

/// Which members the list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberStatus {
    /// Everyone.
    #[default]
    Any,
    /// Holding an active enrollment.
    Active,
    /// Not a member now (never joined, or lapsed).
    NotMember,
    /// An active enrollment flagged for review (decisions D4).
    Flagged,
}

impl MemberStatus {
    /// Reads the filter from a query parameter.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "" | "any" => Some(Self::Any),
            "active" => Some(Self::Active),
            "not_member" => Some(Self::NotMember),
            "flagged" => Some(Self::Flagged),
            _ => None,
        }
    }

    /// The query parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Active => "active",
            Self::NotMember => "not_member",
            Self::Flagged => "flagged",
        }
    }
}

/// A club movement the member list can filter by, within a period (the dashboard's links).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberEvent {
    Joined,
    Renewed,
    Upgraded,
    Expired,
}

impl MemberEvent {
    /// Reads the filter from a query parameter.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "joined" => Some(Self::Joined),
            "renewed" => Some(Self::Renewed),
            "upgraded" => Some(Self::Upgraded),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }

    /// The query parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Joined => "joined",
            Self::Renewed => "renewed",
            Self::Upgraded => "upgraded",
            Self::Expired => "expired",
        }
    }
}

/// The member list's filters, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFilter {
    /// Part of a name or e-mail address (at least 2 characters), case-insensitive.
    pub search: Option<String>,
    pub stage: Option<StageId>,
    pub status: MemberStatus,
    /// Active members whose membership ends within this many days.
    pub expires_within_days: Option<u32>,
    /// Members with this movement between these local dates (both included); the other
    /// filters are then ignored.
    pub event: Option<(MemberEvent, chrono::NaiveDate, chrono::NaiveDate)>,
    /// Keyset cursor: the e-mail address of the last row of the previous page.
    pub after: Option<String>,
}

/// One row of the member list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub id: CustomerId,
    pub email: String,
    pub name: String,
    pub stage: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `expires_at` in the winery's time zone, as shown.
    pub expires_label: Option<String>,
    pub flagged: bool,
    pub cumulative_days: i32,
}

/// A page of the member list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPage {
    pub rows: Vec<MemberSummary>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
    pub stages: Vec<(StageId, String)>,
}

/// What happened, for the member timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimelineKind {
    Order {
        crm_id: String,
        qualifying: Option<Money>,
        total: Money,
        status: String,
    },
    Enrolled {
        stage: String,
        expires_label: String,
    },
    Renewed {
        stage: String,
        expires_label: String,
    },
    Upgraded {
        from: String,
        to: String,
        expires_label: String,
    },
    Ended {
        stage: String,
        status: String,
        reason: Option<String>,
    },
    Flagged {
        stage: String,
        reason: Option<String>,
    },
    Audit {
        action: String,
        actor: String,
        reason: Option<String>,
    },
}

/// One event of a member's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub at: DateTime<Utc>,
    /// `at` in the winery's time zone, as shown.
    pub at_label: String,
    pub kind: TimelineKind,
}

/// An enrollment as the member page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentView {
    pub id: EnrollmentId,
    pub stage: String,
    pub status: String,
    pub enrolled_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub enrolled_label: String,
    pub expires_label: String,
    pub flag_reason: Option<String>,
}

/// One member in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDetail {
    pub id: CustomerId,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub active: Option<EnrollmentView>,
    pub cumulative_days: i32,
    /// Newest first.
    pub timeline: Vec<TimelineEvent>,
    /// Stages a manual enrollment may use (active ones).
    pub stages: Vec<(StageId, String)>,
    pub time_zone: String,
    pub currency: String,
}

/// What a manual change will do, shown before it is committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePreview {
    pub customer: String,
    pub stage: String,
    /// For an enrollment: the new dates. For a revoke or expiry: when it ends (now).
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    /// For a revoke or expiry: the expiry the membership had.
    pub was_expiring_at: Option<DateTime<Utc>>,
    /// The same three instants in the winery's time zone, as shown.
    pub starts_label: Option<String>,
    pub ends_label: String,
    pub was_expiring_label: Option<String>,
}
