//! Corrective and preventive actions (CMP-8).

use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
};

use super::decode;
use crate::domain::corrective::{CorrectiveAction, CorrectiveState};

const COLUMNS: &str = "id, property_id, complaint_id, state, problem, opened_by_id, opened_by_name, \
    opened_by_role, open_at, measures, acted_by_id, acted_by_name, acted_by_role, act_at, effective, \
    verification, verified_by_id, verified_by_name, verified_by_role, verify_at";

/// Writes a new corrective action.
pub async fn insert(tx: &mut Tx, a: &CorrectiveAction) -> Result<()> {
    sqlx::query(
        "INSERT INTO corrective_actions (id, property_id, complaint_id, state, problem, opened_by_id, \
         opened_by_name, opened_by_role, open_at, measures, effective, verification) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', 0, '')",
    )
    .bind(&a.id)
    .bind(&a.property_id)
    .bind(&a.complaint_id)
    .bind(a.state.code())
    .bind(&a.problem)
    .bind(&a.opened_by.user_id)
    .bind(&a.opened_by.name)
    .bind(&a.opened_by.role)
    .bind(to_micros(a.opened_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A corrective action of the property, within the transaction that changes it.
pub async fn load(tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<CorrectiveAction>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM corrective_actions WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes `after`, if the action is still in the state of `before`: whether it was.
pub async fn update(
    tx: &mut Tx,
    before: &CorrectiveAction,
    after: &CorrectiveAction,
) -> Result<bool> {
    let (acted_by, act_at) = split(after.acted.as_ref());
    let (verified_by, verify_at) = split(after.verified.as_ref());
    let updated = sqlx::query(
        "UPDATE corrective_actions SET state = $3, measures = $4, acted_by_id = $5, acted_by_name = $6, \
         acted_by_role = $7, act_at = $8, effective = $9, verification = $10, verified_by_id = $11, \
         verified_by_name = $12, verified_by_role = $13, verify_at = $14 WHERE id = $1 AND state = $2",
    )
    .bind(&before.id)
    .bind(before.state.code())
    .bind(after.state.code())
    .bind(&after.measures)
    .bind(acted_by.map(|a| a.user_id.clone()))
    .bind(acted_by.map(|a| a.name.clone()))
    .bind(acted_by.map(|a| a.role.clone()))
    .bind(act_at)
    .bind(i64::from(after.effective))
    .bind(&after.verification)
    .bind(verified_by.map(|a| a.user_id.clone()))
    .bind(verified_by.map(|a| a.name.clone()))
    .bind(verified_by.map(|a| a.role.clone()))
    .bind(verify_at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

fn split(done: Option<&(Actor, chrono::DateTime<chrono::Utc>)>) -> (Option<&Actor>, Option<i64>) {
    match done {
        Some((actor, at)) => (Some(actor), Some(to_micros(*at))),
        None => (None, None),
    }
}

/// A corrective action of the property.
pub async fn get(db: &Db, property_id: &str, id: &str) -> Result<Option<CorrectiveAction>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM corrective_actions WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Corrective actions newest first (ids are time-ordered), below `before`.
pub async fn list(
    db: &Db,
    property_id: &str,
    open_only: bool,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<CorrectiveAction>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM corrective_actions WHERE property_id = $1 AND ($2 = 0 OR state <> 'verified') \
         AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(i64::from(open_only))
        .bind(before.unwrap_or_default())
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

fn actor(r: &AnyRow, prefix: &str) -> Result<Option<Actor>> {
    let id: Option<String> = r.try_get(format!("{prefix}_id").as_str())?;
    Ok(match id {
        Some(user_id) => Some(Actor {
            user_id,
            name: r
                .try_get::<Option<String>, _>(format!("{prefix}_name").as_str())?
                .unwrap_or_default(),
            role: r
                .try_get::<Option<String>, _>(format!("{prefix}_role").as_str())?
                .unwrap_or_default(),
        }),
        None => None,
    })
}

fn from_row(r: &AnyRow) -> Result<CorrectiveAction> {
    let at = |col: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(r.try_get::<Option<i64>, _>(col)?.map(from_micros))
    };
    Ok(CorrectiveAction {
        id: r.try_get("id")?,
        property_id: r.try_get("property_id")?,
        complaint_id: r.try_get("complaint_id")?,
        state: decode(
            r.try_get("state")?,
            CorrectiveState::from_code,
            "corrective action state",
        )?,
        problem: r.try_get("problem")?,
        opened_by: Actor {
            user_id: r.try_get("opened_by_id")?,
            name: r.try_get("opened_by_name")?,
            role: r.try_get("opened_by_role")?,
        },
        opened_at: from_micros(r.try_get("open_at")?),
        measures: r.try_get("measures")?,
        acted: actor(r, "acted_by")?.zip(at("act_at")?),
        effective: r.try_get::<i64, _>("effective")? != 0,
        verification: r.try_get("verification")?,
        verified: actor(r, "verified_by")?.zip(at("verify_at")?),
    })
}
