//! `/admin/members/at-risk`: active members whose usual gap between orders is longer than the time
//! left before their membership ends, the most valuable first, each with a one-click renewal
//! reminder (a plain form, so it works without JavaScript; a row shows when it was sent today).

use super::api::{SendReminder, get_at_risk};
use super::charts::thousands;
use crate::components::{ErrorNotice, SuccessNotice};
use crate::layout::AdminLayout;
use domain::analytics::{AT_RISK_DAYS, AtRisk, AtRiskList};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/admin/members/at-risk`.
#[component]
pub fn AtRiskPage() -> impl IntoView {
    let remind = ServerAction::<SendReminder>::new();
    let list = Resource::new(move || remind.version().get(), |_| get_at_risk());
    view! {
        <Title text="At risk · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <h1>"Members at risk of lapsing"</h1>
                <p class="muted">{format!(
                    "Active members whose membership ends within {AT_RISK_DAYS} days, sooner than they usually \
                     order again (their average gap between orders). The most valuable first."
                )}</p>
                {move || remind.value().get().map(|outcome| match outcome {
                    Ok(message) => view! { <SuccessNotice message/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Ok(list) => view! { <Table list remind/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Table(list: AtRiskList, remind: ServerAction<SendReminder>) -> impl IntoView {
    if list.rows.is_empty() {
        return view! { <p class="empty" data-testid="at-risk-empty">"Nobody is at risk: every member ending soon usually orders in time."</p> }
            .into_any();
    }
    let shown = list.rows.len();
    let currency = list.currency.clone();
    let rows = list
        .rows
        .into_iter()
        .map(|m| view! { <Row m currency=currency.clone() remind/> })
        .collect_view();
    view! {
        <p data-testid="at-risk-count">{format!(
            "{} members at risk{}.",
            thousands(list.total),
            if i64::try_from(shown).unwrap_or(0) < list.total { format!("; the {shown} most valuable are listed") } else { String::new() }
        )}</p>
        <table class="members">
            <thead><tr>
                <th scope="col">"Member"</th><th scope="col">"Stage"</th><th scope="col">"Ends"</th>
                <th scope="col">"Usually orders every"</th><th scope="col">"Last order"</th>
                <th scope="col">"Value"</th><th scope="col">"Reminder"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Row(m: AtRisk, currency: String, remind: ServerAction<SendReminder>) -> impl IntoView {
    let label = format!("Send renewal reminder to {}", m.name);
    let action = if m.reminded_today {
        view! { <span class="badge">"Sent today"</span> }.into_any()
    } else {
        view! {
            <ActionForm action=remind attr:class="inline">
                <input type="hidden" name="enrollment_id" value=m.enrollment.to_string()/>
                <button type="submit" aria-label=label disabled=move || remind.pending().get()>
                    "Send renewal reminder"
                </button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <tr data-testid="at-risk-row">
            <td><a href=format!("/admin/members/{}", m.customer)>{m.name}</a><br/><span class="small muted">{m.email}</span></td>
            <td>{m.stage}</td>
            <td>{m.expires_label}<br/><span class="small muted">{format!("in {} days", m.days_left)}</span></td>
            <td>{format!("{} days", m.usual_gap_days)}</td>
            <td>{m.last_order_label}</td>
            <td class="number">{m.lifetime.display(&currency)}</td>
            <td>{action}</td>
        </tr>
    }
}
