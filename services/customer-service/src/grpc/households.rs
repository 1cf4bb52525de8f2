use std::{fmt, str::FromStr};

use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations, from_proto, idempotency::RequestId, page, time::from_timestamp,
};
use wuye_proto::customerservice::{self as pb, household_service_server::HouseholdService};

use crate::{
    CustomerService,
    app::{
        households::{self as app, MoveIn, Register},
        units::{self as units_app, NewUnit},
    },
    domain::{
        households::{self as household_rules, HouseholdState, Relation, Resident},
        units::{self as rules, Unit, UnitState},
    },
};

#[tonic::async_trait]
impl HouseholdService for CustomerService {
    async fn create_unit(
        &self,
        request: Request<pb::CreateUnitRequest>,
    ) -> Result<Response<pb::CreateUnitResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let unit = new_unit(req)?;
        let unit = units_app::create_unit(self, &scope, &request_id, unit).await?;
        Ok(Response::new(pb::CreateUnitResponse {
            unit: Some(unit.into()),
        }))
    }

    async fn get_unit(
        &self,
        request: Request<pb::GetUnitRequest>,
    ) -> Result<Response<pb::GetUnitResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let unit = units_app::get_unit(self, &scope, &req.unit_id).await?;
        Ok(Response::new(pb::GetUnitResponse {
            unit: Some(unit.into()),
        }))
    }

    async fn find_unit(
        &self,
        request: Request<pb::FindUnitRequest>,
    ) -> Result<Response<pb::FindUnitResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.max_text("label", &req.label, 100);
        v.check()?;
        let label = rules::read_label(&req.label).map_err(|why| Error::invalid("label", why))?;
        let unit = units_app::find_unit(self, &scope, &req.label, &label).await?;
        Ok(Response::new(pb::FindUnitResponse {
            unit: Some(unit.into()),
        }))
    }

    async fn list_units(
        &self,
        request: Request<pb::ListUnitsRequest>,
    ) -> Result<Response<pb::ListUnitsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<UnitCursor>(&req.page_token)?.map(|c| c.0);
        let building = non_empty(&req.building);
        let units = units_app::list_units(self, &scope, building, after.as_ref(), limit).await?;
        let next_page_token = page::next_token(&units, limit, unit_cursor);
        Ok(Response::new(pb::ListUnitsResponse {
            units: units.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn record_move_in(
        &self,
        request: Request<pb::RecordMoveInRequest>,
    ) -> Result<Response<pb::RecordMoveInResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let move_in = move_in(req, self.clock.now())?;
        let household = app::record_move_in(self, &scope, &request_id, move_in).await?;
        Ok(Response::new(pb::RecordMoveInResponse {
            household: Some(household.into()),
        }))
    }

    async fn record_move_out(
        &self,
        request: Request<pb::RecordMoveOutRequest>,
    ) -> Result<Response<pb::RecordMoveOutResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let now = self.clock.now();
        let mut v = Violations::new();
        v.required_text("household_id", &req.household_id, 64);
        let at = optional_time(req.move_out_time.as_ref(), "move_out_time", &mut v).unwrap_or(now);
        household_rules::check_not_future("move_out_time", at, now, &mut v);
        v.check()?;
        let household = app::record_move_out(self, &scope, &req.household_id, at).await?;
        Ok(Response::new(pb::RecordMoveOutResponse {
            household: Some(household.into()),
        }))
    }

    async fn get_household(
        &self,
        request: Request<pb::GetHouseholdRequest>,
    ) -> Result<Response<pb::GetHouseholdResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let household = app::get_household(self, &scope, &req.household_id).await?;
        Ok(Response::new(pb::GetHouseholdResponse {
            household: Some(household.into()),
        }))
    }

    async fn list_households(
        &self,
        request: Request<pb::ListHouseholdsRequest>,
    ) -> Result<Response<pb::ListHouseholdsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let state = match req.state {
            0 => None,
            s => Some(
                from_proto::<pb::HouseholdState, HouseholdState>(s)
                    .ok_or_else(|| Error::invalid("state", "is not a household state"))?,
            ),
        };
        let limit = page::page_size(req.page_size)?;
        let before = page::after::<String>(&req.page_token)?;
        let unit = non_empty(&req.unit_id);
        let households =
            app::list_households(self, &scope, unit, state, before.as_deref(), limit).await?;
        let next_page_token = page::next_token(&households, limit, |h| h.id.clone());
        Ok(Response::new(pb::ListHouseholdsResponse {
            households: households.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn list_contacts(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<RegisterCursor>(&req.page_token)?.map(|c| c.0);
        let building = non_empty(&req.building);
        let lines = app::list_contacts(self, &scope, building, after.as_ref(), limit).await?;
        let next_page_token =
            page::next_token(&lines, limit, |(key, _)| RegisterCursor(key.clone()));
        Ok(Response::new(pb::ListContactsResponse {
            contacts: lines.into_iter().map(|(_, line)| line.into()).collect(),
            next_page_token,
        }))
    }

    async fn get_overview_register(
        &self,
        request: Request<pb::GetOverviewRegisterRequest>,
    ) -> Result<Response<pb::GetOverviewRegisterResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<UnitCursor>(&req.page_token)?.map(|c| c.0);
        let building = non_empty(&req.building);
        let (lines, totals) =
            app::overview_register(self, &scope, building, after.as_ref(), limit).await?;
        let next_page_token = page::next_token(&lines, limit, |l| unit_cursor(&l.unit));
        Ok(Response::new(pb::GetOverviewRegisterResponse {
            lines: lines.into_iter().map(Into::into).collect(),
            next_page_token,
            totals: Some(totals.into()),
        }))
    }

    async fn render_register(
        &self,
        request: Request<pb::RenderRegisterRequest>,
    ) -> Result<Response<pb::RenderRegisterResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let register = from_proto::<pb::Register, Register>(req.register)
            .ok_or_else(|| Error::invalid("register", "must be contact_list or overview"))?;
        let building = non_empty(&req.building);
        let rendered = app::render_register(self, &scope, register, building).await?;
        Ok(Response::new(pb::RenderRegisterResponse {
            document: Some(wuye_kit::document::html_document(
                rendered.file_name,
                rendered.html,
            )),
        }))
    }
}

/// Separates the parts of a unit key inside a page token.
const KEY_SEPARATOR: char = '\u{1f}';

/// The unit a page of units (or of the overview register) continues after: building,
/// entrance and room.
struct UnitCursor((String, String, String));

fn unit_cursor(u: &Unit) -> UnitCursor {
    UnitCursor((u.building.clone(), u.entrance.clone(), u.room.clone()))
}

impl fmt::Display for UnitCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (b, e, r) = &self.0;
        write!(f, "{b}{KEY_SEPARATOR}{e}{KEY_SEPARATOR}{r}")
    }
}

impl FromStr for UnitCursor {
    type Err = ();

    fn from_str(key: &str) -> Result<Self, ()> {
        match key.split(KEY_SEPARATOR).collect::<Vec<_>>().as_slice() {
            [b, e, r] => Ok(Self((b.to_string(), e.to_string(), r.to_string()))),
            _ => Err(()),
        }
    }
}

/// The resident a page of the contact list continues after: the unit and the position.
struct RegisterCursor((String, String, String, i64));

impl fmt::Display for RegisterCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (b, e, r, p) = &self.0;
        write!(
            f,
            "{b}{KEY_SEPARATOR}{e}{KEY_SEPARATOR}{r}{KEY_SEPARATOR}{p}"
        )
    }
}

impl FromStr for RegisterCursor {
    type Err = ();

    fn from_str(key: &str) -> Result<Self, ()> {
        match key.split(KEY_SEPARATOR).collect::<Vec<_>>().as_slice() {
            [b, e, r, p] => Ok(Self((
                b.to_string(),
                e.to_string(),
                r.to_string(),
                p.parse().map_err(|_| ())?,
            ))),
            _ => Err(()),
        }
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// The unit to register, checked.
fn new_unit(req: pb::CreateUnitRequest) -> Result<NewUnit> {
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
        s => from_proto::<pb::UnitState, UnitState>(s),
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
    Ok(NewUnit {
        building: req.building.trim().to_owned(),
        entrance: req.entrance.trim().to_owned(),
        floor: req.floor,
        room: req.room.trim().to_owned(),
        area_m2: req.area_m2,
        state: state.unwrap_or(UnitState::Vacant),
    })
}

/// The move-in, checked: its residents (the primary contact named) and its time, not in the
/// future of `now`.
fn move_in(req: pb::RecordMoveInRequest, now: chrono::DateTime<chrono::Utc>) -> Result<MoveIn> {
    let mut v = Violations::new();
    v.required_text("request_id", &req.request_id, 100);
    v.required_text("unit_id", &req.unit_id, 64);
    let residents = req
        .residents
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let relation = from_proto::<pb::ResidentRelation, Relation>(r.relation);
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
    Ok(MoveIn {
        unit_id: req.unit_id,
        residents,
        moved_in_at,
    })
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
