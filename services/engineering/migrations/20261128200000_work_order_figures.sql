-- The headquarters portfolio (HQ-1) counts a property's work orders of a month by when they
-- were opened, arrived at and completed; without these indexes each count reads every order
-- the property ever had (docs/PERFORMANCE.md, headquarters scale).
CREATE INDEX work_orders_by_open ON work_orders (property_id, open_at);
CREATE INDEX work_orders_by_arrival ON work_orders (property_id, arrive_at);
CREATE INDEX work_orders_by_completion ON work_orders (property_id, complete_at);
