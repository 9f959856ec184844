//! `/admin/members/:id`: one member, their timeline, and the manual changes. Each change is a
//! two-step form: a GET "preview" that shows the resulting dates on the page, then a confirm form
//! that commits — so it works, and asks first, with or without JavaScript.

use super::api::{EndMembership, EnrollMember, get_member, preview_end, preview_enroll};
use crate::components::{ErrorNotice, textarea_text};
use crate::layout::AdminLayout;
use crate::loyalty::MemberPoints;
use domain::members::{ChangePreview, MemberDetail, TimelineKind};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/admin/members/:id`.
#[component]
pub fn MemberPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let enroll = ServerAction::<EnrollMember>::new();
    let end = ServerAction::<EndMembership>::new();
    let detail = Resource::new(
        move || (id(), enroll.version().get(), end.version().get()),
        |(id, _, _)| get_member(id),
    );
    let preview = Resource::new(
        move || {
            (
                id(),
                param("enroll_stage"),
                param("end"),
                param("enrollment"),
                enroll.version().get(),
                end.version().get(),
            )
        },
        |(id, stage, how, enrollment, _, _)| async move {
            if !stage.is_empty() {
                Some(preview_enroll(id, stage).await)
            } else if !how.is_empty() && !enrollment.is_empty() {
                Some(preview_end(enrollment).await)
            } else {
                None
            }
        },
    );
    view! {
        <Title text="Member · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <p><a href="/admin/members">"← All members"</a></p>
                {move || enroll.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                {move || end.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                <Transition fallback=|| view! { <p class="muted">"Loading the member…"</p> }>
                    {move || Suspend::new(async move {
                        let (stage, how, reason) = (param("enroll_stage"), param("end"), param("reason"));
                        let preview = preview.await;
                        match detail.await {
                            Ok(member) => view! { <Member member preview stage how reason enroll end/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Member(
    member: MemberDetail,
    preview: Option<Result<ChangePreview, crate::error::AppError>>,
    stage: String,
    how: String,
    reason: String,
    enroll: ServerAction<EnrollMember>,
    end: ServerAction<EndMembership>,
) -> impl IntoView {
    let customer_id = member.id.to_string();
    let status = match &member.active {
        Some(a) => format!("{} member until {}", a.stage, a.expires_label),
        None => "Not a member".to_owned(),
    };
    let change = match &member.active {
        None => {
            view! { <EnrollPanel member=member.clone() preview stage reason enroll/> }.into_any()
        }
        Some(active) => {
            let active = active.clone();
            view! { <EndPanel customer_id=customer_id.clone() active preview how reason end/> }
                .into_any()
        }
    };
    view! {
        <h1>{member.name.clone()}</h1>
        <section class="card" aria-labelledby="membership-heading">
            <h2 id="membership-heading">"Membership"</h2>
            <p data-testid="member-status">{status}</p>
            {member.active.as_ref().and_then(|a| a.flag_reason.clone()).map(|r| view! {
                <p class="notice warn" role="note">{format!("Flagged for review: {r}")}</p>
            })}
            <dl class="facts">
                <div><dt>"E-mail"</dt><dd>{member.email.clone()}</dd></div>
                <div><dt>"Phone"</dt><dd>{member.phone.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
            </dl>
            {change}
        </section>
        <MemberPoints customer_id=customer_id.clone() currency=member.currency.clone()/>
        <section class="card" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <Timeline member/>
        </section>
    }
}

#[component]
fn EnrollPanel(
    member: MemberDetail,
    preview: Option<Result<ChangePreview, crate::error::AppError>>,
    stage: String,
    reason: String,
    enroll: ServerAction<EnrollMember>,
) -> impl IntoView {
    let path = format!("/admin/members/{}", member.id);
    let confirm = match preview {
        Some(Ok(p)) => {
            let stage = stage.clone();
            let reason = reason.clone();
            view! {
                <div class="preview" role="region" aria-label="Enrollment preview">
                    <p>{format!(
                        "{} will join {} now ({}); the membership expires on {} unless a qualifying order renews it.",
                        p.customer, p.stage, p.starts_label.clone().unwrap_or_default(), p.ends_label
                    )}</p>
                    <ActionForm action=enroll attr:class="inline" attr:aria-label="Confirm enrollment">
                        <input type="hidden" name="customer_id" value=member.id.to_string()/>
                        <input type="hidden" name="stage_id" value=stage/>
                        <input type="hidden" name="reason" value=reason/>
                        <button type="submit" class="primary">"Confirm enrollment"</button>
                    </ActionForm>
                    " "<a href=path.clone()>"Cancel"</a>
                </div>
            }
            .into_any()
        }
        Some(Err(error)) => view! { <ErrorNotice error/> }.into_any(),
        None => ().into_any(),
    };
    view! {
        <h3>"Enroll manually"</h3>
        <form method="get" action=path class="stack" aria-label="Enroll manually">
            <label>
                "Stage"
                <select name="enroll_stage" required>
                    {member
                        .stages
                        .iter()
                        .map(|(id, name)| {
                            let id = id.to_string();
                            let selected = id == stage;
                            view! { <option value=id selected=selected>{name.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>"Reason" <textarea name="reason" rows="2" required maxlength="500">{textarea_text(&reason)}</textarea></label>
            <button type="submit">"Preview enrollment"</button>
        </form>
        {confirm}
    }
}

#[component]
fn EndPanel(
    customer_id: String,
    active: domain::members::EnrollmentView,
    preview: Option<Result<ChangePreview, crate::error::AppError>>,
    how: String,
    reason: String,
    end: ServerAction<EndMembership>,
) -> impl IntoView {
    let path = format!("/admin/members/{customer_id}");
    let verb = if how == "expire" { "expire" } else { "revoke" };
    let confirm = match preview {
        Some(Ok(p)) => {
            let how = how.clone();
            let reason = reason.clone();
            view! {
                <div class="preview" role="region" aria-label="Change preview">
                    <p>{format!(
                        "{}'s {} membership will end now ({}) instead of {}.",
                        p.customer, p.stage, p.ends_label, p.was_expiring_label.clone().unwrap_or_default()
                    )}</p>
                    <ActionForm action=end attr:class="inline" attr:aria-label="Confirm the change">
                        <input type="hidden" name="customer_id" value=customer_id.clone()/>
                        <input type="hidden" name="enrollment_id" value=active.id.to_string()/>
                        <input type="hidden" name="how" value=how/>
                        <input type="hidden" name="reason" value=reason/>
                        <button type="submit" class="danger">{format!("Confirm: {verb} the membership")}</button>
                    </ActionForm>
                    " "<a href=path.clone()>"Cancel"</a>
                </div>
            }
            .into_any()
        }
        Some(Err(error)) => view! { <ErrorNotice error/> }.into_any(),
        None => ().into_any(),
    };
    let default_reason = if reason.is_empty() {
        active.flag_reason.clone().unwrap_or_default()
    } else {
        reason.clone()
    };
    view! {
        <h3>"End the membership"</h3>
        <form method="get" action=path class="stack" aria-label="End the membership">
            <input type="hidden" name="enrollment" value=active.id.to_string()/>
            <label>
                "How"
                <select name="end">
                    <option value="revoke" selected=how != "expire">"Revoke (for example after a refund)"</option>
                    <option value="expire" selected=how == "expire">"Expire now"</option>
                </select>
            </label>
            <label>"Reason" <textarea name="reason" rows="2" required maxlength="500">{textarea_text(&default_reason)}</textarea></label>
            <button type="submit">"Preview"</button>
        </form>
        {confirm}
    }
}

#[component]
fn Timeline(member: MemberDetail) -> impl IntoView {
    let currency = member.currency.clone();
    if member.timeline.is_empty() {
        return view! { <p class="empty">"Nothing has happened yet."</p> }.into_any();
    }
    view! {
        <ol class="timeline">
            {member
                .timeline
                .into_iter()
                .map(|event| {
                    let text = match event.kind {
                        TimelineKind::Order { crm_id, qualifying, total, status } => format!(
                            "Order {crm_id}: {} ({status}){}",
                            total.display(&currency),
                            qualifying.map(|q| format!(", {} qualifying", q.display(&currency))).unwrap_or_default()
                        ),
                        TimelineKind::Enrolled { stage, expires_label } => format!("Joined {stage}, until {expires_label}"),
                        TimelineKind::Renewed { stage, expires_label } => format!("Renewed {stage}, until {expires_label}"),
                        TimelineKind::Upgraded { from, to, expires_label } => format!("Upgraded from {from} to {to}, until {expires_label}"),
                        TimelineKind::Ended { stage, status, reason } => format!(
                            "{stage} membership {status}{}",
                            reason.filter(|r| r != &status).map(|r| format!(": {r}")).unwrap_or_default()
                        ),
                        TimelineKind::Flagged { stage, reason } => format!("{stage} membership flagged for review: {}", reason.unwrap_or_default()),
                        TimelineKind::Audit { action, actor, reason } => format!(
                            "{actor}: {action}{}",
                            reason.map(|r| format!(" ({r})")).unwrap_or_default()
                        ),
                    };
                    view! { <li><time>{event.at_label}</time>" "<span>{text}</span></li> }
                })
                .collect_view()}
        </ol>
    }
    .into_any()
}
