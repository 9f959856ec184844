//! Server functions of the member views: thin adapters into `backend::members`.

use crate::error::AppError;
use domain::members::{
    ChangePreview, EnrollmentView, MemberDetail, MemberPage as Page, MemberSummary,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn parse_customer(raw: &str) -> Result<domain::ids::CustomerId, AppError> {
    domain::ids::CustomerId::parse(raw).map_err(|_| AppError::NotFound {
        what: "member".to_owned(),
    })
}

#[cfg(feature = "ssr")]
fn parse_enrollment(raw: &str) -> Result<domain::ids::EnrollmentId, AppError> {
    domain::ids::EnrollmentId::parse(raw).map_err(|_| AppError::NotFound {
        what: "membership".to_owned(),
    })
}

#[cfg(feature = "ssr")]
fn parse_stage(raw: &str) -> Result<domain::ids::StageId, AppError> {
    domain::ids::StageId::parse(raw).map_err(|_| AppError::invalid("stage_id", "Choose a stage."))
}

/// Whether a manual ending revokes or expires.
pub fn parse_ending(raw: &str) -> Result<bool, AppError> {
    match raw {
        "revoke" => Ok(true),
        "expire" => Ok(false),
        _ => Err(AppError::invalid("how", "Choose to revoke or to expire.")),
    }
}

/// The dashboard's movement filter as the address carries it: `event`, `from`, `to`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Movement {
    pub event: String,
    pub from: String,
    pub to: String,
}

/// One page of the member list, from the list's query parameters.
#[server(prefix = "/api", endpoint = "members/list")]
pub async fn list_members(
    q: String,
    stage: String,
    status: String,
    expires_within: String,
    movement: Movement,
    after: String,
) -> Result<Page, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let mut filter = backend::members::parse_filter(&q, &stage, &status, &expires_within, &after)?;
    let today = chrono::Utc::now().with_timezone(&admin.zone()).date_naive();
    filter.event =
        backend::members::parse_event(&movement.event, &movement.from, &movement.to, today)?;
    Ok(backend::members::list(&state().pool, &admin, &filter, chrono::Utc::now()).await?)
}

/// One member and their timeline.
#[server(prefix = "/api", endpoint = "members/detail")]
pub async fn get_member(id: String) -> Result<MemberDetail, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::members::detail(&state().pool, &admin, parse_customer(&id)?).await?)
}

/// What a manual enrollment would do.
#[server(prefix = "/api", endpoint = "members/preview-enroll")]
pub async fn preview_enroll(
    customer_id: String,
    stage_id: String,
) -> Result<ChangePreview, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let (customer, stage) = (parse_customer(&customer_id)?, parse_stage(&stage_id)?);
    Ok(
        backend::members::preview_enroll(
            &state().pool,
            &admin,
            customer,
            stage,
            chrono::Utc::now(),
        )
        .await?,
    )
}

/// Enrolls a member by hand, starting now.
#[server(prefix = "/api", endpoint = "members/enroll")]
pub async fn enroll_member(
    customer_id: String,
    stage_id: String,
    reason: String,
) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let (customer, stage) = (parse_customer(&customer_id)?, parse_stage(&stage_id)?);
    backend::members::enroll(
        &state().pool,
        &admin,
        customer,
        stage,
        &reason,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/members/{customer}"));
    Ok(())
}

/// What ending a membership now would do.
#[server(prefix = "/api", endpoint = "members/preview-end")]
pub async fn preview_end(enrollment_id: String) -> Result<ChangePreview, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::members::preview_end(
        &state().pool,
        &admin,
        parse_enrollment(&enrollment_id)?,
        chrono::Utc::now(),
    )
    .await?)
}

/// Revokes (`how = revoke`) or expires (`how = expire`) a membership now, with a reason.
#[server(prefix = "/api", endpoint = "members/end")]
pub async fn end_membership(
    customer_id: String,
    enrollment_id: String,
    how: String,
    reason: String,
) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let enrollment = parse_enrollment(&enrollment_id)?;
    let customer = parse_customer(&customer_id)?;
    let ending = if parse_ending(&how)? {
        backend::members::Ending::Revoke
    } else {
        backend::members::Ending::Expire
    };
    backend::members::end(
        &state().pool,
        &admin,
        enrollment,
        ending,
        &reason,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/members/{customer}"));
    Ok(())
}

/// The memberships flagged for review.
#[server(prefix = "/api", endpoint = "members/flagged")]
pub async fn flagged_members() -> Result<Vec<(MemberSummary, EnrollmentView)>, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::members::flagged(&state().pool, &admin).await?)
}
