use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Tx, from_micros, to_micros},
    identity::Actor,
};

use super::{
    decode,
    duty::{open_faults_needing_both, open_incident_ids},
    flag, get_actor, get_flag, get_time,
};
use crate::domain::handover::{
    Arrival, Blocker, Briefing, Cleanliness, Count, EquipmentCheck, Fitness, Handover,
    HandoverRefusal, InventoryCheck, LastRecordReading, Observation, Preparation, Running, State,
    Surroundings,
};

const COLUMNS: &str = "id, property_id, state, outgoing_shift_id, outgoing_user_id, \
    incoming_shift_id, incoming_user_id, prepare_at, prepare_late, prepare_equipment_ok, \
    prepare_rooms_cleaned, prepare_note, arrive_at, arrive_late, fitness, equipment_check_at, \
    record_read_at, record_regular, record_note, inventory_check_at, cleanliness_at, clean, \
    cleanliness_note, brief_at, brief_summary, brief_points, both_clear, outgoing_sign_at, \
    incoming_sign_at, complete_at, stopped_by_fault_id";

fn from_row(row: &AnyRow) -> Result<Handover> {
    let arrival = match get_time(row, "arrive_at")? {
        None => None,
        Some(at) => Some(Arrival {
            at,
            late: get_flag(row, "arrive_late")?,
            fitness: decode(
                &row.try_get::<Option<String>, _>("fitness")?
                    .unwrap_or_default(),
                Fitness::from_code,
                "fitness",
            )?,
        }),
    };
    Ok(Handover {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        state: decode(row.try_get("state")?, State::from_code, "handover state")?,
        outgoing_shift_id: row.try_get("outgoing_shift_id")?,
        outgoing_user_id: row.try_get("outgoing_user_id")?,
        incoming_shift_id: row.try_get("incoming_shift_id")?,
        incoming_user_id: row.try_get("incoming_user_id")?,
        preparation: Preparation {
            at: from_micros(row.try_get("prepare_at")?),
            late: get_flag(row, "prepare_late")?,
            equipment_ok: get_flag(row, "prepare_equipment_ok")?,
            rooms_cleaned: get_flag(row, "prepare_rooms_cleaned")?,
            note: row.try_get("prepare_note")?,
        },
        arrival,
        // Filled in from their own tables.
        equipment_check: get_time(row, "equipment_check_at")?.map(|at| EquipmentCheck {
            at,
            observations: Vec::new(),
        }),
        last_record: match get_time(row, "record_read_at")? {
            None => None,
            Some(at) => Some(LastRecordReading {
                at,
                regular: get_flag(row, "record_regular")?,
                note: row.try_get("record_note")?,
            }),
        },
        inventory: get_time(row, "inventory_check_at")?.map(|at| InventoryCheck {
            at,
            counts: Vec::new(),
        }),
        cleanliness: match get_time(row, "cleanliness_at")? {
            None => None,
            Some(at) => Some(Cleanliness {
                at,
                clean: get_flag(row, "clean")?,
                note: row.try_get("cleanliness_note")?,
            }),
        },
        briefing: match get_time(row, "brief_at")? {
            None => None,
            Some(at) => Some(Briefing {
                at,
                summary: row.try_get("brief_summary")?,
                points_to_watch: row.try_get("brief_points")?,
                both_clear: get_flag(row, "both_clear")?,
            }),
        },
        outgoing_signed_at: get_time(row, "outgoing_sign_at")?,
        incoming_signed_at: get_time(row, "incoming_sign_at")?,
        completed_at: get_time(row, "complete_at")?,
        stopped_by_fault: row.try_get("stopped_by_fault_id")?,
        refusals: Vec::new(),
    })
}

/// Reads the rest of a handover: observations, counts and refusals.
async fn fill(tx: &mut Tx, h: &mut Handover) -> Result<()> {
    if let Some(check) = &mut h.equipment_check {
        let rows = sqlx::query(
            "SELECT equipment_id, running, matches_record, note FROM handover_observations \
             WHERE handover_id = $1 ORDER BY position",
        )
        .bind(&h.id)
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            check.observations.push(Observation {
                equipment_id: row.try_get("equipment_id")?,
                running: decode(row.try_get("running")?, Running::from_code, "running state")?,
                matches_record: get_flag(&row, "matches_record")?,
                note: row.try_get("note")?,
            });
        }
    }
    if let Some(inv) = &mut h.inventory {
        let rows = sqlx::query(
            "SELECT item_id, name, listed, counted FROM handover_counts \
             WHERE handover_id = $1 ORDER BY position",
        )
        .bind(&h.id)
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            inv.counts.push(Count {
                item_id: row.try_get("item_id")?,
                name: row.try_get("name")?,
                listed: row.try_get("listed")?,
                counted: row.try_get("counted")?,
            });
        }
    }
    let refusals = sqlx::query(
        "SELECT id, refuse_at, refused_to_id, refused_to_name, refused_to_role \
         FROM handover_refusals WHERE handover_id = $1 ORDER BY refuse_at, id",
    )
    .bind(&h.id)
    .fetch_all(&mut **tx)
    .await?;
    for r in refusals {
        let id: String = r.try_get("id")?;
        let rows = sqlx::query(
            "SELECT code, subject, description, ho7 FROM handover_refusal_reasons \
             WHERE refusal_id = $1 ORDER BY position",
        )
        .bind(&id)
        .fetch_all(&mut **tx)
        .await?;
        let mut reasons = Vec::with_capacity(rows.len());
        for row in rows {
            let code: String = row.try_get("code")?;
            reasons.push(Blocker {
                code: stable_code(&code)?,
                subject: row.try_get("subject")?,
                description: row.try_get("description")?,
                ho7: get_flag(&row, "ho7")?,
            });
        }
        h.refusals.push(HandoverRefusal {
            at: from_micros(r.try_get("refuse_at")?),
            refused_to: get_actor(&r, "refused_to")?,
            reasons,
        });
    }
    Ok(())
}

/// The `'static` code of a stored reason.
fn stable_code(code: &str) -> Result<&'static str> {
    use crate::domain::handover::{ho7, steps};
    const CODES: &[&str] = &[
        ho7::LAST_SHIFT_NOT_EXPLAINED,
        ho7::RECORD_IRREGULAR,
        ho7::ROOM_UNCLEAN,
        ho7::RECORDS_DIFFER_FROM_EQUIPMENT,
        ho7::INCOMING_NOT_ARRIVED,
        ho7::INCOMING_UNFIT,
        ho7::INCIDENT_IN_PROGRESS,
        ho7::FAULT_UNDER_REPAIR,
        ho7::EQUIPMENT_ABNORMAL_UNKNOWN,
        ho7::INVENTORY_MISMATCH,
        steps::HANDOVER_STOPPED,
        steps::ANOMALY_NOT_HANDLED,
        steps::EQUIPMENT_NOT_CHECKED,
        steps::LAST_RECORD_NOT_READ,
        steps::INVENTORY_NOT_COUNTED,
        steps::CLEANLINESS_NOT_CHECKED,
        steps::NOT_BRIEFED,
    ];
    CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown handover reason {code:?}")))
}

pub async fn load(tx: &mut Tx, property_id: &str, id: &str) -> Result<Handover> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handovers WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let mut h = row
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found("handover", id))?;
    fill(tx, &mut h).await?;
    Ok(h)
}

/// The property's handover in progress or stopped, if any (one at a time).
pub async fn open_handover(tx: &mut Tx, property_id: &str) -> Result<Option<Handover>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM handovers WHERE property_id = $1 AND state IN ('in_progress', 'stopped') \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(property_id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Ok(None),
        Some((id,)) => Ok(Some(load(tx, property_id, &id).await?)),
    }
}

pub async fn insert(tx: &mut Tx, h: &Handover) -> Result<()> {
    sqlx::query(
        "INSERT INTO handovers (id, property_id, state, outgoing_shift_id, outgoing_user_id, \
         incoming_shift_id, incoming_user_id, prepare_at, prepare_late, prepare_equipment_ok, \
         prepare_rooms_cleaned, prepare_note, arrive_late, record_regular, record_note, clean, \
         cleanliness_note, brief_summary, brief_points, both_clear) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0, '', 0, '', '', '', 0)",
    )
    .bind(&h.id)
    .bind(&h.property_id)
    .bind(h.state.code())
    .bind(&h.outgoing_shift_id)
    .bind(&h.outgoing_user_id)
    .bind(&h.incoming_shift_id)
    .bind(&h.incoming_user_id)
    .bind(to_micros(h.preparation.at))
    .bind(flag(h.preparation.late))
    .bind(flag(h.preparation.equipment_ok))
    .bind(flag(h.preparation.rooms_cleaned))
    .bind(&h.preparation.note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes the handover's state and steps (refusals are appended on their own).
pub async fn save(tx: &mut Tx, h: &Handover) -> Result<()> {
    let a = h.arrival.as_ref();
    let r = h.last_record.as_ref();
    let c = h.cleanliness.as_ref();
    let b = h.briefing.as_ref();
    sqlx::query(
        "UPDATE handovers SET state = $2, incoming_shift_id = $3, incoming_user_id = $4, \
         arrive_at = $5, arrive_late = $6, fitness = $7, equipment_check_at = $8, \
         record_read_at = $9, record_regular = $10, record_note = $11, inventory_check_at = $12, \
         cleanliness_at = $13, clean = $14, cleanliness_note = $15, brief_at = $16, \
         brief_summary = $17, brief_points = $18, both_clear = $19, outgoing_sign_at = $20, \
         incoming_sign_at = $21, complete_at = $22, stopped_by_fault_id = $23 WHERE id = $1",
    )
    .bind(&h.id)
    .bind(h.state.code())
    .bind(&h.incoming_shift_id)
    .bind(&h.incoming_user_id)
    .bind(a.map(|a| to_micros(a.at)))
    .bind(flag(a.is_some_and(|a| a.late)))
    .bind(a.map(|a| a.fitness.code()))
    .bind(h.equipment_check.as_ref().map(|e| to_micros(e.at)))
    .bind(r.map(|r| to_micros(r.at)))
    .bind(flag(r.is_some_and(|r| r.regular)))
    .bind(r.map(|r| r.note.clone()).unwrap_or_default())
    .bind(h.inventory.as_ref().map(|i| to_micros(i.at)))
    .bind(c.map(|c| to_micros(c.at)))
    .bind(flag(c.is_some_and(|c| c.clean)))
    .bind(c.map(|c| c.note.clone()).unwrap_or_default())
    .bind(b.map(|b| to_micros(b.at)))
    .bind(b.map(|b| b.summary.clone()).unwrap_or_default())
    .bind(b.map(|b| b.points_to_watch.clone()).unwrap_or_default())
    .bind(flag(b.is_some_and(|b| b.both_clear)))
    .bind(h.outgoing_signed_at.map(to_micros))
    .bind(h.incoming_signed_at.map(to_micros))
    .bind(h.completed_at.map(to_micros))
    .bind(h.stopped_by_fault.as_deref())
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM handover_observations WHERE handover_id = $1")
        .bind(&h.id)
        .execute(&mut **tx)
        .await?;
    if let Some(check) = &h.equipment_check {
        for (i, o) in check.observations.iter().enumerate() {
            sqlx::query(
                "INSERT INTO handover_observations (handover_id, position, equipment_id, running, \
                 matches_record, note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&h.id)
            .bind(i as i64)
            .bind(&o.equipment_id)
            .bind(o.running.code())
            .bind(flag(o.matches_record))
            .bind(&o.note)
            .execute(&mut **tx)
            .await?;
        }
    }
    sqlx::query("DELETE FROM handover_counts WHERE handover_id = $1")
        .bind(&h.id)
        .execute(&mut **tx)
        .await?;
    if let Some(inv) = &h.inventory {
        for (i, c) in inv.counts.iter().enumerate() {
            sqlx::query(
                "INSERT INTO handover_counts (handover_id, position, item_id, name, listed, counted) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&h.id)
            .bind(i as i64)
            .bind(&c.item_id)
            .bind(&c.name)
            .bind(c.listed)
            .bind(c.counted)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// What HO-7 looks at outside the handover's own record.
pub async fn surroundings(tx: &mut Tx, property_id: &str) -> Result<Surroundings> {
    Ok(Surroundings {
        open_incidents: open_incident_ids(tx, property_id).await?,
        faults_needing_both: open_faults_needing_both(tx, property_id).await?,
    })
}

/// The ids of a page of handovers, newest first, before `before_id` (the page token).
pub async fn list_ids(
    tx: &mut Tx,
    property_id: &str,
    state: Option<State>,
    before_id: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM handovers WHERE property_id = $1 AND ($2 = '' OR state = $2) \
         AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4",
    )
    .bind(property_id)
    .bind(state.map(State::code).unwrap_or_default())
    .bind(before_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

/// HO-7: the refusal with every reason, refused to `caller`.
pub async fn insert_refusal(
    tx: &mut Tx,
    h: &Handover,
    caller: &Actor,
    blockers: &[Blocker],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let refusal_id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO handover_refusals (id, handover_id, property_id, refuse_at, refused_to_id, \
         refused_to_name, refused_to_role) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&refusal_id)
    .bind(&h.id)
    .bind(&h.property_id)
    .bind(to_micros(now))
    .bind(&caller.user_id)
    .bind(&caller.name)
    .bind(&caller.role)
    .execute(&mut **tx)
    .await?;
    for (i, b) in blockers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO handover_refusal_reasons (refusal_id, position, code, subject, \
             description, ho7) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&refusal_id)
        .bind(i as i64)
        .bind(b.code)
        .bind(&b.subject)
        .bind(&b.description)
        .bind(flag(b.ho7))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
