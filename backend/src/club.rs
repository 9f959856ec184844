//! The club program and stage builder service: every change to the ladder goes through here.
//!
//! Each change runs in one tenant-scoped transaction that locks the program row (so two admins
//! editing at once take turns), re-checks the whole ladder with `domain::club` (decisions D2),
//! refuses stale forms by version, writes the change and its audit row, and commits.

use crate::auth::Admin;
use crate::db::audit::{self, Entry};
use crate::db::{self, club as q, idempotency};
use crate::{Error, Result};
use domain::club::{
    self as rules, Direction, LadderView, ProgramValues, ProgramView, Rung, StageValues, StageView,
};
use domain::ids::StageId;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The name given to a program created on first use.
pub const DEFAULT_PROGRAM_NAME: &str = "Wine Club";

fn stale(what: &str) -> Error {
    Error::Conflict(format!(
        "{what} was changed after this page was loaded (perhaps by an earlier submission of the same form). \
         Nothing was saved; the page now shows the current values."
    ))
}

fn snapshot(stage: &StageView) -> serde_json::Value {
    json!({
        "name": stage.values.name,
        "discount_percentage": stage.values.discount.to_plain_string(),
        "duration_months": stage.values.duration_months,
        "min_purchase_amount_cents": stage.values.min_purchase.cents(),
        "position": stage.position,
        "is_active": stage.is_active,
    })
}

/// Records a change to a stage, with its state before and after.
async fn audit_stage(
    conn: &mut PgConnection,
    admin: &Admin,
    action: &str,
    id: StageId,
    before: Option<&StageView>,
    after: Option<&StageView>,
) -> Result<()> {
    audit::record(
        conn,
        Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action,
            entity_type: "club_stage",
            entity_id: Some(id.as_uuid()),
            before: before.map(snapshot),
            after: after.map(snapshot),
            reason: None,
        },
    )
    .await
}

fn program_snapshot(program: &ProgramView) -> serde_json::Value {
    json!({ "name": program.name, "description": program.description, "is_active": program.is_active })
}

/// The program (created on first use) locked for this transaction, and its stages.
async fn locked_ladder(
    conn: &mut PgConnection,
    admin: &Admin,
) -> Result<(ProgramView, Vec<StageView>)> {
    let program = q::ensure_program(conn, admin.client_id, DEFAULT_PROGRAM_NAME).await?;
    let stages = q::list_stages(conn, admin.client_id, program.id).await?;
    Ok((program, stages))
}

fn find_stage(stages: &[StageView], id: StageId, version: i32) -> Result<usize> {
    let index = stages
        .iter()
        .position(|s| s.id == id)
        .ok_or(Error::NotFound { what: "stage" })?;
    if stages[index].version != version {
        return Err(stale(&stages[index].values.name));
    }
    Ok(index)
}

fn order_of(ladder: &[Rung]) -> Vec<StageId> {
    ladder.iter().filter_map(|r| r.id).collect()
}

async fn reload(
    conn: &mut PgConnection,
    admin: &Admin,
    program: &ProgramView,
    id: StageId,
) -> Result<StageView> {
    q::list_stages(conn, admin.client_id, program.id)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(Error::NotFound { what: "stage" })
}

/// The stage builder's data for the admin's winery (the program is created on first use).
///
/// # Errors
/// Database failures only.
pub async fn ladder(pool: &PgPool, admin: &Admin) -> Result<LadderView> {
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (program, stages) = locked_ladder(&mut tx, admin).await?;
    tx.commit().await?;
    Ok(LadderView {
        program,
        stages,
        currency: admin.currency.clone(),
        add_form_key: Uuid::new_v4(),
    })
}

/// Saves the program's name, description and active flag.
///
/// # Errors
/// Invalid values, a stale form (`version`), or a viewer.
pub async fn update_program(
    pool: &PgPool,
    admin: &Admin,
    values: ProgramValues,
    is_active: bool,
    version: i32,
) -> Result<ProgramView> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (before, _) = locked_ladder(&mut tx, admin).await?;
    if before.version != version {
        return Err(stale("The club program"));
    }
    let after = q::update_program(
        &mut tx,
        admin.client_id,
        before.id,
        &values.name,
        values.description.as_deref(),
        is_active,
    )
    .await?;
    audit::record(
        &mut tx,
        Entry {
            client: admin.client_id,
            actor: &admin.actor(),
            action: "program.updated",
            entity_type: "club_program",
            entity_id: Some(before.id.as_uuid()),
            before: Some(program_snapshot(&before)),
            after: Some(program_snapshot(&after)),
            reason: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Adds a stage at 1-based `position` (1 is the bottom), shifting the stages above it up.
/// `form_key` is the one-time key of the form; a second submission of it is refused.
///
/// # Errors
/// Invalid values or a ladder that breaks D2 (naming the stage and field), a reused form key, or a
/// viewer.
pub async fn add_stage(
    pool: &PgPool,
    admin: &Admin,
    values: StageValues,
    position: usize,
    form_key: Uuid,
) -> Result<StageView> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (program, stages) = locked_ladder(&mut tx, admin).await?;
    if !idempotency::claim(&mut tx, admin.client_id, form_key, "stage.created").await? {
        return Err(Error::Conflict(
            "This form was already submitted, so the stage was not added a second time. The page now shows the current ladder."
                .to_owned(),
        ));
    }
    let rung = Rung {
        id: None,
        values: values.clone(),
        is_active: true,
    };
    let (ladder, index) = rules::insert_rung(&rules::rungs_of(&stages), rung, position)?;
    q::defer_position_check(&mut tx).await?;
    let position = i32::try_from(index + 1).map_err(|_| anyhow::anyhow!("position overflow"))?;
    let id = q::insert_stage(&mut tx, admin.client_id, program.id, &values, position).await?;
    let mut order = order_of(&ladder);
    order.insert(index, id);
    q::set_positions(&mut tx, admin.client_id, &order).await?;
    let created = reload(&mut tx, admin, &program, id).await?;
    audit_stage(&mut tx, admin, "stage.created", id, None, Some(&created)).await?;
    tx.commit().await?;
    Ok(created)
}

/// Saves a stage's values.
///
/// # Errors
/// An unknown stage (including one of another winery), a stale form, invalid values or a ladder
/// that breaks D2, or a viewer.
pub async fn update_stage(
    pool: &PgPool,
    admin: &Admin,
    id: StageId,
    values: StageValues,
    version: i32,
) -> Result<StageView> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (program, stages) = locked_ladder(&mut tx, admin).await?;
    let index = find_stage(&stages, id, version)?;
    rules::update_rung(&rules::rungs_of(&stages), index, values.clone())?;
    q::update_stage(
        &mut tx,
        admin.client_id,
        id,
        &values,
        stages[index].is_active,
    )
    .await?;
    let after = reload(&mut tx, admin, &program, id).await?;
    audit_stage(
        &mut tx,
        admin,
        "stage.updated",
        id,
        Some(&stages[index]),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Moves a stage one rung up or down the ladder.
///
/// # Errors
/// An unknown stage, a stale form, a move past the end of the ladder or one that breaks D2, or a
/// viewer.
pub async fn move_stage(
    pool: &PgPool,
    admin: &Admin,
    id: StageId,
    direction: Direction,
    version: i32,
) -> Result<StageView> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (program, stages) = locked_ladder(&mut tx, admin).await?;
    let index = find_stage(&stages, id, version)?;
    let (ladder, _) = rules::move_rung(&rules::rungs_of(&stages), index, direction)?;
    q::defer_position_check(&mut tx).await?;
    q::set_positions(&mut tx, admin.client_id, &order_of(&ladder)).await?;
    let after = reload(&mut tx, admin, &program, id).await?;
    audit_stage(
        &mut tx,
        admin,
        "stage.moved",
        id,
        Some(&stages[index]),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Activates or deactivates a stage. A deactivated stage admits no new enrollments, renewals or
/// upgrades; its members keep their membership until it expires (decisions D8).
///
/// # Errors
/// An unknown stage, a stale form, an activation that breaks D2, or a viewer.
pub async fn set_stage_active(
    pool: &PgPool,
    admin: &Admin,
    id: StageId,
    active: bool,
    version: i32,
) -> Result<StageView> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (program, stages) = locked_ladder(&mut tx, admin).await?;
    let index = find_stage(&stages, id, version)?;
    rules::set_rung_active(&rules::rungs_of(&stages), index, active)?;
    q::update_stage(&mut tx, admin.client_id, id, &stages[index].values, active).await?;
    let after = reload(&mut tx, admin, &program, id).await?;
    let action = if active {
        "stage.activated"
    } else {
        "stage.deactivated"
    };
    audit_stage(
        &mut tx,
        admin,
        action,
        id,
        Some(&stages[index]),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a stage that no enrollment has ever referenced; the stages above it move down.
///
/// # Errors
/// An unknown stage, a stale form, a stage with enrollments (deactivate it instead), or a viewer.
pub async fn delete_stage(pool: &PgPool, admin: &Admin, id: StageId, version: i32) -> Result<()> {
    admin.require_editor()?;
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (_, stages) = locked_ladder(&mut tx, admin).await?;
    let index = find_stage(&stages, id, version)?;
    let stage = &stages[index];
    if stage.enrollment_count > 0 {
        let n = stage.enrollment_count;
        let noun = if n == 1 {
            "enrollment references"
        } else {
            "enrollments reference"
        };
        return Err(Error::Conflict(format!(
            "{} cannot be deleted because {n} {noun} it. Deactivate it instead: it then admits nobody new, \
             and its members keep their membership until it expires.",
            stage.values.name
        )));
    }
    q::delete_stage(&mut tx, admin.client_id, id).await?;
    let remaining: Vec<StageId> = stages.iter().filter(|s| s.id != id).map(|s| s.id).collect();
    q::defer_position_check(&mut tx).await?;
    q::set_positions(&mut tx, admin.client_id, &remaining).await?;
    audit_stage(&mut tx, admin, "stage.deleted", id, Some(stage), None).await?;
    tx.commit().await?;
    Ok(())
}

/// What saving `values` for stage `id` would do to current members (issue 7's what-if preview):
/// who would have qualified under a new minimum, who holds the stage on less than a raised one,
/// and what a new duration or discount means for renewals and checkout. Changes nothing.
///
/// # Errors
/// An unknown (or another winery's) stage; values that do not parse.
pub async fn what_if(
    pool: &PgPool,
    admin: &Admin,
    id: StageId,
    values: domain::club::StageValues,
) -> Result<domain::club::WhatIf> {
    let ladder = ladder(pool, admin).await?;
    let index = ladder
        .index_of(id)
        .ok_or(Error::NotFound { what: "stage" })?;
    let current = ladder.stages[index].clone();
    let problem = domain::club::update_rung(&ladder.rungs(), index, values.clone())
        .err()
        .map(|p| p.message);
    let currency = &admin.currency;
    let name = &current.values.name;
    let members = current.active_member_count;
    let mut effects = Vec::new();
    let mut tx = db::begin_scoped(pool, admin.client_id).await?;
    let (old_min, new_min) = (current.values.min_purchase, values.min_purchase);
    if new_min < old_min {
        // Members of the stages below whose qualifying order reached the new minimum.
        let below = sqlx::query!(
            r#"select s.name, count(*) as "n!"
               from club_enrollments e
               join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
               join orders o on o.client_id = e.client_id and o.id = e.qualifying_order_id
               where e.client_id = $1 and e.status = 'active' and s.stage_order < $2
                 and o.qualifying_amount_cents >= $3
               group by s.name, s.stage_order
               order by s.stage_order desc"#,
            admin.client_id.as_uuid(),
            i32::try_from(current.position).unwrap_or(i32::MAX),
            new_min.cents()
        )
        .fetch_all(&mut *tx)
        .await?;
        if below.is_empty() {
            effects.push(format!(
                "No current member of a lower stage reached {} with their qualifying order.",
                new_min.display(currency)
            ));
        }
        for row in below {
            effects.push(format!(
                "{} {} {} would have qualified for {name} under the new minimum ({}); they move up with their next qualifying order.",
                row.n,
                row.name,
                if row.n == 1 { "member" } else { "members" },
                new_min.display(currency)
            ));
        }
    } else if new_min > old_min {
        let short = sqlx::query_scalar!(
            r#"select count(*) as "n!"
               from club_enrollments e
               left join orders o on o.client_id = e.client_id and o.id = e.qualifying_order_id
               where e.client_id = $1 and e.status = 'active' and e.club_stage_id = $2
                 and coalesce(o.qualifying_amount_cents, 0) < $3"#,
            admin.client_id.as_uuid(),
            id.as_uuid(),
            new_min.cents()
        )
        .fetch_one(&mut *tx)
        .await?;
        effects.push(format!(
            "{short} of the {members} current {name} members qualified with less than {}; they keep {name} until it ends, and renewing will take an order of {} or more.",
            new_min.display(currency),
            new_min.display(currency)
        ));
    }
    tx.commit().await?;
    let (old_months, new_months) = (current.values.duration_months, values.duration_months);
    if new_months != old_months {
        effects.push(format!(
            "New and renewed {name} memberships from now on last {new_months} months instead of {old_months}; the {members} current {name} members keep their dates until they next qualify."
        ));
    }
    if values.discount != current.values.discount {
        effects.push(format!(
            "The {members} active {name} members get {} instead of {} at checkout, once the change reaches the CRM.",
            values.discount, current.values.discount
        ));
    }
    if effects.is_empty() {
        effects.push(format!(
            "These are {name}'s current minimum, duration and discount: nothing would change."
        ));
    }
    Ok(domain::club::WhatIf {
        stage: id,
        values,
        effects,
        problem,
    })
}
