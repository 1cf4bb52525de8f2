//! The transport: a handler establishes the call's scope, checks the shape of its request,
//! converts it (`crate::convert`) and calls its use case in `app`.

mod complaints;
mod figures;
mod households;
pub(crate) mod keys;
mod properties;
mod surveys;
mod visits;

use wuye_proto::customerservice as pb;

use crate::domain::units::UnitState;

fn unit_state_from_proto(value: i32) -> Option<UnitState> {
    match pb::UnitState::try_from(value).ok()? {
        pb::UnitState::Unspecified => None,
        pb::UnitState::Unsold => Some(UnitState::Unsold),
        pb::UnitState::Vacant => Some(UnitState::Vacant),
        pb::UnitState::Occupied => Some(UnitState::Occupied),
    }
}

fn unit_state_to_proto(state: UnitState) -> pb::UnitState {
    match state {
        UnitState::Unsold => pb::UnitState::Unsold,
        UnitState::Vacant => pb::UnitState::Vacant,
        UnitState::Occupied => pb::UnitState::Occupied,
    }
}
