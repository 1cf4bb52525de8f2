//! The plan of a property's demo data, from a seed.

use wuye_kit::properties::{PropertyConfig, Rules};
use wuye_proto::customerservice as pb;

use super::{
    DemoSize, Rng,
    staff::{StaffPlan, plan_staff},
};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "玉兰", "志强", "晓燕", "海燕",
    "建国", "子涵", "浩然", "欣怡", "梓萱", "宇轩", "雨桐",
];
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "157", "158", "159", "166", "177", "180", "181", "182", "185", "186", "187", "188", "189",
    "199",
];
const PLACE: &[&str] = &[
    "阳光", "滨江", "翠湖", "锦绣", "金色", "紫荆", "星河", "御景", "海棠", "香樟", "桃源", "明珠",
    "云顶", "枫林", "碧水", "丽景", "和谐", "幸福",
];
const KIND: &[&str] = &["花园", "苑", "家园", "华庭", "名邸", "雅居", "新城", "公馆"];
/// The usual survey items (CS-3) double as complaint categories, with what people say.
const COMPLAINTS: &[(&str, &[&str])] = &[
    (
        "供电",
        &[
            "楼道灯不亮已经三天",
            "电梯间照明时好时坏",
            "家中频繁跳闸，怀疑线路问题",
        ],
    ),
    (
        "供水",
        &[
            "早上水压太低，高层几乎没水",
            "自来水发黄有异味",
            "停水未提前通知",
        ],
    ),
    (
        "消防治安",
        &[
            "消防通道被私家车占用",
            "单元门门禁损坏，陌生人随意进出",
            "夜间巡逻不到位",
        ],
    ),
    (
        "卫生",
        &[
            "垃圾清运不及时，气味很大",
            "楼道长期无人打扫",
            "地下车库积水发臭",
        ],
    ),
    (
        "绿化",
        &[
            "草坪枯黄无人养护",
            "树枝遮挡窗户需要修剪",
            "绿化带被改成菜地",
        ],
    ),
    (
        "公共设施",
        &["电梯经常停运", "健身器材损坏", "小区路灯坏了好几盏"],
    ),
    (
        "维修服务",
        &[
            "报修后三天无人上门",
            "维修后问题依旧",
            "维修人员未按约定时间到达",
        ],
    ),
    (
        "服务态度",
        &["前台接待态度冷淡", "投诉后没有任何回复", "保安说话不文明"],
    ),
];

/// A planned unit and, when occupied, its household.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitPlan {
    pub building: String,
    pub entrance: String,
    pub floor: i32,
    pub room: String,
    pub area_m2: f64,
    pub sold: bool,
    pub residents: Vec<(String, pb::ResidentRelation, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComplaintPlan {
    /// Index into the property's units; a complaint about the common parts has none.
    pub unit: Option<usize>,
    pub channel: pb::Channel,
    pub severity: pb::Severity,
    pub category: String,
    pub description: String,
    pub complainant: (String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PropertyPlan {
    pub id: String,
    pub name: String,
    pub units: Vec<UnitPlan>,
    pub complaints: Vec<ComplaintPlan>,
    /// Empty without months of history.
    pub history: HistoryPlan,
    /// The property's people in the staff directory, who act in its history.
    pub staff: Vec<StaffPlan>,
}

/// What happens over the months of history, by day from its first day (day 0, when the
/// households move in).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPlan {
    pub days: u32,
    /// Per complaint of the plan: the day it is registered and the days of the steps of
    /// [`COMPLAINT_PATH`] it goes through (fewer than all: still open today).
    pub complaints: Vec<(u32, Vec<u32>)>,
    pub key_sets: Vec<KeySetPlan>,
    pub visits: Vec<VisitPlan>,
    pub work_orders: Vec<WorkOrderPlan>,
}

/// A household's repair (WO-1..WO-3): opened on `day`, then dispatched, arrived at and
/// completed on the days of `steps` (fewer than three: still under way today).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOrderPlan {
    pub unit: usize,
    pub day: u32,
    pub description: String,
    /// Index into [`TECHNICIANS`].
    pub technician: usize,
    pub steps: Vec<u32>,
}

/// Keys a household entrusts on day 0 (KEY-1..KEY-5) and lends out over the months.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySetPlan {
    /// Index into the property's units.
    pub unit: usize,
    pub slot: String,
    pub id_number: String,
    /// Borrow day, return day (none: still out today) and the borrower's index into
    /// [`TECHNICIANS`].
    pub loans: Vec<(u32, Option<u32>, usize)>,
}

/// A routine follow-up visit of a household (VIS-1).
#[derive(Debug, Clone, PartialEq)]
pub struct VisitPlan {
    pub unit: usize,
    pub day: u32,
    pub satisfied: bool,
    pub content: String,
}

/// The straight path of a complaint to the customer's satisfaction (CMP-5): who takes each
/// step and what they write.
pub const COMPLAINT_PATH: [(&str, &str); 8] = [
    ("send", "请维修班组处理"),
    ("propose", "安排师傅上门查看并处理"),
    ("confirm", "同意"),
    ("communicate", "已电话告知客户处理方案"),
    ("start", "已开始处理"),
    ("report", "已处理完毕，现场已清理"),
    ("tell", "已告知客户处理结果"),
    ("verdict", "客户表示满意"),
];

/// The technicians who borrow keys: user id, name, phone.
pub const TECHNICIANS: [(&str, &str, &str); 4] = [
    ("tech-1", "张师傅", "13700001111"),
    ("tech-2", "李师傅", "13700002222"),
    ("tech-3", "陈师傅", "13700003333"),
    ("tech-4", "刘师傅", "13700004444"),
];

const REPAIRS: &[&str] = &[
    "厨房水龙头漏水",
    "卫生间下水堵塞",
    "客厅插座没电",
    "入户门锁损坏",
    "阳台推拉门卡住",
    "热水器不出热水",
];

const VISIT_WORDS: &[&str] = &[
    "对保洁和绿化满意",
    "希望加强夜间巡逻",
    "电梯维修及时，态度好",
    "建议增加快递柜",
    "对前台服务满意",
];

/// A resident ID number (18 digits) with a valid check digit, born in the 1960s to 1990s.
pub(super) fn id_number(rng: &mut Rng) -> String {
    let body = format!(
        "110105{}{:02}{:02}{:03}",
        1960 + rng.below(40),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(1000)
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or_default() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// Plans the history of a property over `months` (30 days each), from its own stream of the
/// seed so that the plan without history stays the same.
pub(super) fn plan_history(
    rng: &mut Rng,
    months: u32,
    units: &[UnitPlan],
    complaints: usize,
) -> HistoryPlan {
    if months == 0 {
        return HistoryPlan::default();
    }
    let days = months * 30;
    let complaints = (0..complaints)
        .map(|_| {
            let registered = rng.below(u64::from(days)) as u32;
            let taken = if rng.percent(75) {
                COMPLAINT_PATH.len()
            } else {
                rng.below(COMPLAINT_PATH.len() as u64) as usize
            };
            let mut day = registered;
            let mut steps = Vec::new();
            for _ in 0..taken {
                day += rng.below(3) as u32;
                if day >= days {
                    break; // still under way today
                }
                steps.push(day);
            }
            (registered, steps)
        })
        .collect();
    let occupied: Vec<usize> = units
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.residents.is_empty())
        .map(|(i, _)| i)
        .collect();
    let key_sets = occupied
        .iter()
        .step_by(8)
        .enumerate()
        .map(|(k, &unit)| {
            let loans = (0..months)
                .map(|m| {
                    let borrow = m * 30 + rng.below(24) as u32;
                    let back = borrow + rng.below(4) as u32;
                    let returned = !(m + 1 == months && rng.percent(20)) && back < days;
                    (
                        borrow,
                        returned.then_some(back),
                        rng.below(TECHNICIANS.len() as u64) as usize,
                    )
                })
                .collect();
            KeySetPlan {
                unit,
                slot: format!("K-{:03}", k + 1),
                id_number: id_number(rng),
                loans,
            }
        })
        .collect();
    let mut visits = Vec::new();
    for &unit in &occupied {
        if rng.percent(30) {
            visits.push(VisitPlan {
                unit,
                day: rng.below(u64::from(days)) as u32,
                satisfied: rng.percent(80),
                content: (*rng.pick(VISIT_WORDS)).to_owned(),
            });
        }
    }
    let work_orders = plan_work_orders(rng, months, &occupied);
    HistoryPlan {
        days,
        complaints,
        key_sets,
        visits,
        work_orders,
    }
}

/// `count` generated properties ("p001", …) for a deployment's properties list.
pub fn property_configs(seed: u64, count: u32) -> Vec<PropertyConfig> {
    (0..count)
        .map(|i| {
            let mut rng = Rng::new(seed, u64::from(i) << 32);
            PropertyConfig {
                id: format!("p{:03}", i + 1),
                name: format!("{}{}", rng.pick(PLACE), rng.pick(KIND)),
                time_zone: "Asia/Shanghai".into(),
                holiday_calendar: "cn".into(),
                rules: Rules::default(),
            }
        })
        .collect()
}

fn person(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

fn phone(rng: &mut Rng) -> String {
    format!("{}{:08}", rng.pick(MOBILE_PREFIXES), rng.below(100_000_000))
}

/// Plans the data of one property: the same `seed`, `id` and `size` always give the same plan.
pub fn plan_property(seed: u64, id: &str, name: &str, size: DemoSize) -> PropertyPlan {
    let stream = id
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = Rng::new(seed, stream);
    let mut units = Vec::new();
    for building in 1..=size.buildings {
        for entrance in 1..=size.entrances {
            for floor in 1..=size.floors {
                for door in 1..=size.doors {
                    units.push(plan_unit(&mut rng, size, [building, entrance, floor, door]));
                }
            }
        }
    }
    let occupied: Vec<usize> = units
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.residents.is_empty())
        .map(|(i, _)| i)
        .collect();
    let complaints = (0..size.complaints)
        .map(|_| plan_complaint(&mut rng, &units, &occupied))
        .collect::<Vec<_>>();
    let history = plan_history(
        &mut Rng::new(seed, stream ^ 0x4849_5354_4f52_5900),
        size.months,
        &units,
        complaints.len(),
    );
    PropertyPlan {
        id: id.to_owned(),
        name: name.to_owned(),
        units,
        complaints,
        history,
        staff: plan_staff(id, 0),
    }
}

/// One unit of `building`, `entrance`, `floor`, `door`: sold or not, lived in or not.
fn plan_unit(
    rng: &mut Rng,
    size: DemoSize,
    [building, entrance, floor, door]: [u32; 4],
) -> UnitPlan {
    let sold = rng.percent(95);
    let occupied = sold && rng.percent(size.occupancy_percent);
    let mut residents = Vec::new();
    if occupied {
        let surname = *rng.pick(SURNAMES);
        let tenant = rng.percent(15);
        let head = if tenant {
            pb::ResidentRelation::Tenant
        } else {
            pb::ResidentRelation::Owner
        };
        residents.push((format!("{surname}{}", rng.pick(GIVEN)), head, phone(rng)));
        for _ in 0..rng.below(4) {
            let relative_phone = if rng.percent(50) {
                phone(rng)
            } else {
                String::new()
            };
            residents.push((
                format!("{surname}{}", rng.pick(GIVEN)),
                pb::ResidentRelation::Family,
                relative_phone,
            ));
        }
    }
    UnitPlan {
        building: building.to_string(),
        entrance: entrance.to_string(),
        floor: floor as i32,
        room: format!("{floor}{door:02}"),
        area_m2: [89.5, 96.0, 118.3, 126.0, 143.7][rng.below(5) as usize],
        sold,
        residents,
    }
}

/// One complaint, about a unit of `occupied` (indices into `units`) or the common parts.
fn plan_complaint(rng: &mut Rng, units: &[UnitPlan], occupied: &[usize]) -> ComplaintPlan {
    let (category, sayings) = rng.pick(COMPLAINTS);
    let unit = (!occupied.is_empty() && rng.percent(80)).then(|| *rng.pick(occupied));
    let complainant = match unit {
        Some(i) => (
            units[i].residents[0].0.clone(),
            units[i].residents[0].2.clone(),
        ),
        None => (person(rng), phone(rng)),
    };
    let severity = match rng.below(100) {
        0..70 => pb::Severity::Minor,
        70..95 => pb::Severity::General,
        _ => pb::Severity::Serious,
    };
    let channel = *rng.pick(&[
        pb::Channel::Phone,
        pb::Channel::Phone,
        pb::Channel::Visit,
        pb::Channel::App,
        pb::Channel::App,
        pb::Channel::Letter,
        pb::Channel::Fax,
    ]);
    ComplaintPlan {
        unit,
        channel,
        severity,
        category: (*category).to_owned(),
        description: (*rng.pick(sayings)).to_owned(),
        complainant,
    }
}

/// The repairs of the history: a sixth of the households a month.
fn plan_work_orders(rng: &mut Rng, months: u32, occupied: &[usize]) -> Vec<WorkOrderPlan> {
    let days = months * 30;
    let mut work_orders = Vec::new();
    for _ in 0..(occupied.len() / 6).max(1) * months as usize {
        let day = rng.below(u64::from(days)) as u32;
        let mut steps = Vec::new();
        let taken = if rng.percent(85) { 3 } else { rng.below(3) };
        let mut at = day;
        for step in 0..taken {
            // Dispatched the day it opens, arrived at then or the next day, completed on
            // arrival.
            if step == 1 {
                at += rng.below(2) as u32;
            }
            if at >= days {
                break;
            }
            steps.push(at);
        }
        work_orders.push(WorkOrderPlan {
            unit: *rng.pick(occupied),
            day,
            description: (*rng.pick(REPAIRS)).to_owned(),
            technician: rng.below(TECHNICIANS.len() as u64) as usize,
            steps,
        });
    }
    work_orders
}
