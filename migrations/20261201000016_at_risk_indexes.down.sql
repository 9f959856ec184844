-- Reverts migration 16.
drop index if exists customers_lifetime_idx;
drop index if exists club_enrollments_at_risk_idx;
create index club_enrollments_at_risk_idx on club_enrollments (client_id, at_risk_from)
    where status = 'active' and at_risk_from is not null;
