use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations,
    idempotency::RequestId,
    identity, page,
    personal::PersonalData,
    time::{from_timestamp, to_timestamp},
};
use wuye_proto::customerservice::{self as pb, household_service_server::HouseholdService};

use super::{unit_state_from_proto, unit_state_to_proto};
use crate::{
    CustomerService,
    domain::{
        households::{self as household_rules, Household, HouseholdState, Relation, Resident},
        registers::{self, ContactLine, Heading, OverviewLine, OverviewTotals},
        units::{self as rules, Unit, UnitState},
    },
    store::{
        households::{self as household_store, MovedIn, RegisterKey},
        units::{self as store, Created, UnitKey},
    },
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
        let request_id = RequestId::new(&caller, &req.request_id, &req);
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
        let unit = match store::create(&self.db, &self.outbox, &request_id, unit).await? {
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
        let after = unit_key(&req.page_token)?;
        let building = (!req.building.is_empty()).then_some(req.building.as_str());
        let units = store::list(&self.db, &property.id, building, after.as_ref(), limit).await?;
        let next_page_token = match units.last() {
            Some(u) if units.len() as i64 == limit => unit_token(u),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListUnitsResponse {
            units: units.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn record_move_in(
        &self,
        request: Request<pb::RecordMoveInRequest>,
    ) -> Result<Response<pb::RecordMoveInResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let now = self.clock.now();
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, 100);
        v.required_text("unit_id", &req.unit_id, 64);
        let residents = req
            .residents
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let relation = relation_from_proto(r.relation);
                if relation.is_none() {
                    v.add(
                        &format!("residents[{i}].relation"),
                        "must be owner, family or tenant",
                    );
                }
                Resident {
                    name: r.name,
                    relation: relation.unwrap_or(Relation::Family),
                    phone: r.phone,
                    primary_contact: r.primary_contact,
                }
            })
            .collect();
        let residents = household_rules::residents_for_move_in(residents, &mut v);
        let moved_in_at =
            optional_time(req.move_in_time.as_ref(), "move_in_time", &mut v).unwrap_or(now);
        household_rules::check_not_future("move_in_time", moved_in_at, now, &mut v);
        v.check()?;
        let household = Household {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            unit_id: req.unit_id,
            unit_label: String::new(),
            state: HouseholdState::Living,
            residents,
            moved_in_at,
            moved_out_at: None,
        };
        let household =
            match household_store::move_in(&self.db, &self.outbox, &request_id, household, now)
                .await?
            {
                MovedIn::New(h) => *h,
                MovedIn::Retry(id) => self.household(&property.id, &id).await?,
            };
        Ok(Response::new(pb::RecordMoveInResponse {
            household: Some(household_to_proto(household)),
        }))
    }

    async fn record_move_out(
        &self,
        request: Request<pb::RecordMoveOutRequest>,
    ) -> Result<Response<pb::RecordMoveOutResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let now = self.clock.now();
        let mut v = Violations::new();
        v.required_text("household_id", &req.household_id, 64);
        let at = optional_time(req.move_out_time.as_ref(), "move_out_time", &mut v).unwrap_or(now);
        household_rules::check_not_future("move_out_time", at, now, &mut v);
        v.check()?;
        let household =
            household_store::move_out(&self.db, &self.outbox, &property.id, &req.household_id, at)
                .await?;
        Ok(Response::new(pb::RecordMoveOutResponse {
            household: Some(household_to_proto(household)),
        }))
    }

    async fn get_household(
        &self,
        request: Request<pb::GetHouseholdRequest>,
    ) -> Result<Response<pb::GetHouseholdResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let household = self.household(&property.id, &req.household_id).await?;
        Ok(Response::new(pb::GetHouseholdResponse {
            household: Some(household_to_proto(household)),
        }))
    }

    async fn list_households(
        &self,
        request: Request<pb::ListHouseholdsRequest>,
    ) -> Result<Response<pb::ListHouseholdsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let state = match req.state {
            0 => None,
            s => Some(
                household_state_from_proto(s)
                    .ok_or_else(|| Error::invalid("state", "is not a household state"))?,
            ),
        };
        let limit = page::page_size(req.page_size)?;
        let before = page::decode(&req.page_token)?;
        let unit = (!req.unit_id.is_empty()).then_some(req.unit_id.as_str());
        let households = household_store::list(
            &self.db,
            &property.id,
            unit,
            state,
            before.as_deref(),
            limit,
        )
        .await?;
        let next_page_token = match households.last() {
            Some(h) if households.len() as i64 == limit => page::encode(&h.id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListHouseholdsResponse {
            households: households.into_iter().map(household_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn list_contacts(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = register_key(&req.page_token)?;
        let building = (!req.building.is_empty()).then_some(req.building.as_str());
        let lines =
            household_store::contacts(&self.db, &property.id, building, after.as_ref(), limit)
                .await?;
        let next_page_token = match lines.last() {
            Some((key, _)) if lines.len() as i64 == limit => register_token(key),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListContactsResponse {
            contacts: lines
                .into_iter()
                .map(|(_, line)| contact_to_proto(line))
                .collect(),
            next_page_token,
        }))
    }

    async fn get_overview_register(
        &self,
        request: Request<pb::GetOverviewRegisterRequest>,
    ) -> Result<Response<pb::GetOverviewRegisterResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = unit_key(&req.page_token)?;
        let building = (!req.building.is_empty()).then_some(req.building.as_str());
        let lines =
            household_store::overview(&self.db, &property.id, building, after.as_ref(), limit)
                .await?;
        let totals = household_store::totals(&self.db, &property.id, building).await?;
        let next_page_token = match lines.last() {
            Some(line) if lines.len() as i64 == limit => unit_token(&line.unit),
            _ => String::new(),
        };
        Ok(Response::new(pb::GetOverviewRegisterResponse {
            lines: lines.into_iter().map(overview_to_proto).collect(),
            next_page_token,
            totals: Some(totals_to_proto(totals)),
        }))
    }

    async fn render_register(
        &self,
        request: Request<pb::RenderRegisterRequest>,
    ) -> Result<Response<pb::RenderRegisterResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let building = (!req.building.is_empty()).then_some(req.building.as_str());
        let now = self.clock.now();
        let heading = Heading {
            property_name: &property.name,
            building,
            printed_at: now,
            time_zone: property.time_zone,
        };
        let date = now.with_timezone(&property.time_zone).format("%Y-%m-%d");
        let (title, html) = match pb::Register::try_from(req.register) {
            Ok(pb::Register::ContactList) => {
                let mut lines = Vec::new();
                let mut after: Option<RegisterKey> = None;
                loop {
                    let page = household_store::contacts(
                        &self.db,
                        &property.id,
                        building,
                        after.as_ref(),
                        page::MAX_PAGE_SIZE,
                    )
                    .await?;
                    let full = page.len() as i64 == page::MAX_PAGE_SIZE;
                    after = page.last().map(|(key, _)| key.clone());
                    // A printed register shows what the answer would (ARC-11).
                    let shown = caller.shown();
                    lines.extend(page.into_iter().map(|(_, mut line)| {
                        line.phone = shown.show(PersonalData::Phone, &line.phone);
                        line
                    }));
                    if !full {
                        break;
                    }
                }
                (
                    "客户联系表",
                    registers::render_contact_list(&heading, &lines),
                )
            }
            Ok(pb::Register::Overview) => {
                let mut lines: Vec<OverviewLine> = Vec::new();
                let mut after: Option<UnitKey> = None;
                loop {
                    let page = household_store::overview(
                        &self.db,
                        &property.id,
                        building,
                        after.as_ref(),
                        page::MAX_PAGE_SIZE,
                    )
                    .await?;
                    let full = page.len() as i64 == page::MAX_PAGE_SIZE;
                    after = page.last().map(|l| {
                        (
                            l.unit.building.clone(),
                            l.unit.entrance.clone(),
                            l.unit.room.clone(),
                        )
                    });
                    lines.extend(page);
                    if !full {
                        break;
                    }
                }
                let totals = household_store::totals(&self.db, &property.id, building).await?;
                (
                    "客户情况登记一览表",
                    registers::render_overview(&heading, &lines, &totals),
                )
            }
            _ => return Err(Error::invalid("register", "must be contact_list or overview").into()),
        };
        let file_name = format!("{title}-{}-{date}.html", property.id);
        Ok(Response::new(pb::RenderRegisterResponse {
            document: Some(wuye_kit::document::html_document(file_name, html)),
        }))
    }
}

impl CustomerService {
    async fn unit(&self, property_id: &str, id: &str) -> Result<Unit> {
        store::get(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("unit", id))
    }

    async fn household(&self, property_id: &str, id: &str) -> Result<Household> {
        household_store::get(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("household", id))
    }
}

fn unit_token(u: &Unit) -> String {
    page::encode(&[u.building.as_str(), &u.entrance, &u.room].join(&KEY_SEPARATOR.to_string()))
}

fn unit_key(token: &str) -> Result<Option<UnitKey>> {
    page::decode(token)?
        .map(|key| {
            let parts: Vec<&str> = key.split(KEY_SEPARATOR).collect();
            match parts.as_slice() {
                [b, e, r] => Ok((b.to_string(), e.to_string(), r.to_string())),
                _ => Err(page::bad_token()),
            }
        })
        .transpose()
}

fn register_token((b, e, r, p): &RegisterKey) -> String {
    page::encode(&[b.as_str(), e, r, &p.to_string()].join(&KEY_SEPARATOR.to_string()))
}

fn register_key(token: &str) -> Result<Option<RegisterKey>> {
    page::decode(token)?
        .map(|key| {
            let parts: Vec<&str> = key.split(KEY_SEPARATOR).collect();
            match parts.as_slice() {
                [b, e, r, p] => Ok((
                    b.to_string(),
                    e.to_string(),
                    r.to_string(),
                    p.parse().map_err(|_| page::bad_token())?,
                )),
                _ => Err(page::bad_token()),
            }
        })
        .transpose()
}

/// An optional timestamp of the request, checked.
fn optional_time(
    ts: Option<&prost_types::Timestamp>,
    field: &str,
    v: &mut Violations,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let ts = ts?;
    let at = from_timestamp(ts);
    if at.is_none() {
        v.add(field, "is not a valid time");
    }
    at
}

fn relation_from_proto(value: i32) -> Option<Relation> {
    match pb::ResidentRelation::try_from(value).ok()? {
        pb::ResidentRelation::Unspecified => None,
        pb::ResidentRelation::Owner => Some(Relation::Owner),
        pb::ResidentRelation::Family => Some(Relation::Family),
        pb::ResidentRelation::Tenant => Some(Relation::Tenant),
    }
}

fn relation_to_proto(relation: Relation) -> pb::ResidentRelation {
    match relation {
        Relation::Owner => pb::ResidentRelation::Owner,
        Relation::Family => pb::ResidentRelation::Family,
        Relation::Tenant => pb::ResidentRelation::Tenant,
    }
}

fn household_state_from_proto(value: i32) -> Option<HouseholdState> {
    match pb::HouseholdState::try_from(value).ok()? {
        pb::HouseholdState::Unspecified => None,
        pb::HouseholdState::Living => Some(HouseholdState::Living),
        pb::HouseholdState::MovedOut => Some(HouseholdState::MovedOut),
    }
}

fn household_to_proto(h: Household) -> pb::Household {
    pb::Household {
        id: h.id,
        property_id: h.property_id,
        unit_id: h.unit_id,
        unit_label: h.unit_label,
        state: match h.state {
            HouseholdState::Living => pb::HouseholdState::Living,
            HouseholdState::MovedOut => pb::HouseholdState::MovedOut,
        }
        .into(),
        residents: h
            .residents
            .into_iter()
            .map(|r| pb::Resident {
                name: r.name,
                relation: relation_to_proto(r.relation).into(),
                phone: r.phone,
                primary_contact: r.primary_contact,
            })
            .collect(),
        move_in_time: Some(to_timestamp(h.moved_in_at)),
        move_out_time: h.moved_out_at.map(to_timestamp),
    }
}

fn contact_to_proto(c: ContactLine) -> pb::Contact {
    pb::Contact {
        unit_label: c.unit_label,
        household_id: c.household_id,
        name: c.name,
        relation: relation_to_proto(c.relation).into(),
        phone: c.phone,
        primary_contact: c.primary_contact,
    }
}

fn overview_to_proto(l: OverviewLine) -> pb::OverviewLine {
    pb::OverviewLine {
        unit: Some(to_proto(l.unit)),
        household_id: l.household_id.unwrap_or_default(),
        primary_contact: l.primary_contact.unwrap_or_default(),
        residents: l.residents as i32,
        move_in_time: l.moved_in_at.map(to_timestamp),
    }
}

fn totals_to_proto(t: OverviewTotals) -> pb::OverviewTotals {
    pb::OverviewTotals {
        units: t.units as i32,
        unsold: t.unsold as i32,
        vacant: t.vacant as i32,
        occupied: t.occupied as i32,
        residents: t.residents as i32,
        area_m2: t.area_m2,
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
