//! Order import: history that will never arrive as webhooks (a winery moving from another
//! system), from a CSV file with the columns `order_id, customer_email, first_name, last_name,
//! placed_at, subtotal, discount, tax, shipping, total, status` (amounts in decimal dollars,
//! `placed_at` in RFC 3339).
//!
//! The file is validated whole first: every bad row is reported with its line number and reason,
//! and nothing is written unless every row is valid. Valid rows are then replayed through the same
//! engine as webhooks ([`crate::orders::process_in`]) in `placed_at` order. A dry run does exactly
//! that inside a transaction it rolls back, so its summary is what the import would do.

use crate::db::audit::Actor;
use crate::db::customers::CustomerRef;
use crate::db::orders::OrderEvent;
use crate::orders::{ClubChange, ClubClient, OrderOutcome, process_in};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use domain::EmailAddress;
use domain::Money;
pub use domain::imports::ImportSummary;
use domain::orders::{OrderAmounts, OrderStatus};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

/// The columns a file must have (in any order).
pub const COLUMNS: [&str; 11] = [
    "order_id",
    "customer_email",
    "first_name",
    "last_name",
    "placed_at",
    "subtotal",
    "discount",
    "tax",
    "shipping",
    "total",
    "status",
];
/// The largest file accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// The most rows accepted in one file.
pub const MAX_ROWS: usize = 200_000;
/// At most this many problems are listed (the count says how many there were).
pub const MAX_REPORTED: usize = 100;

/// One valid row, ready for the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    pub line: usize,
    pub order_id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub placed_at: DateTime<Utc>,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub shipping: i64,
    pub total: i64,
    pub status: OrderStatus,
}

/// A refused row: its line in the file (the header is line 1) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    pub line: usize,
    pub message: String,
}

/// Why a file was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProblems {
    /// The first [`MAX_REPORTED`] problems, in line order.
    pub problems: Vec<RowProblem>,
    /// How many problems there were in all.
    pub total: usize,
}

impl FileProblems {
    fn one(line: usize, message: impl Into<String>) -> Self {
        Self {
            problems: vec![RowProblem {
                line,
                message: message.into(),
            }],
            total: 1,
        }
    }

    /// The report as text, one problem per line.
    pub fn to_text(&self) -> String {
        let mut lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| match p.line {
                0 => format!("the file {}", p.message),
                line => format!("line {line}: {}", p.message),
            })
            .collect();
        if self.total > self.problems.len() {
            lines.push(format!(
                "… and {} more problems",
                self.total - self.problems.len()
            ));
        }
        lines.join("\n")
    }
}

/// Parses and validates a whole file.
///
/// # Errors
/// Every problem found (up to [`MAX_REPORTED`] listed), with line numbers; no rows are returned
/// unless all are valid.
pub fn parse(bytes: &[u8]) -> Result<Vec<ImportRow>, FileProblems> {
    if bytes.len() > MAX_BYTES {
        return Err(FileProblems::one(
            0,
            format!(
                "is {} MB; the limit is {} MB",
                bytes.len() / (1024 * 1024),
                MAX_BYTES / (1024 * 1024)
            ),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h
            .iter()
            .map(|c| c.trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect(),
        Err(_) => return Err(FileProblems::one(1, "the file is not CSV text (UTF-8)")),
    };
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        return Err(FileProblems::one(
            1,
            format!(
                "the header lacks the column{} {}; a file needs: {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                COLUMNS.join(", ")
            ),
        ));
    }
    let index: HashMap<&str, usize> = COLUMNS
        .iter()
        .map(|c| (*c, header.iter().position(|h| h == c).unwrap_or(0)))
        .collect();

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut total = 0usize;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut report = |problems: &mut Vec<RowProblem>, line: usize, message: String| {
        total += 1;
        if problems.len() < MAX_REPORTED {
            problems.push(RowProblem { line, message });
        }
    };
    for (n, record) in reader.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(n + 2, |p| usize::try_from(p.line()).unwrap_or(n + 2));
        if n >= MAX_ROWS {
            report(
                &mut problems,
                line,
                format!("the file has more than {MAX_ROWS} rows; split it"),
            );
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let reason = if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    "is not UTF-8 text".to_owned()
                } else {
                    format!("is not valid CSV ({e})")
                };
                report(&mut problems, line, format!("the row {reason}"));
                continue;
            }
        };
        if record.len() != header.len() {
            report(
                &mut problems,
                line,
                format!(
                    "has {} fields; the header has {}",
                    record.len(),
                    header.len()
                ),
            );
            continue;
        }
        let field = |name: &str| record.get(index[name]).unwrap_or("");
        match parse_row(line, &field) {
            Ok(row) => {
                if let Some(first) = seen.get(&row.order_id) {
                    report(
                        &mut problems,
                        line,
                        format!(
                            "order_id {:?} already appears on line {first}",
                            row.order_id
                        ),
                    );
                } else {
                    seen.insert(row.order_id.clone(), line);
                    rows.push(row);
                }
            }
            Err(messages) => {
                for m in messages {
                    report(&mut problems, line, m);
                }
            }
        }
    }
    if total > 0 {
        return Err(FileProblems { problems, total });
    }
    if rows.is_empty() {
        return Err(FileProblems::one(2, "the file has a header but no orders"));
    }
    rows.sort_by(|a, b| a.placed_at.cmp(&b.placed_at).then(a.line.cmp(&b.line)));
    Ok(rows)
}

fn parse_row<'a>(line: usize, field: &impl Fn(&str) -> &'a str) -> Result<ImportRow, Vec<String>> {
    let mut errors = Vec::new();
    let order_id = field("order_id").to_owned();
    if order_id.is_empty() {
        errors.push("order_id is empty".to_owned());
    } else if order_id.chars().count() > 255 {
        errors.push("order_id is longer than 255 characters".to_owned());
    }
    let email = EmailAddress::parse(field("customer_email"))
        .map_err(|e| errors.push(format!("customer_email {e}")))
        .ok();
    let name = |column: &str, errors: &mut Vec<String>| {
        domain::text::optional(field(column), 255, false)
            .map_err(|e| errors.push(format!("{column} {e}")))
            .ok()
            .flatten()
    };
    let first_name = name("first_name", &mut errors);
    let last_name = name("last_name", &mut errors);
    let placed_at = DateTime::parse_from_rfc3339(field("placed_at"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            errors.push(format!(
                "placed_at {:?} is not an RFC 3339 time such as 2026-01-31T18:30:00-08:00",
                field("placed_at")
            ))
        })
        .ok();
    let mut amount = |column: &str| match Money::parse(field(column)) {
        Ok(m) => m.cents(),
        Err(e) => {
            errors.push(format!("{column} {:?} {e}", field(column)));
            0
        }
    };
    let (subtotal, discount, tax, shipping, total) = (
        amount("subtotal"),
        amount("discount"),
        amount("tax"),
        amount("shipping"),
        amount("total"),
    );
    let status = OrderStatus::parse(field("status"))
        .ok_or_else(|| {
            errors.push(format!(
                "status {:?} is not one of paid, pending, refunded, partially_refunded, cancelled",
                field("status")
            ))
        })
        .ok();
    match (errors.is_empty(), email, placed_at, status) {
        (true, Some(email), Some(placed_at), Some(status)) => Ok(ImportRow {
            line,
            order_id,
            email: email.as_str().to_owned(),
            first_name,
            last_name,
            placed_at,
            subtotal,
            discount,
            tax,
            shipping,
            total,
            status,
        }),
        _ => Err(errors),
    }
}

impl ImportRow {
    fn event(&self) -> Result<OrderEvent> {
        let email = EmailAddress::parse(&self.email).map_err(|e| {
            Error::invalid("file", format!("line {}: customer_email {e}", self.line))
        })?;
        Ok(OrderEvent {
            crm_id: self.order_id.clone(),
            customer: Some(CustomerRef {
                crm_id: None,
                email,
                first_name: self.first_name.clone(),
                last_name: self.last_name.clone(),
                phone: None,
            }),
            placed_at: self.placed_at,
            status: self.status,
            amounts: OrderAmounts {
                subtotal: Money::from_cents(self.subtotal),
                discount: Money::from_cents(self.discount),
                tax: Money::from_cents(self.tax),
                shipping: Money::from_cents(self.shipping),
                total: Money::from_cents(self.total),
            },
            refunded: if self.status == OrderStatus::Refunded {
                Money::from_cents(self.total)
            } else {
                Money::ZERO
            },
            source: "import",
        })
    }
}

/// Replays rows through the engine inside `conn`'s transaction, then expires what is past due at
/// `now`. `progress` is told how many rows are done.
pub async fn replay(
    conn: &mut PgConnection,
    client: &ClubClient,
    rows: &[ImportRow],
    actor: &Actor,
    now: DateTime<Utc>,
    summary: &mut ImportSummary,
) -> Result<()> {
    for row in rows {
        let event = row.event()?;
        let Some(who) = event.customer.as_ref() else {
            continue;
        };
        summary.orders += 1;
        match process_in(conn, client, &event, who, actor, now).await? {
            OrderOutcome::Counted {
                change,
                expired_stale,
                ..
            } => {
                summary.counted += 1;
                summary.expiries += i64::from(expired_stale);
                match change {
                    ClubChange::None => {}
                    ClubChange::Enrolled { .. } => summary.enrollments += 1,
                    ClubChange::Renewed { .. } => summary.renewals += 1,
                    ClubChange::Upgraded { .. } => summary.upgrades += 1,
                }
            }
            OrderOutcome::Duplicate { .. } => summary.duplicates += 1,
            OrderOutcome::Recorded { .. } | OrderOutcome::Ignored { .. } => {
                summary.not_counted += 1
            }
            OrderOutcome::Reversed { enrollments, .. } => summary.flagged += enrollments.len(),
        }
    }
    Ok(())
}

/// Expires, at the end of an import, every membership the imported history leaves past its
/// expiry (what the next daily job would do).
pub async fn finish(
    conn: &mut PgConnection,
    client: &ClubClient,
    now: DateTime<Utc>,
    summary: &mut ImportSummary,
) -> Result<()> {
    summary.expiries += crate::jobs::expire_memberships::expire_in(conn, client.id, now, "import")
        .await?
        .expired;
    // History changed every day it covers: rebuild the dashboard's rollups in full.
    crate::analytics::refresh_in(conn, client.id, client.zone, now, true).await?;
    Ok(())
}

/// Imports validated rows: a dry run (`commit = false`) rolls everything back and only reports.
///
/// # Errors
/// Database failures; the whole import is then rolled back.
pub async fn run(
    pool: &PgPool,
    client: &ClubClient,
    rows: &[ImportRow],
    actor: &Actor,
    now: DateTime<Utc>,
    commit: bool,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let mut tx = crate::db::begin_scoped(pool, client.id).await?;
    replay(&mut tx, client, rows, actor, now, &mut summary).await?;
    finish(&mut tx, client, now, &mut summary).await?;
    if commit {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "order_id,customer_email,first_name,last_name,placed_at,subtotal,discount,tax,shipping,total,status\n";

    #[test]
    fn a_valid_file_parses_sorted_by_placement() {
        let file = format!(
            "{HEADER}B-2,ann@example.com,Ann,Lee,2026-02-01T12:00:00Z,180,0,14.40,0,194.40,paid\n\
             B-1,ANN@example.com,Ann,Lee,2026-01-01T12:00:00-08:00,90.00,0,7.20,15,112.20,Paid\n"
        );
        let rows = parse(file.as_bytes()).expect("valid");
        assert_eq!(
            rows.iter().map(|r| r.order_id.as_str()).collect::<Vec<_>>(),
            ["B-1", "B-2"]
        );
        assert_eq!(rows[0].email, "ann@example.com");
        assert_eq!(rows[0].subtotal, 9_000);
        assert_eq!(rows[0].line, 3);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_reason() {
        let file = format!(
            "{HEADER}A1,ann@example.com,Ann,Lee,2026-01-01T12:00:00Z,90,0,0,0,90,paid\n\
             A2,not-an-email,Bo,Wu,yesterday,-5,0,0,0,90,paid\n\
             A1,cy@example.com,Cy,Ng,2026-01-02T12:00:00Z,90,0,0,0,90,paid\n\
             A4,di@example.com,Di,Ox,2026-01-02T12:00:00Z,90,0,0,0,90,lost\n"
        );
        let problems = parse(file.as_bytes()).expect_err("invalid");
        let text = problems.to_text();
        assert!(
            text.contains("line 3: customer_email is not valid"),
            "{text}"
        );
        assert!(
            text.contains("line 3: placed_at \"yesterday\" is not an RFC 3339 time"),
            "{text}"
        );
        assert!(
            text.contains("line 3: subtotal \"-5\" must not be negative"),
            "{text}"
        );
        assert!(
            text.contains("line 4: order_id \"A1\" already appears on line 2"),
            "{text}"
        );
        assert!(text.contains("line 5: status \"lost\""), "{text}");
        assert_eq!(problems.total, 5);
    }

    #[test]
    fn a_missing_column_is_named() {
        let problems =
            parse(b"order_id,customer_email,placed_at\nA,a@example.com,2026-01-01T00:00:00Z\n")
                .expect_err("invalid");
        assert_eq!(problems.problems[0].line, 1);
        assert!(
            problems.problems[0]
                .message
                .contains("first_name, last_name, subtotal"),
            "{}",
            problems.to_text()
        );
    }

    #[test]
    fn junk_is_refused_at_the_header_without_reading_on() {
        let junk: Vec<u8> = (0..5_000_000u32)
            .map(|i| u8::try_from(i % 251).unwrap_or(0))
            .collect();
        let problems = parse(&junk).expect_err("junk");
        assert_eq!(problems.problems.len(), 1);
        assert_eq!(problems.problems[0].line, 1);
    }

    #[test]
    fn an_oversized_file_is_refused_by_size() {
        let big = vec![b'a'; MAX_BYTES + 1];
        let problems = parse(&big).expect_err("too big");
        assert!(problems.problems[0].message.contains("the limit is 20 MB"));
        assert_eq!(problems.to_text(), "the file is 20 MB; the limit is 20 MB");
    }

    #[test]
    fn a_header_without_rows_is_refused() {
        assert!(parse(HEADER.as_bytes()).is_err());
    }

    #[test]
    fn problems_beyond_the_limit_are_counted_not_listed() {
        let mut file = HEADER.to_owned();
        for n in 0..(MAX_REPORTED + 20) {
            file.push_str(&format!("X{n},bad,,,,1,0,0,0,1,paid\n"));
        }
        let problems = parse(file.as_bytes()).expect_err("invalid");
        assert_eq!(problems.problems.len(), MAX_REPORTED);
        assert!(problems.total > MAX_REPORTED);
        assert!(problems.to_text().ends_with("more problems"));
    }
}

/// The rows of a stored run (they were validated on upload).
fn stored_rows(value: serde_json::Value) -> Result<Vec<ImportRow>> {
    serde_json::from_value(value)
        .map_err(|e| anyhow::anyhow!("stored import rows do not parse: {e}").into())
}

fn view(run: crate::db::imports::ImportRun) -> domain::imports::ImportRunView {
    let summary = |v: Option<serde_json::Value>| v.and_then(|v| serde_json::from_value(v).ok());
    domain::imports::ImportRunView {
        id: run.id,
        file_name: run.file_name,
        row_count: run.row_count,
        processed_rows: run.processed_rows,
        status: domain::imports::ImportStatus::parse(&run.status),
        preview: summary(run.preview),
        result: summary(run.result),
        error: run.error_message,
    }
}

/// The job payload of an import step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportJob {
    pub run_id: uuid::Uuid,
    /// `preview` (the dry run) or `commit`.
    pub mode: String,
    pub admin_id: Option<uuid::Uuid>,
    pub admin_email: String,
}

/// Validates an uploaded file; if every row is valid, stores it and queues its dry run. Returns
/// the run's id.
///
/// # Errors
/// [`Error::Invalid`] (field `file`) listing every bad row with its line and reason; nothing is
/// stored then. A viewer is refused.
pub async fn start(
    pool: &PgPool,
    admin: &crate::auth::Admin,
    file_name: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<uuid::Uuid> {
    admin.require_editor()?;
    let rows = parse(bytes).map_err(|p| {
        Error::invalid(
            "file",
            format!(
                "The file has {} problem(s); nothing was imported.\n{}",
                p.total,
                p.to_text()
            ),
        )
    })?;
    let file_name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let file_name = if file_name.trim().is_empty() {
        "orders.csv".to_owned()
    } else {
        file_name
    };
    let count = i32::try_from(rows.len()).map_err(|_| anyhow::anyhow!("too many rows"))?;
    let value = serde_json::to_value(&rows).map_err(|e| anyhow::anyhow!("encoding rows: {e}"))?;
    let mut tx = crate::db::begin_scoped(pool, admin.client_id).await?;
    let id = crate::db::imports::insert(
        &mut tx,
        admin.client_id,
        Some(admin.user_id),
        &file_name,
        &value,
        count,
    )
    .await?;
    let payload = ImportJob {
        run_id: id,
        mode: "preview".to_owned(),
        admin_id: Some(admin.user_id.as_uuid()),
        admin_email: admin.email.clone(),
    };
    crate::db::jobs::enqueue(
        &mut tx,
        crate::jobs::IMPORT_ORDERS,
        Some(admin.client_id),
        &serde_json::to_value(&payload).unwrap_or_default(),
        now,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// An import's state.
///
/// # Errors
/// An unknown run (including another winery's).
pub async fn status(
    pool: &PgPool,
    admin: &crate::auth::Admin,
    id: uuid::Uuid,
) -> Result<domain::imports::ImportRunView> {
    let mut tx = crate::db::begin_scoped(pool, admin.client_id).await?;
    let run = crate::db::imports::find(&mut tx, admin.client_id, id)
        .await?
        .ok_or(Error::NotFound { what: "import" })?;
    tx.commit().await?;
    Ok(view(run))
}

/// Confirms a previewed import: it runs in the background, with progress.
///
/// # Errors
/// An unknown run, one not waiting for confirmation (already imported, still checking), or a viewer.
pub async fn commit(
    pool: &PgPool,
    admin: &crate::auth::Admin,
    id: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    admin.require_editor()?;
    let mut tx = crate::db::begin_scoped(pool, admin.client_id).await?;
    let run = crate::db::imports::find(&mut tx, admin.client_id, id)
        .await?
        .ok_or(Error::NotFound { what: "import" })?;
    if !crate::db::imports::transition(&mut tx, admin.client_id, id, "previewed", "importing")
        .await?
    {
        return Err(Error::Conflict(format!(
            "This import cannot be started now: it is {}. Nothing was changed.",
            run.status
        )));
    }
    let payload = ImportJob {
        run_id: id,
        mode: "commit".to_owned(),
        admin_id: Some(admin.user_id.as_uuid()),
        admin_email: admin.email.clone(),
    };
    crate::db::jobs::enqueue(
        &mut tx,
        crate::jobs::IMPORT_ORDERS,
        Some(admin.client_id),
        &serde_json::to_value(&payload).unwrap_or_default(),
        now,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Rows per transaction while importing; progress is reported after each.
pub const CHUNK: usize = 250;

/// The background step: a dry run, or the import itself in chunks with progress.
///
/// # Errors
/// Database failures; the run is then marked failed with the message.
pub async fn execute(
    pool: &PgPool,
    client: domain::ids::ClientId,
    job: &ImportJob,
    now: DateTime<Utc>,
) -> Result<String> {
    let club = ClubClient::load(pool, client).await?;
    let actor = match job.admin_id {
        Some(id) => Actor::Admin {
            id: domain::ids::AdminUserId::new(id),
            email: job.admin_email.clone(),
        },
        None => Actor::System {
            job: crate::jobs::IMPORT_ORDERS.to_owned(),
        },
    };
    let mut tx = crate::db::begin_scoped(pool, client).await?;
    let run = crate::db::imports::find(&mut tx, client, job.run_id)
        .await?
        .ok_or(Error::NotFound { what: "import" })?;
    let rows = stored_rows(crate::db::imports::rows(&mut tx, client, job.run_id).await?)?;
    tx.commit().await?;
    match (job.mode.as_str(), run.status.as_str()) {
        ("preview", "previewing") => {
            let summary = run_dry(pool, &club, &rows, &actor, now).await?;
            let mut tx = crate::db::begin_scoped(pool, client).await?;
            crate::db::imports::set_preview(
                &mut tx,
                client,
                job.run_id,
                &serde_json::to_value(&summary).unwrap_or_default(),
            )
            .await?;
            tx.commit().await?;
            Ok(format!(
                "dry run of {}: {}",
                run.file_name,
                summary.to_text()
            ))
        }
        ("commit", "importing") => {
            match import_in_chunks(pool, &club, &rows, &actor, now, job.run_id).await {
                Ok(summary) => Ok(format!("imported {}: {}", run.file_name, summary.to_text())),
                Err(e) => {
                    let mut tx = crate::db::begin_scoped(pool, client).await?;
                    crate::db::imports::finish(&mut tx, client, job.run_id, None, Some("The import stopped on a database error; the orders imported so far are kept, and importing the same file again completes it.")).await?;
                    tx.commit().await?;
                    Err(e)
                }
            }
        }
        (mode, status) => Ok(format!(
            "nothing to do: a {mode} step for an import that is {status}"
        )),
    }
}

async fn run_dry(
    pool: &PgPool,
    club: &ClubClient,
    rows: &[ImportRow],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ImportSummary> {
    run(pool, club, rows, actor, now, false).await
}

async fn import_in_chunks(
    pool: &PgPool,
    club: &ClubClient,
    rows: &[ImportRow],
    actor: &Actor,
    now: DateTime<Utc>,
    id: uuid::Uuid,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let mut done = 0usize;
    for chunk in rows.chunks(CHUNK) {
        let mut tx = crate::db::begin_scoped(pool, club.id).await?;
        replay(&mut tx, club, chunk, actor, now, &mut summary).await?;
        done += chunk.len();
        crate::db::imports::set_progress(
            &mut tx,
            club.id,
            id,
            i32::try_from(done).unwrap_or(i32::MAX),
        )
        .await?;
        tx.commit().await?;
    }
    let mut tx = crate::db::begin_scoped(pool, club.id).await?;
    finish(&mut tx, club, now, &mut summary).await?;
    crate::db::imports::finish(
        &mut tx,
        club.id,
        id,
        Some(&serde_json::to_value(&summary).unwrap_or_default()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(summary)
}
