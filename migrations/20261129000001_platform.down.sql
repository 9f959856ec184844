-- Reverts the platform foundation. The cluster-wide role is left in place for other databases.
drop table if exists scheduled_runs, jobs, login_attempts, admin_sessions, admin_users, clients;
drop function if exists current_client_id();
drop function if exists set_updated_at();
