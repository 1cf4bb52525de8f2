use tonic::{Request, Response, Status};
use wuye_kit::idempotency::RequestId;
use wuye_kit::{Error, Result, Violations, identity, page};
use wuye_proto::engineering::{self as pb, equipment_service_server::EquipmentService};

use super::{
    category_from_proto, category_to_proto, check_request_id, condition_to_proto, id_field,
    next_token, token_id, ts,
};
use crate::{
    Engineering,
    domain::{
        MAX_NAME, MAX_TEXT,
        equipment::{Condition, Equipment, InventoryItem, MAX_COUNT, MAX_METERS, Meter, Zone},
    },
    store::equipment::{self as store, Created, EquipmentCreated},
};

const MAX_NUMBER: usize = 30;

#[tonic::async_trait]
impl EquipmentService for Engineering {
    async fn create_zone(
        &self,
        request: Request<pb::CreateZoneRequest>,
    ) -> Result<Response<pb::CreateZoneResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.required_text("name", &req.name, MAX_NAME);
        id_field(&mut v, "technician_user_id", &req.technician_user_id);
        v.required_text("technician_name", &req.technician_name, MAX_NAME);
        v.check()?;
        let zone = Zone {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            name: req.name.trim().to_owned(),
            technician_user_id: req.technician_user_id,
            technician_name: req.technician_name.trim().to_owned(),
            created_at: self.clock.now(),
        };
        let zone = match store::create_zone(&self.db, &request_id, zone).await? {
            Created::New(z) => z,
            Created::Retry(id) => self.zone(&property.id, &id).await?,
        };
        Ok(Response::new(pb::CreateZoneResponse {
            zone: Some(zone_to_proto(zone)),
        }))
    }

    async fn list_zones(
        &self,
        request: Request<pb::ListZonesRequest>,
    ) -> Result<Response<pb::ListZonesResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = token_id(&req.page_token)?;
        let zones = store::list_zones(&self.db, &property.id, &after, limit).await?;
        let next_page_token = next_token(&zones, limit, |z| page::encode(&z.name));
        Ok(Response::new(pb::ListZonesResponse {
            zones: zones.into_iter().map(zone_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn assign_zone_technician(
        &self,
        request: Request<pb::AssignZoneTechnicianRequest>,
    ) -> Result<Response<pb::AssignZoneTechnicianResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "zone_id", &req.zone_id);
        id_field(&mut v, "technician_user_id", &req.technician_user_id);
        v.required_text("technician_name", &req.technician_name, MAX_NAME);
        v.check()?;
        let zone = store::assign_zone(
            &self.db,
            &property.id,
            &req.zone_id,
            &req.technician_user_id,
            req.technician_name.trim(),
        )
        .await?
        .ok_or_else(|| Error::not_found("zone", &req.zone_id))?;
        Ok(Response::new(pb::AssignZoneTechnicianResponse {
            zone: Some(zone_to_proto(zone)),
        }))
    }

    async fn create_equipment(
        &self,
        request: Request<pb::CreateEquipmentRequest>,
    ) -> Result<Response<pb::CreateEquipmentResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.required_text("number", &req.number, MAX_NUMBER);
        v.required_text("name", &req.name, MAX_NAME);
        v.required_text("type", &req.r#type, MAX_NAME);
        v.max_text("location", &req.location, MAX_TEXT);
        id_field(&mut v, "zone_id", &req.zone_id);
        if req.meters.len() > MAX_METERS {
            v.add("meters", format!("at most {MAX_METERS}"));
        }
        let meters: Vec<Meter> = req
            .meters
            .iter()
            .map(|m| Meter {
                name: m.name.trim().to_owned(),
                unit: m.unit.trim().to_owned(),
                min: m.min,
                max: m.max,
            })
            .collect();
        for (i, m) in meters.iter().enumerate() {
            v.required_text(&format!("meters[{i}].name"), &m.name, MAX_NAME);
            v.max_text(&format!("meters[{i}].unit"), &m.unit, 20);
            if let Some(problem) = m.range_problem() {
                v.add(&format!("meters[{i}].max"), problem);
            }
        }
        v.check()?;
        let e = Equipment {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            number: req.number.trim().to_owned(),
            name: req.name.trim().to_owned(),
            kind: req.r#type.trim().to_owned(),
            location: req.location.trim().to_owned(),
            zone_id: req.zone_id,
            large: req.large,
            meters,
            condition: Condition::Intact,
            created_at: self.clock.now(),
        };
        let e = match store::create_equipment(&self.db, &request_id, e).await? {
            EquipmentCreated::Created(created) => match *created {
                Created::New(e) => e,
                Created::Retry(id) => self.equipment(&property.id, &id).await?,
            },
            EquipmentCreated::UnknownZone => {
                return Err(Error::invalid("zone_id", "is not a zone of this property").into());
            }
        };
        Ok(Response::new(pb::CreateEquipmentResponse {
            equipment: Some(equipment_to_proto(e)),
        }))
    }

    async fn get_equipment(
        &self,
        request: Request<pb::GetEquipmentRequest>,
    ) -> Result<Response<pb::GetEquipmentResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let e = self.equipment(&property.id, &req.equipment_id).await?;
        Ok(Response::new(pb::GetEquipmentResponse {
            equipment: Some(equipment_to_proto(e)),
        }))
    }

    async fn list_equipment(
        &self,
        request: Request<pb::ListEquipmentRequest>,
    ) -> Result<Response<pb::ListEquipmentResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = token_id(&req.page_token)?;
        let list =
            store::list_equipment(&self.db, &property.id, &req.zone_id, &after, limit).await?;
        let next_page_token = next_token(&list, limit, |e| page::encode(&e.number));
        Ok(Response::new(pb::ListEquipmentResponse {
            equipment: list.into_iter().map(equipment_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn create_inventory_item(
        &self,
        request: Request<pb::CreateInventoryItemRequest>,
    ) -> Result<Response<pb::CreateInventoryItemResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        let category = category_from_proto(req.category);
        if category.is_none() {
            v.add(
                "category",
                "must be one of instrument, tool, plant_room_key, fixed_asset, valuable",
            );
        }
        v.required_text("name", &req.name, MAX_NAME);
        check_count(&mut v, req.count);
        v.check()?;
        let item = InventoryItem {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            category: category.expect("checked above"),
            name: req.name.trim().to_owned(),
            count: req.count,
            created_at: self.clock.now(),
        };
        let item = match store::create_item(&self.db, &request_id, item).await? {
            Created::New(i) => i,
            Created::Retry(id) => store::get_item(&self.db, &property.id, &id)
                .await?
                .ok_or_else(|| Error::not_found("inventory item", id))?,
        };
        Ok(Response::new(pb::CreateInventoryItemResponse {
            item: Some(item_to_proto(item)),
        }))
    }

    async fn list_inventory_items(
        &self,
        request: Request<pb::ListInventoryItemsRequest>,
    ) -> Result<Response<pb::ListInventoryItemsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = token_id(&req.page_token)?;
        let items = store::list_items(&self.db, &property.id, &after, limit).await?;
        let next_page_token = next_token(&items, limit, |i| page::encode(&i.id));
        Ok(Response::new(pb::ListInventoryItemsResponse {
            items: items.into_iter().map(item_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn update_inventory_item(
        &self,
        request: Request<pb::UpdateInventoryItemRequest>,
    ) -> Result<Response<pb::UpdateInventoryItemResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "item_id", &req.item_id);
        check_count(&mut v, req.count);
        v.check()?;
        let item = store::update_item_count(&self.db, &property.id, &req.item_id, req.count)
            .await?
            .ok_or_else(|| Error::not_found("inventory item", &req.item_id))?;
        Ok(Response::new(pb::UpdateInventoryItemResponse {
            item: Some(item_to_proto(item)),
        }))
    }
}

fn check_count(v: &mut Violations, count: i64) {
    if !(0..=MAX_COUNT).contains(&count) {
        v.add("count", format!("must be between 0 and {MAX_COUNT}"));
    }
}

impl Engineering {
    async fn zone(&self, property_id: &str, id: &str) -> Result<Zone> {
        store::get_zone(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("zone", id))
    }

    async fn equipment(&self, property_id: &str, id: &str) -> Result<Equipment> {
        store::get_equipment(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("equipment", id))
    }
}

fn zone_to_proto(z: Zone) -> pb::Zone {
    pb::Zone {
        id: z.id,
        property_id: z.property_id,
        name: z.name,
        technician_user_id: z.technician_user_id,
        technician_name: z.technician_name,
        create_time: ts(Some(z.created_at)),
    }
}

fn equipment_to_proto(e: Equipment) -> pb::Equipment {
    pb::Equipment {
        id: e.id,
        property_id: e.property_id,
        number: e.number,
        name: e.name,
        r#type: e.kind,
        location: e.location,
        zone_id: e.zone_id,
        large: e.large,
        meters: e
            .meters
            .into_iter()
            .map(|m| pb::Meter {
                name: m.name,
                unit: m.unit,
                min: m.min,
                max: m.max,
            })
            .collect(),
        condition: condition_to_proto(e.condition).into(),
        create_time: ts(Some(e.created_at)),
    }
}

fn item_to_proto(i: InventoryItem) -> pb::InventoryItem {
    pb::InventoryItem {
        id: i.id,
        property_id: i.property_id,
        category: category_to_proto(i.category).into(),
        name: i.name,
        count: i.count,
        create_time: ts(Some(i.created_at)),
    }
}
