-- Reverts the reconcile request column.
alter table crm_connections drop column if exists reconcile_requested_at;
