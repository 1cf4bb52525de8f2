//! work_orders: see the module above.
