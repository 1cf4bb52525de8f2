use tonic::{Request, Response, Status};
use wuye_kit::{Error, Result, Violations, identity, page, time::to_timestamp};
use wuye_proto::customerservice::{self as pb, household_service_server::HouseholdService};

use super::{unit_state_from_proto, unit_state_to_proto};
use crate::{
    CustomerService,
    domain::units::{self as rules, Unit, UnitState},
    store::units::{self as store, Created},
};

/// Separates the parts of a unit key inside a page token.
const KEY_SEPARATOR: char = '\u{1f}';

#[tonic::async_trait]
impl HouseholdService for CustomerService {
    async fn create_unit(
        &self,
        request: Request<pb::CreateUnitRequest>,
    ) -> Result<Response<pb::CreateUnitResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, 100);
        v.required_text("building", &req.building, rules::MAX_PART);
        v.max_text("entrance", &req.entrance, rules::MAX_PART);
        v.required_text("room", &req.room, rules::MAX_PART);
        if !(-10..=300).contains(&req.floor) {
            v.add("floor", "must be between -10 and 300");
        }
        if !(req.area_m2.is_finite() && (0.0..=100_000.0).contains(&req.area_m2)) {
            v.add("area_m2", "must be between 0 and 100000");
        }
        let state = match req.state {
            0 => Some(UnitState::Vacant),
            s => unit_state_from_proto(s),
        };
        if state.is_none() {
            v.add("state", "is not a unit state");
        }
        for (field, part) in [
            ("building", &req.building),
            ("entrance", &req.entrance),
            ("room", &req.room),
        ] {
            if part.contains(KEY_SEPARATOR) {
                v.add(field, "must not contain control characters");
            }
        }
        v.check()?;
        let unit = Unit {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            building: req.building.trim().to_owned(),
            entrance: req.entrance.trim().to_owned(),
            floor: req.floor,
            room: req.room.trim().to_owned(),
            area_m2: req.area_m2,
            state: state.unwrap_or(UnitState::Vacant),
            created_at: self.clock.now(),
        };
        let unit = match store::create(&self.db, &req.request_id, unit).await? {
            Created::New(unit) => unit,
            Created::Retry(id) => self.unit(&property.id, &id).await?,
        };
        Ok(Response::new(pb::CreateUnitResponse {
            unit: Some(to_proto(unit)),
        }))
    }

    async fn get_unit(
        &self,
        request: Request<pb::GetUnitRequest>,
    ) -> Result<Response<pb::GetUnitResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let unit = self.unit(&property.id, &req.unit_id).await?;
        Ok(Response::new(pb::GetUnitResponse {
            unit: Some(to_proto(unit)),
        }))
    }

    async fn list_units(
        &self,
        request: Request<pb::ListUnitsRequest>,
    ) -> Result<Response<pb::ListUnitsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::decode(&req.page_token)?
            .map(|key| {
                let mut parts = key.split(KEY_SEPARATOR).map(str::to_owned);
                match (parts.next(), parts.next(), parts.next(), parts.next()) {
                    (Some(b), Some(e), Some(r), None) => Ok((b, e, r)),
                    _ => Err(page::bad_token()),
                }
            })
            .transpose()?;
        let building = (!req.building.is_empty()).then_some(req.building.as_str());
        let units = store::list(&self.db, &property.id, building, after.as_ref(), limit).await?;
        let next_page_token = match units.last() {
            Some(u) if units.len() as i64 == limit => page::encode(&format!(
                "{}{KEY_SEPARATOR}{}{KEY_SEPARATOR}{}",
                u.building, u.entrance, u.room
            )),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListUnitsResponse {
            units: units.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }
}

impl CustomerService {
    async fn unit(&self, property_id: &str, id: &str) -> Result<Unit> {
        store::get(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("unit", id))
    }
}

fn to_proto(u: Unit) -> pb::Unit {
    pb::Unit {
        label: u.label(),
        id: u.id,
        property_id: u.property_id,
        building: u.building,
        entrance: u.entrance,
        floor: u.floor,
        room: u.room,
        area_m2: u.area_m2,
        state: unit_state_to_proto(u.state).into(),
        create_time: Some(to_timestamp(u.created_at)),
    }
}
