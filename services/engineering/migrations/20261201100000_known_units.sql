-- The units of each property as customer-service announces them (`UnitRegistered` on its
-- event stream, followed as `engineering/units`): a repair names one of these (WO-1), never an
-- id taken on trust. Written only by the follower, in the transaction that advances its
-- cursor; customer-service owns the units, this is engineering's read of them.
CREATE TABLE known_units (
    property_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    unit_label TEXT NOT NULL,
    building TEXT NOT NULL,
    register_at BIGINT,
    -- The sequence number of the event it was learnt from, in customer-service's stream.
    learn_seq BIGINT NOT NULL,
    PRIMARY KEY (property_id, unit_id)
);
