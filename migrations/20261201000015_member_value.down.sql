-- Reverts migration 15.
drop index if exists point_transactions_client_sequence_idx;
alter table orders drop constraint if exists orders_status_check;
alter table orders drop column if exists by_member;
drop index if exists club_enrollments_at_risk_idx;
alter table club_enrollments drop column if exists at_risk_from;
alter table customers drop column if exists order_count, drop column if exists first_order_at,
    drop column if exists last_order_at, drop column if exists lifetime_cents;
