//! The borrowing register (KEY-6 to KEY-8): loans, counted returns, chases and overdue alerts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Tx, from_micros, to_micros},
};

use super::{Store, actor, decode, inserted, placeholders};
use crate::domain::{
    keys::{Alert, Borrower, Chase, ChaseMethod, KeyReturn, Loan, LoanPurpose, LoanState},
    units::label,
};

pub(super) const LOAN: &str = "SELECT l.id, l.property_id, l.key_set_id, l.quantity, l.keys_out, l.purpose, \
    l.reason, l.borrower_user_id, l.borrower_name, l.borrower_department, l.borrower_phone_sealed, \
    l.borrower_signature_sealed, l.borrow_at, l.expected_return_at, l.state, l.overdue_at, \
    l.lent_by_id, l.lent_by_name, l.lent_by_role, l.close_at, s.number AS key_number, s.slot, \
    s.unit_id, u.building, u.entrance, u.room \
    FROM key_loans l JOIN key_sets s ON s.id = l.key_set_id JOIN units u ON u.id = s.unit_id";

pub(super) fn loan_from_row(db: &Store, row: &AnyRow) -> Result<Loan> {
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
pub(super) async fn add_history(db: &Store, loans: &mut [Loan]) -> Result<()> {
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

pub async fn get_loan_in(
    db: &Store,
    tx: &mut Tx,
    property_id: &str,
    id: &str,
) -> Result<Option<Loan>> {
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

/// Takes the set out of the cabinet for a loan of `quantity`: only from in_cabinet, so of
/// concurrent loans of one set exactly one changes a row.
pub async fn take_out(tx: &mut Tx, key_set_id: &str, quantity: i32) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE key_sets SET state = 'on_loan', keys_out = $2 WHERE id = $1 AND state = 'in_cabinet'",
    )
    .bind(key_set_id)
    .bind(i64::from(quantity))
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Inserts an open loan; `Ok(false)`: the unique index of one open loan per set refused it.
pub async fn insert_loan(db: &Store, tx: &mut Tx, loan: &Loan) -> Result<bool> {
    let result = sqlx::query(
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
    .execute(&mut **tx)
    .await;
    inserted(result)
}

/// Counts a return against the loan as it was read (`keys_out`): a concurrent return of the
/// same loan changes no row. `overdue_at` is noted if not yet; the loan closes with its last
/// key.
pub async fn count_return(
    tx: &mut Tx,
    loan: &Loan,
    received: i32,
    overdue_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let left = loan.keys_out - received;
    Ok(sqlx::query(
        "UPDATE key_loans SET keys_out = $2, state = $3, close_at = $4, \
         overdue_at = COALESCE(overdue_at, $5) \
         WHERE id = $1 AND state = 'open' AND keys_out = $6",
    )
    .bind(&loan.id)
    .bind(i64::from(left))
    .bind(if left == 0 { "returned" } else { "open" })
    .bind((left == 0).then(|| to_micros(now)))
    .bind(overdue_at.map(to_micros))
    .bind(i64::from(loan.keys_out))
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

pub async fn insert_return(tx: &mut Tx, r: &KeyReturn) -> Result<()> {
    sqlx::query(
        "INSERT INTO key_returns (id, loan_id, expected, received, return_at, received_by_id, \
         received_by_name, received_by_role, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&r.id)
    .bind(&r.loan_id)
    .bind(i64::from(r.expected))
    .bind(i64::from(r.received))
    .bind(to_micros(r.returned_at))
    .bind(&r.received_by.user_id)
    .bind(&r.received_by.name)
    .bind(&r.received_by.role)
    .bind(&r.note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The keys received go back to the slot; with `complete` the set is back in the cabinet.
pub async fn put_back(tx: &mut Tx, key_set_id: &str, received: i32, complete: bool) -> Result<()> {
    sqlx::query(
        "UPDATE key_sets SET keys_out = keys_out - $2, \
         state = CASE WHEN $3 = 1 THEN 'in_cabinet' ELSE state END WHERE id = $1",
    )
    .bind(key_set_id)
    .bind(i64::from(received))
    .bind(i64::from(complete))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A return by its id.
pub async fn get_return(db: &Store, return_id: &str) -> Result<Option<KeyReturn>> {
    let row = sqlx::query(
        "SELECT id, loan_id, expected, received, return_at, received_by_id, received_by_name, \
         received_by_role, note FROM key_returns WHERE id = $1",
    )
    .bind(return_id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(return_from_row).transpose()
}

pub async fn insert_chase(tx: &mut Tx, chase: &Chase) -> Result<()> {
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
    .execute(&mut **tx)
    .await?;
    Ok(())
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

// --- Overdue alerts (KEY-8) -----------------------------------------------------------------

/// Up to 100 open loans of the property expected back before `cutoff` without an alert.
pub async fn due_for_alert(
    db: &Store,
    property_id: &str,
    cutoff: DateTime<Utc>,
) -> Result<Vec<Loan>> {
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
    rows.iter().map(|r| loan_from_row(db, r)).collect()
}

/// Marks an open loan without an alert overdue since `limit`; 0 when it was returned or
/// raised meanwhile.
pub async fn mark_overdue(tx: &mut Tx, loan_id: &str, limit: DateTime<Utc>) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE key_loans SET overdue_at = COALESCE(overdue_at, $2) WHERE id = $1 AND state = 'open' \
         AND NOT EXISTS (SELECT 1 FROM key_alerts a WHERE a.loan_id = $1)",
    )
    .bind(loan_id)
    .bind(to_micros(limit))
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Records the alert of event `seq`; `Ok(false)`: another instance raised it first.
pub async fn insert_alert(
    tx: &mut Tx,
    seq: i64,
    property_id: &str,
    loan_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let result = sqlx::query(
        "INSERT INTO key_alerts (seq, property_id, loan_id, raise_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(seq)
    .bind(property_id)
    .bind(loan_id)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await;
    inserted(result)
}

/// Alerts of the property after `after_seq` whose loans still have keys out.
pub async fn alerts_after(
    db: &Store,
    property_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Alert>> {
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
        .map(|((seq, at), loan)| Alert {
            seq,
            property_id: property_id.to_owned(),
            raised_at: from_micros(at),
            loan,
        })
        .collect())
}
