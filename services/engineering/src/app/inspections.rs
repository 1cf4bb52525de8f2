//! inspections: see the module above.
