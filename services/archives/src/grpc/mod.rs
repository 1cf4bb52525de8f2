//! The transport: establishes the call's scope, checks the shape of requests, converts them
//! (`crate::convert`), calls one use case of `app` and converts its answer.

mod access;
mod audit;
mod documents;
mod files;
mod retention;

const MAX_REQUEST_ID: usize = 100;
const MAX_ID: usize = 64;
