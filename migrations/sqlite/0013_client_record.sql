-- The client record (A5, A6): the objective and the interest profile kept on the client (entered
-- by hand; until then the newest lead's profile shows), the agency's WhatsApp first message, and
-- the contact attempts a broker logs with one tap (they do not conclude the attendance).
ALTER TABLE agencies ADD COLUMN whatsapp_template TEXT;

ALTER TABLE clients ADD COLUMN objective TEXT;
ALTER TABLE clients ADD COLUMN interest_kind TEXT;
ALTER TABLE clients ADD COLUMN interest_purpose TEXT;
ALTER TABLE clients ADD COLUMN interest_price_cents INTEGER;
ALTER TABLE clients ADD COLUMN interest_neighbourhood TEXT;
ALTER TABLE clients ADD COLUMN interest_bedrooms INTEGER;
ALTER TABLE clients ADD COLUMN interest_parking INTEGER;
ALTER TABLE clients ADD COLUMN appraisal_address TEXT;
ALTER TABLE clients ADD COLUMN condominium TEXT;
ALTER TABLE clients ADD COLUMN profile_edited_at_ms INTEGER;

CREATE TABLE contact_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    lead_id       INTEGER NOT NULL REFERENCES leads(id),
    client_id     INTEGER NOT NULL REFERENCES clients(id),
    broker_id     INTEGER NOT NULL REFERENCES users(id),
    channel       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX contact_attempts_client ON contact_attempts(client_id);
CREATE INDEX contact_attempts_lead ON contact_attempts(lead_id);

-- What happened to a client outside the offers and contacts: status changes of its leads, owner
-- changes, edits of the profile. Read back as the record's timeline.
CREATE TABLE client_history (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    client_id     INTEGER NOT NULL REFERENCES clients(id),
    lead_id       INTEGER REFERENCES leads(id),
    actor_id      INTEGER REFERENCES users(id),
    kind          TEXT NOT NULL,
    from_value    TEXT,
    to_value      TEXT,
    at_ms         INTEGER NOT NULL
);
CREATE INDEX client_history_client ON client_history(client_id, at_ms);

-- The timeline reads a client's attendances and contact logs.
CREATE INDEX attendances_client ON attendances(client_id);
CREATE INDEX contact_logs_client ON contact_logs(client_id);
