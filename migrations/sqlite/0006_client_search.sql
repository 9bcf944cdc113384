-- The client search's "contains" on SQLite: an FTS5 trigram index over the folded name and
-- e-mail (PostgreSQL uses a trigram GIN index), kept in step with clients by triggers.
CREATE VIRTUAL TABLE clients_fts USING fts5(search_key, content='clients', content_rowid='id', tokenize='trigram');
INSERT INTO clients_fts(clients_fts) VALUES ('rebuild');
CREATE TRIGGER clients_fts_insert AFTER INSERT ON clients BEGIN
    INSERT INTO clients_fts(rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER clients_fts_delete AFTER DELETE ON clients BEGIN
    INSERT INTO clients_fts(clients_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER clients_fts_update AFTER UPDATE OF search_key ON clients BEGIN
    INSERT INTO clients_fts(clients_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
    INSERT INTO clients_fts(rowid, search_key) VALUES (new.id, new.search_key);
END;
