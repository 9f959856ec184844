-- The ledger's CSV export pages through a winery's points ledger in sequence order.
create index point_transactions_client_sequence_idx on point_transactions (client_id, sequence);
