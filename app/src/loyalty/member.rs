//! A member's points on their admin page: balance and value, progress toward earning, the ledger
//! with its running balance, their redemptions, and the forms to redeem a reward for them or to
//! adjust their points.

use super::api::{AdjustPoints, RedeemForMember, get_member_points};
use crate::components::{ErrorNotice, SuccessNotice};
use domain::loyalty::{LedgerRowView, MemberPointsView, RedemptionView, RewardView};
use leptos::prelude::*;

/// The points section of `/admin/members/:id`.
#[component]
pub fn MemberPoints(customer_id: String, currency: String) -> impl IntoView {
    let redeem = ServerAction::<RedeemForMember>::new();
    let adjust = ServerAction::<AdjustPoints>::new();
    let generation = RwSignal::new(0usize);
    // Reload after a successful change only, so a refused form keeps what was typed.
    Effect::new(move |_| {
        let ok = |v: Option<bool>| v == Some(true);
        if ok(redeem.value().with(|v| v.as_ref().map(Result::is_ok)))
            || ok(adjust.value().with(|v| v.as_ref().map(Result::is_ok)))
        {
            generation.update(|g| *g += 1);
        }
    });
    let id = customer_id.clone();
    let points = Resource::new(
        move || generation.get(),
        move |_| get_member_points(id.clone()),
    );
    let clear = move |_| {
        redeem.value().set(None);
        adjust.value().set(None);
    };
    let notice = move || {
        let balance = |verb: &str, after: i32| format!("{verb} The balance is now {after} points.");
        match (redeem.value().get(), adjust.value().get()) {
            (Some(Err(error)), _) | (_, Some(Err(error))) => {
                view! { <ErrorNotice error/> }.into_any()
            }
            (Some(Ok(after)), _) => {
                view! { <SuccessNotice message=balance("Reward redeemed.", after)/> }.into_any()
            }
            (_, Some(Ok(after))) => {
                view! { <SuccessNotice message=balance("Points adjusted.", after)/> }.into_any()
            }
            (None, None) => ().into_any(),
        }
    };
    view! {
        <section class="card" aria-labelledby="points-heading" on:submit=clear>
            <h2 id="points-heading">"Loyalty points"</h2>
            {notice}
            <Transition fallback=|| view! { <p class="muted">"Loading points…"</p> }>
                {move || {
                    let customer_id = customer_id.clone();
                    let currency = currency.clone();
                    Suspend::new(async move {
                        match points.await {
                            Ok(view) => view! { <Points view customer_id currency redeem adjust/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Points(
    view: MemberPointsView,
    customer_id: String,
    currency: String,
    redeem: ServerAction<RedeemForMember>,
    adjust: ServerAction<AdjustPoints>,
) -> impl IntoView {
    let progress = if view.earning {
        "Earning points on qualifying orders.".to_owned()
    } else if i64::from(view.progress_days) >= i64::from(view.threshold_days) {
        "Not earning now: points are earned only while a member, and while loyalty is on."
            .to_owned()
    } else {
        format!(
            "{} of {} days of membership; earns points from day {}.",
            view.progress_days, view.threshold_days, view.threshold_days
        )
    };
    view! {
        <dl class="facts">
            <div><dt>"Balance"</dt><dd data-testid="points-balance">{format!("{} points", view.balance)}</dd></div>
            <div><dt>"Worth"</dt><dd>{view.value.display(&currency)}</dd></div>
            <div><dt>"Earned in all"</dt><dd>{format!("{} points", view.lifetime)}</dd></div>
        </dl>
        <p data-testid="points-progress">{progress}</p>
        <RedeemForm customer_id=customer_id.clone() rewards=view.rewards balance=view.balance redeem/>
        <AdjustForm customer_id adjust/>
        <h3>"Ledger"</h3>
        <Ledger rows=view.ledger/>
        <h3>"Redemptions"</h3>
        <Redemptions rows=view.redemptions/>
    }
}

#[component]
fn RedeemForm(
    customer_id: String,
    rewards: Vec<RewardView>,
    balance: i32,
    redeem: ServerAction<RedeemForMember>,
) -> impl IntoView {
    if rewards.is_empty() {
        return view! { <p class="muted">"No reward can be redeemed right now."</p> }.into_any();
    }
    view! {
        <ActionForm action=redeem attr:class="inline-form" attr:aria-label="Redeem a reward">
            <input type="hidden" name="customer_id" value=customer_id/>
            <label>
                "Reward"
                <select name="reward_id">
                    {rewards
                        .into_iter()
                        .map(|r| {
                            let affordable = i64::from(r.values.points_required) <= i64::from(balance);
                            let label = format!(
                                "{} ({} points){}",
                                r.values.name,
                                r.values.points_required,
                                if affordable { "" } else { ", more than the balance" }
                            );
                            view! { <option value=r.id.to_string()>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" disabled=move || redeem.pending().get()>"Redeem for this member"</button>
        </ActionForm>
    }
    .into_any()
}

#[component]
fn AdjustForm(customer_id: String, adjust: ServerAction<AdjustPoints>) -> impl IntoView {
    view! {
        <details class="edit">
            <summary>"Adjust points"</summary>
            <ActionForm action=adjust attr:class="stack" attr:aria-label="Adjust points">
                <input type="hidden" name="customer_id" value=customer_id/>
                <div class="field-grid">
                    <label>
                        "Kind"
                        <select name="kind">
                            <option value="bonus">"Bonus (adds points)"</option>
                            <option value="adjusted">"Correction (adds or removes points)"</option>
                        </select>
                    </label>
                    <label>
                        "Points"
                        <input type="text" inputmode="numeric" name="points" required placeholder="50 or -20"/>
                    </label>
                </div>
                <label>
                    "Reason (the member sees it)"
                    <textarea name="reason" rows="2" required maxlength="500"></textarea>
                </label>
                <button type="submit" class="primary" disabled=move || adjust.pending().get()>"Adjust points"</button>
            </ActionForm>
        </details>
    }
}

/// The ledger kinds in words.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "earned" => "Earned",
        "redeemed" => "Redeemed",
        "bonus" => "Bonus",
        _ => "Adjusted",
    }
}

#[component]
fn Ledger(rows: Vec<LedgerRowView>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No points yet."</p> }.into_any();
    }
    view! {
        <table class="members" aria-label="Points ledger">
            <thead>
                <tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Points"</th>
                    <th scope="col">"Balance"</th><th scope="col">"Details"</th></tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|r| view! {
                        <tr>
                            <td>{r.at_label}</td>
                            <td>{kind_label(&r.kind)}</td>
                            <td class="number">{if r.points > 0 { format!("+{}", r.points) } else { r.points.to_string() }}</td>
                            <td class="number">{r.balance_after}</td>
                            <td>{r.description.unwrap_or_default()}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Redemptions(rows: Vec<RedemptionView>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No redemptions yet."</p> }.into_any();
    }
    view! {
        <table class="members" aria-label="Redemptions">
            <thead>
                <tr><th scope="col">"Redeemed"</th><th scope="col">"Reward"</th><th scope="col">"Points"</th>
                    <th scope="col">"Status"</th></tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|r| view! {
                        <tr><td>{r.redeemed_label}</td><td>{r.reward}</td><td class="number">{r.points}</td><td>{r.status}</td></tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        <p class="muted small">"Fulfil, cancel or refund redemptions on the "<a href="/admin/loyalty">"Loyalty"</a>" page."</p>
    }
    .into_any()
}
