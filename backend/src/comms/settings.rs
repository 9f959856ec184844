//! A winery's communication settings (domain.md 3.15, D19): which providers it uses, their keys
//! (sealed with the server's cipher, shown masked), the sender, the lead time and the switches;
//! building the provider clients from them; and the saved templates, checked before they are
//! stored (D20).

use super::providers::{
    EmailProvider, Endpoints, SmsProvider, gateway::Gateway, klaviyo::Klaviyo, mandrill::Mandrill,
    sendgrid::SendGrid, twilio::Twilio,
};
use crate::crypto::{Cipher, last4};
use crate::{Error, Result};
use domain::comms::template::{Escape, check};
use domain::comms::{Channel, MessageType};
use domain::ids::ClientId;
use secrecy::ExposeSecret as _;
use sqlx::PgConnection;

pub use domain::comms::settings::{
    EMAIL_PROVIDERS, SMS_PROVIDERS, SettingsInput, SettingsView, TemplateView,
};

/// Reads the settings.
///
/// # Errors
/// Database failures.
pub async fn view(conn: &mut PgConnection, client: ClientId) -> Result<SettingsView> {
    let row = sqlx::query!(
        r#"select email_provider, email_api_key_last4, email_webhook_key_encrypted is not null as "webhook_key!",
                  email_from_address, email_from_name, sms_provider, sms_api_key_last4, sms_account_id,
                  sms_from_number, sms_gateway_url, sms_gateway_auth_header, sms_gateway_body_template,
                  send_monthly_status, send_expiration_warnings, warning_days_before, event_types,
                  postal_address, custom_content
           from communication_configs where client_id = $1"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        None => SettingsView {
            send_monthly_status: true,
            send_expiration_warnings: true,
            warning_days_before: 7,
            event_types: MessageType::ALL
                .into_iter()
                .filter(|t| t.is_event() && t.on_by_default())
                .map(|t| t.as_str().to_owned())
                .collect(),
            ..SettingsView::default()
        },
        Some(r) => SettingsView {
            email_provider: r.email_provider,
            email_key_last4: r.email_api_key_last4,
            email_webhook_key_set: r.webhook_key,
            email_from_address: r.email_from_address,
            email_from_name: r.email_from_name,
            sms_provider: r.sms_provider,
            sms_key_last4: r.sms_api_key_last4,
            sms_account_id: r.sms_account_id,
            sms_from_number: r.sms_from_number,
            sms_gateway_url: r.sms_gateway_url,
            sms_gateway_auth_header: r.sms_gateway_auth_header,
            sms_gateway_body_template: r.sms_gateway_body_template,
            send_monthly_status: r.send_monthly_status,
            send_expiration_warnings: r.send_expiration_warnings,
            warning_days_before: r.warning_days_before,
            event_types: r.event_types,
            postal_address: r.postal_address,
            custom_content: r.custom_content,
            callbacks: Vec::new(),
        },
    })
}

fn blank(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Checks and stores the settings. Nothing is written when anything is refused.
///
/// # Errors
/// [`Error::Invalid`] naming the field; database failures.
pub async fn save(
    conn: &mut PgConnection,
    client: ClientId,
    cipher: &Cipher,
    input: &SettingsInput,
) -> Result<SettingsView> {
    let current = view(conn, client).await?;
    let email_provider = blank(&input.email_provider);
    if let Some(p) = &email_provider
        && !EMAIL_PROVIDERS.iter().any(|(v, _)| v == p)
    {
        return Err(Error::invalid(
            "email_provider",
            "Choose one of the listed e-mail providers.",
        ));
    }
    let sms_provider = blank(&input.sms_provider);
    if let Some(p) = &sms_provider
        && !SMS_PROVIDERS.iter().any(|(v, _)| v == p)
    {
        return Err(Error::invalid(
            "sms_provider",
            "Choose one of the listed SMS providers.",
        ));
    }
    let email_from = blank(&input.email_from_address);
    if let Some(from) = &email_from {
        domain::EmailAddress::parse(from)
            .map_err(|e| Error::invalid("email_from_address", format!("The from address {e}.")))?;
    }
    let real_email = email_provider.as_deref().is_some_and(|p| p != "sandbox");
    let email_key = blank(&input.email_api_key);
    if real_email && email_key.is_none() && current.email_key_last4.is_none() {
        return Err(Error::invalid(
            "email_api_key",
            "Enter the provider's API key.",
        ));
    }
    if email_provider.as_deref().is_some_and(|p| p != "klaviyo") && email_from.is_none() {
        return Err(Error::invalid(
            "email_from_address",
            "Enter the address messages come from.",
        ));
    }
    let sms_from = blank(&input.sms_from_number);
    let sms_key = blank(&input.sms_api_key);
    let sms_account = blank(&input.sms_account_id);
    match sms_provider.as_deref() {
        Some("twilio") => {
            if sms_account.as_deref().is_none_or(|s| !s.starts_with("AC")) {
                return Err(Error::invalid(
                    "sms_account_id",
                    "Enter the Twilio Account SID (it starts with AC).",
                ));
            }
            if sms_key.is_none() && current.sms_key_last4.is_none() {
                return Err(Error::invalid(
                    "sms_api_key",
                    "Enter the Twilio Auth Token.",
                ));
            }
            match &sms_from {
                Some(from) if from.starts_with("MG") => {}
                Some(from) => {
                    domain::comms::Phone::parse(from).map_err(|e| {
                        Error::invalid("sms_from_number", format!("The from number {e}."))
                    })?;
                }
                None => {
                    return Err(Error::invalid(
                        "sms_from_number",
                        "Enter the number (or Messaging Service SID) texts come from.",
                    ));
                }
            }
        }
        Some("klaviyo") if sms_key.is_none() && current.sms_key_last4.is_none() => {
            return Err(Error::invalid(
                "sms_api_key",
                "Enter the Klaviyo private API key.",
            ));
        }
        Some("sms_gateway") => {
            let header = blank(&input.sms_gateway_auth_header)
                .map(|name| (name, sms_key.clone().unwrap_or_else(|| "x".to_owned())));
            Gateway::new(
                &input.sms_gateway_url,
                header,
                &input.sms_gateway_body_template,
                std::time::Duration::from_secs(10),
            )
            .map_err(|e| Error::invalid("sms_gateway_url", format!("{e}.")))?;
        }
        _ => {}
    }
    if ![7, 14, 30].contains(&input.warning_days_before) {
        return Err(Error::invalid(
            "warning_days_before",
            "The lead time is 7, 14 or 30 days.",
        ));
    }
    let mut events = Vec::new();
    for t in &input.event_types {
        match MessageType::parse(t) {
            Some(kind) if kind.is_event() => events.push(kind.as_str().to_owned()),
            _ => {
                return Err(Error::invalid(
                    "event_types",
                    format!("{t} is not an event message."),
                ));
            }
        }
    }
    let postal = domain::text::optional(&input.postal_address, 500, true)
        .map_err(|e| Error::invalid("postal_address", format!("The postal address {e}.")))?;
    if email_provider.is_some() && postal.is_none() {
        return Err(Error::invalid(
            "postal_address",
            "Enter the winery's postal address; every e-mail shows it in its footer.",
        ));
    }
    let custom = domain::text::optional(&input.custom_content, 2000, true)
        .map_err(|e| Error::invalid("custom_content", format!("The custom paragraph {e}.")))?;
    let seal = |k: &Option<String>| k.as_ref().map(|k| cipher.seal(k));
    let four = |k: &Option<String>| k.as_ref().map(|k| last4(k));
    let webhook = blank(&input.email_webhook_key);
    sqlx::query!(
        r#"insert into communication_configs
               (client_id, email_provider, email_api_key_encrypted, email_api_key_last4, email_webhook_key_encrypted,
                email_from_address, email_from_name, sms_provider, sms_api_key_encrypted, sms_api_key_last4,
                sms_account_id, sms_from_number, sms_gateway_url, sms_gateway_auth_header, sms_gateway_body_template,
                send_monthly_status, send_expiration_warnings, warning_days_before, event_types, postal_address,
                custom_content)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
           on conflict (client_id) do update set
               email_provider = excluded.email_provider,
               email_api_key_encrypted = coalesce(excluded.email_api_key_encrypted, communication_configs.email_api_key_encrypted),
               email_api_key_last4 = coalesce(excluded.email_api_key_last4, communication_configs.email_api_key_last4),
               email_webhook_key_encrypted = coalesce(excluded.email_webhook_key_encrypted, communication_configs.email_webhook_key_encrypted),
               email_from_address = excluded.email_from_address,
               email_from_name = excluded.email_from_name,
               sms_provider = excluded.sms_provider,
               sms_api_key_encrypted = coalesce(excluded.sms_api_key_encrypted, communication_configs.sms_api_key_encrypted),
               sms_api_key_last4 = coalesce(excluded.sms_api_key_last4, communication_configs.sms_api_key_last4),
               sms_account_id = excluded.sms_account_id,
               sms_from_number = excluded.sms_from_number,
               sms_gateway_url = excluded.sms_gateway_url,
               sms_gateway_auth_header = excluded.sms_gateway_auth_header,
               sms_gateway_body_template = excluded.sms_gateway_body_template,
               send_monthly_status = excluded.send_monthly_status,
               send_expiration_warnings = excluded.send_expiration_warnings,
               warning_days_before = excluded.warning_days_before,
               event_types = excluded.event_types,
               postal_address = excluded.postal_address,
               custom_content = excluded.custom_content"#,
        client.as_uuid(),
        email_provider,
        seal(&email_key),
        four(&email_key),
        seal(&webhook),
        email_from,
        blank(&input.email_from_name),
        sms_provider,
        seal(&sms_key),
        four(&sms_key),
        sms_account,
        sms_from,
        blank(&input.sms_gateway_url),
        blank(&input.sms_gateway_auth_header),
        blank(&input.sms_gateway_body_template),
        input.send_monthly_status,
        input.send_expiration_warnings,
        input.warning_days_before,
        &events,
        postal,
        custom
    )
    .execute(&mut *conn)
    .await?;
    view(conn, client).await
}

/// An e-mail channel ready to send.
#[derive(Debug)]
pub enum EmailSender {
    Sandbox,
    Provider(EmailProvider),
}

/// An SMS channel ready to send.
#[derive(Debug)]
pub enum SmsSender {
    Sandbox,
    Provider(SmsProvider),
}

/// The winery's senders, with the details each message needs.
#[derive(Debug, Default)]
pub struct Senders {
    pub email: Option<EmailSender>,
    pub sms: Option<SmsSender>,
    pub from_address: String,
    pub from_name: Option<String>,
    pub sms_from: String,
    /// Twilio's auth token, which also checks its callbacks' signatures.
    pub sms_secret: Option<String>,
    /// Mailchimp's webhook key or SendGrid's event public key.
    pub email_webhook_key: Option<String>,
}

/// Builds the winery's provider clients from its settings. A key that cannot be opened (another
/// server key) leaves that channel without a sender, which the worker reports on each message.
///
/// # Errors
/// Database failures.
pub async fn senders(
    conn: &mut PgConnection,
    client: ClientId,
    cipher: Option<&Cipher>,
    endpoints: &Endpoints,
) -> Result<Senders> {
    let row = sqlx::query!(
        r#"select email_provider, email_api_key_encrypted, email_webhook_key_encrypted, email_from_address,
                  email_from_name, sms_provider, sms_api_key_encrypted, sms_account_id, sms_from_number,
                  sms_gateway_url, sms_gateway_auth_header, sms_gateway_body_template
           from communication_configs where client_id = $1"#,
        client.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else {
        return Ok(Senders::default());
    };
    let open = |sealed: &Option<Vec<u8>>| -> Option<String> {
        let (cipher, sealed) = (cipher?, sealed.as_ref()?);
        cipher
            .open(sealed)
            .ok()
            .map(|s| s.expose_secret().to_owned())
    };
    let email_key = open(&r.email_api_key_encrypted);
    let email = match (r.email_provider.as_deref(), email_key.as_deref()) {
        (Some("sandbox"), _) => Some(EmailSender::Sandbox),
        (Some("sendgrid"), Some(key)) => Some(EmailSender::Provider(EmailProvider::SendGrid(
            SendGrid::new(endpoints, key),
        ))),
        (Some("mailchimp"), Some(key)) => Some(EmailSender::Provider(EmailProvider::Mandrill(
            Mandrill::new(endpoints, key),
        ))),
        (Some("klaviyo"), Some(key)) => Some(EmailSender::Provider(EmailProvider::Klaviyo(
            Klaviyo::new(endpoints, key),
        ))),
        _ => None,
    };
    let sms_key = open(&r.sms_api_key_encrypted);
    let sms = match (r.sms_provider.as_deref(), sms_key.as_deref()) {
        (Some("sandbox"), _) => Some(SmsSender::Sandbox),
        (Some("twilio"), Some(token)) => r.sms_account_id.as_deref().map(|sid| {
            SmsSender::Provider(SmsProvider::Twilio(Twilio::new(endpoints, sid, token)))
        }),
        (Some("klaviyo"), Some(key)) => Some(SmsSender::Provider(SmsProvider::Klaviyo(
            Klaviyo::new(endpoints, key),
        ))),
        (Some("sms_gateway"), key) => {
            let header = r
                .sms_gateway_auth_header
                .clone()
                .map(|name| (name, key.unwrap_or_default().to_owned()));
            Gateway::new(
                r.sms_gateway_url.as_deref().unwrap_or_default(),
                header,
                r.sms_gateway_body_template.as_deref().unwrap_or_default(),
                endpoints.timeout,
            )
            .ok()
            .map(|g| SmsSender::Provider(SmsProvider::Gateway(g)))
        }
        _ => None,
    };
    Ok(Senders {
        email,
        sms,
        from_address: r.email_from_address.unwrap_or_default(),
        from_name: r.email_from_name,
        sms_from: r.sms_from_number.unwrap_or_default(),
        sms_secret: sms_key,
        email_webhook_key: open(&r.email_webhook_key_encrypted),
    })
}

/// The template of `kind` on `channel`.
///
/// # Errors
/// Database failures.
pub async fn template(
    conn: &mut PgConnection,
    client: ClientId,
    kind: MessageType,
    channel: Channel,
) -> Result<TemplateView> {
    let row = sqlx::query!(
        r#"select subject, html_body, text_body from communication_templates
           where client_id = $1 and template_type = $2 and channel = $3 and is_active"#,
        client.as_uuid(),
        kind.as_str(),
        channel.as_str()
    )
    .fetch_optional(conn)
    .await?;
    let (subject, html, text, custom) = match (row, channel) {
        (Some(r), _) => (
            r.subject.unwrap_or_default(),
            r.html_body.unwrap_or_default(),
            r.text_body.unwrap_or_default(),
            true,
        ),
        (None, Channel::Email) => {
            let d = domain::comms::defaults::email(kind);
            (d.subject, d.html, d.text, false)
        }
        (None, Channel::Sms) => (
            String::new(),
            String::new(),
            domain::comms::defaults::sms(kind),
            false,
        ),
    };
    Ok(TemplateView {
        kind: kind.as_str().to_owned(),
        channel: channel.as_str().to_owned(),
        subject,
        html,
        text,
        custom,
    })
}

/// Checks and saves a template (D20): a syntax error is refused with its line and column, an
/// unknown variable by name, and a template that cannot render within the limits is refused too.
///
/// # Errors
/// [`Error::Invalid`] naming the part; database failures.
pub async fn save_template(
    conn: &mut PgConnection,
    client: ClientId,
    kind: MessageType,
    channel: Channel,
    subject: &str,
    html: &str,
    text: &str,
) -> Result<TemplateView> {
    let part = |field: &'static str, what: &str, source: &str, escape: Escape| {
        check(source, escape).map_err(|e| Error::invalid(field, format!("{what}: {e}")))
    };
    match channel {
        Channel::Email => {
            if subject.trim().is_empty() {
                return Err(Error::invalid("subject", "The subject is required."));
            }
            if subject.chars().count() > 500 {
                return Err(Error::invalid(
                    "subject",
                    "The subject must be at most 500 characters.",
                ));
            }
            part("subject", "Subject", subject, Escape::Text)?;
            if html.trim().is_empty() {
                return Err(Error::invalid("html", "The HTML body is required."));
            }
            part("html", "HTML body", html, Escape::Html)?;
            part("text", "Text part", text, Escape::Text)?;
        }
        Channel::Sms => {
            if text.trim().is_empty() {
                return Err(Error::invalid("text", "The message is required."));
            }
            if text.chars().count() > 1600 {
                return Err(Error::invalid(
                    "text",
                    "An SMS template must be at most 1,600 characters.",
                ));
            }
            part("text", "Message", text, Escape::Text)?;
        }
    }
    let email = channel == Channel::Email;
    sqlx::query!(
        r#"insert into communication_templates (client_id, template_type, channel, subject, html_body, text_body)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (client_id, template_type, channel) do update set
               subject = excluded.subject, html_body = excluded.html_body, text_body = excluded.text_body,
               is_active = true, version = communication_templates.version + 1"#,
        client.as_uuid(),
        kind.as_str(),
        channel.as_str(),
        email.then_some(subject),
        email.then_some(html),
        text
    )
    .execute(&mut *conn)
    .await?;
    template(conn, client, kind, channel).await
}

/// Deletes the winery's template, so the default applies again.
///
/// # Errors
/// Database failures.
pub async fn reset_template(
    conn: &mut PgConnection,
    client: ClientId,
    kind: MessageType,
    channel: Channel,
) -> Result<TemplateView> {
    sqlx::query!(
        "delete from communication_templates where client_id = $1 and template_type = $2 and channel = $3",
        client.as_uuid(),
        kind.as_str(),
        channel.as_str()
    )
    .execute(&mut *conn)
    .await?;
    template(conn, client, kind, channel).await
}
