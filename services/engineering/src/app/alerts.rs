//! alerts: see the module above.
