-- Roleta core schema (PostgreSQL). Times are epoch milliseconds; flags are 0/1 integers so the
-- same queries run unchanged on PostgreSQL.

CREATE TABLE agencies (
    id                   BIGSERIAL PRIMARY KEY,
    name                 TEXT    NOT NULL,
    roulette_enabled     BIGINT NOT NULL DEFAULT 1,
    answer_seconds       BIGINT NOT NULL DEFAULT 30,
    max_missed_in_row    BIGINT NOT NULL DEFAULT 3,
    everyone_refused     TEXT    NOT NULL DEFAULT 'retry',
    retry_pause_seconds  BIGINT NOT NULL DEFAULT 60,
    fallback_broker_id   BIGINT,
    lead_number_template TEXT    NOT NULL DEFAULT 'L-{year}-{seq:05}',
    lead_seq             BIGINT NOT NULL DEFAULT 0,
    created_at_ms        BIGINT NOT NULL
);

CREATE TABLE departments (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    name          TEXT    NOT NULL,
    is_default    BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (agency_id, name)
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    online        BIGINT NOT NULL DEFAULT 0,
    missed_in_row BIGINT NOT NULL DEFAULT 0,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX users_agency ON users(agency_id);

CREATE TABLE broker_departments (
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    broker_id     BIGINT NOT NULL REFERENCES users(id),
    department_id BIGINT NOT NULL REFERENCES departments(id),
    PRIMARY KEY (broker_id, department_id)
);

CREATE TABLE sessions (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    user_id       BIGINT NOT NULL REFERENCES users(id),
    token_hash    TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    label         TEXT,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT
);

CREATE TABLE api_keys (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    source        TEXT    NOT NULL,
    prefix        TEXT    NOT NULL,
    key_hash      TEXT    NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE clients (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    name          TEXT    NOT NULL,
    phone         TEXT    NOT NULL,
    email         TEXT,
    role          TEXT    NOT NULL DEFAULT 'buyer',
    broker_id     BIGINT REFERENCES users(id),
    created_at_ms BIGINT NOT NULL,
    UNIQUE (agency_id, phone)
);

CREATE TABLE properties (
    id              BIGSERIAL PRIMARY KEY,
    agency_id       BIGINT NOT NULL REFERENCES agencies(id),
    code            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    price_cents     BIGINT,
    neighbourhood   TEXT,
    address         TEXT,
    bedrooms        BIGINT,
    parking_spaces  BIGINT,
    status          TEXT    NOT NULL DEFAULT 'available',
    owner_client_id BIGINT REFERENCES clients(id),
    created_at_ms   BIGINT NOT NULL,
    UNIQUE (agency_id, code)
);

CREATE TABLE leads (
    id                     BIGSERIAL PRIMARY KEY,
    agency_id              BIGINT NOT NULL REFERENCES agencies(id),
    number                 TEXT    NOT NULL,
    client_id              BIGINT NOT NULL REFERENCES clients(id),
    department_id          BIGINT NOT NULL REFERENCES departments(id),
    source                 TEXT    NOT NULL,
    external_id            TEXT,
    channel                TEXT    NOT NULL,
    property_id            BIGINT REFERENCES properties(id),
    interest_kind          TEXT,
    interest_purpose       TEXT,
    interest_price_cents   BIGINT,
    interest_neighbourhood TEXT,
    interest_bedrooms      BIGINT,
    interest_parking       BIGINT,
    appraisal_address      TEXT,
    condominium            TEXT,
    comment                TEXT,
    state                  TEXT    NOT NULL,
    broker_id              BIGINT REFERENCES users(id),
    epoch                  BIGINT NOT NULL DEFAULT 0,
    round                  BIGINT NOT NULL DEFAULT 0,
    created_by             BIGINT REFERENCES users(id),
    created_at_ms          BIGINT NOT NULL,
    assigned_at_ms         BIGINT,
    UNIQUE (agency_id, number),
    UNIQUE (agency_id, source, external_id)
);
CREATE INDEX leads_live ON leads(agency_id, state);

CREATE TABLE offers (
    id             BIGSERIAL PRIMARY KEY,
    agency_id      BIGINT NOT NULL REFERENCES agencies(id),
    lead_id        BIGINT NOT NULL REFERENCES leads(id),
    broker_id      BIGINT NOT NULL REFERENCES users(id),
    department_id  BIGINT NOT NULL REFERENCES departments(id),
    epoch          BIGINT NOT NULL,
    round          BIGINT NOT NULL,
    sticky         BIGINT NOT NULL DEFAULT 0,
    state          TEXT    NOT NULL,
    offered_at_ms  BIGINT NOT NULL,
    deadline_ms    BIGINT NOT NULL,
    decided_at_ms  BIGINT,
    outcome_reason TEXT,
    reason         TEXT    NOT NULL
);
-- I2 in the schema: at most one pending offer per lead.
CREATE UNIQUE INDEX offers_one_pending_per_lead ON offers(lead_id) WHERE state = 'pending';
CREATE INDEX offers_lead ON offers(lead_id);
CREATE INDEX offers_broker ON offers(broker_id, state);

CREATE TABLE attendances (
    id               BIGSERIAL PRIMARY KEY,
    agency_id        BIGINT NOT NULL REFERENCES agencies(id),
    lead_id          BIGINT NOT NULL REFERENCES leads(id),
    client_id        BIGINT NOT NULL REFERENCES clients(id),
    broker_id        BIGINT NOT NULL REFERENCES users(id),
    kind             TEXT    NOT NULL,
    opened_at_ms     BIGINT NOT NULL,
    concluded_at_ms  BIGINT,
    concluded_how    TEXT
);
CREATE INDEX attendances_broker_open ON attendances(broker_id, concluded_at_ms);
CREATE UNIQUE INDEX attendances_one_open_per_lead ON attendances(lead_id) WHERE concluded_at_ms IS NULL;

CREATE TABLE contact_logs (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    lead_id       BIGINT NOT NULL REFERENCES leads(id),
    client_id     BIGINT NOT NULL REFERENCES clients(id),
    broker_id     BIGINT NOT NULL REFERENCES users(id),
    kind          TEXT    NOT NULL,
    note          TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE dispatch_audit (
    id        BIGSERIAL PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    lead_id   BIGINT,
    broker_id BIGINT,
    offer_id  BIGINT,
    at_ms     BIGINT NOT NULL,
    decision  TEXT    NOT NULL,
    reason    TEXT    NOT NULL
);
CREATE INDEX dispatch_audit_lead ON dispatch_audit(agency_id, lead_id);

CREATE TABLE idempotency_keys (
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    lead_id       BIGINT NOT NULL REFERENCES leads(id),
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (agency_id, key)
);
