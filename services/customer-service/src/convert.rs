//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums and messages, `From`
//! to them. The transport converts requests and answers with it; the application, the
//! payloads of its events.

// Units and households

mod households;
mod visits;

pub(crate) use visits::VisitAt;

impl TryFrom<wuye_proto::customerservice::UnitState> for crate::domain::units::UnitState {
    type Error = ();

    fn try_from(state: wuye_proto::customerservice::UnitState) -> Result<Self, ()> {
        use wuye_proto::customerservice::UnitState as Pb;
        match state {
            Pb::Unspecified => Err(()),
            Pb::Unsold => Ok(Self::Unsold),
            Pb::Vacant => Ok(Self::Vacant),
            Pb::Occupied => Ok(Self::Occupied),
        }
    }
}

impl From<crate::domain::units::UnitState> for wuye_proto::customerservice::UnitState {
    fn from(state: crate::domain::units::UnitState) -> Self {
        use crate::domain::units::UnitState as D;
        match state {
            D::Unsold => Self::Unsold,
            D::Vacant => Self::Vacant,
            D::Occupied => Self::Occupied,
        }
    }
}
