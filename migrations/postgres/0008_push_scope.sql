-- A push subscription belongs to one broker: the same browser endpoint registered by another
-- user is that user's own row, so nobody can take over (or delete) someone else's.
-- (broker_id, endpoint) replaces UNIQUE (endpoint) and serves the per-broker lookup the old
-- index was for.
ALTER TABLE push_subscriptions DROP CONSTRAINT IF EXISTS push_subscriptions_endpoint_key;
ALTER TABLE push_subscriptions ADD CONSTRAINT push_subscriptions_broker_endpoint UNIQUE (broker_id, endpoint);
DROP INDEX IF EXISTS push_subscriptions_broker;
