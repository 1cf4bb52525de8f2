//! Satisfaction surveys (SurveyService) ↔ their domain. A campaign's answer depends on the
//! moment it is given (a late publication), a form's and the statistics' on their campaign
//! (items and levels are kept as positions): those convert with what they depend on.

use chrono::{DateTime, Utc};
use wuye_kit::{identity::Actor, time::to_timestamp};
use wuye_proto::customerservice as pb;

use crate::domain::surveys::{Campaign, Form, RemarkGroup, RemarkKind, Statistics, rate};

wuye_kit::enum_conversions!(RemarkKind <=> pb::RemarkKind { Opinion, Suggestion });

fn actor_proto(a: &Actor) -> Option<wuye_proto::common::Actor> {
    Some(a.to_proto())
}

/// A campaign as an answer at `.1` shows it.
pub(crate) struct CampaignAt(pub Campaign, pub DateTime<Utc>);

impl From<CampaignAt> for pb::SurveyCampaign {
    fn from(CampaignAt(c, now): CampaignAt) -> Self {
        let late = c.publication_late(now);
        let (report_by, report_time) = match &c.report {
            Some((a, at)) => (actor_proto(a), Some(to_timestamp(*at))),
            None => (None, None),
        };
        let (publish_time, published_by, publication_note, improvement_progress) =
            match c.publication {
                Some(p) => (
                    Some(to_timestamp(p.at)),
                    actor_proto(&p.by),
                    p.note,
                    p.improvement_progress,
                ),
                None => (None, None, String::new(), String::new()),
            };
        pb::SurveyCampaign {
            id: c.id,
            property_id: c.property_id,
            title: c.title,
            items: c.items,
            levels: c.levels,
            satisfied_levels: c.satisfied_levels as i32,
            start_time: Some(to_timestamp(c.start_at)),
            end_time: Some(to_timestamp(c.end_at)),
            publish_due_time: Some(to_timestamp(c.publish_due_at)),
            planned_by: actor_proto(&c.planned_by),
            create_time: Some(to_timestamp(c.created_at)),
            opinion_summary: c.opinion_summary,
            improvement_measures: c.improvement_measures,
            report_by,
            report_time,
            publish_time,
            published_by,
            publication_note,
            improvement_progress,
            publication_late: late,
        }
    }
}

/// A form of its campaign.
pub(crate) struct FormOf<'a>(pub &'a Campaign, pub Form);

impl From<FormOf<'_>> for pb::SurveyForm {
    fn from(FormOf(c, f): FormOf<'_>) -> Self {
        let name = |names: &[String], i: usize| names.get(i).cloned().unwrap_or_default();
        let (return_time, collected_by) = match &f.returned {
            Some((at, by)) => (Some(to_timestamp(*at)), actor_proto(by)),
            None => (None, None),
        };
        pb::SurveyForm {
            campaign_id: f.campaign_id,
            household_id: f.household_id,
            unit_id: f.unit_id,
            unit_label: f.unit_label,
            distribute_time: Some(to_timestamp(f.distributed_at)),
            distributed_by: actor_proto(&f.distributed_by),
            return_time,
            collected_by,
            ratings: f
                .ratings
                .iter()
                .map(|&(item, level)| pb::SurveyRating {
                    item: name(&c.items, item),
                    level: name(&c.levels, level),
                })
                .collect(),
            remarks: f
                .remarks
                .into_iter()
                .map(|r| pb::SurveyRemark {
                    item: r.item.map(|i| name(&c.items, i)).unwrap_or_default(),
                    kind: pb::RemarkKind::from(r.kind).into(),
                    text: r.text,
                })
                .collect(),
        }
    }
}

/// A campaign's statistics and grouped remarks (CS-4), computed at `at`.
pub(crate) struct StatisticsOf<'a> {
    pub campaign: &'a Campaign,
    pub stats: Statistics,
    pub groups: Vec<RemarkGroup>,
    pub at: DateTime<Utc>,
}

impl From<StatisticsOf<'_>> for pb::SurveyStatistics {
    fn from(s: StatisticsOf<'_>) -> Self {
        let StatisticsOf {
            campaign: c,
            stats,
            groups,
            at,
        } = s;
        pb::SurveyStatistics {
            campaign_id: c.id.clone(),
            distributed: stats.distributed,
            returned: stats.returned,
            return_rate: stats.return_rate(),
            rated: stats.rated,
            satisfied: stats.satisfied,
            satisfaction_rate: stats.satisfaction_rate(),
            items: stats
                .items
                .into_iter()
                .map(|i| pb::ItemStatistics {
                    satisfaction_rate: rate(i.satisfied, i.rated),
                    item: i.item,
                    rated: i.rated,
                    satisfied: i.satisfied,
                    levels: c
                        .levels
                        .iter()
                        .zip(i.levels)
                        .map(|(level, count)| pb::LevelCount {
                            level: level.clone(),
                            count,
                        })
                        .collect(),
                })
                .collect(),
            remarks: groups
                .into_iter()
                .map(|g| pb::RemarkGroup {
                    item: g.item,
                    opinions: g.opinions,
                    suggestions: g.suggestions,
                })
                .collect(),
            compute_time: Some(to_timestamp(at)),
        }
    }
}
