//! Zones, equipment and the duty room's inventory list.

use wuye_kit::{Error, Result, idempotency::RequestId, scope::Scope, staff::StaffMember};

use super::Claimed;
use crate::{
    Engineering,
    domain::equipment::{
        Condition, Equipment, InventoryCategory, InventoryItem, Meter, ZONE_TECHNICIAN_ROLES, Zone,
    },
    store::equipment as store,
};

/// A zone and its technician (INS-1).
pub(crate) struct NewZone {
    pub name: String,
    /// The technician's staff id.
    pub technician_user_id: String,
}

/// The technician a request names in `field`, as the directory knows them.
async fn technician(
    eng: &Engineering,
    scope: &Scope<'_>,
    field: &str,
    user_id: &str,
) -> Result<StaffMember> {
    let property_id = &scope.property().id;
    let roles = ZONE_TECHNICIAN_ROLES;
    eng.directory
        .check(property_id, field, user_id, roles)
        .await
}

/// Equipment as registered.
pub(crate) struct NewEquipment {
    pub number: String,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub zone_id: String,
    pub large: bool,
    pub meters: Vec<Meter>,
}

async fn zone(eng: &Engineering, property_id: &str, id: &str) -> Result<Zone> {
    store::get_zone(&eng.db, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("zone", id))
}

async fn equipment(eng: &Engineering, property_id: &str, id: &str) -> Result<Equipment> {
    store::get_equipment(&eng.db, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("equipment", id))
}

async fn item(eng: &Engineering, property_id: &str, id: &str) -> Result<InventoryItem> {
    store::get_item(&eng.db, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("inventory item", id))
}

pub(crate) async fn create_zone(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewZone,
) -> Result<Zone> {
    let tech = technician(eng, scope, "technician_user_id", &new.technician_user_id).await?;
    let z = Zone {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: scope.property().id.clone(),
        name: new.name,
        technician_user_id: tech.person_id,
        technician_name: tech.name,
        created_at: eng.clock.now(),
    };
    let now = z.created_at;
    let claimed = super::begin_create(eng, "CreateZone", scope, request_id, &z.id, now);
    let mut tx = match claimed.await? {
        Claimed::New(tx) => tx,
        Claimed::Retry(id) => return zone(eng, &z.property_id, &id).await,
    };
    store::insert_zone(&mut tx, &z).await?;
    tx.commit().await?;
    Ok(z)
}

/// Zones by name, after the name of the page token.
pub(crate) async fn list_zones(
    eng: &Engineering,
    scope: &Scope<'_>,
    after: &str,
    limit: i64,
) -> Result<Vec<Zone>> {
    store::list_zones(&eng.db, &scope.property().id, after, limit).await
}

/// Gives the zone to another technician.
pub(crate) async fn assign_zone(
    eng: &Engineering,
    scope: &Scope<'_>,
    zone_id: &str,
    user_id: &str,
) -> Result<Zone> {
    let tech = technician(eng, scope, "technician_user_id", user_id).await?;
    let (user_id, name) = (&tech.person_id, &tech.name);
    store::assign_zone(&eng.db, &scope.property().id, zone_id, user_id, name)
        .await?
        .ok_or_else(|| Error::not_found("zone", zone_id))
}

pub(crate) async fn create_equipment(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewEquipment,
) -> Result<Equipment> {
    let e = Equipment {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: scope.property().id.clone(),
        number: new.number,
        name: new.name,
        kind: new.kind,
        location: new.location,
        zone_id: new.zone_id,
        large: new.large,
        meters: new.meters,
        condition: Condition::Intact,
        created_at: eng.clock.now(),
    };
    let now = e.created_at;
    let claimed = super::begin_create(eng, "CreateEquipment", scope, request_id, &e.id, now);
    let mut tx = match claimed.await? {
        Claimed::New(tx) => tx,
        Claimed::Retry(id) => return equipment(eng, &e.property_id, &id).await,
    };
    if !store::zone_exists(&mut tx, &e.property_id, &e.zone_id).await? {
        return Err(Error::invalid("zone_id", "is not a zone of this property"));
    }
    store::insert_equipment(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(e)
}

pub(crate) async fn get_equipment(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
) -> Result<Equipment> {
    equipment(eng, &scope.property().id, id).await
}

/// Equipment by number after the number of the page token, of one zone when `zone_id` is
/// not empty.
pub(crate) async fn list_equipment(
    eng: &Engineering,
    scope: &Scope<'_>,
    zone_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<Equipment>> {
    store::list_equipment(&eng.db, &scope.property().id, zone_id, after, limit).await
}

pub(crate) async fn create_item(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    category: InventoryCategory,
    name: String,
    count: i64,
) -> Result<InventoryItem> {
    let i = InventoryItem {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: scope.property().id.clone(),
        category,
        name,
        count,
        created_at: eng.clock.now(),
    };
    let now = i.created_at;
    let claimed = super::begin_create(eng, "CreateInventoryItem", scope, request_id, &i.id, now);
    let mut tx = match claimed.await? {
        Claimed::New(tx) => tx,
        Claimed::Retry(id) => return item(eng, &i.property_id, &id).await,
    };
    store::insert_item(&mut tx, &i).await?;
    tx.commit().await?;
    Ok(i)
}

/// Items by id (creation order) after the id of the page token.
pub(crate) async fn list_items(
    eng: &Engineering,
    scope: &Scope<'_>,
    after: &str,
    limit: i64,
) -> Result<Vec<InventoryItem>> {
    store::list_items(&eng.db, &scope.property().id, after, limit).await
}

pub(crate) async fn update_item(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
    count: i64,
) -> Result<InventoryItem> {
    store::update_item_count(&eng.db, &scope.property().id, id, count)
        .await?
        .ok_or_else(|| Error::not_found("inventory item", id))
}
