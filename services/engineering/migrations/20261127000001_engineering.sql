-- The engineering department (工程管理部): equipment and zones, the duty room's inventory,
-- the roster and the duty, handovers, alerts, work orders and inspections.
-- Flags are BIGINT 0/1, instants BIGINT microseconds UTC (see services/kit/src/db.rs).

-- Technicians' zones of responsibility (INS-1).
CREATE TABLE zones (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    name TEXT NOT NULL,
    technician_user_id TEXT NOT NULL,
    technician_name TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    UNIQUE (property_id, name)
);

CREATE TABLE equipment (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    zone_id TEXT NOT NULL REFERENCES zones (id),
    large BIGINT NOT NULL,
    condition TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    UNIQUE (property_id, number)
);

CREATE TABLE equipment_meters (
    equipment_id TEXT NOT NULL REFERENCES equipment (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    min_value DOUBLE PRECISION NOT NULL,
    max_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (equipment_id, position)
);

-- The duty room's inventory list (HO-5).
CREATE TABLE inventory_items (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    category TEXT NOT NULL,
    name TEXT NOT NULL,
    count BIGINT NOT NULL,
    create_at BIGINT NOT NULL,
    UNIQUE (property_id, category, name)
);

-- The roster (DUTY-1).
CREATE TABLE shifts (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    scheduled_by_id TEXT NOT NULL,
    scheduled_by_name TEXT NOT NULL,
    scheduled_by_role TEXT NOT NULL,
    on_duty_at BIGINT,
    handed_over_at BIGINT,
    left_at BIGINT
);
CREATE INDEX shifts_by_start ON shifts (property_id, start_at, id);
CREATE INDEX shifts_by_user ON shifts (property_id, user_id, start_at);

CREATE TABLE shift_swaps (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    shift_id TEXT NOT NULL REFERENCES shifts (id),
    from_user_id TEXT NOT NULL,
    to_user_id TEXT NOT NULL,
    to_user_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_by_id TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_by_role TEXT NOT NULL,
    request_at BIGINT NOT NULL,
    decided_by_id TEXT,
    decided_by_name TEXT,
    decided_by_role TEXT,
    decide_at BIGINT
);

-- Who holds the duty of each property. Every change of duty, handover step, incident and
-- fault first updates the property's row, so they queue one after the other (a row lock on
-- PostgreSQL, the write lock on SQLite) and HO-7 is judged on settled facts.
CREATE TABLE duty (
    property_id TEXT PRIMARY KEY,
    shift_id TEXT,
    since_at BIGINT,
    handover_id TEXT,
    version BIGINT NOT NULL
);

-- The duty record (工程值班记录, DUTY-4).
CREATE TABLE duty_entries (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    shift_id TEXT NOT NULL REFERENCES shifts (id),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    equipment_id TEXT,
    record_at BIGINT NOT NULL,
    recorded_by_id TEXT NOT NULL,
    recorded_by_name TEXT NOT NULL,
    recorded_by_role TEXT NOT NULL
);
CREATE INDEX duty_entries_in_order ON duty_entries (property_id, record_at, id);
CREATE INDEX duty_entries_by_shift ON duty_entries (shift_id, record_at, id);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    description TEXT NOT NULL,
    is_open BIGINT NOT NULL,
    shift_id TEXT NOT NULL,
    report_at BIGINT NOT NULL,
    reported_by_id TEXT NOT NULL,
    reported_by_name TEXT NOT NULL,
    reported_by_role TEXT NOT NULL,
    close_at BIGINT,
    resolution TEXT NOT NULL
);
CREATE INDEX incidents_open ON incidents (property_id, is_open, report_at);

CREATE TABLE faults (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    equipment_id TEXT NOT NULL REFERENCES equipment (id),
    description TEXT NOT NULL,
    needs_both BIGINT NOT NULL,
    is_open BIGINT NOT NULL,
    shift_id TEXT NOT NULL,
    report_at BIGINT NOT NULL,
    reported_by_id TEXT NOT NULL,
    reported_by_name TEXT NOT NULL,
    reported_by_role TEXT NOT NULL,
    clear_at BIGINT,
    resolution TEXT NOT NULL,
    stopped_handover_id TEXT
);
CREATE INDEX faults_open ON faults (property_id, is_open, report_at);

-- Shift handovers (HO-1 to HO-8); a step's columns stay NULL until it is done.
CREATE TABLE handovers (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    state TEXT NOT NULL,
    outgoing_shift_id TEXT NOT NULL REFERENCES shifts (id),
    outgoing_user_id TEXT NOT NULL,
    incoming_shift_id TEXT NOT NULL REFERENCES shifts (id),
    incoming_user_id TEXT NOT NULL,
    prepare_at BIGINT NOT NULL,
    prepare_late BIGINT NOT NULL,
    prepare_equipment_ok BIGINT NOT NULL,
    prepare_rooms_cleaned BIGINT NOT NULL,
    prepare_note TEXT NOT NULL,
    arrive_at BIGINT,
    arrive_late BIGINT NOT NULL,
    fitness TEXT,
    equipment_check_at BIGINT,
    record_read_at BIGINT,
    record_regular BIGINT NOT NULL,
    record_note TEXT NOT NULL,
    inventory_check_at BIGINT,
    cleanliness_at BIGINT,
    clean BIGINT NOT NULL,
    cleanliness_note TEXT NOT NULL,
    brief_at BIGINT,
    brief_summary TEXT NOT NULL,
    brief_points TEXT NOT NULL,
    both_clear BIGINT NOT NULL,
    outgoing_sign_at BIGINT,
    incoming_sign_at BIGINT,
    complete_at BIGINT,
    stopped_by_fault_id TEXT
);
-- Ids are UUIDv7: in id order is in creation order.
CREATE INDEX handovers_newest ON handovers (property_id, id);
CREATE INDEX handovers_open ON handovers (property_id, state);

CREATE TABLE handover_observations (
    handover_id TEXT NOT NULL REFERENCES handovers (id),
    position BIGINT NOT NULL,
    equipment_id TEXT NOT NULL,
    running TEXT NOT NULL,
    matches_record BIGINT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (handover_id, position)
);

CREATE TABLE handover_counts (
    handover_id TEXT NOT NULL REFERENCES handovers (id),
    position BIGINT NOT NULL,
    item_id TEXT NOT NULL,
    name TEXT NOT NULL,
    listed BIGINT NOT NULL,
    counted BIGINT NOT NULL,
    PRIMARY KEY (handover_id, position)
);

-- Refusals (HO-7), each with every reason that held.
CREATE TABLE handover_refusals (
    id TEXT PRIMARY KEY,
    handover_id TEXT NOT NULL REFERENCES handovers (id),
    property_id TEXT NOT NULL,
    refuse_at BIGINT NOT NULL,
    refused_to_id TEXT NOT NULL,
    refused_to_name TEXT NOT NULL,
    refused_to_role TEXT NOT NULL
);
CREATE INDEX handover_refusals_by_time ON handover_refusals (property_id, refuse_at);

CREATE TABLE handover_refusal_reasons (
    refusal_id TEXT NOT NULL REFERENCES handover_refusals (id),
    position BIGINT NOT NULL,
    code TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    ho7 BIGINT NOT NULL,
    PRIMARY KEY (refusal_id, position)
);

-- The engineering manager's alerts (HO-7, INS-2).
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    message TEXT NOT NULL,
    -- The reason codes, comma-separated.
    reasons TEXT NOT NULL,
    raise_at BIGINT NOT NULL,
    acknowledged BIGINT NOT NULL,
    acknowledged_by_id TEXT,
    acknowledged_by_name TEXT,
    acknowledged_by_role TEXT,
    acknowledge_at BIGINT
);
CREATE INDEX alerts_newest ON alerts (property_id, id);

-- The last work order number of each property: taken inside the opening transaction, so
-- numbers are unique and a rolled-back opening leaves no gap (WO-1).
CREATE TABLE work_order_numbers (
    property_id TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

CREATE TABLE work_orders (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    source TEXT NOT NULL,
    unit_id TEXT,
    equipment_id TEXT REFERENCES equipment (id),
    inspection_id TEXT,
    description TEXT NOT NULL,
    urgency TEXT NOT NULL,
    team TEXT NOT NULL,
    requester_name TEXT NOT NULL,
    requester_phone TEXT NOT NULL,
    contact_number BIGINT,
    booked_at BIGINT,
    state TEXT NOT NULL,
    open_at BIGINT NOT NULL,
    opened_by_id TEXT NOT NULL,
    opened_by_name TEXT NOT NULL,
    opened_by_role TEXT NOT NULL,
    assignee_user_id TEXT NOT NULL,
    assignee_name TEXT NOT NULL,
    dispatch_at BIGINT,
    arrival_due_at BIGINT,
    arrive_at BIGINT,
    arrived_late BIGINT NOT NULL,
    work_done TEXT NOT NULL,
    complete_at BIGINT,
    customer_rating BIGINT NOT NULL,
    customer_signature TEXT NOT NULL,
    completed_by_id TEXT,
    completed_by_name TEXT,
    completed_by_role TEXT,
    UNIQUE (property_id, number)
);
CREATE INDEX work_orders_by_inspection ON work_orders (inspection_id);

CREATE TABLE work_order_parts (
    work_order_id TEXT NOT NULL REFERENCES work_orders (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (work_order_id, position)
);

-- Inspections (INS-1 to INS-4); one per kind, zone ('' for weekly and monthly) and window,
-- so the schedule never makes one twice.
CREATE TABLE inspections (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    zone_id TEXT NOT NULL,
    assignee_user_id TEXT NOT NULL,
    assignee_name TEXT NOT NULL,
    window_start_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    record_at BIGINT,
    recorded_by_id TEXT,
    recorded_by_name TEXT,
    recorded_by_role TEXT,
    findings TEXT NOT NULL,
    major_finding TEXT NOT NULL,
    spot_checked_by_id TEXT,
    spot_checked_by_name TEXT,
    spot_checked_by_role TEXT,
    spot_check_at BIGINT,
    spot_check_note TEXT NOT NULL,
    UNIQUE (property_id, kind, zone_id, window_start_at)
);
CREATE INDEX inspections_by_due ON inspections (property_id, due_at, id);
CREATE INDEX inspections_by_window ON inspections (property_id, window_start_at);

CREATE TABLE inspection_items (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    position BIGINT NOT NULL,
    item_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    equipment_id TEXT,
    unit TEXT NOT NULL,
    min_value DOUBLE PRECISION NOT NULL,
    max_value DOUBLE PRECISION NOT NULL,
    repair BIGINT NOT NULL,
    -- The recorded value as text in the item kind's form; NULL until recorded.
    value TEXT,
    failed BIGINT NOT NULL,
    PRIMARY KEY (inspection_id, position)
);
