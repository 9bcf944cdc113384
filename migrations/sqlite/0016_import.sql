-- CSV import of clients and properties (docs/IMPORT.md): what a client row carries that the
-- clients table did not hold (its department, notes, the properties it is interested in), the
-- property's captador, and the import jobs with their staged rows (the preview, then written
-- exactly on confirmation).
ALTER TABLE clients ADD COLUMN department_id INTEGER REFERENCES departments(id);
ALTER TABLE clients ADD COLUMN notes TEXT;
ALTER TABLE properties ADD COLUMN captador_id INTEGER REFERENCES users(id);

-- Properties a client is interested in, named by code in an import (not through a lead).
CREATE TABLE client_properties (
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    property_id INTEGER NOT NULL REFERENCES properties(id),
    PRIMARY KEY (client_id, property_id)
);

-- One uploaded file. status: previewing (being read), ready (the preview is complete),
-- failed (the upload broke off or the file could not be read), confirming, confirmed.
-- written_upto: the last row number written by the confirmation (it resumes from there).
CREATE TABLE imports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id       INTEGER NOT NULL REFERENCES agencies(id),
    kind            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    separator       TEXT    NOT NULL,
    ignored_columns TEXT    NOT NULL DEFAULT '',
    total_rows      INTEGER NOT NULL DEFAULT 0,
    valid           INTEGER NOT NULL DEFAULT 0,
    invalid         INTEGER NOT NULL DEFAULT 0,
    duplicates      INTEGER NOT NULL DEFAULT 0,
    updates         INTEGER NOT NULL DEFAULT 0,
    written_upto    INTEGER NOT NULL DEFAULT 0,
    written         INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL DEFAULT 0,
    updated         INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    file_sha256     TEXT,
    error           TEXT,
    created_by      INTEGER NOT NULL REFERENCES users(id),
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    confirmed_at_ms INTEGER
);
CREATE INDEX imports_agency ON imports(agency_id, id);

-- Each data row of a file, as read: status valid, invalid or duplicate; the reason as a code
-- (and its field and detail) for the page to word; `match_key` the phone (clients) or code
-- (properties) that finds duplicates; `data` the normalised fields as JSON.
CREATE TABLE import_rows (
    import_id    INTEGER NOT NULL REFERENCES imports(id),
    row_no       INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    match_key    TEXT,
    broker_id    INTEGER,
    action       TEXT,
    field        TEXT,
    reason       TEXT,
    detail       TEXT,
    duplicate_of INTEGER,
    data         TEXT    NOT NULL,
    PRIMARY KEY (import_id, row_no)
);
CREATE INDEX import_rows_status ON import_rows(import_id, status, row_no);
CREATE INDEX import_rows_key ON import_rows(import_id, match_key);
