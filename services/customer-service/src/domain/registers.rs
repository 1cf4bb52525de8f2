//! The customer contact list (客户联系表) and the customer overview register (客户情况登记一览表),
//! kept by the customer service clerk (ARC-5), as printable pages.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use wuye_kit::document::{page, table};

use super::{
    households::Relation,
    units::{Unit, UnitState},
};

/// One line of the contact list.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactLine {
    pub unit_label: String,
    pub household_id: String,
    pub name: String,
    pub relation: Relation,
    pub phone: String,
    pub primary_contact: bool,
}

/// One line of the overview register: a unit and who lives there.
#[derive(Debug, Clone, PartialEq)]
pub struct OverviewLine {
    pub unit: Unit,
    pub household_id: Option<String>,
    pub primary_contact: Option<String>,
    pub residents: i64,
    pub moved_in_at: Option<DateTime<Utc>>,
}

/// Totals of the overview register.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverviewTotals {
    pub units: i64,
    pub unsold: i64,
    pub vacant: i64,
    pub occupied: i64,
    pub residents: i64,
    pub area_m2: f64,
}

/// The header facts of every register: the property, the scope and when it was printed.
pub struct Heading<'a> {
    pub property_name: &'a str,
    pub building: Option<&'a str>,
    pub printed_at: DateTime<Utc>,
    pub time_zone: Tz,
}

impl Heading<'_> {
    fn facts(&self) -> Vec<(&'static str, String)> {
        vec![
            ("物业", self.property_name.to_owned()),
            (
                "范围",
                self.building
                    .map(|b| format!("{b} 栋"))
                    .unwrap_or_else(|| "全部".into()),
            ),
            (
                "打印时间",
                self.printed_at
                    .with_timezone(&self.time_zone)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            ),
        ]
    }
}

pub fn relation_name(r: Relation) -> &'static str {
    match r {
        Relation::Owner => "业主",
        Relation::Family => "家庭成员",
        Relation::Tenant => "租户",
    }
}

pub fn unit_state_name(s: UnitState) -> &'static str {
    match s {
        UnitState::Unsold => "未售",
        UnitState::Vacant => "空置",
        UnitState::Occupied => "已入住",
    }
}

pub fn render_contact_list(heading: &Heading<'_>, lines: &[ContactLine]) -> String {
    let rows = lines.iter().map(|l| {
        vec![
            l.unit_label.clone(),
            l.name.clone(),
            relation_name(l.relation).to_owned(),
            l.phone.clone(),
            if l.primary_contact { "是" } else { "" }.to_owned(),
        ]
    });
    let body = table(&["房号", "姓名", "关系", "联系电话", "首要联系人"], rows);
    page("客户联系表", &heading.facts(), &body)
}

pub fn render_overview(
    heading: &Heading<'_>,
    lines: &[OverviewLine],
    totals: &OverviewTotals,
) -> String {
    let tz = heading.time_zone;
    let rows = lines.iter().map(|l| {
        vec![
            l.unit.label(),
            l.unit.floor.to_string(),
            format!("{:.1}", l.unit.area_m2),
            unit_state_name(l.unit.state).to_owned(),
            l.primary_contact.clone().unwrap_or_default(),
            if l.household_id.is_some() {
                l.residents.to_string()
            } else {
                String::new()
            },
            l.moved_in_at
                .map(|t| t.with_timezone(&tz).format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        ]
    });
    let mut body = table(
        &[
            "房号",
            "楼层",
            "面积(m²)",
            "状态",
            "户主/联系人",
            "人数",
            "入住日期",
        ],
        rows,
    );
    body.push_str(&table(
        &["总户数", "未售", "空置", "已入住", "住户人数", "总面积(m²)"],
        [vec![
            totals.units.to_string(),
            totals.unsold.to_string(),
            totals.vacant.to_string(),
            totals.occupied.to_string(),
            totals.residents.to_string(),
            format!("{:.1}", totals.area_m2),
        ]],
    ));
    page("客户情况登记一览表", &heading.facts(), &body)
}
