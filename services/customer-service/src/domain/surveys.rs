//! Satisfaction surveys (客户意见调查, CS-1 to CS-6): campaigns, forms, the exact statistics,
//! the survey report and its publication deadline.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Months, Utc};
use chrono_tz::Tz;
use wuye_kit::{
    Error, Result, Violations,
    document::{escape, page, table},
    identity::Actor,
    properties::SurveyRules,
};

pub const MAX_TITLE: usize = 100;
pub const MAX_NAME: usize = 20;
pub const MAX_ITEMS: usize = 30;
pub const MAX_LEVELS: usize = 10;
pub const MAX_REMARKS: usize = 50;
pub const MAX_REMARK: usize = 1000;
pub const MAX_REPORT: usize = 10_000;

/// Who plans a campaign and decides the measures: "项目经理制定满意度调查方案" (CS-1, 3.1).
pub const PLANNERS: &[&str] = &["project_manager"];
/// Who hands out and collects forms: the CS department (CS-2, 3.2).
pub const COLLECTORS: &[&str] = &["cs_supervisor", "cs_clerk"];

#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: String,
    pub property_id: String,
    pub title: String,
    pub items: Vec<String>,
    /// Best first.
    pub levels: Vec<String>,
    /// The first `satisfied_levels` levels count as satisfied (CS-3).
    pub satisfied_levels: usize,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub publish_due_at: DateTime<Utc>,
    pub planned_by: Actor,
    pub created_at: DateTime<Utc>,
    pub opinion_summary: String,
    pub improvement_measures: String,
    pub report: Option<(Actor, DateTime<Utc>)>,
    pub publication: Option<Publication>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    pub at: DateTime<Utc>,
    pub by: Actor,
    pub note: String,
    pub improvement_progress: String,
}

impl Campaign {
    /// CS-5: published after the deadline, or still unpublished past it.
    pub fn publication_late(&self, now: DateTime<Utc>) -> bool {
        match &self.publication {
            Some(p) => p.at > self.publish_due_at,
            None => now > self.publish_due_at,
        }
    }

    pub fn item_index(&self, name: &str) -> Option<usize> {
        self.items.iter().position(|i| i == name)
    }

    pub fn level_index(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == name)
    }

    /// Forms are handed out and taken back while the campaign runs (CS-2).
    pub fn check_open(&self, now: DateTime<Utc>) -> Result<()> {
        if now < self.start_at || now > self.end_at {
            return Err(Error::rule(
                "SURVEY_NOT_OPEN",
                "the survey is not running: forms are handed out and returned between its start and end",
            ));
        }
        if self.publication.is_some() {
            return Err(Error::rule(
                "SURVEY_PUBLISHED",
                "the survey's results are published",
            ));
        }
        Ok(())
    }

    /// The report may change until it is published.
    pub fn check_report(&self) -> Result<()> {
        if self.publication.is_some() {
            return Err(Error::rule(
                "SURVEY_PUBLISHED",
                "the survey's results are published: the report no longer changes",
            ));
        }
        Ok(())
    }

    /// CS-5: results go out after the survey ended, with the improvement measures decided,
    /// once.
    pub fn check_publish(&self, now: DateTime<Utc>) -> Result<()> {
        if self.publication.is_some() {
            return Err(Error::rule(
                "SURVEY_PUBLISHED",
                "the survey's results are published already",
            ));
        }
        if now < self.end_at {
            return Err(Error::rule(
                "SURVEY_NOT_ENDED",
                "the survey has not ended: results are published after its end",
            ));
        }
        if self.improvement_measures.trim().is_empty() {
            return Err(Error::rule(
                "REPORT_INCOMPLETE",
                "the report has no improvement measures yet: the project manager records them first",
            ));
        }
        Ok(())
    }
}

/// The deadline of CS-5: the end plus the property's days.
pub fn publish_due(end_at: DateTime<Utc>, rules: &SurveyRules) -> DateTime<Utc> {
    end_at + Duration::days(i64::from(rules.publish_within_days))
}

/// CS-1: when the next campaign is due after the latest one started.
pub fn next_campaign_due(
    latest_start: DateTime<Utc>,
    rules: &SurveyRules,
    tz: Tz,
) -> DateTime<Utc> {
    let local = latest_start.with_timezone(&tz);
    local
        .checked_add_months(Months::new(rules.campaign_every_months))
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(latest_start)
}

/// A name of an item or level: non-blank, short, on one line.
fn check_names(field: &str, names: &[String], min: usize, max: usize, v: &mut Violations) {
    if names.len() < min || names.len() > max {
        v.add(field, format!("must have {min} to {max} names"));
    }
    for (i, name) in names.iter().enumerate() {
        let f = format!("{field}[{i}]");
        v.required_text(&f, name, MAX_NAME);
        if name.chars().any(char::is_control) {
            v.add(&f, "must be on one line");
        }
        if names[..i].contains(name) {
            v.add(&f, "is listed twice");
        }
    }
}

/// The items, levels and satisfied levels of a new campaign: the request's, or the
/// property's where the request leaves them out.
pub fn scale(
    items: Vec<String>,
    levels: Vec<String>,
    satisfied_levels: i32,
    rules: &SurveyRules,
    v: &mut Violations,
) -> (Vec<String>, Vec<String>, usize) {
    let trim = |names: Vec<String>| -> Vec<String> {
        names.into_iter().map(|n| n.trim().to_owned()).collect()
    };
    let items = if items.is_empty() {
        rules.items.clone()
    } else {
        trim(items)
    };
    let levels = if levels.is_empty() {
        rules.levels.clone()
    } else {
        trim(levels)
    };
    check_names("items", &items, 1, MAX_ITEMS, v);
    check_names("levels", &levels, 2, MAX_LEVELS, v);
    let satisfied = match satisfied_levels {
        0 => rules.satisfied_levels as i64,
        n => i64::from(n),
    };
    // At least one level must mean not satisfied, or the rate says nothing.
    if satisfied < 1 || satisfied >= levels.len() as i64 {
        v.add(
            "satisfied_levels",
            format!(
                "must be 1 to {} (one less than the levels)",
                levels.len().saturating_sub(1)
            ),
        );
    }
    (items, levels, satisfied.max(0) as usize)
}

/// Checks the property's survey settings at start-up.
pub fn check_rules(property: &str, rules: &SurveyRules) -> anyhow::Result<()> {
    let mut v = Violations::new();
    scale(Vec::new(), Vec::new(), 0, rules, &mut v);
    anyhow::ensure!(
        v.is_empty(),
        "property {property}: rules.surveys items, levels or satisfied_levels are not valid (CS-3): {}",
        v.check().unwrap_err()
    );
    anyhow::ensure!(
        rules.campaign_every_months >= 1 && rules.campaign_every_months <= 12,
        "property {property}: rules.surveys.campaign_every_months must be 1 to 12 (CS-1: at least once a year)"
    );
    anyhow::ensure!(
        rules.publish_within_days >= 1 && rules.publish_within_days <= 366,
        "property {property}: rules.surveys.publish_within_days must be 1 to 366 (CS-5)"
    );
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemarkKind {
    Opinion,
    Suggestion,
}

wuye_kit::text_codes!(RemarkKind { Opinion => "opinion", Suggestion => "suggestion" });

/// An opinion or suggestion on a form; `item` None is about the service as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remark {
    pub item: Option<usize>,
    pub kind: RemarkKind,
    pub text: String,
}

/// A form handed to a household (CS-2), with its answer once returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub campaign_id: String,
    pub household_id: String,
    pub unit_id: String,
    pub unit_label: String,
    pub distributed_at: DateTime<Utc>,
    pub distributed_by: Actor,
    pub returned: Option<(DateTime<Utc>, Actor)>,
    /// (item, level) positions.
    pub ratings: Vec<(usize, usize)>,
    pub remarks: Vec<Remark>,
}

/// Whom to hand forms to (CS-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    AllLiving,
    Households(Vec<String>),
}

/// A remark as written on a returned form: the item by name (empty for the service as a
/// whole), its kind if it is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenRemark {
    pub item: String,
    pub kind: Option<RemarkKind>,
    pub text: String,
}

impl Campaign {
    /// CS-3: a returned form's answers read against the campaign: ratings of its items on its
    /// scale, each item once, as (item, level) positions; at most [`MAX_REMARKS`] remarks.
    pub fn read_answers(
        &self,
        ratings: &[(String, String)],
        remarks: &[WrittenRemark],
        v: &mut Violations,
    ) -> (Vec<(usize, usize)>, Vec<Remark>) {
        if ratings.is_empty() {
            v.add("ratings", "a returned form rates at least one item");
        }
        let mut read: Vec<(usize, usize)> = Vec::new();
        for (i, (item, level)) in ratings.iter().enumerate() {
            let item = self.item_index(item.trim());
            let level = self.level_index(level.trim());
            if item.is_none() {
                v.add(
                    &format!("ratings[{i}].item"),
                    "is not an item of this survey",
                );
            }
            if level.is_none() {
                v.add(
                    &format!("ratings[{i}].level"),
                    "is not a level of this survey",
                );
            }
            if let (Some(item), Some(level)) = (item, level) {
                if read.iter().any(|&(seen, _)| seen == item) {
                    v.add(&format!("ratings[{i}].item"), "is rated twice");
                } else {
                    read.push((item, level));
                }
            }
        }
        if remarks.len() > MAX_REMARKS {
            v.add("remarks", format!("at most {MAX_REMARKS}"));
        }
        let remarks = remarks
            .iter()
            .enumerate()
            .filter_map(|(i, r)| self.read_remark(i, r, v))
            .collect();
        (read, remarks)
    }

    fn read_remark(&self, i: usize, r: &WrittenRemark, v: &mut Violations) -> Option<Remark> {
        let item = match r.item.trim() {
            "" => None,
            name => {
                let found = self.item_index(name);
                if found.is_none() {
                    v.add(
                        &format!("remarks[{i}].item"),
                        "is not an item of this survey",
                    );
                }
                found
            }
        };
        if r.kind.is_none() {
            v.add(
                &format!("remarks[{i}].kind"),
                "must be opinion or suggestion",
            );
        }
        v.required_text(&format!("remarks[{i}].text"), &r.text, MAX_REMARK);
        Some(Remark {
            item,
            kind: r.kind?,
            text: r.text.trim().to_owned(),
        })
    }
}

/// One item's counts (分项).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStatistics {
    pub item: String,
    pub rated: i64,
    pub satisfied: i64,
    /// Per level, in the campaign's order.
    pub levels: Vec<i64>,
}

/// CS-4's statistics, from counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistics {
    pub distributed: i64,
    pub returned: i64,
    pub rated: i64,
    pub satisfied: i64,
    pub items: Vec<ItemStatistics>,
}

/// A share as a double; 0 of 0 is 0.
pub fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl Statistics {
    pub fn return_rate(&self) -> f64 {
        rate(self.returned, self.distributed)
    }

    pub fn satisfaction_rate(&self) -> f64 {
        rate(self.satisfied, self.rated)
    }
}

/// Computes the statistics from the counts of forms and of (item, level) ratings.
pub fn statistics(
    campaign: &Campaign,
    distributed: i64,
    returned: i64,
    counts: &[(usize, usize, i64)],
) -> Statistics {
    let mut items: Vec<ItemStatistics> = campaign
        .items
        .iter()
        .map(|name| ItemStatistics {
            item: name.clone(),
            rated: 0,
            satisfied: 0,
            levels: vec![0; campaign.levels.len()],
        })
        .collect();
    for &(item, level, count) in counts {
        // Positions come from this campaign's own checks; anything else is not counted.
        let Some(s) = items.get_mut(item) else {
            continue;
        };
        let Some(slot) = s.levels.get_mut(level) else {
            continue;
        };
        *slot += count;
        s.rated += count;
        if level < campaign.satisfied_levels {
            s.satisfied += count;
        }
    }
    Statistics {
        distributed,
        returned,
        rated: items.iter().map(|i| i.rated).sum(),
        satisfied: items.iter().map(|i| i.satisfied).sum(),
        items,
    }
}

/// Remarks grouped for the report: per item in campaign order, then the general ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemarkGroup {
    pub item: String,
    pub opinions: Vec<String>,
    pub suggestions: Vec<String>,
}

pub fn group_remarks(campaign: &Campaign, remarks: &[Remark]) -> Vec<RemarkGroup> {
    let mut groups: Vec<RemarkGroup> = campaign
        .items
        .iter()
        .cloned()
        .chain(std::iter::once(String::new()))
        .map(|item| RemarkGroup {
            item,
            opinions: Vec::new(),
            suggestions: Vec::new(),
        })
        .collect();
    let general = groups.len() - 1;
    for r in remarks {
        let g = &mut groups[r.item.filter(|&i| i < general).unwrap_or(general)];
        match r.kind {
            RemarkKind::Opinion => g.opinions.push(r.text.clone()),
            RemarkKind::Suggestion => g.suggestions.push(r.text.clone()),
        }
    }
    groups.retain(|g| !g.opinions.is_empty() || !g.suggestions.is_empty());
    groups
}

fn percent(r: f64) -> String {
    format!("{:.2}%", r * 100.0)
}

fn day(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// The survey report (意见调查报告, CS-4) as a printable page.
pub fn render_report(
    campaign: &Campaign,
    stats: &Statistics,
    groups: &[RemarkGroup],
    property_name: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> String {
    let mut body = String::new();
    report_results(&mut body, campaign, stats);
    report_remarks(&mut body, campaign, groups);
    report_measures(&mut body, campaign, tz, now);
    body.push_str(
        "<div class=\"signature\"><span>项目经理：</span><span>客户服务部：</span><span>日期：</span></div>\n",
    );
    page(
        "意见调查报告",
        &[
            ("物业", property_name.to_owned()),
            ("调查", campaign.title.clone()),
            (
                "调查时间",
                format!(
                    "{} 至 {}",
                    day(campaign.start_at, tz),
                    day(campaign.end_at, tz)
                ),
            ),
            (
                "打印时间",
                now.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            ),
        ],
        &body,
    )
}

/// Part one of the report: the figures overall and per item.
fn report_results(body: &mut String, campaign: &Campaign, stats: &Statistics) {
    body.push_str("<h2>一、调查结果概述</h2>\n");
    body.push_str(&table(
        &[
            "发放份数",
            "回收份数",
            "回收率",
            "评价项次",
            "满意项次",
            "总满意率",
        ],
        [vec![
            stats.distributed.to_string(),
            stats.returned.to_string(),
            percent(stats.return_rate()),
            stats.rated.to_string(),
            stats.satisfied.to_string(),
            percent(stats.satisfaction_rate()),
        ]],
    ));
    let mut headers: Vec<&str> = vec!["项目"];
    headers.extend(campaign.levels.iter().map(String::as_str));
    headers.extend(["评价数", "满意数", "满意率"]);
    let rows = stats.items.iter().map(|i| {
        let mut row = vec![i.item.clone()];
        row.extend(i.levels.iter().map(|n| n.to_string()));
        row.extend([
            i.rated.to_string(),
            i.satisfied.to_string(),
            percent(rate(i.satisfied, i.rated)),
        ]);
        row
    });
    body.push_str("<h3>分项满意率（满意度统计表）</h3>\n");
    body.push_str(&table(&headers, rows));
    let satisfied: Vec<&str> = campaign.levels
        [..campaign.satisfied_levels.min(campaign.levels.len())]
        .iter()
        .map(String::as_str)
        .collect();
    let _ = writeln!(
        body,
        "<p>回收率 = 回收份数 / 发放份数；总满意率 = 满意项次 / 评价项次；分项满意率 = 该项满意数 / 该项评价数。计为满意的等级：{}。</p>",
        escape(&satisfied.join("、"))
    );
}

/// Part two: the customers' opinions and suggestions, and the manager's summary of them.
fn report_remarks(body: &mut String, campaign: &Campaign, groups: &[RemarkGroup]) {
    body.push_str("<h2>二、客户意见及建议汇总</h2>\n");
    if groups.is_empty() {
        body.push_str("<p>无。</p>\n");
    } else {
        let rows = groups.iter().flat_map(|g| {
            let item = if g.item.is_empty() {
                "综合".to_owned()
            } else {
                g.item.clone()
            };
            let opinions = g
                .opinions
                .iter()
                .map(move |t| ("意见", t))
                .chain(g.suggestions.iter().map(|t| ("建议", t)));
            opinions
                .map(move |(kind, text)| vec![item.clone(), kind.to_owned(), text.clone()])
                .collect::<Vec<_>>()
        });
        body.push_str(&table(&["项目", "类别", "内容"], rows));
    }
    if !campaign.opinion_summary.is_empty() {
        let _ = writeln!(
            body,
            "<h3>意见汇总</h3>\n<p>{}</p>",
            escape(&campaign.opinion_summary)
        );
    }
}

/// Parts three and four: the measures and their publication (CS-5).
fn report_measures(body: &mut String, campaign: &Campaign, tz: Tz, now: DateTime<Utc>) {
    body.push_str("<h2>三、改进措施</h2>\n");
    let measures = if campaign.improvement_measures.is_empty() {
        "（项目经理尚未填写）".to_owned()
    } else {
        campaign.improvement_measures.clone()
    };
    let _ = writeln!(body, "<p>{}</p>", escape(&measures));
    body.push_str("<h2>四、结果通报</h2>\n");
    match &campaign.publication {
        Some(p) => {
            let _ = writeln!(
                body,
                "<p>{} 通报：{}</p>\n<p>整改情况：{}</p>",
                escape(&day(p.at, tz)),
                escape(&p.note),
                escape(&p.improvement_progress)
            );
        }
        None => {
            let _ = writeln!(
                body,
                "<p>尚未通报；应于 {} 前向客户通报{}。</p>",
                escape(&day(campaign.publish_due_at, tz)),
                if now > campaign.publish_due_at {
                    "（已逾期）"
                } else {
                    ""
                }
            );
        }
    }
}

/// The blank survey form (满意度调查表, CS-6) to print and hand out.
pub fn render_form(campaign: &Campaign, property_name: &str, tz: Tz) -> String {
    let mut headers: Vec<&str> = vec!["服务项目"];
    headers.extend(campaign.levels.iter().map(String::as_str));
    let rows = campaign.items.iter().map(|item| {
        let mut row = vec![item.clone()];
        row.extend(campaign.levels.iter().map(|_| "□".to_owned()));
        row
    });
    let mut body = table(&headers, rows);
    body.push_str(
        "<h3>您的意见和建议</h3>\n<p style=\"height:60mm;border:0.5pt solid #000\"></p>\n\
         <div class=\"signature\"><span>房号：</span><span>客户签名：</span><span>日期：</span></div>\n",
    );
    page(
        "满意度调查表",
        &[
            ("物业", property_name.to_owned()),
            ("调查", campaign.title.clone()),
            ("回收截止", day(campaign.end_at, tz)),
        ],
        &body,
    )
}

#[cfg(test)]
#[path = "surveys_tests.rs"]
mod tests;
