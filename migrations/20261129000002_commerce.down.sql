-- Reverts the commerce tables.
drop table if exists discounts, orders, products, customers, platform_sessions;
