//! Demo data: realistic properties (buildings, units, households with Chinese names and
//! plausible phone numbers, occupancy, complaints) planned from a seed number, so the same
//! seed always gives the same data, and loaded through the gateway's public RPCs. Optionally
//! months of history: complaints taken through their steps, key custody with loans and
//! returns, follow-up visits, each on its day when the loader may move the services' clock
//! (a [`TimeMachine`]).

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use wuye_kit::{
    clock::ShiftedClock,
    properties::{PropertyConfig, Rules},
    time::to_timestamp,
};
use wuye_proto::{
    customerservice::{
        self as pb, complaint_service_client::ComplaintServiceClient,
        household_service_client::HouseholdServiceClient, key_service_client::KeyServiceClient,
        visit_service_client::VisitServiceClient,
    },
    engineering::{self as eng, work_order_service_client::WorkOrderServiceClient},
};

use crate::connect::{Authed, Target, call};

/// How much to plan.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub buildings: u32,
    pub entrances: u32,
    pub floors: u32,
    /// Units per floor and entrance.
    pub doors: u32,
    /// Percent of sold units that are occupied.
    pub occupancy_percent: u32,
    pub complaints: u32,
    /// Months of history before today (0: everything happens now, complaints stay new).
    pub months: u32,
}

impl Default for DemoSize {
    fn default() -> Self {
        Self {
            buildings: 2,
            entrances: 2,
            floors: 6,
            doors: 2,
            occupancy_percent: 85,
            complaints: 12,
            months: 0,
        }
    }
}

/// SplitMix64: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn percent(&mut self, p: u32) -> bool {
        self.below(100) < u64::from(p)
    }
}

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
fn id_number(rng: &mut Rng) -> String {
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
fn plan_history(rng: &mut Rng, months: u32, units: &[UnitPlan], complaints: usize) -> HistoryPlan {
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
            unit: *rng.pick(&occupied),
            day,
            description: (*rng.pick(REPAIRS)).to_owned(),
            technician: rng.below(TECHNICIANS.len() as u64) as usize,
            steps,
        });
    }
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
                        residents.push((
                            format!("{surname}{}", rng.pick(GIVEN)),
                            head,
                            phone(&mut rng),
                        ));
                        for _ in 0..rng.below(4) {
                            let relative_phone = if rng.percent(50) {
                                phone(&mut rng)
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
                    units.push(UnitPlan {
                        building: building.to_string(),
                        entrance: entrance.to_string(),
                        floor: floor as i32,
                        room: format!("{floor}{door:02}"),
                        area_m2: [89.5, 96.0, 118.3, 126.0, 143.7][rng.below(5) as usize],
                        sold,
                        residents,
                    });
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
        .map(|_| {
            let (category, sayings) = rng.pick(COMPLAINTS);
            let unit = (!occupied.is_empty() && rng.percent(80)).then(|| *rng.pick(&occupied));
            let complainant = match unit {
                Some(i) => (
                    units[i].residents[0].0.clone(),
                    units[i].residents[0].2.clone(),
                ),
                None => (person(&mut rng), phone(&mut rng)),
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
        })
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
    }
}

/// What a load did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub units: usize,
    pub households: usize,
    pub complaints: usize,
    /// Complaint steps, key entrustments, loans, returns, visits and work orders (with their
    /// steps) of the history.
    pub steps: usize,
    pub key_sets: usize,
    pub loans: usize,
    pub returns: usize,
    pub visits: usize,
    pub work_orders: usize,
    pub work_order_steps: usize,
}

/// Moves the services' clock for the history: the loader goes to each day of the history in
/// turn, and back to the present at the end.
pub trait TimeMachine: Send + Sync {
    /// Where the history ends.
    fn present(&self) -> DateTime<Utc>;
    /// Makes it `at` for the services.
    fn travel(&self, at: DateTime<Utc>);
    /// Back to the present.
    fn back(&self);
}

impl TimeMachine for ShiftedClock {
    fn present(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn travel(&self, at: DateTime<Utc>) {
        self.set(at);
    }

    fn back(&self) {
        self.reset();
    }
}

/// Returns the clock to the present however the load ends.
struct Back<'a>(Option<&'a dyn TimeMachine>);

impl Drop for Back<'_> {
    fn drop(&mut self) {
        if let Some(machine) = self.0 {
            machine.back();
        }
    }
}

/// Calls in flight at once while loading.
const CONCURRENCY: usize = 32;

/// A channel to the gateway as `role` of `property`.
async fn channel_as(
    gateway: &str,
    property: &str,
    role: &str,
    user: &str,
    name: &str,
) -> anyhow::Result<Authed> {
    let token = wuye_gateway::sign_dev_token(
        role,
        &[property.to_owned()],
        user,
        name,
        Duration::from_secs(3600),
    )?;
    Target {
        gateway: gateway.to_owned(),
        token: Some(token),
        property: property.to_owned(),
        ca: None,
    }
    .channel()
    .await
}

/// A refusal that means the step was taken by an earlier load of the same plan.
fn taken_before(e: &anyhow::Error) -> bool {
    let message = e.to_string();
    [
        "STEP_OUT_OF_ORDER",
        "COMPLAINT_CLOSED",
        "WORK_ORDER_DISPATCHED",
        "ALREADY_ARRIVED",
        "WORK_ORDER_COMPLETED",
    ]
    .iter()
    .any(|reason| message.contains(&format!("[{reason}]")))
}

/// How long opening a work order waits for engineering to learn its unit.
const UNIT_WAIT: Duration = Duration::from_secs(60);

/// Opens a work order for a unit this loader registered moments ago. Engineering learns the
/// units from customer-service's events (WO-1), so it may refuse the unit until it has caught
/// up; the refusal stores nothing, and the same request is sent again, for at most
/// [`UNIT_WAIT`]. Any other refusal, or the unit still unknown by then, is the error.
async fn open_work_order(
    client: &mut WorkOrderServiceClient<Authed>,
    request: eng::CreateWorkOrderRequest,
) -> anyhow::Result<eng::CreateWorkOrderResponse> {
    use tonic_types::StatusExt;
    let unknown_unit = |status: &tonic::Status| {
        status.code() == tonic::Code::InvalidArgument
            && status
                .get_details_bad_request()
                .is_some_and(|b| b.field_violations.iter().any(|v| v.field == "unit_id"))
    };
    let deadline = Instant::now() + UNIT_WAIT;
    let mut pause = Duration::from_millis(50);
    loop {
        match client.create_work_order(request.clone()).await {
            Err(status) if unknown_unit(&status) && Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            answer => return call(async { answer }).await,
        }
    }
}

/// Loads `plan` through the gateway at `gateway`, idempotently: request ids come from the
/// seed and the plan, so loading the same plan twice creates nothing new, and a complaint's
/// steps taken before are refused by its state machine and skipped. With a `machine`, the
/// history happens on its days; without one, all of it happens now.
pub async fn load(
    gateway: &str,
    seed: u64,
    plan: &PropertyPlan,
    machine: Option<&dyn TimeMachine>,
) -> anyhow::Result<Loaded> {
    let history = &plan.history;
    let machine = machine.filter(|_| history.days > 0);
    let _back = Back(machine);
    let start = machine.map(|m| m.present() - chrono::Duration::days(history.days.into()));
    // Day `day` of the history is `day` days after its first, at the present's time of day.
    let day_time = |day: u32| match start {
        Some(start) => start + chrono::Duration::days(day.into()),
        None => Utc::now(),
    };
    let go = |day: u32| {
        if let Some(machine) = machine {
            machine.travel(day_time(day));
        }
    };
    go(0);
    let clerk = channel_as(gateway, &plan.id, "cs_clerk", "demo-loader", "演示数据").await?;
    let households = HouseholdServiceClient::new(clerk.clone());
    let complaints = ComplaintServiceClient::new(clerk.clone());
    let key = |what: &str, i: usize| format!("demo-{seed}-{}-{what}-{i}", plan.id);

    let unit_ids: Vec<String> = stream::iter(plan.units.iter().enumerate())
        .map(|(i, u)| {
            let mut client: HouseholdServiceClient<Authed> = households.clone();
            let request = pb::CreateUnitRequest {
                property_id: plan.id.clone(),
                request_id: key("unit", i),
                building: u.building.clone(),
                entrance: u.entrance.clone(),
                floor: u.floor,
                room: u.room.clone(),
                area_m2: u.area_m2,
                state: if u.sold {
                    pb::UnitState::Vacant
                } else {
                    pb::UnitState::Unsold
                }
                .into(),
            };
            async move {
                Ok::<_, anyhow::Error>(
                    call(client.create_unit(request))
                        .await?
                        .unit
                        .unwrap_or_default()
                        .id,
                )
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;

    let moves = plan
        .units
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.residents.is_empty());
    let household_ids: HashMap<usize, String> = stream::iter(moves)
        .map(|(i, u)| {
            let mut client = households.clone();
            let request = pb::RecordMoveInRequest {
                property_id: plan.id.clone(),
                request_id: key("move-in", i),
                unit_id: unit_ids[i].clone(),
                residents: u
                    .residents
                    .iter()
                    .map(|(name, relation, phone)| pb::Resident {
                        name: name.clone(),
                        relation: (*relation).into(),
                        phone: phone.clone(),
                        primary_contact: false,
                    })
                    .collect(),
                move_in_time: None,
            };
            let unit_id = unit_ids[i].clone();
            let property_id = plan.id.clone();
            async move {
                match call(client.record_move_in(request)).await {
                    Ok(moved) => Ok((i, moved.household.unwrap_or_default().id)),
                    // Loaded before under another request id: the unit is lived in already.
                    Err(e) if e.to_string().contains("UNIT_OCCUPIED") => {
                        let living = call(client.list_households(pb::ListHouseholdsRequest {
                            property_id,
                            unit_id,
                            state: pb::HouseholdState::Living.into(),
                            page_size: 1,
                            page_token: String::new(),
                        }))
                        .await?;
                        let id = living.households.first().map(|h| h.id.clone());
                        Ok((i, id.unwrap_or_default()))
                    }
                    Err(e) => Err(e),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;

    let mut loaded = Loaded {
        units: unit_ids.len(),
        households: household_ids.len(),
        ..Loaded::default()
    };
    if history.days == 0 {
        loaded.complaints = stream::iter(0..plan.complaints.len())
            .map(|i| {
                let mut client = complaints.clone();
                let request = complaint_request(plan, &unit_ids, i, key("complaint", i));
                async move { call(client.create_complaint(request)).await.map(|_| ()) }
            })
            .buffer_unordered(CONCURRENCY)
            .try_fold(0, |n, ()| async move { Ok(n + 1) })
            .await?;
        return Ok(loaded);
    }

    // The history, day by day: on each day, what happens to one complaint, key set or
    // household happens in order; different ones at once.
    let mut days: BTreeMap<u32, BTreeMap<(u8, usize), Vec<Act>>> = BTreeMap::new();
    let mut at = |day: u32, entity: (u8, usize), act: Act| {
        days.entry(day)
            .or_default()
            .entry(entity)
            .or_default()
            .push(act);
    };
    for (i, (registered, steps)) in history.complaints.iter().enumerate() {
        at(*registered, (0, i), Act::Register(i));
        for (step, day) in steps.iter().enumerate() {
            at(*day, (0, i), Act::Step(i, step));
        }
    }
    for (k, set) in history.key_sets.iter().enumerate() {
        at(0, (1, k), Act::Entrust(k));
        for (j, (borrow, back, _)) in set.loans.iter().enumerate() {
            at(*borrow, (1, k), Act::Borrow(k, j));
            if let Some(back) = back {
                at(*back, (1, k), Act::Return(k, j));
            }
        }
    }
    for (v, visit) in history.visits.iter().enumerate() {
        at(visit.day, (2, v), Act::Visit(v));
    }
    for (w, order) in history.work_orders.iter().enumerate() {
        at(order.day, (3, w), Act::OpenOrder(w));
        for (step, day) in order.steps.iter().enumerate() {
            at(*day, (3, w), Act::OrderStep(w, step));
        }
    }
    let mut technicians = Vec::new();
    for (user, name, _) in TECHNICIANS {
        technicians.push(WorkOrderServiceClient::new(
            channel_as(gateway, &plan.id, "technician", user, name).await?,
        ));
    }

    let loader = History {
        plan,
        unit_ids: &unit_ids,
        household_ids: &household_ids,
        key: &key,
        clerk: clerk.clone(),
        supervisor: ComplaintServiceClient::new(
            channel_as(
                gateway,
                &plan.id,
                "cs_supervisor",
                "demo-supervisor",
                "客服主管 陈静",
            )
            .await?,
        ),
        manager: ComplaintServiceClient::new(
            channel_as(
                gateway,
                &plan.id,
                "project_manager",
                "demo-manager",
                "项目经理 刘强",
            )
            .await?,
        ),
        foreman: WorkOrderServiceClient::new(
            channel_as(
                gateway,
                &plan.id,
                "maintenance_foreman",
                "demo-foreman",
                "维修领班 赵刚",
            )
            .await?,
        ),
        technicians,
        complaint_ids: Mutex::new(HashMap::new()),
        work_order_ids: Mutex::new(HashMap::new()),
        key_set_ids: Mutex::new(HashMap::new()),
        loan_ids: Mutex::new(HashMap::new()),
        counts: Mutex::new(Loaded::default()),
    };
    for (day, entities) in days {
        go(day);
        let now = day_time(day);
        stream::iter(entities.into_values())
            .map(|acts| loader.run(acts, now))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await?;
    }
    let counts = *loader.counts.lock().expect("counts");
    Ok(Loaded {
        complaints: counts.complaints,
        steps: counts.steps,
        key_sets: counts.key_sets,
        loans: counts.loans,
        returns: counts.returns,
        visits: counts.visits,
        work_orders: counts.work_orders,
        work_order_steps: counts.work_order_steps,
        ..loaded
    })
}

fn complaint_request(
    plan: &PropertyPlan,
    unit_ids: &[String],
    i: usize,
    request_id: String,
) -> pb::CreateComplaintRequest {
    let c = &plan.complaints[i];
    pb::CreateComplaintRequest {
        property_id: plan.id.clone(),
        request_id,
        channel: c.channel.into(),
        complainant: Some(pb::Complainant {
            name: c.complainant.0.clone(),
            phone: c.complainant.1.clone(),
        }),
        unit_id: c.unit.map(|u| unit_ids[u].clone()).unwrap_or_default(),
        category: c.category.clone(),
        description: c.description.clone(),
        severity: c.severity.into(),
        contact_number: 0,
    }
}

/// One thing that happens in the history.
#[derive(Debug, Clone, Copy)]
enum Act {
    Register(usize),
    /// The complaint's step of [`COMPLAINT_PATH`].
    Step(usize, usize),
    Entrust(usize),
    Borrow(usize, usize),
    Return(usize, usize),
    Visit(usize),
    OpenOrder(usize),
    /// Dispatch, arrival or completion of the work order.
    OrderStep(usize, usize),
}

/// The history loader of one property: its clients and the ids the calls return.
struct History<'a> {
    plan: &'a PropertyPlan,
    unit_ids: &'a [String],
    household_ids: &'a HashMap<usize, String>,
    key: &'a (dyn Fn(&str, usize) -> String + Sync),
    clerk: Authed,
    supervisor: ComplaintServiceClient<Authed>,
    manager: ComplaintServiceClient<Authed>,
    foreman: WorkOrderServiceClient<Authed>,
    /// By [`TECHNICIANS`]: each records their own arrivals and completions.
    technicians: Vec<WorkOrderServiceClient<Authed>>,
    complaint_ids: Mutex<HashMap<usize, String>>,
    work_order_ids: Mutex<HashMap<usize, String>>,
    key_set_ids: Mutex<HashMap<usize, String>>,
    loan_ids: Mutex<HashMap<(usize, usize), String>>,
    counts: Mutex<Loaded>,
}

impl History<'_> {
    async fn run(&self, acts: Vec<Act>, now: DateTime<Utc>) -> anyhow::Result<()> {
        for act in acts {
            self.act(act, now).await?;
        }
        Ok(())
    }

    fn count(&self, what: impl FnOnce(&mut Loaded)) {
        what(&mut self.counts.lock().expect("counts"));
    }

    async fn act(&self, act: Act, now: DateTime<Utc>) -> anyhow::Result<()> {
        let property_id = self.plan.id.clone();
        let history = &self.plan.history;
        match act {
            Act::Register(i) => {
                let request =
                    complaint_request(self.plan, self.unit_ids, i, (self.key)("complaint", i));
                let mut client = ComplaintServiceClient::new(self.clerk.clone());
                let complaint = call(client.create_complaint(request)).await?.complaint;
                let id = complaint.unwrap_or_default().id;
                self.complaint_ids.lock().expect("ids").insert(i, id);
                self.count(|c| c.complaints += 1);
            }
            Act::Step(i, step) => {
                let id = self.complaint_ids.lock().expect("ids")[&i].clone();
                let (_, note) = COMPLAINT_PATH[step];
                let (p, note) = (property_id, note.to_owned());
                let mut sup = self.supervisor.clone();
                let result = match step {
                    0 => call(sup.send_to_team(pb::SendToTeamRequest {
                        property_id: p,
                        complaint_id: id,
                        team: "维修班".into(),
                        note,
                    }))
                    .await
                    .map(|_| ()),
                    1 => call(sup.propose_plan(pb::ProposePlanRequest {
                        property_id: p,
                        complaint_id: id,
                        plan: note,
                        remedial_measures: "加强日常巡查".into(),
                    }))
                    .await
                    .map(|_| ()),
                    2 => call(self.manager.clone().confirm_plan(pb::ConfirmPlanRequest {
                        property_id: p,
                        complaint_id: id,
                        note,
                    }))
                    .await
                    .map(|_| ()),
                    3 => call(sup.communicate_plan(pb::CommunicatePlanRequest {
                        property_id: p,
                        complaint_id: id,
                        note,
                    }))
                    .await
                    .map(|_| ()),
                    4 => call(sup.start_work(pb::StartWorkRequest {
                        property_id: p,
                        complaint_id: id,
                        note,
                    }))
                    .await
                    .map(|_| ()),
                    5 => call(sup.report_handling(pb::ReportHandlingRequest {
                        property_id: p,
                        complaint_id: id,
                        report: note,
                    }))
                    .await
                    .map(|_| ()),
                    6 => call(sup.tell_result(pb::TellResultRequest {
                        property_id: p,
                        complaint_id: id,
                        note,
                    }))
                    .await
                    .map(|_| ()),
                    _ => call(
                        sup.record_customer_verdict(pb::RecordCustomerVerdictRequest {
                            property_id: p,
                            complaint_id: id,
                            satisfied: true,
                            comment: note,
                        }),
                    )
                    .await
                    .map(|_| ()),
                };
                match result {
                    Ok(()) => self.count(|c| c.steps += 1),
                    Err(e) if taken_before(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            Act::Entrust(k) => {
                let set = &history.key_sets[k];
                let unit = &self.plan.units[set.unit];
                let (name, _, phone) = unit.residents[0].clone();
                let request = pb::EntrustKeysRequest {
                    property_id,
                    request_id: (self.key)("keys", k),
                    source: pb::KeySource::Customer.into(),
                    unit_id: self.unit_ids[set.unit].clone(),
                    customer_name: name.clone(),
                    customer_phone: phone,
                    key_count: 2,
                    reason: "外出期间委托保管，便于入户维修".into(),
                    collection_conditions: "本人凭身份证领取".into(),
                    collectors: Vec::new(),
                    disclaimer: Some(pb::DisclaimerSignature {
                        accepted: true,
                        signer_name: name,
                        signature_image: vec![0x89, b'P', b'N', b'G'],
                        sign_time: None,
                    }),
                    slot: set.slot.clone(),
                    entrust_time: None,
                    customer_id_document_type: pb::IdDocumentType::ResidentIdCard.into(),
                    customer_id_number: set.id_number.clone(),
                };
                let mut keys = KeyServiceClient::new(self.clerk.clone());
                let id = call(keys.entrust_keys(request))
                    .await?
                    .key_set
                    .unwrap_or_default()
                    .id;
                self.key_set_ids.lock().expect("ids").insert(k, id);
                self.count(|c| c.key_sets += 1);
            }
            Act::Borrow(k, j) => {
                let (borrow, back, who) = history.key_sets[k].loans[j];
                let (user_id, name, phone) = TECHNICIANS[who];
                let due_days = back.map_or(3, |back| back - borrow + 1);
                let request = pb::BorrowKeysRequest {
                    property_id,
                    request_id: (self.key)(&format!("loan-{k}"), j),
                    key_set_id: self.key_set_ids.lock().expect("ids")[&k].clone(),
                    quantity: 1,
                    purpose: pb::LoanPurpose::Repair.into(),
                    reason: "入户维修".into(),
                    borrower: Some(pb::Borrower {
                        user_id: user_id.into(),
                        name: name.into(),
                        department: "工程管理部".into(),
                        phone: phone.into(),
                    }),
                    borrower_signature: name.into(),
                    expected_return_time: Some(to_timestamp(
                        now + chrono::Duration::days(due_days.into()),
                    )),
                };
                let mut keys = KeyServiceClient::new(self.clerk.clone());
                let id = match call(keys.borrow_keys(request)).await {
                    Ok(lent) => lent.loan.unwrap_or_default().id,
                    // Lent by a load on another day, whose expected return differed: that
                    // load took the loan's steps too.
                    Err(e) if e.to_string().contains("REQUEST_ID_REUSED") => return Ok(()),
                    Err(e) => return Err(e),
                };
                self.loan_ids.lock().expect("ids").insert((k, j), id);
                self.count(|c| c.loans += 1);
            }
            Act::Return(k, j) => {
                let Some(loan_id) = self.loan_ids.lock().expect("ids").get(&(k, j)).cloned() else {
                    return Ok(()); // lent and returned by an earlier load
                };
                let request = pb::ReturnKeysRequest {
                    property_id,
                    request_id: (self.key)(&format!("return-{k}"), j),
                    loan_id,
                    quantity: 1,
                    note: String::new(),
                };
                let mut keys = KeyServiceClient::new(self.clerk.clone());
                call(keys.return_keys(request)).await?;
                self.count(|c| c.returns += 1);
            }
            Act::Visit(v) => {
                let visit = &history.visits[v];
                let (name, _, phone) = self.plan.units[visit.unit].residents[0].clone();
                let request = pb::RecordVisitRequest {
                    property_id,
                    request_id: (self.key)("visit", v),
                    kind: pb::VisitKind::Routine.into(),
                    household_id: self.household_ids[&visit.unit].clone(),
                    customer: Some(pb::VisitedCustomer { name, phone }),
                    channel: pb::VisitChannel::OnSite.into(),
                    content: visit.content.clone(),
                    satisfaction: if visit.satisfied {
                        pb::VisitSatisfaction::Satisfied
                    } else {
                        pb::VisitSatisfaction::BasicallySatisfied
                    }
                    .into(),
                    ..Default::default()
                };
                let mut visits = VisitServiceClient::new(self.clerk.clone());
                call(visits.record_visit(request)).await?;
                self.count(|c| c.visits += 1);
            }
            Act::OpenOrder(w) => {
                let order = &history.work_orders[w];
                let (name, _, phone) = self.plan.units[order.unit].residents[0].clone();
                let request = eng::CreateWorkOrderRequest {
                    property_id,
                    request_id: (self.key)("work-order", w),
                    unit_id: self.unit_ids[order.unit].clone(),
                    description: order.description.clone(),
                    urgency: eng::Urgency::Ordinary.into(),
                    team: "维修班".into(),
                    requester: Some(eng::Requester { name, phone }),
                    ..Default::default()
                };
                let mut client = WorkOrderServiceClient::new(self.clerk.clone());
                let id = open_work_order(&mut client, request)
                    .await?
                    .work_order
                    .unwrap_or_default()
                    .id;
                self.work_order_ids.lock().expect("ids").insert(w, id);
                self.count(|c| c.work_orders += 1);
            }
            Act::OrderStep(w, step) => {
                let order = &history.work_orders[w];
                let id = self.work_order_ids.lock().expect("ids")[&w].clone();
                let (user, name, _) = TECHNICIANS[order.technician];
                let mut technician = self.technicians[order.technician].clone();
                let result = match step {
                    0 => call(self.foreman.clone().dispatch_work_order(
                        eng::DispatchWorkOrderRequest {
                            property_id,
                            work_order_id: id,
                            assignee_user_id: user.into(),
                            assignee_name: name.into(),
                        },
                    ))
                    .await
                    .map(|_| ()),
                    1 => call(technician.record_work_order_arrival(
                        eng::RecordWorkOrderArrivalRequest {
                            property_id,
                            work_order_id: id,
                        },
                    ))
                    .await
                    .map(|_| ()),
                    _ => {
                        let signer = self.plan.units[order.unit].residents[0].0.clone();
                        call(
                            technician.complete_work_order(eng::CompleteWorkOrderRequest {
                                property_id,
                                work_order_id: id,
                                work_done: "已修复，现场清理完毕".into(),
                                parts: Vec::new(),
                                customer_rating: 5,
                                customer_signature: signer,
                            }),
                        )
                        .await
                        .map(|_| ())
                    }
                };
                match result {
                    Ok(()) => self.count(|c| c.work_order_steps += 1),
                    Err(e) if taken_before(&e) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

/// Plans and loads every property of `properties`, printing progress.
pub async fn load_all(
    gateway: &str,
    seed: u64,
    properties: &[(String, String)],
    size: DemoSize,
    machine: Option<&dyn TimeMachine>,
) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let mut total = Loaded::default();
    for (id, name) in properties {
        let plan = plan_property(seed, id, name, size);
        let loaded = load(gateway, seed, &plan, machine).await?;
        total.units += loaded.units;
        total.households += loaded.households;
        total.complaints += loaded.complaints;
        total.steps += loaded.steps;
        total.key_sets += loaded.key_sets;
        total.loans += loaded.loans;
        total.returns += loaded.returns;
        total.visits += loaded.visits;
        total.work_orders += loaded.work_orders;
        total.work_order_steps += loaded.work_order_steps;
    }
    println!(
        "demo data (seed {seed}): {} properties, {} units, {} households, {} complaints in {:.1} s",
        properties.len(),
        total.units,
        total.households,
        total.complaints,
        started.elapsed().as_secs_f64()
    );
    if size.months > 0 {
        println!(
            "history of {} months: {} complaint steps, {} key sets, {} loans, {} returns, {} visits, \
             {} work orders with {} steps (retries of an earlier load count; their steps do not)",
            size.months,
            total.steps,
            total.key_sets,
            total.loans,
            total.returns,
            total.visits,
            total.work_orders,
            total.work_order_steps
        );
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let size = DemoSize::default();
        let a = plan_property(7, "p001", "阳光花园", size);
        let b = plan_property(7, "p001", "阳光花园", size);
        let c = plan_property(8, "p001", "阳光花园", size);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(property_configs(7, 3)[2].id, "p003");
        assert_eq!(
            property_configs(7, 3)
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>(),
            property_configs(7, 3)
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn plans_look_like_a_property() {
        let size = DemoSize::default();
        let plan = plan_property(1, "p001", "x", size);
        assert_eq!(plan.units.len(), 48);
        let first = &plan.units[0];
        assert_eq!(
            (
                first.building.as_str(),
                first.entrance.as_str(),
                first.room.as_str()
            ),
            ("1", "1", "101")
        );
        let occupied = plan
            .units
            .iter()
            .filter(|u| !u.residents.is_empty())
            .count();
        assert!(occupied > 24 && occupied < 48, "{occupied}");
        for u in &plan.units {
            assert!(u.sold || u.residents.is_empty());
            for (name, _, phone) in &u.residents {
                assert!((2..=4).contains(&name.chars().count()), "{name}");
                assert!(
                    phone.is_empty() || (phone.len() == 11 && phone.starts_with('1')),
                    "{phone}"
                );
            }
        }
        assert_eq!(plan.complaints.len(), 12);
        assert_eq!(
            plan.history,
            HistoryPlan::default(),
            "no months, no history"
        );
    }

    #[test]
    fn history_spreads_over_the_months_and_keeps_loans_apart() {
        let size = DemoSize {
            months: 3,
            complaints: 40,
            ..DemoSize::default()
        };
        let plan = plan_property(5, "p001", "x", size);
        let history = &plan.history;
        assert_eq!(plan, plan_property(5, "p001", "x", size));
        assert_eq!(history.days, 90);
        assert_eq!(history.complaints.len(), 40);
        for (registered, steps) in &history.complaints {
            assert!(*registered < 90 && steps.len() <= COMPLAINT_PATH.len());
            assert!(
                steps.windows(2).all(|w| w[0] <= w[1])
                    && steps.iter().all(|d| d >= registered && *d < 90)
            );
        }
        let closed = history
            .complaints
            .iter()
            .filter(|(_, s)| s.len() == COMPLAINT_PATH.len())
            .count();
        assert!(closed > 10 && closed < 40, "{closed}");
        for set in &history.key_sets {
            assert!(
                !plan.units[set.unit].residents.is_empty(),
                "an occupied unit's keys"
            );
            assert_eq!(set.loans.len(), 3);
            // One loan at a time: each comes back before the next goes out.
            for pair in set.loans.windows(2) {
                assert!(pair[0].1.is_some_and(|back| back < pair[1].0), "{pair:?}");
            }
            assert_eq!(set.id_number.len(), 18);
        }
        assert!(!history.key_sets.is_empty() && !history.visits.is_empty());
        assert!(history.visits.iter().all(|v| v.day < 90));
        assert_eq!(
            history.work_orders.len(),
            3 * (plan
                .units
                .iter()
                .filter(|u| !u.residents.is_empty())
                .count()
                / 6)
            .max(1)
        );
        for order in &history.work_orders {
            assert!(!plan.units[order.unit].residents.is_empty());
            assert!(
                order.steps.len() <= 3 && order.steps.iter().all(|d| *d >= order.day && *d < 90)
            );
        }
    }

    #[test]
    fn id_numbers_carry_a_valid_check_digit() {
        let mut rng = Rng::new(3, 0);
        for _ in 0..100 {
            let id = id_number(&mut rng);
            let (body, check) = id.split_at(17);
            let sum: u32 = body
                .chars()
                .zip([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
                .map(|(c, w)| c.to_digit(10).unwrap() * w)
                .sum();
            // ISO 7064 MOD 11-2: the whole number, check digit included, is 1 modulo 11.
            let value = if check == "X" {
                10
            } else {
                check.parse::<u32>().unwrap()
            };
            assert_eq!((sum + value) % 11, 1, "{id}");
        }
    }
}
