-- Reverts to the trigram search index.
drop index if exists customers_email_prefix_idx;
drop index if exists customers_last_name_prefix_idx;
drop index if exists customers_first_name_prefix_idx;
alter table customers drop column if exists first_name_key, drop column if exists last_name_key;
create index customers_search_idx on customers
    using gin ((lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || email)) gin_trgm_ops);
