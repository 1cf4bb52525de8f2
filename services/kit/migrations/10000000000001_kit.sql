-- The kit's tables, present in every service's database.

-- Transactional outbox: an event commits with the state change it describes.
CREATE TABLE outbox (
    seq BIGINT PRIMARY KEY,
    property_id TEXT NOT NULL,
    occur_at BIGINT NOT NULL,
    -- The encoded wuye.events.v1.Event, without its seq.
    event BYTEA NOT NULL
);

-- One row whose counter hands out outbox sequence numbers. Taking the next number locks the
-- row until commit, so numbers become visible in commit order and a consumer that resumes
-- after the last number it saw never skips one.
CREATE TABLE outbox_seq (
    id BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
INSERT INTO outbox_seq (id, last_seq) VALUES (1, 0);

-- Client request ids of create calls: a retry returns the first result.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    request_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    PRIMARY KEY (scope, request_id)
);
