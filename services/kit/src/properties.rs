//! The properties a deployment serves and the rule settings of each: every number marked
//! *(config)* in DOMAIN.md, with the seed's value as default. One file (`deploy/properties.toml`)
//! is read by every service, so no service keeps its own copy of a rule.

use std::{collections::HashMap, path::Path, sync::Arc};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, identity::Caller};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PropertyConfig {
    pub id: String,
    pub name: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default)]
    pub rules: Rules,
}

fn default_time_zone() -> String {
    "Asia/Shanghai".into()
}

/// The configurable rules of a property.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Rules {
    /// CMP-3: days within which the responsible department replies, per severity.
    pub complaint_reply_days: ReplyDays,
}

/// CMP-3, CMP-4: reply limits per severity, each at most 3 days.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
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

/// A property as the services work with it.
#[derive(Debug, Clone)]
pub struct Property {
    pub id: String,
    pub name: String,
    pub time_zone: Tz,
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
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let file: PropertiesFile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("parsing {}: {e}", path.display()))?;
        Self::new(file.property)
    }

    pub fn new(configs: Vec<PropertyConfig>) -> anyhow::Result<Self> {
        let mut list = PropertyList::default();
        for c in configs {
            anyhow::ensure!(
                !c.id.is_empty() && c.id.len() <= 64,
                "property id must be 1 to 64 characters"
            );
            let time_zone: Tz = c.time_zone.parse().map_err(|_| {
                anyhow::anyhow!("property {}: unknown time zone {}", c.id, c.time_zone)
            })?;
            let days = c.rules.complaint_reply_days;
            for (severity, d) in [
                ("minor", days.minor),
                ("general", days.general),
                ("serious", days.serious),
            ] {
                anyhow::ensure!(
                    (1..=MAX_REPLY_DAYS).contains(&d),
                    "property {}: complaint_reply_days.{severity} must be 1 to {MAX_REPLY_DAYS} (CMP-3)",
                    c.id
                );
            }
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
                rules: c.rules,
            });
        }
        Ok(Self(Arc::new(list)))
    }

    /// The property a call works on: named by the message's `property_id`, and the one the
    /// gateway authorized the caller for.
    pub fn for_call(&self, caller: &Caller, property_id: &str) -> Result<&Property> {
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
        PropertyConfig {
            id: "p1".into(),
            name: "阳光花园".into(),
            time_zone: default_time_zone(),
            rules: Rules {
                complaint_reply_days: ReplyDays {
                    minor,
                    ..ReplyDays::default()
                },
            },
        }
    }

    #[test]
    fn reply_limit_over_three_days_is_refused() {
        // rule CMP-3
        assert!(Properties::new(vec![config(3)]).is_ok());
        assert!(Properties::new(vec![config(4)]).is_err());
        assert!(Properties::new(vec![config(0)]).is_err());
    }

    #[test]
    fn unknown_property_is_not_found() {
        let props = Properties::new(vec![config(3)]).unwrap();
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
