-- The customer archives (客户档案).

-- One file per household (一户一档), opened by customer-service's HouseholdMovedIn (ARC-3).
CREATE TABLE household_files (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    unit_label TEXT NOT NULL,
    move_in_at BIGINT NOT NULL,
    filing_due_at BIGINT NOT NULL,
    -- When the last required category arrived (ARC-4); NULL while incomplete.
    filed_at BIGINT,
    open_at BIGINT NOT NULL,
    holder_name TEXT NOT NULL,
    -- Personal identifiers, encrypted under the key named beside them (ARC-6, ARC-11):
    -- nonce and ciphertext, never the clear value.
    id_number_sealed BYTEA,
    phone_sealed BYTEA,
    sealed_key_id TEXT,
    UNIQUE (property_id, household_id)
);

CREATE INDEX household_files_by_due ON household_files (property_id, filing_due_at);

-- Documents are written once and never updated (ARC-9): a correction is a new row, the next
-- version of the same lineage.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    household_file_id TEXT NOT NULL REFERENCES household_files (id),
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    content_type TEXT NOT NULL,
    lineage_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    supersedes_id TEXT REFERENCES documents (id),
    correction_reason TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    upload_at BIGINT NOT NULL,
    uploaded_by_id TEXT NOT NULL,
    uploaded_by_name TEXT NOT NULL,
    uploaded_by_role TEXT NOT NULL,
    UNIQUE (lineage_id, version),
    -- A version is corrected once; its correction is corrected in turn.
    UNIQUE (supersedes_id)
);

CREATE INDEX documents_by_file ON documents (household_file_id, id);

-- Access requests (ARC-8, ARC-9, ARC-11) and the documents each covers.
CREATE TABLE access_requests (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    household_file_id TEXT NOT NULL REFERENCES household_files (id),
    personal_data BIGINT NOT NULL,
    copying BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    reader_kind TEXT NOT NULL,
    official_name TEXT NOT NULL,
    official_body TEXT NOT NULL,
    proof_kind TEXT NOT NULL,
    proof_number TEXT NOT NULL,
    valid_until BIGINT NOT NULL,
    state TEXT NOT NULL,
    requested_by_id TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_by_role TEXT NOT NULL,
    request_at BIGINT NOT NULL,
    decided_by_id TEXT,
    decided_by_name TEXT,
    decided_by_role TEXT,
    decide_at BIGINT,
    decision_note TEXT NOT NULL
);

CREATE INDEX access_requests_by_property ON access_requests (property_id, state, id);

CREATE TABLE access_request_documents (
    access_request_id TEXT NOT NULL REFERENCES access_requests (id),
    document_id TEXT NOT NULL REFERENCES documents (id),
    PRIMARY KEY (access_request_id, document_id)
);

-- The written record of copies made in the archive room (ARC-10).
CREATE TABLE copies (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents (id),
    access_request_id TEXT NOT NULL REFERENCES access_requests (id),
    copies BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    copied_by_id TEXT NOT NULL,
    copied_by_name TEXT NOT NULL,
    copied_by_role TEXT NOT NULL,
    copy_at BIGINT NOT NULL
);

-- The archive register (ARC-12): per property, entries numbered from 1 and chained by
-- SHA-256; the head holds the last number and hash, taken under its row lock so entries
-- chain in commit order.
CREATE TABLE audit_heads (
    property_id TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);

CREATE TABLE audit_entries (
    property_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    occur_at BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    access_request_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (property_id, seq)
);

-- Closed records handed over by departments, kept for their retention class (KEY-10,
-- ARC-12). Destroying one erases its content and keeps the row as the record of it.
CREATE TABLE destruction_proposals (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    state TEXT NOT NULL,
    proposed_by_id TEXT NOT NULL,
    proposed_by_name TEXT NOT NULL,
    proposed_by_role TEXT NOT NULL,
    propose_at BIGINT NOT NULL,
    approved_by_id TEXT,
    approved_by_name TEXT,
    approved_by_role TEXT,
    approve_at BIGINT
);

CREATE TABLE retained_records (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    source TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    retention_class TEXT NOT NULL,
    close_at BIGINT NOT NULL,
    retain_until BIGINT NOT NULL,
    summary TEXT NOT NULL,
    content BYTEA,
    size_bytes BIGINT NOT NULL,
    state TEXT NOT NULL,
    proposal_id TEXT REFERENCES destruction_proposals (id),
    destroy_at BIGINT,
    handed_by_id TEXT NOT NULL,
    handed_by_name TEXT NOT NULL,
    handed_by_role TEXT NOT NULL,
    hand_over_at BIGINT NOT NULL,
    UNIQUE (property_id, source, record_kind, record_id)
);

CREATE INDEX retained_records_due ON retained_records (property_id, state, retain_until);
CREATE INDEX retained_records_by_proposal ON retained_records (proposal_id);
