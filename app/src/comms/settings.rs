//! `/admin/messages`: the communication settings (providers, keys, sender, schedules, event
//! messages, footer), "test connection", "send me a test" and, on a demo server, running the
//! messaging jobs now. Every control is a plain form, so the page works without JavaScript.

use super::MessagesNav;
use super::api::{
    DEMO_JOBS, RunMessageJob, SaveMessageSettings, SendTestMessage, SettingsForm, SettingsPageView,
    TestMessageConnection, get_message_settings,
};
use crate::components::{ErrorNotice, SuccessNotice, textarea_text};
use crate::error::AppError;
use crate::layout::AdminLayout;
use domain::comms::settings::{EMAIL_PROVIDERS, SMS_PROVIDERS, SettingsView};
use domain::comms::{Channel, MessageType};
use leptos::prelude::*;
use leptos_meta::Title;

/// The page's actions.
#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<SaveMessageSettings>,
    test: ServerAction<TestMessageConnection>,
    send: ServerAction<SendTestMessage>,
    job: ServerAction<RunMessageJob>,
}

impl Actions {
    fn new() -> Self {
        Self {
            save: ServerAction::new(),
            test: ServerAction::new(),
            send: ServerAction::new(),
            job: ServerAction::new(),
        }
    }

    /// Forget earlier outcomes, so only the latest submission's message shows.
    fn clear(self) {
        self.save.value().set(None);
        self.test.value().set(None);
        self.send.value().set(None);
        self.job.value().set(None);
    }
}

/// The error or the sentence an action answered with.
fn sentence(outcome: Option<Result<String, AppError>>) -> Option<AnyView> {
    match outcome? {
        Ok(message) => Some(view! { <SuccessNotice message/> }.into_any()),
        Err(error) => Some(view! { <ErrorNotice error/> }.into_any()),
    }
}

/// `/admin/messages`.
#[component]
pub fn MessageSettingsPage() -> impl IntoView {
    let actions = Actions::new();
    let generation = RwSignal::new(0usize);
    // Reload after a successful save (never after a refused one, so typed input survives).
    Effect::new(move |_| {
        if actions.save.value().with(|v| matches!(v, Some(Ok(_)))) {
            generation.update(|g| *g += 1);
        }
    });
    let page = Resource::new(move || generation.get(), |_| get_message_settings());
    view! {
        <Title text="Messages · Vinculum"/>
        <AdminLayout>
            <div class="page" on:submit=move |_| actions.clear()>
                <h1>"Messages"</h1>
                <MessagesNav/>
                <Transition fallback=|| view! { <p class="muted">"Loading the settings…"</p> }>
                    {move || Suspend::new(async move {
                        match page.await {
                            Ok(page) => view! { <Settings page actions/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Settings(page: SettingsPageView, actions: Actions) -> impl IntoView {
    let demo = page.demo_mode;
    view! {
        <SettingsFormCard settings=page.settings.clone() actions/>
        <ConnectionCard actions/>
        <CallbacksCard callbacks=page.settings.callbacks.clone()/>
        <SendTestCard admin_email=page.admin_email.clone() actions/>
        {demo.then(|| view! { <RunJobCard actions/> })}
    }
}

/// The fields that show their own error.
const FIELDS: [&str; 12] = [
    "email_provider",
    "email_api_key",
    "email_from_address",
    "sms_provider",
    "sms_api_key",
    "sms_account_id",
    "sms_from_number",
    "sms_gateway_url",
    "warning_days_before",
    "event_types",
    "postal_address",
    "custom_content",
];

/// The message of a refused save, when it belongs to `field`.
fn field_error(actions: Actions, field: &'static str) -> impl Fn() -> Option<String> + Copy {
    move || {
        actions.save.value().with(|v| match v {
            Some(Err(e)) if e.field() == Some(field) => Some(e.to_string()),
            _ => None,
        })
    }
}

/// The save's error for a field, under it.
fn field_hint(actions: Actions, field: &'static str) -> impl IntoView {
    let error = field_error(actions, field);
    move || {
        error()
            .map(|m| view! { <span id=format!("err-{field}") class="hint" role="alert">{m}</span> })
    }
}

/// Options of a provider select, with "None" first.
fn provider_options(
    choices: &'static [(&'static str, &'static str)],
    current: Option<String>,
) -> impl IntoView {
    let current = current.unwrap_or_default();
    let none_selected = current.is_empty();
    view! {
        <option value="" selected=none_selected>"None: do not send"</option>
        {choices
            .iter()
            .map(|(value, label)| {
                let selected = *value == current;
                view! { <option value=*value selected=selected>{*label}</option> }
            })
            .collect_view()}
    }
}

/// "stored: ••••1234", or that nothing is stored.
fn stored_key(last4: Option<String>) -> String {
    match last4 {
        Some(last4) => format!("stored: ••••{last4} (leave blank to keep it)"),
        None => "none stored".to_owned(),
    }
}

#[component]
fn SettingsFormCard(settings: SettingsView, actions: Actions) -> impl IntoView {
    let s = settings;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let email_key = stored_key(s.email_key_last4.clone());
    let webhook_key = if s.email_webhook_key_set {
        "stored (leave blank to keep it)".to_owned()
    } else {
        "none stored".to_owned()
    };
    let sms_key = stored_key(s.sms_key_last4.clone());
    let days = s.warning_days_before;
    let events = s.event_types.clone();
    // Keys typed into the password fields; a save reloads this form in place, which empties them.
    let secret = || RwSignal::new(String::new());
    let (email_key_typed, webhook_key_typed, sms_key_typed) = (secret(), secret(), secret());
    let typed =
        |signal: RwSignal<String>| move |ev: leptos::ev::Event| signal.set(event_target_value(&ev));
    // A refused field shows its message under the field; anything else shows here.
    let general_error = move || {
        actions.save.value().with(|v| match v {
            Some(Err(e)) if !FIELDS.contains(&e.field().unwrap_or_default()) => Some(e.clone()),
            _ => None,
        })
    };
    view! {
        <section class="card" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            <ActionForm action=actions.save attr:class="stack wide" attr:aria-label="Message settings">
                <fieldset>
                    <legend>"E-mail"</legend>
                    <div class="field-grid two">
                        <div class="field">
                            <label for="email_provider">"E-mail provider"</label>
                            <select id="email_provider" name="email_provider" aria-describedby="err-email_provider">
                                {provider_options(EMAIL_PROVIDERS, s.email_provider.clone())}
                            </select>
                            {field_hint(actions, "email_provider")}
                        </div>
                        <div class="field">
                            <label for="email_api_key">"API key"</label>
                            <input type="password" id="email_api_key" name="email_api_key" autocomplete="new-password"
                                prop:value=move || email_key_typed.get() on:input=typed(email_key_typed)
                                aria-describedby="email-key-stored err-email_api_key"/>
                            <span id="email-key-stored" class="muted small" data-testid="email-key-stored">{email_key}</span>
                            {field_hint(actions, "email_api_key")}
                        </div>
                        <div class="field">
                            <label for="email_webhook_key">"Webhook key"</label>
                            <input type="password" id="email_webhook_key" name="email_webhook_key"
                                autocomplete="new-password" aria-describedby="webhook-key-stored"
                                prop:value=move || webhook_key_typed.get() on:input=typed(webhook_key_typed)/>
                            <span id="webhook-key-stored" class="muted small">
                                {webhook_key}" · Mailchimp's webhook key or SendGrid's event verification key"
                            </span>
                        </div>
                        <div class="field">
                            <label for="email_from_address">"From address"</label>
                            <input type="email" id="email_from_address" name="email_from_address" maxlength="254"
                                value=text(&s.email_from_address) aria-describedby="err-email_from_address"/>
                            {field_hint(actions, "email_from_address")}
                        </div>
                        <div class="field">
                            <label for="email_from_name">"From name"</label>
                            <input type="text" id="email_from_name" name="email_from_name" maxlength="120"
                                value=text(&s.email_from_name)/>
                        </div>
                    </div>
                </fieldset>
                <fieldset>
                    <legend>"SMS"</legend>
                    <div class="field-grid two">
                        <div class="field">
                            <label for="sms_provider">"SMS provider"</label>
                            <select id="sms_provider" name="sms_provider" aria-describedby="err-sms_provider">
                                {provider_options(SMS_PROVIDERS, s.sms_provider.clone())}
                            </select>
                            {field_hint(actions, "sms_provider")}
                        </div>
                        <div class="field">
                            <label for="sms_api_key">"SMS key or auth token"</label>
                            <input type="password" id="sms_api_key" name="sms_api_key" autocomplete="new-password"
                                prop:value=move || sms_key_typed.get() on:input=typed(sms_key_typed)
                                aria-describedby="sms-key-stored err-sms_api_key"/>
                            <span id="sms-key-stored" class="muted small" data-testid="sms-key-stored">{sms_key}</span>
                            {field_hint(actions, "sms_api_key")}
                        </div>
                        <div class="field">
                            <label for="sms_account_id">"Account SID"</label>
                            <input type="text" id="sms_account_id" name="sms_account_id" maxlength="64"
                                value=text(&s.sms_account_id) aria-describedby="sms-account-help err-sms_account_id"/>
                            <span id="sms-account-help" class="muted small">"Twilio only; it starts with AC."</span>
                            {field_hint(actions, "sms_account_id")}
                        </div>
                        <div class="field">
                            <label for="sms_from_number">"From number"</label>
                            <input type="text" id="sms_from_number" name="sms_from_number" maxlength="40"
                                value=text(&s.sms_from_number) aria-describedby="err-sms_from_number"/>
                            {field_hint(actions, "sms_from_number")}
                        </div>
                    </div>
                    <details class="gateway" open=s.sms_provider.as_deref() == Some("sms_gateway")>
                        <summary>"SMS gateway webhook (RedChirp or any JSON gateway)"</summary>
                        <div class="stack">
                            <div class="field">
                                <label for="sms_gateway_url">"Gateway URL"</label>
                                <input type="url" id="sms_gateway_url" name="sms_gateway_url" maxlength="1000"
                                    value=text(&s.sms_gateway_url) aria-describedby="err-sms_gateway_url"/>
                                {field_hint(actions, "sms_gateway_url")}
                            </div>
                            <div class="field">
                                <label for="sms_gateway_auth_header">"Gateway auth header name"</label>
                                <input type="text" id="sms_gateway_auth_header" name="sms_gateway_auth_header"
                                    maxlength="100" value=text(&s.sms_gateway_auth_header)
                                    aria-describedby="gateway-header-help"/>
                                <span id="gateway-header-help" class="muted small">
                                    "The header's value is the SMS key or auth token above."
                                </span>
                            </div>
                            <div class="field">
                                <label for="sms_gateway_body_template">"Gateway JSON body template"</label>
                                <textarea id="sms_gateway_body_template" name="sms_gateway_body_template" rows="4"
                                    class="code">
                                    {textarea_text(&text(&s.sms_gateway_body_template))}
                                </textarea>
                            </div>
                        </div>
                    </details>
                </fieldset>
                <fieldset>
                    <legend>"Scheduled messages"</legend>
                    <label class="check">
                        <input type="checkbox" name="send_monthly_status" value="true" checked=s.send_monthly_status/>
                        "Send the monthly status (the 1st of every month)"
                    </label>
                    <label class="check">
                        <input type="checkbox" name="send_expiration_warnings" value="true"
                            checked=s.send_expiration_warnings/>
                        "Send expiration warnings"
                    </label>
                    <div class="field">
                        <label for="warning_days_before">"Lead time of expiration warnings"</label>
                        <select id="warning_days_before" name="warning_days_before"
                            aria-describedby="err-warning_days_before">
                            {[7, 14, 30]
                                .into_iter()
                                .map(|d| view! {
                                    <option value=d.to_string() selected=d == days>{format!("{d} days before")}</option>
                                })
                                .collect_view()}
                        </select>
                        {field_hint(actions, "warning_days_before")}
                    </div>
                </fieldset>
                <fieldset>
                    <legend>"Event messages"</legend>
                    {MessageType::ALL
                        .into_iter()
                        .filter(|t| t.is_event())
                        .map(|t| {
                            let on = events.iter().any(|e| e == t.as_str());
                            view! {
                                <label class="check">
                                    <input type="checkbox" name=SettingsForm::event_field(t) value="true" checked=on/>
                                    <span>{t.label()}<span class="muted small">{format!(" — {}", t.trigger())}</span></span>
                                </label>
                            }
                        })
                        .collect_view()}
                    {field_hint(actions, "event_types")}
                </fieldset>
                <div class="field">
                    <label for="postal_address">"Postal address"</label>
                    <textarea id="postal_address" name="postal_address" rows="3" maxlength="500"
                        aria-describedby="postal-help err-postal_address">
                        {textarea_text(&text(&s.postal_address))}
                    </textarea>
                    <span id="postal-help" class="muted small">
                        "Shown in every e-mail's footer; required when an e-mail provider is set."
                    </span>
                    {field_hint(actions, "postal_address")}
                </div>
                <div class="field">
                    <label for="custom_content">"Custom paragraph"</label>
                    <textarea id="custom_content" name="custom_content" rows="3" maxlength="2000"
                        aria-describedby="custom-help err-custom_content">
                        {textarea_text(&text(&s.custom_content))}
                    </textarea>
                    <span id="custom-help" class="muted small">
                        "Templates show it where they use the custom_content variable."
                    </span>
                    {field_hint(actions, "custom_content")}
                </div>
                <button type="submit" class="primary" disabled=move || actions.save.pending().get()>"Save"</button>
            </ActionForm>
            {move || general_error().map(|error| view! { <ErrorNotice error/> })}
            {move || actions.save.value().with(|v| matches!(v, Some(Ok(_)))).then(|| view! {
                <SuccessNotice message="Message settings saved.".to_owned()/>
            })}
        </section>
    }
}

/// The addresses to enter in the providers' settings, so delivery reports and replies come back.
#[component]
fn CallbacksCard(callbacks: Vec<(String, String)>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="callbacks-heading">
            <h2 id="callbacks-heading">"Delivery reports and replies"</h2>
            <p class="muted">
                "Enter these addresses in your provider's settings. Each request is checked against "
                "its signature: SendGrid's with the event webhook's public key and Mailchimp's with the "
                "webhook key (both entered above as the webhook key), Twilio's with the auth token."
            </p>
            <dl class="facts" data-testid="callbacks">
                {callbacks
                    .into_iter()
                    .map(|(what, url)| view! { <div><dt>{what}</dt><dd><code>{url}</code></dd></div> })
                    .collect_view()}
            </dl>
        </section>
    }
}

#[component]
fn ConnectionCard(actions: Actions) -> impl IntoView {
    let test = actions.test;
    view! {
        <section class="card" aria-labelledby="connection-heading">
            <h2 id="connection-heading">"Test connection"</h2>
            <p class="muted">"Asks the saved provider whether it accepts the key; nothing is sent. Save first."</p>
            <div class="controls">
                {Channel::ALL
                    .into_iter()
                    .map(|channel| {
                        let text = match channel {
                            Channel::Email => "Test e-mail connection",
                            Channel::Sms => "Test SMS connection",
                        };
                        view! {
                            <ActionForm action=test attr:class="inline">
                                <input type="hidden" name="channel" value=channel.as_str()/>
                                <button type="submit" disabled=move || test.pending().get()>{text}</button>
                            </ActionForm>
                        }
                    })
                    .collect_view()}
            </div>
            <div data-testid="connection-result">{move || sentence(test.value().get())}</div>
        </section>
    }
}

#[component]
fn SendTestCard(admin_email: String, actions: Actions) -> impl IntoView {
    let send = actions.send;
    view! {
        <section class="card" aria-labelledby="send-test-heading">
            <h2 id="send-test-heading">"Send me a test"</h2>
            <p class="muted">"Sends the winery's template, filled with sample data, now; the outbox is not touched."</p>
            <ActionForm action=send attr:class="stack" attr:aria-label="Send me a test">
                <div class="field-grid">
                    <label>
                        "Message"
                        <select name="kind">
                            {MessageType::ALL
                                .into_iter()
                                .map(|t| view! { <option value=t.as_str()>{t.label()}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        "Channel"
                        <select name="channel">
                            {Channel::ALL
                                .into_iter()
                                .map(|c| view! { <option value=c.as_str()>{c.label()}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <div class="field span2">
                        <label for="send_to">"Send to"</label>
                        <input type="text" id="send_to" name="to" required maxlength="254" value=admin_email
                            aria-describedby="send-to-help"/>
                        <span id="send-to-help" class="muted small">
                            "An e-mail address, or for SMS a phone number such as +15551234567."
                        </span>
                    </div>
                </div>
                <button type="submit" disabled=move || send.pending().get()>"Send me a test"</button>
            </ActionForm>
            <div data-testid="send-test-result">{move || sentence(send.value().get())}</div>
        </section>
    }
}

#[component]
fn RunJobCard(actions: Actions) -> impl IntoView {
    let job = actions.job;
    view! {
        <section class="card demo-box" aria-labelledby="run-job-heading">
            <h2 id="run-job-heading">"Run a job now"</h2>
            <p class="muted">
                "Demo only: runs a scheduled messaging job for this winery at once and sends what it queued. "
                "The messages appear in the "<a href="/admin/messages/outbox">"outbox"</a>"."
            </p>
            <ActionForm action=job attr:aria-label="Run a job now">
                <div class="controls">
                    <label>
                        "Job"
                        <select name="job">
                            {DEMO_JOBS
                                .into_iter()
                                .map(|(name, text)| view! { <option value=name>{text}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        "As of (the winery's time; empty: now)"
                        <input type="datetime-local" name="as_of" value=""/>
                    </label>
                    <button type="submit" disabled=move || job.pending().get()>"Run the job"</button>
                </div>
            </ActionForm>
            <div data-testid="run-job-result">
                {move || sentence(job.value().get())}
                {move || job.value().with(|v| matches!(v, Some(Ok(_)))).then(|| view! {
                    <p><a href="/admin/messages/outbox">"See the messages in the outbox"</a></p>
                })}
            </div>
        </section>
    }
}
