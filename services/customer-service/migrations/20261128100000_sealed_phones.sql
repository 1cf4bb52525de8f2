-- Phone numbers are sealed at rest (ARC-6, ARC-11): each `*_sealed` column holds the key id,
-- nonce and ciphertext (wuye_kit::seal), bound to its row and column; NULL when no number was
-- given. The clear columns are kept (dropping a column would rewrite these tables on SQLite)
-- but stay empty: numbers stored before this migration are sealed and cleared by the service
-- at start-up, before it serves.
ALTER TABLE residents ADD COLUMN phone_sealed BYTEA;
ALTER TABLE complaints ADD COLUMN complainant_phone_sealed BYTEA;
ALTER TABLE contacts ADD COLUMN caller_phone_sealed BYTEA;
ALTER TABLE key_sets ADD COLUMN customer_phone_sealed BYTEA;
ALTER TABLE key_set_collectors ADD COLUMN phone_sealed BYTEA;
ALTER TABLE key_loans ADD COLUMN borrower_phone_sealed BYTEA;
ALTER TABLE visits ADD COLUMN customer_phone_sealed BYTEA;
