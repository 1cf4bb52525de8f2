//! households: see the module above.
