//! `/admin/sync`: the CRM operations the club engine has queued (grant, revoke, move).

use crate::components::ErrorNotice;
use crate::error::AppError;
use crate::layout::AdminLayout;
use domain::sync::SyncQueueView;
use leptos::prelude::*;
use leptos_meta::Title;

/// The queue: counts and the newest operations.
#[server(prefix = "/api", endpoint = "sync/queue")]
pub async fn sync_queue() -> Result<SyncQueueView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::sync::overview(&state().pool, &admin).await?)
}

/// `/admin/sync`.
#[component]
pub fn SyncPage() -> impl IntoView {
    let queue = Resource::new(|| (), |_| sync_queue());
    view! {
        <Title text="CRM sync · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <h1>"CRM sync"</h1>
                <p class="muted">
                    "Every enrollment, upgrade and expiry queues the change of discount eligibility for the CRM. "
                    "They are sent once the Commerce7 or Shopify connection is set up; until then they wait here."
                </p>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match queue.await {
                            Ok(q) => view! { <Queue q/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Queue(q: SyncQueueView) -> impl IntoView {
    let empty = q.items.is_empty();
    view! {
        <dl class="facts summary" data-testid="sync-counts">
            <div><dt>"Waiting"</dt><dd>{q.pending}</dd></div>
            <div><dt>"Failed"</dt><dd>{q.failed}</dd></div>
            <div><dt>"Sent"</dt><dd>{q.completed}</dd></div>
        </dl>
        {if empty {
            view! { <p class="empty">"Nothing has been queued yet."</p> }.into_any()
        } else {
            view! {
                <table class="members">
                    <thead><tr><th scope="col">"Queued"</th><th scope="col">"Member"</th><th scope="col">"Operation"</th>
                        <th scope="col">"Status"</th><th scope="col">"Attempts"</th><th scope="col">"Last error"</th></tr></thead>
                    <tbody>
                        {q.items.into_iter().map(|item| {
                            let what = item.describe();
                            view! {
                                <tr>
                                    <td>{item.queued_label}</td>
                                    <td>{item.member}</td>
                                    <td>{what}</td>
                                    <td>{item.status}</td>
                                    <td>{item.attempts}</td>
                                    <td>{item.error.unwrap_or_default()}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}
