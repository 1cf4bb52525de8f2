-- The requester's phone and the customer's signature on a completed repair are sealed at rest
-- (ARC-6, ARC-11): each `*_sealed` column holds the key id, nonce and ciphertext
-- (wuye_kit::seal, the keyring of WUYE_ENGINEERING__ENCRYPTION_KEYS), bound to its row and
-- column; NULL when there is none. The clear columns are kept (dropping a column would rewrite
-- the table on SQLite) but stay empty: values stored before this migration are sealed and
-- cleared by the service at start-up, before it serves.
ALTER TABLE work_orders ADD COLUMN requester_phone_sealed BYTEA;
ALTER TABLE work_orders ADD COLUMN customer_signature_sealed BYTEA;
