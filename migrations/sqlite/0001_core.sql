-- Roleta core schema (SQLite). Times are epoch milliseconds; flags are 0/1 integers so the
-- same queries run unchanged on PostgreSQL.

CREATE TABLE agencies (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT    NOT NULL,
    roulette_enabled     INTEGER NOT NULL DEFAULT 1,
    answer_seconds       INTEGER NOT NULL DEFAULT 30,
    max_missed_in_row    INTEGER NOT NULL DEFAULT 3,
    everyone_refused     TEXT    NOT NULL DEFAULT 'retry',
    retry_pause_seconds  INTEGER NOT NULL DEFAULT 60,
    fallback_broker_id   INTEGER,
    lead_number_template TEXT    NOT NULL DEFAULT 'L-{year}-{seq:05}',
    lead_seq             INTEGER NOT NULL DEFAULT 0,
    created_at_ms        INTEGER NOT NULL
);

CREATE TABLE departments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    name          TEXT    NOT NULL,
    is_default    INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (agency_id, name)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    online        INTEGER NOT NULL DEFAULT 0,
    missed_in_row INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX users_agency ON users(agency_id);

CREATE TABLE broker_departments (
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    broker_id     INTEGER NOT NULL REFERENCES users(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    PRIMARY KEY (broker_id, department_id)
);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    token_hash    TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    label         TEXT,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER
);

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    source        TEXT    NOT NULL,
    prefix        TEXT    NOT NULL,
    key_hash      TEXT    NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

CREATE TABLE clients (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    name          TEXT    NOT NULL,
    phone         TEXT    NOT NULL,
    email         TEXT,
    role          TEXT    NOT NULL DEFAULT 'buyer',
    broker_id     INTEGER REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (agency_id, phone)
);

CREATE TABLE properties (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id       INTEGER NOT NULL REFERENCES agencies(id),
    code            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    price_cents     INTEGER,
    neighbourhood   TEXT,
    address         TEXT,
    bedrooms        INTEGER,
    parking_spaces  INTEGER,
    status          TEXT    NOT NULL DEFAULT 'available',
    owner_client_id INTEGER REFERENCES clients(id),
    created_at_ms   INTEGER NOT NULL,
    UNIQUE (agency_id, code)
);

CREATE TABLE leads (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id              INTEGER NOT NULL REFERENCES agencies(id),
    number                 TEXT    NOT NULL,
    client_id              INTEGER NOT NULL REFERENCES clients(id),
    department_id          INTEGER NOT NULL REFERENCES departments(id),
    source                 TEXT    NOT NULL,
    external_id            TEXT,
    channel                TEXT    NOT NULL,
    property_id            INTEGER REFERENCES properties(id),
    interest_kind          TEXT,
    interest_purpose       TEXT,
    interest_price_cents   INTEGER,
    interest_neighbourhood TEXT,
    interest_bedrooms      INTEGER,
    interest_parking       INTEGER,
    appraisal_address      TEXT,
    condominium            TEXT,
    comment                TEXT,
    state                  TEXT    NOT NULL,
    broker_id              INTEGER REFERENCES users(id),
    epoch                  INTEGER NOT NULL DEFAULT 0,
    round                  INTEGER NOT NULL DEFAULT 0,
    created_by             INTEGER REFERENCES users(id),
    created_at_ms          INTEGER NOT NULL,
    assigned_at_ms         INTEGER,
    UNIQUE (agency_id, number),
    UNIQUE (agency_id, source, external_id)
);
CREATE INDEX leads_live ON leads(agency_id, state);

CREATE TABLE offers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    lead_id        INTEGER NOT NULL REFERENCES leads(id),
    broker_id      INTEGER NOT NULL REFERENCES users(id),
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    epoch          INTEGER NOT NULL,
    round          INTEGER NOT NULL,
    sticky         INTEGER NOT NULL DEFAULT 0,
    state          TEXT    NOT NULL,
    offered_at_ms  INTEGER NOT NULL,
    deadline_ms    INTEGER NOT NULL,
    decided_at_ms  INTEGER,
    outcome_reason TEXT,
    reason         TEXT    NOT NULL
);
-- I2 in the schema: at most one pending offer per lead.
CREATE UNIQUE INDEX offers_one_pending_per_lead ON offers(lead_id) WHERE state = 'pending';
CREATE INDEX offers_lead ON offers(lead_id);
CREATE INDEX offers_broker ON offers(broker_id, state);

CREATE TABLE attendances (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id        INTEGER NOT NULL REFERENCES agencies(id),
    lead_id          INTEGER NOT NULL REFERENCES leads(id),
    client_id        INTEGER NOT NULL REFERENCES clients(id),
    broker_id        INTEGER NOT NULL REFERENCES users(id),
    kind             TEXT    NOT NULL,
    opened_at_ms     INTEGER NOT NULL,
    concluded_at_ms  INTEGER,
    concluded_how    TEXT
);
CREATE INDEX attendances_broker_open ON attendances(broker_id, concluded_at_ms);
CREATE UNIQUE INDEX attendances_one_open_per_lead ON attendances(lead_id) WHERE concluded_at_ms IS NULL;

CREATE TABLE contact_logs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    lead_id       INTEGER NOT NULL REFERENCES leads(id),
    client_id     INTEGER NOT NULL REFERENCES clients(id),
    broker_id     INTEGER NOT NULL REFERENCES users(id),
    kind          TEXT    NOT NULL,
    note          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE dispatch_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id INTEGER NOT NULL REFERENCES agencies(id),
    lead_id   INTEGER,
    broker_id INTEGER,
    offer_id  INTEGER,
    at_ms     INTEGER NOT NULL,
    decision  TEXT    NOT NULL,
    reason    TEXT    NOT NULL
);
CREATE INDEX dispatch_audit_lead ON dispatch_audit(agency_id, lead_id);

CREATE TABLE idempotency_keys (
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    lead_id       INTEGER NOT NULL REFERENCES leads(id),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (agency_id, key)
);
