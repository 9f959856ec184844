//! What the messaging admin pages read and do: the outbox and log with filters, one message in
//! full, the template preview's variables (sample data or a real member), "test connection" and
//! "send me a test".

use super::providers::{EmailMessage, SmsMessage};
use super::settings::{self, EmailSender, SmsSender};
use super::snapshot::{self, Selection};
use super::{links, outbox};
use crate::db;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::calendar::local_label;
use domain::comms::template::render_email;
use domain::comms::vars::MessageVars;
use domain::comms::views::{
    DeliveryView, MessageView, OUTBOX_PAGE, OutboxFilter, OutboxRow, OutboxView, PreviewMember,
    STATUSES,
};
use domain::comms::{Channel, MessageType};
use domain::ids::{ClientId, CustomerId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The newest messages matching `filter`.
///
/// # Errors
/// [`Error::Invalid`] for an unknown type or status; database failures.
pub async fn outbox(
    conn: &mut PgConnection,
    client: ClientId,
    zone: Tz,
    filter: &OutboxFilter,
) -> Result<OutboxView> {
    let kind = filter.kind.trim();
    if !kind.is_empty() && MessageType::parse(kind).is_none() {
        return Err(Error::invalid(
            "kind",
            "Choose one of the listed message types.",
        ));
    }
    let status = filter.status.trim();
    if !status.is_empty() && !STATUSES.contains(&status) {
        return Err(Error::invalid(
            "status",
            "Choose one of the listed statuses.",
        ));
    }
    let member = filter.member.trim().to_lowercase();
    let rows = sqlx::query!(
        r#"select id, created_at, template_type, channel, provider, status, to_address, customer_name,
                  subject, error_message
           from communication_log
           where client_id = $1 and ($2 = '' or template_type = $2) and ($3 = '' or status = $3)
             and ($4 = '' or lower(to_address) like $4 || '%' or lower(coalesce(customer_name, '')) like $4 || '%')
           order by created_at desc, id
           limit $5"#,
        client.as_uuid(),
        kind,
        status,
        member.replace(['%', '_'], ""),
        OUTBOX_PAGE
    )
    .fetch_all(&mut *conn)
    .await?;
    let counts = sqlx::query!(
        r#"select status, count(*) as "n!" from communication_log where client_id = $1 group by status order by status"#,
        client.as_uuid()
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(OutboxView {
        rows: rows
            .into_iter()
            .map(|r| OutboxRow {
                id: r.id,
                created_label: local_label(r.created_at, zone),
                kind: r.template_type,
                channel: r.channel,
                provider: r.provider,
                status: r.status,
                to: r.to_address,
                member: r.customer_name.unwrap_or_default(),
                subject: r.subject.unwrap_or_default(),
                error: r.error_message,
            })
            .collect(),
        counts: counts.into_iter().map(|c| (c.status, c.n)).collect(),
    })
}

/// One message in full.
///
/// # Errors
/// [`Error::NotFound`] when the winery has no such message; database failures.
pub async fn message(
    conn: &mut PgConnection,
    client: ClientId,
    zone: Tz,
    id: Uuid,
) -> Result<MessageView> {
    let r = sqlx::query!(
        r#"select id, created_at, template_type, channel, provider, status, to_address, customer_name,
                  subject, error_message, rendered_html, rendered_text, provider_message_id, attempts,
                  sent_at, delivery_events
           from communication_log where client_id = $1 and id = $2"#,
        client.as_uuid(),
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(Error::NotFound { what: "message" })?;
    let events = r
        .delivery_events
        .as_array()
        .map(|all| {
            all.iter()
                .map(|e| DeliveryView {
                    status: e["status"].as_str().unwrap_or_default().to_owned(),
                    at_label: e["at"]
                        .as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .map(|t| local_label(t.with_timezone(&Utc), zone))
                        .unwrap_or_default(),
                    detail: e["detail"].as_str().map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(MessageView {
        row: OutboxRow {
            id: r.id,
            created_label: local_label(r.created_at, zone),
            kind: r.template_type,
            channel: r.channel,
            provider: r.provider,
            status: r.status,
            to: r.to_address,
            member: r.customer_name.unwrap_or_default(),
            subject: r.subject.unwrap_or_default(),
            error: r.error_message,
        },
        html: r.rendered_html,
        text: r.rendered_text.unwrap_or_default(),
        provider_message_id: r.provider_message_id,
        attempts: r.attempts,
        sent_label: r.sent_at.map(|t| local_label(t, zone)),
        events,
    })
}

/// Members to preview as: those whose name or e-mail starts with `query` (the first 20).
///
/// # Errors
/// Database failures.
pub async fn preview_members(
    conn: &mut PgConnection,
    client: ClientId,
    query: &str,
) -> Result<Vec<PreviewMember>> {
    let q = query.trim().to_lowercase().replace(['%', '_'], "");
    let rows = sqlx::query!(
        r#"select id, email, first_name, last_name from customers
           where client_id = $1 and anonymized_at is null and is_club_member
             and ($2 = '' or email like $2 || '%' or lower(coalesce(first_name, '')) like $2 || '%'
                  or lower(coalesce(last_name, '')) like $2 || '%')
           order by email limit 20"#,
        client.as_uuid(),
        q
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = [r.first_name, r.last_name]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            PreviewMember {
                id: r.id,
                label: if name.is_empty() {
                    r.email
                } else {
                    format!("{name} <{}>", r.email)
                },
            }
        })
        .collect())
}

/// The variables to preview with: a real member's as of `now`, or sample values.
///
/// # Errors
/// [`Error::NotFound`] for an unknown member; database failures.
pub async fn preview_vars(
    conn: &mut PgConnection,
    client: ClientId,
    customer: Option<CustomerId>,
    now: DateTime<Utc>,
) -> Result<MessageVars> {
    let winery = snapshot::winery(conn, client)
        .await?
        .ok_or(Error::NotFound { what: "message" })?;
    let Some(customer) = customer else {
        let mut vars = MessageVars::sample(&winery.name);
        vars.postal_address = winery.postal_address.clone().unwrap_or_default();
        vars.custom_content = winery.custom_content.clone().unwrap_or_default();
        vars.shop_url.clone_from(&winery.shop_url);
        return Ok(vars);
    };
    let mut members =
        snapshot::members(conn, &winery, &Selection::Customers(vec![customer]), now).await?;
    members
        .pop()
        .map(|m| m.vars)
        .ok_or(Error::NotFound { what: "message" })
}

/// "Test connection": an authenticated call to the provider that sends nothing.
///
/// # Errors
/// [`Error::Invalid`] with the provider's answer when it refuses; database failures.
pub async fn test_connection(pool: &PgPool, client: ClientId, channel: Channel) -> Result<String> {
    let runtime = super::runtime();
    let mut tx = db::begin_scoped(pool, client).await?;
    let senders =
        settings::senders(&mut tx, client, runtime.cipher.as_ref(), &runtime.endpoints).await?;
    tx.commit().await?;
    let field = channel.as_str();
    let answer = match channel {
        Channel::Email => match senders.email {
            None => return Err(Error::invalid(field, "No e-mail provider is configured.")),
            Some(EmailSender::Sandbox) => Ok("The sandbox is always reachable; it stores messages in the outbox and sends nothing.".to_owned()),
            Some(EmailSender::Provider(p)) => p.check().await,
        },
        Channel::Sms => match senders.sms {
            None => return Err(Error::invalid(field, "No SMS provider is configured.")),
            Some(SmsSender::Sandbox) => Ok("The sandbox is always reachable; it stores messages in the outbox and sends nothing.".to_owned()),
            Some(SmsSender::Provider(p)) => p.check().await,
        },
    };
    answer.map_err(|e| Error::invalid(field, format!("The provider refused: {}", e.message())))
}

/// "Send me a test": the winery's `kind` template, rendered with sample values, sent now to
/// `to` (the admin's address, or a phone number for SMS) without touching the outbox.
///
/// # Errors
/// [`Error::Invalid`] when nothing is configured or the provider refuses; database failures.
pub async fn send_test(
    pool: &PgPool,
    client: ClientId,
    kind: MessageType,
    channel: Channel,
    to: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let runtime = super::runtime();
    let mut tx = db::begin_scoped(pool, client).await?;
    let senders =
        settings::senders(&mut tx, client, runtime.cipher.as_ref(), &runtime.endpoints).await?;
    let templates = outbox::Templates::load(&mut tx, client).await?;
    let vars = preview_vars(&mut tx, client, None, now).await?;
    tx.commit().await?;
    let id = Uuid::new_v4();
    let field = "to";
    match channel {
        Channel::Email => {
            let to = domain::EmailAddress::parse(to)
                .map_err(|e| Error::invalid(field, format!("The address {e}.")))?;
            let email = render_email(&templates.email(kind), &vars)
                .map_err(|e| Error::invalid("template", e.to_string()))?;
            match senders.email {
                None => Err(Error::invalid(field, "No e-mail provider is configured.")),
                Some(EmailSender::Sandbox) => Ok(format!(
                    "Rendered \"{}\"; the sandbox sends nothing, so no e-mail went to {to}.",
                    email.subject
                )),
                Some(EmailSender::Provider(p)) => p
                    .send(&EmailMessage {
                        id,
                        to: to.to_string(),
                        to_name: None,
                        from_address: senders.from_address.clone(),
                        from_name: senders.from_name.clone(),
                        subject: format!("[Test] {}", email.subject),
                        html: email.html,
                        text: email.text,
                        headers: links::unsubscribe_headers(&vars.unsubscribe_url),
                        category: kind.as_str().to_owned(),
                        properties: serde_json::to_value(&vars).unwrap_or_default(),
                    })
                    .await
                    .map(|_| format!("Sent a test to {to} through {}.", p.name()))
                    .map_err(|e| {
                        Error::invalid(field, format!("The provider refused: {}", e.message()))
                    }),
            }
        }
        Channel::Sms => {
            let phone = domain::comms::Phone::parse(to)
                .map_err(|e| Error::invalid(field, format!("The phone number {e}.")))?;
            let body = domain::comms::template::render_sms(&templates.sms(kind), &vars)
                .map_err(|e| Error::invalid("template", e.to_string()))?;
            match senders.sms {
                None => Err(Error::invalid(field, "No SMS provider is configured.")),
                Some(SmsSender::Sandbox) => Ok(format!(
                    "Rendered the text; the sandbox sends nothing, so nothing went to {phone}."
                )),
                Some(SmsSender::Provider(p)) => p
                    .send(&SmsMessage {
                        id,
                        to: phone.to_string(),
                        from: senders.sms_from.clone(),
                        body,
                        status_callback: None,
                        category: kind.as_str().to_owned(),
                        properties: serde_json::json!({}),
                    })
                    .await
                    .map(|_| format!("Sent a test text to {phone} through {}.", p.name()))
                    .map_err(|e| {
                        Error::invalid(field, format!("The provider refused: {}", e.message()))
                    }),
            }
        }
    }
}

/// The services the admin pages call: each opens the admin's tenant scope, and every change
/// needs an editor (an owner or admin, not a viewer).
pub mod service {
    use super::*;
    use crate::auth::Admin;
    use crate::comms::settings::{SettingsInput, SettingsView, TemplateView};

    /// The settings.
    ///
    /// # Errors
    /// Database failures.
    pub async fn settings(pool: &PgPool, admin: &Admin) -> Result<SettingsView> {
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let mut view = settings::view(&mut tx, admin.client_id).await?;
        tx.commit().await?;
        let base = format!("{}/webhooks/comms", super::super::runtime().public_url);
        let client = admin.client_id.as_uuid();
        view.callbacks = vec![
            (
                "SendGrid event webhook (signed)".to_owned(),
                format!("{base}/sendgrid/{client}"),
            ),
            (
                "Mailchimp Transactional webhook".to_owned(),
                format!("{base}/mandrill/{client}"),
            ),
            (
                "Twilio: a message comes in".to_owned(),
                format!("{base}/twilio/{client}/inbound"),
            ),
            (
                "Twilio status callback (sent with every text)".to_owned(),
                format!("{base}/twilio/{client}/status"),
            ),
        ];
        Ok(view)
    }

    /// Saves the settings.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a viewer; [`Error::Invalid`] naming the field.
    pub async fn save_settings(
        pool: &PgPool,
        admin: &Admin,
        input: &SettingsInput,
    ) -> Result<SettingsView> {
        admin.require_editor()?;
        let cipher = super::super::runtime().cipher.clone().ok_or_else(|| {
            Error::invalid(
                "email_api_key",
                "The server has no secret key to seal provider keys with.",
            )
        })?;
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let view = settings::save(&mut tx, admin.client_id, &cipher, input).await?;
        crate::db::audit::record(
            &mut tx,
            crate::db::audit::Entry {
                client: admin.client_id,
                actor: &admin.actor(),
                action: "communication_settings.saved",
                entity_type: "communication_configs",
                entity_id: None,
                before: None,
                after: Some(serde_json::json!({
                    "email_provider": view.email_provider, "sms_provider": view.sms_provider,
                    "warning_days_before": view.warning_days_before,
                })),
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The types and channels for which the winery saved its own template.
    ///
    /// # Errors
    /// Database failures.
    pub async fn customized(pool: &PgPool, admin: &Admin) -> Result<Vec<(MessageType, Channel)>> {
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let rows = sqlx::query!(
            "select template_type, channel from communication_templates where client_id = $1 and is_active",
            admin.client_id.as_uuid()
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some((
                    MessageType::parse(&r.template_type)?,
                    Channel::parse(&r.channel)?,
                ))
            })
            .collect())
    }

    /// A template (the winery's, or the default).
    ///
    /// # Errors
    /// Database failures.
    pub async fn template(
        pool: &PgPool,
        admin: &Admin,
        kind: MessageType,
        channel: Channel,
    ) -> Result<TemplateView> {
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let view = settings::template(&mut tx, admin.client_id, kind, channel).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Checks and saves a template.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a viewer; [`Error::Invalid`] with the line and column.
    pub async fn save_template(
        pool: &PgPool,
        admin: &Admin,
        kind: MessageType,
        channel: Channel,
        subject: &str,
        html: &str,
        text: &str,
    ) -> Result<TemplateView> {
        admin.require_editor()?;
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let view =
            settings::save_template(&mut tx, admin.client_id, kind, channel, subject, html, text)
                .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Goes back to the default template.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a viewer; database failures.
    pub async fn reset_template(
        pool: &PgPool,
        admin: &Admin,
        kind: MessageType,
        channel: Channel,
    ) -> Result<TemplateView> {
        admin.require_editor()?;
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let view = settings::reset_template(&mut tx, admin.client_id, kind, channel).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The preview's variables.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown member; database failures.
    pub async fn preview_vars(
        pool: &PgPool,
        admin: &Admin,
        customer: Option<CustomerId>,
        now: DateTime<Utc>,
    ) -> Result<MessageVars> {
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let vars = super::preview_vars(&mut tx, admin.client_id, customer, now).await?;
        tx.commit().await?;
        Ok(vars)
    }

    /// Members to preview as.
    ///
    /// # Errors
    /// Database failures.
    pub async fn preview_members(
        pool: &PgPool,
        admin: &Admin,
        query: &str,
    ) -> Result<Vec<PreviewMember>> {
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let members = super::preview_members(&mut tx, admin.client_id, query).await?;
        tx.commit().await?;
        Ok(members)
    }

    /// The outbox.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad filter; database failures.
    pub async fn outbox(pool: &PgPool, admin: &Admin, filter: &OutboxFilter) -> Result<OutboxView> {
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let view = super::outbox(&mut tx, admin.client_id, admin.zone(), filter).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// One message.
    ///
    /// # Errors
    /// [`Error::NotFound`]; database failures.
    pub async fn message(pool: &PgPool, admin: &Admin, id: Uuid) -> Result<MessageView> {
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let view = super::message(&mut tx, admin.client_id, admin.zone(), id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// "Send again": a failed message goes back to the outbox with its attempts reset, and the
    /// worker sends it at once. Only a failed message can be sent again (a sent one never is).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a viewer; [`Error::NotFound`]; [`Error::Conflict`] for a message
    /// that has not failed.
    pub async fn retry_message(
        pool: &PgPool,
        admin: &Admin,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<()> {
        admin.require_editor()?;
        let mut tx = db::begin_scoped(pool, admin.client_id).await?;
        let status = sqlx::query_scalar!(
            "select status from communication_log where client_id = $1 and id = $2 for update",
            admin.client_id.as_uuid(),
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound { what: "message" })?;
        if status != "failed" {
            return Err(Error::Conflict(format!(
                "This message is {status}; only a failed message can be sent again. Nothing was changed."
            )));
        }
        sqlx::query!(
            r#"update communication_log set status = 'queued', attempts = 0, next_attempt_at = $3,
                   error_message = null
               where client_id = $1 and id = $2"#,
            admin.client_id.as_uuid(),
            id,
            now
        )
        .execute(&mut *tx)
        .await?;
        super::super::outbox::wake(&mut tx, admin.client_id, now).await?;
        crate::db::audit::record(
            &mut tx,
            crate::db::audit::Entry {
                client: admin.client_id,
                actor: &admin.actor(),
                action: "message.retried",
                entity_type: "communication_log",
                entity_id: Some(id),
                before: Some(serde_json::json!({ "status": status })),
                after: Some(serde_json::json!({ "status": "queued" })),
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// "Test connection".
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a viewer; [`Error::Invalid`] with the provider's answer.
    pub async fn test_connection(pool: &PgPool, admin: &Admin, channel: Channel) -> Result<String> {
        admin.require_editor()?;
        super::test_connection(pool, admin.client_id, channel).await
    }

    /// "Send me a test".
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a viewer; [`Error::Invalid`] with the provider's answer.
    pub async fn send_test(
        pool: &PgPool,
        admin: &Admin,
        kind: MessageType,
        channel: Channel,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        admin.require_editor()?;
        super::send_test(pool, admin.client_id, kind, channel, to, now).await
    }

    /// Runs a messaging job for the admin's winery now (the demo's buttons), then sends what it
    /// queued at once. Returns the job's summary.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a viewer; [`Error::Invalid`] for another job.
    pub async fn run_job(
        pool: &PgPool,
        admin: &Admin,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        admin.require_editor()?;
        if !matches!(name, "expiration-warnings" | "monthly-status") {
            return Err(Error::invalid(
                "job",
                "Only the messaging jobs can be run from here.",
            ));
        }
        let spec = crate::jobs::find(name).ok_or_else(|| Error::invalid("job", "Unknown job."))?;
        let report = crate::jobs::run(pool, spec, Some(admin.client_id), now).await?;
        super::super::worker::run_client(pool, admin.client_id, now).await?;
        Ok(report.summary)
    }
}
