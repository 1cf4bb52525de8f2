//! The customer service department's SQL. One query text serves SQLite and PostgreSQL.

pub mod complaints;
pub mod contacts;
pub mod corrective;
pub mod households;
pub mod keys;
pub mod surveys;
pub mod units;
pub mod visits;

use wuye_kit::{
    Error, Result,
    sealed::{ClearColumn, Kind},
};

/// Reads a stored text code back into its domain enum.
fn decode<T>(code: &str, from_code: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    from_code(code).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "unknown {what} code {code:?} in the database"
        ))
    })
}

/// The database with the keyring personal values are sealed with at rest (ARC-6, ARC-11):
/// phone numbers, signatures, and the keyed digests of ID numbers (KEY-9).
pub type Store = wuye_kit::sealed::SealedDb;

/// Every personal value customer-service stores sealed: phone numbers and signatures (ID
/// numbers are kept only as a masked form and a keyed digest, KEY-9).
pub const CLEAR_COLUMNS: &[ClearColumn] = &[
    ClearColumn {
        table: "residents",
        keys: &["household_id", "position"],
        column: "phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "complaints",
        keys: &["id"],
        column: "complainant_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "contacts",
        keys: &["property_id", "number"],
        column: "caller_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "customer_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "disclaimer_signer",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "disclaimer_image",
        kind: Kind::Bytes,
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "collector_signer",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_set_collectors",
        keys: &["key_set_id", "position"],
        column: "phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_loans",
        keys: &["id"],
        column: "borrower_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_loans",
        keys: &["id"],
        column: "borrower_signature",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "visits",
        keys: &["id"],
        column: "customer_phone",
        kind: Kind::Text,
    },
];
