-- Member search that works under row-level security. With a policy on the table, PostgreSQL only
-- uses an index for a predicate made of leakproof functions; LIKE and lower() are not leakproof,
-- so the trigram index of the previous migration was never used. Prefix comparisons (~>=~, ~<~)
-- on plain columns are: search matches names and e-mail addresses that start with each word
-- typed, through these indexes. The lower-cased names are stored columns for that reason.

drop index if exists customers_search_idx;
alter table customers
    add column first_name_key text generated always as (lower(coalesce(first_name, ''))) stored,
    add column last_name_key text generated always as (lower(coalesce(last_name, ''))) stored;
-- `include` lets a search read its hits from the index alone (index-only scans).
create index customers_first_name_prefix_idx on customers (client_id, first_name_key text_pattern_ops) include (id, email);
create index customers_last_name_prefix_idx on customers (client_id, last_name_key text_pattern_ops) include (id, email);
create index customers_email_prefix_idx on customers (client_id, email text_pattern_ops) include (id);
