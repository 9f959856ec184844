//! `/admin/messages/templates`: every message type on every channel, custom or default; and the
//! editor `/admin/messages/templates/{kind}/{channel}` with its live preview. The preview is
//! rendered by `domain::comms::template`, the engine the server sends with: on the server from the
//! stored template when the page loads, and in the browser (hydrated) on every keystroke.

use super::MessagesNav;
use super::api::{
    ResetTemplate, SaveTemplate, get_template, list_templates, preview_members, preview_vars,
};
use crate::components::url::with_query;
use crate::components::{ErrorNotice, SuccessNotice, textarea_text};
use crate::error::AppError;
use crate::layout::AdminLayout;
use domain::comms::settings::TemplateView;
use domain::comms::template::{
    EmailSource, RenderedEmail, TemplateError, render_email, render_sms,
};
use domain::comms::vars::{MessageVars, VARIABLES};
use domain::comms::views::PreviewMember;
use domain::comms::{Channel, MessageType, SmsEncoding, sms_size};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

/// The editor's address for a type and channel.
fn editor_href(kind: &str, channel: &str) -> String {
    format!("/admin/messages/templates/{kind}/{channel}")
}

/// `/admin/messages/templates`.
#[component]
pub fn TemplatesPage() -> impl IntoView {
    let templates = Resource::new(|| (), |_| list_templates());
    view! {
        <Title text="Message templates · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <h1>"Message templates"</h1>
                <MessagesNav/>
                <p class="muted">
                    "Each message has an e-mail and an SMS template. Until the winery saves its own, the "
                    "default is used; every e-mail is wrapped in the winery's layout with the postal address "
                    "and the unsubscribe link."
                </p>
                <Transition fallback=|| view! { <p class="muted">"Loading the templates…"</p> }>
                    {move || Suspend::new(async move {
                        match templates.await {
                            Ok(rows) => view! { <TemplateTable rows/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn TemplateTable(rows: Vec<super::api::TemplateSummary>) -> impl IntoView {
    view! {
        <table class="members" aria-label="Message templates">
            <thead>
                <tr><th scope="col">"Message"</th><th scope="col">"Channel"</th><th scope="col">"Sent when"</th>
                    <th scope="col">"Template"</th></tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .filter_map(|row| {
                        let kind = MessageType::parse(&row.kind)?;
                        let channel = Channel::parse(&row.channel)?;
                        let href = editor_href(kind.as_str(), channel.as_str());
                        let label = format!("Edit {} {}", kind.label(), channel.label());
                        Some(view! {
                            <tr>
                                <td><a href=href aria-label=label>{kind.label()}</a></td>
                                <td>{channel.label()}</td>
                                <td class="small">{kind.trigger()}</td>
                                <td>
                                    {if row.custom {
                                        view! { <span class="badge">"Custom"</span> }.into_any()
                                    } else {
                                        view! { <span class="badge off">"Default"</span> }.into_any()
                                    }}
                                </td>
                            </tr>
                        })
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The editor's actions.
#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<SaveTemplate>,
    reset: ServerAction<ResetTemplate>,
}

/// `/admin/messages/templates/{kind}/{channel}`.
#[component]
pub fn TemplateEditorPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let kind = move || params.read().get("kind").unwrap_or_default();
    let channel = move || params.read().get("channel").unwrap_or_default();
    let member = Memo::new(move |_| query.read().get("member").unwrap_or_default());
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let actions = Actions {
        save: ServerAction::new(),
        reset: ServerAction::new(),
    };
    let generation = RwSignal::new(0usize);
    // Reload after a successful save or reset (never after a refused one, so typed input survives).
    Effect::new(move |_| {
        let ok = |v: Option<bool>| v == Some(true);
        if ok(actions.save.value().with(|v| v.as_ref().map(Result::is_ok)))
            || ok(actions
                .reset
                .value()
                .with(|v| v.as_ref().map(Result::is_ok)))
        {
            generation.update(|g| *g += 1);
        }
    });
    let template = Resource::new(
        move || (kind(), channel(), generation.get()),
        |(kind, channel, _)| get_template(kind, channel),
    );
    let vars = Resource::new(move || member.get(), preview_vars);
    let members = Resource::new(move || q.get(), preview_members);
    let clear = move |_| {
        actions.save.value().set(None);
        actions.reset.value().set(None);
    };
    let title = move || match (MessageType::parse(&kind()), Channel::parse(&channel())) {
        (Some(k), Some(c)) => format!("{} · {}", k.label(), c.label()),
        _ => "Template".to_owned(),
    };
    view! {
        <Title text="Edit a template · Vinculum"/>
        <AdminLayout>
            <div class="page" on:submit=clear>
                <p><a href="/admin/messages/templates">"← All templates"</a></p>
                <h1>{title}</h1>
                <MessagesNav/>
                <Transition fallback=|| view! { <p class="muted">"Loading the template…"</p> }>
                    {move || Suspend::new(async move {
                        match template.await {
                            Ok(template) => view! {
                                <Editor template actions vars members member q/>
                            }
                            .into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

/// The message of a refused save, when it belongs to `field`.
fn field_error(save: ServerAction<SaveTemplate>, field: &'static str) -> impl IntoView {
    let message = move || {
        save.value().with(|v| match v {
            Some(Err(e)) if e.field() == Some(field) => Some(e.to_string()),
            _ => None,
        })
    };
    move || {
        message().map(|m| {
            view! { <span id=format!("err-{field}") class="hint" role="alert">{m}</span> }
        })
    }
}

#[component]
fn Editor(
    template: TemplateView,
    actions: Actions,
    vars: Resource<Result<MessageVars, AppError>>,
    members: Resource<Result<Vec<PreviewMember>, AppError>>,
    member: Memo<String>,
    q: Memo<String>,
) -> impl IntoView {
    let email = template.channel == Channel::Email.as_str();
    let kind_value = template.kind.clone();
    let channel_value = template.channel.clone();
    // What the admin types; the preview follows these. The fields carry their text twice: in the
    // HTML for the server's page, and as the `value` property, so that a reload after a reset
    // (which rebuilds these elements in place) shows the new text even after typing.
    let subject = RwSignal::new(template.subject.clone());
    let html = RwSignal::new(template.html.clone());
    let text = RwSignal::new(template.text.clone());
    let typed = move |signal: RwSignal<String>| {
        move |ev: leptos::ev::Event| signal.set(event_target_value(&ev))
    };
    let save = actions.save;
    let reset = actions.reset;
    let general_error = move || {
        save.value()
            .with(|v| match v {
                Some(Err(e)) if !matches!(e.field(), Some("subject" | "html" | "text")) => {
                    Some(e.clone())
                }
                _ => None,
            })
            .or_else(|| reset.value().get().and_then(Result::err))
    };
    let success = move || {
        if save.value().with(|v| matches!(v, Some(Ok(_)))) {
            Some("Template saved.")
        } else if reset.value().with(|v| matches!(v, Some(Ok(_)))) {
            Some("Back to the default template.")
        } else {
            None
        }
    };
    let status = if template.custom {
        "The winery's own template."
    } else {
        "The default template (not yet changed)."
    };
    let fields = if email {
        view! {
            <label for="tpl-subject">"Subject"</label>
            <input type="text" id="tpl-subject" name="subject" maxlength="500" required
                aria-describedby="err-subject" value=template.subject.clone()
                prop:value=move || subject.get() on:input=typed(subject)/>
            {field_error(save, "subject")}
            <label for="tpl-html">"HTML body"</label>
            <textarea id="tpl-html" name="html" rows="16" class="code" spellcheck="false"
                aria-describedby="err-html" prop:value=move || html.get() on:input=typed(html)>{textarea_text(&template.html)}</textarea>
            {field_error(save, "html")}
            <label for="tpl-text">"Text part"</label>
            <textarea id="tpl-text" name="text" rows="8" class="code" spellcheck="false"
                aria-describedby="err-text" prop:value=move || text.get() on:input=typed(text)>{textarea_text(&template.text)}</textarea>
            {field_error(save, "text")}
        }
        .into_any()
    } else {
        view! {
            <input type="hidden" name="subject" value=""/>
            <input type="hidden" name="html" value=""/>
            <label for="tpl-text">"Message"</label>
            <textarea id="tpl-text" name="text" rows="6" class="code" spellcheck="false"
                aria-describedby="err-text" prop:value=move || text.get() on:input=typed(text)>{textarea_text(&template.text)}</textarea>
            {field_error(save, "text")}
        }
        .into_any()
    };
    let (reset_kind, reset_channel) = (kind_value.clone(), channel_value.clone());
    let custom = template.custom;
    view! {
        <p class="muted" data-testid="template-status">{status}</p>
        <div class="editor">
            <section class="card" aria-labelledby="source-heading">
                <h2 id="source-heading">"Template"</h2>
                <ActionForm action=save attr:class="stack tight" attr:aria-label="Template">
                    <input type="hidden" name="kind" value=kind_value/>
                    <input type="hidden" name="channel" value=channel_value/>
                    {fields}
                    <button type="submit" class="primary" disabled=move || save.pending().get()>"Save"</button>
                </ActionForm>
                <ActionForm action=reset attr:class="inline" attr:aria-label="Reset to default">
                    <input type="hidden" name="kind" value=reset_kind/>
                    <input type="hidden" name="channel" value=reset_channel/>
                    <button type="submit" disabled=move || !custom || reset.pending().get()
                        title=(!custom).then_some("This is already the default template.")>
                        "Reset to default"
                    </button>
                </ActionForm>
                {move || general_error().map(|error| view! { <ErrorNotice error/> })}
                {move || success().map(|m| view! { <SuccessNotice message=m.to_owned()/> })}
                <Variables/>
            </section>
            <section class="card" aria-labelledby="preview-heading">
                <h2 id="preview-heading">"Preview"</h2>
                <PreviewAs action=editor_href(&template.kind, &template.channel) members member q/>
                <Transition fallback=|| view! { <p class="muted">"Loading the preview…"</p> }>
                    {move || Suspend::new(async move {
                        match vars.await {
                            Ok(vars) if email => view! { <EmailPreview vars subject html text/> }.into_any(),
                            Ok(vars) => view! { <SmsPreview vars text/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

/// "Preview as": sample data or a club member, chosen with a GET form (`?member=`, `?q=`), so it
/// works without JavaScript; with it, the router keeps the page and only the preview reloads.
#[component]
fn PreviewAs(
    /// The editor's own address.
    action: String,
    members: Resource<Result<Vec<PreviewMember>, AppError>>,
    member: Memo<String>,
    q: Memo<String>,
) -> impl IntoView {
    let navigate = use_navigate();
    let here = action.clone();
    // With JavaScript, choosing a member applies at once (the typed template stays).
    let choose = move |ev: leptos::ev::Event| {
        let href = with_query(
            &here,
            &[
                ("q", &q.get_untracked()),
                ("member", &event_target_value(&ev)),
            ],
        );
        navigate(
            &href,
            NavigateOptions {
                scroll: false,
                ..NavigateOptions::default()
            },
        );
    };
    view! {
        <Form method="get" action noscroll=true attr:class="filters preview-as"
            attr:role="search" attr:aria-label="Preview as">
            <label>
                "Find a member"
                <input type="search" name="q" value=move || q.get() maxlength="100"/>
            </label>
            <Transition fallback=|| ()>
                {move || {
                    let choose = choose.clone();
                    Suspend::new(async move {
                    let chosen = member.get_untracked();
                    let list = members.await.unwrap_or_default();
                    view! {
                        <label>
                            "Preview as"
                            <select name="member" id="preview-member" on:change=choose>
                                <option value="" selected=chosen.is_empty()>"Sample data"</option>
                                // A member chosen earlier whom the search no longer lists.
                                {(!chosen.is_empty() && !list.iter().any(|m| m.id.to_string() == chosen))
                                    .then(|| view! { <option value=chosen.clone() selected>"The chosen member"</option> })}
                                {list
                                    .into_iter()
                                    .map(|m| {
                                        let id = m.id.to_string();
                                        let selected = id == chosen;
                                        view! { <option value=id selected=selected>{m.label}</option> }
                                    })
                                    .collect_view()}
                            </select>
                        </label>
                    }
                })
                }}
            </Transition>
            <button type="submit">"Preview"</button>
        </Form>
    }
}

/// Keeps the last good value while the source has an error, so the preview does not blank out
/// in the middle of typing a tag.
fn last_good<T: Clone + Default + PartialEq + Send + Sync + 'static>(
    result: Memo<Result<T, TemplateError>>,
) -> Memo<T> {
    Memo::new(move |previous: Option<&T>| match result.get() {
        Ok(value) => value,
        Err(_) => previous.cloned().unwrap_or_default(),
    })
}

/// The render error under the preview (present but hidden when there is none).
fn error_box(message: Memo<Option<String>>) -> impl IntoView {
    view! {
        <div id="preview-error" data-testid="preview-error" class="notice error" aria-live="polite"
            hidden=move || message.with(Option::is_none)>
            {move || message.get().map(|m| format!("The template cannot be rendered: {m}"))}
        </div>
    }
}

#[component]
fn EmailPreview(
    vars: MessageVars,
    subject: RwSignal<String>,
    html: RwSignal<String>,
    text: RwSignal<String>,
) -> impl IntoView {
    let rendered = Memo::new(move |_| {
        let source = EmailSource {
            subject: subject.get(),
            html: html.get(),
            text: text.get(),
        };
        render_email(&source, &vars)
    });
    let shown: Memo<RenderedEmail> = last_good(rendered);
    let error = Memo::new(move |_| rendered.with(|r| r.as_ref().err().map(ToString::to_string)));
    view! {
        <dl class="facts">
            <div><dt>"Subject"</dt><dd id="preview-subject" data-testid="preview-subject">
                {move || shown.with(|r| r.subject.clone())}
            </dd></div>
        </dl>
        {error_box(error)}
        <iframe id="preview" data-testid="preview" class="email-frame" sandbox="" title="E-mail preview"
            srcdoc=move || shown.with(|r| r.html.clone())></iframe>
        <details class="text-part" open>
            <summary>"Text part"</summary>
            <pre id="preview-text" data-testid="preview-text">{move || shown.with(|r| r.text.clone())}</pre>
        </details>
    }
}

#[component]
fn SmsPreview(vars: MessageVars, text: RwSignal<String>) -> impl IntoView {
    let rendered = Memo::new(move |_| render_sms(&text.get(), &vars));
    let shown: Memo<String> = last_good(rendered);
    let error = Memo::new(move |_| rendered.with(|r| r.as_ref().err().map(ToString::to_string)));
    let size = move || {
        let size = shown.with(|body| sms_size(body));
        let encoding = match size.encoding {
            SmsEncoding::Gsm7 => "GSM-7",
            SmsEncoding::Ucs2 => "UCS-2 (Unicode)",
        };
        let plural = if size.segments == 1 { "" } else { "s" };
        format!(
            "{} segment{plural} · {} characters · {encoding}",
            size.segments, size.units
        )
    };
    view! {
        {error_box(error)}
        <div class="sms-preview">
            <pre id="preview-sms" data-testid="preview-sms" class="sms-bubble">{move || shown.get()}</pre>
            <p id="sms-segments" data-testid="sms-segments" class="muted small" aria-live="polite">{size}</p>
        </div>
    }
}

/// The variables a template can use, collapsed.
#[component]
fn Variables() -> impl IntoView {
    view! {
        <details class="variables">
            <summary>"Variables"</summary>
            <p class="muted small">
                "Write "<code>"{{ first_name }}"</code>"; conditions as "
                <code>"{% if has_upgrade_available %}…{% endif %}"</code>"."
            </p>
            <dl class="variable-list">
                {VARIABLES
                    .iter()
                    .map(|(name, description)| view! {
                        <dt><code>{format!("{{{{ {name} }}}}")}</code></dt>
                        <dd>{*description}</dd>
                    })
                    .collect_view()}
            </dl>
        </details>
    }
}
