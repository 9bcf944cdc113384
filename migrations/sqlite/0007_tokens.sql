-- Sign-in lockout shared by every node: wrong passwords per e-mail in a window, and the time
-- until which that e-mail may not sign in.
CREATE TABLE login_failures (
    email           TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    window_start_ms INTEGER NOT NULL,
    locked_until_ms INTEGER
);
CREATE INDEX login_failures_window ON login_failures(window_start_ms);

-- Tokens listed per user, and every session of a user ended when the password changes.
CREATE INDEX sessions_user ON sessions(agency_id, user_id, kind);

-- Personal tokens made before they had an expiry live 90 more days from this upgrade.
UPDATE sessions SET expires_at_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 7776000000
WHERE kind = 'personal' AND expires_at_ms IS NULL;
