//! Key custody records: the custody register, the borrowing register, returns, chases,
//! overdue alerts, refusals and cabinet audits. State changes are guarded by conditional
//! UPDATEs and unique indexes so concurrent calls on PostgreSQL cannot both succeed: the
//! writes say how many rows they changed, or whether a unique index refused the row.

mod cabinet;
mod collection;
mod loans;

use std::collections::HashMap;

use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Tx, from_micros, to_micros},
    identity::Actor,
};

use self::loans::{LOAN, add_history, loan_from_row};
pub use self::{cabinet::*, collection::*, loans::*};
use super::{Store, decode};
use crate::domain::{
    keys::{
        Collection, Collector, Disclaimer, FormIds, IdType, KeySet, KeySetState, KeySource, Loan,
        MaskedId, OnFile, ShownId,
    },
    units::label,
};

/// `Ok(false)` where a unique index refused the row.
fn inserted(result: std::result::Result<sqlx::any::AnyQueryResult, sqlx::Error>) -> Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn actor(row: &AnyRow, prefix: &str) -> Result<Actor> {
    Ok(Actor {
        user_id: row.try_get(format!("{prefix}_id").as_str())?,
        name: row.try_get(format!("{prefix}_name").as_str())?,
        role: row.try_get(format!("{prefix}_role").as_str())?,
    })
}

fn masked_id(row: &AnyRow, type_column: &str, masked_column: &str) -> Result<MaskedId> {
    Ok(MaskedId {
        id_type: decode(row.try_get(type_column)?, IdType::from_code, "id type")?,
        masked: row.try_get(masked_column)?,
    })
}

/// Where the keyed digest of a person's document number on the form lives (KEY-9): its table,
/// row and field, to which the digest is bound.
fn id_place(set_id: &str, whose: OnFile) -> (&'static str, String, &'static str) {
    match whose {
        OnFile::Customer => ("key_sets", set_id.to_owned(), "customer_id_number"),
        OnFile::Collector(i) => ("key_set_collectors", format!("{set_id}/{i}"), "id_number"),
    }
}

/// The keyed digest of a document on the form; `None` when no document was given.
fn id_digest(db: &Store, set_id: &str, whose: OnFile, id: &ShownId) -> Option<Vec<u8>> {
    if id.is_none() {
        return None;
    }
    let (table, row, column) = id_place(set_id, whose);
    Some(db.digest(table, &row, column, id.number()))
}

/// Whether `number` is the one whose keyed digest is on file for `whose` (KEY-9).
pub fn id_matches(
    db: &Store,
    set_id: &str,
    whose: OnFile,
    number: &str,
    digest: &[u8],
) -> Result<bool> {
    let (table, row, column) = id_place(set_id, whose);
    db.digest_matches(table, &row, column, number, digest)
}

// --- The custody register -------------------------------------------------------------------

/// Whether a set not yet collected is in the slot (KEY-5).
pub async fn slot_in_use(tx: &mut Tx, property_id: &str, slot: &str) -> Result<bool> {
    let taken = sqlx::query(
        "SELECT 1 FROM key_sets WHERE property_id = $1 AND slot = $2 AND state <> 'collected'",
    )
    .bind(property_id)
    .bind(slot)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(taken.is_some())
}

/// The property's next register number.
pub async fn next_number(tx: &mut Tx, property_id: &str) -> Result<i64> {
    let (number,): (i64,) = sqlx::query_as(
        "INSERT INTO key_set_numbers (property_id, last_number) VALUES ($1, 1) \
         ON CONFLICT (property_id) DO UPDATE SET last_number = key_set_numbers.last_number + 1 \
         RETURNING last_number",
    )
    .bind(property_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(number)
}

/// Inserts a set taken into custody with its collectors, its personal values sealed and the
/// documents kept as masked forms and keyed digests (KEY-9). `Ok(false)`: the slot's unique
/// index refused it (a concurrent entrustment took the slot).
pub async fn insert_set(db: &Store, tx: &mut Tx, set: &KeySet, ids: &FormIds) -> Result<bool> {
    let customer_phone = db.seal("key_sets", &set.id, "customer_phone", &set.customer_phone)?;
    // rule KEY-9: the whole numbers only as keyed digests; the masked forms for display.
    let customer_digest = id_digest(db, &set.id, OnFile::Customer, &ids.customer);
    // Signatures are personal data: sealed like the phone numbers.
    let signer = db.seal(
        "key_sets",
        &set.id,
        "disclaimer_signer",
        &set.disclaimer.signer_name,
    )?;
    let image = db.seal_bytes(
        "key_sets",
        &set.id,
        "disclaimer_image",
        set.disclaimer.image.as_deref(),
    )?;
    let result = sqlx::query(
        "INSERT INTO key_sets (id, property_id, number, source, unit_id, customer_name, \
         customer_phone, customer_phone_sealed, customer_id_type, customer_id_masked, \
         customer_id_digest, key_count, reason, collection_conditions, disclaimer_signer, \
         disclaimer_signer_sealed, disclaimer_image, disclaimer_image_sealed, \
         disclaimer_sign_at, tag, slot, state, keys_out, entrust_at, entrusted_by_id, \
         entrusted_by_name, entrusted_by_role, create_at) \
         VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, $11, $12, $13, '', $14, NULL, \
         $15, $16, $17, $18, $19, 0, $20, $21, $22, $23, $24)",
    )
    .bind(&set.id)
    .bind(&set.property_id)
    .bind(set.number)
    .bind(set.source.code())
    .bind(&set.unit_id)
    .bind(&set.customer_name)
    .bind(customer_phone)
    .bind(set.customer_id.id_type.code())
    .bind(&set.customer_id.masked)
    .bind(customer_digest)
    .bind(i64::from(set.key_count))
    .bind(&set.reason)
    .bind(&set.collection_conditions)
    .bind(signer)
    .bind(image)
    .bind(to_micros(set.disclaimer.signed_at))
    .bind(&set.tag)
    .bind(&set.slot)
    .bind(KeySetState::InCabinet.code())
    .bind(to_micros(set.entrusted_at))
    .bind(&set.entrusted_by.user_id)
    .bind(&set.entrusted_by.name)
    .bind(&set.entrusted_by.role)
    .bind(to_micros(set.entrusted_at))
    .execute(&mut **tx)
    .await;
    if !inserted(result)? {
        return Ok(false);
    }
    for (position, c) in set.collectors.iter().enumerate() {
        let phone = db.seal(
            "key_set_collectors",
            &format!("{}/{position}", set.id),
            "phone",
            &c.phone,
        )?;
        let digest = ids
            .collectors
            .get(position)
            .and_then(|id| id_digest(db, &set.id, OnFile::Collector(position), id));
        sqlx::query(
            "INSERT INTO key_set_collectors (key_set_id, position, name, phone, phone_sealed, \
             id_type, id_masked, id_digest) VALUES ($1, $2, $3, '', $4, $5, $6, $7)",
        )
        .bind(&set.id)
        .bind(position as i64)
        .bind(&c.name)
        .bind(phone)
        .bind(c.id.id_type.code())
        .bind(&c.id.masked)
        .bind(digest)
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

const KEY_SET: &str = "SELECT s.id, s.property_id, s.number, s.source, s.unit_id, u.building, \
    u.entrance, u.room, s.customer_name, s.customer_phone_sealed, s.customer_id_type, \
    s.customer_id_masked, s.customer_id_digest, s.key_count, s.reason, s.collection_conditions, \
    s.disclaimer_signer_sealed, s.disclaimer_sign_at, s.tag, s.slot, s.state, s.keys_out, \
    s.entrust_at, s.entrusted_by_id, s.entrusted_by_name, s.entrusted_by_role, s.collector_name, \
    s.collector_designated, s.collector_id_type, s.collector_id_masked, s.collector_signer_sealed, \
    s.close_at, s.closed_by_id, s.closed_by_name, s.closed_by_role \
    FROM key_sets s JOIN units u ON u.id = s.unit_id";

fn key_set_from_row(db: &Store, row: &AnyRow) -> Result<KeySet> {
    let id: String = row.try_get("id")?;
    let close_at: Option<i64> = row.try_get("close_at")?;
    let collection = match close_at {
        Some(at) => Some(Collection {
            collector_name: row
                .try_get::<Option<String>, _>("collector_name")?
                .unwrap_or_default(),
            designated: row
                .try_get::<Option<i64>, _>("collector_designated")?
                .unwrap_or_default()
                != 0,
            id: MaskedId {
                id_type: decode(
                    &row.try_get::<Option<String>, _>("collector_id_type")?
                        .unwrap_or_default(),
                    IdType::from_code,
                    "id type",
                )?,
                masked: row
                    .try_get::<Option<String>, _>("collector_id_masked")?
                    .unwrap_or_default(),
            },
            signer_name: db.open("key_sets", &id, "collector_signer", row)?,
            collected_at: from_micros(at),
            handed_over_by: Actor {
                user_id: row
                    .try_get::<Option<String>, _>("closed_by_id")?
                    .unwrap_or_default(),
                name: row
                    .try_get::<Option<String>, _>("closed_by_name")?
                    .unwrap_or_default(),
                role: row
                    .try_get::<Option<String>, _>("closed_by_role")?
                    .unwrap_or_default(),
            },
        }),
        None => None,
    };
    let customer_phone = db.open("key_sets", &id, "customer_phone", row)?;
    let disclaimer_signer = db.open("key_sets", &id, "disclaimer_signer", row)?;
    Ok(KeySet {
        id,
        property_id: row.try_get("property_id")?,
        number: row.try_get("number")?,
        source: decode(row.try_get("source")?, KeySource::from_code, "key source")?,
        unit_id: row.try_get("unit_id")?,
        unit_label: label(
            row.try_get("building")?,
            row.try_get("entrance")?,
            row.try_get("room")?,
        ),
        customer_name: row.try_get("customer_name")?,
        customer_phone,
        customer_id: masked_id(row, "customer_id_type", "customer_id_masked")?,
        customer_id_digest: row.try_get("customer_id_digest")?,
        key_count: row.try_get::<i64, _>("key_count")? as i32,
        reason: row.try_get("reason")?,
        collection_conditions: row.try_get("collection_conditions")?,
        collectors: Vec::new(),
        disclaimer: Disclaimer {
            signer_name: disclaimer_signer,
            image: None,
            signed_at: from_micros(row.try_get("disclaimer_sign_at")?),
        },
        tag: row.try_get("tag")?,
        slot: row.try_get("slot")?,
        state: decode(
            row.try_get("state")?,
            KeySetState::from_code,
            "key set state",
        )?,
        keys_out: row.try_get::<i64, _>("keys_out")? as i32,
        entrusted_at: from_micros(row.try_get("entrust_at")?),
        entrusted_by: actor(row, "entrusted_by")?,
        collection,
        current_loan: None,
    })
}

/// A key set with its collectors and open loan; `with_image` adds the signature image.
pub async fn get(
    db: &Store,
    property_id: &str,
    id: &str,
    with_image: bool,
) -> Result<Option<KeySet>> {
    let sql = sqlx::AssertSqlSafe(format!("{KEY_SET} WHERE s.property_id = $1 AND s.id = $2"));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut sets = vec![key_set_from_row(db, &row)?];
    complete(db, &mut sets).await?;
    let mut set = sets.remove(0);
    if with_image {
        let (image,): (Option<Vec<u8>>,) =
            sqlx::query_as("SELECT disclaimer_image_sealed FROM key_sets WHERE id = $1")
                .bind(id)
                .fetch_one(db.pool())
                .await?;
        set.disclaimer.image =
            db.open_bytes("key_sets", id, "disclaimer_image", image.as_deref())?;
    }
    Ok(Some(set))
}

pub async fn get_in(
    db: &Store,
    tx: &mut Tx,
    property_id: &str,
    id: &str,
) -> Result<Option<KeySet>> {
    let sql = sqlx::AssertSqlSafe(format!("{KEY_SET} WHERE s.property_id = $1 AND s.id = $2"));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut set = key_set_from_row(db, &row)?;
    let rows = sqlx::query(
        "SELECT key_set_id, position, name, phone_sealed, id_type, id_masked, id_digest \
         FROM key_set_collectors \
         WHERE key_set_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    set.collectors = rows
        .iter()
        .map(|r| collector_from_row(db, r))
        .collect::<Result<_>>()?;
    Ok(Some(set))
}

fn collector_from_row(db: &Store, row: &AnyRow) -> Result<Collector> {
    let key_set_id: String = row.try_get("key_set_id")?;
    let position: i64 = row.try_get("position")?;
    Ok(Collector {
        name: row.try_get("name")?,
        phone: db.open(
            "key_set_collectors",
            &format!("{key_set_id}/{position}"),
            "phone",
            row,
        )?,
        id: masked_id(row, "id_type", "id_masked")?,
        id_digest: row.try_get("id_digest")?,
    })
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds the collectors and the open loan of each set.
async fn complete(db: &Store, sets: &mut [KeySet]) -> Result<()> {
    if sets.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = sets.iter().map(|s| s.id.as_str()).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT key_set_id, position, name, phone_sealed, id_type, id_masked, id_digest \
         FROM key_set_collectors \
         WHERE key_set_id IN ({}) ORDER BY key_set_id, position",
        placeholders(1, ids.len())
    ));
    let mut query = sqlx::query(sql);
    for id in &ids {
        query = query.bind(*id);
    }
    let mut collectors: HashMap<String, Vec<Collector>> = HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        collectors
            .entry(row.try_get("key_set_id")?)
            .or_default()
            .push(collector_from_row(db, &row)?);
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "{LOAN} WHERE l.state = 'open' AND l.key_set_id IN ({})",
        placeholders(1, ids.len())
    ));
    let mut query = sqlx::query(sql);
    for id in &ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(db.pool()).await?;
    let mut loans = rows
        .iter()
        .map(|r| loan_from_row(db, r))
        .collect::<Result<Vec<_>>>()?;
    add_history(db, &mut loans).await?;
    let mut open: HashMap<String, Loan> = loans
        .into_iter()
        .map(|l| (l.key_set_id.clone(), l))
        .collect();
    for set in sets {
        set.collectors = collectors.remove(&set.id).unwrap_or_default();
        set.current_loan = open.remove(&set.id).map(Box::new);
    }
    Ok(())
}

/// The custody register by register number.
pub async fn list(
    db: &Store,
    property_id: &str,
    state: Option<KeySetState>,
    unit_id: Option<&str>,
    after_number: i64,
    limit: i64,
) -> Result<Vec<KeySet>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{KEY_SET} WHERE s.property_id = $1 AND ($2 = '' OR s.state = $2) \
         AND ($3 = '' OR s.unit_id = $3) AND s.number > $4 ORDER BY s.number LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(state.map(KeySetState::code).unwrap_or_default())
        .bind(unit_id.unwrap_or_default())
        .bind(after_number)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let mut sets = rows
        .iter()
        .map(|r| key_set_from_row(db, r))
        .collect::<Result<Vec<_>>>()?;
    complete(db, &mut sets).await?;
    Ok(sets)
}
