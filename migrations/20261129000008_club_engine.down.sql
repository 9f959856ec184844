-- Reverts the club engine's supporting structures.
drop table if exists import_runs;
drop index if exists customers_search_idx;
