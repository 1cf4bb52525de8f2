//! `wuye whoami`: who the gateway takes the caller for, from the staff directory: the person
//! and their current posts, the one this call acted in marked.

use anyhow::Context as _;
use clap::Args;
use wuye::connect::{Target, call};
use wuye_proto::directory::{
    Person, PersonStatus, Post, WhoAmIRequest, directory_service_client::DirectoryServiceClient,
};

use super::output::{ZONE, left, say};

#[derive(Args)]
pub struct WhoamiArgs {
    #[command(flatten)]
    target: Target,
}

/// The title of a role code of DOMAIN.md "Who is who".
pub(crate) fn role_title(role: &str) -> &'static str {
    match role {
        "project_manager" => "项目经理",
        "project_manager_assistant" => "项目经理助理",
        "cs_supervisor" => "客户服务部主管",
        "cs_clerk" => "客户服务部管理员",
        "front_desk" => "前台",
        "engineering_manager" => "工程管理部经理",
        "maintenance_foreman" => "维修领班",
        "technician" => "工程技工",
        "quality_officer" => "品质管理部",
        "hq_viewer" => "总部管理层",
        "admin" => "系统管理员",
        _ => "",
    }
}

pub async fn run(args: WhoamiArgs) -> anyhow::Result<()> {
    let channel = args.target.channel_unscoped().await?;
    let answer = call(DirectoryServiceClient::new(channel).who_am_i(WhoAmIRequest {})).await?;
    let person = answer
        .person
        .context("the directory answered without a person")?;
    print_person(&person);
    print_posts(&person.posts, &answer.post_id);
    if args.target.token.is_none()
        && let Some(signed_in) = args.target.signed_in().await?
    {
        let until = chrono::DateTime::from_timestamp(signed_in.expires_at, 0)
            .map(|t| t.with_timezone(&ZONE).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let kind = if signed_in.development {
            "开发登录"
        } else {
            "登录"
        };
        say!("{kind}：{}，有效至 {until}", signed_in.issuer);
    }
    Ok(())
}

fn print_person(person: &Person) {
    let status = match PersonStatus::try_from(person.status) {
        Ok(PersonStatus::Active) => "在职",
        Ok(PersonStatus::Left) => "离职",
        _ => "-",
    };
    let rows = [
        ("姓名", person.name.as_str()),
        ("工号", person.staff_number.as_str()),
        ("状态", status),
        ("员工 ID", person.person_id.as_str()),
    ];
    for (label, value) in rows {
        say!("{}{}", left(label, 10), or_dash(value));
    }
}

/// The current posts in columns: a mark for the one acted in, the role and its title, the
/// property (总部 for headquarters), the post id.
fn print_posts(posts: &[Post], acting: &str) {
    let current: Vec<&Post> = posts.iter().filter(|p| p.end_time.is_none()).collect();
    if current.is_empty() {
        say!("岗位：无");
        return;
    }
    say!("岗位：");
    let rows: Vec<[String; 4]> = current
        .iter()
        .map(|post| {
            [
                if post.post_id == acting { "*" } else { " " }.to_owned(),
                format!("{} {}", role_title(&post.role), post.role)
                    .trim()
                    .to_owned(),
                if post.property_id.is_empty() {
                    "总部".to_owned()
                } else {
                    post.property_id.clone()
                },
                post.post_id.clone(),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| unicode_width::UnicodeWidthStr::width(r[i].as_str()))
            .max()
            .unwrap_or(0)
    };
    let (role_width, property_width) = (width(1), width(2));
    for row in &rows {
        say!(
            "  {} {}  {}  {}",
            row[0],
            left(&row[1], role_width),
            left(&row[2], property_width),
            row[3]
        );
    }
    if !acting.is_empty() {
        say!("(* 本次调用所用的岗位；用 --post 选择)");
    }
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_of_domain_md_has_its_title() {
        for role in wuye_kit::roles::all() {
            assert!(!role_title(role).is_empty(), "{role}");
        }
        assert_eq!(role_title("nobody"), "");
    }
}
