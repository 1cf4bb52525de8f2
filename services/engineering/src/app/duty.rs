//! duty: see the module above.
