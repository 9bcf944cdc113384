-- User lifecycle: a password set by someone else (a manager's reset, the command line) must be
-- changed at the next sign-in; a deactivated user keeps their history and the time they left.
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deactivated_at_ms BIGINT;
