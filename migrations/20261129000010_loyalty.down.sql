-- Reverts the loyalty supporting structures.
drop table if exists ledger_checks;
drop function if exists membership_days(uuid, uuid[], timestamptz);
drop index if exists point_transactions_sequence_idx;
alter table point_transactions drop column if exists sequence;
alter table customers drop column if exists loyalty_progress_reset_at;
