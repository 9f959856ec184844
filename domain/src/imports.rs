//! Order imports as the admin follows them: the dry-run summary, then the import's progress and
//! result. Wire types, shared by server and browser.

use serde::{Deserialize, Serialize};

/// What an import did, or (dry run) would do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub orders: usize,
    pub counted: usize,
    /// Already imported or received before: left as they were.
    pub duplicates: usize,
    /// Pending, refunded or cancelled: stored, not counted.
    pub not_counted: usize,
    pub enrollments: usize,
    pub renewals: usize,
    pub upgrades: usize,
    /// Memberships that ran out during the replay, or are past their expiry at the end.
    pub expiries: i64,
    pub flagged: usize,
}

impl ImportSummary {
    /// The summary in a sentence.
    pub fn to_text(&self) -> String {
        format!(
            "{} orders ({} counted, {} already known, {} not counted): {} enrollments, {} renewals, {} upgrades, {} expiries, {} flagged for review",
            self.orders,
            self.counted,
            self.duplicates,
            self.not_counted,
            self.enrollments,
            self.renewals,
            self.upgrades,
            self.expiries,
            self.flagged
        )
    }
}

/// Where an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportStatus {
    /// The dry run is running.
    Previewing,
    /// The dry run is done; waiting for the admin to confirm.
    Previewed,
    Importing,
    Completed,
    Failed,
}

impl ImportStatus {
    /// Reads `import_runs.status`.
    pub fn parse(raw: &str) -> Self {
        match raw {
            "previewing" => Self::Previewing,
            "previewed" => Self::Previewed,
            "importing" => Self::Importing,
            "completed" => Self::Completed,
            _ => Self::Failed,
        }
    }

    /// Whether the page should keep checking for news.
    pub fn is_working(self) -> bool {
        matches!(self, Self::Previewing | Self::Importing)
    }
}

/// One import, as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRunView {
    pub id: uuid::Uuid,
    pub file_name: String,
    pub row_count: i32,
    pub processed_rows: i32,
    pub status: ImportStatus,
    pub preview: Option<ImportSummary>,
    pub result: Option<ImportSummary>,
    pub error: Option<String>,
}

impl ImportRunView {
    /// Progress of the import in whole percent.
    pub fn percent(&self) -> i32 {
        if self.row_count == 0 {
            100
        } else {
            self.processed_rows * 100 / self.row_count
        }
    }
}
