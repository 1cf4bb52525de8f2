-- Households (住户) living in units, and their residents. A household that moves out stays
-- on record with its move-out time; the unit's history is its households in order.
CREATE TABLE households (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units (id),
    state TEXT NOT NULL,
    move_in_at BIGINT NOT NULL,
    move_out_at BIGINT,
    create_at BIGINT NOT NULL
);

CREATE INDEX households_by_unit ON households (property_id, unit_id, move_in_at);
CREATE INDEX households_by_state ON households (property_id, state, id);
-- Nobody moves into a unit somebody lives in, also under concurrent move-ins.
CREATE UNIQUE INDEX households_one_living_per_unit ON households (unit_id) WHERE state = 'living';

CREATE TABLE residents (
    household_id TEXT NOT NULL REFERENCES households (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    relation TEXT NOT NULL,
    phone TEXT NOT NULL,
    primary_contact BIGINT NOT NULL,
    PRIMARY KEY (household_id, position)
);
