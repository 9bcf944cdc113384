-- Lead sources that speak their own contract (docs/SOURCES.md): Grupo OLX, Meta lead ads,
-- RD Station and mapped form webhooks. Each integration has a public id for its URL and a key
-- kept only as its SHA-256; Meta's app secret and page token are kept as given (the server must
-- use them). Meta deliveries wait in `source_jobs` until the lead is fetched from the Graph API.
CREATE TABLE integrations (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    public_id     TEXT    NOT NULL UNIQUE,
    key_hash      TEXT    NOT NULL,
    config        TEXT    NOT NULL DEFAULT '{}',
    department_id BIGINT REFERENCES departments(id),
    active        BIGINT NOT NULL DEFAULT 1,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (agency_id, name)
);

CREATE TABLE source_jobs (
    id             BIGSERIAL PRIMARY KEY,
    agency_id      BIGINT NOT NULL REFERENCES agencies(id),
    integration_id BIGINT NOT NULL REFERENCES integrations(id),
    external_id    TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    next_at_ms     BIGINT NOT NULL,
    last_error     TEXT,
    lead_id        BIGINT REFERENCES leads(id),
    done_at_ms     BIGINT,
    created_at_ms  BIGINT NOT NULL,
    UNIQUE (integration_id, external_id)
);
CREATE INDEX source_jobs_due ON source_jobs(next_at_ms) WHERE done_at_ms IS NULL;

-- L8: a new contact on a client's open lead is written on that lead, once per source event.
ALTER TABLE client_history ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX client_history_external ON client_history(agency_id, from_value, external_id)
    WHERE external_id IS NOT NULL;

-- The lead's broker is told of a new contact on it (L6 rule, default: the broker).
INSERT INTO notification_rules (agency_id, event, recipient)
    SELECT id, 'lead_recontact', 'broker' FROM agencies;
