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

/// A unit's label as read from what people say or write: its building, its entrance when
/// given, and its room, each in the folded form of [`part`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub building: String,
    pub entrance: Option<String>,
    pub room: String,
}

/// Markers that end a part as people write it: building (栋, 幢, 座, 号楼), entrance (单元),
/// room (室, 号). "楼" alone is not one: "5楼" is a floor.
const MARKERS: [&str; 7] = ["号楼", "单元", "栋", "幢", "座", "室", "号"];

/// Characters that separate the parts: ASCII and typographic dashes and whitespace.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}')
}

/// Full-width forms (０-９, Ａ-Ｚ, －, the ideographic space) as their ASCII, letters upper
/// case: "２－５０２" and "2-502" read the same.
fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// One part of a label (or a unit's stored building, entrance or room) in the form labels are
/// compared in: folded, trimmed, without its marker ("2栋" is "2", "502室" is "502").
pub fn part(text: &str) -> String {
    let folded = fold(text);
    let trimmed = folded.trim();
    MARKERS
        .iter()
        .find_map(|m| trimmed.strip_suffix(m))
        .unwrap_or(trimmed)
        .trim()
        .to_owned()
}

/// Reads a label as people say it: "2-2-502", "2-502" (a building with one entrance),
/// "2栋2单元502", "2号楼 2单元 502室", "２－５０２". Why it cannot be read otherwise.
pub fn read_label(text: &str) -> Result<Label, &'static str> {
    let mut marked = fold(text);
    for marker in MARKERS {
        marked = marked.replace(marker, "-");
    }
    let parts: Vec<&str> = marked
        .split(is_separator)
        .filter(|p| !p.is_empty())
        .collect();
    if parts
        .iter()
        .any(|p| p.chars().count() > MAX_PART || !p.chars().all(char::is_alphanumeric))
    {
        return Err("is not a unit label such as 2-2-502 or 2栋2单元502");
    }
    let owned = |p: &&str| p.to_string();
    match parts.as_slice() {
        [building, room] => Ok(Label {
            building: owned(building),
            entrance: None,
            room: owned(room),
        }),
        [building, entrance, room] => Ok(Label {
            building: owned(building),
            entrance: Some(owned(entrance)),
            room: owned(room),
        }),
        [] => Err("must not be empty"),
        _ => Err("is not a unit label such as 2-2-502 or 2栋2单元502"),
    }
}

/// What a label names among the units with its room.
#[derive(Debug, PartialEq)]
pub enum Found<'a> {
    One(&'a Unit),
    None,
    /// A label without an entrance, at a building with several: their labels.
    Several(Vec<String>),
}

/// The unit of `candidates` (units of the property with the label's room) that `label`
/// names: the building's, at the entrance given or, without one, its only unit of that room.
pub fn find<'a>(label: &Label, candidates: &'a [Unit]) -> Found<'a> {
    let matching: Vec<&Unit> = candidates
        .iter()
        .filter(|u| part(&u.building) == label.building && part(&u.room) == label.room)
        .filter(|u| match &label.entrance {
            Some(entrance) => part(&u.entrance) == *entrance,
            None => true,
        })
        .collect();
    match matching.as_slice() {
        [] => Found::None,
        [one] => Found::One(one),
        several => Found::Several(several.iter().map(|u| u.label()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (String, Option<String>, String) {
        let l = read_label(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        (l.building, l.entrance, l.room)
    }

    fn parts(b: &str, e: Option<&str>, r: &str) -> (String, Option<String>, String) {
        (b.into(), e.map(Into::into), r.into())
    }

    #[test]
    fn labels_are_read_as_people_say_them() {
        let full = parts("2", Some("2"), "502");
        for text in [
            "2-2-502",
            " 2 - 2 - 502 ",
            "2栋2单元502",
            "2栋2单元502室",
            "2号楼 2单元 502",
            "2幢2单元502号",
            "２－２－５０２",
            "2—2–502",
            "2\u{3000}2\u{3000}502",
        ] {
            assert_eq!(read(text), full, "{text:?}");
        }
        assert_eq!(read("2-502"), parts("2", None, "502"));
        assert_eq!(read("2栋502"), parts("2", None, "502"));
        assert_eq!(read("a座1单元1502"), parts("A", Some("1"), "1502"));
        assert_eq!(read("ａ-101"), parts("A", None, "101"));
    }

    #[test]
    fn unreadable_labels_say_why() {
        assert_eq!(read_label("  "), Err("must not be empty"));
        for text in ["2502", "1-2-3-502", "2/502", "2-5?2", &"9".repeat(30)] {
            assert!(read_label(text).is_err(), "{text:?}");
        }
    }

    fn unit(building: &str, entrance: &str, room: &str) -> Unit {
        Unit {
            id: label(building, entrance, room),
            property_id: "p1".into(),
            building: building.into(),
            entrance: entrance.into(),
            floor: 5,
            room: room.into(),
            area_m2: 90.0,
            state: UnitState::Vacant,
            created_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_label_names_one_unit_or_says_which() {
        let units = [
            unit("2", "1", "502"),
            unit("2", "2", "502"),
            unit("3", "", "502"),
            unit("4栋", "1单元", "502"),
        ];
        let find_text = |text: &str| find(&read_label(text).unwrap(), &units);
        assert_eq!(find_text("2-2-502"), Found::One(&units[1]));
        assert_eq!(find_text("3-502"), Found::One(&units[2]));
        assert_eq!(
            find_text("4-502"),
            Found::One(&units[3]),
            "stored with markers"
        );
        assert_eq!(find_text("4栋1单元502"), Found::One(&units[3]));
        assert_eq!(find_text("3-1-502"), Found::None, "no such entrance");
        assert_eq!(find_text("5-502"), Found::None);
        assert_eq!(
            find_text("2-502"),
            Found::Several(vec!["2-1-502".into(), "2-2-502".into()])
        );
    }

    #[test]
    fn parts_fold_width_case_and_markers() {
        assert_eq!(part(" ２栋 "), "2");
        assert_eq!(part("1单元"), "1");
        assert_eq!(part("b"), "B");
        assert_eq!(part(""), "");
    }

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
