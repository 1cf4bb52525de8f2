use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
};

use super::{Store, decode};
use crate::domain::{
    units,
    visits::{Channel, Kind, MajorProblem, Promise, RepairFollowUp, Satisfaction, Visit},
};

const VISIT: &str = "SELECT v.id, v.property_id, v.kind, v.household_id, v.unit_id, v.work_order_id, \
    v.customer_name, v.customer_phone_sealed, v.visit_at, v.channel, v.visitor_id, v.visitor_name, \
    v.visitor_role, v.content, v.satisfaction, v.question, v.reply_due_at, v.reply_at, v.reply, \
    v.replied_by_id, v.replied_by_name, v.replied_by_role, v.major_problem, v.meeting_date, \
    v.settle_at, v.settlement, v.settled_by_id, v.settled_by_name, v.settled_by_role, \
    v.complaint_id, v.complaint_number, v.create_at, u.building, u.entrance, u.room \
    FROM visits v LEFT JOIN units u ON u.id = v.unit_id";

fn unit_label(row: &AnyRow) -> Result<String> {
    let building: Option<String> = row.try_get("building")?;
    Ok(match building {
        Some(b) => units::label(
            &b,
            &row.try_get::<Option<String>, _>("entrance")?
                .unwrap_or_default(),
            &row.try_get::<Option<String>, _>("room")?
                .unwrap_or_default(),
        ),
        None => String::new(),
    })
}

fn done_by(row: &AnyRow, prefix: &str) -> Result<Actor> {
    let get = |f: &str| -> Result<String> {
        Ok(row
            .try_get::<Option<String>, _>(format!("{prefix}_{f}").as_str())?
            .unwrap_or_default())
    };
    Ok(Actor {
        user_id: get("id")?,
        name: get("name")?,
        role: get("role")?,
    })
}

fn from_row(db: &Store, row: &AnyRow) -> Result<Visit> {
    let promise = match row.try_get::<Option<i64>, _>("reply_due_at")? {
        Some(due) => Some(Promise {
            question: row.try_get("question")?,
            reply_due_at: from_micros(due),
            reply: match row.try_get::<Option<i64>, _>("reply_at")? {
                Some(at) => Some((
                    row.try_get("reply")?,
                    done_by(row, "replied_by")?,
                    from_micros(at),
                )),
                None => None,
            },
        }),
        None => None,
    };
    let major = match row.try_get::<Option<String>, _>("meeting_date")? {
        Some(date) => Some(MajorProblem {
            problem: row.try_get("major_problem")?,
            meeting_date: NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| {
                Error::Internal(anyhow::anyhow!("meeting date {date:?} in the database"))
            })?,
            settled: match row.try_get::<Option<i64>, _>("settle_at")? {
                Some(at) => Some((
                    row.try_get("settlement")?,
                    done_by(row, "settled_by")?,
                    from_micros(at),
                )),
                None => None,
            },
        }),
        None => None,
    };
    let complaint = match (
        row.try_get::<Option<String>, _>("complaint_id")?,
        row.try_get::<Option<i64>, _>("complaint_number")?,
    ) {
        (Some(id), Some(number)) => Some((id, number)),
        _ => None,
    };
    let id: String = row.try_get("id")?;
    let customer_phone = db.open("visits", &id, "customer_phone", row)?;
    Ok(Visit {
        id,
        property_id: row.try_get("property_id")?,
        kind: decode(row.try_get("kind")?, Kind::from_code, "visit kind")?,
        household_id: row.try_get("household_id")?,
        unit_id: row.try_get("unit_id")?,
        unit_label: unit_label(row)?,
        work_order_id: row.try_get("work_order_id")?,
        customer_name: row.try_get("customer_name")?,
        customer_phone,
        visited_at: from_micros(row.try_get("visit_at")?),
        channel: decode(row.try_get("channel")?, Channel::from_code, "visit channel")?,
        visitor: Actor {
            user_id: row.try_get("visitor_id")?,
            name: row.try_get("visitor_name")?,
            role: row.try_get("visitor_role")?,
        },
        content: row.try_get("content")?,
        satisfaction: decode(
            row.try_get("satisfaction")?,
            Satisfaction::from_code,
            "satisfaction",
        )?,
        promise,
        major,
        complaint,
        created_at: from_micros(row.try_get("create_at")?),
    })
}

/// The unit of the completed repair of `work_order_id` due for a follow-up (VIS-4), if any.
pub async fn due_follow_up(
    tx: &mut Tx,
    property_id: &str,
    work_order_id: &str,
) -> Result<Option<String>> {
    let due: Option<(String,)> = sqlx::query_as(
        "SELECT unit_id FROM repair_follow_ups WHERE property_id = $1 AND work_order_id = $2",
    )
    .bind(property_id)
    .bind(work_order_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(due.map(|(unit_id,)| unit_id))
}

/// Writes the visit in `tx`, the customer's phone sealed (ARC-6).
pub async fn insert(db: &Store, tx: &mut Tx, v: &Visit) -> Result<()> {
    sqlx::query(
        "INSERT INTO visits (id, property_id, kind, household_id, unit_id, work_order_id, \
         customer_name, customer_phone, customer_phone_sealed, visit_at, channel, visitor_id, \
         visitor_name, visitor_role, content, satisfaction, question, reply_due_at, \
         major_problem, meeting_date, create_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20)",
    )
    .bind(&v.id)
    .bind(&v.property_id)
    .bind(v.kind.code())
    .bind(v.household_id.as_deref())
    .bind(&v.unit_id)
    .bind(&v.work_order_id)
    .bind(&v.customer_name)
    .bind(db.seal("visits", &v.id, "customer_phone", &v.customer_phone)?)
    .bind(to_micros(v.visited_at))
    .bind(v.channel.code())
    .bind(&v.visitor.user_id)
    .bind(&v.visitor.name)
    .bind(&v.visitor.role)
    .bind(&v.content)
    .bind(v.satisfaction.code())
    .bind(
        v.promise
            .as_ref()
            .map(|p| p.question.clone())
            .unwrap_or_default(),
    )
    .bind(v.promise.as_ref().map(|p| to_micros(p.reply_due_at)))
    .bind(
        v.major
            .as_ref()
            .map(|m| m.problem.clone())
            .unwrap_or_default(),
    )
    .bind(
        v.major
            .as_ref()
            .map(|m| m.meeting_date.format("%Y-%m-%d").to_string()),
    )
    .bind(to_micros(v.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Counts `v` as its work order's follow-up (VIS-4): the first follow-up counts, a later one
/// is recorded but changes nothing.
pub async fn note_follow_up(tx: &mut Tx, v: &Visit) -> Result<()> {
    sqlx::query(
        "UPDATE repair_follow_ups SET visit_id = $2, visit_at = $3 \
         WHERE work_order_id = $1 AND visit_id IS NULL",
    )
    .bind(&v.work_order_id)
    .bind(&v.id)
    .bind(to_micros(v.visited_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Store, property_id: &str, id: &str) -> Result<Option<Visit>> {
    let sql = sqlx::AssertSqlSafe(format!("{VISIT} WHERE v.property_id = $1 AND v.id = $2"));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(|r| from_row(db, r)).transpose()
}

/// Visits newest first, before the page key (visit time, id).
pub async fn list(
    db: &Store,
    property_id: &str,
    household_id: Option<&str>,
    kind: Option<Kind>,
    before: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Visit>> {
    let (at, id) = before.unwrap_or((i64::MAX, String::new()));
    let sql = sqlx::AssertSqlSafe(format!(
        "{VISIT} WHERE v.property_id = $1 AND ($2 = '' OR v.household_id = $2) \
         AND ($3 = '' OR v.kind = $3) \
         AND (v.visit_at < $4 OR (v.visit_at = $4 AND $5 <> '' AND v.id < $5)) \
         ORDER BY v.visit_at DESC, v.id DESC LIMIT $6"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(household_id.unwrap_or_default())
        .bind(kind.map(Kind::code).unwrap_or_default())
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| from_row(db, r)).collect()
}

/// Promised replies past their time and not given (VIS-2), oldest promise first, after the
/// page key (due, id).
pub async fn list_overdue_replies(
    db: &Store,
    property_id: &str,
    now: DateTime<Utc>,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Visit>> {
    let (due, id) = after.unwrap_or((i64::MIN, String::new()));
    let sql = sqlx::AssertSqlSafe(format!(
        "{VISIT} WHERE v.property_id = $1 AND v.reply_at IS NULL AND v.reply_due_at IS NOT NULL \
         AND v.reply_due_at < $2 AND (v.reply_due_at > $3 OR (v.reply_due_at = $3 AND v.id > $4)) \
         ORDER BY v.reply_due_at, v.id LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(now))
        .bind(due)
        .bind(id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| from_row(db, r)).collect()
}

/// The meeting's agenda (VIS-3): problems put on it, and unsettled ones of earlier meetings.
pub async fn agenda(db: &Store, property_id: &str, date: NaiveDate) -> Result<Vec<Visit>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{VISIT} WHERE v.property_id = $1 AND v.meeting_date IS NOT NULL \
         AND (v.meeting_date = $2 OR (v.meeting_date < $2 AND v.settle_at IS NULL)) \
         ORDER BY v.meeting_date, v.visit_at, v.id"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(date.format("%Y-%m-%d").to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| from_row(db, r)).collect()
}

/// Records the promised reply (VIS-2); false when there was none to give.
pub async fn reply(
    db: &Db,
    property_id: &str,
    id: &str,
    reply: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE visits SET reply = $3, reply_at = $4, replied_by_id = $5, replied_by_name = $6, \
         replied_by_role = $7 WHERE property_id = $1 AND id = $2 AND reply_due_at IS NOT NULL \
         AND reply_at IS NULL",
    )
    .bind(property_id)
    .bind(id)
    .bind(reply)
    .bind(to_micros(now))
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Settles the visit's major problem (VIS-3); false when there was none to settle.
pub async fn settle(
    db: &Db,
    property_id: &str,
    id: &str,
    settlement: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE visits SET settlement = $3, settle_at = $4, settled_by_id = $5, settled_by_name = $6, \
         settled_by_role = $7 WHERE property_id = $1 AND id = $2 AND meeting_date IS NOT NULL \
         AND settle_at IS NULL",
    )
    .bind(property_id)
    .bind(id)
    .bind(settlement)
    .bind(to_micros(now))
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Keeps the complaint a visit was raised as (VIS-6). The complaint's registration is keyed
/// by the visit, so this only ever writes the one complaint.
pub async fn link_complaint(
    db: &Db,
    property_id: &str,
    id: &str,
    complaint_id: &str,
    number: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE visits SET complaint_id = $3, complaint_number = $4 \
         WHERE property_id = $1 AND id = $2 AND complaint_id IS NULL",
    )
    .bind(property_id)
    .bind(id)
    .bind(complaint_id)
    .bind(number)
    .execute(db.pool())
    .await?;
    Ok(())
}

// --- repair follow-ups (VIS-4) ------------------------------------------------------------

/// Keeps a completed repair as due for its follow-up, inside the follower's transaction. A
/// work order seen before adds nothing.
#[allow(clippy::too_many_arguments)]
pub async fn record_completed(
    tx: &mut Tx,
    property_id: &str,
    work_order_id: &str,
    number: i64,
    unit_id: &str,
    completed_at: DateTime<Utc>,
    customer_rating: i32,
    contact_number: i64,
    event_seq: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO repair_follow_ups (work_order_id, property_id, number, unit_id, complete_at, \
         customer_rating, contact_number, event_seq, receive_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (work_order_id) DO NOTHING",
    )
    .bind(work_order_id)
    .bind(property_id)
    .bind(number)
    .bind(unit_id)
    .bind(to_micros(completed_at))
    .bind(i64::from(customer_rating))
    .bind(contact_number)
    .bind(event_seq)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

const FOLLOW_UP: &str = "SELECT f.work_order_id, f.number, f.unit_id, f.complete_at, \
    f.customer_rating, f.contact_number, f.visit_id, f.visit_at, u.building, u.entrance, u.room \
    FROM repair_follow_ups f LEFT JOIN units u ON u.id = f.unit_id";

fn follow_up_from_row(row: &AnyRow) -> Result<RepairFollowUp> {
    let visit = match (
        row.try_get::<Option<String>, _>("visit_id")?,
        row.try_get::<Option<i64>, _>("visit_at")?,
    ) {
        (Some(id), Some(at)) => Some((id, from_micros(at))),
        _ => None,
    };
    Ok(RepairFollowUp {
        work_order_id: row.try_get("work_order_id")?,
        number: row.try_get("number")?,
        unit_id: row.try_get("unit_id")?,
        unit_label: unit_label(row)?,
        completed_at: from_micros(row.try_get("complete_at")?),
        customer_rating: row.try_get::<i64, _>("customer_rating")? as i32,
        contact_number: row.try_get("contact_number")?,
        visit,
    })
}

/// Completed repairs newest completion first, before the page key (completion, work order).
pub async fn list_follow_ups(
    db: &Db,
    property_id: &str,
    pending_only: bool,
    before: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<RepairFollowUp>> {
    let (at, id) = before.unwrap_or((i64::MAX, String::new()));
    let sql = sqlx::AssertSqlSafe(format!(
        "{FOLLOW_UP} WHERE f.property_id = $1 AND ($2 = 0 OR f.visit_id IS NULL) \
         AND (f.complete_at < $3 OR (f.complete_at = $3 AND $4 <> '' AND f.work_order_id < $4)) \
         ORDER BY f.complete_at DESC, f.work_order_id DESC LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(i64::from(pending_only))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(follow_up_from_row).collect()
}

/// The repairs completed in [from, to), oldest first.
pub async fn completed_in(
    db: &Db,
    property_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<RepairFollowUp>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{FOLLOW_UP} WHERE f.property_id = $1 AND f.complete_at >= $2 AND f.complete_at < $3 \
         ORDER BY f.complete_at, f.work_order_id"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(from))
        .bind(to_micros(to))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(follow_up_from_row).collect()
}

/// VIS-5 over [from, to): households living at `to`, and those of them with a move-in visit
/// in the period after their move-in.
pub async fn move_in_coverage(
    db: &Db,
    property_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(i64, i64)> {
    let counts: (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM visits v \
           WHERE v.household_id = h.id AND v.kind = 'move_in' AND v.visit_at >= $2 \
           AND v.visit_at < $3 AND v.visit_at >= h.move_in_at) THEN 1 ELSE 0 END), 0) \
         FROM households h WHERE h.property_id = $1 AND h.move_in_at < $3 \
         AND (h.move_out_at IS NULL OR h.move_out_at >= $3)",
    )
    .bind(property_id)
    .bind(to_micros(from))
    .bind(to_micros(to))
    .fetch_one(db.pool())
    .await?;
    Ok(counts)
}
