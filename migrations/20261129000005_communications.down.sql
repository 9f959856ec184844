-- Reverts the communication tables.
drop table if exists communication_preferences, communication_log, communication_templates, communication_configs;
