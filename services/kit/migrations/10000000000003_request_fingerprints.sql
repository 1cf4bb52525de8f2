-- The keyed fingerprint of the request a request id first came with: the same id with another
-- request is refused (REQUEST_ID_REUSED). Ids claimed before have none and stay retries.
ALTER TABLE idempotency_keys ADD COLUMN fingerprint BYTEA;
