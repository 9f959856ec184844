-- Reverts the club tables.
drop table if exists club_extensions, club_enrollments, club_stages, club_programs;
