-- Units (房屋) of each property.
CREATE TABLE units (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    building TEXT NOT NULL,
    entrance TEXT NOT NULL,
    floor BIGINT NOT NULL,
    room TEXT NOT NULL,
    area_m2 DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    UNIQUE (property_id, building, entrance, room)
);

-- The last number handed out in each property's call and visit log (客户来电来访登记表).
-- Taking a number updates the property's row inside the registering transaction, so numbers
-- are unique and a rolled-back registration leaves no gap (CMP-2).
CREATE TABLE contact_numbers (
    property_id TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

-- The call and visit log: every contact, numbered.
CREATE TABLE contacts (
    property_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    channel TEXT NOT NULL,
    -- What the contact became: 'complaint' for now.
    kind TEXT NOT NULL,
    register_at BIGINT NOT NULL,
    registered_by TEXT NOT NULL,
    PRIMARY KEY (property_id, number)
);

CREATE TABLE complaints (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    channel TEXT NOT NULL,
    complainant_name TEXT NOT NULL,
    complainant_phone TEXT NOT NULL,
    unit_id TEXT,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    register_at BIGINT NOT NULL,
    reply_due_at BIGINT NOT NULL,
    registered_by_id TEXT NOT NULL,
    registered_by_name TEXT NOT NULL,
    registered_by_role TEXT NOT NULL,
    UNIQUE (property_id, number),
    FOREIGN KEY (property_id, number) REFERENCES contacts (property_id, number),
    FOREIGN KEY (unit_id) REFERENCES units (id)
);

CREATE INDEX complaints_by_state ON complaints (property_id, state, number);
CREATE INDEX complaints_by_severity ON complaints (property_id, severity, number);
