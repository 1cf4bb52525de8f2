//! Units (房屋): the register of a property's units, each announced to the departments that
//! take unit ids (WO-1).

use wuye_kit::{
    Error, Result,
    db::{Db, to_micros},
    idempotency::{self, Claim, RequestId},
    outbox::Outbox,
    scope::Scope,
};
use wuye_proto::events::event::Payload;

use crate::{
    CustomerService,
    domain::units::{self, Found, Label, Unit, UnitState},
    store::units::{self as store, UnitKey},
};

/// A unit to register, as asked (trimmed and checked).
pub(crate) struct NewUnit {
    pub building: String,
    pub entrance: String,
    pub floor: i32,
    pub room: String,
    pub area_m2: f64,
    pub state: UnitState,
}

/// Adds a unit to the register with its `UnitRegistered` event, once per request id (a retry
/// returns the unit the first call created). A second unit at the same building, entrance and
/// room is refused as `ALREADY_EXISTS`.
pub(crate) async fn create_unit(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewUnit,
) -> Result<Unit> {
    let unit = Unit {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: scope.property().id.clone(),
        building: new.building,
        entrance: new.entrance,
        floor: new.floor,
        room: new.room,
        area_m2: new.area_m2,
        state: new.state,
        created_at: cs.clock.now(),
    };
    let mut tx = cs.db.begin().await?;
    let claim_scope = format!("CreateUnit/{}", unit.property_id);
    let now = to_micros(unit.created_at);
    if let Claim::Retry(id) = idempotency::claim(
        &mut tx,
        cs.db.keyring(),
        &claim_scope,
        request_id,
        &unit.id,
        now,
    )
    .await?
    {
        drop(tx);
        return get_unit(cs, scope, &id).await;
    }
    store::insert(&mut tx, &unit).await?;
    // A unit is never in the register without the other departments learning of it.
    let event = Payload::UnitRegistered((&unit).into());
    cs.outbox.append(&mut tx, &unit.property_id, event).await?;
    tx.commit().await?;
    cs.outbox.notify();
    Ok(unit)
}

pub(crate) async fn get_unit(cs: &CustomerService, scope: &Scope<'_>, id: &str) -> Result<Unit> {
    store::get(&cs.db, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("unit", id))
}

/// FindUnit: the unit `label` names, read by [`units::read_label`]: NOT_FOUND when none, a
/// violation of `label` when it names units of several entrances.
pub(crate) async fn find_unit(
    cs: &CustomerService,
    scope: &Scope<'_>,
    text: &str,
    label: &Label,
) -> Result<Unit> {
    let candidates = store::with_room(&cs.db, &scope.property().id, &label.room).await?;
    match units::find(label, &candidates) {
        Found::One(unit) => Ok(unit.clone()),
        Found::None => Err(Error::not_found("unit", text.trim())),
        Found::Several(labels) => Err(Error::invalid(
            "label",
            format!(
                "names units of several entrances ({}): give the entrance",
                labels.join(", ")
            ),
        )),
    }
}

/// Units ordered by building, entrance and room, after `after`.
pub(crate) async fn list_units(
    cs: &CustomerService,
    scope: &Scope<'_>,
    building: Option<&str>,
    after: Option<&UnitKey>,
    limit: i64,
) -> Result<Vec<Unit>> {
    store::list(&cs.db, &scope.property().id, building, after, limit).await
}

/// Units announced per transaction.
const ANNOUNCE_BATCH: i64 = 500;

/// Announces once each unit registered before units were announced: its `UnitRegistered`
/// event and the mark are written in one transaction, a batch at a time. A unit a concurrent
/// start (another replica) announced is skipped, so no unit is announced twice.
pub(crate) async fn announce_unannounced(db: &Db, outbox: &Outbox) -> Result<u64> {
    let mut announced = 0;
    loop {
        let mut tx = db.begin().await?;
        let units = store::unannounced(&mut tx, ANNOUNCE_BATCH).await?;
        if units.is_empty() {
            tx.commit().await?;
            return Ok(announced);
        }
        for unit in &units {
            if store::mark_announced(&mut tx, &unit.id).await? {
                let event = Payload::UnitRegistered(unit.into());
                outbox.append(&mut tx, &unit.property_id, event).await?;
                announced += 1;
            }
        }
        tx.commit().await?;
        outbox.notify();
    }
}
