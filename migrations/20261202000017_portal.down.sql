-- Reverts migration 17.
alter table clients drop column if exists portal_frame_ancestors;
drop table if exists portal_link_requests;
drop table if exists portal_sessions;
drop table if exists portal_links;
