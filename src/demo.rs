//! Demo data: realistic properties (buildings, units, households with Chinese names and
//! plausible phone numbers, occupancy, complaints) planned from a seed number, so the same
//! seed always gives the same data, and loaded through the gateway's public RPCs.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use wuye_kit::properties::{PropertyConfig, Rules};
use wuye_proto::customerservice::{
    self as pb, complaint_service_client::ComplaintServiceClient,
    household_service_client::HouseholdServiceClient,
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
        .collect();
    PropertyPlan {
        id: id.to_owned(),
        name: name.to_owned(),
        units,
        complaints,
    }
}

/// What a load did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub units: usize,
    pub households: usize,
    pub complaints: usize,
}

/// Calls in flight at once while loading.
const CONCURRENCY: usize = 32;

/// Loads `plan` through the gateway at `gateway`, idempotently: request ids come from the
/// seed and the plan, so loading the same plan twice creates nothing new.
pub async fn load(gateway: &str, seed: u64, plan: &PropertyPlan) -> anyhow::Result<Loaded> {
    let token = wuye_gateway::sign_dev_token(
        "cs_clerk",
        std::slice::from_ref(&plan.id),
        "demo-loader",
        "演示数据",
        Duration::from_secs(3600),
    )?;
    let target = Target {
        gateway: gateway.to_owned(),
        token: Some(token),
        property: plan.id.clone(),
    };
    let channel = target.channel().await?;
    let households = HouseholdServiceClient::new(channel.clone());
    let complaints = ComplaintServiceClient::new(channel);
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
    let households_loaded = stream::iter(moves)
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
            async move {
                match call(client.record_move_in(request)).await {
                    Ok(_) => Ok(()),
                    // Loaded before under another request id: the unit is lived in already.
                    Err(e) if e.to_string().contains("UNIT_OCCUPIED") => Ok(()),
                    Err(e) => Err(e),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_fold(0, |n, ()| async move { Ok(n + 1) })
        .await?;

    let complaints_loaded = stream::iter(plan.complaints.iter().enumerate())
        .map(|(i, c)| {
            let mut client = complaints.clone();
            let request = pb::CreateComplaintRequest {
                property_id: plan.id.clone(),
                request_id: key("complaint", i),
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
            };
            async move { call(client.create_complaint(request)).await.map(|_| ()) }
        })
        .buffer_unordered(CONCURRENCY)
        .try_fold(0, |n, ()| async move { Ok(n + 1) })
        .await?;

    Ok(Loaded {
        units: unit_ids.len(),
        households: households_loaded,
        complaints: complaints_loaded,
    })
}

/// Plans and loads every property of `properties`, printing progress.
pub async fn load_all(
    gateway: &str,
    seed: u64,
    properties: &[(String, String)],
    size: DemoSize,
) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let mut total = Loaded::default();
    for (id, name) in properties {
        let plan = plan_property(seed, id, name, size);
        let loaded = load(gateway, seed, &plan).await?;
        total.units += loaded.units;
        total.households += loaded.households;
        total.complaints += loaded.complaints;
    }
    println!(
        "demo data (seed {seed}): {} properties, {} units, {} households, {} complaints in {:.1} s",
        properties.len(),
        total.units,
        total.households,
        total.complaints,
        started.elapsed().as_secs_f64()
    );
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
    }
}
