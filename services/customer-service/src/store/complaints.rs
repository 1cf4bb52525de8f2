use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Db, Tx, from_micros, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
    outbox::Outbox,
    time::to_timestamp,
};
use wuye_proto::events::{
    ComplaintClosed, ComplaintMarkedMajor, ComplaintRecurring, ComplaintRegistered,
    ComplaintReplyOverdue, ComplaintUnresolved, event::Payload,
};

use super::{Store, decode};
use crate::{
    domain::{
        analysis::{ComplaintFacts, Group, Recurrence},
        complaints::{
            self as rules, Action, Channel, Complainant, Complaint, Escalation, EscalationState,
            Severity, State, Step, StepRecord,
        },
    },
    grpc::severity_to_proto,
};

const COLUMNS: &str = "id, property_id, number, channel, complainant_name, complainant_phone_sealed, \
    unit_id, category, description, severity, state, register_at, reply_due_at, \
    registered_by_id, registered_by_name, registered_by_role, team, plan, remedial_measures, \
    handling_report, reply_at, close_at, results_told, major_reason, escalation_state, \
    escalation_decision, escalation_at, version";

/// Takes the next number of the property's call and visit log (CMP-2). The counter row stays
/// locked until the transaction ends, so concurrent registrations queue for their numbers and
/// a rollback gives the number back.
pub async fn next_number(tx: &mut Tx, property_id: &str) -> Result<i64> {
    let (number,): (i64,) = sqlx::query_as(
        "INSERT INTO contact_numbers (property_id, last_number) VALUES ($1, 1) \
         ON CONFLICT (property_id) DO UPDATE SET last_number = contact_numbers.last_number + 1 \
         RETURNING last_number",
    )
    .bind(property_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(number)
}

/// Writes a new complaint with its registration step.
async fn insert(store: &Store, tx: &mut Tx, c: &Complaint) -> Result<()> {
    let phone = store.seal(
        "complaints",
        &c.id,
        "complainant_phone",
        &c.complainant.phone,
    )?;
    sqlx::query(
        "INSERT INTO complaints (id, property_id, number, channel, complainant_name, \
         complainant_phone, complainant_phone_sealed, unit_id, category, description, severity, \
         state, register_at, reply_due_at, registered_by_id, registered_by_name, \
         registered_by_role) \
         VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&c.id)
    .bind(&c.property_id)
    .bind(c.number)
    .bind(c.channel.code())
    .bind(&c.complainant.name)
    .bind(phone)
    .bind(c.unit_id.as_deref())
    .bind(&c.category)
    .bind(&c.description)
    .bind(c.severity.code())
    .bind(c.state.code())
    .bind(to_micros(c.registered_at))
    .bind(to_micros(c.reply_due_at))
    .bind(&c.registered_by.user_id)
    .bind(&c.registered_by.name)
    .bind(&c.registered_by.role)
    .execute(&mut **tx)
    .await?;
    for step in &c.steps {
        insert_step(tx, &c.id, step).await?;
    }
    Ok(())
}

async fn insert_step(tx: &mut Tx, complaint_id: &str, s: &StepRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO complaint_steps (complaint_id, seq, action, from_state, to_state, actor_id, \
         actor_name, actor_role, at, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(complaint_id)
    .bind(i64::from(s.seq))
    .bind(s.action.code())
    .bind(s.from.code())
    .bind(s.to.code())
    .bind(&s.actor.user_id)
    .bind(&s.actor.name)
    .bind(&s.actor.role)
    .bind(to_micros(s.at))
    .bind(&s.note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A complaint with its steps.
pub async fn get(db: &Store, property_id: &str, id: &str) -> Result<Option<Complaint>> {
    let mut conn = db.pool().acquire().await?;
    load(db, &mut conn, property_id, id)
        .await
        .map(|found| found.map(|(c, _)| c))
}

/// The complaint of a number, with its steps.
pub async fn get_by_number(
    db: &Store,
    property_id: &str,
    number: i64,
) -> Result<Option<Complaint>> {
    let id: Option<(String,)> =
        sqlx::query_as("SELECT id FROM complaints WHERE property_id = $1 AND number = $2")
            .bind(property_id)
            .bind(number)
            .fetch_optional(db.pool())
            .await?;
    match id {
        Some((id,)) => get(db, property_id, &id).await,
        None => Ok(None),
    }
}

/// A complaint with its steps and its version, on any connection or transaction.
async fn load(
    store: &Store,
    conn: &mut sqlx::AnyConnection,
    property_id: &str,
    id: &str,
) -> Result<Option<(Complaint, i64)>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 AND id = $2"
    ));
    let Some(row) = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut complaint = from_row(store, &row)?;
    let version: i64 = row.try_get("version")?;
    let steps = sqlx::query(
        "SELECT seq, action, from_state, to_state, actor_id, actor_name, actor_role, at, note \
         FROM complaint_steps WHERE complaint_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    complaint.steps = steps
        .iter()
        .map(|r| {
            Ok(StepRecord {
                seq: r.try_get::<i64, _>("seq")? as u32,
                action: decode(r.try_get("action")?, Action::from_code, "step action")?,
                from: decode(
                    r.try_get("from_state")?,
                    State::from_code,
                    "complaint state",
                )?,
                to: decode(r.try_get("to_state")?, State::from_code, "complaint state")?,
                actor: Actor {
                    user_id: r.try_get("actor_id")?,
                    name: r.try_get("actor_name")?,
                    role: r.try_get("actor_role")?,
                },
                at: from_micros(r.try_get("at")?),
                note: r.try_get("note")?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some((complaint, version)))
}

/// Which complaints a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub severity: Option<Severity>,
    /// Only numbers below this one (the page token).
    pub before_number: Option<i64>,
}

/// Complaints of the property, newest number first, without their steps.
pub async fn list(
    db: &Store,
    property_id: &str,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Complaint>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 \
         AND ($2 = '' OR state = $2) AND ($3 = '' OR severity = $3) AND number < $4 \
         ORDER BY number DESC LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(filter.state.map(State::code).unwrap_or_default())
        .bind(filter.severity.map(Severity::code).unwrap_or_default())
        .bind(filter.before_number.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|row| from_row(db, row)).collect()
}

/// Complaints past their reply deadline without a reply (CMP-3), oldest deadline first,
/// after the page key (deadline, number).
pub async fn list_overdue(
    db: &Store,
    property_id: &str,
    now: DateTime<Utc>,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<Complaint>> {
    let (due, number) = after.unwrap_or((i64::MIN, 0));
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 AND reply_at IS NULL \
         AND state <> 'closed' AND reply_due_at < $2 AND (reply_due_at, number) > ($3, $4) \
         ORDER BY reply_due_at, number LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(now))
        .bind(due)
        .bind(number)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|row| from_row(db, row)).collect()
}

fn from_row(store: &Store, row: &AnyRow) -> Result<Complaint> {
    let id: String = row.try_get("id")?;
    let escalation = match row.try_get::<Option<String>, _>("escalation_state")? {
        Some(code) => Some(Escalation {
            state: decode(&code, EscalationState::from_code, "escalation state")?,
            decision: row.try_get("escalation_decision")?,
            updated_at: from_micros(
                row.try_get::<Option<i64>, _>("escalation_at")?
                    .unwrap_or_default(),
            ),
        }),
        None => None,
    };
    let phone = store.open("complaints", &id, "complainant_phone", row)?;
    Ok(Complaint {
        id,
        property_id: row.try_get("property_id")?,
        number: row.try_get("number")?,
        channel: decode(row.try_get("channel")?, Channel::from_code, "channel")?,
        complainant: Complainant {
            name: row.try_get("complainant_name")?,
            phone,
        },
        unit_id: row.try_get("unit_id")?,
        category: row.try_get("category")?,
        description: row.try_get("description")?,
        severity: decode(row.try_get("severity")?, Severity::from_code, "severity")?,
        state: decode(row.try_get("state")?, State::from_code, "complaint state")?,
        registered_at: from_micros(row.try_get("register_at")?),
        reply_due_at: from_micros(row.try_get("reply_due_at")?),
        registered_by: Actor {
            user_id: row.try_get("registered_by_id")?,
            name: row.try_get("registered_by_name")?,
            role: row.try_get("registered_by_role")?,
        },
        team: row.try_get("team")?,
        plan: row.try_get("plan")?,
        remedial_measures: row.try_get("remedial_measures")?,
        handling_report: row.try_get("handling_report")?,
        replied_at: row.try_get::<Option<i64>, _>("reply_at")?.map(from_micros),
        closed_at: row.try_get::<Option<i64>, _>("close_at")?.map(from_micros),
        results_told: row.try_get::<i64, _>("results_told")? as u32,
        major: row.try_get("major_reason")?,
        escalation,
        steps: Vec::new(),
    })
}

/// What registering found.
pub enum Registered {
    New(Box<Complaint>),
    /// A retry of `request_id`: the complaint the first call registered.
    Retry(String),
}

/// Registers `c` in one transaction: the request id, the number (the log entry's it comes
/// from, or the next one), the log entry, the complaint and its `ComplaintRegistered` event;
/// and `ComplaintRecurring` when it makes its problem recurrent under `recurrence`.
pub async fn register(
    db: &Store,
    outbox: &Outbox,
    request_id: &RequestId,
    contact_number: Option<i64>,
    mut c: Complaint,
    recurrence: &Recurrence,
) -> Result<Registered> {
    let mut tx = db.begin().await?;
    let scope = format!("CreateComplaint/{}", c.property_id);
    let now = to_micros(c.registered_at);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, db.keyring(), &scope, request_id, &c.id, now).await?
    {
        return Ok(Registered::Retry(id));
    }
    if let Some(unit_id) = &c.unit_id
        && !super::units::exists(&mut tx, &c.property_id, unit_id).await?
    {
        return Err(Error::invalid("unit_id", "is not a unit of this property"));
    }
    c.number = match contact_number {
        Some(number) => super::contacts::make_complaint(&mut tx, &c, number).await?,
        None => {
            let number = next_number(&mut tx, &c.property_id).await?;
            super::contacts::insert_for_complaint(db, &mut tx, &c, number).await?;
            number
        }
    };
    insert(db, &mut tx, &c).await?;
    let event = Payload::ComplaintRegistered(ComplaintRegistered {
        complaint_id: c.id.clone(),
        number: c.number,
        severity: severity_to_proto(c.severity).into(),
        category: c.category.clone(),
        unit_id: c.unit_id.clone().unwrap_or_default(),
        reply_due_time: Some(to_timestamp(c.reply_due_at)),
    });
    outbox.append(&mut tx, &c.property_id, event).await?;
    if let Some(unit_id) = &c.unit_id {
        note_recurring(&mut tx, outbox, &c, unit_id, recurrence).await?;
    }
    tx.commit().await?;
    outbox.notify();
    Ok(Registered::New(Box::new(c)))
}

/// rules CMP-9, ESC-2: announces the problem of `c` (its category at its unit's building) once
/// in the half-year, when this complaint brings it to the threshold. The problem's row is
/// locked first, so concurrent registrations of one problem count one after the other.
async fn note_recurring(
    tx: &mut Tx,
    outbox: &Outbox,
    c: &Complaint,
    unit_id: &str,
    recurrence: &Recurrence,
) -> Result<()> {
    let (building,): (String,) =
        sqlx::query_as("SELECT building FROM units WHERE property_id = $1 AND id = $2")
            .bind(&c.property_id)
            .bind(unit_id)
            .fetch_one(&mut **tx)
            .await?;
    let (noted,): (i64,) = sqlx::query_as(
        "INSERT INTO recurring_problems (property_id, category, building, period) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (property_id, category, building, period) \
         DO UPDATE SET noted = recurring_problems.noted RETURNING noted",
    )
    .bind(&c.property_id)
    .bind(&c.category)
    .bind(&building)
    .bind(&recurrence.period)
    .fetch_one(&mut **tx)
    .await?;
    if noted != 0 {
        return Ok(());
    }
    let numbers: Vec<(i64,)> = sqlx::query_as(
        "SELECT c.number FROM complaints c JOIN units u ON u.id = c.unit_id \
         WHERE c.property_id = $1 AND c.category = $2 AND u.building = $3 \
         AND c.register_at >= $4 AND c.register_at < $5 ORDER BY c.number",
    )
    .bind(&c.property_id)
    .bind(&c.category)
    .bind(&building)
    .bind(to_micros(recurrence.from))
    .bind(to_micros(recurrence.to))
    .fetch_all(&mut **tx)
    .await?;
    if !recurrence.reached(numbers.len()) {
        return Ok(());
    }
    sqlx::query(
        "UPDATE recurring_problems SET noted = 1 WHERE property_id = $1 AND category = $2 \
         AND building = $3 AND period = $4",
    )
    .bind(&c.property_id)
    .bind(&c.category)
    .bind(&building)
    .bind(&recurrence.period)
    .execute(&mut **tx)
    .await?;
    let event = Payload::ComplaintRecurring(ComplaintRecurring {
        complaint_id: c.id.clone(),
        number: c.number,
        severity: severity_to_proto(c.severity).into(),
        category: c.category.clone(),
        building,
        period: recurrence.period.clone(),
        numbers: numbers.into_iter().map(|(n,)| n).collect(),
    });
    outbox.append(tx, &c.property_id, event).await?;
    Ok(())
}

/// Takes a step of the complaint's life in one transaction: the rule check on the stored
/// complaint, its new fields, the step, and the event the step announces.
pub async fn take_step(
    db: &Store,
    outbox: &Outbox,
    property_id: &str,
    id: &str,
    step: Step,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Complaint> {
    // A concurrent step on the same complaint makes ours start again from what it left.
    for _ in 0..5 {
        let mut tx = db.begin().await?;
        let (complaint, version) = load(db, &mut tx, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("complaint", id))?;
        let next = rules::apply(&complaint, step.clone(), actor, now)?;
        let updated = sqlx::query(
            "UPDATE complaints SET state = $3, team = $4, plan = $5, remedial_measures = $6, \
             handling_report = $7, reply_at = $8, close_at = $9, results_told = $10, \
             major_reason = $11, version = version + 1 WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .bind(next.state.code())
        .bind(&next.team)
        .bind(&next.plan)
        .bind(&next.remedial_measures)
        .bind(&next.handling_report)
        .bind(next.replied_at.map(to_micros))
        .bind(next.closed_at.map(to_micros))
        .bind(i64::from(next.results_told))
        .bind(next.major.as_deref())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            continue;
        }
        let step = next.steps.last().expect("apply records the step");
        insert_step(&mut tx, id, step).await?;
        let event = match step.action {
            Action::MarkMajor => Some(Payload::ComplaintMarkedMajor(ComplaintMarkedMajor {
                complaint_id: id.to_owned(),
                number: next.number,
                severity: severity_to_proto(next.severity).into(),
                category: next.category.clone(),
                reason: next.major.clone().unwrap_or_default(),
            })),
            Action::CustomerSatisfied => Some(Payload::ComplaintClosed(ComplaintClosed {
                complaint_id: id.to_owned(),
                number: next.number,
                close_time: Some(to_timestamp(now)),
            })),
            _ => None,
        };
        if let Some(event) = event {
            outbox.append(&mut tx, property_id, event).await?;
        }
        tx.commit().await?;
        outbox.notify();
        return Ok(next);
    }
    Err(Error::Unavailable(
        "the complaint is changing too often: try again".into(),
    ))
}

/// Records the quality department's handling of an escalated complaint (ESC-3).
pub async fn record_escalation(
    db: &Db,
    property_id: &str,
    id: &str,
    escalation: &Escalation,
) -> Result<()> {
    let updated = sqlx::query(
        "UPDATE complaints SET escalation_state = $3, escalation_decision = $4, escalation_at = $5, \
         version = version + 1 WHERE property_id = $1 AND id = $2",
    )
    .bind(property_id)
    .bind(id)
    .bind(escalation.state.code())
    .bind(&escalation.decision)
    .bind(to_micros(escalation.updated_at))
    .execute(db.pool())
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(Error::not_found("complaint", id));
    }
    Ok(())
}

/// The facts the analysis needs of the complaints registered in [from, to).
pub async fn facts(
    db: &Db,
    property_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ComplaintFacts>> {
    let rows = sqlx::query(
        "SELECT c.number, c.category, c.severity, c.channel, c.state, u.building, c.unit_id, \
         c.register_at, c.reply_due_at, c.reply_at, c.close_at, c.results_told \
         FROM complaints c LEFT JOIN units u ON u.id = c.unit_id \
         WHERE c.property_id = $1 AND c.register_at >= $2 AND c.register_at < $3",
    )
    .bind(property_id)
    .bind(to_micros(from))
    .bind(to_micros(to))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ComplaintFacts {
                number: r.try_get("number")?,
                category: r.try_get("category")?,
                severity: decode(r.try_get("severity")?, Severity::from_code, "severity")?,
                channel: decode(r.try_get("channel")?, Channel::from_code, "channel")?,
                state: decode(r.try_get("state")?, State::from_code, "complaint state")?,
                building: r.try_get("building")?,
                unit_id: r.try_get("unit_id")?,
                registered_at: from_micros(r.try_get("register_at")?),
                reply_due_at: from_micros(r.try_get("reply_due_at")?),
                replied_at: r.try_get::<Option<i64>, _>("reply_at")?.map(from_micros),
                closed_at: r.try_get::<Option<i64>, _>("close_at")?.map(from_micros),
                results_told: r.try_get::<i64, _>("results_told")? as u32,
            })
        })
        .collect()
}

/// The complaints registered in [from, to) grouped by severity and state, with their replies
/// due and on time at `now`. The rule is [`crate::domain::analysis::analyse`]'s (CMP-3): a
/// reply is due once given or once its deadline has passed, and on time if given by the
/// deadline. The database sums, so a portfolio of many properties reads a few rows of each.
pub async fn period_counts(
    db: &Db,
    property_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Group>> {
    let rows = sqlx::query(
        "SELECT severity, state, COUNT(*) AS complaints, \
         SUM(CASE WHEN reply_at IS NOT NULL OR reply_due_at < $4 THEN 1 ELSE 0 END) \
         AS replies_due, \
         SUM(CASE WHEN reply_at <= reply_due_at THEN 1 ELSE 0 END) AS replies_on_time \
         FROM complaints \
         WHERE property_id = $1 AND register_at >= $2 AND register_at < $3 \
         GROUP BY severity, state",
    )
    .bind(property_id)
    .bind(to_micros(from))
    .bind(to_micros(to))
    .bind(to_micros(now))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Group {
                severity: decode(r.try_get("severity")?, Severity::from_code, "severity")?,
                state: decode(r.try_get("state")?, State::from_code, "complaint state")?,
                complaints: r.try_get("complaints")?,
                replies_due: r.try_get("replies_due")?,
                replies_on_time: r.try_get("replies_on_time")?,
            })
        })
        .collect()
}

/// Announces, once each, the complaints whose reply deadline passed without a reply and those
/// still open `unresolved_days` after registration, for the escalation relay (ESC-2).
/// Returns how many facts were written.
pub async fn note_overdue(
    db: &Store,
    outbox: &Outbox,
    property_id: &str,
    unresolved_days: u32,
    now: DateTime<Utc>,
) -> Result<usize> {
    const BATCH: i64 = 200;
    // Read first: most sweeps find nothing and take no write lock.
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 AND reply_overdue_noted = 0 \
         AND reply_at IS NULL AND state <> 'closed' AND reply_due_at < $2 \
         ORDER BY reply_due_at LIMIT $3"
    ));
    let overdue = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(now))
        .bind(BATCH)
        .fetch_all(db.pool())
        .await?;
    let since = now - chrono::Duration::days(i64::from(unresolved_days));
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 AND unresolved_noted = 0 \
         AND state <> 'closed' AND register_at < $2 ORDER BY register_at LIMIT $3"
    ));
    let unresolved = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(since))
        .bind(BATCH)
        .fetch_all(db.pool())
        .await?;
    if overdue.is_empty() && unresolved.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let mut written = 0;
    for row in &overdue {
        let c = from_row(db, row)?;
        // Conditional, so two sweepers never announce the same complaint twice.
        let claimed = sqlx::query(
            "UPDATE complaints SET reply_overdue_noted = 1 WHERE id = $1 AND reply_overdue_noted = 0 \
             AND reply_at IS NULL",
        )
        .bind(&c.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            let event = Payload::ComplaintReplyOverdue(ComplaintReplyOverdue {
                complaint_id: c.id.clone(),
                number: c.number,
                severity: severity_to_proto(c.severity).into(),
                category: c.category.clone(),
                reply_due_time: Some(to_timestamp(c.reply_due_at)),
            });
            outbox.append(&mut tx, property_id, event).await?;
            written += 1;
        }
    }
    for row in &unresolved {
        let c = from_row(db, row)?;
        let claimed = sqlx::query(
            "UPDATE complaints SET unresolved_noted = 1 WHERE id = $1 AND unresolved_noted = 0 \
             AND state <> 'closed'",
        )
        .bind(&c.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            let event = Payload::ComplaintUnresolved(ComplaintUnresolved {
                complaint_id: c.id.clone(),
                number: c.number,
                severity: severity_to_proto(c.severity).into(),
                category: c.category.clone(),
                register_time: Some(to_timestamp(c.registered_at)),
            });
            outbox.append(&mut tx, property_id, event).await?;
            written += 1;
        }
    }
    tx.commit().await?;
    outbox.notify();
    Ok(written)
}
