-- Reverts the loyalty tables.
drop table if exists reward_redemptions, point_transactions, loyalty_rewards, loyalty_point_rules;
