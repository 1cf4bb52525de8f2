//! Units (房屋) of a property.

/// Occupancy of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitState {
    Unsold,
    Vacant,
    Occupied,
}

wuye_kit::text_codes!(UnitState { Unsold => "unsold", Vacant => "vacant", Occupied => "occupied" });

/// A unit of a property.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub id: String,
    pub property_id: String,
    pub building: String,
    pub entrance: String,
    pub floor: i32,
    pub room: String,
    pub area_m2: f64,
    pub state: UnitState,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Unit {
    pub fn label(&self) -> String {
        label(&self.building, &self.entrance, &self.room)
    }
}

pub const MAX_PART: usize = 20;

/// "3-2-1502" as the front desk writes a unit: building, entrance (when there is one), room.
pub fn label(building: &str, entrance: &str, room: &str) -> String {
    if entrance.is_empty() {
        format!("{building}-{room}")
    } else {
        format!("{building}-{entrance}-{room}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(label("3", "2", "1502"), "3-2-1502");
        assert_eq!(label("A", "", "101"), "A-101");
    }

    #[test]
    fn codes_round_trip() {
        for s in [UnitState::Unsold, UnitState::Vacant, UnitState::Occupied] {
            assert_eq!(UnitState::from_code(s.code()), Some(s));
        }
    }
}
