-- The content of a record handed over (a closed key custody, a household's papers) is personal
-- data: sealed at rest (ARC-6) like everything else, bound to its row. Contents stored in clear
-- before are sealed at start-up and cleared.
ALTER TABLE retained_records ADD COLUMN content_sealed BYTEA;
