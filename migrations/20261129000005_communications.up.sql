-- Member communications: each winery's provider settings (secrets encrypted at rest), its message
-- templates, the log and outbox of every attempted message, and each customer's preferences
-- (domain.md section 3.15 to 3.18, decisions D16 to D20).

create table communication_configs (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    email_provider varchar(50),
    -- AES-256-GCM (nonce || ciphertext); the last four characters are kept apart for display.
    email_api_key_encrypted bytea,
    email_api_key_last4 varchar(4),
    email_from_address varchar(255),
    email_from_name varchar(255),
    email_list_id varchar(255),
    sms_provider varchar(50),
    sms_api_key_encrypted bytea,
    sms_api_key_last4 varchar(4),
    sms_account_id varchar(255),
    sms_from_number varchar(50),
    send_monthly_status boolean not null default true,
    send_expiration_warnings boolean not null default true,
    warning_days_before int not null default 7,
    -- The winery's postal address for the e-mail footer.
    postal_address text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint communication_configs_client_id_key unique (client_id),
    constraint communication_configs_email_provider_check
        check (email_provider is null or email_provider in ('sendgrid', 'mailchimp', 'klaviyo', 'sandbox')),
    constraint communication_configs_sms_provider_check
        check (sms_provider is null or sms_provider in ('twilio', 'klaviyo', 'sms_gateway', 'sandbox')),
    constraint communication_configs_warning_days_check check (warning_days_before in (7, 14, 30))
);
create trigger communication_configs_set_updated_at before update on communication_configs
    for each row execute function set_updated_at();

create table communication_templates (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    template_type varchar(50) not null,
    channel varchar(10) not null,
    subject varchar(500),
    html_body text,
    text_body text,
    provider_template_id varchar(255),
    available_variables jsonb,
    is_active boolean not null default true,
    version int not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint communication_templates_type_channel_key unique (client_id, template_type, channel),
    constraint communication_templates_type_check check (template_type in (
        'welcome', 'upgraded', 'renewed', 'expiration_warning', 'membership_expired', 'monthly_status',
        'points_earned', 'reward_redeemed', 'redemption_fulfilled', 'renewal_reminder',
        'upgrade_available', 'reward_available', 'portal_sign_in')),
    constraint communication_templates_channel_check check (channel in ('email', 'sms')),
    constraint communication_templates_size_check check (
        coalesce(length(html_body), 0) <= 200000 and coalesce(length(text_body), 0) <= 20000)
);
create trigger communication_templates_set_updated_at before update on communication_templates
    for each row execute function set_updated_at();

-- One row per attempted message: the outbox while queued, the log afterwards.
create table communication_log (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    customer_id uuid not null,
    template_type varchar(50) not null,
    channel varchar(10) not null,
    provider varchar(50) not null,
    to_address varchar(255) not null,
    status varchar(20) not null default 'queued',
    -- D17: e.g. warning:<enrollment>:<expires_at>, monthly:<customer>:<yyyy-mm>, event:<id>.
    idempotency_key text not null,
    subject varchar(500),
    rendered_html text,
    rendered_text text,
    provider_message_id varchar(255),
    error_message text,
    attempts int not null default 0,
    next_attempt_at timestamptz,
    sent_at timestamptz,
    delivered_at timestamptz,
    opened_at timestamptz,
    clicked_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint communication_log_idempotency_key unique (client_id, idempotency_key, channel),
    constraint communication_log_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade,
    constraint communication_log_channel_check check (channel in ('email', 'sms')),
    constraint communication_log_status_check check (status in (
        'queued', 'sent', 'delivered', 'failed', 'bounced', 'opened', 'clicked', 'skipped'))
);
create index communication_log_customer_idx on communication_log (client_id, customer_id, template_type, created_at);
create index communication_log_status_idx on communication_log (client_id, status, created_at);
create index communication_log_sent_at_idx on communication_log (client_id, sent_at);
create index communication_log_provider_message_idx on communication_log (provider, provider_message_id)
    where provider_message_id is not null;
create trigger communication_log_set_updated_at before update on communication_log
    for each row execute function set_updated_at();

-- A missing row means the D18 defaults apply.
create table communication_preferences (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    customer_id uuid not null,
    email_monthly_status boolean not null default true,
    email_expiration_warnings boolean not null default true,
    email_promotions boolean not null default true,
    sms_monthly_status boolean not null default false,
    sms_expiration_warnings boolean not null default true,
    sms_promotions boolean not null default false,
    unsubscribed_all boolean not null default false,
    unsubscribed_at timestamptz,
    -- D18: SMS needs a recorded opt-in.
    sms_opt_in_at timestamptz,
    sms_opt_in_method varchar(20),
    sms_opt_in_text text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint communication_preferences_customer_id_key unique (customer_id),
    constraint communication_preferences_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade,
    constraint communication_preferences_unsubscribed_check
        check (not unsubscribed_all or unsubscribed_at is not null),
    constraint communication_preferences_opt_in_check check (
        (sms_opt_in_at is null) = (sms_opt_in_method is null)
        and (sms_opt_in_method is null
             or sms_opt_in_method in ('web_form', 'text_reply', 'admin_manual', 'signup_form')))
);
create trigger communication_preferences_set_updated_at before update on communication_preferences
    for each row execute function set_updated_at();
