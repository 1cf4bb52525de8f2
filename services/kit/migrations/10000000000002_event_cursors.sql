-- How far each consumer of another service's events has got. The cursor advances in the
-- transaction that applies the event, so every event takes effect exactly once.
CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
