//! Units, households, residents and the registers.

use wuye_kit::time::to_timestamp;
use wuye_proto::{
    customerservice as pb,
    events::{HouseholdMovedIn, HouseholdMovedOut, UnitRegistered},
};

use crate::{
    app::households::Register,
    domain::{
        households::{Household, HouseholdState, Relation, Resident},
        registers::{ContactLine, OverviewLine, OverviewTotals},
        units::{Unit, UnitState},
    },
};

wuye_kit::enum_conversions!(UnitState <=> pb::UnitState { Unsold, Vacant, Occupied });

wuye_kit::enum_conversions!(Relation <=> pb::ResidentRelation { Owner, Family, Tenant });

wuye_kit::enum_conversions!(HouseholdState <=> pb::HouseholdState { Living, MovedOut });

impl TryFrom<pb::Register> for Register {
    type Error = ();

    fn try_from(register: pb::Register) -> Result<Self, ()> {
        match register {
            pb::Register::ContactList => Ok(Self::ContactList),
            pb::Register::Overview => Ok(Self::Overview),
            _ => Err(()),
        }
    }
}

impl From<Unit> for pb::Unit {
    fn from(u: Unit) -> Self {
        Self {
            label: u.label(),
            id: u.id,
            property_id: u.property_id,
            building: u.building,
            entrance: u.entrance,
            floor: u.floor,
            room: u.room,
            area_m2: u.area_m2,
            state: pb::UnitState::from(u.state).into(),
            create_time: Some(to_timestamp(u.created_at)),
        }
    }
}

impl From<Resident> for pb::Resident {
    fn from(r: Resident) -> Self {
        Self {
            name: r.name,
            relation: pb::ResidentRelation::from(r.relation).into(),
            phone: r.phone,
            primary_contact: r.primary_contact,
        }
    }
}

impl From<Household> for pb::Household {
    fn from(h: Household) -> Self {
        Self {
            id: h.id,
            property_id: h.property_id,
            unit_id: h.unit_id,
            unit_label: h.unit_label,
            state: pb::HouseholdState::from(h.state).into(),
            residents: h.residents.into_iter().map(Into::into).collect(),
            move_in_time: Some(to_timestamp(h.moved_in_at)),
            move_out_time: h.moved_out_at.map(to_timestamp),
        }
    }
}

impl From<ContactLine> for pb::Contact {
    fn from(c: ContactLine) -> Self {
        Self {
            unit_label: c.unit_label,
            household_id: c.household_id,
            name: c.name,
            relation: pb::ResidentRelation::from(c.relation).into(),
            phone: c.phone,
            primary_contact: c.primary_contact,
        }
    }
}

impl From<OverviewLine> for pb::OverviewLine {
    fn from(l: OverviewLine) -> Self {
        Self {
            unit: Some(l.unit.into()),
            household_id: l.household_id.unwrap_or_default(),
            primary_contact: l.primary_contact.unwrap_or_default(),
            residents: l.residents as i32,
            move_in_time: l.moved_in_at.map(to_timestamp),
        }
    }
}

impl From<OverviewTotals> for pb::OverviewTotals {
    fn from(t: OverviewTotals) -> Self {
        Self {
            units: t.units as i32,
            unsold: t.unsold as i32,
            vacant: t.vacant as i32,
            occupied: t.occupied as i32,
            residents: t.residents as i32,
            area_m2: t.area_m2,
        }
    }
}

/// The event announcing a unit to the departments that take unit ids (WO-1).
impl From<&Unit> for UnitRegistered {
    fn from(unit: &Unit) -> Self {
        Self {
            unit_id: unit.id.clone(),
            unit_label: unit.label(),
            building: unit.building.clone(),
            entrance: unit.entrance.clone(),
            room: unit.room.clone(),
            register_time: Some(to_timestamp(unit.created_at)),
        }
    }
}

impl From<&Household> for HouseholdMovedIn {
    fn from(h: &Household) -> Self {
        Self {
            household_id: h.id.clone(),
            unit_id: h.unit_id.clone(),
            unit_label: h.unit_label.clone(),
            move_in_time: Some(to_timestamp(h.moved_in_at)),
        }
    }
}

impl From<&Household> for HouseholdMovedOut {
    fn from(h: &Household) -> Self {
        Self {
            household_id: h.id.clone(),
            unit_id: h.unit_id.clone(),
            unit_label: h.unit_label.clone(),
            move_out_time: h.moved_out_at.map(to_timestamp),
        }
    }
}
