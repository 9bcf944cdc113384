-- Web push (VAPID keys generated once, subscriptions per broker and device).

CREATE TABLE vapid_keys (
    id            INTEGER PRIMARY KEY,
    private_key   TEXT    NOT NULL,
    public_key    TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE push_subscriptions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    broker_id     INTEGER NOT NULL REFERENCES users(id),
    endpoint      TEXT    NOT NULL UNIQUE,
    p256dh        TEXT    NOT NULL,
    auth          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_broker ON push_subscriptions(broker_id);
