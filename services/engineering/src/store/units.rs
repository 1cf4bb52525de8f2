//! The units engineering knows: customer-service's announcements (`UnitRegistered`), kept as
//! a read model so that a repair's unit is checked here, without asking the owner (WO-1).

use chrono::{DateTime, Utc};
use wuye_kit::{
    Result,
    db::{Tx, to_micros},
};

/// A unit as customer-service announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownUnit {
    pub property_id: String,
    pub unit_id: String,
    pub unit_label: String,
    pub building: String,
    pub registered_at: Option<DateTime<Utc>>,
}

/// Records `unit`, learnt from the event `seq`, in the follower's transaction. A unit learnt
/// before (an announcement seen twice) is left as it was; whether it is new.
pub async fn learn(tx: &mut Tx, unit: &KnownUnit, seq: i64) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO known_units (property_id, unit_id, unit_label, building, register_at, \
         learn_seq) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (property_id, unit_id) DO NOTHING",
    )
    .bind(&unit.property_id)
    .bind(&unit.unit_id)
    .bind(&unit.unit_label)
    .bind(&unit.building)
    .bind(unit.registered_at.map(to_micros))
    .bind(seq)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Whether `unit_id` is a unit of the property, as far as engineering has learnt.
pub async fn is_known(tx: &mut Tx, property_id: &str, unit_id: &str) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM known_units WHERE property_id = $1 AND unit_id = $2")
        .bind(property_id)
        .bind(unit_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}
