//! The transport: validates requests and converts between protobuf and domain types. The
//! rules live in `domain`, the SQL in `store`.

mod complaints;
mod figures;
mod households;
pub(crate) mod keys;
mod properties;
mod surveys;
mod visits;

use wuye_proto::customerservice as pb;

use crate::domain::complaints::{Channel, Severity, State};

fn channel_from_proto(value: i32) -> Option<Channel> {
    match pb::Channel::try_from(value).ok()? {
        pb::Channel::Unspecified => None,
        pb::Channel::Letter => Some(Channel::Letter),
        pb::Channel::Phone => Some(Channel::Phone),
        pb::Channel::Fax => Some(Channel::Fax),
        pb::Channel::Visit => Some(Channel::Visit),
        pb::Channel::App => Some(Channel::App),
    }
}

fn channel_to_proto(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Letter => pb::Channel::Letter,
        Channel::Phone => pb::Channel::Phone,
        Channel::Fax => pb::Channel::Fax,
        Channel::Visit => pb::Channel::Visit,
        Channel::App => pb::Channel::App,
    }
}

fn severity_from_proto(value: i32) -> Option<Severity> {
    match pb::Severity::try_from(value).ok()? {
        pb::Severity::Unspecified => None,
        pb::Severity::Minor => Some(Severity::Minor),
        pb::Severity::General => Some(Severity::General),
        pb::Severity::Serious => Some(Severity::Serious),
    }
}

pub(crate) fn severity_to_proto(severity: Severity) -> pb::Severity {
    match severity {
        Severity::Minor => pb::Severity::Minor,
        Severity::General => pb::Severity::General,
        Severity::Serious => pb::Severity::Serious,
    }
}

fn state_from_proto(value: i32) -> Option<State> {
    match pb::ComplaintState::try_from(value).ok()? {
        pb::ComplaintState::Unspecified => None,
        pb::ComplaintState::Registered => Some(State::Registered),
        pb::ComplaintState::SentToTeam => Some(State::SentToTeam),
        pb::ComplaintState::PlanProposed => Some(State::PlanProposed),
        pb::ComplaintState::PlanConfirmed => Some(State::PlanConfirmed),
        pb::ComplaintState::Communicated => Some(State::Communicated),
        pb::ComplaintState::InProgress => Some(State::InProgress),
        pb::ComplaintState::Reported => Some(State::Reported),
        pb::ComplaintState::ResultTold => Some(State::ResultTold),
        pb::ComplaintState::Closed => Some(State::Closed),
    }
}

fn state_to_proto(state: State) -> pb::ComplaintState {
    match state {
        State::Registered => pb::ComplaintState::Registered,
        State::SentToTeam => pb::ComplaintState::SentToTeam,
        State::PlanProposed => pb::ComplaintState::PlanProposed,
        State::PlanConfirmed => pb::ComplaintState::PlanConfirmed,
        State::Communicated => pb::ComplaintState::Communicated,
        State::InProgress => pb::ComplaintState::InProgress,
        State::Reported => pb::ComplaintState::Reported,
        State::ResultTold => pb::ComplaintState::ResultTold,
        State::Closed => pb::ComplaintState::Closed,
    }
}
