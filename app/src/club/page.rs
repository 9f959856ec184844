//! `/admin/club`: the club program and its stage ladder. Every control is a plain form (an
//! `ActionForm`), so the page works without JavaScript; with it, changes apply in place.

use super::api::{
    AddStage, DeleteStage, MoveStage, SetStageActive, UpdateProgram, UpdateStage, get_ladder,
    preview_stage_change,
};
use super::stage_form::StageFields;
use crate::components::{ErrorNotice, SuccessNotice, textarea_text};
use crate::error::AppError;
use crate::layout::AdminLayout;
use domain::club::{self as rules, LadderView, ProgramView, Rung, StageView, WhatIf};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The page's actions, shared by every form on it.
#[derive(Clone, Copy)]
struct Actions {
    program: ServerAction<UpdateProgram>,
    add: ServerAction<AddStage>,
    update: ServerAction<UpdateStage>,
    moved: ServerAction<MoveStage>,
    active: ServerAction<SetStageActive>,
    delete: ServerAction<DeleteStage>,
}

impl Actions {
    fn new() -> Self {
        Self {
            program: ServerAction::new(),
            add: ServerAction::new(),
            update: ServerAction::new(),
            moved: ServerAction::new(),
            active: ServerAction::new(),
            delete: ServerAction::new(),
        }
    }

    /// Forget earlier outcomes, so only the latest submission's message shows.
    fn clear(self) {
        self.program.value().set(None);
        self.add.value().set(None);
        self.update.value().set(None);
        self.moved.value().set(None);
        self.active.value().set(None);
        self.delete.value().set(None);
    }

    /// Successful changes so far; the ladder reloads when this moves.
    fn saved(self) -> usize {
        let ok = |v: Option<bool>| usize::from(v == Some(true));
        ok(self.program.value().with(|v| v.as_ref().map(Result::is_ok)))
            + ok(self.add.value().with(|v| v.as_ref().map(Result::is_ok)))
            + ok(self.update.value().with(|v| v.as_ref().map(Result::is_ok)))
            + ok(self.moved.value().with(|v| v.as_ref().map(Result::is_ok)))
            + ok(self.active.value().with(|v| v.as_ref().map(Result::is_ok)))
            + ok(self.delete.value().with(|v| v.as_ref().map(Result::is_ok)))
    }
}

/// `/admin/club`.
#[component]
pub fn ClubPage() -> impl IntoView {
    let actions = Actions::new();
    let generation = RwSignal::new(0usize);
    // Reload after each successful change (never after a refused one, so typed input survives).
    Effect::new(move |_| {
        let saved = actions.saved();
        if saved > 0 {
            generation.update(|g| *g += 1);
        }
    });
    let ladder = Resource::new(move || generation.get(), |_| get_ladder());
    // The what-if preview is a GET form: its values are in the address, so it works without
    // JavaScript and can be shared.
    let query = use_query_map();
    let what_if_query = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        (
            get("whatif"),
            get("name"),
            get("discount_percentage"),
            get("duration_months"),
            get("min_purchase"),
        )
    };
    let what_if = Resource::new(
        what_if_query,
        |(id, name, discount, months, min)| async move {
            if id.is_empty() {
                None
            } else {
                Some((
                    id.clone(),
                    preview_stage_change(id, name, discount, months, min).await,
                ))
            }
        },
    );

    view! {
        <Title text="Club program · Vinculum"/>
        <AdminLayout>
            <div class="page" on:submit=move |_| actions.clear()>
                <h1>"Club program"</h1>
                <Transition fallback=|| view! { <p class="muted">"Loading the ladder…"</p> }>
                    {move || Suspend::new(async move {
                        let preview = what_if.await;
                        match ladder.await {
                            Ok(ladder) => view! { <Builder ladder actions preview/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

/// A what-if preview: the stage id asked about, and the answer.
type Preview = (String, Result<WhatIf, AppError>);

#[component]
fn Builder(ladder: LadderView, actions: Actions, preview: Option<Preview>) -> impl IntoView {
    let currency = ladder.currency.clone();
    let rungs = ladder.rungs();
    let top_down: Vec<(usize, StageView)> =
        ladder.stages.iter().cloned().enumerate().rev().collect();
    let count = ladder.stages.len();
    view! {
        <ProgramForm program=ladder.program.clone() actions/>
        <section class="card" aria-labelledby="ladder-heading">
            <h2 id="ladder-heading">"Stage ladder"</h2>
            <p class="muted">
                "The top stage is the best. One order reaching a stage's minimum enrolls a customer; "
                "going up the ladder, minimums must rise and durations and discounts must not fall."
            </p>
            <StageOutcome actions/>
            {if top_down.is_empty() {
                view! { <p class="empty">"No stages yet. Add the first one below."</p> }.into_any()
            } else {
                view! {
                    <ol class="ladder" reversed>
                        {top_down
                            .into_iter()
                            .map(|(index, stage)| {
                                let preview = preview
                                    .clone()
                                    .filter(|(id, _)| *id == stage.id.to_string())
                                    .map(|(_, result)| result);
                                view! {
                                    <StageCard stage index count rungs=rungs.clone()
                                        currency=currency.clone() actions preview/>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </section>
        <AddStageForm ladder actions/>
    }
}

#[component]
fn ProgramForm(program: ProgramView, actions: Actions) -> impl IntoView {
    let action = actions.program;
    let error = move || action.value().get().and_then(Result::err);
    let saved = move || {
        action
            .value()
            .get()
            .and_then(Result::ok)
            .map(|p| format!("Saved {}.", p.name))
    };
    view! {
        <section class="card" aria-labelledby="program-heading">
            <h2 id="program-heading">"Program"</h2>
            <ActionForm action attr:class="stack" attr:aria-label="Program settings">
                <input type="hidden" name="version" value=program.version.to_string()/>
                <label>
                    "Program name"
                    <input type="text" name="name" required maxlength="120" value=program.name.clone()/>
                </label>
                <label>
                    "Description"
                    <textarea name="description" rows="3" maxlength="2000">
                        {textarea_text(&program.description.clone().unwrap_or_default())}
                    </textarea>
                </label>
                <label>
                    "Status"
                    <select name="is_active">
                        <option value="true" selected=program.is_active>"Active: admits new members"</option>
                        <option value="false" selected=!program.is_active>
                            "Paused: admits nobody new; members keep their membership"
                        </option>
                    </select>
                </label>
                <button type="submit" class="primary">"Save program"</button>
            </ActionForm>
            {move || error().map(|e| view! { <ErrorNotice error=e/> })}
            {move || saved().map(|m| view! { <SuccessNotice message=m/> })}
        </section>
    }
}

/// The outcome of the latest change made from a stage card.
#[component]
fn StageOutcome(actions: Actions) -> impl IntoView {
    let error = move || {
        [
            actions.update.value().get().and_then(Result::err),
            actions.moved.value().get().and_then(Result::err),
            actions.active.value().get().and_then(Result::err),
            actions.delete.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    };
    let success = move || {
        let named = |stage: Option<StageView>, what: &str| {
            stage.map(|s| format!("{} {what}.", s.values.name))
        };
        named(actions.update.value().get().and_then(Result::ok), "saved")
            .or_else(|| named(actions.moved.value().get().and_then(Result::ok), "moved"))
            .or_else(|| {
                actions.active.value().get().and_then(Result::ok).map(|s| {
                    format!(
                        "{} {}.",
                        s.values.name,
                        if s.is_active {
                            "activated"
                        } else {
                            "deactivated"
                        }
                    )
                })
            })
            .or_else(|| {
                actions
                    .delete
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|()| "Stage deleted.".to_owned())
            })
    };
    view! {
        {move || error().map(|e| view! { <ErrorNotice error=e/> })}
        {move || success().map(|m| view! { <SuccessNotice message=m/> })}
    }
}

/// The hidden fields that identify a stage and the version a form was rendered from.
fn stage_identity(id: String, version: i32) -> impl IntoView {
    view! {
        <input type="hidden" name="stage_id" value=id/>
        <input type="hidden" name="version" value=version.to_string()/>
    }
}

#[component]
fn StageCard(
    stage: StageView,
    index: usize,
    count: usize,
    rungs: Vec<Rung>,
    currency: String,
    actions: Actions,
    /// The what-if preview of this stage, when one was asked for.
    preview: Option<Result<WhatIf, AppError>>,
) -> impl IntoView {
    let id = stage.id.to_string();
    let (initial, previewing) = match &preview {
        Some(Ok(w)) => (w.values.clone(), true),
        _ => (stage.values.clone(), false),
    };
    let report = preview.map(|result| match result {
        Ok(w) => view! {
            <div class="preview" role="status" data-testid="what-if">
                <h4>"If you save these values"</h4>
                <ul>{w.effects.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                {w.problem.map(|p| view! { <p class="notice error">{format!("Saving would be refused: {p}")}</p> })}
            </div>
        }
        .into_any(),
        Err(error) => view! { <ErrorNotice error/> }.into_any(),
    });
    let what_if_form = view! {
        <details class="whatif" open=previewing>
            <summary>"What if…"</summary>
            <form method="get" action="/admin/club" class="inline-form" aria-label=format!("What if {} changed", stage.values.name)>
                <input type="hidden" name="whatif" value=id.clone()/>
                <input type="hidden" name="name" value=stage.values.name.clone()/>
                <label>"Discount (%)"
                    <input type="text" inputmode="decimal" name="discount_percentage" size="6" value=initial.discount.to_plain_string()/></label>
                <label>"Duration (months)"
                    <input type="text" inputmode="numeric" name="duration_months" size="4" value=initial.duration_months.to_string()/></label>
                <label>"Minimum purchase"
                    <input type="text" inputmode="decimal" name="min_purchase" size="8" value=initial.min_purchase.to_decimal_string()/></label>
                <button type="submit">"Show the effect"</button>
            </form>
            {report}
        </details>
    };
    let version = stage.version;
    let name = stage.values.name.clone();
    let heading_id = format!("stage-{id}-name");
    let labelled_by = heading_id.clone();
    let check = Callback::new(move |values| {
        rules::update_rung(&rungs, index, values)
            .err()
            .map(|p| p.message)
    });
    let (toggle_value, toggle_text) = if stage.is_active {
        ("false", "Deactivate")
    } else {
        ("true", "Activate")
    };
    let labels = (
        format!("Move up: {name}"),
        format!("Move down: {name}"),
        format!("{toggle_text} {name}"),
        format!("Edit {name}"),
        format!("Save {name}"),
        format!("Delete {name}"),
    );
    let (up_label, down_label, toggle_label, edit_label, save_label, delete_label) = labels;
    let enrollments = stage.enrollment_count;
    let deletion = if enrollments == 0 {
        let prompt =
            format!("Delete {name}? Nobody has ever been enrolled in it. This cannot be undone.");
        let button = format!("Delete {name} permanently");
        let identity = stage_identity(id.clone(), version);
        view! {
            <details class="danger">
                <summary aria-label=delete_label>"Delete"</summary>
                <p>{prompt}</p>
                <ActionForm action=actions.delete attr:class="inline">
                    {identity}
                    <button type="submit" class="danger">{button}</button>
                </ActionForm>
            </details>
        }
        .into_any()
    } else {
        let plural = if enrollments == 1 {
            "enrollment references"
        } else {
            "enrollments reference"
        };
        view! {
            <p class="muted small">
                {format!("{enrollments} {plural} {name}, so it cannot be deleted; deactivate it instead.")}
            </p>
        }
        .into_any()
    };
    let up = stage_identity(id.clone(), version);
    let down = stage_identity(id.clone(), version);
    let toggle = stage_identity(id.clone(), version);
    let edit = stage_identity(id.clone(), version);
    view! {
        <li class="stage" class:inactive=!stage.is_active>
            <article aria-labelledby=labelled_by>
                <header class="stage-head">
                    <h3 id=heading_id>{name}</h3>
                    <span class="badge" class:off=!stage.is_active>
                        {if stage.is_active { "Active" } else { "Inactive" }}
                    </span>
                </header>
                <dl class="facts">
                    <div><dt>"Discount"</dt><dd>{stage.values.discount.to_string()}</dd></div>
                    <div><dt>"Duration"</dt><dd>{format!("{} months", stage.values.duration_months)}</dd></div>
                    <div><dt>"Minimum purchase"</dt><dd>{stage.values.min_purchase.display(&currency)}</dd></div>
                    <div><dt>"Members"</dt><dd>{stage.active_member_count}</dd></div>
                </dl>
                <div class="controls">
                    <ActionForm action=actions.moved attr:class="inline">
                        {up}
                        <input type="hidden" name="direction" value="up"/>
                        <button type="submit" disabled=index + 1 == count aria-label=up_label>"Move up"</button>
                    </ActionForm>
                    <ActionForm action=actions.moved attr:class="inline">
                        {down}
                        <input type="hidden" name="direction" value="down"/>
                        <button type="submit" disabled=index == 0 aria-label=down_label>"Move down"</button>
                    </ActionForm>
                    <ActionForm action=actions.active attr:class="inline">
                        {toggle}
                        <input type="hidden" name="active" value=toggle_value/>
                        <button type="submit" aria-label=toggle_label>{toggle_text}</button>
                    </ActionForm>
                </div>
                {what_if_form}
                <details class="edit" open=previewing>
                    <summary aria-label=edit_label.clone()>"Edit"</summary>
                    <ActionForm action=actions.update attr:class="stack" attr:aria-label=edit_label>
                        {edit}
                        <StageFields id_prefix=format!("edit-{id}") initial=initial check/>
                        <button type="submit" class="primary">{save_label}</button>
                    </ActionForm>
                </details>
                {deletion}
            </article>
        </li>
    }
}

#[component]
fn AddStageForm(ladder: LadderView, actions: Actions) -> impl IntoView {
    let action = actions.add;
    let count = ladder.stages.len();
    let position = RwSignal::new(count + 1);
    let rungs = ladder.rungs();
    let check = Callback::new(move |values| {
        let rung = Rung {
            id: None,
            values,
            is_active: true,
        };
        rules::insert_rung(&rungs, rung, position.get())
            .err()
            .map(|p| p.message)
    });
    let names: Vec<String> = ladder
        .stages
        .iter()
        .map(|s| s.values.name.clone())
        .collect();
    let option_label = move |p: usize| -> String {
        match (p, names.len()) {
            (_, 0) => "The first stage".to_owned(),
            (p, n) if p == n + 1 => format!("Top of the ladder (above {})", names[n - 1]),
            (1, _) => format!("Bottom of the ladder (below {})", names[0]),
            (p, _) => format!("Between {} and {}", names[p - 2], names[p - 1]),
        }
    };
    let error = move || action.value().get().and_then(Result::err);
    let added = move || {
        action
            .value()
            .get()
            .and_then(Result::ok)
            .map(|s| format!("{} added.", s.values.name))
    };
    view! {
        <section class="card" aria-labelledby="add-heading">
            <h2 id="add-heading">"Add a stage"</h2>
            <ActionForm action attr:class="stack" attr:aria-label="Add a stage">
                <input type="hidden" name="form_key" value=ladder.add_form_key.to_string()/>
                <StageFields id_prefix="add".to_owned() check/>
                <label>
                    "Position"
                    <select name="position" on:change=move |ev| {
                        if let Ok(p) = event_target_value(&ev).parse() {
                            position.set(p);
                        }
                    }>
                        {(1..=count + 1)
                            .rev()
                            .map(|p| view! { <option value=p.to_string() selected=p == count + 1>{option_label(p)}</option> })
                            .collect_view()}
                    </select>
                </label>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Add stage"</button>
            </ActionForm>
            {move || error().map(|e| view! { <ErrorNotice error=e/> })}
            {move || added().map(|m| view! { <SuccessNotice message=m/> })}
        </section>
    }
}
