-- Commerce data mirrored from the CRM: the CRM credentials, customers, products, orders and
-- promotional discounts. Every table carries client_id; parents expose unique (client_id, id) so
-- children reference them with composite keys and a row can never point into another tenant.
-- Money is integer minor units (decisions D26).

-- CRM OAuth and API tokens, encrypted at rest with AES-256-GCM (nonce || ciphertext).
create table platform_sessions (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    access_token_encrypted bytea not null,
    refresh_token_encrypted bytea,
    scope text,
    -- Null for credentials that do not expire (Commerce7 app keys).
    expires_at timestamptz,
    refresh_expires_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index platform_sessions_client_id_idx on platform_sessions (client_id);
create index platform_sessions_expires_at_idx on platform_sessions (expires_at);
create trigger platform_sessions_set_updated_at before update on platform_sessions
    for each row execute function set_updated_at();

create table customers (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    crm_id varchar(255),
    email varchar(255) not null,
    first_name varchar(255),
    last_name varchar(255),
    phone varchar(50),
    -- Denormalized: true exactly when the customer has an active enrollment.
    is_club_member boolean not null default false,
    loyalty_points_balance int not null default 0,
    loyalty_points_lifetime int not null default 0,
    -- D10: whole days in the union of the intervals with an active enrollment.
    cumulative_membership_days int not null default 0,
    -- D11: days counted toward the current earning threshold (reset only when earning is lost).
    loyalty_progress_days int not null default 0,
    loyalty_earning_active boolean not null default false,
    loyalty_eligible_since timestamptz,
    -- D24: set when personal data was erased; the e-mail is then a random placeholder.
    anonymized_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint customers_client_id_id_key unique (client_id, id),
    constraint customers_client_id_email_key unique (client_id, email),
    constraint customers_client_id_crm_id_key unique (client_id, crm_id),
    constraint customers_email_check
        check (email = lower(btrim(email)) and position('@' in email) > 1),
    constraint customers_points_check
        check (loyalty_points_balance >= 0 and loyalty_points_lifetime >= 0),
    constraint customers_days_check
        check (cumulative_membership_days >= 0 and loyalty_progress_days >= 0)
);
create index customers_member_idx on customers (client_id, is_club_member);
create index customers_loyalty_eligible_since_idx on customers (client_id, loyalty_eligible_since);
create index customers_points_balance_idx on customers (client_id, loyalty_points_balance);
create trigger customers_set_updated_at before update on customers
    for each row execute function set_updated_at();

create table products (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    crm_id varchar(255) not null,
    title varchar(500) not null,
    sku varchar(255),
    price_cents bigint,
    image_url text,
    description text,
    wine_type varchar(50),
    vintage int,
    varietal varchar(255),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint products_client_id_crm_id_key unique (client_id, crm_id),
    constraint products_price_check check (price_cents is null or price_cents >= 0),
    constraint products_vintage_check check (vintage is null or vintage between 1800 and 2200)
);
create index products_sku_idx on products (client_id, sku);
create index products_wine_type_idx on products (client_id, wine_type);
create trigger products_set_updated_at before update on products
    for each row execute function set_updated_at();

create table orders (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    crm_id varchar(255) not null,
    customer_id uuid,
    -- When the customer placed the order in the CRM; qualification uses this, not arrival time.
    placed_at timestamptz not null,
    -- D4: an order counts once it is paid.
    paid_at timestamptz,
    subtotal_cents bigint not null default 0,
    discount_cents bigint not null default 0,
    tax_cents bigint not null default 0,
    shipping_cents bigint not null default 0,
    total_cents bigint not null,
    -- D3: the amount compared with stage minimums, fixed when the order is processed.
    qualifying_amount_cents bigint,
    refunded_cents bigint not null default 0,
    -- Free text from the CRM.
    status varchar(100),
    cancelled_at timestamptz,
    -- Set once the club and loyalty engines have run for this order, so updates never re-run them.
    processed_at timestamptz,
    source text not null default 'webhook',
    is_club_shipment boolean not null default false,
    shipment_date date,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint orders_client_id_id_key unique (client_id, id),
    constraint orders_client_id_crm_id_key unique (client_id, crm_id),
    constraint orders_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete set null (customer_id),
    constraint orders_amounts_check check (
        subtotal_cents >= 0 and discount_cents >= 0 and tax_cents >= 0 and shipping_cents >= 0
        and total_cents >= 0 and refunded_cents >= 0
        and (qualifying_amount_cents is null or qualifying_amount_cents >= 0)),
    constraint orders_source_check check (source in ('webhook', 'import', 'demo', 'admin'))
);
create index orders_customer_idx on orders (client_id, customer_id, placed_at);
create index orders_placed_at_idx on orders (client_id, placed_at);
create index orders_club_shipment_idx on orders (client_id, is_club_shipment) where is_club_shipment;
create trigger orders_set_updated_at before update on orders
    for each row execute function set_updated_at();

create table discounts (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    crm_id varchar(255) not null,
    code varchar(255) not null,
    type varchar(20) not null,
    -- Exactly one of these holds the value, per type.
    percentage numeric(5, 2),
    amount_cents bigint,
    starts_at timestamptz,
    ends_at timestamptz,
    usage_limit int,
    usage_count int not null default 0,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint discounts_client_id_crm_id_key unique (client_id, crm_id),
    constraint discounts_type_check check (
        (type = 'percentage' and percentage > 0 and percentage <= 100 and amount_cents is null)
        or (type = 'fixed_amount' and amount_cents > 0 and percentage is null)),
    constraint discounts_window_check check (starts_at is null or ends_at is null or starts_at < ends_at),
    constraint discounts_usage_check check (usage_count >= 0 and (usage_limit is null or usage_limit >= 0))
);
create index discounts_code_idx on discounts (client_id, code);
create index discounts_active_idx on discounts (client_id, is_active);
create trigger discounts_set_updated_at before update on discounts
    for each row execute function set_updated_at();
