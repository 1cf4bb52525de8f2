-- Identity documents on a custody form are checked by their whole number (KEY-9): each
-- `*_digest` column holds the keyed digest (HMAC-SHA-256 under a subkey of the keyring, with
-- the key's id; wuye_kit::seal) of the whole normalized number, bound to its row and field.
-- The masked number stays for display only. Rows written before this migration have no
-- digest (NULL): the service refuses to hand over keys against them (ID_ON_FILE_UNVERIFIABLE)
-- rather than trust the last four characters.
ALTER TABLE key_sets ADD COLUMN customer_id_digest BYTEA;
ALTER TABLE key_set_collectors ADD COLUMN id_digest BYTEA;

-- Signatures are sealed at rest like the phone numbers (ARC-6, ARC-11): the customer's
-- disclaimer signature (name and image), the collector's and the borrower's. The clear columns
-- are kept but stay empty (NULL for the image); values stored before this migration are
-- sealed and cleared by the service at start-up, before it serves.
ALTER TABLE key_sets ADD COLUMN disclaimer_signer_sealed BYTEA;
ALTER TABLE key_sets ADD COLUMN disclaimer_image_sealed BYTEA;
ALTER TABLE key_sets ADD COLUMN collector_signer_sealed BYTEA;
ALTER TABLE key_loans ADD COLUMN borrower_signature_sealed BYTEA;
