-- Reverts migration 15.
drop index if exists point_transactions_client_sequence_idx;
