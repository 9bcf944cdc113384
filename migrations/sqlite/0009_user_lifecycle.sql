-- User lifecycle: a password set by someone else (a manager's reset, the command line) must be
-- changed at the next sign-in; a deactivated user keeps their history and the time they left.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deactivated_at_ms INTEGER;

-- A removed department stays for the history that names it (leads, offers, audit) but takes
-- no new lead and has no members; creating one with its name brings it back.
ALTER TABLE departments ADD COLUMN removed_at_ms INTEGER;
