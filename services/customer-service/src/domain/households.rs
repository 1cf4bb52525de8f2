//! Households (住户), their residents, move-in (入住) and move-out (迁出).

use chrono::{DateTime, Utc};
use wuye_kit::{Error, Result, Violations};

use super::{is_plausible_phone, units::UnitState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Owner,
    Family,
    Tenant,
}

wuye_kit::text_codes!(Relation { Owner => "owner", Family => "family", Tenant => "tenant" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HouseholdState {
    Living,
    MovedOut,
}

wuye_kit::text_codes!(HouseholdState { Living => "living", MovedOut => "moved_out" });

/// A person of a household. Personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resident {
    pub name: String,
    pub relation: Relation,
    pub phone: String,
    pub primary_contact: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    pub id: String,
    pub property_id: String,
    pub unit_id: String,
    pub unit_label: String,
    pub state: HouseholdState,
    pub residents: Vec<Resident>,
    pub moved_in_at: DateTime<Utc>,
    pub moved_out_at: Option<DateTime<Utc>>,
}

impl Household {
    /// The resident the center calls first.
    pub fn primary_contact(&self) -> Option<&Resident> {
        self.residents.iter().find(|r| r.primary_contact)
    }
}

pub const MAX_RESIDENTS: usize = 20;
pub const MAX_NAME: usize = 50;
pub const MAX_PHONE: usize = 30;

/// Checks the residents of a move-in and names the primary contact: the one flagged, or the
/// first owner or tenant, or the first resident.
pub fn residents_for_move_in(mut residents: Vec<Resident>, v: &mut Violations) -> Vec<Resident> {
    if residents.is_empty() {
        v.add("residents", "at least one resident moves in");
    }
    if residents.len() > MAX_RESIDENTS {
        v.add("residents", format!("at most {MAX_RESIDENTS} residents"));
    }
    for (i, r) in residents.iter_mut().enumerate() {
        r.name = r.name.trim().to_owned();
        r.phone = r.phone.trim().to_owned();
        v.required_text(&format!("residents[{i}].name"), &r.name, MAX_NAME);
        v.max_text(&format!("residents[{i}].phone"), &r.phone, MAX_PHONE);
        if !r.phone.is_empty() && !is_plausible_phone(&r.phone) {
            v.add(&format!("residents[{i}].phone"), "is not a phone number");
        }
    }
    match residents.iter().filter(|r| r.primary_contact).count() {
        0 => {
            let first = residents
                .iter()
                .position(|r| r.relation != Relation::Family)
                .unwrap_or(0);
            if let Some(r) = residents.get_mut(first) {
                r.primary_contact = true;
            }
        }
        1 => {}
        _ => v.add("residents", "at most one primary contact"),
    }
    residents
}

/// A move-in goes into a unit nobody lives in.
pub fn check_move_in(unit: UnitState) -> Result<()> {
    match unit {
        UnitState::Unsold | UnitState::Vacant => Ok(()),
        UnitState::Occupied => Err(Error::rule(
            "UNIT_OCCUPIED",
            "a household lives in this unit: record its move-out first",
        )),
    }
}

/// A move-out is of a household that lives there, not before it moved in.
pub fn check_move_out(household: &Household, at: DateTime<Utc>) -> Result<()> {
    if household.state == HouseholdState::MovedOut {
        return Err(Error::rule(
            "HOUSEHOLD_MOVED_OUT",
            "the household has already moved out",
        ));
    }
    if at < household.moved_in_at {
        return Err(Error::invalid("move_out_time", "is before the move-in"));
    }
    Ok(())
}

/// A recorded time is not in the future (a minute of clock skew aside).
pub fn check_not_future(field: &str, at: DateTime<Utc>, now: DateTime<Utc>, v: &mut Violations) {
    if at > now + chrono::Duration::minutes(1) {
        v.add(field, "is in the future");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resident(name: &str, relation: Relation, primary: bool) -> Resident {
        Resident {
            name: name.into(),
            relation,
            phone: "13800138000".into(),
            primary_contact: primary,
        }
    }

    #[test]
    fn the_first_owner_or_tenant_is_the_primary_contact_by_default() {
        let mut v = Violations::new();
        let rs = residents_for_move_in(
            vec![
                resident("李小明", Relation::Family, false),
                resident("李明", Relation::Owner, false),
            ],
            &mut v,
        );
        assert!(v.is_empty());
        assert_eq!(
            rs.iter()
                .filter(|r| r.primary_contact)
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["李明"]
        );
    }

    #[test]
    fn two_primary_contacts_or_nobody_are_refused() {
        let mut v = Violations::new();
        residents_for_move_in(
            vec![
                resident("a", Relation::Owner, true),
                resident("b", Relation::Tenant, true),
            ],
            &mut v,
        );
        assert!(!v.is_empty());
        let mut v = Violations::new();
        residents_for_move_in(vec![], &mut v);
        assert!(!v.is_empty());
    }

    #[test]
    fn nobody_moves_into_an_occupied_unit() {
        assert!(check_move_in(UnitState::Vacant).is_ok());
        assert!(check_move_in(UnitState::Unsold).is_ok());
        let e = check_move_in(UnitState::Occupied).unwrap_err();
        assert!(matches!(
            e,
            Error::Rule {
                reason: "UNIT_OCCUPIED",
                ..
            }
        ));
    }
}
