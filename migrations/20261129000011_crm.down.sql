-- Reverts the CRM integration's structures.
drop index if exists crm_sync_queue_client_due_idx;
drop table if exists crm_wakeups;
drop table if exists sandbox_crm_objects;
drop table if exists oauth_states;
drop table if exists crm_connections;
drop table if exists crm_memberships;
alter table club_stages
    drop column if exists crm_tag,
    drop column if exists crm_promotion_id,
    drop column if exists crm_club_id;
