//! Repair work orders (WO-1 to WO-3): opened from a customer's request or an inspection,
//! dispatched, reached and completed.

use wuye_kit::{
    Result, Violations,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    scope::Scope,
};
use wuye_proto::events::event::Payload;

use crate::{
    Engineering,
    domain::{
        equipment::Condition,
        work_orders::{ASSIGNEE_ROLES, Completion, Filter, Repair, WorkOrder},
    },
    store,
};

/// Why a unit id is refused: engineering knows the units customer-service announced, which
/// may lag a unit registered a moment ago.
const UNKNOWN_UNIT: &str = "no such unit at this property (a unit registered moments ago may \
     not have reached engineering yet)";

/// WO-1: a work order from a customer's request, once per request id; a retry answers with
/// the order the first call opened.
pub(crate) async fn create(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    repair: Repair,
) -> Result<WorkOrder> {
    let property_id = &scope.property().id;
    let id = uuid::Uuid::now_v7().to_string();
    let w = WorkOrder::open(id, property_id, repair, eng.clock.now(), scope.actor());
    let mut tx = eng.db.begin().await?;
    let key = format!("CreateWorkOrder/{property_id}");
    let claim = idempotency::claim(
        &mut tx,
        eng.db.keyring(),
        &key,
        request_id,
        &w.id,
        to_micros(w.opened_at),
    )
    .await?;
    if let Claim::Retry(id) = claim {
        drop(tx);
        return get(eng, scope, &id).await;
    }
    // rule WO-1: the unit and the equipment are the property's; a refusal writes nothing (the
    // request id's claim and the number go with the rollback).
    let mut v = Violations::new();
    if let Some(u) = &w.unit_id
        && !store::units::is_known(&mut tx, property_id, u).await?
    {
        v.add("unit_id", UNKNOWN_UNIT);
    }
    if let Some(e) = &w.equipment_id
        && !store::equipment::equipment_exists(&mut tx, property_id, e).await?
    {
        v.add("equipment_id", "is not equipment of this property");
    }
    v.check()?;
    let w = open_in(eng, &mut tx, w).await?;
    tx.commit().await?;
    eng.outbox.notify();
    tracing::info!(property = %w.property_id, number = w.number, "work order opened");
    Ok(w)
}

/// Numbers and writes the new order `w` in `tx` with its `WorkOrderOpened` event; the caller
/// notifies the outbox after the commit.
pub(super) async fn open_in(eng: &Engineering, tx: &mut Tx, w: WorkOrder) -> Result<WorkOrder> {
    let w = store::work_orders::insert(&eng.db, tx, w).await?;
    let event = Payload::WorkOrderOpened((&w).into());
    eng.outbox.append(tx, &w.property_id, event).await?;
    Ok(w)
}

pub(crate) async fn get(eng: &Engineering, scope: &Scope<'_>, id: &str) -> Result<WorkOrder> {
    let mut tx = eng.db.read().await?;
    let w = store::work_orders::load(&eng.db, &mut tx, &scope.property().id, id).await?;
    tx.commit().await?;
    Ok(w)
}

/// A page of the property's work orders, the newest first.
pub(crate) async fn list(
    eng: &Engineering,
    scope: &Scope<'_>,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<WorkOrder>> {
    let mut tx = eng.db.read().await?;
    let list =
        store::work_orders::list(&eng.db, &mut tx, &scope.property().id, filter, limit).await?;
    tx.commit().await?;
    Ok(list)
}

/// Sends the order to the person who goes; the arrival deadline starts now (WO-2).
pub(crate) async fn dispatch(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
    assignee_user_id: &str,
) -> Result<WorkOrder> {
    let property = scope.property();
    let field = "assignee_user_id";
    let assignee = eng
        .directory
        .check(&property.id, field, assignee_user_id, ASSIGNEE_ROLES);
    let assignee = assignee.await?;
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let mut w = store::work_orders::load_for_update(&eng.db, &mut tx, &property.id, id).await?;
    w.dispatch(
        assignee.person_id,
        assignee.name,
        now,
        &property.rules.engineering,
    )?;
    store::work_orders::save(&eng.db, &mut tx, &w).await?;
    tx.commit().await?;
    Ok(w)
}

/// The repairer is on site (WO-2).
pub(crate) async fn arrive(eng: &Engineering, scope: &Scope<'_>, id: &str) -> Result<WorkOrder> {
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let mut w =
        store::work_orders::load_for_update(&eng.db, &mut tx, &scope.property().id, id).await?;
    w.arrive(now)?;
    store::work_orders::save(&eng.db, &mut tx, &w).await?;
    tx.commit().await?;
    Ok(w)
}

/// WO-3: completes the order; repaired equipment is intact again unless a fault is still
/// open on it; the `WorkOrderCompleted` event feeds the follow-up visit (VIS-4).
pub(crate) async fn complete(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
    c: Completion,
) -> Result<WorkOrder> {
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let mut w =
        store::work_orders::load_for_update(&eng.db, &mut tx, &scope.property().id, id).await?;
    let missing = w.missing_customer(&c);
    if !missing.is_empty() {
        let mut v = Violations::new();
        for (field, why) in missing {
            v.add(field, why);
        }
        return Err(v.check().expect_err("violations were added"));
    }
    w.complete(
        c.work_done,
        c.parts,
        c.rating,
        c.signature,
        scope.actor(),
        now,
    )?;
    store::work_orders::save(&eng.db, &mut tx, &w).await?;
    if let Some(equipment_id) = &w.equipment_id
        && store::work_orders::open_faults(&mut tx, equipment_id).await? == 0
    {
        store::equipment::set_condition(&mut tx, equipment_id, Condition::Intact).await?;
    }
    let event = Payload::WorkOrderCompleted((&w).into());
    eng.outbox.append(&mut tx, &w.property_id, event).await?;
    tx.commit().await?;
    eng.outbox.notify();
    tracing::info!(property = %w.property_id, number = w.number, "work order completed");
    Ok(w)
}
