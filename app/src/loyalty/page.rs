//! `/admin/loyalty`: the loyalty settings, the rewards catalog, the redemption queue and the
//! ledger check. Every control is a plain form, so the page works without JavaScript.

use super::api::{
    ActOnRedemption, AddReward, CheckLedgers, DeleteReward, SaveLoyaltySettings, SaveReward,
    get_loyalty,
};
use crate::components::{ErrorNotice, SuccessNotice, textarea_text};
use crate::error::AppError;
use crate::layout::AdminLayout;
use domain::loyalty::{
    LedgerCheckView, LoyaltySettings, LoyaltyView, RedemptionView, RewardType, RewardView,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The page's actions, shared by every form on it.
#[derive(Clone, Copy)]
struct Actions {
    settings: ServerAction<SaveLoyaltySettings>,
    add: ServerAction<AddReward>,
    edit: ServerAction<SaveReward>,
    delete: ServerAction<DeleteReward>,
    act: ServerAction<ActOnRedemption>,
    check: ServerAction<CheckLedgers>,
}

/// What one finished action left behind: `None` before it ran, else its error if it failed.
type Outcome = Option<Result<(), AppError>>;

impl Actions {
    fn new() -> Self {
        Self {
            settings: ServerAction::new(),
            add: ServerAction::new(),
            edit: ServerAction::new(),
            delete: ServerAction::new(),
            act: ServerAction::new(),
            check: ServerAction::new(),
        }
    }

    fn outcomes(self) -> [Outcome; 6] {
        [
            self.settings.value().get(),
            self.add.value().get(),
            self.edit.value().get(),
            self.delete.value().get(),
            self.act.value().get(),
            self.check.value().get(),
        ]
    }

    /// Forget earlier outcomes, so only the latest submission's message shows.
    fn clear(self) {
        self.settings.value().set(None);
        self.add.value().set(None);
        self.edit.value().set(None);
        self.delete.value().set(None);
        self.act.value().set(None);
        self.check.value().set(None);
    }

    /// Successful changes so far; the page reloads when this moves.
    fn saved(self) -> usize {
        self.outcomes()
            .iter()
            .filter(|o| matches!(o, Some(Ok(()))))
            .count()
    }
}

/// The error or the success sentence of one action.
fn outcome_notice(outcome: Outcome, done: &'static str) -> Option<AnyView> {
    match outcome? {
        Ok(()) => Some(view! { <SuccessNotice message=done.to_owned()/> }.into_any()),
        Err(error) => Some(view! { <ErrorNotice error/> }.into_any()),
    }
}

/// `/admin/loyalty`.
#[component]
pub fn LoyaltyPage() -> impl IntoView {
    let actions = Actions::new();
    let generation = RwSignal::new(0usize);
    // Reload after each successful change (never after a refused one, so typed input survives).
    Effect::new(move |_| {
        if actions.saved() > 0 {
            generation.update(|g| *g += 1);
        }
    });
    let loyalty = Resource::new(move || generation.get(), |_| get_loyalty());
    view! {
        <Title text="Loyalty · Vinculum"/>
        <AdminLayout>
            <div class="page" on:submit=move |_| actions.clear()>
                <h1>"Loyalty"</h1>
                <Transition fallback=|| view! { <p class="muted">"Loading loyalty…"</p> }>
                    {move || Suspend::new(async move {
                        match loyalty.await {
                            Ok(view) => view! { <Loyalty view actions/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Loyalty(view: LoyaltyView, actions: Actions) -> impl IntoView {
    let zone = view.time_zone.clone();
    view! {
        <SettingsForm settings=view.settings.clone() actions/>
        <LedgerCheck last=view.last_check.clone() actions/>
        <section class="card" aria-labelledby="queue-heading">
            <h2 id="queue-heading">"Redemptions to handle"</h2>
            {move || outcome_notice(actions.act.value().get(), "Redemption updated.")}
            <Queue queue=view.queue.clone() actions/>
        </section>
        <section class="card" aria-labelledby="rewards-heading">
            <h2 id="rewards-heading">"Rewards catalog"</h2>
            <p class="muted">{format!("Dates and times are in the winery's time zone, {zone}.")}</p>
            {move || outcome_notice(actions.edit.value().get(), "Reward saved.")}
            {move || outcome_notice(actions.delete.value().get(), "Reward removed from the catalog.")}
            <Catalog rewards=view.rewards.clone() actions/>
        </section>
        <section class="card" aria-labelledby="add-reward-heading">
            <h2 id="add-reward-heading">"Add a reward"</h2>
            <ActionForm action=actions.add attr:class="stack" attr:aria-label="Add a reward">
                <RewardFields id_prefix="add".to_owned()/>
                <button type="submit" class="primary" disabled=move || actions.add.pending().get()>"Add reward"</button>
            </ActionForm>
            {move || outcome_notice(actions.add.value().get(), "Reward added.")}
        </section>
    }
}

#[component]
fn SettingsForm(settings: LoyaltySettings, actions: Actions) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            <p class="muted">
                {format!(
                    "Members earn points on the qualifying part of each paid order once they have been members \
                     for {} days in total. Points never expire.",
                    settings.min_membership_days
                )}
            </p>
            <ActionForm action=actions.settings attr:class="stack" attr:aria-label="Loyalty settings">
                <div class="field-grid">
                    <label>
                        "Points per dollar"
                        <input type="text" inputmode="decimal" name="points_per_dollar" required
                            value=settings.points_per_dollar_text()/>
                    </label>
                    <label>
                        "Bonus (%)"
                        <input type="text" inputmode="decimal" name="bonus_percent" required
                            value=settings.bonus.to_plain_string()/>
                    </label>
                    <label>
                        "Days of membership before earning"
                        <input type="text" inputmode="numeric" name="min_membership_days" required
                            value=settings.min_membership_days.to_string()/>
                    </label>
                    <label>
                        "Value of a point ($)"
                        <input type="text" inputmode="decimal" name="point_value" required
                            value=settings.point_value_text()/>
                    </label>
                    <label>
                        "Minimum points to redeem"
                        <input type="text" inputmode="numeric" name="min_points_for_redemption" required
                            value=settings.min_points_for_redemption.to_string()/>
                    </label>
                </div>
                <label>
                    "Status"
                    <select name="is_active">
                        <option value="true" selected=settings.is_active>"On: members earn points"</option>
                        <option value="false" selected=!settings.is_active>
                            "Off: nobody earns; balances and rewards stay"
                        </option>
                    </select>
                </label>
                <button type="submit" class="primary">"Save settings"</button>
            </ActionForm>
            {move || outcome_notice(actions.settings.value().get(), "Loyalty settings saved.")}
        </section>
    }
}

#[component]
fn LedgerCheck(last: Option<LedgerCheckView>, actions: Actions) -> impl IntoView {
    let summary = match last {
        None => {
            view! { <p data-testid="ledger-check">"The ledgers have not been checked yet."</p> }
                .into_any()
        }
        Some(check) if check.violation_count == 0 => view! {
            <p data-testid="ledger-check">{format!(
                "Checked {}: all {} ledgers add up.",
                check.checked_label, check.customers_checked
            )}</p>
        }
        .into_any(),
        Some(check) => view! {
            <p class="notice warn" role="note" data-testid="ledger-check">{format!(
                "Checked {}: {} of {} ledgers do not add up.",
                check.checked_label, check.violation_count, check.customers_checked
            )}</p>
            <ul>{check.violations.into_iter().map(|v| view! { <li>{v}</li> }).collect_view()}</ul>
        }
        .into_any(),
    };
    view! {
        <section class="card" aria-labelledby="check-heading">
            <h2 id="check-heading">"Ledger check"</h2>
            <p class="muted">
                "Every night Vinculum checks that each member's balance equals the sum of their ledger and \
                 never went below zero."
            </p>
            {summary}
            <ActionForm action=actions.check attr:class="inline">
                <button type="submit" disabled=move || actions.check.pending().get()>"Check now"</button>
            </ActionForm>
            {move || outcome_notice(actions.check.value().get(), "Ledgers checked.")}
            <p><a href="/admin/loyalty/ledger.csv" download rel="external">
                "Download the whole points ledger (CSV)"
            </a></p>
        </section>
    }
}

#[component]
fn Queue(queue: Vec<RedemptionView>, actions: Actions) -> impl IntoView {
    if queue.is_empty() {
        return view! { <p class="empty">"Nothing waiting: no pending or fulfilled redemptions."</p> }
            .into_any();
    }
    view! {
        <table class="members">
            <thead>
                <tr><th scope="col">"Redeemed"</th><th scope="col">"Member"</th><th scope="col">"Reward"</th>
                    <th scope="col">"Points"</th><th scope="col">"Status"</th><th scope="col">"Action"</th></tr>
            </thead>
            <tbody>
                {queue.into_iter().map(|r| view! { <QueueRow r actions/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn QueueRow(r: RedemptionView, actions: Actions) -> impl IntoView {
    let id = r.id.to_string();
    let button = |action: &'static str, text: &'static str, label: String| {
        let id = id.clone();
        view! {
            <ActionForm action=actions.act attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="action" value=action/>
                <button type="submit" aria-label=label>{text}</button>
            </ActionForm>
        }
    };
    let what = format!("{} for {}", r.reward, r.member);
    let controls = if r.status == "pending" {
        view! {
            {button("fulfil", "Fulfil", format!("Fulfil {what}"))}
            " "
            {button("cancel", "Cancel", format!("Cancel {what}"))}
        }
        .into_any()
    } else {
        button("refund", "Refund", format!("Refund {what}")).into_any()
    };
    view! {
        <tr>
            <td>{r.redeemed_label}</td>
            <td><a href=format!("/admin/members/{}", r.customer_id)>{r.member}</a></td>
            <td>{r.reward}</td>
            <td>{r.points}</td>
            <td>{r.status}</td>
            <td>{controls}</td>
        </tr>
    }
}

#[component]
fn Catalog(rewards: Vec<RewardView>, actions: Actions) -> impl IntoView {
    if rewards.is_empty() {
        return view! { <p class="empty">"No rewards yet. Add the first one below."</p> }
            .into_any();
    }
    view! {
        <ul class="rewards">
            {rewards.into_iter().map(|reward| view! { <RewardCard reward actions/> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn RewardCard(reward: RewardView, actions: Actions) -> impl IntoView {
    let id = reward.id.to_string();
    let name = reward.values.name.clone();
    let heading_id = format!("reward-{id}-name");
    let stock = match reward.values.quantity_available {
        Some(total) => format!("{} of {total} redeemed", reward.quantity_redeemed),
        None => format!("{} redeemed, no stock limit", reward.quantity_redeemed),
    };
    let limit = reward
        .values
        .per_customer_limit
        .map_or_else(|| "No limit".to_owned(), |n| format!("{n} per member"));
    let window = reward
        .window_label
        .clone()
        .unwrap_or_else(|| "Always".to_owned());
    let edit_label = format!("Edit {name}");
    let labelled_by = heading_id.clone();
    let (edit_id, delete_id, prefix) = (id.clone(), id.clone(), format!("edit-{id}"));
    let (save_text, remove_label) = (format!("Save {name}"), format!("Remove {name}"));
    let remove_prompt = format!(
        "Remove {name} from the catalog? Members can no longer redeem it; \
         redemptions already made stay in the queue and in their history."
    );
    let remove_text = format!("Remove {name} permanently");
    let active = reward.is_active;
    let description = reward.values.description.clone();
    view! {
        <li class="stage" class:inactive=!active>
            <article aria-labelledby=labelled_by>
                <header class="stage-head">
                    <h3 id=heading_id>{name}</h3>
                    <span class="badge" class:off=!active>
                        {if active { "Active" } else { "Inactive" }}
                    </span>
                </header>
                {description.map(|d| view! { <p>{d}</p> })}
                <dl class="facts">
                    <div><dt>"Type"</dt><dd>{reward.values.reward_type.label()}</dd></div>
                    <div><dt>"Points"</dt><dd>{reward.values.points_required}</dd></div>
                    <div><dt>"Stock"</dt><dd>{stock}</dd></div>
                    <div><dt>"Per member"</dt><dd>{limit}</dd></div>
                    <div><dt>"Available"</dt><dd>{window}</dd></div>
                </dl>
                <details class="edit">
                    <summary aria-label=edit_label.clone()>"Edit"</summary>
                    <ActionForm action=actions.edit attr:class="stack" attr:aria-label=edit_label>
                        <input type="hidden" name="id" value=edit_id/>
                        <RewardFields id_prefix=prefix initial=reward/>
                        <label>
                            "Status"
                            <select name="is_active">
                                <option value="true" selected=active>"Active: members can redeem it"</option>
                                <option value="false" selected=!active>"Inactive: hidden from members"</option>
                            </select>
                        </label>
                        <button type="submit" class="primary">{save_text}</button>
                    </ActionForm>
                </details>
                <details class="danger">
                    <summary aria-label=remove_label>"Remove"</summary>
                    <p>{remove_prompt}</p>
                    <ActionForm action=actions.delete attr:class="inline">
                        <input type="hidden" name="id" value=delete_id/>
                        <button type="submit" class="danger">{remove_text}</button>
                    </ActionForm>
                </details>
            </article>
        </li>
    }
}

/// The reward fields shared by the add and edit forms.
#[component]
fn RewardFields(id_prefix: String, #[prop(optional)] initial: Option<RewardView>) -> impl IntoView {
    let v = initial.as_ref().map(|r| &r.values);
    let chosen = v.map_or(RewardType::Merchandise, |v| v.reward_type);
    let text = |f: &dyn Fn(&domain::loyalty::RewardValues) -> Option<String>| {
        v.and_then(f).unwrap_or_default()
    };
    let name = text(&|v| Some(v.name.clone()));
    let description = text(&|v| v.description.clone());
    let image = text(&|v| v.image_url.clone());
    let points = text(&|v| Some(v.points_required.to_string()));
    let quantity = text(&|v| v.quantity_available.map(|n| n.to_string()));
    let limit = text(&|v| v.per_customer_limit.map(|n| n.to_string()));
    let from = initial
        .as_ref()
        .and_then(|r| r.from_local.clone())
        .unwrap_or_default();
    let until = initial
        .as_ref()
        .and_then(|r| r.until_local.clone())
        .unwrap_or_default();
    let hint_id = format!("{id_prefix}-window-hint");
    view! {
        <div class="field-grid">
            <label>
                "Type"
                <select name="reward_type">
                    {RewardType::ALL
                        .into_iter()
                        .map(|t| view! { <option value=t.as_str() selected=t == chosen>{t.label()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>"Name" <input type="text" name="name" required maxlength="255" value=name/></label>
            <label>
                "Points required"
                <input type="text" inputmode="numeric" name="points_required" required value=points/>
            </label>
            <label>
                "Stock (empty: no limit)"
                <input type="text" inputmode="numeric" name="quantity_available" value=quantity/>
            </label>
            <label>
                "Limit per member (empty: none)"
                <input type="text" inputmode="numeric" name="per_customer_limit" value=limit/>
            </label>
            <label>"Image address" <input type="url" name="image_url" maxlength="1000" value=image/></label>
            <label>
                "Available from"
                <input type="datetime-local" name="available_from" aria-describedby=hint_id.clone() value=from/>
            </label>
            <label>
                "Available until"
                <input type="datetime-local" name="available_until" aria-describedby=hint_id.clone() value=until/>
            </label>
        </div>
        <label>"Description" <textarea name="description" rows="2" maxlength="2000">{textarea_text(&description)}</textarea></label>
        <p id=hint_id class="muted small">"Leave the dates empty for a reward that is always available. \
            Wine at a points price needs both dates."</p>
    }
}
