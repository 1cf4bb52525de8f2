//! The archives' SQL. One query text serves SQLite and PostgreSQL.

pub mod access;
pub mod audit;
pub mod documents;
pub mod files;
pub mod retention;

use sqlx::{Row, any::AnyRow};
use wuye_kit::{Error, Result, identity::Actor};

/// Reads a stored text code back into its domain enum.
fn decode<T>(code: &str, from_code: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    from_code(code).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "unknown {what} code {code:?} in the database"
        ))
    })
}

/// The actor stored in the columns `<prefix>_id`, `<prefix>_name`, `<prefix>_role`.
fn actor(row: &AnyRow, prefix: &str) -> Result<Actor> {
    Ok(Actor {
        user_id: row.try_get(format!("{prefix}_id").as_str())?,
        name: row.try_get(format!("{prefix}_name").as_str())?,
        role: row.try_get(format!("{prefix}_role").as_str())?,
    })
}

/// Like [`actor`], for columns that stay NULL until someone acts.
fn maybe_actor(row: &AnyRow, prefix: &str) -> Result<Option<Actor>> {
    let id: Option<String> = row.try_get(format!("{prefix}_id").as_str())?;
    Ok(match id {
        None => None,
        Some(user_id) => Some(Actor {
            user_id,
            name: row
                .try_get::<Option<String>, _>(format!("{prefix}_name").as_str())?
                .unwrap_or_default(),
            role: row
                .try_get::<Option<String>, _>(format!("{prefix}_role").as_str())?
                .unwrap_or_default(),
        }),
    })
}

/// `$from, $from+1, …` for `n` values of an `IN (…)` list.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
