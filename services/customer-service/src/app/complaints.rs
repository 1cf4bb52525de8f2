//! complaints: see the module above.
