-- Reverts the integration tables.
drop table if exists idempotency_keys, audit_log, webhook_inbox, crm_sync_queue;
