use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
};

use super::{Store, decode};
use crate::domain::{
    analysis::{ComplaintFacts, Group},
    complaints::{
        Action, Channel, Complainant, Complaint, Escalation, EscalationState, Filter, Severity,
        State, StepRecord,
    },
    normalize_phone,
    units::part,
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
pub async fn insert(store: &Store, tx: &mut Tx, c: &Complaint) -> Result<()> {
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
         registered_by_role, complainant_phone_index) \
         VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
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
    .bind(phone_index(store, &c.complainant.phone))
    .execute(&mut **tx)
    .await?;
    for step in &c.steps {
        insert_step(tx, &c.id, step).await?;
    }
    Ok(())
}

/// Writes one step of a complaint's life.
pub async fn insert_step(tx: &mut Tx, complaint_id: &str, s: &StepRecord) -> Result<()> {
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
pub async fn load(
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

/// The blind index of a complainant's phone (ARC-6): of its normalized form, or of the text
/// as written when it has none; NULL without a phone.
fn phone_index(store: &Store, phone: &str) -> Option<Vec<u8>> {
    let phone = phone.trim();
    if phone.is_empty() {
        return None;
    }
    let normalized = normalize_phone(phone).unwrap_or_else(|| phone.to_owned());
    Some(store.blind_index("complaints", "complainant_phone", &normalized))
}

/// The placeholder of the first candidate of the phone's blind index in [`list`].
const FIRST_PHONE_PLACEHOLDER: usize = 20;

/// Complaints of the property that pass `filter` at `now`, newest number first, without their
/// steps. Unused filters take a sentinel, so the query text stays the same for every
/// combination.
pub async fn list(
    db: &Store,
    property_id: &str,
    filter: &Filter,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Complaint>> {
    // The phone's index under each key of the ring: rows indexed before a rotation match too.
    let phones: Vec<String> = (0..db.blind_index_keys())
        .map(|i| format!("${}", FIRST_PHONE_PLACEHOLDER + i))
        .collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 \
         AND ($2 = '' OR state = $2) AND ($3 = '' OR severity = $3) AND number < $4 \
         AND ($5 = '' OR unit_id = $5) \
         AND ($6 = '' OR unit_id IN \
             (SELECT id FROM units WHERE property_id = $1 AND building IN ($6, $7))) \
         AND ($8 = '' OR category = $8) AND ($9 = '' OR team = $9) \
         AND register_at >= $10 AND register_at < $11 \
         AND ($12 = 0 OR (reply_at IS NULL AND state <> 'closed' \
             AND reply_due_at >= $13 AND reply_due_at < $14)) \
         AND ($15 = 0 OR number = $16 OR LOWER(description) LIKE $17 ESCAPE '\\') \
         AND ($18 = 0 OR complainant_phone_index IN ({})) \
         ORDER BY number DESC LIMIT $19",
        phones.join(", ")
    ));
    let (due_from, due_to) = match filter.reply {
        Some(reply) => {
            let (from, to) = reply.deadlines(now);
            (from.map_or(i64::MIN, to_micros), to_micros(to))
        }
        None => (i64::MIN, i64::MAX),
    };
    let building = filter.building.as_deref().unwrap_or_default();
    let query = filter.query.as_ref();
    let mut q = sqlx::query(sql)
        .bind(property_id)
        .bind(filter.state.map(State::code).unwrap_or_default())
        .bind(filter.severity.map(Severity::code).unwrap_or_default())
        .bind(filter.before_number.unwrap_or(i64::MAX))
        .bind(filter.unit_id.as_deref().unwrap_or_default())
        .bind(building)
        .bind(part(building))
        .bind(filter.category.as_deref().unwrap_or_default())
        .bind(filter.team.as_deref().unwrap_or_default())
        .bind(filter.registered_from.map_or(i64::MIN, to_micros))
        .bind(filter.registered_to.map_or(i64::MAX, to_micros))
        .bind(i64::from(filter.reply.is_some()))
        .bind(due_from)
        .bind(due_to)
        .bind(i64::from(query.is_some()))
        .bind(query.and_then(|q| q.number).unwrap_or(0))
        .bind(query.map(|q| contains_pattern(&q.text)).unwrap_or_default())
        .bind(i64::from(filter.complainant_phone.is_some()))
        .bind(limit);
    let candidates = match &filter.complainant_phone {
        Some(phone) => db.blind_index_candidates("complaints", "complainant_phone", phone),
        None => vec![Vec::new(); phones.len()],
    };
    for candidate in candidates {
        q = q.bind(candidate);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter().map(|row| from_row(db, row)).collect()
}

/// The LIKE pattern of the descriptions containing `text`, its wildcards escaped.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Up to `limit` complaints with a sealed phone and no blind index yet (written before the
/// index, or by a replica of the previous version): their ids and phones.
pub async fn unindexed_phones(db: &Store, limit: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT id, complainant_phone_sealed FROM complaints \
         WHERE complainant_phone_index IS NULL AND complainant_phone_sealed IS NOT NULL \
         ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let phone = db.open("complaints", &id, "complainant_phone", row)?;
            Ok((id, phone))
        })
        .collect()
}

/// Writes the blind index of the complaint's phone, unless it has one.
pub async fn index_phone(db: &Store, id: &str, phone: &str) -> Result<()> {
    sqlx::query(
        "UPDATE complaints SET complainant_phone_index = $2 \
         WHERE id = $1 AND complainant_phone_index IS NULL",
    )
    .bind(id)
    // A sealed phone is never empty; an empty one would be indexed as an empty digest.
    .bind(phone_index(db, phone).unwrap_or_default())
    .execute(db.pool())
    .await?;
    Ok(())
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

/// Whether the property has the complaint.
pub async fn exists(tx: &mut Tx, property_id: &str, id: &str) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM complaints WHERE property_id = $1 AND id = $2")
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// The building of a unit of the property.
pub async fn building_of(tx: &mut Tx, property_id: &str, unit_id: &str) -> Result<String> {
    let (building,): (String,) =
        sqlx::query_as("SELECT building FROM units WHERE property_id = $1 AND id = $2")
            .bind(property_id)
            .bind(unit_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(building)
}

/// A recurring problem: its category at a building in an analysis period (CMP-9).
pub struct Problem<'a> {
    pub property_id: &'a str,
    pub category: &'a str,
    pub building: &'a str,
    pub period: &'a str,
}

/// Locks the problem's row, creating it, and tells whether it was announced already. The lock
/// makes concurrent registrations of one problem count one after the other.
pub async fn lock_problem(tx: &mut Tx, p: &Problem<'_>) -> Result<bool> {
    let (noted,): (i64,) = sqlx::query_as(
        "INSERT INTO recurring_problems (property_id, category, building, period) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (property_id, category, building, period) \
         DO UPDATE SET noted = recurring_problems.noted RETURNING noted",
    )
    .bind(p.property_id)
    .bind(p.category)
    .bind(p.building)
    .bind(p.period)
    .fetch_one(&mut **tx)
    .await?;
    Ok(noted != 0)
}

/// The numbers of the problem's complaints registered in [from, to), in order.
pub async fn problem_numbers(
    tx: &mut Tx,
    p: &Problem<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let numbers: Vec<(i64,)> = sqlx::query_as(
        "SELECT c.number FROM complaints c JOIN units u ON u.id = c.unit_id \
         WHERE c.property_id = $1 AND c.category = $2 AND u.building = $3 \
         AND c.register_at >= $4 AND c.register_at < $5 ORDER BY c.number",
    )
    .bind(p.property_id)
    .bind(p.category)
    .bind(p.building)
    .bind(to_micros(from))
    .bind(to_micros(to))
    .fetch_all(&mut **tx)
    .await?;
    Ok(numbers.into_iter().map(|(n,)| n).collect())
}

/// Marks the problem announced.
pub async fn note_problem(tx: &mut Tx, p: &Problem<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE recurring_problems SET noted = 1 WHERE property_id = $1 AND category = $2 \
         AND building = $3 AND period = $4",
    )
    .bind(p.property_id)
    .bind(p.category)
    .bind(p.building)
    .bind(p.period)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes the fields a step changes, if the complaint is still at `version`: whether it was.
pub async fn update(tx: &mut Tx, version: i64, next: &Complaint) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE complaints SET state = $3, team = $4, plan = $5, remedial_measures = $6, \
         handling_report = $7, reply_at = $8, close_at = $9, results_told = $10, \
         major_reason = $11, version = version + 1 WHERE id = $1 AND version = $2",
    )
    .bind(&next.id)
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
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Records the quality department's handling of an escalated complaint (ESC-3): whether the
/// property has the complaint.
pub async fn record_escalation(
    db: &Db,
    property_id: &str,
    id: &str,
    escalation: &Escalation,
) -> Result<bool> {
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
    Ok(updated == 1)
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

/// Complaints past their reply deadline without a reply and not announced yet (ESC-2),
/// oldest deadline first.
pub async fn overdue_unnoted(
    db: &Store,
    property_id: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Complaint>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 AND reply_overdue_noted = 0 \
         AND reply_at IS NULL AND state <> 'closed' AND reply_due_at < $2 \
         ORDER BY reply_due_at LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|row| from_row(db, row)).collect()
}

/// Open complaints registered before `since` and not announced as unresolved yet (ESC-2),
/// oldest first.
pub async fn unresolved_unnoted(
    db: &Store,
    property_id: &str,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Complaint>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 AND unresolved_noted = 0 \
         AND state <> 'closed' AND register_at < $2 ORDER BY register_at LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(since))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|row| from_row(db, row)).collect()
}

/// Marks the complaint's overdue reply announced, if it is still unannounced and unreplied:
/// whether this call marked it. Conditional, so two sweepers never announce it twice.
pub async fn note_reply_overdue(tx: &mut Tx, id: &str) -> Result<bool> {
    let claimed = sqlx::query(
        "UPDATE complaints SET reply_overdue_noted = 1 WHERE id = $1 AND reply_overdue_noted = 0 \
         AND reply_at IS NULL",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Marks the complaint announced as unresolved, if it is still unannounced and open: whether
/// this call marked it.
pub async fn note_unresolved(tx: &mut Tx, id: &str) -> Result<bool> {
    let claimed = sqlx::query(
        "UPDATE complaints SET unresolved_noted = 1 WHERE id = $1 AND unresolved_noted = 0 \
         AND state <> 'closed'",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}
