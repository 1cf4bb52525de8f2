//! The engineering department's SQL. One query text serves SQLite and PostgreSQL.

pub mod alerts;
pub mod duty;
pub mod equipment;
pub mod figures;
pub mod handover;
pub mod inspections;
pub mod units;
pub mod work_orders;

use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Tx, from_micros},
    identity::Actor,
    sealed::{ClearColumn, Kind},
};

/// The database with the keyring personal values are sealed with at rest (ARC-6, ARC-11): the
/// work-order requester's phone and the customer's signature.
pub type Store = wuye_kit::sealed::SealedDb;

/// The personal columns once kept in clear.
pub const CLEAR_COLUMNS: &[ClearColumn] = &[
    ClearColumn {
        table: "work_orders",
        keys: &["id"],
        column: "requester_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "work_orders",
        keys: &["id"],
        column: "customer_signature",
        kind: Kind::Text,
    },
];

/// Reads a stored text code back into its domain enum.
fn decode<T>(code: &str, from_code: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    from_code(code).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "unknown {what} code {code:?} in the database"
        ))
    })
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn get_flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn get_time(row: &AnyRow, column: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(from_micros))
}

/// The actor stored in the columns `<prefix>_id`, `<prefix>_name`, `<prefix>_role`.
fn get_actor(row: &AnyRow, prefix: &str) -> Result<Actor> {
    Ok(Actor {
        user_id: row.try_get(format!("{prefix}_id").as_str())?,
        name: row.try_get(format!("{prefix}_name").as_str())?,
        role: row.try_get(format!("{prefix}_role").as_str())?,
    })
}

fn get_opt_actor(row: &AnyRow, prefix: &str) -> Result<Option<Actor>> {
    let id: Option<String> = row.try_get(format!("{prefix}_id").as_str())?;
    match id {
        None => Ok(None),
        Some(user_id) => Ok(Some(Actor {
            user_id,
            name: row
                .try_get::<Option<String>, _>(format!("{prefix}_name").as_str())?
                .unwrap_or_default(),
            role: row
                .try_get::<Option<String>, _>(format!("{prefix}_role").as_str())?
                .unwrap_or_default(),
        })),
    }
}

/// A table of property records: its name, the columns a record is read from, and how.
struct Table<T: 'static> {
    name: &'static str,
    columns: &'static str,
    from_row: fn(&AnyRow) -> Result<T>,
}

impl<T> Table<T> {
    /// The record with this property and id, read through `executor`: the pool, or a
    /// transaction's connection.
    async fn by_id<'e>(
        &self,
        executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
        property_id: &str,
        id: &str,
    ) -> Result<Option<T>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM {} WHERE property_id = $1 AND id = $2",
            self.columns, self.name
        ));
        let row = sqlx::query(sql)
            .bind(property_id)
            .bind(id)
            .fetch_optional(executor)
            .await?;
        row.as_ref().map(self.from_row).transpose()
    }
}

/// Who holds the duty of a property.
#[derive(Debug, Clone, Default)]
pub struct DutyHolder {
    pub shift_id: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub handover_id: Option<String>,
}

/// Locks the property's duty row for the rest of `tx` and reads it: every change of duty,
/// handover step, incident and fault goes through here first, so they run one at a time.
pub async fn lock_duty(tx: &mut Tx, property_id: &str) -> Result<DutyHolder> {
    let row = sqlx::query(
        "INSERT INTO duty (property_id, shift_id, since_at, handover_id, version) \
         VALUES ($1, NULL, NULL, NULL, 1) \
         ON CONFLICT (property_id) DO UPDATE SET version = duty.version + 1 \
         RETURNING shift_id, since_at, handover_id",
    )
    .bind(property_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(DutyHolder {
        shift_id: row.try_get("shift_id")?,
        since: get_time(&row, "since_at")?,
        handover_id: row.try_get("handover_id")?,
    })
}

/// Reads who holds the duty, without locking.
pub async fn duty_holder(db: &wuye_kit::db::Db, property_id: &str) -> Result<DutyHolder> {
    let row =
        sqlx::query("SELECT shift_id, since_at, handover_id FROM duty WHERE property_id = $1")
            .bind(property_id)
            .fetch_optional(db.pool())
            .await?;
    match row {
        None => Ok(DutyHolder::default()),
        Some(row) => Ok(DutyHolder {
            shift_id: row.try_get("shift_id")?,
            since: get_time(&row, "since_at")?,
            handover_id: row.try_get("handover_id")?,
        }),
    }
}

/// Gives the duty to `shift_id` from `since`, by `handover_id` if a handover gave it.
pub async fn set_duty(
    tx: &mut Tx,
    property_id: &str,
    shift_id: &str,
    since: chrono::DateTime<chrono::Utc>,
    handover_id: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE duty SET shift_id = $2, since_at = $3, handover_id = $4 WHERE property_id = $1",
    )
    .bind(property_id)
    .bind(shift_id)
    .bind(wuye_kit::db::to_micros(since))
    .bind(handover_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
