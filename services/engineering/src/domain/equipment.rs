//! Equipment, zones and the duty room's inventory list.

use chrono::{DateTime, Utc};

/// 完好 or not (INS-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Intact,
    Faulty,
}

wuye_kit::text_codes!(Condition { Intact => "intact", Faulty => "faulty" });

/// A meter and its normal range.
#[derive(Debug, Clone, PartialEq)]
pub struct Meter {
    pub name: String,
    pub unit: String,
    pub min: f64,
    pub max: f64,
}

impl Meter {
    /// Why the range cannot be used, if it cannot.
    pub fn range_problem(&self) -> Option<&'static str> {
        if !(self.min.is_finite() && self.max.is_finite()) {
            Some("min and max must be finite numbers")
        } else if self.min > self.max {
            Some("min must not be above max")
        } else {
            None
        }
    }

    /// INS-5: a reading outside the normal range fails.
    pub fn in_range(&self, reading: f64) -> bool {
        reading.is_finite() && self.min <= reading && reading <= self.max
    }
}

/// The posts of a zone's technician at the property: INS-1, each technician (工程技工)
/// inspects the equipment of their own zone and records its daily inspections, which only
/// the zone's technician records.
pub const ZONE_TECHNICIAN_ROLES: &[&str] = &["technician"];

/// A technician's zone of responsibility (INS-1).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub id: String,
    pub property_id: String,
    pub name: String,
    pub technician_user_id: String,
    pub technician_name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Equipment {
    pub id: String,
    pub property_id: String,
    pub number: String,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub zone_id: String,
    /// Inspected weekly by the manager (INS-3).
    pub large: bool,
    pub meters: Vec<Meter>,
    pub condition: Condition,
    pub created_at: DateTime<Utc>,
}

/// HO-5 and 交接班制度 3, 5: what the duty room's list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryCategory {
    Instrument,
    Tool,
    PlantRoomKey,
    FixedAsset,
    Valuable,
}

wuye_kit::text_codes!(InventoryCategory {
    Instrument => "instrument",
    Tool => "tool",
    PlantRoomKey => "plant_room_key",
    FixedAsset => "fixed_asset",
    Valuable => "valuable",
});

#[derive(Debug, Clone, PartialEq)]
pub struct InventoryItem {
    pub id: String,
    pub property_id: String,
    pub category: InventoryCategory,
    pub name: String,
    pub count: i64,
    pub created_at: DateTime<Utc>,
}

/// The most a listed count can be: a duty room, not a warehouse.
pub const MAX_COUNT: i64 = 100_000;
/// Meters a piece of equipment may carry.
pub const MAX_METERS: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(min: f64, max: f64) -> Meter {
        Meter {
            name: "出口压力".into(),
            unit: "MPa".into(),
            min,
            max,
        }
    }

    #[test]
    fn readings_outside_the_range_fail() {
        // rule INS-5
        let m = meter(0.2, 0.6);
        assert!(m.in_range(0.2) && m.in_range(0.6) && m.in_range(0.4));
        assert!(!m.in_range(0.61) && !m.in_range(0.0) && !m.in_range(f64::NAN));
    }

    #[test]
    fn ranges_must_be_usable() {
        assert!(meter(1.0, 0.0).range_problem().is_some());
        assert!(meter(f64::NEG_INFINITY, 0.0).range_problem().is_some());
        assert!(meter(0.0, 0.0).range_problem().is_none());
    }

    #[test]
    fn codes_round_trip() {
        for c in [
            InventoryCategory::Instrument,
            InventoryCategory::Tool,
            InventoryCategory::PlantRoomKey,
            InventoryCategory::FixedAsset,
            InventoryCategory::Valuable,
        ] {
            assert_eq!(InventoryCategory::from_code(c.code()), Some(c));
        }
        assert_eq!(Condition::from_code("faulty"), Some(Condition::Faulty));
    }
}
