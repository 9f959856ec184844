//! Members as the admin works with them: the list (search, filters, keyset pagination), one
//! member's timeline, and the manual changes — enroll, revoke, expire — each previewed with its
//! resulting dates before it is committed, and each audited with its reason.

use crate::auth::Admin;
use crate::db::audit::{self, Entry};
use crate::db::crm_queue::{self, CrmOp};
use crate::db::{self, customers, enrollments};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use domain::Money;
use domain::ids::{CustomerId, EnrollmentId, StageId};
use domain::members::{
    ChangePreview, EnrollmentView, MemberDetail, MemberEvent, MemberFilter, MemberPage,
    MemberStatus, MemberSummary, PAGE_SIZE, TimelineEvent, TimelineKind,
};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Above this many movements in the period, the member list walks customers in e-mail order
/// instead of sorting the movements' members.
pub const WALK_ABOVE: i64 = 20_000;

/// Longest reason accepted for a manual change.
pub const MAX_REASON: usize = 500;

struct ListRow {
    id: Uuid,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    cumulative_membership_days: i32,
    stage: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    flagged: Option<bool>,
}

fn label(t: DateTime<Utc>, admin: &Admin) -> String {
    domain::calendar::local_label(t, admin.zone())
}

fn name_of(first: Option<String>, last: Option<String>, email: &str) -> String {
    let name = format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default())
        .trim()
        .to_owned();
    if name.is_empty() {
        email.to_owned()
    } else {
        name
    }
}

async fn stage_names(
    conn: &mut PgConnection,
    admin: &Admin,
    active_only: bool,
) -> Result<Vec<(StageId, String)>> {
    let rows = sqlx::query!(
        "select id, name from club_stages where client_id = $1 and (is_active or not $2) order by stage_order desc",
        admin.client_id.as_uuid(),
        active_only
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (StageId::new(r.id), r.name))
        .collect())
}

/// One page of the member list, ordered by e-mail address.
///
/// # Errors
/// Database failures only.
pub async fn list(
    pool: &PgPool,
    admin: &Admin,
    filter: &MemberFilter,
    now: DateTime<Utc>,
) -> Result<MemberPage> {
    list_page(pool, admin, filter, now, PAGE_SIZE).await
}

/// [`list`] with `size` rows a page: the CSV export walks the same pages, larger.
///
/// # Errors
/// Database failures only.
pub async fn list_page(
    pool: &PgPool,
    admin: &Admin,
    filter: &MemberFilter,
    now: DateTime<Utc>,
    size: i64,
) -> Result<MemberPage> {
    list_page_with(pool, admin, filter, now, size, WALK_ABOVE).await
}

/// [`list_page`], walking customers in e-mail order for a movement filter matching more than
/// `walk_above` rows (the tests force each shape and compare them).
///
/// # Errors
/// Database failures only.
pub async fn list_page_with(
    pool: &PgPool,
    admin: &Admin,
    filter: &MemberFilter,
    now: DateTime<Utc>,
    size: i64,
    walk_above: i64,
) -> Result<MemberPage> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let until = filter
        .expires_within_days
        .map(|d| now + chrono::Duration::days(i64::from(d)));
    // Three shapes, chosen by selectivity, each written so PostgreSQL can use the index that fits
    // under row-level security (only leakproof predicates reach an index there).
    // - A search reads its hits from the three prefix indexes (first name, last name, e-mail),
    //   filters and pages them by e-mail, and joins the rest for the page only.
    // - Selective filters (expiring soon, flagged) start from the few active enrollments that
    //   match, through their own indexes, and sort only those.
    // - Broad lists walk customers in e-mail order and stop after a page.
    let selective = until.is_some() || filter.status == MemberStatus::Flagged;
    let rows = if let Some((event, from, to)) = filter.event {
        // The dashboard's links: members with one movement in a period. A few thousand are read
        // through the indexes on start, extension and end dates and sorted; when they are many,
        // walking customers in e-mail order finds a page sooner than sorting them all.
        let zone = admin.zone();
        let (lo, hi) = (
            crate::analytics::start_of(from, zone),
            crate::analytics::start_of(to + chrono::Duration::days(1), zone),
        );
        let (client, kind) = (admin.client_id.as_uuid(), event.as_str());
        let many = sqlx::query_scalar!(
            r#"select (select count(*) from club_enrollments e
                       where $2 = 'joined' and e.client_id = $1 and e.started_at >= $3 and e.started_at < $4)
                    + (select count(*) from club_extensions x
                       where $2 in ('renewed', 'upgraded') and x.client_id = $1
                         and x.extension_type = (case $2 when 'renewed' then 'renewal' else 'upgrade' end)
                         and x.extended_at >= $3 and x.extended_at < $4)
                    + (select count(*) from club_enrollments e
                       where $2 = 'expired' and e.client_id = $1 and e.status = 'expired'
                         and e.ended_at >= $3 and e.ended_at < $4) as "n!""#,
            client,
            kind,
            lo,
            hi
        )
        .fetch_one(&mut *tx)
        .await?
            > walk_above;
        if many {
            // A lateral probe per customer: an EXISTS here would be planned as one hashed set of
            // every matching member, which is the sort this shape avoids.
            sqlx::query_as!(
                ListRow,
                r#"select c.id, c.email, c.first_name, c.last_name, c.cumulative_membership_days,
                          s.name as "stage?", e.expires_at as "expires_at?", (e.flagged_at is not null) as "flagged?"
                   from customers c
                   cross join lateral (
                       select 1 from club_enrollments j
                       where $2 = 'joined' and j.client_id = c.client_id and j.customer_id = c.id
                         and j.started_at >= $3 and j.started_at < $4
                         and not exists (select 1 from club_extensions u where u.client_id = j.client_id
                                         and u.enrollment_id = j.id and u.extension_type = 'upgrade')
                       union all
                       select 1 from club_enrollments m
                       join club_extensions x on x.client_id = m.client_id and x.enrollment_id = m.id
                       where $2 in ('renewed', 'upgraded') and m.client_id = c.client_id and m.customer_id = c.id
                         and x.extension_type = (case $2 when 'renewed' then 'renewal' else 'upgrade' end)
                         and x.extended_at >= $3 and x.extended_at < $4
                       union all
                       select 1 from club_enrollments x
                       where $2 = 'expired' and x.client_id = c.client_id and x.customer_id = c.id
                         and x.status = 'expired' and x.ended_at >= $3 and x.ended_at < $4
                       limit 1
                   ) as hit
                   left join club_enrollments e on e.client_id = c.client_id and e.customer_id = c.id and e.status = 'active'
                   left join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
                   where c.client_id = $1 and ($5::text is null or c.email > $5)
                   order by c.email
                   limit $6"#,
                client,
                kind,
                lo,
                hi,
                filter.after,
                size + 1
            )
            .fetch_all(&mut *tx)
            .await?
        } else {
            sqlx::query_as!(
                ListRow,
                r#"with hits as (
                       select e.customer_id as id from club_enrollments e
                       where $2 = 'joined' and e.client_id = $1 and e.started_at >= $3 and e.started_at < $4
                         and not exists (select 1 from club_extensions x where x.client_id = e.client_id
                                         and x.enrollment_id = e.id and x.extension_type = 'upgrade')
                       union
                       select e.customer_id from club_extensions x
                       join club_enrollments e on e.client_id = x.client_id and e.id = x.enrollment_id
                       where $2 in ('renewed', 'upgraded') and x.client_id = $1
                         and x.extension_type = (case $2 when 'renewed' then 'renewal' else 'upgrade' end)
                         and x.extended_at >= $3 and x.extended_at < $4
                       union
                       select e.customer_id from club_enrollments e
                       where $2 = 'expired' and e.client_id = $1 and e.status = 'expired'
                         and e.ended_at >= $3 and e.ended_at < $4
                   )
                   select c.id, c.email, c.first_name, c.last_name, c.cumulative_membership_days,
                          s.name as "stage?", e.expires_at as "expires_at?", (e.flagged_at is not null) as "flagged?"
                   from hits h
                   join customers c on c.client_id = $1 and c.id = h.id
                   left join club_enrollments e on e.client_id = c.client_id and e.customer_id = c.id and e.status = 'active'
                   left join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
                   where ($5::text is null or c.email > $5)
                   order by c.email
                   limit $6"#,
                client,
                kind,
                lo,
                hi,
                filter.after,
                size + 1
            )
            .fetch_all(&mut *tx)
            .await?
        }
    } else if let Some(terms) = filter.search.as_deref().map(search_terms) {
        let first = terms.first().cloned().unwrap_or_default();
        let upper = format!("{first}\u{10FFFF}");
        let (second, third) = (terms.get(1).cloned(), terms.get(2).cloned());
        sqlx::query_as!(
            ListRow,
            r#"with hits as materialized (
                   select id, email from customers where client_id = $1 and first_name_key ~>=~ $2 and first_name_key ~<~ $3
                   union
                   select id, email from customers where client_id = $1 and last_name_key ~>=~ $2 and last_name_key ~<~ $3
                   union
                   select id, email from customers where client_id = $1 and email ~>=~ $2 and email ~<~ $3
               ),
               page as (
                   select h.id, h.email from hits h
                   where ($4::text is null or exists (
                             select 1 from customers c where c.client_id = $1 and c.id = h.id
                               and (starts_with(c.first_name_key, $4) or starts_with(c.last_name_key, $4) or starts_with(c.email, $4))))
                     and ($5::text is null or exists (
                             select 1 from customers c where c.client_id = $1 and c.id = h.id
                               and (starts_with(c.first_name_key, $5) or starts_with(c.last_name_key, $5) or starts_with(c.email, $5))))
                     and (($7::text = 'not_member' and not exists (
                              select 1 from club_enrollments e where e.client_id = $1 and e.customer_id = h.id and e.status = 'active'))
                          or ($7 <> 'not_member'
                              and (($6::uuid is null and $7 = 'any' and $8::timestamptz is null)
                                   or exists (
                                       select 1 from club_enrollments e
                                       where e.client_id = $1 and e.customer_id = h.id and e.status = 'active'
                                         and ($6::uuid is null or e.club_stage_id = $6)
                                         and ($7 <> 'flagged' or e.flagged_at is not null)
                                         and ($8::timestamptz is null or (e.expires_at <= $8 and e.expires_at > $9))))))
                     and ($10::text is null or h.email > $10)
                   order by h.email
                   limit $11
               )
               select c.id, c.email, c.first_name, c.last_name, c.cumulative_membership_days,
                      s.name as "stage?", e.expires_at as "expires_at?", (e.flagged_at is not null) as "flagged?"
               from page p
               join customers c on c.client_id = $1 and c.id = p.id
               left join club_enrollments e on e.client_id = c.client_id and e.customer_id = c.id and e.status = 'active'
               left join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
               order by c.email"#,
            admin.client_id.as_uuid(),
            first,
            upper,
            second,
            third,
            filter.stage.map(|s| s.as_uuid()),
            filter.status.as_str(),
            until,
            now,
            filter.after,
            size + 1
        )
        .fetch_all(&mut *tx)
        .await?
    } else if selective {
        sqlx::query_as!(
            ListRow,
            r#"select c.id, c.email, c.first_name, c.last_name, c.cumulative_membership_days,
                      s.name as "stage?", e.expires_at as "expires_at?", (e.flagged_at is not null) as "flagged?"
               from club_enrollments e
               join customers c on c.client_id = e.client_id and c.id = e.customer_id
               join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
               where e.client_id = $1 and e.status = 'active'
                 and ($2::uuid is null or e.club_stage_id = $2)
                 and ($3::text <> 'flagged' or e.flagged_at is not null)
                 and ($4::timestamptz is null or (e.expires_at <= $4 and e.expires_at > $5))
                 and ($6::text is null or c.email > $6)
               order by c.email
               limit $7"#,
            admin.client_id.as_uuid(),
            filter.stage.map(|s| s.as_uuid()),
            filter.status.as_str(),
            until,
            now,
            filter.after,
            size + 1
        )
        .fetch_all(&mut *tx)
        .await?
    } else {
        sqlx::query_as!(
            ListRow,
            r#"select c.id, c.email, c.first_name, c.last_name, c.cumulative_membership_days,
                      s.name as "stage?", e.expires_at as "expires_at?", (e.flagged_at is not null) as "flagged?"
               from customers c
               left join club_enrollments e on e.client_id = c.client_id and e.customer_id = c.id and e.status = 'active'
               left join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
               where c.client_id = $1
                 and ($2::uuid is null or e.club_stage_id = $2)
                 and ($3::text = 'any'
                      or ($3 = 'active' and e.id is not null)
                      or ($3 = 'not_member' and e.id is null))
                 and ($4::text is null or c.email > $4)
               order by c.email
               limit $5"#,
            admin.client_id.as_uuid(),
            filter.stage.map(|s| s.as_uuid()),
            filter.status.as_str(),
            filter.after,
            size + 1
        )
        .fetch_all(&mut *tx)
        .await?
    };
    let stages = stage_names(&mut tx, admin, false).await?;
    tx.commit().await?;
    let size = usize::try_from(size).unwrap_or(50);
    let more = rows.len() > size;
    let mut rows: Vec<MemberSummary> = rows
        .into_iter()
        .map(|r| MemberSummary {
            id: CustomerId::new(r.id),
            name: name_of(r.first_name, r.last_name, &r.email),
            email: r.email,
            stage: r.stage,
            expires_label: r.expires_at.map(|t| label(t, admin)),
            expires_at: r.expires_at,
            flagged: r.flagged.unwrap_or(false),
            cumulative_days: r.cumulative_membership_days,
        })
        .collect();
    rows.truncate(size);
    let next = if more {
        rows.last().map(|r| r.email.clone())
    } else {
        None
    };
    Ok(MemberPage { rows, next, stages })
}

/// One member with their timeline, newest first.
///
/// # Errors
/// An unknown member (including one of another winery).
pub async fn detail(pool: &PgPool, admin: &Admin, id: CustomerId) -> Result<MemberDetail> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let c = sqlx::query!(
        "select email, first_name, last_name, phone, cumulative_membership_days from customers where client_id = $1 and id = $2",
        admin.client_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "member" })?;
    let names = stage_names(&mut tx, admin, false).await?;
    let stage = |id: Uuid| {
        names
            .iter()
            .find(|(s, _)| s.as_uuid() == id)
            .map_or_else(|| "?".to_owned(), |(_, n)| n.clone())
    };

    let mut timeline = Vec::new();
    let orders = sqlx::query!(
        r#"select crm_id, placed_at, qualifying_amount_cents, total_cents, status from orders
           where client_id = $1 and customer_id = $2 order by placed_at desc limit 500"#,
        admin.client_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_all(&mut *tx)
    .await?;
    for o in orders {
        timeline.push(TimelineEvent {
            at: o.placed_at,
            at_label: label(o.placed_at, admin),
            kind: TimelineKind::Order {
                crm_id: o.crm_id,
                qualifying: o.qualifying_amount_cents.map(Money::from_cents),
                total: Money::from_cents(o.total_cents),
                status: o.status.unwrap_or_default(),
            },
        });
    }
    let rows = sqlx::query!(
        r#"select e.id, e.club_stage_id, e.status, e.enrolled_at, e.expires_at, e.ended_at, e.end_reason,
                  e.flagged_at, e.flag_reason, e.created_at,
                  exists (select 1 from club_extensions x where x.client_id = e.client_id and x.enrollment_id = e.id
                          and x.extension_type = 'upgrade') as "by_upgrade!"
           from club_enrollments e where e.client_id = $1 and e.customer_id = $2 order by e.created_at"#,
        admin.client_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut active = None;
    for e in &rows {
        if !e.by_upgrade {
            timeline.push(TimelineEvent {
                at: e.enrolled_at.min(e.created_at),
                at_label: label(e.enrolled_at.min(e.created_at), admin),
                kind: TimelineKind::Enrolled {
                    stage: stage(e.club_stage_id),
                    expires_label: label(e.expires_at, admin),
                },
            });
        }
        if let Some(ended) = e.ended_at.filter(|_| e.status != "upgraded") {
            timeline.push(TimelineEvent {
                at: ended,
                at_label: label(ended, admin),
                kind: TimelineKind::Ended {
                    stage: stage(e.club_stage_id),
                    status: e.status.clone(),
                    reason: e.end_reason.clone(),
                },
            });
        }
        if let Some(flagged) = e.flagged_at {
            timeline.push(TimelineEvent {
                at: flagged,
                at_label: label(flagged, admin),
                kind: TimelineKind::Flagged {
                    stage: stage(e.club_stage_id),
                    reason: e.flag_reason.clone(),
                },
            });
        }
        if e.status == "active" {
            active = Some(EnrollmentView {
                id: EnrollmentId::new(e.id),
                stage: stage(e.club_stage_id),
                status: e.status.clone(),
                enrolled_at: e.enrolled_at,
                expires_at: e.expires_at,
                enrolled_label: label(e.enrolled_at, admin),
                expires_label: label(e.expires_at, admin),
                flag_reason: e.flag_reason.clone(),
            });
        }
    }
    let extensions = sqlx::query!(
        r#"select x.extension_type, x.extended_from_stage_id, x.extended_to_stage_id, x.extended_at, x.new_expires_at
           from club_extensions x join club_enrollments e on e.client_id = x.client_id and e.id = x.enrollment_id
           where x.client_id = $1 and e.customer_id = $2"#,
        admin.client_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_all(&mut *tx)
    .await?;
    for x in extensions {
        let kind = if x.extension_type == "renewal" {
            TimelineKind::Renewed {
                stage: stage(x.extended_to_stage_id),
                expires_label: label(x.new_expires_at, admin),
            }
        } else {
            TimelineKind::Upgraded {
                from: x
                    .extended_from_stage_id
                    .map_or_else(|| "?".to_owned(), stage),
                to: stage(x.extended_to_stage_id),
                expires_label: label(x.new_expires_at, admin),
            }
        };
        timeline.push(TimelineEvent {
            at: x.extended_at,
            at_label: label(x.extended_at, admin),
            kind,
        });
    }
    let audits = sqlx::query!(
        r#"select a.action, a.actor_label, a.reason, a.created_at from audit_log a
           where a.client_id = $1 and a.actor_kind = 'admin' and a.entity_type = 'club_enrollment'
             and a.entity_id in (select id from club_enrollments where client_id = $1 and customer_id = $2)
           order by a.created_at desc limit 200"#,
        admin.client_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_all(&mut *tx)
    .await?;
    for a in audits {
        timeline.push(TimelineEvent {
            at: a.created_at,
            at_label: label(a.created_at, admin),
            kind: TimelineKind::Audit {
                action: a.action,
                actor: a.actor_label,
                reason: a.reason,
            },
        });
    }
    let stages = stage_names(&mut tx, admin, true).await?;
    tx.commit().await?;
    timeline.sort_by_key(|e| std::cmp::Reverse(e.at));
    Ok(MemberDetail {
        id,
        name: name_of(c.first_name, c.last_name, &c.email),
        email: c.email,
        phone: c.phone,
        active,
        cumulative_days: c.cumulative_membership_days,
        timeline,
        stages,
        time_zone: admin.time_zone.clone(),
        currency: admin.currency.clone(),
    })
}

fn parse_reason(raw: &str) -> Result<String> {
    domain::text::bounded(raw, MAX_REASON, true)
        .map_err(|e| Error::invalid("reason", format!("The reason {e}.")))
}

struct Enrollable {
    customer: String,
    stage_name: String,
    duration_months: u32,
    crm_id: Option<String>,
}

async fn check_enrollable(
    conn: &mut PgConnection,
    admin: &Admin,
    customer: CustomerId,
    stage: StageId,
) -> Result<Enrollable> {
    let crm_id = customers::lock(conn, admin.client_id, customer)
        .await?
        .ok_or(Error::NotFound { what: "member" })?;
    let c = sqlx::query!(
        "select email, first_name, last_name from customers where client_id = $1 and id = $2",
        admin.client_id.as_uuid(),
        customer.as_uuid()
    )
    .fetch_one(&mut *conn)
    .await?;
    let s = sqlx::query!(
        r#"select s.name, s.duration_months, s.is_active, p.is_active as program_active
           from club_stages s join club_programs p on p.client_id = s.client_id and p.id = s.club_program_id
           where s.client_id = $1 and s.id = $2"#,
        admin.client_id.as_uuid(),
        stage.as_uuid()
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "stage" })?;
    if !s.is_active || !s.program_active {
        return Err(Error::invalid(
            "stage_id",
            format!(
                "{} admits nobody new: it (or the program) is not active.",
                s.name
            ),
        ));
    }
    let customer_name = name_of(c.first_name, c.last_name, &c.email);
    if let Some(current) = enrollments::active_for_update(conn, admin.client_id, customer).await? {
        let stage_name: String = sqlx::query_scalar!(
            "select name from club_stages where id = $1",
            current.stage.as_uuid()
        )
        .fetch_one(&mut *conn)
        .await?;
        return Err(Error::Conflict(format!(
            "{customer_name} is already a {stage_name} member until {}. Revoke or expire that membership first.",
            current.expires_at.format("%Y-%m-%d")
        )));
    }
    Ok(Enrollable {
        customer: customer_name,
        stage_name: s.name,
        duration_months: u32::try_from(s.duration_months).unwrap_or(1),
        crm_id,
    })
}

/// What enrolling `customer` in `stage` now would do (nothing is written).
///
/// # Errors
/// An unknown member or stage, an inactive stage, or a member who already holds a membership.
pub async fn preview_enroll(
    pool: &PgPool,
    admin: &Admin,
    customer: CustomerId,
    stage: StageId,
    now: DateTime<Utc>,
) -> Result<ChangePreview> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let e = check_enrollable(&mut tx, admin, customer, stage).await?;
    tx.rollback().await?;
    let (_, ends_at) = domain::engine::enrollment_dates(e.duration_months, now, admin.zone());
    Ok(ChangePreview {
        customer: e.customer,
        stage: e.stage_name,
        starts_at: Some(now),
        ends_at,
        was_expiring_at: None,
        starts_label: Some(label(now, admin)),
        ends_label: label(ends_at, admin),
        was_expiring_label: None,
    })
}

/// Enrolls `customer` in `stage` starting now, with no qualifying order; audited with `reason`.
///
/// # Errors
/// As [`preview_enroll`], a missing reason, or a viewer.
pub async fn enroll(
    pool: &PgPool,
    admin: &Admin,
    customer: CustomerId,
    stage: StageId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<EnrollmentId> {
    admin.require_editor()?;
    let reason = parse_reason(reason)?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let e = check_enrollable(&mut tx, admin, customer, stage).await?;
    let (_, expires_at) = domain::engine::enrollment_dates(e.duration_months, now, admin.zone());
    let id = enrollments::insert_active(
        &mut tx,
        admin.client_id,
        customer,
        stage,
        now,
        expires_at,
        None,
    )
    .await?;
    crm_queue::enqueue(
        &mut tx,
        admin.client_id,
        customer,
        e.crm_id.as_deref(),
        id,
        CrmOp::Grant { stage },
        now,
    )
    .await?;
    customers::refresh_member_flag(&mut tx, admin.client_id, customer).await?;
    audit::record(
        &mut tx,
        Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action: "enrollment.created_manually",
            entity_type: "club_enrollment",
            entity_id: Some(id.as_uuid()),
            before: None,
            after: Some(
                json!({ "stage": e.stage_name, "enrolled_at": now, "expires_at": expires_at }),
            ),
            reason: Some(&reason),
        },
    )
    .await?;
    // D16: a manual enrollment is a new enrollment, so the member is welcomed.
    crate::comms::outbox::queue_event(
        &mut tx,
        admin.client_id,
        customer,
        domain::comms::MessageType::Welcome,
        &id.as_uuid().to_string(),
        &crate::comms::outbox::Detail::default(),
        now,
    )
    .await?;
    crate::analytics::touch(&mut tx, admin.client_id, &[now]).await?;
    crate::db::stats::refresh_customer(&mut tx, admin.client_id, customer.as_uuid()).await?;
    tx.commit().await?;
    Ok(id)
}

/// How a membership is ended by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Taken away (for example after a refunded qualifying order).
    Revoke,
    /// Ended now as if it had run out.
    Expire,
}

impl Ending {
    fn status(self) -> &'static str {
        match self {
            Self::Revoke => "revoked",
            Self::Expire => "expired",
        }
    }
}

struct Endable {
    customer: CustomerId,
    crm_id: Option<String>,
    customer_name: String,
    stage: StageId,
    stage_name: String,
    expires_at: DateTime<Utc>,
}

async fn check_endable(
    conn: &mut PgConnection,
    admin: &Admin,
    enrollment: EnrollmentId,
) -> Result<Endable> {
    let e = sqlx::query!(
        r#"select e.customer_id, e.club_stage_id, e.status, e.expires_at, s.name as stage_name,
                  c.email, c.first_name, c.last_name
           from club_enrollments e join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
           join customers c on c.client_id = e.client_id and c.id = e.customer_id
           where e.client_id = $1 and e.id = $2"#,
        admin.client_id.as_uuid(),
        enrollment.as_uuid()
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "membership" })?;
    let crm_id = customers::lock(conn, admin.client_id, CustomerId::new(e.customer_id))
        .await?
        .ok_or(Error::NotFound { what: "member" })?;
    if e.status != "active" {
        return Err(Error::Conflict(format!(
            "This {} membership already ended ({}); nothing was changed.",
            e.stage_name, e.status
        )));
    }
    Ok(Endable {
        customer: CustomerId::new(e.customer_id),
        crm_id,
        customer_name: name_of(e.first_name, e.last_name, &e.email),
        stage: StageId::new(e.club_stage_id),
        stage_name: e.stage_name,
        expires_at: e.expires_at,
    })
}

/// What ending a membership now would do (nothing is written).
///
/// # Errors
/// An unknown membership, or one that already ended.
pub async fn preview_end(
    pool: &PgPool,
    admin: &Admin,
    enrollment: EnrollmentId,
    now: DateTime<Utc>,
) -> Result<ChangePreview> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let e = check_endable(&mut tx, admin, enrollment).await?;
    tx.rollback().await?;
    Ok(ChangePreview {
        customer: e.customer_name,
        stage: e.stage_name,
        starts_at: None,
        ends_at: now,
        was_expiring_at: Some(e.expires_at),
        starts_label: None,
        ends_label: label(now, admin),
        was_expiring_label: Some(label(e.expires_at, admin)),
    })
}

/// Revokes or expires a membership now, with a reason: the CRM eligibility is revoked (queued)
/// and the change audited.
///
/// # Errors
/// As [`preview_end`], a missing reason, or a viewer.
pub async fn end(
    pool: &PgPool,
    admin: &Admin,
    enrollment: EnrollmentId,
    how: Ending,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    admin.require_editor()?;
    let reason = parse_reason(reason)?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let e = check_endable(&mut tx, admin, enrollment).await?;
    enrollments::end(
        &mut tx,
        admin.client_id,
        enrollment,
        how.status(),
        now,
        &reason,
    )
    .await?;
    customers::membership_ended(&mut tx, admin.client_id, e.customer, now).await?;
    crm_queue::enqueue(
        &mut tx,
        admin.client_id,
        e.customer,
        e.crm_id.as_deref(),
        enrollment,
        CrmOp::Revoke { stage: e.stage },
        now,
    )
    .await?;
    customers::refresh_member_flag(&mut tx, admin.client_id, e.customer).await?;
    audit::record(
        &mut tx,
        Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action: if how == Ending::Revoke {
                "enrollment.revoked"
            } else {
                "enrollment.expired_manually"
            },
            entity_type: "club_enrollment",
            entity_id: Some(enrollment.as_uuid()),
            before: Some(
                json!({ "status": "active", "stage": e.stage_name, "expires_at": e.expires_at }),
            ),
            after: Some(json!({ "status": how.status(), "ended_at": now })),
            reason: Some(&reason),
        },
    )
    .await?;
    crate::analytics::touch(&mut tx, admin.client_id, &[now]).await?;
    tx.commit().await?;
    Ok(())
}

/// Active memberships flagged for review (a refunded or cancelled qualifying order), newest first.
///
/// # Errors
/// Database failures only.
pub async fn flagged(pool: &PgPool, admin: &Admin) -> Result<Vec<(MemberSummary, EnrollmentView)>> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let rows = sqlx::query!(
        r#"select c.id as customer_id, c.email, c.first_name, c.last_name, c.cumulative_membership_days,
                  e.id, e.status, e.enrolled_at, e.expires_at, e.flag_reason, s.name as stage
           from club_enrollments e
           join customers c on c.client_id = e.client_id and c.id = e.customer_id
           join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
           where e.client_id = $1 and e.status = 'active' and e.flagged_at is not null
           order by e.flagged_at desc limit 500"#,
        admin.client_id.as_uuid()
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let summary = MemberSummary {
                id: CustomerId::new(r.customer_id),
                name: name_of(r.first_name, r.last_name, &r.email),
                email: r.email,
                stage: Some(r.stage.clone()),
                expires_label: Some(label(r.expires_at, admin)),
                expires_at: Some(r.expires_at),
                flagged: true,
                cumulative_days: r.cumulative_membership_days,
            };
            let view = EnrollmentView {
                id: EnrollmentId::new(r.id),
                stage: r.stage,
                status: r.status,
                enrolled_label: label(r.enrolled_at, admin),
                expires_label: label(r.expires_at, admin),
                enrolled_at: r.enrolled_at,
                expires_at: r.expires_at,
                flag_reason: r.flag_reason,
            };
            (summary, view)
        })
        .collect())
}

/// The words of a search, lower-cased: each must start the member's first name, last name or
/// e-mail address.
fn search_terms(search: &str) -> Vec<String> {
    search
        .split_whitespace()
        .map(str::to_lowercase)
        .take(3)
        .collect()
}

/// Reads the list filter from query parameters (the member list page and its CSV export).
///
/// # Errors
/// A malformed stage id, status or day count, named.
pub fn parse_filter(
    search: &str,
    stage: &str,
    status: &str,
    expires_within: &str,
    after: &str,
) -> Result<MemberFilter> {
    let search = search.trim();
    let search = match search.chars().count() {
        0 => None,
        1 => {
            return Err(Error::invalid(
                "q",
                "Type at least two characters to search.",
            ));
        }
        n if n > 100 => {
            return Err(Error::invalid(
                "q",
                "The search is too long (at most 100 characters).",
            ));
        }
        _ if search.split_whitespace().count() > 3 => {
            return Err(Error::invalid("q", "Search with at most three words."));
        }
        _ => Some(search.to_owned()),
    };
    let stage = match stage.trim() {
        "" => None,
        raw => Some(
            StageId::parse(raw)
                .map_err(|_| Error::invalid("stage", "That stage does not exist."))?,
        ),
    };
    let status = MemberStatus::parse(status)
        .ok_or_else(|| Error::invalid("status", "Choose a status from the list."))?;
    let expires_within_days = match expires_within.trim() {
        "" => None,
        raw => Some(
            raw.parse::<u32>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| {
                    Error::invalid(
                        "expires_within",
                        "Expiring within must be a number of days from 1 to 3650.",
                    )
                })?,
        ),
    };
    let after = Some(after.trim().to_owned()).filter(|a| !a.is_empty() && a.len() <= 255);
    Ok(MemberFilter {
        search,
        stage,
        status,
        expires_within_days,
        event: None,
        after,
    })
}

/// Reads the dashboard's movement filter (`event`, `from`, `to`); all three blank is none.
///
/// # Errors
/// An unknown movement, or a period that is not one ([`domain::analytics::Period::parse`]).
pub fn parse_event(
    event: &str,
    from: &str,
    to: &str,
    today: chrono::NaiveDate,
) -> Result<Option<(MemberEvent, chrono::NaiveDate, chrono::NaiveDate)>> {
    if event.trim().is_empty() {
        return Ok(None);
    }
    let kind = MemberEvent::parse(event)
        .ok_or_else(|| Error::invalid("event", "Choose joined, renewed, upgraded or expired."))?;
    let period = domain::analytics::Period::parse(from, to, today)
        .map_err(|e| Error::invalid("period", e.to_string()))?;
    Ok(Some((kind, period.from, period.to)))
}
