//! The properties a deployment serves and the rule settings of each: every number marked
//! *(config)* in DOMAIN.md, with the seed's value as default. One file (`deploy/properties.toml`)
//! is read by every service, so no service keeps its own copy of a rule.

use std::{collections::HashMap, path::Path, sync::Arc};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    calendar::{Calendar, Calendars},
    identity::Caller,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyConfig {
    pub id: String,
    pub name: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// A calendar of `deploy/calendars/` (the file name without `.toml`).
    #[serde(default = "default_calendar")]
    pub holiday_calendar: String,
    #[serde(default)]
    pub rules: Rules,
}

fn default_time_zone() -> String {
    "Asia/Shanghai".into()
}

fn default_calendar() -> String {
    "cn".into()
}

/// The configurable rules of a property, one section per department.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    pub complaints: ComplaintRules,
    pub keys: KeyRules,
    pub archives: ArchiveRules,
    pub engineering: EngineeringRules,
    pub surveys: SurveyRules,
    pub escalation: EscalationRules,
}

/// ESC-2: which facts besides the major marking (ESC-1, always) send a complaint to the
/// company quality department. The gateway's relay applies them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationRules {
    /// A complaint registered as serious.
    pub escalate_serious: bool,
    /// A complaint whose reply deadline (CMP-3) passed without a reply.
    pub escalate_reply_overdue: bool,
    /// A complaint still open `complaints.unresolved_after_days` after registration.
    pub escalate_unresolved: bool,
    /// A problem recurring `complaints.recurring_threshold` times at one building in the
    /// analysis half-year (CMP-9): the complaint that makes it recurrent goes up, once.
    pub escalate_recurring: bool,
}

impl Default for EscalationRules {
    fn default() -> Self {
        Self {
            escalate_serious: true,
            escalate_reply_overdue: true,
            escalate_unresolved: true,
            escalate_recurring: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplaintRules {
    /// CMP-3: days within which the responsible department replies, per severity.
    pub reply_days: ReplyDays,
    /// Count `reply_days` as working days of the property's calendar instead of calendar days.
    pub reply_in_working_days: bool,
    /// ESC-2: a complaint still open this many days after registration is announced as
    /// unresolved.
    pub unresolved_after_days: u32,
    /// CMP-9: the same category at one building or unit this many times in a period recurs.
    pub recurring_threshold: u32,
}

impl Default for ComplaintRules {
    fn default() -> Self {
        Self {
            reply_days: ReplyDays::default(),
            reply_in_working_days: false,
            unresolved_after_days: 30,
            recurring_threshold: 3,
        }
    }
}

/// CMP-3, CMP-4: reply limits per severity, each at most 3 days.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplyDays {
    pub minor: u32,
    pub general: u32,
    pub serious: u32,
}

impl Default for ReplyDays {
    fn default() -> Self {
        Self {
            minor: 3,
            general: 2,
            serious: 1,
        }
    }
}

/// CMP-3: "答复时间最长不应超过三天".
pub const MAX_REPLY_DAYS: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyRules {
    /// KEY-8: a loan this many days past its expected return is chased.
    pub overdue_after_days: u32,
    /// KEY-10: years key records are kept after the custody closes.
    pub retention_years: u32,
}

impl Default for KeyRules {
    fn default() -> Self {
        Self {
            overdue_after_days: 1,
            retention_years: 2,
        }
    }
}

impl KeyRules {
    /// A zero retention would purge a custody the moment it closes (KEY-10).
    fn check(&self, property: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=100).contains(&self.retention_years),
            "property {property}: rules.keys.retention_years must be 1 to 100 (KEY-10)"
        );
        anyhow::ensure!(
            self.overdue_after_days <= 365,
            "property {property}: rules.keys.overdue_after_days must be at most 365 (KEY-8)"
        );
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveRules {
    /// ARC-3: working days after move-in by which a household's file is complete.
    pub filing_working_days: u32,
    /// ARC-12: years archives are kept unless a record class says otherwise.
    pub retention_years: u32,
    /// ARC-4: the document categories a household file needs to be complete (codes of the
    /// archives service: personal, family, house, decoration, fees, photos).
    pub required_categories: Vec<String>,
}

impl Default for ArchiveRules {
    fn default() -> Self {
        Self {
            filing_working_days: 3,
            retention_years: 10,
            required_categories: [
                "personal",
                "family",
                "house",
                "decoration",
                "fees",
                "photos",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineeringRules {
    /// HO-1: minutes before the end of a shift the outgoing person prepares.
    pub outgoing_prepare_minutes: u32,
    /// HO-2: minutes early the incoming person arrives.
    pub incoming_early_minutes: u32,
    /// WO-2: minutes to arrive at an emergency repair after dispatch.
    pub emergency_arrival_minutes: u32,
    /// WO-2: minutes to arrive at an ordinary repair after dispatch.
    pub ordinary_arrival_minutes: u32,
    /// INS-4: equipment intact rate target, in percent.
    pub intact_rate_target_percent: u32,
    /// INS-3: the day the engineering manager's weekly inspection window starts, 1 (Monday)
    /// to 7 (Sunday); the window is that day and the six after it.
    pub weekly_inspection_weekday: u32,
    /// INS-4: whether the schedule makes a monthly inspection of all equipment.
    pub monthly_inspections: bool,
    /// INS-1: the normal range of an equipment room's temperature on the daily inspection,
    /// in degrees Celsius; a reading outside it opens a work order (INS-5).
    pub equipment_room_min_celsius: i32,
    pub equipment_room_max_celsius: i32,
}

impl Default for EngineeringRules {
    fn default() -> Self {
        Self {
            outgoing_prepare_minutes: 20,
            incoming_early_minutes: 15,
            emergency_arrival_minutes: 30,
            ordinary_arrival_minutes: 15,
            intact_rate_target_percent: 95,
            weekly_inspection_weekday: 1,
            monthly_inspections: true,
            equipment_room_min_celsius: 5,
            equipment_room_max_celsius: 40,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyRules {
    /// CS-1: survey campaigns at least this often, in months.
    pub campaign_every_months: u32,
    /// CS-5: days after a survey's end by which results are published.
    pub publish_within_days: u32,
    /// VIS-4: monthly repair follow-up rate target, in percent.
    pub repair_follow_up_target_percent: u32,
    /// VIS-5: share of occupied households visited after move-in, in percent.
    pub move_in_visit_target_percent: u32,
    /// CS-3: the service items a campaign rates unless it names its own.
    pub items: Vec<String>,
    /// CS-3: the rating levels, best first, unless a campaign names its own.
    pub levels: Vec<String>,
    /// CS-3: how many of the top levels count as satisfied.
    pub satisfied_levels: u32,
}

impl Default for SurveyRules {
    fn default() -> Self {
        Self {
            campaign_every_months: 12,
            publish_within_days: 30,
            repair_follow_up_target_percent: 100,
            move_in_visit_target_percent: 5,
            items: [
                "供电",
                "供水",
                "消防治安",
                "卫生",
                "绿化",
                "公共设施",
                "维修服务",
                "服务态度",
            ]
            .map(String::from)
            .to_vec(),
            levels: ["很满意", "满意", "较满意", "一般", "不满意"]
                .map(String::from)
                .to_vec(),
            satisfied_levels: 3,
        }
    }
}

/// A property as the services work with it.
#[derive(Debug, Clone)]
pub struct Property {
    pub id: String,
    pub name: String,
    pub time_zone: Tz,
    /// The holiday calendar working days are counted with.
    pub calendar: Arc<Calendar>,
    pub rules: Rules,
}

impl Property {
    pub fn to_proto(&self) -> wuye_proto::common::Property {
        wuye_proto::common::Property {
            id: self.id.clone(),
            name: self.name.clone(),
            time_zone: self.time_zone.name().to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertiesFile {
    #[serde(default)]
    property: Vec<PropertyConfig>,
}

/// Every property of the deployment, checked once at start-up, in the order of the file.
#[derive(Debug, Clone, Default)]
pub struct Properties(Arc<PropertyList>);

#[derive(Debug, Default)]
struct PropertyList {
    in_order: Vec<Property>,
    by_id: HashMap<String, usize>,
}

impl Properties {
    /// Reads the properties file and the holiday calendars in `calendars/` beside it.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let file: PropertiesFile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("parsing {}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new(".")).join("calendars");
        Self::new(file.property, &Calendars::load_dir(&dir)?)
    }

    pub fn new(configs: Vec<PropertyConfig>, calendars: &Calendars) -> anyhow::Result<Self> {
        let mut list = PropertyList::default();
        for c in configs {
            anyhow::ensure!(
                !c.id.is_empty() && c.id.len() <= 64,
                "property id must be 1 to 64 characters"
            );
            let time_zone: Tz = c.time_zone.parse().map_err(|_| {
                anyhow::anyhow!("property {}: unknown time zone {}", c.id, c.time_zone)
            })?;
            let calendar = calendars.get(&c.holiday_calendar).ok_or_else(|| {
                anyhow::anyhow!(
                    "property {}: no holiday calendar {}",
                    c.id,
                    c.holiday_calendar
                )
            })?;
            let days = c.rules.complaints.reply_days;
            for (severity, d) in [
                ("minor", days.minor),
                ("general", days.general),
                ("serious", days.serious),
            ] {
                anyhow::ensure!(
                    (1..=MAX_REPLY_DAYS).contains(&d),
                    "property {}: rules.complaints.reply_days.{severity} must be 1 to {MAX_REPLY_DAYS} (CMP-3)",
                    c.id
                );
            }
            c.rules.keys.check(&c.id)?;
            let index = list.in_order.len();
            anyhow::ensure!(
                list.by_id.insert(c.id.clone(), index).is_none(),
                "property {} is listed twice",
                c.id
            );
            list.in_order.push(Property {
                id: c.id,
                name: c.name,
                time_zone,
                calendar,
                rules: c.rules,
            });
        }
        Ok(Self(Arc::new(list)))
    }

    /// The property a call works on: named by the message's `property_id`, and the one the
    /// gateway authorized the caller for. Departments reach it through [`crate::scope`].
    pub(crate) fn for_call(&self, caller: &Caller, property_id: &str) -> Result<&Property> {
        if property_id.is_empty() {
            return Err(Error::invalid("property_id", "must not be empty"));
        }
        caller.require_property(property_id)?;
        self.get(property_id)
    }

    pub fn get(&self, id: &str) -> Result<&Property> {
        self.0
            .by_id
            .get(id)
            .map(|&i| &self.0.in_order[i])
            .ok_or_else(|| Error::not_found("property", id))
    }

    /// The properties in the order of the file.
    pub fn iter(&self) -> impl Iterator<Item = &Property> {
        self.0.in_order.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(minor: u32) -> PropertyConfig {
        let mut rules = Rules::default();
        rules.complaints.reply_days.minor = minor;
        PropertyConfig {
            id: "p1".into(),
            name: "阳光花园".into(),
            time_zone: default_time_zone(),
            holiday_calendar: "plain".into(),
            rules,
        }
    }

    fn calendars() -> Calendars {
        Calendars::from_iter([Calendar::weekends_only("plain")])
    }

    #[test]
    fn reply_limit_over_three_days_is_refused() {
        // rule CMP-3
        assert!(Properties::new(vec![config(3)], &calendars()).is_ok());
        assert!(Properties::new(vec![config(4)], &calendars()).is_err());
        assert!(Properties::new(vec![config(0)], &calendars()).is_err());
    }

    #[test]
    fn unknown_property_is_not_found() {
        let props = Properties::new(vec![config(3)], &calendars()).unwrap();
        assert_eq!(
            props.get("p1").unwrap().time_zone,
            chrono_tz::Asia::Shanghai
        );
        assert!(props.get("nope").is_err());
    }

    #[test]
    fn deploy_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/properties.toml");
        let props = Properties::load(&path).unwrap();
        assert!(props.iter().count() >= 1);
    }
}
