-- Reverts migration 13.
drop index if exists communication_log_due_idx;
drop table if exists outbox_wakeups;
drop index if exists communication_preferences_sms_phone_idx;
alter table communication_preferences drop column if exists sms_phone;
drop index if exists communication_log_type_idx;
alter table communication_log drop column if exists delivery_events, drop column if exists customer_name,
    drop column if exists variables;
alter table communication_configs
    drop constraint if exists communication_configs_gateway_check,
    drop constraint if exists communication_configs_custom_content_check,
    drop column if exists custom_content,
    drop column if exists event_types,
    drop column if exists sms_gateway_body_template,
    drop column if exists sms_gateway_auth_header,
    drop column if exists sms_gateway_url,
    drop column if exists email_webhook_key_encrypted;
