-- The at-risk figure and list at a million customers (measured in the README): the count reads
-- the memberships ending within the window with their at-risk instant from the index alone, and
-- the list walks customers from the most valuable down.
drop index if exists club_enrollments_at_risk_idx;
create index club_enrollments_at_risk_idx on club_enrollments (client_id, expires_at) include (at_risk_from)
    where status = 'active' and at_risk_from is not null;
create index customers_lifetime_idx on customers (client_id, lifetime_cents desc, email) where order_count >= 2;
