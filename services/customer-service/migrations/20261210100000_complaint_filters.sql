-- The filters of ListComplaints. Complainants' phones are sealed, so a list finds them by a
-- blind index (wuye_kit::sealed::SealedDb::blind_index): the keyed digest of the normalized
-- number, equal for equal numbers, computed by the service; complaints written before this
-- migration are indexed by the service from their sealed numbers, before it serves.
ALTER TABLE complaints ADD COLUMN complainant_phone_index BYTEA;

CREATE INDEX complaints_by_phone ON complaints (property_id, complainant_phone_index);
CREATE INDEX complaints_by_unit ON complaints (property_id, unit_id, number);
-- A category is found by complaints_by_category (property_id, category, register_at).
CREATE INDEX complaints_by_team ON complaints (property_id, team, number);
-- What is still to index: nothing, once the service has started (one lookup finds out).
CREATE INDEX complaints_phone_unindexed ON complaints (id)
    WHERE complainant_phone_index IS NULL AND complainant_phone_sealed IS NOT NULL;
