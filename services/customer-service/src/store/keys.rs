//! Key custody records: the custody register, the borrowing register, returns, chases,
//! overdue alerts, refusals and cabinet audits. State changes are guarded by conditional
//! UPDATEs and unique indexes so concurrent calls on PostgreSQL cannot both succeed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Tx, from_micros, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
    outbox::Outbox,
    time::to_timestamp,
};
use wuye_proto::events::{
    KeyCustodyClosed, KeyLoanOverdue, KeyLoanReturned, KeyRecordsPurged, event::Payload,
};

use super::{Store, decode, units};
use crate::domain::{
    keys::{
        self as rules, Audit, Borrower, Chase, ChaseMethod, Collection, Collector, Deed,
        Disclaimer, IdRecord, IdType, KeyReturn, KeySet, KeySetState, KeySource, Loan, LoanPurpose,
        LoanState, MaskedId, Occurrence, OnFile, Refusal, RefusalRecord, ReturnOutcome, ShownId,
        SlotMismatch, SlotOnRecord,
    },
    units::label,
};

/// What a create call found.
pub enum Created<T> {
    New(T),
    /// A retry of the request id: the record the first call created.
    Retry(String),
}

fn is_unique_violation(e: &Error) -> bool {
    matches!(e, Error::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
}

async fn claim(
    db: &Store,
    tx: &mut Tx,
    method: &str,
    property_id: &str,
    request_id: &RequestId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Claim> {
    let scope = format!("{method}/{property_id}");
    idempotency::claim(tx, db.keyring(), &scope, request_id, id, to_micros(now)).await
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

/// The documents on the form as read at entrustment (KEY-2): only their masked forms and the
/// keyed digests of their whole numbers are stored (KEY-9).
pub struct FormIds {
    pub customer: ShownId,
    /// One per designated collector, in the order of the form.
    pub collectors: Vec<ShownId>,
}

// --- The custody register -------------------------------------------------------------------

/// Takes a key set into custody: its register number, the form, the collectors and the slot,
/// once per request id. The slot is refused while another set is in it.
pub async fn entrust(
    db: &Store,
    request_id: &RequestId,
    mut set: KeySet,
    ids: &FormIds,
) -> Result<Created<KeySet>> {
    let mut tx = db.begin().await?;
    let now = set.entrusted_at;
    if let Claim::Retry(id) = claim(
        db,
        &mut tx,
        "EntrustKeys",
        &set.property_id,
        request_id,
        &set.id,
        now,
    )
    .await?
    {
        return Ok(Created::Retry(id));
    }
    let unit = units::get_in(&mut tx, &set.property_id, &set.unit_id)
        .await?
        .ok_or_else(|| Error::invalid("unit_id", "is not a unit of this property"))?;
    rules::check_source(set.source, unit.state)?; // rule KEY-1
    set.unit_label = unit.label();
    set.tag = rules::tag(&set.customer_name, &set.unit_label);
    let taken = sqlx::query(
        "SELECT 1 FROM key_sets WHERE property_id = $1 AND slot = $2 AND state <> 'collected'",
    )
    .bind(&set.property_id)
    .bind(&set.slot)
    .fetch_optional(&mut *tx)
    .await?;
    if taken.is_some() {
        return Err(rules::slot_taken());
    }
    let (number,): (i64,) = sqlx::query_as(
        "INSERT INTO key_set_numbers (property_id, last_number) VALUES ($1, 1) \
         ON CONFLICT (property_id) DO UPDATE SET last_number = key_set_numbers.last_number + 1 \
         RETURNING last_number",
    )
    .bind(&set.property_id)
    .fetch_one(&mut *tx)
    .await?;
    set.number = number;
    let customer_phone = db.seal("key_sets", &set.id, "customer_phone", &set.customer_phone)?;
    // rule KEY-9: the whole numbers only as keyed digests; the masked forms for display.
    set.customer_id_digest = id_digest(db, &set.id, OnFile::Customer, &ids.customer);
    for (i, c) in set.collectors.iter_mut().enumerate() {
        c.id_digest = ids
            .collectors
            .get(i)
            .and_then(|id| id_digest(db, &set.id, OnFile::Collector(i), id));
    }
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
    let inserted = sqlx::query(
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
    .bind(set.customer_id_digest.clone())
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
    .bind(to_micros(now))
    .execute(&mut *tx)
    .await
    .map_err(Error::from);
    match inserted {
        // A concurrent entrustment took the slot between the check and the insert.
        Err(e) if is_unique_violation(&e) => return Err(rules::slot_taken()),
        other => other?,
    };
    for (position, c) in set.collectors.iter().enumerate() {
        let phone = db.seal(
            "key_set_collectors",
            &format!("{}/{position}", set.id),
            "phone",
            &c.phone,
        )?;
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
        .bind(c.id_digest.clone())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Created::New(set))
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

async fn get_in(db: &Store, tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<KeySet>> {
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

// --- Loans and returns ----------------------------------------------------------------------

const LOAN: &str = "SELECT l.id, l.property_id, l.key_set_id, l.quantity, l.keys_out, l.purpose, \
    l.reason, l.borrower_user_id, l.borrower_name, l.borrower_department, l.borrower_phone_sealed, \
    l.borrower_signature_sealed, l.borrow_at, l.expected_return_at, l.state, l.overdue_at, \
    l.lent_by_id, l.lent_by_name, l.lent_by_role, l.close_at, s.number AS key_number, s.slot, \
    s.unit_id, u.building, u.entrance, u.room \
    FROM key_loans l JOIN key_sets s ON s.id = l.key_set_id JOIN units u ON u.id = s.unit_id";

fn loan_from_row(db: &Store, row: &AnyRow) -> Result<Loan> {
    let id: String = row.try_get("id")?;
    let phone = db.open("key_loans", &id, "borrower_phone", row)?;
    let signature = db.open("key_loans", &id, "borrower_signature", row)?;
    Ok(Loan {
        id,
        property_id: row.try_get("property_id")?,
        key_set_id: row.try_get("key_set_id")?,
        key_number: row.try_get("key_number")?,
        unit_id: row.try_get("unit_id")?,
        unit_label: label(
            row.try_get("building")?,
            row.try_get("entrance")?,
            row.try_get("room")?,
        ),
        slot: row.try_get("slot")?,
        quantity: row.try_get::<i64, _>("quantity")? as i32,
        keys_out: row.try_get::<i64, _>("keys_out")? as i32,
        purpose: decode(
            row.try_get("purpose")?,
            LoanPurpose::from_code,
            "loan purpose",
        )?,
        reason: row.try_get("reason")?,
        borrower: Borrower {
            user_id: row.try_get("borrower_user_id")?,
            name: row.try_get("borrower_name")?,
            department: row.try_get("borrower_department")?,
            phone,
        },
        borrower_signature: signature,
        borrowed_at: from_micros(row.try_get("borrow_at")?),
        expected_return_at: from_micros(row.try_get("expected_return_at")?),
        state: decode(row.try_get("state")?, LoanState::from_code, "loan state")?,
        overdue_at: row
            .try_get::<Option<i64>, _>("overdue_at")?
            .map(from_micros),
        lent_by: actor(row, "lent_by")?,
        returns: Vec::new(),
        chases: Vec::new(),
        closed_at: row.try_get::<Option<i64>, _>("close_at")?.map(from_micros),
    })
}

/// Adds the returns and chases of each loan, in the order they happened.
async fn add_history(db: &Store, loans: &mut [Loan]) -> Result<()> {
    if loans.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = loans.iter().map(|l| l.id.as_str()).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT id, loan_id, expected, received, return_at, received_by_id, received_by_name, \
         received_by_role, note FROM key_returns WHERE loan_id IN ({}) ORDER BY loan_id, id",
        placeholders(1, ids.len())
    ));
    let mut query = sqlx::query(sql);
    for id in &ids {
        query = query.bind(*id);
    }
    let mut returns: HashMap<String, Vec<KeyReturn>> = HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        let r = return_from_row(&row)?;
        returns.entry(r.loan_id.clone()).or_default().push(r);
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT id, loan_id, method, contacted, result, promised_return_at, chase_at, \
         chased_by_id, chased_by_name, chased_by_role FROM key_chases \
         WHERE loan_id IN ({}) ORDER BY loan_id, id",
        placeholders(1, ids.len())
    ));
    let mut query = sqlx::query(sql);
    for id in &ids {
        query = query.bind(*id);
    }
    let mut chases: HashMap<String, Vec<Chase>> = HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        let c = chase_from_row(&row)?;
        chases.entry(c.loan_id.clone()).or_default().push(c);
    }
    for loan in loans {
        loan.returns = returns.remove(&loan.id).unwrap_or_default();
        loan.chases = chases.remove(&loan.id).unwrap_or_default();
    }
    Ok(())
}

fn return_from_row(row: &AnyRow) -> Result<KeyReturn> {
    Ok(KeyReturn {
        id: row.try_get("id")?,
        loan_id: row.try_get("loan_id")?,
        expected: row.try_get::<i64, _>("expected")? as i32,
        received: row.try_get::<i64, _>("received")? as i32,
        returned_at: from_micros(row.try_get("return_at")?),
        received_by: actor(row, "received_by")?,
        note: row.try_get("note")?,
    })
}

fn chase_from_row(row: &AnyRow) -> Result<Chase> {
    Ok(Chase {
        id: row.try_get("id")?,
        loan_id: row.try_get("loan_id")?,
        method: decode(
            row.try_get("method")?,
            ChaseMethod::from_code,
            "chase method",
        )?,
        contacted: row.try_get("contacted")?,
        result: row.try_get("result")?,
        promised_return_at: row
            .try_get::<Option<i64>, _>("promised_return_at")?
            .map(from_micros),
        chased_at: from_micros(row.try_get("chase_at")?),
        chased_by: actor(row, "chased_by")?,
    })
}

pub async fn get_loan(db: &Store, property_id: &str, id: &str) -> Result<Option<Loan>> {
    let sql = sqlx::AssertSqlSafe(format!("{LOAN} WHERE l.property_id = $1 AND l.id = $2"));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut loans = vec![loan_from_row(db, &row)?];
    add_history(db, &mut loans).await?;
    Ok(loans.pop())
}

async fn get_loan_in(db: &Store, tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<Loan>> {
    let sql = sqlx::AssertSqlSafe(format!("{LOAN} WHERE l.property_id = $1 AND l.id = $2"));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(|r| loan_from_row(db, r)).transpose()
}

/// The borrowing register, newest first. `overdue_before` keeps the open loans expected back
/// before that instant (past their limit).
pub async fn list_loans(
    db: &Store,
    property_id: &str,
    key_set_id: Option<&str>,
    open_only: bool,
    overdue_before: Option<DateTime<Utc>>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Loan>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{LOAN} WHERE l.property_id = $1 AND ($2 = '' OR l.key_set_id = $2) \
         AND ($3 = 0 OR l.state = 'open') \
         AND ($4 = 0 OR (l.state = 'open' AND l.expected_return_at < $5)) \
         AND ($6 = '' OR l.id < $6) ORDER BY l.id DESC LIMIT $7"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(key_set_id.unwrap_or_default())
        .bind(i64::from(open_only))
        .bind(i64::from(overdue_before.is_some()))
        .bind(overdue_before.map(to_micros).unwrap_or_default())
        .bind(before_id.unwrap_or_default())
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let mut loans = rows
        .iter()
        .map(|r| loan_from_row(db, r))
        .collect::<Result<Vec<_>>>()?;
    add_history(db, &mut loans).await?;
    Ok(loans)
}

/// Lends keys of a set (KEY-6), once per request id. Of concurrent loans of one set exactly
/// one takes it: the set moves from in_cabinet to on_loan in a conditional UPDATE.
pub async fn borrow(db: &Store, request_id: &RequestId, loan: Loan) -> Result<Created<String>> {
    let mut tx = db.begin().await?;
    let now = loan.borrowed_at;
    if let Claim::Retry(id) = claim(
        db,
        &mut tx,
        "BorrowKeys",
        &loan.property_id,
        request_id,
        &loan.id,
        now,
    )
    .await?
    {
        return Ok(Created::Retry(id));
    }
    let set = get_in(db, &mut tx, &loan.property_id, &loan.key_set_id)
        .await?
        .ok_or_else(|| Error::not_found("key set", &loan.key_set_id))?;
    rules::check_borrow(&set, loan.quantity)?; // rule KEY-6
    let changed = sqlx::query(
        "UPDATE key_sets SET state = 'on_loan', keys_out = $2 WHERE id = $1 AND state = 'in_cabinet'",
    )
    .bind(&set.id)
    .bind(i64::from(loan.quantity))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(changed_meanwhile(db, &mut tx, &loan).await);
    }
    let inserted = sqlx::query(
        "INSERT INTO key_loans (id, property_id, key_set_id, quantity, keys_out, purpose, reason, \
         borrower_user_id, borrower_name, borrower_department, borrower_phone, \
         borrower_phone_sealed, borrower_signature, borrower_signature_sealed, borrow_at, \
         expected_return_at, state, overdue_at, lent_by_id, lent_by_name, lent_by_role, close_at) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, '', $10, '', $11, $12, $13, 'open', \
         NULL, $14, $15, $16, NULL)",
    )
    .bind(&loan.id)
    .bind(&loan.property_id)
    .bind(&loan.key_set_id)
    .bind(i64::from(loan.quantity))
    .bind(loan.purpose.code())
    .bind(&loan.reason)
    .bind(&loan.borrower.user_id)
    .bind(&loan.borrower.name)
    .bind(&loan.borrower.department)
    .bind(db.seal(
        "key_loans",
        &loan.id,
        "borrower_phone",
        &loan.borrower.phone,
    )?)
    .bind(db.seal(
        "key_loans",
        &loan.id,
        "borrower_signature",
        &loan.borrower_signature,
    )?)
    .bind(to_micros(loan.borrowed_at))
    .bind(to_micros(loan.expected_return_at))
    .bind(&loan.lent_by.user_id)
    .bind(&loan.lent_by.name)
    .bind(&loan.lent_by.role)
    .execute(&mut *tx)
    .await
    .map_err(Error::from);
    match inserted {
        // Another open loan of the set: the unique index keeps one.
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::rule(
                "KEYS_OUT",
                "keys of this set are lent out: they come back before the set is lent again",
            ));
        }
        other => {
            other?;
        }
    }
    tx.commit().await?;
    Ok(Created::New(loan.id))
}

/// Why a loan lost the race for its set: the set as it is now refuses it.
async fn changed_meanwhile(db: &Store, tx: &mut Tx, loan: &Loan) -> Error {
    match get_in(db, tx, &loan.property_id, &loan.key_set_id).await {
        Ok(Some(now)) => match rules::check_borrow(&now, loan.quantity) {
            Err(e) => e,
            Ok(()) => Error::Unavailable("the key set changed: try again".into()),
        },
        Ok(None) => Error::not_found("key set", &loan.key_set_id),
        Err(e) => e,
    }
}

/// A counted return: the return row, the loan's keys out, and when every key is back the
/// loan closes, the set is back in its slot and `KeyLoanReturned` is written.
pub struct CountedReturn<'a> {
    pub property_id: &'a str,
    pub loan_id: &'a str,
    pub return_id: String,
    pub received: i32,
    pub note: String,
    pub received_by: Actor,
    pub now: DateTime<Utc>,
    pub overdue_after_days: u32,
}

/// Records a return once per request id; returns the return's id.
pub async fn return_keys(
    db: &Store,
    outbox: &Outbox,
    request_id: &RequestId,
    r: CountedReturn<'_>,
) -> Result<String> {
    let mut tx = db.begin().await?;
    if let Claim::Retry(id) = claim(
        db,
        &mut tx,
        "ReturnKeys",
        r.property_id,
        request_id,
        &r.return_id,
        r.now,
    )
    .await?
    {
        return Ok(id);
    }
    let loan = get_loan_in(db, &mut tx, r.property_id, r.loan_id)
        .await?
        .ok_or_else(|| Error::not_found("key loan", r.loan_id))?;
    let outcome = rules::check_return(loan.state, loan.keys_out, r.received)?; // rule KEY-7
    let left = loan.keys_out - r.received;
    // Guarded by the count read: a concurrent return of the same loan makes this one retry.
    let changed = sqlx::query(
        "UPDATE key_loans SET keys_out = $2, state = $3, close_at = $4, \
         overdue_at = COALESCE(overdue_at, $5) \
         WHERE id = $1 AND state = 'open' AND keys_out = $6",
    )
    .bind(&loan.id)
    .bind(i64::from(left))
    .bind(if left == 0 { "returned" } else { "open" })
    .bind((left == 0).then(|| to_micros(r.now)))
    .bind(
        loan.overdue_since(r.now, r.overdue_after_days)
            .map(to_micros),
    )
    .bind(i64::from(loan.keys_out))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::Unavailable(
            "the loan changed while the return was counted: count again".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO key_returns (id, loan_id, expected, received, return_at, received_by_id, \
         received_by_name, received_by_role, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&r.return_id)
    .bind(&loan.id)
    .bind(i64::from(loan.keys_out))
    .bind(i64::from(r.received))
    .bind(to_micros(r.now))
    .bind(&r.received_by.user_id)
    .bind(&r.received_by.name)
    .bind(&r.received_by.role)
    .bind(&r.note)
    .execute(&mut *tx)
    .await?;
    // The keys received go back to the slot; the set is back in the cabinet with the last one.
    sqlx::query(
        "UPDATE key_sets SET keys_out = keys_out - $2, \
         state = CASE WHEN $3 = 1 THEN 'in_cabinet' ELSE state END WHERE id = $1",
    )
    .bind(&loan.key_set_id)
    .bind(i64::from(r.received))
    .bind(i64::from(outcome == ReturnOutcome::Complete))
    .execute(&mut *tx)
    .await?;
    if outcome == ReturnOutcome::Complete {
        let event = Payload::KeyLoanReturned(KeyLoanReturned {
            loan_id: loan.id.clone(),
            key_set_id: loan.key_set_id.clone(),
            key_number: loan.key_number,
            was_overdue: loan.overdue_since(r.now, r.overdue_after_days).is_some(),
            return_time: Some(to_timestamp(r.now)),
        });
        outbox.append(&mut tx, r.property_id, event).await?;
    }
    tx.commit().await?;
    if outcome == ReturnOutcome::Complete {
        outbox.notify();
    }
    Ok(r.return_id)
}

/// The loan a return belongs to.
pub async fn loan_of_return(db: &Store, return_id: &str) -> Result<Option<(String, KeyReturn)>> {
    let row = sqlx::query(
        "SELECT id, loan_id, expected, received, return_at, received_by_id, received_by_name, \
         received_by_role, note FROM key_returns WHERE id = $1",
    )
    .bind(return_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        let r = return_from_row(&row)?;
        Ok((r.loan_id.clone(), r))
    })
    .transpose()
}

/// Records a chase of an overdue loan (KEY-8), once per request id; returns the chase's id.
pub async fn chase(
    db: &Store,
    request_id: &RequestId,
    property_id: &str,
    chase: Chase,
    overdue_after_days: u32,
) -> Result<String> {
    let mut tx = db.begin().await?;
    if let Claim::Retry(id) = claim(
        db,
        &mut tx,
        "RecordKeyChase",
        property_id,
        request_id,
        &chase.id,
        chase.chased_at,
    )
    .await?
    {
        return Ok(id);
    }
    let loan = get_loan_in(db, &mut tx, property_id, &chase.loan_id)
        .await?
        .ok_or_else(|| Error::not_found("key loan", &chase.loan_id))?;
    let overdue = loan
        .overdue_since(chase.chased_at, overdue_after_days)
        .is_some();
    rules::check_chase(loan.state, overdue)?; // rule KEY-8
    sqlx::query(
        "INSERT INTO key_chases (id, loan_id, method, contacted, result, promised_return_at, \
         chase_at, chased_by_id, chased_by_name, chased_by_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&chase.id)
    .bind(&chase.loan_id)
    .bind(chase.method.code())
    .bind(&chase.contacted)
    .bind(&chase.result)
    .bind(chase.promised_return_at.map(to_micros))
    .bind(to_micros(chase.chased_at))
    .bind(&chase.chased_by.user_id)
    .bind(&chase.chased_by.name)
    .bind(&chase.chased_by.role)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(chase.id)
}

pub async fn get_chase(db: &Store, id: &str) -> Result<Option<Chase>> {
    let row = sqlx::query(
        "SELECT id, loan_id, method, contacted, result, promised_return_at, chase_at, \
         chased_by_id, chased_by_name, chased_by_role FROM key_chases WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(chase_from_row).transpose()
}

// --- Collection -----------------------------------------------------------------------------

/// A claimant at the counter (KEY-9).
pub struct Claimant<'a> {
    pub property_id: &'a str,
    pub key_set_id: &'a str,
    pub name: String,
    pub id_shown: ShownId,
    pub signer_name: String,
    pub clerk: Actor,
    pub now: DateTime<Utc>,
}

/// Hands the keys over once per request id, or refuses: a refused claimant is logged (once per
/// request id) and the custody is left as it was.
pub async fn collect(
    db: &Store,
    outbox: &Outbox,
    request_id: &RequestId,
    c: Claimant<'_>,
) -> Result<()> {
    let mut tx = db.begin().await?;
    if let Claim::Retry(_) = claim(
        db,
        &mut tx,
        "CollectKeys",
        c.property_id,
        request_id,
        c.key_set_id,
        c.now,
    )
    .await?
    {
        return Ok(());
    }
    let set = get_in(db, &mut tx, c.property_id, c.key_set_id)
        .await?
        .ok_or_else(|| Error::not_found("key set", c.key_set_id))?;
    rules::check_collect_state(&set)?; // rule KEY-9: keys on loan stay
    // rule KEY-9: the rule decides; the keyring checks the number against the digest on file.
    let verdict = rules::identify_collector(&set, &c.name, &c.id_shown, |whose, digest| {
        let (table, row, column) = id_place(&set.id, whose);
        db.digest_matches(table, &row, column, c.id_shown.number(), digest)
    })?;
    let designated = match verdict {
        Ok(designated) => designated,
        Err(refusal) => {
            // The claim goes with the rollback: a retry is refused (and logged) again, once.
            tx.rollback().await?;
            log_refusal(db, request_id, &c, &set, refusal).await?;
            return Err(refusal.to_error());
        }
    };
    let changed = sqlx::query(
        "UPDATE key_sets SET state = 'collected', collector_name = $2, collector_designated = $3, \
         collector_id_type = $4, collector_id_masked = $5, collector_signer = '', \
         collector_signer_sealed = $6, close_at = $7, closed_by_id = $8, closed_by_name = $9, \
         closed_by_role = $10 WHERE id = $1 AND state = 'in_cabinet'",
    )
    .bind(&set.id)
    .bind(c.name.trim())
    .bind(i64::from(designated))
    .bind(c.id_shown.masked.id_type.code())
    .bind(&c.id_shown.masked.masked)
    .bind(db.seal("key_sets", &set.id, "collector_signer", &c.signer_name)?)
    .bind(to_micros(c.now))
    .bind(&c.clerk.user_id)
    .bind(&c.clerk.name)
    .bind(&c.clerk.role)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        // A loan or another collection came first.
        let now = get_in(db, &mut tx, c.property_id, c.key_set_id)
            .await?
            .ok_or_else(|| Error::not_found("key set", c.key_set_id))?;
        rules::check_collect_state(&now)?;
        return Err(Error::Unavailable("the key set changed: try again".into()));
    }
    let event = Payload::KeyCustodyClosed(KeyCustodyClosed {
        key_set_id: set.id.clone(),
        key_number: set.number,
        unit_id: set.unit_id.clone(),
        close_time: Some(to_timestamp(c.now)),
    });
    outbox.append(&mut tx, c.property_id, event).await?;
    tx.commit().await?;
    outbox.notify();
    Ok(())
}

async fn log_refusal(
    db: &Store,
    request_id: &RequestId,
    c: &Claimant<'_>,
    set: &KeySet,
    refusal: Refusal,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO key_refusals (id, property_id, key_set_id, request_id, reason, \
         claimant_name, id_type, id_masked, refuse_at, refused_by_id, refused_by_name, \
         refused_by_role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (property_id, request_id) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(c.property_id)
    .bind(&set.id)
    .bind(request_id.as_str())
    .bind(refusal.reason())
    .bind(c.name.trim())
    .bind(c.id_shown.masked.id_type.code())
    .bind(&c.id_shown.masked.masked)
    .bind(to_micros(c.now))
    .bind(&c.clerk.user_id)
    .bind(&c.clerk.name)
    .bind(&c.clerk.role)
    .execute(db.pool())
    .await?;
    // Ids and the reason only: the claimant's name and ID stay out of the logs.
    tracing::info!(key_set_id = %set.id, reason = refusal.reason(), "key collection refused");
    Ok(())
}

// --- IDs recorded again (KEY-9) -------------------------------------------------------------

/// A person's ID as the CS supervisor records it again on a custody.
pub struct IdToRecord<'a> {
    pub property_id: &'a str,
    pub key_set_id: &'a str,
    pub record_id: String,
    pub whose: OnFile,
    pub shown: ShownId,
    pub recorded_by: Actor,
    pub now: DateTime<Utc>,
}

fn holder_code(whose: OnFile) -> (&'static str, i64) {
    match whose {
        OnFile::Customer => ("customer", 0),
        OnFile::Collector(i) => ("designated_collector", i as i64),
    }
}

/// Records the keyed digest of the person's whole number on the form, where the custody kept
/// only its masked number, and the record of who did it when; once per request id. Returns
/// the record's id. Refused (nothing written) as `rules::check_record_id` says; of concurrent
/// calls for one person exactly one writes: the digest is set only where it is still NULL.
pub async fn record_id(db: &Store, request_id: &RequestId, r: IdToRecord<'_>) -> Result<String> {
    let mut tx = db.begin().await?;
    if let Claim::Retry(id) = claim(
        db,
        &mut tx,
        "RecordCustodyId",
        r.property_id,
        request_id,
        &r.record_id,
        r.now,
    )
    .await?
    {
        return Ok(id);
    }
    let set = get_in(db, &mut tx, r.property_id, r.key_set_id)
        .await?
        .ok_or_else(|| Error::not_found("key set", r.key_set_id))?;
    let holder_name = rules::check_record_id(&set, r.whose, &r.shown)?.to_owned(); // rule KEY-9
    // rule KEY-9: under the same place, hence the same context, as the entrustment's digest.
    let digest = id_digest(db, &set.id, r.whose, &r.shown);
    let changed = match r.whose {
        OnFile::Customer => sqlx::query(
            "UPDATE key_sets SET customer_id_digest = $2 WHERE id = $1 \
             AND customer_id_digest IS NULL AND state <> 'collected'",
        )
        .bind(&set.id)
        .bind(digest)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        OnFile::Collector(position) => sqlx::query(
            "UPDATE key_set_collectors SET id_digest = $3 WHERE key_set_id = $1 \
             AND position = $2 AND id_digest IS NULL AND EXISTS \
             (SELECT 1 FROM key_sets WHERE id = $1 AND state <> 'collected')",
        )
        .bind(&set.id)
        .bind(position as i64)
        .bind(digest)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
    };
    if changed == 0 {
        // Another record or the collection came first: the custody as it is now refuses it.
        return Err(recorded_meanwhile(db, &mut tx, &r).await);
    }
    let (holder, position) = holder_code(r.whose);
    let inserted = sqlx::query(
        "INSERT INTO key_id_records (id, property_id, key_set_id, holder, position, holder_name, \
         id_type, id_masked, record_at, recorded_by_id, recorded_by_name, recorded_by_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&r.record_id)
    .bind(r.property_id)
    .bind(&set.id)
    .bind(holder)
    .bind(position)
    .bind(&holder_name)
    .bind(r.shown.masked.id_type.code())
    .bind(&r.shown.masked.masked)
    .bind(to_micros(r.now))
    .bind(&r.recorded_by.user_id)
    .bind(&r.recorded_by.name)
    .bind(&r.recorded_by.role)
    .execute(&mut *tx)
    .await
    .map_err(Error::from);
    match inserted {
        // Another record of the person: the unique index keeps one (the transaction is spent).
        Err(e) if is_unique_violation(&e) => return Err(rules::id_already_on_file()),
        other => other?,
    };
    tx.commit().await?;
    // Ids and whose only: the number, even masked, stays out of the logs.
    tracing::info!(key_set_id = %set.id, holder, position, "custody ID recorded again");
    Ok(r.record_id)
}

/// Why recording an ID lost the race: the custody as it is now refuses it.
async fn recorded_meanwhile(db: &Store, tx: &mut Tx, r: &IdToRecord<'_>) -> Error {
    match get_in(db, tx, r.property_id, r.key_set_id).await {
        Ok(Some(now)) => match rules::check_record_id(&now, r.whose, &r.shown) {
            Err(e) => e,
            Ok(_) => Error::Unavailable("the key set changed: try again".into()),
        },
        Ok(None) => Error::not_found("key set", r.key_set_id),
        Err(e) => e,
    }
}

/// An ID recorded again, by its id.
pub async fn get_id_record(db: &Store, property_id: &str, id: &str) -> Result<Option<IdRecord>> {
    let row = sqlx::query(
        "SELECT r.id, r.property_id, r.key_set_id, s.number, r.holder, r.position, \
         r.holder_name, r.id_type, r.id_masked, r.record_at, r.recorded_by_id, \
         r.recorded_by_name, r.recorded_by_role \
         FROM key_id_records r JOIN key_sets s ON s.id = r.key_set_id \
         WHERE r.property_id = $1 AND r.id = $2",
    )
    .bind(property_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let holder: String = row.try_get("holder")?;
    let whose = match holder.as_str() {
        "customer" => OnFile::Customer,
        "designated_collector" => OnFile::Collector(row.try_get::<i64, _>("position")? as usize),
        other => {
            return Err(Error::Internal(anyhow::anyhow!(
                "unknown ID holder {other:?} in the database"
            )));
        }
    };
    Ok(Some(IdRecord {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        key_set_id: row.try_get("key_set_id")?,
        key_number: row.try_get("number")?,
        whose,
        holder_name: row.try_get("holder_name")?,
        document: masked_id(&row, "id_type", "id_masked")?,
        recorded_at: from_micros(row.try_get("record_at")?),
        recorded_by: actor(&row, "recorded_by")?,
    }))
}

/// The refusal log, newest first.
pub async fn list_refusals(
    db: &Store,
    property_id: &str,
    key_set_id: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<RefusalRecord>> {
    let rows = sqlx::query(
        "SELECT r.id, r.key_set_id, s.number, r.reason, r.claimant_name, r.id_type, r.id_masked, \
         r.refuse_at, r.refused_by_id, r.refused_by_name, r.refused_by_role \
         FROM key_refusals r JOIN key_sets s ON s.id = r.key_set_id \
         WHERE r.property_id = $1 AND ($2 = '' OR r.key_set_id = $2) AND ($3 = '' OR r.id < $3) \
         ORDER BY r.id DESC LIMIT $4",
    )
    .bind(property_id)
    .bind(key_set_id.unwrap_or_default())
    .bind(before_id.unwrap_or_default())
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let reason: String = row.try_get("reason")?;
            Ok(RefusalRecord {
                id: row.try_get("id")?,
                key_set_id: row.try_get("key_set_id")?,
                key_number: row.try_get("number")?,
                refusal: Refusal::from_reason(&reason).ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!(
                        "unknown refusal {reason:?} in the database"
                    ))
                })?,
                claimant_name: row.try_get("claimant_name")?,
                id_shown: masked_id(row, "id_type", "id_masked")?,
                refused_at: from_micros(row.try_get("refuse_at")?),
                refused_by: actor(row, "refused_by")?,
            })
        })
        .collect()
}

// --- Overdue alerts (KEY-8) -----------------------------------------------------------------

/// Raises an alert for each open loan of the property expected back before `cutoff` that has
/// none yet: marks it overdue and writes `KeyLoanOverdue`, once per loan even when several
/// instances run the check. Returns how many were raised.
pub async fn raise_overdue(
    db: &Store,
    outbox: &Outbox,
    property_id: &str,
    cutoff: DateTime<Utc>,
    overdue_after_days: u32,
    now: DateTime<Utc>,
) -> Result<usize> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{LOAN} WHERE l.property_id = $1 AND l.state = 'open' AND l.expected_return_at < $2 \
         AND NOT EXISTS (SELECT 1 FROM key_alerts a WHERE a.loan_id = l.id) \
         ORDER BY l.expected_return_at LIMIT 100"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(cutoff))
        .fetch_all(db.pool())
        .await?;
    let due = rows
        .iter()
        .map(|r| loan_from_row(db, r))
        .collect::<Result<Vec<_>>>()?;
    let mut raised = 0;
    for loan in due {
        let limit = rules::overdue_at(loan.expected_return_at, overdue_after_days);
        let mut tx = db.begin().await?;
        let marked = sqlx::query(
            "UPDATE key_loans SET overdue_at = COALESCE(overdue_at, $2) WHERE id = $1 AND state = 'open' \
             AND NOT EXISTS (SELECT 1 FROM key_alerts a WHERE a.loan_id = $1)",
        )
        .bind(&loan.id)
        .bind(to_micros(limit))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 0 {
            continue; // returned or raised meanwhile
        }
        let event = Payload::KeyLoanOverdue(KeyLoanOverdue {
            loan_id: loan.id.clone(),
            key_set_id: loan.key_set_id.clone(),
            key_number: loan.key_number,
            unit_id: loan.unit_id.clone(),
            unit_label: loan.unit_label.clone(),
            borrower_department: loan.borrower.department.clone(),
            keys_out: loan.keys_out,
            expected_return_time: Some(to_timestamp(loan.expected_return_at)),
            overdue_time: Some(to_timestamp(limit)),
        });
        let seq = outbox.append(&mut tx, property_id, event).await?;
        let inserted = sqlx::query(
            "INSERT INTO key_alerts (seq, property_id, loan_id, raise_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(seq)
        .bind(property_id)
        .bind(&loan.id)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(Error::from);
        match inserted {
            // Another instance raised it first; its alert stands.
            Err(e) if is_unique_violation(&e) => continue,
            other => other?,
        };
        tx.commit().await?;
        tracing::info!(loan_id = %loan.id, "key loan overdue");
        raised += 1;
    }
    if raised > 0 {
        outbox.notify();
    }
    Ok(raised)
}

/// An alert as the stream sends it.
pub struct AlertRow {
    pub seq: i64,
    pub raised_at: DateTime<Utc>,
    pub loan: Loan,
}

/// Alerts of the property after `after_seq` whose loans still have keys out.
pub async fn alerts_after(
    db: &Store,
    property_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AlertRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT a.seq, a.raise_at, x.* FROM key_alerts a JOIN ({LOAN}) x ON x.id = a.loan_id \
         WHERE a.property_id = $1 AND a.seq > $2 AND x.state = 'open' ORDER BY a.seq LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let mut alerts = Vec::new();
    let mut loans = Vec::new();
    for row in &rows {
        alerts.push((
            row.try_get::<i64, _>("seq")?,
            row.try_get::<i64, _>("raise_at")?,
        ));
        loans.push(loan_from_row(db, row)?);
    }
    add_history(db, &mut loans).await?;
    Ok(alerts
        .into_iter()
        .zip(loans)
        .map(|((seq, at), loan)| AlertRow {
            seq,
            raised_at: from_micros(at),
            loan,
        })
        .collect())
}

// --- Retention (KEY-10) ---------------------------------------------------------------------

/// Removes every record of the custodies of the property closed before `cutoff`, and audits
/// done before it, one custody per transaction with its `KeyRecordsPurged` event. Nothing of a
/// custody still open, or closed since, is touched. Returns how many custodies went.
pub async fn purge(
    db: &Store,
    outbox: &Outbox,
    property_id: &str,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let due: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT id, number, close_at FROM key_sets WHERE property_id = $1 AND state = 'collected' \
         AND close_at < $2 ORDER BY close_at LIMIT 100",
    )
    .bind(property_id)
    .bind(to_micros(cutoff))
    .fetch_all(db.pool())
    .await?;
    let mut purged = 0;
    for (id, number, close_at) in due {
        let mut tx = db.begin().await?;
        for sql in [
            "DELETE FROM key_chases WHERE loan_id IN (SELECT id FROM key_loans WHERE key_set_id = $1)",
            "DELETE FROM key_returns WHERE loan_id IN (SELECT id FROM key_loans WHERE key_set_id = $1)",
            "DELETE FROM key_alerts WHERE loan_id IN (SELECT id FROM key_loans WHERE key_set_id = $1)",
            "DELETE FROM key_loans WHERE key_set_id = $1",
            "DELETE FROM key_refusals WHERE key_set_id = $1",
            "DELETE FROM key_id_records WHERE key_set_id = $1",
            "DELETE FROM key_set_collectors WHERE key_set_id = $1",
        ] {
            sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
        }
        // Checked again in the statement itself: only a custody closed before the cutoff goes.
        let removed = sqlx::query(
            "DELETE FROM key_sets WHERE id = $1 AND state = 'collected' AND close_at < $2",
        )
        .bind(&id)
        .bind(to_micros(cutoff))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed == 0 {
            tx.rollback().await?;
            continue;
        }
        let event = Payload::KeyRecordsPurged(KeyRecordsPurged {
            key_set_id: id.clone(),
            key_number: number,
            close_time: Some(to_timestamp(from_micros(close_at))),
            purge_time: Some(to_timestamp(now)),
        });
        outbox.append(&mut tx, property_id, event).await?;
        tx.commit().await?;
        tracing::info!(key_set_id = %id, "key custody records purged");
        purged += 1;
    }
    if purged > 0 {
        outbox.notify();
    }
    // Audits are kept as long, from the day they were done; the write lock only when due.
    let old_audit =
        sqlx::query("SELECT 1 FROM key_audits WHERE property_id = $1 AND audit_at < $2 LIMIT 1")
            .bind(property_id)
            .bind(to_micros(cutoff))
            .fetch_optional(db.pool())
            .await?;
    if old_audit.is_none() {
        return Ok(purged);
    }
    let mut tx = db.begin().await?;
    sqlx::query(
        "DELETE FROM key_audit_mismatches WHERE audit_id IN \
         (SELECT id FROM key_audits WHERE property_id = $1 AND audit_at < $2)",
    )
    .bind(property_id)
    .bind(to_micros(cutoff))
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM key_audits WHERE property_id = $1 AND audit_at < $2")
        .bind(property_id)
        .bind(to_micros(cutoff))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(purged)
}

// --- Cabinet audit --------------------------------------------------------------------------

/// Checks the counts against the register as it stands in the same transaction and records
/// the audit, once per request id; returns the audit's id.
pub async fn audit(
    db: &Store,
    request_id: &RequestId,
    mut audit: Audit,
    counted: &BTreeMap<String, i32>,
) -> Result<String> {
    let mut tx = db.begin().await?;
    if let Claim::Retry(id) = claim(
        db,
        &mut tx,
        "AuditKeyCabinet",
        &audit.property_id,
        request_id,
        &audit.id,
        audit.audited_at,
    )
    .await?
    {
        return Ok(id);
    }
    let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT slot, id, number, key_count, keys_out FROM key_sets \
         WHERE property_id = $1 AND state <> 'collected'",
    )
    .bind(&audit.property_id)
    .fetch_all(&mut *tx)
    .await?;
    let register: Vec<SlotOnRecord> = rows
        .into_iter()
        .map(|(slot, id, number, count, out)| SlotOnRecord {
            slot,
            key_set_id: id,
            key_number: number,
            keys_in_cabinet: (count - out) as i32,
        })
        .collect();
    audit.mismatches = rules::audit(&register, counted);
    audit.slots_checked = {
        let mut slots: Vec<&str> = register.iter().map(|r| r.slot.as_str()).collect();
        slots.extend(counted.keys().map(String::as_str));
        slots.sort_unstable();
        slots.dedup();
        slots.len() as i32
    };
    sqlx::query(
        "INSERT INTO key_audits (id, property_id, audit_at, audited_by_id, audited_by_name, \
         audited_by_role, slots_checked, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&audit.id)
    .bind(&audit.property_id)
    .bind(to_micros(audit.audited_at))
    .bind(&audit.audited_by.user_id)
    .bind(&audit.audited_by.name)
    .bind(&audit.audited_by.role)
    .bind(i64::from(audit.slots_checked))
    .bind(&audit.note)
    .execute(&mut *tx)
    .await?;
    for m in &audit.mismatches {
        sqlx::query(
            "INSERT INTO key_audit_mismatches (audit_id, slot, expected, counted, key_set_id, \
             key_number) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&audit.id)
        .bind(&m.slot)
        .bind(i64::from(m.expected))
        .bind(i64::from(m.counted))
        .bind(&m.key_set_id)
        .bind(m.key_number)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(audit.id)
}

pub async fn get_audit(db: &Store, property_id: &str, id: &str) -> Result<Option<Audit>> {
    let row = sqlx::query(
        "SELECT id, property_id, audit_at, audited_by_id, audited_by_name, audited_by_role, \
         slots_checked, note FROM key_audits WHERE property_id = $1 AND id = $2",
    )
    .bind(property_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mismatches: Vec<(String, i64, i64, String, i64)> = sqlx::query_as(
        "SELECT slot, expected, counted, key_set_id, key_number FROM key_audit_mismatches \
         WHERE audit_id = $1 ORDER BY slot",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(Some(Audit {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        audited_at: from_micros(row.try_get("audit_at")?),
        audited_by: actor(&row, "audited_by")?,
        slots_checked: row.try_get::<i64, _>("slots_checked")? as i32,
        note: row.try_get("note")?,
        mismatches: mismatches
            .into_iter()
            .map(
                |(slot, expected, counted, key_set_id, key_number)| SlotMismatch {
                    slot,
                    expected: expected as i32,
                    counted: counted as i32,
                    key_set_id,
                    key_number,
                },
            )
            .collect(),
    }))
}

// --- Per-person figures (KEY-11) ------------------------------------------------------------

/// Every deed of the property's staff between `from` and `to`.
pub async fn occurrences(
    db: &Store,
    property_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Occurrence>> {
    let queries: [(Deed, &'static str); 6] = [
        (
            Deed::LoanHandled,
            "SELECT lent_by_id, lent_by_name, borrow_at FROM key_loans \
             WHERE property_id = $1 AND borrow_at >= $2 AND borrow_at < $3",
        ),
        (
            Deed::ReturnReceived,
            "SELECT r.received_by_id, r.received_by_name, r.return_at FROM key_returns r \
             JOIN key_loans l ON l.id = r.loan_id \
             WHERE l.property_id = $1 AND r.return_at >= $2 AND r.return_at < $3",
        ),
        (
            Deed::LoanBorrowed,
            "SELECT borrower_user_id, borrower_name, borrow_at FROM key_loans \
             WHERE property_id = $1 AND borrow_at >= $2 AND borrow_at < $3",
        ),
        (
            Deed::OverdueLoan,
            "SELECT borrower_user_id, borrower_name, overdue_at FROM key_loans \
             WHERE property_id = $1 AND overdue_at >= $2 AND overdue_at < $3",
        ),
        (
            Deed::Chase,
            "SELECT c.chased_by_id, c.chased_by_name, c.chase_at FROM key_chases c \
             JOIN key_loans l ON l.id = c.loan_id \
             WHERE l.property_id = $1 AND c.chase_at >= $2 AND c.chase_at < $3",
        ),
        (
            Deed::Refusal,
            "SELECT refused_by_id, refused_by_name, refuse_at FROM key_refusals \
             WHERE property_id = $1 AND refuse_at >= $2 AND refuse_at < $3",
        ),
    ];
    let mut out = Vec::new();
    for (deed, sql) in queries {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(sql)
            .bind(property_id)
            .bind(to_micros(from))
            .bind(to_micros(to))
            .fetch_all(db.pool())
            .await?;
        out.extend(rows.into_iter().map(|(user_id, name, at)| Occurrence {
            deed,
            user_id,
            name,
            at: from_micros(at),
        }));
    }
    Ok(out)
}
