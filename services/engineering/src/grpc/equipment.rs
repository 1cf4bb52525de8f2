use tonic::{Request, Response, Status};
use wuye_kit::{Result, Violations, from_proto, idempotency::RequestId, page};
use wuye_proto::engineering::{self as pb, equipment_service_server::EquipmentService};

use super::{check_request_id, id_field};
use crate::{
    Engineering,
    app::equipment::{self as app, NewEquipment, NewZone},
    domain::{
        MAX_NAME, MAX_TEXT,
        equipment::{InventoryCategory, MAX_COUNT, MAX_METERS, Meter},
    },
};

const MAX_NUMBER: usize = 30;

#[tonic::async_trait]
impl EquipmentService for Engineering {
    async fn create_zone(
        &self,
        request: Request<pb::CreateZoneRequest>,
    ) -> Result<Response<pb::CreateZoneResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.required_text("name", &req.name, MAX_NAME);
        id_field(&mut v, "technician_user_id", &req.technician_user_id);
        v.check()?;
        let new = NewZone {
            name: req.name.trim().to_owned(),
            technician_user_id: req.technician_user_id,
        };
        let zone = app::create_zone(self, &scope, &request_id, new).await?;
        Ok(Response::new(pb::CreateZoneResponse {
            zone: Some(zone.into()),
        }))
    }

    async fn list_zones(
        &self,
        request: Request<pb::ListZonesRequest>,
    ) -> Result<Response<pb::ListZonesResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let zones = app::list_zones(self, &scope, &after, limit).await?;
        let next_page_token = page::next_token(&zones, limit, |z| z.name.clone());
        Ok(Response::new(pb::ListZonesResponse {
            zones: zones.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn assign_zone_technician(
        &self,
        request: Request<pb::AssignZoneTechnicianRequest>,
    ) -> Result<Response<pb::AssignZoneTechnicianResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "zone_id", &req.zone_id);
        id_field(&mut v, "technician_user_id", &req.technician_user_id);
        v.check()?;
        let user_id = &req.technician_user_id;
        let zone = app::assign_zone(self, &scope, &req.zone_id, user_id).await?;
        Ok(Response::new(pb::AssignZoneTechnicianResponse {
            zone: Some(zone.into()),
        }))
    }

    async fn create_equipment(
        &self,
        request: Request<pb::CreateEquipmentRequest>,
    ) -> Result<Response<pb::CreateEquipmentResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.required_text("number", &req.number, MAX_NUMBER);
        v.required_text("name", &req.name, MAX_NAME);
        v.required_text("type", &req.r#type, MAX_NAME);
        v.max_text("location", &req.location, MAX_TEXT);
        id_field(&mut v, "zone_id", &req.zone_id);
        let meters = meters(&mut v, &req.meters);
        v.check()?;
        let new = NewEquipment {
            number: req.number.trim().to_owned(),
            name: req.name.trim().to_owned(),
            kind: req.r#type.trim().to_owned(),
            location: req.location.trim().to_owned(),
            zone_id: req.zone_id,
            large: req.large,
            meters,
        };
        let e = app::create_equipment(self, &scope, &request_id, new).await?;
        Ok(Response::new(pb::CreateEquipmentResponse {
            equipment: Some(e.into()),
        }))
    }

    async fn get_equipment(
        &self,
        request: Request<pb::GetEquipmentRequest>,
    ) -> Result<Response<pb::GetEquipmentResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let e = app::get_equipment(self, &scope, &req.equipment_id).await?;
        Ok(Response::new(pb::GetEquipmentResponse {
            equipment: Some(e.into()),
        }))
    }

    async fn list_equipment(
        &self,
        request: Request<pb::ListEquipmentRequest>,
    ) -> Result<Response<pb::ListEquipmentResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let list = app::list_equipment(self, &scope, &req.zone_id, &after, limit).await?;
        let next_page_token = page::next_token(&list, limit, |e| e.number.clone());
        Ok(Response::new(pb::ListEquipmentResponse {
            equipment: list.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn create_inventory_item(
        &self,
        request: Request<pb::CreateInventoryItemRequest>,
    ) -> Result<Response<pb::CreateInventoryItemResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        let category = from_proto::<pb::InventoryCategory, InventoryCategory>(req.category);
        if category.is_none() {
            v.add(
                "category",
                "must be one of instrument, tool, plant_room_key, fixed_asset, valuable",
            );
        }
        v.required_text("name", &req.name, MAX_NAME);
        check_count(&mut v, req.count);
        v.check()?;
        let category = category.expect("checked above");
        let name = req.name.trim().to_owned();
        let item = app::create_item(self, &scope, &request_id, category, name, req.count).await?;
        Ok(Response::new(pb::CreateInventoryItemResponse {
            item: Some(item.into()),
        }))
    }

    async fn list_inventory_items(
        &self,
        request: Request<pb::ListInventoryItemsRequest>,
    ) -> Result<Response<pb::ListInventoryItemsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let items = app::list_items(self, &scope, &after, limit).await?;
        let next_page_token = page::next_token(&items, limit, |i| i.id.clone());
        Ok(Response::new(pb::ListInventoryItemsResponse {
            items: items.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn update_inventory_item(
        &self,
        request: Request<pb::UpdateInventoryItemRequest>,
    ) -> Result<Response<pb::UpdateInventoryItemResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "item_id", &req.item_id);
        check_count(&mut v, req.count);
        v.check()?;
        let item = app::update_item(self, &scope, &req.item_id, req.count).await?;
        Ok(Response::new(pb::UpdateInventoryItemResponse {
            item: Some(item.into()),
        }))
    }
}

/// The meters of new equipment, trimmed, each checked.
fn meters(v: &mut Violations, meters: &[pb::Meter]) -> Vec<Meter> {
    if meters.len() > MAX_METERS {
        v.add("meters", format!("at most {MAX_METERS}"));
    }
    let meters: Vec<Meter> = meters
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
    meters
}

fn check_count(v: &mut Violations, count: i64) {
    if !(0..=MAX_COUNT).contains(&count) {
        v.add("count", format!("must be between 0 and {MAX_COUNT}"));
    }
}
