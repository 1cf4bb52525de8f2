//! The SQL of the escalation inbox. A change and the event that tells the property commit
//! together (the outbox).

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
    outbox::Outbox,
    time::to_timestamp,
};
use wuye_proto::events::{EscalationUpdated, event::Payload};

use crate::domain::{
    self, Escalation, Information, Reason, ReasonReceived, State, Step, property_text,
};

const COLUMNS: &str = "id, property_id, complaint_id, complaint_number, severity, category, state, \
    receive_at, assignee_user_id, assignee_name, assignee_role, assign_at, decision, \
    decided_by_user_id, decided_by_name, decided_by_role, decide_at, close_note, \
    closed_by_user_id, closed_by_name, closed_by_role, close_at, update_at";

/// An escalation as the relay delivers it.
pub struct Delivery {
    pub property_id: String,
    pub source: String,
    pub source_seq: i64,
    pub complaint_id: String,
    pub complaint_number: i64,
    pub severity: String,
    pub category: String,
    pub reason: Reason,
    pub detail: String,
}

/// Records a delivery: the escalation of the complaint (created on its first reason), the
/// reason once, and the source's position. Returns the escalation's id and whether the reason
/// was new.
pub async fn receive(
    db: &Db,
    outbox: &Outbox,
    d: &Delivery,
    now: DateTime<Utc>,
) -> Result<(String, bool)> {
    let mut tx = db.begin().await?;
    let id = uuid::Uuid::now_v7().to_string();
    let created = sqlx::query(
        "INSERT INTO escalations (id, property_id, complaint_id, complaint_number, severity, \
         category, state, receive_at, decision, close_note, update_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', '', $8) \
         ON CONFLICT (property_id, complaint_id) DO NOTHING",
    )
    .bind(&id)
    .bind(&d.property_id)
    .bind(&d.complaint_id)
    .bind(d.complaint_number)
    .bind(&d.severity)
    .bind(&d.category)
    .bind(State::Received.code())
    .bind(to_micros(now))
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let (id, state): (String, String) = sqlx::query_as(
        "SELECT id, state FROM escalations WHERE property_id = $1 AND complaint_id = $2",
    )
    .bind(&d.property_id)
    .bind(&d.complaint_id)
    .fetch_one(&mut *tx)
    .await?;
    let new_reason = sqlx::query(
        "INSERT INTO escalation_reasons (escalation_id, reason, detail, receive_at, source, \
         source_seq) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (escalation_id, reason) DO NOTHING",
    )
    .bind(&id)
    .bind(d.reason.code())
    .bind(&d.detail)
    .bind(to_micros(now))
    .bind(&d.source)
    .bind(d.source_seq)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    // A new reason for an escalation the department had closed opens it again.
    let reopened = new_reason
        && !created
        && state == State::Closed.code()
        && sqlx::query(
            "UPDATE escalations SET state = $2, update_at = $3 WHERE id = $1 AND state = $4",
        )
        .bind(&id)
        .bind(State::Received.code())
        .bind(to_micros(now))
        .bind(State::Closed.code())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
    advance_received(&mut tx, &d.source, d.source_seq).await?;
    let announce = created || reopened;
    if announce {
        let event = updated_event(&id, d, State::Received, String::new(), now);
        outbox.append(&mut tx, &d.property_id, event).await?;
    }
    tx.commit().await?;
    if announce {
        outbox.notify();
    }
    Ok((id, new_reason))
}

fn updated_event(
    id: &str,
    d: &Delivery,
    state: State,
    text: String,
    now: DateTime<Utc>,
) -> Payload {
    Payload::EscalationUpdated(EscalationUpdated {
        escalation_id: id.to_owned(),
        complaint_id: d.complaint_id.clone(),
        complaint_number: d.complaint_number,
        state: crate::grpc::state_to_proto(state).into(),
        text,
        update_time: Some(to_timestamp(now)),
    })
}

async fn advance_received(tx: &mut Tx, source: &str, seq: i64) -> Result<()> {
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

/// Takes `step` on the escalation `id` for `actor`; returns the escalation after it.
pub async fn apply(
    db: &Db,
    outbox: &Outbox,
    id: &str,
    step: &Step,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Escalation> {
    let before = get(db, id).await?;
    let state = domain::next_state(before.state, step)?;
    let at = to_micros(now);
    let mut tx = db.begin().await?;
    // Conditional on the state read, so two officers racing cannot both take a step.
    let moved = sqlx::query(
        "UPDATE escalations SET state = $2, update_at = $3 WHERE id = $1 AND state = $4",
    )
    .bind(id)
    .bind(state.code())
    .bind(at)
    .bind(before.state.code())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Err(Error::Unavailable(
            "the escalation changed meanwhile: try again".into(),
        ));
    }
    let mut question = None;
    let mut decision = before.decision.clone();
    let mut actions = before.corrective_actions.clone();
    match step {
        Step::Assign { assignee } => {
            sqlx::query(
                "UPDATE escalations SET assignee_user_id = $2, assignee_name = $3, \
                 assignee_role = $4, assign_at = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(&assignee.user_id)
            .bind(&assignee.name)
            .bind(&assignee.role)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        Step::RequestInformation { question: q } => {
            let seq = before.information.len() as i64 + 1;
            sqlx::query(
                "INSERT INTO escalation_information (escalation_id, seq, question, \
                 asked_by_user_id, asked_by_name, asked_by_role, ask_at, answer) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, '')",
            )
            .bind(id)
            .bind(seq)
            .bind(q)
            .bind(&actor.user_id)
            .bind(&actor.name)
            .bind(&actor.role)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            question = Some(q.as_str());
        }
        Step::ProvideInformation { answer } => {
            sqlx::query(
                "UPDATE escalation_information SET answer = $3, answered_by_user_id = $4, \
                 answered_by_name = $5, answered_by_role = $6, answer_at = $7 \
                 WHERE escalation_id = $1 AND seq = $2",
            )
            .bind(id)
            .bind(before.information.len() as i64)
            .bind(answer)
            .bind(&actor.user_id)
            .bind(&actor.name)
            .bind(&actor.role)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        Step::Decide {
            decision: d,
            corrective_actions,
        } => {
            sqlx::query(
                "UPDATE escalations SET decision = $2, decided_by_user_id = $3, \
                 decided_by_name = $4, decided_by_role = $5, decide_at = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(d)
            .bind(&actor.user_id)
            .bind(&actor.name)
            .bind(&actor.role)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            for (i, action) in corrective_actions.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO escalation_corrective_actions (escalation_id, seq, action) \
                     VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(i as i64 + 1)
                .bind(action)
                .execute(&mut *tx)
                .await?;
            }
            decision = d.clone();
            actions = corrective_actions.clone();
        }
        Step::Close { note } => {
            sqlx::query(
                "UPDATE escalations SET close_note = $2, closed_by_user_id = $3, \
                 closed_by_name = $4, closed_by_role = $5, close_at = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(note)
            .bind(&actor.user_id)
            .bind(&actor.name)
            .bind(&actor.role)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
    }
    let announce = state != before.state;
    if announce {
        let event = Payload::EscalationUpdated(EscalationUpdated {
            escalation_id: id.to_owned(),
            complaint_id: before.complaint_id.clone(),
            complaint_number: before.complaint_number,
            state: crate::grpc::state_to_proto(state).into(),
            text: property_text(state, question, &decision, &actions),
            update_time: Some(to_timestamp(now)),
        });
        outbox.append(&mut tx, &before.property_id, event).await?;
    }
    tx.commit().await?;
    if announce {
        outbox.notify();
    }
    get(db, id).await
}

/// Escalations of `property_id` by state code, and how many are not closed.
pub async fn figures(db: &Db, property_id: &str) -> Result<(i64, Vec<(String, i64)>)> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM escalations WHERE property_id = $1 GROUP BY state \
         ORDER BY state",
    )
    .bind(property_id)
    .fetch_all(db.pool())
    .await?;
    let open = rows
        .iter()
        .filter(|(state, _)| state != State::Closed.code())
        .map(|(_, n)| n)
        .sum();
    Ok((open, rows))
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

fn from_row(row: &AnyRow) -> Result<Escalation> {
    let state: String = row.try_get("state")?;
    Ok(Escalation {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        complaint_id: row.try_get("complaint_id")?,
        complaint_number: row.try_get("complaint_number")?,
        severity: row.try_get("severity")?,
        category: row.try_get("category")?,
        state: State::from_code(&state)
            .ok_or_else(|| anyhow::anyhow!("unknown escalation state {state}"))?,
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
