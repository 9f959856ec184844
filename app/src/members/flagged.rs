//! `/admin/members/flagged`: active memberships whose qualifying order was cancelled or refunded
//! (decisions D4). Each links to its member page with the revoke preview ready.

use super::api::flagged_members;
use crate::components::ErrorNotice;
use crate::components::url::with_query;
use crate::layout::AdminLayout;
use leptos::prelude::*;
use leptos_meta::Title;

/// `/admin/members/flagged`.
#[component]
pub fn FlaggedPage() -> impl IntoView {
    let rows = Resource::new(|| (), |_| flagged_members());
    view! {
        <Title text="Flagged for review · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <h1>"Flagged for review"</h1>
                <p class="muted">
                    "A cancelled or refunded order does not roll a membership back by itself. Review each one: "
                    "revoke it, or leave it be."
                </p>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match rows.await {
                            Ok(rows) if rows.is_empty() => view! { <p class="empty">"Nothing is flagged."</p> }.into_any(),
                            Ok(rows) => view! {
                                <table class="members">
                                    <thead><tr><th scope="col">"Member"</th><th scope="col">"Stage"</th>
                                        <th scope="col">"Expires"</th><th scope="col">"Why"</th><th scope="col">"Action"</th></tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|(member, enrollment)| {
                                            let review = with_query(&format!("/admin/members/{}", member.id), &[
                                                ("end", "revoke"),
                                                ("enrollment", &enrollment.id.to_string()),
                                                ("reason", enrollment.flag_reason.as_deref().unwrap_or("Qualifying order refunded")),
                                            ]);
                                            let label = format!("Review and revoke {}", member.name);
                                            view! {
                                                <tr>
                                                    <td><a href=format!("/admin/members/{}", member.id)>{member.name.clone()}</a></td>
                                                    <td>{enrollment.stage}</td>
                                                    <td>{enrollment.expires_label}</td>
                                                    <td>{enrollment.flag_reason.unwrap_or_default()}</td>
                                                    <td><a href=review aria-label=label>"Review and revoke"</a></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}
