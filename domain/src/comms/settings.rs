//! The communication settings and templates as the admin pages send and show them (wire types,
//! shared by the server and the browser), and the providers a winery can choose.

use serde::{Deserialize, Serialize};

/// The e-mail providers a winery can choose.
pub const EMAIL_PROVIDERS: &[(&str, &str)] = &[
    (
        "sandbox",
        "Sandbox (stores messages in the outbox, sends nothing)",
    ),
    ("sendgrid", "SendGrid"),
    ("mailchimp", "Mailchimp Transactional (Mandrill)"),
    ("klaviyo", "Klaviyo (triggers your Klaviyo flows)"),
];

/// The SMS providers a winery can choose.
pub const SMS_PROVIDERS: &[(&str, &str)] = &[
    (
        "sandbox",
        "Sandbox (stores messages in the outbox, sends nothing)",
    ),
    ("twilio", "Twilio"),
    ("klaviyo", "Klaviyo (triggers your Klaviyo flows)"),
    (
        "sms_gateway",
        "SMS gateway webhook (RedChirp or any JSON gateway)",
    ),
];

/// The settings as the admin sees them: keys only by their last four characters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub email_provider: Option<String>,
    pub email_key_last4: Option<String>,
    pub email_webhook_key_set: bool,
    pub email_from_address: Option<String>,
    pub email_from_name: Option<String>,
    pub sms_provider: Option<String>,
    pub sms_key_last4: Option<String>,
    pub sms_account_id: Option<String>,
    pub sms_from_number: Option<String>,
    pub sms_gateway_url: Option<String>,
    pub sms_gateway_auth_header: Option<String>,
    pub sms_gateway_body_template: Option<String>,
    pub send_monthly_status: bool,
    pub send_expiration_warnings: bool,
    pub warning_days_before: i32,
    pub event_types: Vec<String>,
    pub postal_address: Option<String>,
    pub custom_content: Option<String>,
    /// Where the providers send delivery reports and replies: `(what, address)`, for the winery
    /// to enter in its provider's settings.
    pub callbacks: Vec<(String, String)>,
}

/// What the settings form sends. A blank key keeps the stored one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsInput {
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
    pub send_monthly_status: bool,
    pub send_expiration_warnings: bool,
    pub warning_days_before: i32,
    pub event_types: Vec<String>,
    pub postal_address: String,
    pub custom_content: String,
}

/// A saved template, or the default, as the editor shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub kind: String,
    pub channel: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Whether the winery saved its own (false: the default).
    pub custom: bool,
}
