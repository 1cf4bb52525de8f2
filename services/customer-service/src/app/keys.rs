//! keys: see the module above.
