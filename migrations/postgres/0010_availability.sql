-- Whether a broker takes roulette offers (issue 12): the manager's "participa da roleta" flag
-- and one absence period (férias / ausência). No row means "in the roulette, no absence".
-- The dates are what the manager typed (agency time, inclusive); the roulette compares the
-- moments derived from them: absent_from_ms is the first day's start, absent_until_ms the
-- start of the day after the last one.
CREATE TABLE broker_availability (
    agency_id       BIGINT NOT NULL REFERENCES agencies(id),
    broker_id       BIGINT NOT NULL REFERENCES users(id),
    in_roulette     BIGINT NOT NULL DEFAULT 1,
    absent_from     TEXT,
    absent_to       TEXT,
    absence_reason  TEXT,
    absent_from_ms  BIGINT,
    absent_until_ms BIGINT,
    updated_at_ms   BIGINT NOT NULL,
    updated_by      BIGINT REFERENCES users(id),
    PRIMARY KEY (agency_id, broker_id),
    CHECK (in_roulette IN (0, 1)),
    CHECK (absence_reason IS NULL OR absence_reason IN ('ferias', 'ausencia')),
    -- An absence is whole or absent: all five columns, or none.
    CHECK ((absent_from IS NULL AND absent_to IS NULL AND absence_reason IS NULL
            AND absent_from_ms IS NULL AND absent_until_ms IS NULL)
        OR (absent_from IS NOT NULL AND absent_to IS NOT NULL AND absence_reason IS NOT NULL
            AND absent_from_ms IS NOT NULL AND absent_until_ms IS NOT NULL
            AND absent_to >= absent_from AND absent_until_ms > absent_from_ms))
);
