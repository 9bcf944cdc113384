-- Web push (VAPID keys generated once, subscriptions per broker and device).

CREATE TABLE vapid_keys (
    id            BIGINT  PRIMARY KEY,
    private_key   TEXT    NOT NULL,
    public_key    TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE push_subscriptions (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    broker_id     BIGINT NOT NULL REFERENCES users(id),
    endpoint      TEXT    NOT NULL UNIQUE,
    p256dh        TEXT    NOT NULL,
    auth          TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_broker ON push_subscriptions(broker_id);
