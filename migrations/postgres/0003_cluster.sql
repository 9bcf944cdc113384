-- Dispatch shards: one row per agency. The epoch is the fencing token: it goes up each time a
-- node takes the agency's roulette over, and every dispatch write checks it first, so a node
-- that lost its lease (paused, partitioned) can no longer change who holds a lead.

CREATE TABLE shards (
    agency_id     BIGINT PRIMARY KEY REFERENCES agencies(id),
    epoch         BIGINT NOT NULL DEFAULT 0,
    owner         TEXT,
    claimed_at_ms BIGINT NOT NULL DEFAULT 0
);

-- The shard epoch an offer was made under (which owner made it).
ALTER TABLE offers ADD COLUMN shard_epoch BIGINT NOT NULL DEFAULT 0;

-- The sweeper's scan for overdue offers.
CREATE INDEX offers_pending_deadline ON offers(deadline_ms) WHERE state = 'pending';
