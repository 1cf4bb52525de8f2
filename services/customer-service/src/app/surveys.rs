//! surveys: see the module above.
