//! Queries of the member portal: sign-in requests (the rate limit), single-use sign-in links,
//! member sessions, and the reads behind the status page and the savings statement.

use crate::Result;
use chrono::{DateTime, Utc};
use domain::ids::{ClientId, CustomerId};
use sqlx::PgConnection;
use uuid::Uuid;

/// Serialises sign-in requests for one key (an address, a network address) until the
/// transaction ends, so concurrent requests are counted one after the other.
pub async fn lock_request_key(conn: &mut PgConnection, key: &str) -> Result<()> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended($1, 0))",
        format!("portal-link:{key}")
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sign-in requests since `since` for the address and for the network address.
pub async fn recent_requests(
    conn: &mut PgConnection,
    email: &str,
    ip: &str,
    since: DateTime<Utc>,
) -> Result<(i64, i64)> {
    let r = sqlx::query!(
        r#"select (select count(*) from portal_link_requests where email = $1 and requested_at >= $3) as "by_email!",
                  (select count(*) from portal_link_requests where ip = $2 and requested_at >= $3) as "by_ip!""#,
        email,
        ip,
        since
    )
    .fetch_one(conn)
    .await?;
    Ok((r.by_email, r.by_ip))
}

/// Counts a sign-in request.
pub async fn record_request(
    conn: &mut PgConnection,
    email: &str,
    ip: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "insert into portal_link_requests (email, ip, requested_at) values ($1, $2, $3)",
        email,
        ip,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer with this (normalised) address, if any and not anonymised.
pub async fn find_customer(
    conn: &mut PgConnection,
    client: ClientId,
    email: &str,
) -> Result<Option<CustomerId>> {
    let id = sqlx::query_scalar!(
        "select id from customers where client_id = $1 and email = $2 and anonymized_at is null",
        client.as_uuid(),
        email
    )
    .fetch_optional(conn)
    .await?;
    Ok(id.map(CustomerId::new))
}

/// Stores a new sign-in link.
pub async fn insert_link(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    id: Uuid,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "insert into portal_links (id, client_id, customer_id, expires_at, created_at) values ($1, $2, $3, $4, $5)",
        id,
        client.as_uuid(),
        customer.as_uuid(),
        expires_at,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A sign-in link, locked.
pub struct Link {
    pub customer: CustomerId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Locks a sign-in link of the winery for its one use.
pub async fn lock_link(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
) -> Result<Option<Link>> {
    let row = sqlx::query!(
        "select customer_id, expires_at, used_at from portal_links where client_id = $1 and id = $2 for update",
        client.as_uuid(),
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Link {
        customer: CustomerId::new(r.customer_id),
        expires_at: r.expires_at,
        used_at: r.used_at,
    }))
}

/// Marks a sign-in link used.
pub async fn use_link(
    conn: &mut PgConnection,
    client: ClientId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "update portal_links set used_at = $3 where client_id = $1 and id = $2",
        client.as_uuid(),
        id,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens a member session.
pub async fn insert_session(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "insert into portal_sessions (token_hash, client_id, customer_id, expires_at, created_at) values ($1, $2, $3, $4, $5)",
        token_hash,
        client.as_uuid(),
        customer.as_uuid(),
        expires_at,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer of a live session of the winery (a customer since anonymised has none).
pub async fn find_session(
    conn: &mut PgConnection,
    client: ClientId,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<CustomerId>> {
    let id = sqlx::query_scalar!(
        r#"select s.customer_id from portal_sessions s
           join customers c on c.client_id = s.client_id and c.id = s.customer_id
           where s.client_id = $1 and s.token_hash = $2 and s.expires_at > $3 and c.anonymized_at is null"#,
        client.as_uuid(),
        token_hash,
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(id.map(CustomerId::new))
}

/// Ends a session.
pub async fn delete_session(
    conn: &mut PgConnection,
    client: ClientId,
    token_hash: &[u8],
) -> Result<()> {
    sqlx::query!(
        "delete from portal_sessions where client_id = $1 and token_hash = $2",
        client.as_uuid(),
        token_hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the winery's expired sign-in links and sessions.
pub async fn purge_expired(
    conn: &mut PgConnection,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<u64> {
    let links = sqlx::query!(
        "delete from portal_links where client_id = $1 and expires_at <= $2",
        client.as_uuid(),
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let sessions = sqlx::query!(
        "delete from portal_sessions where client_id = $1 and expires_at <= $2",
        client.as_uuid(),
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(links + sessions)
}

/// Deletes sign-in requests older than `before` (a platform table).
pub async fn purge_requests(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<u64> {
    let n = sqlx::query!(
        "delete from portal_link_requests where requested_at < $1",
        before
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n)
}

/// The member and their membership, as the status page reads them.
pub struct StatusRow {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: String,
    pub balance: i32,
    pub lifetime: i32,
    pub earning: bool,
    pub stage: Option<String>,
    pub discount_hundredths: Option<i32>,
    pub min_cents: Option<i64>,
    pub duration_months: Option<i32>,
    pub stage_active: Option<bool>,
    pub stage_order: Option<i32>,
    pub enrolled_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Reads the member and their active membership (one row, by primary keys).
pub async fn status(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<Option<StatusRow>> {
    let row = sqlx::query_as!(
        StatusRow,
        r#"select c.first_name, c.last_name, c.email, c.loyalty_points_balance as balance,
                  c.loyalty_points_lifetime as lifetime, c.loyalty_earning_active as earning,
                  s.name as "stage?", (s.discount_percentage * 100)::int as "discount_hundredths?",
                  s.min_purchase_amount_cents as "min_cents?", s.duration_months as "duration_months?",
                  (s.is_active and p.is_active) as "stage_active?", s.stage_order as "stage_order?",
                  e.enrolled_at as "enrolled_at?", e.started_at as "started_at?", e.expires_at as "expires_at?"
           from customers c
           left join club_enrollments e
                  on e.client_id = c.client_id and e.customer_id = c.id and e.status = 'active'
           left join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
           left join club_programs p on p.client_id = s.client_id and p.id = s.club_program_id
           where c.client_id = $1 and c.id = $2 and c.anonymized_at is null"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// An active stage of an active program, lowest first.
pub struct StageRow {
    pub name: String,
    pub discount_hundredths: i32,
    pub min_cents: i64,
    pub duration_months: i32,
    pub stage_order: i32,
}

/// The stages that admit members now, lowest first.
pub async fn open_stages(conn: &mut PgConnection, client: ClientId) -> Result<Vec<StageRow>> {
    let rows = sqlx::query_as!(
        StageRow,
        r#"select s.name, (s.discount_percentage * 100)::int as "discount_hundredths!",
                  s.min_purchase_amount_cents as min_cents, s.duration_months, s.stage_order
           from club_stages s
           join club_programs p on p.client_id = s.client_id and p.id = s.club_program_id
           where s.client_id = $1 and s.is_active and p.is_active
           order by s.stage_order"#,
        client.as_uuid()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// What the statement adds up.
pub struct Totals {
    pub saved_cents: i64,
    pub member_orders: i64,
    pub member_spend_cents: i64,
    pub redeemed: i64,
}

/// The discounts and spend of the customer's paid orders placed as a member, and the points
/// they redeemed.
pub async fn totals(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<Totals> {
    let r = sqlx::query!(
        r#"select coalesce(sum(o.discount_cents), 0)::bigint as "saved!",
                  count(*) as "orders!",
                  coalesce(sum(o.subtotal_cents - o.discount_cents - o.refunded_cents), 0)::bigint as "spend!",
                  (select coalesce(-sum(t.points), 0) from point_transactions t
                    where t.client_id = $1 and t.customer_id = $2 and t.transaction_type = 'redeemed')::bigint as "redeemed!"
           from orders o
           where o.client_id = $1 and o.customer_id = $2 and o.by_member
             and o.status in ('paid', 'partially_refunded')"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_one(conn)
    .await?;
    Ok(Totals {
        saved_cents: r.saved,
        member_orders: r.orders,
        member_spend_cents: r.spend,
        redeemed: r.redeemed,
    })
}

/// One event of the customer's club history.
pub struct HistoryRow {
    pub at: DateTime<Utc>,
    /// `joined`, `renewal`, `upgrade`, `expired`, `revoked`.
    pub event: String,
    pub stage: String,
}

/// The customer's club history, oldest first: each membership's start, its renewals and
/// upgrades, and how it ended.
pub async fn history(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
) -> Result<Vec<HistoryRow>> {
    let rows = sqlx::query_as!(
        HistoryRow,
        r#"select at as "at!", event as "event!", stage as "stage!" from (
               select e.started_at as at, 'joined' as event, s.name as stage
               from club_enrollments e join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
               where e.client_id = $1 and e.customer_id = $2
                 and not exists (select 1 from club_extensions x
                                 where x.client_id = e.client_id and x.enrollment_id = e.id
                                   and x.extension_type = 'upgrade')
               union all
               select x.extended_at, x.extension_type, s.name
               from club_extensions x
               join club_enrollments e on e.client_id = x.client_id and e.id = x.enrollment_id
               join club_stages s on s.client_id = x.client_id and s.id = x.extended_to_stage_id
               where x.client_id = $1 and e.customer_id = $2
               union all
               select e.ended_at, e.status, s.name
               from club_enrollments e join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
               where e.client_id = $1 and e.customer_id = $2 and e.status in ('expired', 'revoked')
                 and e.ended_at is not null
           ) h
           order by at, event"#,
        client.as_uuid(),
        customer.as_uuid()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows)
}
