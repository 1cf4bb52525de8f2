-- Document content is sealed at rest (ARC-6): the keyring key it was sealed under. NULL for
-- content stored in clear before, until the service seals it in place at start-up (see
-- src/sealing.rs).
ALTER TABLE documents ADD COLUMN content_key_id TEXT;

CREATE INDEX documents_in_clear ON documents (id) WHERE content_key_id IS NULL;
