//! Queries on `club_programs` and `club_stages`. Every statement names its client as well as
//! relying on row-level security.

use crate::Result;
use domain::club::{ProgramView, StageValues, StageView};
use domain::ids::{ClientId, ProgramId, StageId};
use domain::{Money, Percent};
use sqlx::PgConnection;
use uuid::Uuid;

struct ProgramRow {
    id: Uuid,
    name: String,
    description: Option<String>,
    is_active: bool,
    version: i32,
}

impl From<ProgramRow> for ProgramView {
    fn from(row: ProgramRow) -> Self {
        Self {
            id: ProgramId::new(row.id),
            name: row.name,
            description: row.description,
            is_active: row.is_active,
            version: row.version,
        }
    }
}

/// The client's program, locked for the rest of the transaction so ladder changes serialize.
pub async fn lock_program(
    conn: &mut PgConnection,
    client: ClientId,
) -> Result<Option<ProgramView>> {
    let row = sqlx::query_as!(
        ProgramRow,
        r#"select id, name, description, is_active, version
           from club_programs where client_id = $1 for update"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(ProgramView::from))
}

/// The client's program.
pub async fn find_program(
    conn: &mut PgConnection,
    client: ClientId,
) -> Result<Option<ProgramView>> {
    let row = sqlx::query_as!(
        ProgramRow,
        r#"select id, name, description, is_active, version
           from club_programs where client_id = $1"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(ProgramView::from))
}

/// Creates the client's program unless it exists, and returns it.
pub async fn ensure_program(
    conn: &mut PgConnection,
    client: ClientId,
    name: &str,
) -> Result<ProgramView> {
    sqlx::query!(
        r#"insert into club_programs (client_id, name) values ($1, $2)
           on conflict (client_id) do nothing"#,
        client.as_uuid(),
        name
    )
    .execute(&mut *conn)
    .await?;
    lock_program(conn, client)
        .await?
        .ok_or(crate::Error::NotFound {
            what: "club program",
        })
}

/// Writes the program's name, description and active flag, bumping its version.
pub async fn update_program(
    conn: &mut PgConnection,
    client: ClientId,
    id: ProgramId,
    name: &str,
    description: Option<&str>,
    is_active: bool,
) -> Result<ProgramView> {
    let row = sqlx::query_as!(
        ProgramRow,
        r#"update club_programs
           set name = $3, description = $4, is_active = $5, version = version + 1
           where client_id = $1 and id = $2
           returning id, name, description, is_active, version"#,
        client.as_uuid(),
        id.as_uuid(),
        name,
        description,
        is_active
    )
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

struct StageRow {
    id: Uuid,
    name: String,
    discount_hundredths: i32,
    duration_months: i32,
    min_purchase_amount_cents: i64,
    stage_order: i32,
    is_active: bool,
    version: i32,
    enrollment_count: i64,
    active_member_count: i64,
}

impl TryFrom<StageRow> for StageView {
    type Error = crate::Error;
    fn try_from(row: StageRow) -> Result<Self> {
        let bad = |what: &str| anyhow::anyhow!("club_stages row {} has an invalid {what}", row.id);
        Ok(Self {
            id: StageId::new(row.id),
            values: StageValues {
                name: row.name.clone(),
                discount: Percent::from_hundredths(
                    u32::try_from(row.discount_hundredths).map_err(|_| bad("discount"))?,
                ),
                duration_months: u32::try_from(row.duration_months).map_err(|_| bad("duration"))?,
                min_purchase: Money::from_cents(row.min_purchase_amount_cents),
            },
            position: u32::try_from(row.stage_order).map_err(|_| bad("stage_order"))?,
            is_active: row.is_active,
            version: row.version,
            enrollment_count: row.enrollment_count,
            active_member_count: row.active_member_count,
        })
    }
}

/// The program's stages, bottom of the ladder first, with their enrollment counts.
pub async fn list_stages(
    conn: &mut PgConnection,
    client: ClientId,
    program: ProgramId,
) -> Result<Vec<StageView>> {
    let rows = sqlx::query_as!(
        StageRow,
        r#"select s.id, s.name, (s.discount_percentage * 100)::int4 as "discount_hundredths!",
                  s.duration_months, s.min_purchase_amount_cents, s.stage_order, s.is_active, s.version,
                  coalesce(e.total, 0) as "enrollment_count!", coalesce(e.active, 0) as "active_member_count!"
           from club_stages s
           left join lateral (
               select count(*) as total, count(*) filter (where status = 'active') as active
               from club_enrollments ce where ce.client_id = s.client_id and ce.club_stage_id = s.id
           ) e on true
           where s.client_id = $1 and s.club_program_id = $2
           order by s.stage_order"#,
        client.as_uuid(),
        program.as_uuid()
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(StageView::try_from).collect()
}

/// Inserts a stage at `position` (the caller has made room) and returns its id.
pub async fn insert_stage(
    conn: &mut PgConnection,
    client: ClientId,
    program: ProgramId,
    values: &StageValues,
    position: i32,
) -> Result<StageId> {
    let id = sqlx::query_scalar!(
        r#"insert into club_stages (client_id, club_program_id, name, discount_percentage, duration_months,
                                    min_purchase_amount_cents, stage_order)
           values ($1, $2, $3, $4::int4 / 100.0, $5, $6, $7)
           returning id"#,
        client.as_uuid(),
        program.as_uuid(),
        values.name,
        i32::try_from(values.discount.hundredths()).unwrap_or(i32::MAX),
        i32::try_from(values.duration_months).unwrap_or(i32::MAX),
        values.min_purchase.cents(),
        position
    )
    .fetch_one(conn)
    .await?;
    Ok(StageId::new(id))
}

/// Writes a stage's values and active flag, bumping its version.
pub async fn update_stage(
    conn: &mut PgConnection,
    client: ClientId,
    id: StageId,
    values: &StageValues,
    is_active: bool,
) -> Result<()> {
    sqlx::query!(
        r#"update club_stages
           set name = $3, discount_percentage = $4::int4 / 100.0, duration_months = $5,
               min_purchase_amount_cents = $6, is_active = $7, version = version + 1
           where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id.as_uuid(),
        values.name,
        i32::try_from(values.discount.hundredths()).unwrap_or(i32::MAX),
        i32::try_from(values.duration_months).unwrap_or(i32::MAX),
        values.min_purchase.cents(),
        is_active
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Defers the unique (program, stage_order) check to commit, so positions can be rewritten in
/// any order inside the transaction.
pub async fn defer_position_check(conn: &mut PgConnection) -> Result<()> {
    sqlx::query!("set constraints club_stages_program_order_key deferred")
        .execute(conn)
        .await?;
    Ok(())
}

/// Renumbers the stages to the given bottom-to-top order (positions 1..n), in one statement.
/// Rows whose position changes get a new version, so forms rendered before the move go stale.
/// Call [`defer_position_check`] first.
pub async fn set_positions(
    conn: &mut PgConnection,
    client: ClientId,
    order: &[StageId],
) -> Result<()> {
    let ids: Vec<Uuid> = order.iter().map(StageId::as_uuid).collect();
    sqlx::query!(
        r#"update club_stages s
           set stage_order = v.position::int4, version = s.version + 1
           from unnest($2::uuid[]) with ordinality as v(id, position)
           where s.client_id = $1 and s.id = v.id and s.stage_order <> v.position"#,
        client.as_uuid(),
        &ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a stage. The caller checked that no enrollment references it; the foreign key
/// (`on delete restrict`) refuses it otherwise.
pub async fn delete_stage(conn: &mut PgConnection, client: ClientId, id: StageId) -> Result<()> {
    sqlx::query!(
        "delete from club_stages where client_id = $1 and id = $2",
        client.as_uuid(),
        id.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(())
}
