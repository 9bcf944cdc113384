-- The CRM around the roulette: active-offer campaigns (O1–O6), teams and distribution (T1–T4),
-- the lead pipeline (L1–L6) and the client search that feeds campaigns and distribution.

-- O6: the feature is switched on per agency; O3: quarantine days per agency.
ALTER TABLE agencies ADD COLUMN active_offer_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agencies ADD COLUMN quarantine_days INTEGER NOT NULL DEFAULT 10;

-- L1: lead types, each with its statuses, its initial status and its allowed transitions.
CREATE TABLE lead_types (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    name           TEXT    NOT NULL,
    initial_status TEXT    NOT NULL,
    is_default     INTEGER NOT NULL DEFAULT 0,
    created_at_ms  INTEGER NOT NULL,
    UNIQUE (agency_id, name)
);
CREATE TABLE lead_statuses (
    agency_id INTEGER NOT NULL REFERENCES agencies(id),
    type_id   INTEGER NOT NULL REFERENCES lead_types(id),
    name      TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    is_final  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (type_id, name)
);
CREATE TABLE lead_transitions (
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    type_id     INTEGER NOT NULL REFERENCES lead_types(id),
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    PRIMARY KEY (type_id, from_status, to_status)
);

-- L1, L3, L4 on the lead itself.
ALTER TABLE leads ADD COLUMN type_id INTEGER REFERENCES lead_types(id);
ALTER TABLE leads ADD COLUMN status TEXT;
ALTER TABLE leads ADD COLUMN ad_campaign TEXT;
ALTER TABLE leads ADD COLUMN due_at_ms INTEGER;
ALTER TABLE leads ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN location TEXT;
ALTER TABLE leads ADD COLUMN manager_id INTEGER REFERENCES users(id);
ALTER TABLE leads ADD COLUMN status_changed_at_ms INTEGER;
CREATE INDEX leads_client ON leads(client_id);
CREATE INDEX leads_marketing ON leads(agency_id, created_at_ms);

-- The client search: a folded (lower case, no accents) name and e-mail, and the worked mark (T3).
ALTER TABLE clients ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN worked_at_ms INTEGER;
UPDATE clients SET search_key = lower(name || ' ' || COALESCE(email, ''));
CREATE INDEX clients_agency_id ON clients(agency_id, id);
CREATE INDEX clients_agency_broker ON clients(agency_id, broker_id, id);
CREATE INDEX clients_agency_created ON clients(agency_id, created_at_ms);

-- O1: campaigns and their participating brokers.
CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    name          TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    property_id   INTEGER REFERENCES properties(id),
    development   TEXT,
    description   TEXT,
    created_by    INTEGER REFERENCES users(id),
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX campaigns_agency ON campaigns(agency_id, expires_at_ms);
CREATE TABLE campaign_brokers (
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    broker_id   INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (campaign_id, broker_id)
);
CREATE INDEX campaign_brokers_broker ON campaign_brokers(broker_id);

-- O2–O5: a client in a campaign. state: queued (waiting for a broker), held (handed to
-- held_by, or kept by them with "continue later"), done (positive result), inactive (negative).
-- route_broker_id: only that broker may be handed the client ("their own broker").
CREATE TABLE campaign_clients (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id       INTEGER NOT NULL REFERENCES agencies(id),
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
    client_id       INTEGER NOT NULL REFERENCES clients(id),
    route_broker_id INTEGER REFERENCES users(id),
    state           TEXT    NOT NULL DEFAULT 'queued',
    held_by         INTEGER REFERENCES users(id),
    held_at_ms      INTEGER,
    result          TEXT,
    comment         TEXT,
    added_at_ms     INTEGER NOT NULL,
    done_at_ms      INTEGER,
    UNIQUE (campaign_id, client_id)
);
CREATE INDEX campaign_clients_queue ON campaign_clients(campaign_id, state, id);
CREATE INDEX campaign_clients_client ON campaign_clients(client_id);

-- T1, T2: teams under a supervisor, and clients distributed to one broker of a team each.
CREATE TABLE teams (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    name          TEXT    NOT NULL,
    supervisor_id INTEGER NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (agency_id, name)
);
CREATE TABLE team_brokers (
    agency_id INTEGER NOT NULL REFERENCES agencies(id),
    team_id   INTEGER NOT NULL REFERENCES teams(id),
    broker_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, broker_id)
);
CREATE INDEX team_brokers_broker ON team_brokers(broker_id);
-- One row per client: a distributed client belongs to one broker alone (T2).
CREATE TABLE team_clients (
    client_id         INTEGER PRIMARY KEY REFERENCES clients(id),
    agency_id         INTEGER NOT NULL REFERENCES agencies(id),
    team_id           INTEGER NOT NULL REFERENCES teams(id),
    broker_id         INTEGER NOT NULL REFERENCES users(id),
    distributed_at_ms INTEGER NOT NULL
);
CREATE INDEX team_clients_broker ON team_clients(broker_id);

-- T4: every contact outcome with a client (campaign calls and team clients' contacts).
CREATE TABLE client_contacts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    client_id     INTEGER NOT NULL REFERENCES clients(id),
    broker_id     INTEGER NOT NULL REFERENCES users(id),
    campaign_id   INTEGER REFERENCES campaigns(id),
    outcome       TEXT    NOT NULL,
    comment       TEXT,
    lead_id       INTEGER REFERENCES leads(id),
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX client_contacts_report ON client_contacts(agency_id, created_at_ms);
CREATE INDEX client_contacts_client ON client_contacts(client_id);

-- L6: which events notify whom, and the notifications themselves.
CREATE TABLE notification_rules (
    agency_id INTEGER NOT NULL REFERENCES agencies(id),
    event     TEXT    NOT NULL,
    recipient TEXT    NOT NULL,
    PRIMARY KEY (agency_id, event, recipient)
);
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    event         TEXT    NOT NULL,
    lead_id       INTEGER,
    client_id     INTEGER,
    text          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    read_at_ms    INTEGER
);
CREATE INDEX notifications_user ON notifications(user_id, id);
