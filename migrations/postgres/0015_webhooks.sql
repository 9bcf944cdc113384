-- Outbound webhooks for the host CRM (docs/WEBHOOKS.md): an agency's subscriptions, the outbox
-- written in the same transaction as each change it describes, and one delivery per
-- subscription and event, retried with backoff until the receiver answers 2xx.
CREATE TABLE webhook_subscriptions (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT  NOT NULL REFERENCES agencies(id),
    url           TEXT    NOT NULL,
    secret        TEXT    NOT NULL,
    -- The chosen event types, comma-separated with a comma at each end: ",lead.created,offer.made,".
    events        TEXT    NOT NULL,
    -- Consecutive failed attempts (0 after any success); paused_at_ms set: nothing is sent.
    failures      BIGINT  NOT NULL DEFAULT 0,
    paused_at_ms  BIGINT,
    created_at_ms BIGINT  NOT NULL
);
CREATE INDEX webhook_subscriptions_agency ON webhook_subscriptions(agency_id);

-- One row per event; its id is the event id receivers dedupe on. `data` is the event's JSON
-- (without the envelope); `expanded` turns 1 once its deliveries are written.
CREATE TABLE webhook_outbox (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT  NOT NULL REFERENCES agencies(id),
    event_type    TEXT    NOT NULL,
    lead_id       BIGINT,
    data          TEXT    NOT NULL,
    expanded      BIGINT  NOT NULL DEFAULT 0,
    created_at_ms BIGINT  NOT NULL
);
CREATE INDEX webhook_outbox_unexpanded ON webhook_outbox(id) WHERE expanded = 0;
CREATE INDEX webhook_outbox_created ON webhook_outbox(created_at_ms);

CREATE TABLE webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    agency_id        BIGINT  NOT NULL REFERENCES agencies(id),
    subscription_id  BIGINT  NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id         BIGINT  NOT NULL REFERENCES webhook_outbox(id),
    lead_id          BIGINT,
    -- pending (not tried yet, or resent), failed (the last attempt failed; retried at
    -- next_at_ms), delivered.
    status           TEXT    NOT NULL DEFAULT 'pending',
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_at_ms       BIGINT  NOT NULL,
    last_status_code BIGINT,
    last_error       TEXT,
    last_attempt_ms  BIGINT,
    delivered_at_ms  BIGINT,
    created_at_ms    BIGINT  NOT NULL,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at_ms) WHERE status <> 'delivered';
CREATE INDEX webhook_deliveries_lead ON webhook_deliveries(subscription_id, lead_id, event_id);
CREATE INDEX webhook_deliveries_agency ON webhook_deliveries(agency_id, id);
