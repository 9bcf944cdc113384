-- Sign-in lockout shared by every node: wrong passwords per e-mail in a window, and the time
-- until which that e-mail may not sign in.
CREATE TABLE login_failures (
    email           TEXT    PRIMARY KEY,
    failures        BIGINT NOT NULL,
    window_start_ms BIGINT NOT NULL,
    locked_until_ms BIGINT
);
CREATE INDEX login_failures_window ON login_failures(window_start_ms);

-- Tokens listed per user, and every session of a user ended when the password changes.
CREATE INDEX sessions_user ON sessions(agency_id, user_id, kind);

-- Personal tokens made before they had an expiry live 90 more days from this upgrade.
UPDATE sessions SET expires_at_ms = (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT + 7776000000
WHERE kind = 'personal' AND expires_at_ms IS NULL;
