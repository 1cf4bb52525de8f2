//! Inspections (INS-1 to INS-5): the schedule, the rounds recorded and countersigned, and the
//! major findings that alert the manager.

use chrono::{DateTime, NaiveDate, Utc};
use wuye_kit::{
    Error, Result, Violations,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
    scope::Scope,
};
use wuye_proto::events::{MajorFindingReported, event::Payload};

use super::work_orders;
use crate::{
    Engineering,
    domain::{
        alerts::{Alert, AlertKind},
        equipment::Condition,
        inspections::{Filter, Inspection, RecordError, Seen, Value, schedule},
        work_orders::{Repair, Requester, Source, Urgency, WorkOrder},
    },
    store,
};

/// The team inspection work orders go to until the foreman dispatches them.
const INSPECTION_TEAM: &str = "工程维修";

/// The checklist a caller records.
pub(crate) struct Recording {
    pub results: Vec<(String, Value)>,
    pub findings: String,
    pub major_finding: String,
}

/// A major finding reported at once (INS-2): of an inspection, a piece of equipment, both or
/// neither (empty ids).
pub(crate) struct Finding {
    pub inspection_id: String,
    pub equipment_id: String,
    pub description: String,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The schedule for `day` (INS-1, INS-3, INS-4); what exists already is left alone. The
/// inspections it created.
pub(crate) async fn generate(
    eng: &Engineering,
    scope: &Scope<'_>,
    day: NaiveDate,
) -> Result<Vec<Seen>> {
    let property = scope.property();
    let mut tx = eng.db.begin().await?;
    let zones = store::equipment::all_zones(&mut tx, &property.id).await?;
    let equipment = store::equipment::all_equipment(&mut tx, &property.id).await?;
    let planned = schedule(
        &property.id,
        day,
        property.time_zone,
        &zones,
        &equipment,
        &property.rules.engineering,
        new_id,
    );
    let mut created = Vec::new();
    for i in planned {
        if store::inspections::insert_if_new(&mut tx, &i).await? {
            created.push(i);
        }
    }
    tx.commit().await?;
    let at = eng.clock.now();
    tracing::info!(property = %property.id, %day, created = created.len(), "inspections scheduled");
    Ok(seen(created, at))
}

fn seen(list: Vec<Inspection>, at: DateTime<Utc>) -> Vec<Seen> {
    list.into_iter()
        .map(|inspection| Seen { inspection, at })
        .collect()
}

/// A page of the property's inspections by due time, their states judged now.
pub(crate) async fn list(
    eng: &Engineering,
    scope: &Scope<'_>,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Seen>> {
    let at = eng.clock.now();
    let mut tx = eng.db.read().await?;
    let list = store::inspections::list(&mut tx, &scope.property().id, filter, at, limit).await?;
    tx.commit().await?;
    Ok(seen(list, at))
}

pub(crate) async fn get(eng: &Engineering, scope: &Scope<'_>, id: &str) -> Result<Seen> {
    let mut tx = eng.db.read().await?;
    let inspection = store::inspections::load(&mut tx, &scope.property().id, id).await?;
    tx.commit().await?;
    Ok(Seen {
        inspection,
        at: eng.clock.now(),
    })
}

/// Records a checklist: failed items open work orders linked to the inspection (INS-5) and
/// mark their equipment faulty; a major finding alerts the manager (INS-2).
pub(crate) async fn record(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
    r: Recording,
) -> Result<Seen> {
    let property_id = &scope.property().id;
    let by = scope.actor();
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let mut i = store::inspections::lock(&mut tx, property_id, id).await?;
    i.may_record(&by.user_id, &by.role)?;
    match i.record(r.results, r.findings, r.major_finding, by.clone(), now) {
        Ok(()) => {}
        Err(RecordError::Invalid(problems)) => {
            let mut v = Violations::new();
            for (field, why) in problems {
                v.add(&field, why);
            }
            return Err(v.check().expect_err("problems were found"));
        }
        Err(RecordError::Refused(refusal)) => return Err(refusal.into()),
    }
    store::inspections::save_record(&mut tx, &i).await?;
    for (equipment_id, intact) in i.equipment_results() {
        if !intact {
            store::equipment::set_condition(&mut tx, &equipment_id, Condition::Faulty).await?;
        }
    }
    open_work_orders(eng, &mut tx, &mut i, by, now).await?;
    if !i.major_finding.trim().is_empty() {
        let finding = Finding {
            inspection_id: i.id.clone(),
            equipment_id: String::new(),
            description: i.major_finding.clone(),
        };
        raise_major_finding(eng, &mut tx, new_id(), property_id, &finding, now).await?;
    }
    tx.commit().await?;
    eng.outbox.notify();
    tracing::info!(
        property = %property_id,
        inspection = %i.id,
        work_orders = i.work_order_ids.len(),
        "inspection recorded"
    );
    Ok(Seen {
        inspection: i,
        at: now,
    })
}

/// INS-5: the work orders the recorded checklist of `i` opens, in `tx`.
async fn open_work_orders(
    eng: &Engineering,
    tx: &mut Tx,
    i: &mut Inspection,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    for opening in i.work_orders_to_open() {
        let repair = Repair {
            source: Source::Inspection,
            unit_id: None,
            equipment_id: opening.equipment_id,
            inspection_id: Some(i.id.clone()),
            description: opening.description,
            urgency: Urgency::Ordinary,
            team: INSPECTION_TEAM.into(),
            requester: Requester::default(),
            contact_number: None,
            booked_at: None,
        };
        let w = WorkOrder::open(new_id(), &i.property_id, repair, now, by.clone());
        let w = work_orders::open_in(eng, tx, w).await?;
        i.work_order_ids.push(w.id);
    }
    Ok(())
}

/// INS-2: the manager's alert and the event, in `tx`; the alert's id.
async fn raise_major_finding(
    eng: &Engineering,
    tx: &mut Tx,
    alert_id: String,
    property_id: &str,
    f: &Finding,
    now: DateTime<Utc>,
) -> Result<String> {
    let alert = Alert {
        id: alert_id,
        property_id: property_id.to_owned(),
        kind: AlertKind::MajorFinding,
        subject_id: f.inspection_id.clone(),
        message: format!("巡检重大情况：{}", f.description),
        reasons: Vec::new(),
        raised_at: now,
        acknowledged_by: None,
        acknowledged_at: None,
    };
    store::alerts::insert(tx, &alert).await?;
    let event = Payload::MajorFindingReported(MajorFindingReported {
        alert_id: alert.id.clone(),
        inspection_id: f.inspection_id.clone(),
        equipment_id: f.equipment_id.clone(),
        description: f.description.clone(),
    });
    eng.outbox.append(tx, property_id, event).await?;
    Ok(alert.id)
}

/// INS-2: a major finding reported at once, during a round or outside one, once per request
/// id; the alert's id.
pub(crate) async fn report_major_finding(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    f: &Finding,
) -> Result<String> {
    let property_id = &scope.property().id;
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let alert_id = new_id();
    let key = format!("ReportMajorFinding/{property_id}");
    let claim = idempotency::claim(
        &mut tx,
        eng.db.keyring(),
        &key,
        request_id,
        &alert_id,
        to_micros(now),
    )
    .await?;
    let alert_id = match claim {
        Claim::Retry(id) => id,
        Claim::New => {
            if !f.inspection_id.is_empty() {
                store::inspections::load(&mut tx, property_id, &f.inspection_id).await?;
            }
            if !f.equipment_id.is_empty()
                && !store::equipment::equipment_exists(&mut tx, property_id, &f.equipment_id)
                    .await?
            {
                return Err(Error::invalid(
                    "equipment_id",
                    "is not equipment of this property",
                ));
            }
            let id = raise_major_finding(eng, &mut tx, alert_id, property_id, f, now).await?;
            tx.commit().await?;
            eng.outbox.notify();
            id
        }
    };
    tracing::info!(property = %property_id, alert = %alert_id, "major finding reported (INS-2)");
    Ok(alert_id)
}

/// INS-3: the manager countersigns a technician's daily record.
pub(crate) async fn spot_check(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
    note: String,
) -> Result<Seen> {
    let property_id = &scope.property().id;
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let mut i = store::inspections::lock(&mut tx, property_id, id).await?;
    i.spot_check(scope.actor(), note, now)?;
    store::inspections::save_spot_check(&mut tx, &i).await?;
    tx.commit().await?;
    Ok(Seen {
        inspection: i,
        at: now,
    })
}
