-- IDs recorded again on a custody (KEY-9). A custody recorded when only the masked number of a
-- person's document was kept cannot be handed over against it (ID_ON_FILE_UNVERIFIABLE): the CS
-- supervisor reads the whole number from the document, the service stores its keyed digest in
-- the form's own `*_digest` column (key_sets.customer_id_digest or key_set_collectors.id_digest)
-- and writes one row here: whose ID, the masked number, who recorded it and when. The whole
-- number is never stored. Purged with its custody (KEY-10).
CREATE TABLE key_id_records (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    key_set_id TEXT NOT NULL REFERENCES key_sets (id),
    -- 'customer' or 'designated_collector'.
    holder TEXT NOT NULL,
    -- The designated collector's position on the form; 0 for the customer.
    position BIGINT NOT NULL,
    holder_name TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    record_at BIGINT NOT NULL,
    recorded_by_id TEXT NOT NULL,
    recorded_by_name TEXT NOT NULL,
    recorded_by_role TEXT NOT NULL
);

-- A digest on file is never replaced: once per person of a form, also under concurrent calls.
CREATE UNIQUE INDEX key_id_records_once ON key_id_records (key_set_id, holder, position);
