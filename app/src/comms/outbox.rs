//! `/admin/messages/outbox`: every message queued, sent or skipped, filtered with a plain GET form
//! (so each view has its own address and works without JavaScript), with counts by status; and
//! `/admin/messages/outbox/{id}`: one message as it was rendered, with its delivery events.

use super::MessagesNav;
use super::api::{RetryMessage, get_message, get_outbox};
use crate::components::ErrorNotice;
use crate::layout::AdminLayout;
use domain::comms::views::{MessageView, OutboxRow, OutboxView, STATUSES};
use domain::comms::{Channel, MessageType};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// A stored type name as people read it.
fn kind_label(kind: &str) -> String {
    MessageType::parse(kind).map_or_else(|| kind.to_owned(), |t| t.label().to_owned())
}

/// A stored channel name as people read it.
fn channel_label(channel: &str) -> String {
    Channel::parse(channel).map_or_else(|| channel.to_owned(), |c| c.label().to_owned())
}

/// `/admin/messages/outbox`.
#[component]
pub fn OutboxPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let filters = move || (param("kind"), param("status"), param("member"));
    let outbox = Resource::new(filters, |(kind, status, member)| {
        get_outbox(kind, status, member)
    });
    view! {
        <Title text="Outbox · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <h1>"Outbox"</h1>
                <MessagesNav/>
                <Transition fallback=|| view! { <p class="muted">"Loading messages…"</p> }>
                    {move || Suspend::new(async move {
                        let (kind, status, member) = filters();
                        let result = outbox.await;
                        view! {
                            <Filters kind status member/>
                            {match result {
                                Ok(view) => view! { <Outbox view/> }.into_any(),
                                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                            }}
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Filters(kind: String, status: String, member: String) -> impl IntoView {
    view! {
        <form method="get" action="/admin/messages/outbox" class="filters card" role="search"
            aria-label="Filter messages">
            <label>
                "Type"
                <select name="kind">
                    <option value="" selected=kind.is_empty()>"Any type"</option>
                    {MessageType::ALL
                        .into_iter()
                        .map(|t| view! { <option value=t.as_str() selected=t.as_str() == kind>{t.label()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Status"
                <select name="status">
                    <option value="" selected=status.is_empty()>"Any status"</option>
                    {STATUSES
                        .into_iter()
                        .map(|s| view! { <option value=s selected=s == status>{s}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Member (start of name or e-mail)"
                <input type="search" name="member" value=member maxlength="100"/>
            </label>
            <button type="submit" class="primary">"Filter"</button>
        </form>
    }
}

#[component]
fn Outbox(view: OutboxView) -> impl IntoView {
    let count = |status: &str| {
        view.counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    let counts: Vec<(&str, i64)> = STATUSES.into_iter().map(|s| (s, count(s))).collect();
    let empty = view.rows.is_empty();
    view! {
        <dl class="facts summary" data-testid="outbox-counts">
            {counts
                .into_iter()
                .map(|(status, n)| view! {
                    <div data-status=status><dt>{status}</dt><dd>{n}</dd></div>
                })
                .collect_view()}
        </dl>
        {if empty {
            view! { <p class="empty">"No messages match."</p> }.into_any()
        } else {
            view! {
                <table class="members outbox" aria-label="Messages">
                    <thead>
                        <tr><th scope="col">"Created"</th><th scope="col">"Member"</th><th scope="col">"To"</th>
                            <th scope="col">"Type"</th><th scope="col">"Channel"</th><th scope="col">"Provider"</th>
                            <th scope="col">"Status"</th><th scope="col">"Subject or error"</th></tr>
                    </thead>
                    <tbody>
                        {view.rows.into_iter().map(|row| view! { <Row row/> }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }}
    }
}

#[component]
fn Row(row: OutboxRow) -> impl IntoView {
    let href = format!("/admin/messages/outbox/{}", row.id);
    let status = row.status.clone();
    let detail = match &row.error {
        Some(error) => view! { <span class="bad">{error.clone()}</span> }.into_any(),
        None => view! { <span>{row.subject.clone()}</span> }.into_any(),
    };
    let member = if row.member.is_empty() {
        "—".to_owned()
    } else {
        row.member.clone()
    };
    view! {
        <tr>
            <td><a href=href>{row.created_label}</a></td>
            <td>{member}</td>
            <td>{row.to}</td>
            <td>{kind_label(&row.kind)}</td>
            <td>{channel_label(&row.channel)}</td>
            <td>{row.provider}</td>
            <td><span class=format!("status status-{status}")>{status.clone()}</span></td>
            <td>{detail}</td>
        </tr>
    }
}

/// `/admin/messages/outbox/{id}`.
#[component]
pub fn MessagePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let retry = ServerAction::<RetryMessage>::new();
    let message = Resource::new(
        move || (id(), retry.version().get()),
        |(id, _)| get_message(id),
    );
    view! {
        <Title text="Message · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <p><a href="/admin/messages/outbox">"← Outbox"</a></p>
                <Transition fallback=|| view! { <p class="muted">"Loading the message…"</p> }>
                    {move || Suspend::new(async move {
                        match message.await {
                            Ok(message) => view! { <Message message retry/> }.into_any(),
                            Err(error) => view! { <h1>"Message"</h1><ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Message(message: MessageView, retry: ServerAction<RetryMessage>) -> impl IntoView {
    let row = message.row;
    let failed = row.status == "failed";
    let id = row.id.to_string();
    let heading = format!(
        "{} · {}",
        kind_label(&row.kind),
        channel_label(&row.channel)
    );
    let email = row.channel == Channel::Email.as_str();
    let status = row.status.clone();
    let body = match message.html {
        Some(html) if email => view! {
            <h2>"E-mail"</h2>
            <p><strong>"Subject: "</strong><span data-testid="message-subject">{row.subject.clone()}</span></p>
            <iframe id="message-html" data-testid="message-html" class="email-frame" sandbox=""
                title="The e-mail as sent" srcdoc=html></iframe>
            <details class="text-part" open>
                <summary>"Text part"</summary>
                <pre data-testid="message-text">{message.text.clone()}</pre>
            </details>
        }
        .into_any(),
        _ if message.text.is_empty() => {
            view! { <p class="empty">"Nothing was rendered for this message."</p> }.into_any()
        }
        _ => view! {
            <h2>{if email { "Text" } else { "SMS" }}</h2>
            <pre class="sms-bubble" data-testid="message-text">{message.text.clone()}</pre>
        }
        .into_any(),
    };
    let events = if message.events.is_empty() {
        view! { <p class="empty">"No delivery events reported yet."</p> }.into_any()
    } else {
        view! {
            <ol class="timeline" data-testid="delivery-events">
                {message
                    .events
                    .into_iter()
                    .map(|e| view! {
                        <li>
                            <time>{e.at_label}</time>
                            <span><strong>{e.status}</strong>{e.detail.map(|d| format!(" — {d}"))}</span>
                        </li>
                    })
                    .collect_view()}
            </ol>
        }
        .into_any()
    };
    view! {
        <h1>{heading}</h1>
        <MessagesNav/>
        <section class="card" aria-label="Details">
            <dl class="facts">
                <div><dt>"Status"</dt><dd data-testid="message-status">
                    <span class=format!("status status-{status}")>{status.clone()}</span>
                </dd></div>
                <div><dt>"Created"</dt><dd>{row.created_label}</dd></div>
                <div><dt>"Sent"</dt><dd>{message.sent_label.unwrap_or_else(|| "—".to_owned())}</dd></div>
                <div><dt>"Member"</dt><dd>{if row.member.is_empty() { "—".to_owned() } else { row.member }}</dd></div>
                <div><dt>"To"</dt><dd>{row.to}</dd></div>
                <div><dt>"Provider"</dt><dd>{row.provider}</dd></div>
                <div><dt>"Attempts"</dt><dd data-testid="message-attempts">{message.attempts}</dd></div>
                <div><dt>"Provider message id"</dt><dd data-testid="provider-message-id">
                    {message.provider_message_id.unwrap_or_else(|| "—".to_owned())}
                </dd></div>
            </dl>
            {row.error.map(|error| view! {
                <p class="notice error" data-testid="message-error">{error}</p>
            })}
            {failed.then(|| view! {
                <ActionForm action=retry attr:aria-label="Send again">
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" disabled=move || retry.pending().get()>"Send again"</button>
                </ActionForm>
            })}
            {move || retry.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
        </section>
        <section class="card">{body}</section>
        <section class="card" aria-labelledby="events-heading">
            <h2 id="events-heading">"Delivery events"</h2>
            {events}
        </section>
    }
}
