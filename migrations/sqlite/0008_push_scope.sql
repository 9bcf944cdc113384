-- A push subscription belongs to one broker: the same browser endpoint registered by another
-- user is that user's own row, so nobody can take over (or delete) someone else's. SQLite
-- cannot drop a column's UNIQUE constraint, so the table is rebuilt; (broker_id, endpoint)
-- replaces UNIQUE (endpoint) and serves the per-broker lookup the old index was for.
CREATE TABLE push_subscriptions_scoped (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    broker_id     INTEGER NOT NULL REFERENCES users(id),
    endpoint      TEXT    NOT NULL,
    p256dh        TEXT    NOT NULL,
    auth          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (broker_id, endpoint)
);
INSERT INTO push_subscriptions_scoped (id, agency_id, broker_id, endpoint, p256dh, auth, created_at_ms)
    SELECT id, agency_id, broker_id, endpoint, p256dh, auth, created_at_ms FROM push_subscriptions;
DROP TABLE push_subscriptions;
ALTER TABLE push_subscriptions_scoped RENAME TO push_subscriptions;
