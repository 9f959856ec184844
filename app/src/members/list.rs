//! `/admin/members`: search and filter the members, a page at a time. The filters are a plain GET
//! form, so the list works without JavaScript and every view has its own address.

use super::api::{Movement, list_members};
use crate::components::ErrorNotice;
use crate::components::url::with_query;
use crate::layout::AdminLayout;
use domain::members::{MemberPage, MemberStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/admin/members`.
#[component]
pub fn MembersPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let filters = move || {
        (
            param("q"),
            param("stage"),
            param("status"),
            param("expires_within"),
            param("after"),
            Movement {
                event: param("event"),
                from: param("from"),
                to: param("to"),
            },
        )
    };
    let page = Resource::new(filters, |(q, stage, status, within, after, movement)| {
        list_members(q, stage, status, within, movement, after)
    });
    view! {
        <Title text="Members · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <h1>"Members"</h1>
                <Transition fallback=|| view! { <p class="muted">"Loading members…"</p> }>
                    {move || Suspend::new(async move {
                        let (q, stage, status, within, _, movement) = filters();
                        match page.await {
                            Ok(page) => view! { <MemberTable page q stage status within movement/> }.into_any(),
                            Err(error) => view! {
                                <Filters q stage status within stages=vec![]/>
                                <ErrorNotice error/>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Filters(
    q: String,
    stage: String,
    status: String,
    within: String,
    stages: Vec<(domain::ids::StageId, String)>,
) -> impl IntoView {
    let statuses = [
        (MemberStatus::Any, "Everyone"),
        (MemberStatus::Active, "Members"),
        (MemberStatus::NotMember, "Not members"),
        (MemberStatus::Flagged, "Flagged for review"),
    ];
    view! {
        <form method="get" action="/admin/members" class="filters card" role="search" aria-label="Filter members">
            <label>"Name or e-mail" <input type="search" name="q" value=q maxlength="100"/></label>
            <label>
                "Stage"
                <select name="stage">
                    <option value="">"Any stage"</option>
                    {stages
                        .into_iter()
                        .map(|(id, name)| {
                            let id = id.to_string();
                            let selected = id == stage;
                            view! { <option value=id selected=selected>{name}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Status"
                <select name="status">
                    {statuses
                        .into_iter()
                        .map(|(s, label)| view! { <option value=s.as_str() selected=s.as_str() == status>{label}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>"Expiring within (days)" <input type="text" inputmode="numeric" name="expires_within" value=within size="5"/></label>
            <button type="submit" class="primary">"Search"</button>
        </form>
    }
}

#[component]
fn MemberTable(
    page: MemberPage,
    q: String,
    stage: String,
    status: String,
    within: String,
    /// The dashboard's movement filter.
    movement: Movement,
) -> impl IntoView {
    let Movement {
        event: kind,
        from,
        to,
    } = movement;
    // The filters on screen: the next page and the download carry the same ones.
    let filters = [
        ("q", q.as_str()),
        ("stage", stage.as_str()),
        ("status", status.as_str()),
        ("expires_within", within.as_str()),
        ("event", kind.as_str()),
        ("from", from.as_str()),
        ("to", to.as_str()),
    ];
    let next = page.next.clone().map(|after| {
        let mut pairs = filters.to_vec();
        pairs.push(("after", after.as_str()));
        with_query("/admin/members", &pairs)
    });
    let export = with_query("/admin/members/export.csv", &filters);
    let empty = page.rows.is_empty();
    let movement = (!kind.is_empty()).then(|| {
        view! {
            <p class="notice" role="status" data-testid="event-filter">
                {format!("Members who {kind} between {from} and {to} (local dates). ")}
                <a href="/admin/members">"Show all members"</a>
            </p>
        }
    });
    view! {
        {movement}
        <Filters q stage status within stages=page.stages.clone()/>
        {if empty {
            view! { <p class="empty">"No members match."</p> }.into_any()
        } else {
            view! {
                <table class="members">
                    <thead>
                        <tr><th scope="col">"Name"</th><th scope="col">"E-mail"</th><th scope="col">"Stage"</th>
                            <th scope="col">"Expires"</th></tr>
                    </thead>
                    <tbody>
                        {page
                            .rows
                            .into_iter()
                            .map(|m| {
                                view! {
                                    <tr>
                                        <td><a href=format!("/admin/members/{}", m.id)>{m.name}</a>
                                            {m.flagged.then(|| view! { " " <span class="badge warn">"Flagged"</span> })}</td>
                                        <td>{m.email}</td>
                                        <td>{m.stage.unwrap_or_else(|| "—".to_owned())}</td>
                                        <td>{m.expires_label.unwrap_or_default()}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
                .into_any()
        }}
        <p class="page-links">
            {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
            <a href=export download rel="external">"Download these members (CSV)"</a>
        </p>
    }
}
