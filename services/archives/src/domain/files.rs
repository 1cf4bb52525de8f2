//! Household files (一户一档): the filing deadline (ARC-3) and completeness (ARC-4).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use wuye_kit::properties::Property;

/// What a household file holds (ARC-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// 客户本人资料
    Personal,
    /// 家庭资料
    Family,
    /// 房屋档案
    House,
    /// 装修与验收记录
    Decoration,
    /// 收费单据
    Fees,
    /// 涉及服务的图片资料
    Photos,
}

wuye_kit::text_codes!(Category {
    Personal => "personal",
    Family => "family",
    House => "house",
    Decoration => "decoration",
    Fees => "fees",
    Photos => "photos",
});

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Personal,
        Category::Family,
        Category::House,
        Category::Decoration,
        Category::Fees,
        Category::Photos,
    ];
}

/// Where a file stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilingState {
    Open,
    Overdue,
    Filed,
    FiledLate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdFile {
    pub id: String,
    pub property_id: String,
    pub household_id: String,
    pub unit_id: String,
    pub unit_label: String,
    pub moved_in_at: DateTime<Utc>,
    pub filing_due_at: DateTime<Utc>,
    pub filed_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub holder_name: String,
}

/// The categories a property requires (ARC-4, `rules.archives.required_categories`).
pub fn required_categories(property: &Property) -> anyhow::Result<BTreeSet<Category>> {
    property
        .rules
        .archives
        .required_categories
        .iter()
        .map(|code| {
            Category::from_code(code).ok_or_else(|| {
                anyhow::anyhow!(
                    "property {}: rules.archives.required_categories: {code} is not a category (personal, family, house, decoration, fees, photos)",
                    property.id
                )
            })
        })
        .collect()
}

/// ARC-3: complete within `filing_working_days` working days of the move-in, counted in the
/// property's calendar and time zone: the file is due at the end of the last of those days.
pub fn filing_due(moved_in_at: DateTime<Utc>, property: &Property) -> DateTime<Utc> {
    property.calendar.working_day_deadline(
        moved_in_at,
        property.time_zone,
        property.rules.archives.filing_working_days,
    )
}

impl HouseholdFile {
    pub fn filing_state(&self, now: DateTime<Utc>) -> FilingState {
        match self.filed_at {
            Some(filed) if filed < self.filing_due_at => FilingState::Filed,
            Some(_) => FilingState::FiledLate,
            None if now >= self.filing_due_at => FilingState::Overdue,
            None => FilingState::Open,
        }
    }
}

/// The required categories not yet present.
pub fn missing(present: &BTreeSet<Category>, required: &BTreeSet<Category>) -> Vec<Category> {
    required.difference(present).copied().collect()
}

/// ARC-4: complete once every required category is present.
pub fn is_complete(present: &BTreeSet<Category>, required: &BTreeSet<Category>) -> bool {
    required.is_subset(present)
}

pub const MAX_NAME: usize = 50;
pub const MAX_ID_NUMBER: usize = 30;
pub const MAX_PHONE: usize = 30;

/// A resident identity card number (18 characters, the last may be X) or another ID
/// document's number (letters and digits).
pub fn is_plausible_id_number(value: &str) -> bool {
    let len = value.chars().count();
    (5..=MAX_ID_NUMBER).contains(&len)
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && value.chars().any(|c| c.is_ascii_digit())
}

/// Digits, with spaces, dashes and a leading +.
pub fn is_plausible_phone(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    (5..=20).contains(&digits)
        && value
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0))
}

/// Identifiers are masked as every answer masks them (see `wuye_kit::personal`).
pub use wuye_kit::personal::{mask_id_number, mask_phone};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;
    use wuye_kit::{calendar::Calendar, properties::Rules};

    fn property(rules: Rules) -> Property {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/calendars/cn.toml");
        let cn = Calendar::parse("cn", &std::fs::read_to_string(path).unwrap()).unwrap();
        Property {
            id: "p1".into(),
            name: "阳光花园".into(),
            time_zone: chrono_tz::Asia::Shanghai,
            calendar: std::sync::Arc::new(cn),
            rules,
        }
    }

    fn shanghai(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn deadline_skips_the_mid_autumn_holiday_and_the_weekend() {
        // rule ARC-3: Thursday 24 September 2026; 25–27 September is 中秋 (Fri–Sun), so the
        // three working days are Mon 28, Tue 29 and Wed 30: due at the start of 1 October.
        let p = property(Rules::default());
        assert_eq!(
            filing_due(shanghai(2026, 9, 24, 16), &p),
            shanghai(2026, 10, 1, 0)
        );
    }

    #[test]
    fn deadline_counts_in_the_property_time_zone() {
        // rule ARC-3: 23:30 UTC on Thursday is Friday morning in Shanghai.
        let p = property(Rules::default());
        let moved = Utc.with_ymd_and_hms(2026, 11, 26, 23, 30, 0).unwrap();
        // Friday 27 November → Mon 30, Tue 1, Wed 2 December.
        assert_eq!(filing_due(moved, &p), shanghai(2026, 12, 3, 0));
    }

    #[test]
    fn deadline_follows_the_configured_number_of_days() {
        let mut rules = Rules::default();
        rules.archives.filing_working_days = 1;
        let p = property(rules);
        assert_eq!(
            filing_due(shanghai(2026, 11, 27, 9), &p),
            shanghai(2026, 12, 1, 0)
        );
    }

    #[test]
    fn completeness_needs_every_required_category() {
        // rule ARC-4
        let p = property(Rules::default());
        let required = required_categories(&p).unwrap();
        assert_eq!(required.len(), 6);
        let mut present: BTreeSet<Category> = Category::ALL[..5].iter().copied().collect();
        assert!(!is_complete(&present, &required));
        assert_eq!(missing(&present, &required), [Category::Photos]);
        present.insert(Category::Photos);
        assert!(is_complete(&present, &required));
    }

    #[test]
    fn the_required_set_is_configurable() {
        let mut rules = Rules::default();
        rules.archives.required_categories = vec!["personal".into(), "house".into()];
        let p = property(rules.clone());
        let required = required_categories(&p).unwrap();
        let present = [Category::Personal, Category::House].into_iter().collect();
        assert!(is_complete(&present, &required));
        rules.archives.required_categories = vec!["diary".into()];
        assert!(required_categories(&property(rules)).is_err());
    }

    #[test]
    fn filing_states() {
        let due = shanghai(2026, 10, 1, 0);
        let mut file = HouseholdFile {
            id: "f".into(),
            property_id: "p".into(),
            household_id: "h".into(),
            unit_id: "u".into(),
            unit_label: "3-2-1502".into(),
            moved_in_at: shanghai(2026, 9, 24, 16),
            filing_due_at: due,
            filed_at: None,
            opened_at: shanghai(2026, 9, 24, 16),
            holder_name: String::new(),
        };
        let before = due - chrono::Duration::seconds(1);
        assert_eq!(file.filing_state(before), FilingState::Open);
        assert_eq!(file.filing_state(due), FilingState::Overdue);
        file.filed_at = Some(before);
        assert_eq!(file.filing_state(due), FilingState::Filed);
        file.filed_at = Some(due);
        assert_eq!(file.filing_state(due), FilingState::FiledLate);
    }

    #[test]
    fn identifiers_are_masked() {
        assert!(is_plausible_id_number("11010119900101123X"));
        assert!(!is_plausible_id_number("abc"));
        assert!(is_plausible_phone("+86 138-0013-8000"));
        assert!(!is_plausible_phone("call me"));
    }
}
