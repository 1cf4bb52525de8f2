//! figures: see the module above.
