//! Equipment.

use wuye_proto::engineering as pb;

use super::at;
use crate::domain::equipment::{
    Condition, Equipment, InventoryCategory, InventoryItem, Meter, Zone,
};

wuye_kit::enum_conversions!(Condition => pb::EquipmentCondition {
    Intact = Intact,
    Faulty = Faulty,
});

wuye_kit::enum_conversions!(InventoryCategory <=> pb::InventoryCategory {
    Instrument = Instrument,
    Tool = Tool,
    PlantRoomKey = PlantRoomKey,
    FixedAsset = FixedAsset,
    Valuable = Valuable,
});

impl From<Zone> for pb::Zone {
    fn from(z: Zone) -> Self {
        pb::Zone {
            id: z.id,
            property_id: z.property_id,
            name: z.name,
            technician_user_id: z.technician_user_id,
            technician_name: z.technician_name,
            create_time: at(z.created_at),
        }
    }
}

impl From<Meter> for pb::Meter {
    fn from(m: Meter) -> Self {
        pb::Meter {
            name: m.name,
            unit: m.unit,
            min: m.min,
            max: m.max,
        }
    }
}

impl From<Equipment> for pb::Equipment {
    fn from(e: Equipment) -> Self {
        pb::Equipment {
            id: e.id,
            property_id: e.property_id,
            number: e.number,
            name: e.name,
            r#type: e.kind,
            location: e.location,
            zone_id: e.zone_id,
            large: e.large,
            meters: e.meters.into_iter().map(Into::into).collect(),
            condition: pb::EquipmentCondition::from(e.condition).into(),
            create_time: at(e.created_at),
        }
    }
}

impl From<InventoryItem> for pb::InventoryItem {
    fn from(i: InventoryItem) -> Self {
        pb::InventoryItem {
            id: i.id,
            property_id: i.property_id,
            category: pb::InventoryCategory::from(i.category).into(),
            name: i.name,
            count: i.count,
            create_time: at(i.created_at),
        }
    }
}
