-- Key custody (钥匙委托管理, KEY-1 to KEY-11). Every row of a custody carries its property and
-- is purged with the custody two years (config) after it closes (KEY-10). Full ID numbers are
-- never stored: only the document type and a masked number.

-- The last register number handed out per property.
CREATE TABLE key_set_numbers (
    property_id TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

-- The custody register (客户托管钥匙登记表) with the authorization form (委托书).
CREATE TABLE key_sets (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    source TEXT NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units (id),
    customer_name TEXT NOT NULL,
    customer_phone TEXT NOT NULL,
    customer_id_type TEXT NOT NULL,
    customer_id_masked TEXT NOT NULL,
    key_count BIGINT NOT NULL,
    reason TEXT NOT NULL,
    collection_conditions TEXT NOT NULL,
    disclaimer_signer TEXT NOT NULL,
    disclaimer_image BYTEA,
    disclaimer_sign_at BIGINT NOT NULL,
    tag TEXT NOT NULL,
    slot TEXT NOT NULL,
    state TEXT NOT NULL,
    -- Keys lent out now; the rest are in the slot.
    keys_out BIGINT NOT NULL,
    entrust_at BIGINT NOT NULL,
    entrusted_by_id TEXT NOT NULL,
    entrusted_by_name TEXT NOT NULL,
    entrusted_by_role TEXT NOT NULL,
    -- The collection (KEY-9), which closes the custody.
    collector_name TEXT,
    collector_designated BIGINT,
    collector_id_type TEXT,
    collector_id_masked TEXT,
    collector_signer TEXT,
    close_at BIGINT,
    closed_by_id TEXT,
    closed_by_name TEXT,
    closed_by_role TEXT,
    create_at BIGINT NOT NULL,
    UNIQUE (property_id, number)
);

CREATE INDEX key_sets_by_state ON key_sets (property_id, state, number);
CREATE INDEX key_sets_by_unit ON key_sets (property_id, unit_id, number);
CREATE INDEX key_sets_by_close ON key_sets (state, close_at);
-- One set per cabinet slot at a time, also under concurrent entrustments.
CREATE UNIQUE INDEX key_sets_one_per_slot ON key_sets (property_id, slot) WHERE state <> 'collected';

-- The designated collectors named on the form (KEY-2).
CREATE TABLE key_set_collectors (
    key_set_id TEXT NOT NULL REFERENCES key_sets (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    PRIMARY KEY (key_set_id, position)
);

-- The borrowing register (钥匙借用登记表, KEY-6).
CREATE TABLE key_loans (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    key_set_id TEXT NOT NULL REFERENCES key_sets (id),
    quantity BIGINT NOT NULL,
    keys_out BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    reason TEXT NOT NULL,
    borrower_user_id TEXT NOT NULL,
    borrower_name TEXT NOT NULL,
    borrower_department TEXT NOT NULL,
    borrower_phone TEXT NOT NULL,
    borrower_signature TEXT NOT NULL,
    borrow_at BIGINT NOT NULL,
    expected_return_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    -- When the loan passed its limit (KEY-8); NULL while it has not (or was back in time).
    overdue_at BIGINT,
    lent_by_id TEXT NOT NULL,
    lent_by_name TEXT NOT NULL,
    lent_by_role TEXT NOT NULL,
    close_at BIGINT
);

CREATE INDEX key_loans_by_set ON key_loans (key_set_id, id);
CREATE INDEX key_loans_by_state ON key_loans (property_id, state, expected_return_at);
-- A set is lent to one borrower at a time (KEY-6), also under concurrent loans.
CREATE UNIQUE INDEX key_loans_one_open_per_set ON key_loans (key_set_id) WHERE state = 'open';

-- Returns counted by the clerk (KEY-7); a short count is a discrepancy.
CREATE TABLE key_returns (
    id TEXT PRIMARY KEY,
    loan_id TEXT NOT NULL REFERENCES key_loans (id),
    expected BIGINT NOT NULL,
    received BIGINT NOT NULL,
    return_at BIGINT NOT NULL,
    received_by_id TEXT NOT NULL,
    received_by_name TEXT NOT NULL,
    received_by_role TEXT NOT NULL,
    note TEXT NOT NULL
);

CREATE INDEX key_returns_by_loan ON key_returns (loan_id, id);

-- Chases of overdue loans (KEY-8).
CREATE TABLE key_chases (
    id TEXT PRIMARY KEY,
    loan_id TEXT NOT NULL REFERENCES key_loans (id),
    method TEXT NOT NULL,
    contacted TEXT NOT NULL,
    result TEXT NOT NULL,
    promised_return_at BIGINT,
    chase_at BIGINT NOT NULL,
    chased_by_id TEXT NOT NULL,
    chased_by_name TEXT NOT NULL,
    chased_by_role TEXT NOT NULL
);

CREATE INDEX key_chases_by_loan ON key_chases (loan_id, id);

-- Overdue alerts, once per loan; seq is the outbox sequence of the alert's event.
CREATE TABLE key_alerts (
    seq BIGINT PRIMARY KEY,
    property_id TEXT NOT NULL,
    loan_id TEXT NOT NULL UNIQUE REFERENCES key_loans (id),
    raise_at BIGINT NOT NULL
);

CREATE INDEX key_alerts_by_property ON key_alerts (property_id, seq);

-- Refused collections (KEY-9), once per request id.
CREATE TABLE key_refusals (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    key_set_id TEXT NOT NULL REFERENCES key_sets (id),
    request_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    claimant_name TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    refuse_at BIGINT NOT NULL,
    refused_by_id TEXT NOT NULL,
    refused_by_name TEXT NOT NULL,
    refused_by_role TEXT NOT NULL,
    UNIQUE (property_id, request_id)
);

CREATE INDEX key_refusals_by_property ON key_refusals (property_id, id);

-- Cabinet audits against the register, with the slots that differed.
CREATE TABLE key_audits (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    audit_at BIGINT NOT NULL,
    audited_by_id TEXT NOT NULL,
    audited_by_name TEXT NOT NULL,
    audited_by_role TEXT NOT NULL,
    slots_checked BIGINT NOT NULL,
    note TEXT NOT NULL
);

CREATE INDEX key_audits_by_time ON key_audits (property_id, audit_at);

CREATE TABLE key_audit_mismatches (
    audit_id TEXT NOT NULL REFERENCES key_audits (id),
    slot TEXT NOT NULL,
    expected BIGINT NOT NULL,
    counted BIGINT NOT NULL,
    key_set_id TEXT NOT NULL,
    key_number BIGINT NOT NULL,
    PRIMARY KEY (audit_id, slot)
);
