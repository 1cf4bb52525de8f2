//! The complaint handling form (客户投诉处理表) of one complaint, with every step and who signed
//! it, as a printable page.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use wuye_kit::document::{escape, page, table};

use super::complaints::{Action, Channel, Complaint, Severity, State};

pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::Register => "登记",
        Action::SendToTeam => "责成班组处理",
        Action::ProposePlan => "提出整改方案及补救措施",
        Action::ConfirmPlan => "确认方案",
        Action::RejectPlan => "退回方案",
        Action::CommunicatePlan => "与投诉人沟通",
        Action::StartWork => "实施整改",
        Action::UrgeWork => "督促",
        Action::ReportHandling => "填写处理报告",
        Action::TellResult => "向客户报告处理结果",
        Action::CustomerSatisfied => "客户满意，结案",
        Action::CustomerDissatisfied => "客户不满意，退回班组",
        Action::MarkMajor => "重大投诉，报公司品质管理部",
    }
}

pub fn state_name(s: State) -> &'static str {
    match s {
        State::Registered => "已登记",
        State::SentToTeam => "已责成班组",
        State::PlanProposed => "方案待确认",
        State::PlanConfirmed => "方案已确认",
        State::Communicated => "已与投诉人沟通",
        State::InProgress => "整改中",
        State::Reported => "已填写处理报告",
        State::ResultTold => "已报告结果",
        State::Closed => "已结案",
    }
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Minor => "轻微",
        Severity::General => "一般",
        Severity::Serious => "严重",
    }
}

pub fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Letter => "信函",
        Channel::Phone => "电话",
        Channel::Fax => "传真",
        Channel::Visit => "来人面谈",
        Channel::App => "网络/App",
    }
}

/// The form of `c`, with `unit_label` for its unit, printed at `now`.
pub fn render_complaint_form(
    c: &Complaint,
    property_name: &str,
    unit_label: Option<&str>,
    tz: Tz,
    now: DateTime<Utc>,
) -> String {
    let time = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let facts = [
        ("物业", property_name.to_owned()),
        ("编号", c.number.to_string()),
        ("状态", state_name(c.state).to_owned()),
        ("打印时间", time(now)),
    ];
    let details = table(
        &["项目", "内容"],
        [
            [
                "投诉人".to_owned(),
                format!("{} {}", c.complainant.name, c.complainant.phone)
                    .trim()
                    .to_owned(),
            ],
            [
                "房号".to_owned(),
                unit_label.unwrap_or("公共区域").to_owned(),
            ],
            ["方式".to_owned(), channel_name(c.channel).to_owned()],
            ["类别".to_owned(), c.category.clone()],
            ["程度".to_owned(), severity_name(c.severity).to_owned()],
            ["投诉内容".to_owned(), c.description.clone()],
            [
                "登记时间".to_owned(),
                format!("{}（{}）", time(c.registered_at), c.registered_by.name),
            ],
            ["答复期限".to_owned(), time(c.reply_due_at)],
            [
                "答复时间".to_owned(),
                c.replied_at.map(time).unwrap_or_default(),
            ],
            ["责任班组".to_owned(), c.team.clone()],
            ["整改方案".to_owned(), c.plan.clone()],
            ["补救措施".to_owned(), c.remedial_measures.clone()],
            ["处理报告".to_owned(), c.handling_report.clone()],
            [
                "结案时间".to_owned(),
                c.closed_at.map(time).unwrap_or_default(),
            ],
            ["重大投诉".to_owned(), c.major.clone().unwrap_or_default()],
        ],
    );
    let steps = table(
        &["序号", "步骤", "经办人（签名）", "岗位", "时间", "说明"],
        c.steps.iter().map(|s| {
            [
                s.seq.to_string(),
                action_name(s.action).to_owned(),
                s.actor.name.clone(),
                s.actor.role.clone(),
                time(s.at),
                s.note.clone(),
            ]
        }),
    );
    let body = format!(
        "{details}<h2>处理过程</h2>\n{steps}<div class=\"signature\"><span>客户服务部主管：{}</span><span>项目经理：</span></div>\n",
        escape(&signer(c, &[Action::TellResult, Action::CustomerSatisfied]))
    );
    page("客户投诉处理表", &facts, &body)
}

/// The name of who took the last of `actions`, to sign the form.
fn signer(c: &Complaint, actions: &[Action]) -> String {
    c.steps
        .iter()
        .rev()
        .find(|s| actions.contains(&s.action))
        .map(|s| s.actor.name.clone())
        .unwrap_or_default()
}
