-- The member portal (issue 8): magic sign-in links, member sessions, the sign-in rate limit, and the
-- winery's framing allow-list.

-- A sign-in link: the e-mailed token names this row's id, signed with the server's link key. It
-- opens one session, once, within 30 minutes.
create table portal_links (
    id uuid primary key,
    client_id uuid not null references clients (id) on delete cascade,
    customer_id uuid not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now(),
    constraint portal_links_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade
);
create index portal_links_expires_idx on portal_links (expires_at);

-- A member's session: the cookie holds a random token, this table its SHA-256.
create table portal_sessions (
    token_hash bytea primary key,
    client_id uuid not null references clients (id) on delete cascade,
    customer_id uuid not null,
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    constraint portal_sessions_token_hash_check check (length(token_hash) = 32),
    constraint portal_sessions_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade
);
create index portal_sessions_expires_idx on portal_sessions (expires_at);
create index portal_sessions_customer_idx on portal_sessions (client_id, customer_id);

do $$
declare
    t text;
begin
    foreach t in array array['portal_links', 'portal_sessions'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy tenant_isolation on %I using (client_id = (select current_client_id())) '
            'with check (client_id = (select current_client_id()))', t);
    end loop;
end $$;

-- Every request for a sign-in link, known address or not (a platform table, like login_attempts):
-- the per-address and per-network-address limits count these.
create table portal_link_requests (
    id bigint generated always as identity primary key,
    email varchar(255) not null,
    ip text not null,
    requested_at timestamptz not null default now()
);
create index portal_link_requests_email_idx on portal_link_requests (email, requested_at);
create index portal_link_requests_ip_idx on portal_link_requests (ip, requested_at);

-- Origins allowed to frame the portal (CSP frame-ancestors), e.g. https://www.winery.example.
alter table clients add column portal_frame_ancestors text[] not null default '{}';
