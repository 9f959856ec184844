//! Server functions of the messaging pages: thin adapters into `backend::comms::admin::service`.

use crate::error::AppError;
use domain::comms::settings::{SettingsView, TemplateView};
use domain::comms::vars::MessageVars;
use domain::comms::views::{MessageView, OutboxView, PreviewMember};
use domain::comms::{Channel, MessageType};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The two jobs the demo's "Run a job now" box can start.
pub const DEMO_JOBS: [(&str, &str); 2] = [
    ("expiration-warnings", "Run expiration warnings"),
    ("monthly-status", "Run monthly status"),
];

/// What the settings page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsPageView {
    pub settings: SettingsView,
    /// The signed-in admin's address, the default of "send me a test".
    pub admin_email: String,
    /// Whether the demo's "run a job now" box is shown.
    pub demo_mode: bool,
}

/// One row of the template list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSummary {
    pub kind: String,
    pub channel: String,
    /// Whether the winery saved its own (false: the default applies).
    pub custom: bool,
}

/// A ticked checkbox (`true`, or `on` for one without a value); a missing one arrives as "".
pub fn checked(raw: &str) -> bool {
    matches!(raw.trim(), "true" | "on")
}

/// The settings form's fields, as typed. Unticked checkboxes are not sent at all, so every field
/// defaults to empty; each event message has its own checkbox `event_<type>`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    pub email_provider: String,
    pub email_api_key: String,
    pub email_webhook_key: String,
    pub email_from_address: String,
    pub email_from_name: String,
    pub sms_provider: String,
    pub sms_api_key: String,
    pub sms_account_id: String,
    pub sms_from_number: String,
    pub sms_gateway_url: String,
    pub sms_gateway_auth_header: String,
    pub sms_gateway_body_template: String,
    pub send_monthly_status: String,
    pub send_expiration_warnings: String,
    pub warning_days_before: String,
    pub event_welcome: String,
    pub event_upgraded: String,
    pub event_renewed: String,
    pub event_membership_expired: String,
    pub event_points_earned: String,
    pub event_reward_redeemed: String,
    pub event_redemption_fulfilled: String,
    pub postal_address: String,
    pub custom_content: String,
}

impl SettingsForm {
    /// The name of an event message's checkbox.
    pub fn event_field(kind: MessageType) -> String {
        format!("event_{}", kind.as_str())
    }

    /// The value of an event message's checkbox; `None` for a scheduled type.
    pub fn event(&self, kind: MessageType) -> Option<&str> {
        let value = match kind {
            MessageType::Welcome => &self.event_welcome,
            MessageType::Upgraded => &self.event_upgraded,
            MessageType::Renewed => &self.event_renewed,
            MessageType::MembershipExpired => &self.event_membership_expired,
            MessageType::PointsEarned => &self.event_points_earned,
            MessageType::RewardRedeemed => &self.event_reward_redeemed,
            MessageType::RedemptionFulfilled => &self.event_redemption_fulfilled,
            MessageType::ExpirationWarning
            | MessageType::MonthlyStatus
            | MessageType::PortalSignIn => return None,
        };
        Some(value)
    }

    /// The event types whose checkbox is ticked.
    pub fn event_types(&self) -> Vec<String> {
        MessageType::ALL
            .into_iter()
            .filter(|&kind| self.event(kind).is_some_and(checked))
            .map(|kind| kind.as_str().to_owned())
            .collect()
    }

    /// The service's input: flags read from the checkboxes, the lead time as a number.
    ///
    /// # Errors
    /// A lead time that is not a number.
    pub fn input(&self) -> Result<domain::comms::settings::SettingsInput, AppError> {
        let warning_days_before = self.warning_days_before.trim().parse().map_err(|_| {
            AppError::invalid("warning_days_before", "The lead time is 7, 14 or 30 days.")
        })?;
        Ok(domain::comms::settings::SettingsInput {
            email_provider: self.email_provider.clone(),
            email_api_key: self.email_api_key.clone(),
            email_webhook_key: self.email_webhook_key.clone(),
            email_from_address: self.email_from_address.clone(),
            email_from_name: self.email_from_name.clone(),
            sms_provider: self.sms_provider.clone(),
            sms_api_key: self.sms_api_key.clone(),
            sms_account_id: self.sms_account_id.clone(),
            sms_from_number: self.sms_from_number.clone(),
            sms_gateway_url: self.sms_gateway_url.clone(),
            sms_gateway_auth_header: self.sms_gateway_auth_header.clone(),
            sms_gateway_body_template: self.sms_gateway_body_template.clone(),
            send_monthly_status: checked(&self.send_monthly_status),
            send_expiration_warnings: checked(&self.send_expiration_warnings),
            warning_days_before,
            event_types: self.event_types(),
            postal_address: self.postal_address.clone(),
            custom_content: self.custom_content.clone(),
        })
    }
}

/// Parses a message type from a form or URL.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown type.
pub fn parse_kind(raw: &str) -> Result<MessageType, AppError> {
    MessageType::parse(raw.trim()).ok_or_else(|| AppError::NotFound {
        what: "message type".to_owned(),
    })
}

/// Parses a channel from a form or URL.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown channel.
pub fn parse_channel(raw: &str) -> Result<Channel, AppError> {
    Channel::parse(raw.trim()).ok_or_else(|| AppError::NotFound {
        what: "channel".to_owned(),
    })
}

/// The settings, with what the page needs besides.
#[server(prefix = "/api", endpoint = "messages/settings")]
pub async fn get_message_settings() -> Result<SettingsPageView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let state = state();
    let settings = backend::comms::admin::service::settings(&state.pool, &admin).await?;
    Ok(SettingsPageView {
        settings,
        admin_email: admin.email.clone(),
        demo_mode: state.ui.demo_mode,
    })
}

/// Saves the settings. A blank key keeps the stored one.
#[server(prefix = "/api", endpoint = "messages/settings/save")]
pub async fn save_message_settings(
    #[server(flatten)] form: SettingsForm,
) -> Result<SettingsView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let input = form.input()?;
    Ok(backend::comms::admin::service::save_settings(&state().pool, &admin, &input).await?)
}

/// "Test connection" for the saved `email` or `sms` provider: the provider's answer in a sentence.
#[server(prefix = "/api", endpoint = "messages/test-connection")]
pub async fn test_message_connection(channel: String) -> Result<String, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let channel = parse_channel(&channel)?;
    Ok(backend::comms::admin::service::test_connection(&state().pool, &admin, channel).await?)
}

/// "Send me a test": the winery's template of `kind`, with sample values, to `to` now.
#[server(prefix = "/api", endpoint = "messages/send-test")]
pub async fn send_test_message(
    kind: String,
    channel: String,
    to: String,
) -> Result<String, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let kind = parse_kind(&kind)?;
    let channel = parse_channel(&channel)?;
    Ok(backend::comms::admin::service::send_test(
        &state().pool,
        &admin,
        kind,
        channel,
        &to,
        chrono::Utc::now(),
    )
    .await?)
}

/// The demo's "run a job now": runs a messaging job for this winery as of a moment on the
/// winery's clock (empty: now), as `vinculum jobs run NAME --now` would, and sends what it queued.
#[server(prefix = "/api", endpoint = "messages/run-job")]
pub async fn run_message_job(job: String, as_of: String) -> Result<String, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let state = state();
    if !state.ui.demo_mode {
        return Err(AppError::Forbidden);
    }
    let now = backend::loyalty::parse_local_time(&admin, "as_of", &as_of)?
        .unwrap_or_else(chrono::Utc::now);
    Ok(backend::comms::admin::service::run_job(&state.pool, &admin, job.trim(), now).await?)
}

/// Every message type on every channel, and whether the winery has its own template for it.
#[server(prefix = "/api", endpoint = "messages/templates")]
pub async fn list_templates() -> Result<Vec<TemplateSummary>, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let custom = backend::comms::admin::service::customized(&state().pool, &admin).await?;
    let mut rows = Vec::with_capacity(MessageType::ALL.len() * Channel::ALL.len());
    for kind in MessageType::ALL {
        for &channel in kind.channels() {
            rows.push(TemplateSummary {
                kind: kind.as_str().to_owned(),
                channel: channel.as_str().to_owned(),
                custom: custom.contains(&(kind, channel)),
            });
        }
    }
    Ok(rows)
}

/// One template (the winery's, or the default).
#[server(prefix = "/api", endpoint = "messages/templates/get")]
pub async fn get_template(kind: String, channel: String) -> Result<TemplateView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let kind = parse_kind(&kind)?;
    let channel = parse_channel(&channel)?;
    Ok(backend::comms::admin::service::template(&state().pool, &admin, kind, channel).await?)
}

/// Checks and saves a template; a refused part names its field, line and column.
#[server(prefix = "/api", endpoint = "messages/templates/save")]
pub async fn save_template(
    kind: String,
    channel: String,
    subject: String,
    html: String,
    text: String,
) -> Result<TemplateView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let kind = parse_kind(&kind)?;
    let channel = parse_channel(&channel)?;
    Ok(backend::comms::admin::service::save_template(
        &state().pool,
        &admin,
        kind,
        channel,
        &subject,
        &html,
        &text,
    )
    .await?)
}

/// Goes back to the default template.
#[server(prefix = "/api", endpoint = "messages/templates/reset")]
pub async fn reset_template(kind: String, channel: String) -> Result<TemplateView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let kind = parse_kind(&kind)?;
    let channel = parse_channel(&channel)?;
    Ok(
        backend::comms::admin::service::reset_template(&state().pool, &admin, kind, channel)
            .await?,
    )
}

/// The preview's variables: a club member's (`member` is their id) or, when empty, sample data.
#[server(prefix = "/api", endpoint = "messages/preview-vars")]
pub async fn preview_vars(member: String) -> Result<MessageVars, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let customer = match member.trim() {
        "" => None,
        raw => Some(
            domain::ids::CustomerId::parse(raw).map_err(|_| AppError::NotFound {
                what: "member".to_owned(),
            })?,
        ),
    };
    Ok(backend::comms::admin::service::preview_vars(
        &state().pool,
        &admin,
        customer,
        chrono::Utc::now(),
    )
    .await?)
}

/// Club members to preview as: the first 20 whose name or e-mail starts with `q`.
#[server(prefix = "/api", endpoint = "messages/preview-members")]
pub async fn preview_members(q: String) -> Result<Vec<PreviewMember>, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::comms::admin::service::preview_members(&state().pool, &admin, &q).await?)
}

/// The outbox: the newest messages matching the filters (empty means any), with counts by status.
#[server(prefix = "/api", endpoint = "messages/outbox")]
pub async fn get_outbox(
    kind: String,
    status: String,
    member: String,
) -> Result<OutboxView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let filter = domain::comms::views::OutboxFilter {
        kind,
        status,
        member,
    };
    Ok(backend::comms::admin::service::outbox(&state().pool, &admin, &filter).await?)
}

/// One message in full, with its delivery events.
#[server(prefix = "/api", endpoint = "messages/outbox/message")]
pub async fn get_message(id: String) -> Result<MessageView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound {
        what: "message".to_owned(),
    })?;
    Ok(backend::comms::admin::service::message(&state().pool, &admin, id).await?)
}

/// "Send again" for a failed message.
#[server(prefix = "/api", endpoint = "messages/outbox/retry")]
pub async fn retry_message(id: String) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound {
        what: "message".to_owned(),
    })?;
    Ok(
        backend::comms::admin::service::retry_message(
            &state().pool,
            &admin,
            id,
            chrono::Utc::now(),
        )
        .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_message_has_its_own_checkbox_and_no_scheduled_one_does() {
        let form = SettingsForm::default();
        for kind in MessageType::ALL {
            assert_eq!(form.event(kind).is_some(), kind.is_event(), "{kind}");
        }
    }

    #[test]
    fn the_ticked_checkboxes_become_the_event_types_and_missing_ones_are_off() {
        let form: SettingsForm = serde_json::from_value(serde_json::json!({
            "event_welcome": "true",
            "event_points_earned": "on",
            "send_monthly_status": "true",
            "warning_days_before": "14",
        }))
        .expect("a form");
        let input = form.input().expect("valid");
        assert_eq!(input.event_types, ["welcome", "points_earned"]);
        assert!(input.send_monthly_status);
        assert!(!input.send_expiration_warnings);
        assert_eq!(input.warning_days_before, 14);
    }

    #[test]
    fn a_lead_time_that_is_not_a_number_is_refused_on_its_field() {
        let form = SettingsForm {
            warning_days_before: "soon".to_owned(),
            ..SettingsForm::default()
        };
        assert_eq!(
            form.input()
                .err()
                .and_then(|e| e.field().map(str::to_owned)),
            Some("warning_days_before".to_owned())
        );
    }

    #[test]
    fn event_checkbox_names_match_the_form_fields() {
        let names: Vec<String> = serde_json::to_value(SettingsForm::default())
            .expect("serializes")
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        for kind in MessageType::ALL.into_iter().filter(|k| k.is_event()) {
            assert!(names.contains(&SettingsForm::event_field(kind)), "{kind}");
        }
    }

    #[test]
    fn unknown_types_and_channels_are_not_found() {
        assert_eq!(parse_kind("welcome"), Ok(MessageType::Welcome));
        assert!(matches!(
            parse_kind("newsletter"),
            Err(AppError::NotFound { .. })
        ));
        assert_eq!(parse_channel("sms"), Ok(Channel::Sms));
        assert!(matches!(
            parse_channel("fax"),
            Err(AppError::NotFound { .. })
        ));
    }
}
