-- Communications (issue 6, decisions D16 to D20): the rest of each winery's provider settings, the
-- delivery events of each message, SMS consent by phone, and the outbox worker's wake-ups.

alter table communication_configs
    -- Mailchimp Transactional's webhook key, or SendGrid's event-webhook public key; both are kept
    -- encrypted (the key is a secret for Mailchimp).
    add column email_webhook_key_encrypted bytea,
    -- The "SMS gateway webhook" provider: where to POST, the name of the auth header (its value is
    -- sms_api_key_encrypted), and the JSON body with {{to}}, {{from}}, {{body}}, {{message_id}}.
    add column sms_gateway_url text,
    add column sms_gateway_auth_header varchar(100),
    add column sms_gateway_body_template text,
    -- The event messages this winery sends (D16: points_earned is off by default).
    add column event_types text[] not null default
        array['welcome', 'upgraded', 'renewed', 'membership_expired', 'reward_redeemed', 'redemption_fulfilled'],
    -- A paragraph the winery writes, available to every template as custom_content.
    add column custom_content text,
    add constraint communication_configs_custom_content_check check (length(custom_content) <= 2000),
    add constraint communication_configs_gateway_check check (
        sms_provider is distinct from 'sms_gateway'
        or (sms_gateway_url is not null and sms_gateway_body_template is not null));

alter table communication_log
    -- Each delivery callback: {"status", "at", "detail"}, oldest first.
    add column delivery_events jsonb not null default '[]',
    add column customer_name varchar(255),
    -- The template variables, kept only for Klaviyo, whose flows render from event properties.
    add column variables jsonb;
create index communication_log_type_idx on communication_log (client_id, template_type, created_at desc);

-- The phone number the SMS opt-in was given for, so an inbound STOP finds its member.
alter table communication_preferences add column sms_phone varchar(20);
create index communication_preferences_sms_phone_idx on communication_preferences (client_id, sms_phone);

-- Platform: the wineries whose outbox has a message due, written in the same transaction as the
-- message; the worker takes them with FOR UPDATE SKIP LOCKED, as crm_wakeups.
create table outbox_wakeups (
    client_id uuid primary key references clients (id) on delete cascade,
    due_at timestamptz not null,
    version bigint not null default 1
);
create index outbox_wakeups_due_idx on outbox_wakeups (due_at);

-- The worker's claim: due messages of one winery.
create index communication_log_due_idx on communication_log (client_id, next_attempt_at)
    where status = 'queued';
