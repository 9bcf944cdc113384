-- Lead numbers on PostgreSQL come from one sequence per agency (created with the agency), so an
-- agency's ingests no longer queue behind its row lock; dedupe rests on the unique constraints.
DO $$
DECLARE r RECORD;
BEGIN
    FOR r IN SELECT id, lead_seq FROM agencies LOOP
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS lead_seq_%s START %s', r.id, r.lead_seq + 1);
    END LOOP;
END $$;
