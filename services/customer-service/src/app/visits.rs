//! visits: see the module above.
