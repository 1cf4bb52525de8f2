-- The portfolio (HQ-1) counts a month's arrivals and, of those, the late ones: with
-- `arrived_late` in the index both come from the index alone, without reading the orders.
DROP INDEX work_orders_by_arrival;
CREATE INDEX work_orders_by_arrival ON work_orders (property_id, arrive_at, arrived_late);
