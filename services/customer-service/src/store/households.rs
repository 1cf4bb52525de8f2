use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
};

use super::{Store, decode, units};
use crate::domain::{
    households::{Household, HouseholdState, Relation, Resident},
    registers::{ContactLine, OverviewLine, OverviewTotals},
};

/// Writes the household that moved in and its residents (their phones sealed, ARC-6) in `tx`.
pub async fn insert(
    db: &Store,
    tx: &mut Tx,
    household: &Household,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO households (id, property_id, unit_id, state, move_in_at, move_out_at, create_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6)",
    )
    .bind(&household.id)
    .bind(&household.property_id)
    .bind(&household.unit_id)
    .bind(household.state.code())
    .bind(to_micros(household.moved_in_at))
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?;
    for (position, r) in household.residents.iter().enumerate() {
        let phone = db.seal(
            "residents",
            &format!("{}/{position}", household.id),
            "phone",
            &r.phone,
        )?;
        sqlx::query(
            "INSERT INTO residents (household_id, position, name, relation, phone, phone_sealed, \
             primary_contact) VALUES ($1, $2, $3, $4, '', $5, $6)",
        )
        .bind(&household.id)
        .bind(position as i64)
        .bind(&r.name)
        .bind(r.relation.code())
        .bind(phone)
        .bind(i64::from(r.primary_contact))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Moves the living household out at `at`; false when it had moved out already.
pub async fn mark_moved_out(tx: &mut Tx, id: &str, at: DateTime<Utc>) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE households SET state = 'moved_out', move_out_at = $2 WHERE id = $1 AND state = 'living'",
    )
    .bind(id)
    .bind(to_micros(at))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

const HOUSEHOLD: &str = "SELECT h.id, h.property_id, h.unit_id, h.state, h.move_in_at, h.move_out_at, \
    u.building, u.entrance, u.room FROM households h JOIN units u ON u.id = h.unit_id";

pub async fn get(db: &Store, property_id: &str, id: &str) -> Result<Option<Household>> {
    let mut conn = db.pool().acquire().await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "{HOUSEHOLD} WHERE h.property_id = $1 AND h.id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut household = from_row(&row)?;
    household.residents = residents_of(db, &mut conn, &[household.id.clone()])
        .await?
        .remove(&household.id)
        .unwrap_or_default();
    Ok(Some(household))
}

/// A household of the property, read inside a writing transaction.
pub async fn get_in(
    store: &Store,
    tx: &mut Tx,
    property_id: &str,
    id: &str,
) -> Result<Option<Household>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{HOUSEHOLD} WHERE h.property_id = $1 AND h.id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut household = from_row(&row)?;
    household.residents = residents_of(store, tx, &[household.id.clone()])
        .await?
        .remove(&household.id)
        .unwrap_or_default();
    Ok(Some(household))
}

/// A household of the property, held until the commit: touching its row first makes a
/// concurrent move-out wait for this transaction, or be seen by it.
pub async fn get_for_update(
    store: &Store,
    tx: &mut Tx,
    property_id: &str,
    id: &str,
) -> Result<Option<Household>> {
    sqlx::query("UPDATE households SET state = state WHERE property_id = $1 AND id = $2")
        .bind(property_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    get_in(store, tx, property_id, id).await
}

/// Households of a property, newest first (ids are time-ordered), with their residents.
pub async fn list(
    db: &Store,
    property_id: &str,
    unit_id: Option<&str>,
    state: Option<HouseholdState>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Household>> {
    let mut conn = db.pool().acquire().await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "{HOUSEHOLD} WHERE h.property_id = $1 AND ($2 = '' OR h.unit_id = $2) \
         AND ($3 = '' OR h.state = $3) AND ($4 = '' OR h.id < $4) ORDER BY h.id DESC LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(unit_id.unwrap_or_default())
        .bind(state.map(HouseholdState::code).unwrap_or_default())
        .bind(before_id.unwrap_or_default())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let mut households = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    let ids: Vec<String> = households.iter().map(|h| h.id.clone()).collect();
    let mut residents = residents_of(db, &mut conn, &ids).await?;
    for h in &mut households {
        h.residents = residents.remove(&h.id).unwrap_or_default();
    }
    Ok(households)
}

/// The residents of `ids`, by household, in their recorded order.
async fn residents_of(
    store: &Store,
    conn: &mut sqlx::AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<Resident>>> {
    let mut by_household: HashMap<String, Vec<Resident>> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_household);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT household_id, position, name, relation, phone_sealed, primary_contact FROM residents \
         WHERE household_id IN ({}) ORDER BY household_id, position",
        placeholders.join(", ")
    ));
    let mut query = sqlx::query(sql);
    for id in ids {
        query = query.bind(id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let household_id: String = row.try_get("household_id")?;
        let position: i64 = row.try_get("position")?;
        let resident = Resident {
            name: row.try_get("name")?,
            relation: decode(row.try_get("relation")?, Relation::from_code, "relation")?,
            phone: store.open(
                "residents",
                &format!("{household_id}/{position}"),
                "phone",
                &row,
            )?,
            primary_contact: row.try_get::<i64, _>("primary_contact")? != 0,
        };
        by_household.entry(household_id).or_default().push(resident);
    }
    Ok(by_household)
}

fn from_row(row: &AnyRow) -> Result<Household> {
    let building: String = row.try_get("building")?;
    let entrance: String = row.try_get("entrance")?;
    let room: String = row.try_get("room")?;
    Ok(Household {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        unit_id: row.try_get("unit_id")?,
        unit_label: crate::domain::units::label(&building, &entrance, &room),
        state: decode(
            row.try_get("state")?,
            HouseholdState::from_code,
            "household state",
        )?,
        residents: Vec::new(),
        moved_in_at: from_micros(row.try_get("move_in_at")?),
        moved_out_at: row
            .try_get::<Option<i64>, _>("move_out_at")?
            .map(from_micros),
    })
}

/// The key a register page continues after: building, entrance, room and resident position.
pub type RegisterKey = (String, String, String, i64);

/// The contact list: residents of living households by unit.
pub async fn contacts(
    db: &Store,
    property_id: &str,
    building: Option<&str>,
    after: Option<&RegisterKey>,
    limit: i64,
) -> Result<Vec<(RegisterKey, ContactLine)>> {
    let (b, e, r, p) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(
        "SELECT u.building, u.entrance, u.room, h.id AS household_id, r.position, r.name, r.relation, \
         r.phone_sealed, r.primary_contact FROM residents r \
         JOIN households h ON h.id = r.household_id JOIN units u ON u.id = h.unit_id \
         WHERE h.property_id = $1 AND h.state = 'living' AND ($2 = '' OR u.building = $2) \
         AND ($3 = 0 OR (u.building, u.entrance, u.room, r.position) > ($4, $5, $6, $7)) \
         ORDER BY u.building, u.entrance, u.room, r.position LIMIT $8",
    )
    .bind(property_id)
    .bind(building.unwrap_or_default())
    .bind(i64::from(after.is_some()))
    .bind(b)
    .bind(e)
    .bind(r)
    .bind(p)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let key: RegisterKey = (
                row.try_get("building")?,
                row.try_get("entrance")?,
                row.try_get("room")?,
                row.try_get("position")?,
            );
            let household_id: String = row.try_get("household_id")?;
            let phone = db.open(
                "residents",
                &format!("{household_id}/{}", key.3),
                "phone",
                row,
            )?;
            let line = ContactLine {
                unit_label: crate::domain::units::label(&key.0, &key.1, &key.2),
                household_id,
                name: row.try_get("name")?,
                relation: decode(row.try_get("relation")?, Relation::from_code, "relation")?,
                phone,
                primary_contact: row.try_get::<i64, _>("primary_contact")? != 0,
            };
            Ok((key, line))
        })
        .collect()
}

/// The overview register: units in order, each with its living household, in one query.
pub async fn overview(
    db: &Db,
    property_id: &str,
    building: Option<&str>,
    after: Option<&units::UnitKey>,
    limit: i64,
) -> Result<Vec<OverviewLine>> {
    let (b, e, r) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(
        "SELECT u.id, u.property_id, u.building, u.entrance, u.floor, u.room, u.area_m2, u.state, \
         u.create_at, h.id AS household_id, h.move_in_at, \
         (SELECT COUNT(*) FROM residents r WHERE r.household_id = h.id) AS residents, \
         (SELECT r.name FROM residents r WHERE r.household_id = h.id AND r.primary_contact = 1) AS contact \
         FROM units u LEFT JOIN households h ON h.unit_id = u.id AND h.state = 'living' \
         WHERE u.property_id = $1 AND ($2 = '' OR u.building = $2) \
         AND ($3 = 0 OR (u.building, u.entrance, u.room) > ($4, $5, $6)) \
         ORDER BY u.building, u.entrance, u.room LIMIT $7",
    )
    .bind(property_id)
    .bind(building.unwrap_or_default())
    .bind(i64::from(after.is_some()))
    .bind(b)
    .bind(e)
    .bind(r)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let household_id: Option<String> = row.try_get("household_id")?;
            Ok(OverviewLine {
                unit: units::from_row(row)?,
                residents: if household_id.is_some() {
                    row.try_get("residents")?
                } else {
                    0
                },
                primary_contact: row.try_get("contact")?,
                moved_in_at: row
                    .try_get::<Option<i64>, _>("move_in_at")?
                    .map(from_micros),
                household_id,
            })
        })
        .collect()
}

/// Totals over the property (or one building).
pub async fn totals(db: &Db, property_id: &str, building: Option<&str>) -> Result<OverviewTotals> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS units, \
         COALESCE(SUM(CASE WHEN state = 'unsold' THEN 1 ELSE 0 END), 0) AS unsold, \
         COALESCE(SUM(CASE WHEN state = 'vacant' THEN 1 ELSE 0 END), 0) AS vacant, \
         COALESCE(SUM(CASE WHEN state = 'occupied' THEN 1 ELSE 0 END), 0) AS occupied, \
         COALESCE(SUM(area_m2), 0.0) AS area \
         FROM units WHERE property_id = $1 AND ($2 = '' OR building = $2)",
    )
    .bind(property_id)
    .bind(building.unwrap_or_default())
    .fetch_one(db.pool())
    .await?;
    let (residents,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM residents r JOIN households h ON h.id = r.household_id \
         JOIN units u ON u.id = h.unit_id \
         WHERE h.property_id = $1 AND h.state = 'living' AND ($2 = '' OR u.building = $2)",
    )
    .bind(property_id)
    .bind(building.unwrap_or_default())
    .fetch_one(db.pool())
    .await?;
    Ok(OverviewTotals {
        units: row.try_get("units")?,
        unsold: row.try_get("unsold")?,
        vacant: row.try_get("vacant")?,
        occupied: row.try_get("occupied")?,
        residents,
        area_m2: row.try_get("area")?,
    })
}
