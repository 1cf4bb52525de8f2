//! The customer service department's rules, free of I/O and of protobuf types.

pub mod complaints;
pub mod units;
