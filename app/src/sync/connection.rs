//! `/admin/connection`: how the winery is connected to its CRM (which CRM, the tenant or shop, the
//! credentials, webhook health), re-registering webhooks, and, on the sandbox CRM of the demo,
//! simulating an order and seeing the club memberships the sandbox holds.

use super::api::{RegisterWebhooks, SimulateOrder, get_connection};
use crate::components::{ErrorNotice, SuccessNotice};
use crate::layout::AdminLayout;
use domain::sync::ConnectionView;
use leptos::prelude::*;
use leptos_meta::Title;

/// `/admin/connection`.
#[component]
pub fn ConnectionPage() -> impl IntoView {
    let register = ServerAction::<RegisterWebhooks>::new();
    let simulate = ServerAction::<SimulateOrder>::new();
    let generation = RwSignal::new(0usize);
    Effect::new(move |_| {
        let ok = |v: Option<bool>| v == Some(true);
        if ok(register.value().with(|v| v.as_ref().map(Result::is_ok)))
            || ok(simulate.value().with(|v| v.as_ref().map(Result::is_ok)))
        {
            generation.update(|g| *g += 1);
        }
    });
    let connection = Resource::new(move || generation.get(), |_| get_connection());
    let clear = move |_| {
        register.value().set(None);
        simulate.value().set(None);
    };
    view! {
        <Title text="Connection · Vinculum"/>
        <AdminLayout>
            <div class="page" on:submit=clear>
                <h1>"CRM connection"</h1>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match connection.await {
                            Ok(view) => view! { <Connection view register simulate/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Connection(
    view: ConnectionView,
    register: ServerAction<RegisterWebhooks>,
    simulate: ServerAction<SimulateOrder>,
) -> impl IntoView {
    let sandbox = view.provider == "sandbox";
    let can_register = view.provider == "commerce7" || sandbox;
    let registered = move || match register.value().get() {
        Some(Ok(n)) => {
            Some(view! { <SuccessNotice message=format!("{n} webhooks registered.")/> }.into_any())
        }
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }.into_any()),
        None => None,
    };
    let health = match (&view.last_webhook_label, &view.last_webhook_error) {
        (_, Some(e)) => format!("Last problem: {e}"),
        (Some(at), None) => format!("Last delivery {at}; no problems."),
        (None, None) => "No delivery yet.".to_owned(),
    };
    view! {
        <section class="card" aria-labelledby="crm-heading">
            <h2 id="crm-heading">{view.provider_label()}</h2>
            <dl class="facts">
                <div><dt>{if view.provider == "shopify" { "Shop" } else { "Tenant" }}</dt><dd data-testid="tenant">{view.tenant.clone()}</dd></div>
                <div><dt>"Credentials"</dt><dd>{view.credentials.clone()}</dd></div>
                <div><dt>"Webhooks registered"</dt><dd>{view.webhooks_registered}</dd></div>
                <div><dt>"Deliveries"</dt><dd data-testid="inbox">{format!(
                    "{} processed, {} waiting, {} failed", view.inbox_done, view.inbox_waiting, view.inbox_failed
                )}</dd></div>
            </dl>
            <p data-testid="webhook-health">{health}</p>
            {can_register.then(|| view! {
                <ActionForm action=register attr:class="inline" attr:aria-label="Register webhooks">
                    <button type="submit">"Register webhooks again"</button>
                </ActionForm>
            })}
            {registered}
            <p class="muted small"><a href="/admin/sync">"The queue of operations sent to the CRM"</a></p>
        </section>
        {sandbox.then(|| view! { <Sandbox view=view.clone() simulate/> })}
    }
}

#[component]
fn Sandbox(view: ConnectionView, simulate: ServerAction<SimulateOrder>) -> impl IntoView {
    let outcome = move || {
        match simulate.value().get() {
        Some(Ok(number)) => Some(view! {
            <SuccessNotice message=format!(
                "Order {number} was sent through the webhook receiver; the CRM worker processes it within seconds."
            )/>
        }.into_any()),
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }.into_any()),
        None => None,
    }
    };
    let memberships = if view.sandbox_memberships.is_empty() {
        view! { <p class="empty">"The sandbox holds no club memberships yet."</p> }.into_any()
    } else {
        view! {
            <table class="members" aria-label="Sandbox club memberships">
                <thead><tr><th scope="col">"Customer"</th><th scope="col">"Club"</th><th scope="col">"Since"</th>
                    <th scope="col">"Cancel date"</th></tr></thead>
                <tbody>
                    {view.sandbox_memberships.into_iter().map(|m| view! {
                        <tr><td>{m.email}</td><td>{m.club}</td><td>{m.since}</td>
                            <td>{m.cancelled.unwrap_or_else(|| "—".to_owned())}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="simulate-heading">
            <h2 id="simulate-heading">"Simulate an order"</h2>
            <p class="muted">
                "The order is stored in the sandbox CRM and its Order Create webhook is sent to Vinculum's "
                "webhook receiver, exactly as Commerce7 would send it."
            </p>
            <ActionForm action=simulate attr:class="stack" attr:aria-label="Simulate an order">
                <div class="field-grid">
                    <label>"E-mail address" <input type="email" name="email" required maxlength="254"/></label>
                    <label>"First name" <input type="text" name="first_name" required maxlength="100"/></label>
                    <label>"Last name" <input type="text" name="last_name" required maxlength="100"/></label>
                    <label>"Amount ($)" <input type="text" inputmode="decimal" name="amount" required/></label>
                </div>
                <button type="submit" class="primary" disabled=move || simulate.pending().get()>"Send the order"</button>
            </ActionForm>
            {outcome}
        </section>
        <section class="card" aria-labelledby="memberships-heading">
            <h2 id="memberships-heading">"Club memberships in the sandbox"</h2>
            <p class="muted">"What the CRM holds: each grant creates a membership; each revoke sets its cancel date."</p>
            {memberships}
        </section>
    }
}
