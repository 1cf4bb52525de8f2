//! The SQL of the escalation inbox.

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
};

use crate::domain::{Delivery, Escalation, Information, Reason, ReasonReceived, State};

const COLUMNS: &str = "id, property_id, complaint_id, complaint_number, severity, category, state, \
    receive_at, assignee_user_id, assignee_name, assignee_role, assign_at, decision, \
    decided_by_user_id, decided_by_name, decided_by_role, decide_at, close_note, \
    closed_by_user_id, closed_by_name, closed_by_role, close_at, update_at";

/// Creates the escalation of a delivered complaint, unless it has one; whether it was created.
pub async fn insert_escalation(
    tx: &mut Tx,
    id: &str,
    d: &Delivery,
    now: DateTime<Utc>,
) -> Result<bool> {
    let created = sqlx::query(
        "INSERT INTO escalations (id, property_id, complaint_id, complaint_number, severity, \
         category, state, receive_at, decision, close_note, update_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', '', $8) \
         ON CONFLICT (property_id, complaint_id) DO NOTHING",
    )
    .bind(id)
    .bind(&d.property_id)
    .bind(&d.complaint_id)
    .bind(d.complaint_number)
    .bind(d.severity.code())
    .bind(&d.category)
    .bind(State::Received.code())
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(created == 1)
}

/// The id and state of a complaint's escalation.
pub async fn of_complaint(
    tx: &mut Tx,
    property_id: &str,
    complaint_id: &str,
) -> Result<(String, State)> {
    let (id, state): (String, String) = sqlx::query_as(
        "SELECT id, state FROM escalations WHERE property_id = $1 AND complaint_id = $2",
    )
    .bind(property_id)
    .bind(complaint_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((id, decode_state(&state)?))
}

/// The id of a complaint's escalation, if it has one.
pub async fn id_of_complaint(
    db: &Db,
    property_id: &str,
    complaint_id: &str,
) -> Result<Option<String>> {
    let id: Option<(String,)> =
        sqlx::query_as("SELECT id FROM escalations WHERE property_id = $1 AND complaint_id = $2")
            .bind(property_id)
            .bind(complaint_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(id.map(|(id,)| id))
}

/// Records the delivered reason of the escalation `id`, once; whether it was new.
pub async fn add_reason(tx: &mut Tx, id: &str, d: &Delivery, now: DateTime<Utc>) -> Result<bool> {
    let added = sqlx::query(
        "INSERT INTO escalation_reasons (escalation_id, reason, detail, receive_at, source, \
         source_seq) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (escalation_id, reason) DO NOTHING",
    )
    .bind(id)
    .bind(d.reason.code())
    .bind(&d.detail)
    .bind(to_micros(now))
    .bind(&d.source)
    .bind(d.source_seq)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(added == 1)
}

/// Moves the escalation `id` from `from` to `to`; false when it was no longer in `from`, so
/// two officers racing cannot both take a step.
pub async fn move_state(
    tx: &mut Tx,
    id: &str,
    from: State,
    to: State,
    now: DateTime<Utc>,
) -> Result<bool> {
    let moved = sqlx::query(
        "UPDATE escalations SET state = $2, update_at = $3 WHERE id = $1 AND state = $4",
    )
    .bind(id)
    .bind(to.code())
    .bind(to_micros(now))
    .bind(from.code())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

/// Where the relay's delivery from `source` stands; never moves back.
pub async fn advance_received(tx: &mut Tx, source: &str, seq: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO relay_positions (source, received_seq, acknowledged_seq) VALUES ($1, $2, 0) \
         ON CONFLICT (source) DO UPDATE SET received_seq = $2 \
         WHERE relay_positions.received_seq < $2",
    )
    .bind(source)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What `source` has delivered and acknowledged: (received, acknowledged).
pub async fn position(db: &Db, source: &str) -> Result<(i64, i64)> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT received_seq, acknowledged_seq FROM relay_positions WHERE source = $1",
    )
    .bind(source)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.unwrap_or((0, 0)))
}

/// `source` has applied the department's events up to `seq`; never moves back.
pub async fn acknowledge(db: &Db, source: &str, seq: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO relay_positions (source, received_seq, acknowledged_seq) VALUES ($1, 0, $2) \
         ON CONFLICT (source) DO UPDATE SET acknowledged_seq = $2 \
         WHERE relay_positions.acknowledged_seq < $2",
    )
    .bind(source)
    .bind(seq)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Escalation> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM escalations WHERE id = $1"));
    let row = sqlx::query(sql)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("escalation", id))?;
    let mut list = complete(db, vec![from_row(&row)?]).await?;
    Ok(list.remove(0))
}

pub struct Filter<'a> {
    /// None: every property.
    pub property_id: Option<&'a str>,
    pub state: Option<State>,
    pub open_only: bool,
}

/// Escalations newest first (ids are time-ordered), after the id `after`.
pub async fn list(
    db: &Db,
    filter: &Filter<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Escalation>> {
    // Unused filters compare a column with itself or take the sentinel, so the query text
    // and its placeholders stay the same for every combination.
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM escalations WHERE ($1 = '' OR property_id = $1) \
         AND ($2 = '' OR state = $2) AND ($3 = 0 OR state <> 'closed') \
         AND ($4 = '' OR id < $4) ORDER BY id DESC LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(filter.property_id.unwrap_or_default())
        .bind(filter.state.map(State::code).unwrap_or_default())
        .bind(i64::from(filter.open_only))
        .bind(after.unwrap_or_default())
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let list = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    complete(db, list).await
}

/// Who the escalation `id` is assigned to, since `now`.
pub async fn assign(tx: &mut Tx, id: &str, assignee: &Actor, now: DateTime<Utc>) -> Result<()> {
    set_actor(tx, id, None, "assignee", "assign_at", assignee, now).await
}

/// Asks the property question number `seq`.
pub async fn ask(
    tx: &mut Tx,
    id: &str,
    seq: i64,
    question: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO escalation_information (escalation_id, seq, question, \
         asked_by_user_id, asked_by_name, asked_by_role, ask_at, answer) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, '')",
    )
    .bind(id)
    .bind(seq)
    .bind(question)
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Answers question number `seq`.
pub async fn answer(
    tx: &mut Tx,
    id: &str,
    seq: i64,
    answer: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE escalation_information SET answer = $3, answered_by_user_id = $4, \
         answered_by_name = $5, answered_by_role = $6, answer_at = $7 \
         WHERE escalation_id = $1 AND seq = $2",
    )
    .bind(id)
    .bind(seq)
    .bind(answer)
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The department's decision and its corrective actions, numbered in order.
pub async fn decide(
    tx: &mut Tx,
    id: &str,
    decision: &str,
    corrective_actions: &[String],
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    let text = Some(("decision", decision));
    set_actor(tx, id, text, "decided_by", "decide_at", by, now).await?;
    for (i, action) in corrective_actions.iter().enumerate() {
        sqlx::query(
            "INSERT INTO escalation_corrective_actions (escalation_id, seq, action) \
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(action)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn close(
    tx: &mut Tx,
    id: &str,
    note: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    let text = Some(("close_note", note));
    set_actor(tx, id, text, "closed_by", "close_at", by, now).await
}

/// Records who took a step and when (`<prefix>_user_id`, `_name`, `_role`, `at_column`), and
/// the step's text in its column when it has one. Column names are this file's constants.
async fn set_actor(
    tx: &mut Tx,
    id: &str,
    text: Option<(&str, &str)>,
    prefix: &str,
    at_column: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    let text_column = text.map_or(String::new(), |(column, _)| format!("{column} = $6, "));
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE escalations SET {text_column}{prefix}_user_id = $2, {prefix}_name = $3, \
         {prefix}_role = $4, {at_column} = $5 WHERE id = $1"
    ));
    let mut query = sqlx::query(sql)
        .bind(id)
        .bind(&by.user_id)
        .bind(&by.name)
        .bind(&by.role)
        .bind(to_micros(now));
    if let Some((_, value)) = text {
        query = query.bind(value);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// How many escalations of `property_id` are in each state, by state code.
pub async fn count_by_state(db: &Db, property_id: &str) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT state, COUNT(*) FROM escalations WHERE property_id = $1 GROUP BY state \
         ORDER BY state",
    )
    .bind(property_id)
    .fetch_all(db.pool())
    .await?)
}

fn actor(row: &AnyRow, prefix: &str, at: &str) -> Result<Option<(Actor, DateTime<Utc>)>> {
    let user_id: Option<String> = row.try_get(format!("{prefix}_user_id").as_str())?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let when: Option<i64> = row.try_get(at)?;
    Ok(Some((
        Actor {
            user_id,
            name: row
                .try_get::<Option<String>, _>(format!("{prefix}_name").as_str())?
                .unwrap_or_default(),
            role: row
                .try_get::<Option<String>, _>(format!("{prefix}_role").as_str())?
                .unwrap_or_default(),
        },
        from_micros(when.unwrap_or_default()),
    )))
}

fn decode_state(state: &str) -> Result<State> {
    Ok(State::from_code(state)
        .ok_or_else(|| anyhow::anyhow!("unknown escalation state {state}"))?)
}

fn from_row(row: &AnyRow) -> Result<Escalation> {
    Ok(Escalation {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        complaint_id: row.try_get("complaint_id")?,
        complaint_number: row.try_get("complaint_number")?,
        severity: row.try_get("severity")?,
        category: row.try_get("category")?,
        state: decode_state(row.try_get("state")?)?,
        received_at: from_micros(row.try_get("receive_at")?),
        reasons: Vec::new(),
        assignee: actor(row, "assignee", "assign_at")?,
        information: Vec::new(),
        decision: row.try_get("decision")?,
        corrective_actions: Vec::new(),
        decided: actor(row, "decided_by", "decide_at")?,
        close_note: row.try_get("close_note")?,
        closed: actor(row, "closed_by", "close_at")?,
        updated_at: from_micros(row.try_get("update_at")?),
    })
}

/// Fills in the reasons, questions and corrective actions of `list`.
async fn complete(db: &Db, mut list: Vec<Escalation>) -> Result<Vec<Escalation>> {
    for e in &mut list {
        let reasons: Vec<(String, String, i64, String, i64)> = sqlx::query_as(
            "SELECT reason, detail, receive_at, source, source_seq FROM escalation_reasons \
             WHERE escalation_id = $1 ORDER BY receive_at, reason",
        )
        .bind(&e.id)
        .fetch_all(db.pool())
        .await?;
        e.reasons = reasons
            .into_iter()
            .map(|(reason, detail, at, source, source_seq)| {
                Ok(ReasonReceived {
                    reason: Reason::from_code(&reason)
                        .ok_or_else(|| anyhow::anyhow!("unknown escalation reason {reason}"))?,
                    detail,
                    received_at: from_micros(at),
                    source,
                    source_seq,
                })
            })
            .collect::<Result<_>>()?;
        let rows = sqlx::query(
            "SELECT seq, question, asked_by_user_id, asked_by_name, asked_by_role, ask_at, answer, \
             answered_by_user_id, answered_by_name, answered_by_role, answer_at \
             FROM escalation_information WHERE escalation_id = $1 ORDER BY seq",
        )
        .bind(&e.id)
        .fetch_all(db.pool())
        .await?;
        e.information = rows
            .iter()
            .map(|r| {
                let answer = actor(r, "answered_by", "answer_at")?
                    .map(|(by, at)| Ok::<_, Error>((r.try_get("answer")?, by, at)))
                    .transpose()?;
                Ok(Information {
                    seq: r.try_get("seq")?,
                    question: r.try_get("question")?,
                    asked_by: Actor {
                        user_id: r.try_get("asked_by_user_id")?,
                        name: r.try_get("asked_by_name")?,
                        role: r.try_get("asked_by_role")?,
                    },
                    asked_at: from_micros(r.try_get("ask_at")?),
                    answer,
                })
            })
            .collect::<Result<_>>()?;
        let actions: Vec<(String,)> = sqlx::query_as(
            "SELECT action FROM escalation_corrective_actions WHERE escalation_id = $1 ORDER BY seq",
        )
        .bind(&e.id)
        .fetch_all(db.pool())
        .await?;
        e.corrective_actions = actions.into_iter().map(|(a,)| a).collect();
    }
    Ok(list)
}
