-- Reverts migration 14.
drop table if exists stats_stage_days;
drop table if exists stats_days;
drop index if exists club_extensions_kind_idx;
drop index if exists club_enrollments_active_stage_idx;
drop index if exists club_enrollments_ended_idx;
drop index if exists club_enrollments_started_idx;
drop trigger if exists club_extensions_upgrade_start on club_extensions;
drop function if exists club_extensions_upgrade_start();
drop trigger if exists club_enrollments_started_at on club_enrollments;
drop function if exists club_enrollments_started_at();
alter table club_enrollments drop column if exists started_at;
