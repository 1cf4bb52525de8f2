//! The customer service department's SQL. One query text serves SQLite and PostgreSQL.

pub mod complaints;
pub mod contacts;
pub mod corrective;
pub mod households;
pub mod keys;
pub mod surveys;
pub mod units;
pub mod visits;

use wuye_kit::{Error, Result};

/// Reads a stored text code back into its domain enum.
fn decode<T>(code: &str, from_code: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    from_code(code).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "unknown {what} code {code:?} in the database"
        ))
    })
}
