-- The escalation inbox of the quality department (ESC-1 to ESC-3). Instants are BIGINT
-- microseconds since the epoch, UTC.

-- One escalation per complaint, whatever the number of reasons it was escalated for.
CREATE TABLE escalations (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    complaint_id TEXT NOT NULL,
    complaint_number BIGINT NOT NULL,
    severity TEXT NOT NULL,
    category TEXT NOT NULL,
    state TEXT NOT NULL,
    receive_at BIGINT NOT NULL,
    assignee_user_id TEXT,
    assignee_name TEXT,
    assignee_role TEXT,
    assign_at BIGINT,
    decision TEXT NOT NULL,
    decided_by_user_id TEXT,
    decided_by_name TEXT,
    decided_by_role TEXT,
    decide_at BIGINT,
    close_note TEXT NOT NULL,
    closed_by_user_id TEXT,
    closed_by_name TEXT,
    closed_by_role TEXT,
    close_at BIGINT,
    update_at BIGINT NOT NULL,
    UNIQUE (property_id, complaint_id)
);
CREATE INDEX escalations_by_state ON escalations (property_id, state);

-- Each reason once: the key of "received exactly once".
CREATE TABLE escalation_reasons (
    escalation_id TEXT NOT NULL REFERENCES escalations (id),
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    receive_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    source_seq BIGINT NOT NULL,
    PRIMARY KEY (escalation_id, reason)
);

-- Questions to the property and their answers.
CREATE TABLE escalation_information (
    escalation_id TEXT NOT NULL REFERENCES escalations (id),
    seq BIGINT NOT NULL,
    question TEXT NOT NULL,
    asked_by_user_id TEXT NOT NULL,
    asked_by_name TEXT NOT NULL,
    asked_by_role TEXT NOT NULL,
    ask_at BIGINT NOT NULL,
    answer TEXT NOT NULL,
    answered_by_user_id TEXT,
    answered_by_name TEXT,
    answered_by_role TEXT,
    answer_at BIGINT,
    PRIMARY KEY (escalation_id, seq)
);

-- The corrective actions of the decision (CMP-8), in order.
CREATE TABLE escalation_corrective_actions (
    escalation_id TEXT NOT NULL REFERENCES escalations (id),
    seq BIGINT NOT NULL,
    action TEXT NOT NULL,
    PRIMARY KEY (escalation_id, seq)
);

-- What each relay source has delivered and acknowledged: the relay keeps no state, it asks.
CREATE TABLE relay_positions (
    source TEXT PRIMARY KEY,
    received_seq BIGINT NOT NULL,
    acknowledged_seq BIGINT NOT NULL
);
