//! equipment: see the module above.
