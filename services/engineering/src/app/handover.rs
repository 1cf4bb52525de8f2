//! handover: see the module above.
