-- The life of a complaint (CMP-5): what each step wrote, the reply and close times, the
-- major mark, the quality department's handling, and the facts already announced on the
-- event stream (so each is written once).
ALTER TABLE complaints ADD COLUMN team TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN plan TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN remedial_measures TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN handling_report TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN reply_at BIGINT;
ALTER TABLE complaints ADD COLUMN close_at BIGINT;
ALTER TABLE complaints ADD COLUMN results_told BIGINT NOT NULL DEFAULT 0;
ALTER TABLE complaints ADD COLUMN major_reason TEXT;
ALTER TABLE complaints ADD COLUMN escalation_state TEXT;
ALTER TABLE complaints ADD COLUMN escalation_decision TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN escalation_at BIGINT;
ALTER TABLE complaints ADD COLUMN reply_overdue_noted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE complaints ADD COLUMN unresolved_noted BIGINT NOT NULL DEFAULT 0;
-- Bumped by every step: a step whose complaint changed under it starts again.
ALTER TABLE complaints ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE INDEX complaints_reply_due ON complaints (property_id, reply_due_at);
CREATE INDEX complaints_register_at ON complaints (property_id, register_at);

CREATE TABLE complaint_steps (
    complaint_id TEXT NOT NULL REFERENCES complaints (id),
    seq BIGINT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    at BIGINT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (complaint_id, seq)
);

-- The call and visit log keeps what the caller said; a complaint entry names its complaint.
ALTER TABLE contacts ADD COLUMN caller_name TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN caller_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN unit_id TEXT;
ALTER TABLE contacts ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN complaint_id TEXT;
ALTER TABLE contacts ADD COLUMN registered_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN registered_by_role TEXT NOT NULL DEFAULT '';

-- Corrective and preventive actions (CMP-8).
CREATE TABLE corrective_actions (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    complaint_id TEXT NOT NULL REFERENCES complaints (id),
    state TEXT NOT NULL,
    problem TEXT NOT NULL,
    opened_by_id TEXT NOT NULL,
    opened_by_name TEXT NOT NULL,
    opened_by_role TEXT NOT NULL,
    open_at BIGINT NOT NULL,
    measures TEXT NOT NULL,
    acted_by_id TEXT,
    acted_by_name TEXT,
    acted_by_role TEXT,
    act_at BIGINT,
    effective BIGINT NOT NULL,
    verification TEXT NOT NULL,
    verified_by_id TEXT,
    verified_by_name TEXT,
    verified_by_role TEXT,
    verify_at BIGINT
);

CREATE INDEX corrective_actions_by_state ON corrective_actions (property_id, state, id);
