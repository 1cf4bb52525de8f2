//! The transport: establishes the caller (and, for a property's staff list, the call's
//! scope), checks the shape of requests, converts them (`crate::convert`), calls one use case
//! of `app` and converts its answer.

mod lookup;
mod people;

const MAX_REQUEST_ID: usize = 100;
const MAX_ID: usize = 64;
