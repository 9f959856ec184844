-- The nightly reconcile of Commerce7 deliveries: the scheduled job asks, the CRM worker (which
-- holds the CRM clients) replays the failed deliveries from `/web-hook-log` since the last run.
alter table crm_connections add column reconcile_requested_at timestamptz;
