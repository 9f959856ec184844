-- Loyalty points: the per-winery rules, the rewards catalog, the append-only points ledger and the
-- redemptions (domain.md section 3.11 to 3.14, decisions D10 to D14).

create table loyalty_point_rules (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    points_per_dollar numeric(10, 2) not null default 1.00,
    bonus_points_percentage numeric(5, 2) not null default 0,
    min_membership_days int not null default 365,
    point_dollar_value numeric(10, 4) not null default 0.01,
    -- D13: the minimum balance needed to redeem anything.
    min_points_for_redemption int not null default 100,
    -- D13: kept, unused until points can pay at checkout.
    max_points_per_order int,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint loyalty_point_rules_client_id_key unique (client_id),
    constraint loyalty_point_rules_rate_check check (points_per_dollar >= 0 and points_per_dollar <= 1000),
    constraint loyalty_point_rules_bonus_check check (bonus_points_percentage >= 0 and bonus_points_percentage <= 1000),
    constraint loyalty_point_rules_days_check check (min_membership_days between 0 and 3650),
    constraint loyalty_point_rules_value_check check (point_dollar_value > 0 and point_dollar_value <= 100),
    constraint loyalty_point_rules_min_points_check check (min_points_for_redemption >= 0),
    constraint loyalty_point_rules_max_points_check check (max_points_per_order is null or max_points_per_order > 0)
);
create trigger loyalty_point_rules_set_updated_at before update on loyalty_point_rules
    for each row execute function set_updated_at();

create table loyalty_rewards (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    reward_type varchar(20) not null,
    name varchar(255) not null,
    description text,
    image_url text,
    points_required int not null,
    wine_crm_id varchar(255),
    wine_sku varchar(255),
    wine_title varchar(500),
    regular_price_cents bigint,
    -- Null means unlimited stock.
    quantity_available int,
    quantity_redeemed int not null default 0,
    -- D13: null means no per-customer limit.
    per_customer_limit int,
    is_active boolean not null default true,
    available_from timestamptz,
    available_until timestamptz,
    -- Rewards are soft-deleted so redemption history stays.
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint loyalty_rewards_client_id_id_key unique (client_id, id),
    constraint loyalty_rewards_type_check
        check (reward_type in ('merchandise', 'event', 'tasting', 'wine_point_sale', 'other')),
    constraint loyalty_rewards_name_check check (length(btrim(name)) between 1 and 255),
    constraint loyalty_rewards_points_check check (points_required > 0),
    constraint loyalty_rewards_price_check check (regular_price_cents is null or regular_price_cents >= 0),
    constraint loyalty_rewards_stock_check check (
        quantity_redeemed >= 0
        and (quantity_available is null or (quantity_available >= 0 and quantity_redeemed <= quantity_available))),
    constraint loyalty_rewards_limit_check check (per_customer_limit is null or per_customer_limit > 0),
    constraint loyalty_rewards_window_check
        check (available_from is null or available_until is null or available_from < available_until),
    constraint loyalty_rewards_wine_window_check
        check (reward_type <> 'wine_point_sale' or (available_from is not null and available_until is not null))
);
create index loyalty_rewards_type_idx on loyalty_rewards (client_id, reward_type);
create index loyalty_rewards_active_idx on loyalty_rewards (client_id, is_active) where deleted_at is null;
create trigger loyalty_rewards_set_updated_at before update on loyalty_rewards
    for each row execute function set_updated_at();

-- The ledger is append-only: rows are inserted, never updated (there is no updated_at).
create table point_transactions (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    customer_id uuid not null,
    transaction_type varchar(20) not null,
    points int not null,
    order_id uuid,
    reward_id uuid,
    description text,
    balance_after int not null,
    created_by varchar(100) not null default 'system',
    actor_admin_id uuid references admin_users (id) on delete set null,
    transaction_date timestamptz not null default now(),
    created_at timestamptz not null default now(),
    constraint point_transactions_client_id_id_key unique (client_id, id),
    constraint point_transactions_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade,
    constraint point_transactions_order_fkey foreign key (client_id, order_id)
        references orders (client_id, id) on delete set null (order_id),
    constraint point_transactions_reward_fkey foreign key (client_id, reward_id)
        references loyalty_rewards (client_id, id) on delete set null (reward_id),
    constraint point_transactions_type_check
        check (transaction_type in ('earned', 'redeemed', 'bonus', 'adjusted', 'expired')),
    constraint point_transactions_points_check check (points <> 0),
    constraint point_transactions_sign_check check (
        (transaction_type in ('earned', 'bonus') and points > 0)
        or (transaction_type in ('redeemed', 'expired') and points < 0)
        or transaction_type = 'adjusted'),
    constraint point_transactions_balance_check check (balance_after >= 0),
    constraint point_transactions_created_by_check check (created_by in ('system', 'admin', 'customer'))
);
-- D12: one earned row per order, never two.
create unique index point_transactions_earned_order_key
    on point_transactions (order_id) where transaction_type = 'earned';
create index point_transactions_customer_idx on point_transactions (client_id, customer_id, transaction_date);
create index point_transactions_type_idx on point_transactions (client_id, transaction_type, transaction_date);
create index point_transactions_order_idx on point_transactions (client_id, order_id);

create table reward_redemptions (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references clients (id) on delete cascade,
    customer_id uuid not null,
    reward_id uuid not null,
    point_transaction_id uuid not null,
    -- The adjusted ledger row that gave the points back, for cancelled and refunded redemptions.
    return_transaction_id uuid,
    points_spent int not null,
    status varchar(20) not null default 'pending',
    fulfilled_at timestamptz,
    fulfilled_by varchar(100),
    cancelled_at timestamptz,
    notes text,
    redeemed_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint reward_redemptions_customer_fkey foreign key (client_id, customer_id)
        references customers (client_id, id) on delete cascade,
    constraint reward_redemptions_reward_fkey foreign key (client_id, reward_id)
        references loyalty_rewards (client_id, id) on delete restrict,
    constraint reward_redemptions_transaction_fkey foreign key (client_id, point_transaction_id)
        references point_transactions (client_id, id) on delete cascade,
    constraint reward_redemptions_return_fkey foreign key (client_id, return_transaction_id)
        references point_transactions (client_id, id) on delete set null (return_transaction_id),
    constraint reward_redemptions_points_check check (points_spent > 0),
    constraint reward_redemptions_status_check check (status in ('pending', 'fulfilled', 'cancelled', 'refunded'))
);
create index reward_redemptions_customer_idx on reward_redemptions (client_id, customer_id);
create index reward_redemptions_reward_idx on reward_redemptions (client_id, reward_id);
create index reward_redemptions_status_idx on reward_redemptions (client_id, status, redeemed_at);
create trigger reward_redemptions_set_updated_at before update on reward_redemptions
    for each row execute function set_updated_at();
