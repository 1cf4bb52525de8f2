-- The portfolio (HQ-1) counts a month's complaints by severity and state with their replies
-- due and on time: with those columns in the index, the count reads the index alone instead
-- of every complaint of the month (docs/PERFORMANCE.md, headquarters scale).
DROP INDEX complaints_register_at;
CREATE INDEX complaints_register_at
    ON complaints (property_id, register_at, severity, state, reply_due_at, reply_at);
