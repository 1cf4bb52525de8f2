-- Recurring problems announced (CMP-9, ESC-2): one row per category, building and half-year.
-- Registrations of the same problem lock its row, so they count one after another and the
-- problem is announced once.
CREATE TABLE recurring_problems (
    property_id TEXT NOT NULL,
    category TEXT NOT NULL,
    building TEXT NOT NULL,
    period TEXT NOT NULL,
    noted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (property_id, category, building, period)
);

-- The count of one problem's complaints in a half-year, at every registration with a unit.
CREATE INDEX complaints_by_category ON complaints (property_id, category, register_at);
