-- The register's links become keyed (ARC-12): each entry names the keyring key its link was
-- made with. Entries written before carry '' and a plain SHA-256 hash until the service
-- re-links them at start-up, once (see src/register.rs).
ALTER TABLE audit_entries ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

CREATE INDEX audit_entries_unkeyed ON audit_entries (property_id, seq) WHERE key_id = '';
