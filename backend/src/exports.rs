//! CSV exports of the member list (with its filters) and of the points ledger. Each is written a
//! page at a time into a bounded channel that the HTTP response drains, so memory stays flat
//! however many rows there are: the member list walks the same keyset pages the admin sees
//! (larger ones), and the ledger pages by its sequence.

use crate::Result;
use crate::auth::Admin;
use crate::db;
use chrono::{DateTime, Utc};
use domain::members::MemberFilter;
use sqlx::PgPool;
use tokio::sync::mpsc::Sender;

/// Rows fetched per page.
pub const EXPORT_PAGE: i64 = 2_000;
/// Bytes gathered before a chunk is handed to the response.
const CHUNK: usize = 64 * 1024;

/// One CSV field: quoted when it holds a comma, quote or line break; text that a spreadsheet
/// would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed
/// with an apostrophe.
pub fn field(raw: &str) -> String {
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// `2026-12-01 13:05` on the winery's clock (spreadsheets read it as a date and time).
fn iso_local(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

/// Writes lines into chunks and sends them; `false` once the reader has gone away.
struct Writer {
    out: Sender<std::result::Result<Vec<u8>, std::io::Error>>,
    buffer: Vec<u8>,
}

impl Writer {
    fn new(out: Sender<std::result::Result<Vec<u8>, std::io::Error>>) -> Self {
        Self {
            out,
            buffer: Vec::with_capacity(CHUNK + 1024),
        }
    }

    async fn line(&mut self, cells: &[String]) -> bool {
        self.buffer.extend_from_slice(cells.join(",").as_bytes());
        self.buffer.extend_from_slice(b"\r\n");
        if self.buffer.len() >= CHUNK {
            return self.flush().await;
        }
        true
    }

    async fn flush(&mut self) -> bool {
        if self.buffer.is_empty() {
            return true;
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK + 1024));
        self.out.send(Ok(chunk)).await.is_ok()
    }

    async fn fail(self, error: &crate::Error) {
        tracing::error!(error = ?error, "a CSV export stopped on an error");
        let _ = self
            .out
            .send(Err(std::io::Error::other("the export stopped")))
            .await;
    }
}

/// Streams the member list matching `filter` as CSV into `out`; returns the rows written.
pub async fn members(
    pool: PgPool,
    admin: Admin,
    mut filter: MemberFilter,
    now: DateTime<Utc>,
    out: Sender<std::result::Result<Vec<u8>, std::io::Error>>,
) -> u64 {
    let mut writer = Writer::new(out);
    let header = [
        "email",
        "name",
        "stage",
        "expires",
        "flagged",
        "membership_days",
    ];
    if !writer.line(&header.map(str::to_owned)).await {
        return 0;
    }
    let zone = admin.zone();
    let mut written = 0;
    filter.after = None;
    loop {
        let page = match crate::members::list_page(&pool, &admin, &filter, now, EXPORT_PAGE).await {
            Ok(page) => page,
            Err(e) => {
                writer.fail(&e).await;
                return written;
            }
        };
        for row in &page.rows {
            let cells = [
                field(&row.email),
                field(&row.name),
                field(row.stage.as_deref().unwrap_or("")),
                row.expires_at
                    .map_or_else(String::new, |t| iso_local(t, zone)),
                if row.flagged { "yes" } else { "no" }.to_owned(),
                row.cumulative_days.to_string(),
            ];
            if !writer.line(&cells).await {
                return written;
            }
            written += 1;
        }
        match page.next {
            Some(after) => filter.after = Some(after),
            None => break,
        }
    }
    writer.flush().await;
    written
}

/// Streams the winery's whole points ledger as CSV into `out`, oldest first; returns the rows
/// written.
pub async fn ledger(
    pool: PgPool,
    admin: Admin,
    out: Sender<std::result::Result<Vec<u8>, std::io::Error>>,
) -> u64 {
    let mut writer = Writer::new(out);
    let header = [
        "date",
        "email",
        "type",
        "points",
        "balance_after",
        "order",
        "description",
        "by",
    ];
    if !writer.line(&header.map(str::to_owned)).await {
        return 0;
    }
    let zone = admin.zone();
    let mut written = 0;
    let mut after = 0_i64;
    loop {
        let page = match ledger_page(&pool, &admin, after).await {
            Ok(page) => page,
            Err(e) => {
                writer.fail(&e).await;
                return written;
            }
        };
        let Some(last) = page.last() else { break };
        after = last.sequence;
        for r in &page {
            let cells = [
                iso_local(r.transaction_date, zone),
                field(&r.email),
                r.transaction_type.clone(),
                r.points.to_string(),
                r.balance_after.to_string(),
                field(r.order_crm_id.as_deref().unwrap_or("")),
                field(r.description.as_deref().unwrap_or("")),
                r.created_by.clone(),
            ];
            if !writer.line(&cells).await {
                return written;
            }
            written += 1;
        }
    }
    writer.flush().await;
    written
}

struct LedgerRow {
    sequence: i64,
    transaction_date: DateTime<Utc>,
    email: String,
    transaction_type: String,
    points: i32,
    balance_after: i32,
    order_crm_id: Option<String>,
    description: Option<String>,
    created_by: String,
}

async fn ledger_page(pool: &PgPool, admin: &Admin, after: i64) -> Result<Vec<LedgerRow>> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let rows = sqlx::query_as!(
        LedgerRow,
        r#"select p.sequence, p.transaction_date, c.email, p.transaction_type, p.points, p.balance_after,
                  o.crm_id as "order_crm_id?", p.description, p.created_by
           from point_transactions p
           join customers c on c.client_id = p.client_id and c.id = p.customer_id
           left join orders o on o.client_id = p.client_id and o.id = p.order_id
           where p.client_id = $1 and p.sequence > $2
           order by p.sequence
           limit $3"#,
        admin.client_id.as_uuid(),
        after,
        EXPORT_PAGE
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_when_needed_and_formulas_are_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("Smith, Jo"), "\"Smith, Jo\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1 555"), "'+1 555");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
