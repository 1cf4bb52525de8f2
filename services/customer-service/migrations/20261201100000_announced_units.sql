-- Units are announced to the other departments by a `UnitRegistered` event, written through
-- the outbox in the transaction that registers the unit (engineering learns from it which
-- units a repair may name, WO-1). `announced` is 1 once that event is written. Units
-- registered before this migration are 0: the service announces each once at start-up,
-- before it serves, and marks it.
ALTER TABLE units ADD COLUMN announced BIGINT NOT NULL DEFAULT 0;

CREATE INDEX units_not_announced ON units (id) WHERE announced = 0;
