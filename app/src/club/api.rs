//! Server functions of the stage builder. Each one authorizes, parses its flat string fields into
//! domain types (so a bad value gets a message naming the field), and makes one service call.

use crate::error::AppError;
use domain::club::{LadderView, ProgramView, StageView};
use leptos::prelude::*;

/// Parses the version echoed by a form.
pub fn parse_version(raw: &str) -> Result<i32, AppError> {
    raw.trim().parse().map_err(|_| {
        AppError::invalid(
            "version",
            "The form is out of date. Reload the page and try again.",
        )
    })
}

/// Parses a stage id from a form.
pub fn parse_stage_id(raw: &str) -> Result<domain::ids::StageId, AppError> {
    domain::ids::StageId::parse(raw).map_err(|_| AppError::NotFound {
        what: "stage".to_owned(),
    })
}

/// Parses a 1-based ladder position.
pub fn parse_position(raw: &str) -> Result<usize, AppError> {
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|p| (1..=domain::club::MAX_STAGES + 1).contains(p))
        .ok_or_else(|| AppError::invalid("position", "Choose where the stage goes on the ladder."))
}

/// Parses a true/false form value.
pub fn parse_flag(field: &str, raw: &str) -> Result<bool, AppError> {
    match raw.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::invalid(field, "Choose yes or no.")),
    }
}

/// The program and its ladder, bottom to top.
#[server(prefix = "/api", endpoint = "club/ladder")]
pub async fn get_ladder() -> Result<LadderView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::club::ladder(&state().pool, &admin).await?)
}

/// Saves the program's name, description and status.
#[server(prefix = "/api", endpoint = "club/program/update")]
pub async fn update_program(
    name: String,
    description: String,
    is_active: String,
    version: String,
) -> Result<ProgramView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let values =
        domain::club::ProgramValues::parse(&name, &description).map_err(backend::Error::from)?;
    let is_active = parse_flag("is_active", &is_active)?;
    let version = parse_version(&version)?;
    Ok(backend::club::update_program(&state().pool, &admin, values, is_active, version).await?)
}

/// Adds a stage at a position (1 is the bottom). `form_key` makes a resubmission harmless.
#[server(prefix = "/api", endpoint = "club/stages/add")]
pub async fn add_stage(
    form_key: String,
    name: String,
    discount_percentage: String,
    duration_months: String,
    min_purchase: String,
    position: String,
) -> Result<StageView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let key = uuid::Uuid::parse_str(form_key.trim()).map_err(|_| {
        AppError::invalid(
            "form_key",
            "The form is out of date. Reload the page and try again.",
        )
    })?;
    let values = domain::club::StageValues::parse(
        &name,
        &discount_percentage,
        &duration_months,
        &min_purchase,
    )
    .map_err(backend::Error::from)?;
    let position = parse_position(&position)?;
    Ok(backend::club::add_stage(&state().pool, &admin, values, position, key).await?)
}

/// Saves a stage's name, discount, duration and minimum purchase.
#[server(prefix = "/api", endpoint = "club/stages/update")]
pub async fn update_stage(
    stage_id: String,
    version: String,
    name: String,
    discount_percentage: String,
    duration_months: String,
    min_purchase: String,
) -> Result<StageView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let id = parse_stage_id(&stage_id)?;
    let version = parse_version(&version)?;
    let values = domain::club::StageValues::parse(
        &name,
        &discount_percentage,
        &duration_months,
        &min_purchase,
    )
    .map_err(backend::Error::from)?;
    Ok(backend::club::update_stage(&state().pool, &admin, id, values, version).await?)
}

/// Moves a stage one rung `up` or `down`.
#[server(prefix = "/api", endpoint = "club/stages/move")]
pub async fn move_stage(
    stage_id: String,
    version: String,
    direction: String,
) -> Result<StageView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let id = parse_stage_id(&stage_id)?;
    let version = parse_version(&version)?;
    let direction = domain::club::Direction::parse(&direction)
        .ok_or_else(|| AppError::invalid("direction", "Choose to move the stage up or down."))?;
    Ok(backend::club::move_stage(&state().pool, &admin, id, direction, version).await?)
}

/// Activates (`true`) or deactivates (`false`) a stage.
#[server(prefix = "/api", endpoint = "club/stages/set-active")]
pub async fn set_stage_active(
    stage_id: String,
    version: String,
    active: String,
) -> Result<StageView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let id = parse_stage_id(&stage_id)?;
    let version = parse_version(&version)?;
    let active = parse_flag("active", &active)?;
    Ok(backend::club::set_stage_active(&state().pool, &admin, id, active, version).await?)
}

/// Deletes a stage that no enrollment references.
#[server(prefix = "/api", endpoint = "club/stages/delete")]
pub async fn delete_stage(stage_id: String, version: String) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let id = parse_stage_id(&stage_id)?;
    let version = parse_version(&version)?;
    Ok(backend::club::delete_stage(&state().pool, &admin, id, version).await?)
}

/// What saving these values for a stage would do to current members; changes nothing.
#[server(prefix = "/api", endpoint = "club/stages/what-if")]
pub async fn preview_stage_change(
    stage_id: String,
    name: String,
    discount_percentage: String,
    duration_months: String,
    min_purchase: String,
) -> Result<domain::club::WhatIf, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let id = parse_stage_id(&stage_id)?;
    let values = domain::club::StageValues::parse(
        &name,
        &discount_percentage,
        &duration_months,
        &min_purchase,
    )
    .map_err(backend::Error::from)?;
    Ok(backend::club::what_if(&state().pool, &admin, id, values).await?)
}
