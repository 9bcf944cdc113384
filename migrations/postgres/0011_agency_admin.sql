-- The platform's hold on each agency (docs/PLATFORM.md). A suspended agency keeps every record;
-- its users are signed out and cannot sign in, its lead sources are refused, its roulette stops.
ALTER TABLE agencies ADD COLUMN suspended_at_ms BIGINT;
-- What the agency's plan includes. Off overrides the manager's own switch
-- (roulette_enabled, active_offer_enabled), which is kept for when the feature comes back.
ALTER TABLE agencies ADD COLUMN feature_roulette BIGINT NOT NULL DEFAULT 1;
ALTER TABLE agencies ADD COLUMN feature_campaigns BIGINT NOT NULL DEFAULT 1;
