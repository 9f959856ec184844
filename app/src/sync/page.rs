//! `/admin/sync`: the CRM operations the club engine queued (grant, revoke, move), what became of
//! each, "retry now" for a failed one, and "resync all members".

use super::api::{ResyncMembers, RetrySyncItem, sync_queue};
use crate::components::{ErrorNotice, SuccessNotice};
use crate::layout::AdminLayout;
use domain::sync::{SyncItemView, SyncQueueView};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/admin/sync`.
#[component]
pub fn SyncPage() -> impl IntoView {
    let retry = ServerAction::<RetrySyncItem>::new();
    let resync = ServerAction::<ResyncMembers>::new();
    let queue = Resource::new(
        move || (retry.version().get(), resync.version().get()),
        |_| sync_queue(),
    );
    let clear = move |_| {
        retry.value().set(None);
        resync.value().set(None);
    };
    let notice = move || {
        match (retry.value().get(), resync.value().get()) {
        (Some(Err(error)), _) | (_, Some(Err(error))) => view! { <ErrorNotice error/> }.into_any(),
        (Some(Ok(())), _) => {
            view! { <SuccessNotice message="The operation is queued again.".to_owned()/> }.into_any()
        }
        (_, Some(Ok(n))) => view! {
            <SuccessNotice message=format!("{n} grants queued: every active member's discount is sent to the CRM again.")/>
        }
        .into_any(),
        (None, None) => ().into_any(),
    }
    };
    view! {
        <Title text="CRM sync · Vinculum"/>
        <AdminLayout>
            <div class="page" on:submit=clear>
                <h1>"CRM sync"</h1>
                <p class="muted">
                    "Every enrollment, upgrade and expiry queues a change of discount eligibility for the CRM, "
                    "sent within seconds. A failure is retried after 1, 2, 4… minutes, up to ten times; "
                    "operations for one member always go in order. "
                    <a href="/admin/connection">"Connection and webhooks"</a>
                </p>
                {notice}
                <ActionForm action=resync attr:class="inline" attr:aria-label="Resync all members">
                    <button type="submit">"Resync all members"</button>
                </ActionForm>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match queue.await {
                            Ok(q) => view! { <Queue q retry/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Queue(q: SyncQueueView, retry: ServerAction<RetrySyncItem>) -> impl IntoView {
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
                <table class="members" aria-label="Queued operations">
                    <thead><tr><th scope="col">"Queued"</th><th scope="col">"Member"</th><th scope="col">"Operation"</th>
                        <th scope="col">"Status"</th><th scope="col">"Attempts"</th><th scope="col">"Last error"</th>
                        <th scope="col">"Action"</th></tr></thead>
                    <tbody>
                        {q.items.into_iter().map(|item| view! { <Row item retry/> }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

#[component]
fn Row(item: SyncItemView, retry: ServerAction<RetrySyncItem>) -> impl IntoView {
    let what = item.describe();
    let status = match item.status.as_str() {
        "completed" => "sent",
        "pending" if item.attempts > 0 => "waiting to retry",
        "pending" => "waiting",
        "processing" => "sending",
        other => other,
    }
    .to_owned();
    let action = (item.status == "failed").then(|| {
        let label = format!("Retry {what} for {} now", item.member);
        view! {
            <ActionForm action=retry attr:class="inline">
                <input type="hidden" name="id" value=item.id.to_string()/>
                <button type="submit" aria-label=label>"Retry now"</button>
            </ActionForm>
        }
    });
    view! {
        <tr>
            <td>{item.queued_label}</td>
            <td>{item.member}</td>
            <td>{what}</td>
            <td>{status}</td>
            <td class="number">{item.attempts}</td>
            <td>{item.error.unwrap_or_default()}</td>
            <td>{action}</td>
        </tr>
    }
}
