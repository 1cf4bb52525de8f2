//! The demo's staff directory: for each property the people who act in its history, each
//! with their posts (some with two, 一人多岗), and at headquarters a quality officer, a viewer
//! and an administrator. Each signs in with a readable login (`wangfang`), so a development
//! sign-in can pick them. They are hired through the gateway as an administrator, with request
//! ids from the seed, so loading again hires nobody twice.

use std::time::Duration;

use wuye_proto::directory::{
    CreatePersonRequest, PostSpec, directory_service_client::DirectoryServiceClient,
};

use crate::connect::{Authed, call};

/// A person of the demo's directory, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPlan {
    /// What the loader knows them by: "supervisor", "technician-0" (by
    /// [`super::TECHNICIANS`]), …
    pub key: String,
    pub staff_number: String,
    pub name: String,
    pub sign_in: String,
    pub phone: String,
    /// (role, property; empty for headquarters), the first the post they act in.
    pub posts: Vec<(String, String)>,
}

impl StaffPlan {
    /// The role the person acts in in the demo: their first post's.
    pub fn role(&self) -> &str {
        self.posts.first().map_or("", |(role, _)| role.as_str())
    }
}

/// The surnames the rosters rotate through, with their pinyin.
const SURNAMES: [(&str, &str); 12] = [
    ("陈", "chen"),
    ("刘", "liu"),
    ("赵", "zhao"),
    ("周", "zhou"),
    ("王", "wang"),
    ("孙", "sun"),
    ("张", "zhang"),
    ("李", "li"),
    ("黄", "huang"),
    ("吴", "wu"),
    ("郑", "zheng"),
    ("林", "lin"),
];

/// A property's roster: key, surname (index into [`SURNAMES`]), given name and its pinyin,
/// posts at the property (the first acted in).
const ROSTER: [(&str, usize, &str, &str, &[&str]); 10] = [
    // The CS supervisor also assists the project manager (一人多岗).
    (
        "supervisor",
        0,
        "静",
        "jing",
        &["cs_supervisor", "project_manager_assistant"],
    ),
    ("manager", 1, "强", "qiang", &["project_manager"]),
    // The foreman stands in for the engineering manager.
    (
        "foreman",
        2,
        "刚",
        "gang",
        &["maintenance_foreman", "engineering_manager"],
    ),
    ("clerk", 3, "敏", "min", &["cs_clerk"]),
    ("front_desk", 4, "芳", "fang", &["front_desk"]),
    (
        "engineering_manager",
        5,
        "伟",
        "wei",
        &["engineering_manager"],
    ),
    // By `TECHNICIANS`: the technicians who borrow keys and repair.
    ("technician-0", 6, "建国", "jianguo", &["technician"]),
    ("technician-1", 7, "志强", "zhiqiang", &["technician"]),
    ("technician-2", 0, "海涛", "haitao", &["technician"]),
    ("technician-3", 1, "洋", "yang", &["technician"]),
];

/// The staff of the property `property_id`, the `index`-th the demo loads (0 for the first,
/// whose people sign in with plain logins; later ones' logins end in their number, so that
/// two properties' people never share one). Property ids are short (a staff number holds at
/// most 32 characters).
pub fn plan_staff(property_id: &str, index: usize) -> Vec<StaffPlan> {
    ROSTER
        .iter()
        .enumerate()
        .map(|(n, (key, surname, given, pinyin, roles))| {
            // Another property, other people: the surnames move on.
            let (surname, surname_pinyin) = SURNAMES[(surname + index * 5) % SURNAMES.len()];
            let suffix = if index == 0 {
                String::new()
            } else {
                (index + 1).to_string()
            };
            StaffPlan {
                key: (*key).to_owned(),
                // By the property: one property's staff is never another's, whatever the order.
                staff_number: format!("{property_id}-{:02}", n + 1),
                name: format!("{surname}{given}"),
                sign_in: format!("{surname_pinyin}{pinyin}{suffix}"),
                phone: format!("139{:04}{:04}", index + 1, n + 1),
                posts: roles
                    .iter()
                    .map(|role| ((*role).to_owned(), property_id.to_owned()))
                    .collect(),
            }
        })
        .collect()
}

/// The company's headquarters staff: a quality officer, a viewer of the reports, an
/// administrator.
pub fn headquarters_staff() -> Vec<StaffPlan> {
    [
        ("quality_officer", "郑敏", "zhengmin", "quality_officer"),
        ("hq_viewer", "黄磊", "huanglei", "hq_viewer"),
        ("admin", "吴涛", "wutao", "admin"),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (key, name, sign_in, role))| StaffPlan {
        key: key.to_owned(),
        staff_number: format!("HQ-{:02}", n + 1),
        name: name.to_owned(),
        sign_in: sign_in.to_owned(),
        phone: format!("1380000{:04}", n + 1),
        posts: vec![(role.to_owned(), String::new())],
    })
    .collect()
}

/// A person the demo hired, by their staff id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hired {
    pub person_id: String,
    pub name: String,
    /// The role they act in.
    pub role: String,
    pub sign_in: String,
    pub key: String,
}

/// The people a load hired, for the loader to act and to name staff as them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HiredStaff(Vec<(Hired, Vec<String>)>);

impl HiredStaff {
    /// The person known by `key` ("supervisor", "technician-2", …).
    pub fn person(&self, key: &str) -> anyhow::Result<&Hired> {
        self.0
            .iter()
            .map(|(hired, _)| hired)
            .find(|h| h.key == key)
            .ok_or_else(|| anyhow::anyhow!("the demo hired nobody as {key}"))
    }

    /// The technician `i` of [`super::TECHNICIANS`].
    pub fn technician(&self, i: usize) -> anyhow::Result<&Hired> {
        self.person(&format!("technician-{i}"))
    }

    /// Everyone holding `role` (as any of their posts).
    pub fn with_role(&self, role: &str) -> Vec<&Hired> {
        self.0
            .iter()
            .filter(|(_, roles)| roles.iter().any(|r| r == role))
            .map(|(hired, _)| hired)
            .collect()
    }

    /// Every person hired, in the order of the plan.
    pub fn iter(&self) -> impl Iterator<Item = &Hired> {
        self.0.iter().map(|(hired, _)| hired)
    }
}

/// A connection to the gateway as the demo's administrator (a script token; the directory's
/// calls span the company, so without a property).
async fn administrator(gateway: &str) -> anyhow::Result<Authed> {
    let token = wuye_gateway::sign_dev_token(
        "admin",
        &[],
        "demo-loader",
        "演示数据",
        Duration::from_secs(3600),
    )?;
    crate::connect::connect(&wuye_client::Config::new(gateway).token(token)).await
}

/// Hires `people` (idempotently: the request ids come from the seed and the staff numbers).
pub async fn hire(gateway: &str, seed: u64, people: &[StaffPlan]) -> anyhow::Result<HiredStaff> {
    let mut directory = DirectoryServiceClient::new(administrator(gateway).await?);
    let mut hired = Vec::new();
    for p in people {
        let request = CreatePersonRequest {
            request_id: format!("demo-{seed}-staff-{}", p.staff_number),
            staff_number: p.staff_number.clone(),
            name: p.name.clone(),
            phone: p.phone.clone(),
            sign_in: p.sign_in.clone(),
            posts: p
                .posts
                .iter()
                .map(|(role, property_id)| PostSpec {
                    role: role.clone(),
                    property_id: property_id.clone(),
                })
                .collect(),
        };
        let person = call(directory.create_person(request))
            .await?
            .person
            .unwrap_or_default();
        let roles = p.posts.iter().map(|(role, _)| role.clone()).collect();
        hired.push((
            Hired {
                person_id: person.person_id,
                name: p.name.clone(),
                role: p.role().to_owned(),
                sign_in: p.sign_in.clone(),
                key: p.key.clone(),
            },
            roles,
        ));
    }
    Ok(HiredStaff(hired))
}
