use super::*;
use chrono::TimeZone;

fn actor() -> Actor {
    Actor {
        user_id: "pm-1".into(),
        name: "项目经理".into(),
        role: "project_manager".into(),
    }
}

fn campaign() -> Campaign {
    let rules = SurveyRules::default();
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    Campaign {
        id: "c1".into(),
        property_id: "p1".into(),
        title: "2026年度调查".into(),
        items: rules.items.clone(),
        levels: rules.levels.clone(),
        satisfied_levels: 2,
        start_at: start,
        end_at: end,
        publish_due_at: publish_due(end, &rules),
        planned_by: actor(),
        created_at: start,
        opinion_summary: String::new(),
        improvement_measures: String::new(),
        report: None,
        publication: None,
    }
}

#[test]
fn statistics_count_the_top_levels_as_satisfied() {
    // rule CS-3, CS-4
    let c = campaign();
    let counts = [
        (0, 0, 3),
        (0, 1, 2),
        (0, 2, 5),
        (1, 4, 4),
        (1, 1, 1),
        (99, 0, 7),
    ];
    let s = statistics(&c, 20, 10, &counts);
    assert_eq!(s.return_rate(), 0.5);
    assert_eq!((s.items[0].rated, s.items[0].satisfied), (10, 5));
    assert_eq!(s.items[0].levels, vec![3, 2, 5, 0, 0]);
    assert_eq!((s.items[1].rated, s.items[1].satisfied), (5, 1));
    assert_eq!((s.rated, s.satisfied), (15, 6));
    assert_eq!(s.satisfaction_rate(), 6.0 / 15.0);
    assert_eq!(s.items[2].rated, 0);
    assert_eq!(rate(0, 0), 0.0);
}

#[test]
fn publication_is_late_a_month_after_the_end() {
    // rule CS-5
    let mut c = campaign();
    assert_eq!(c.publish_due_at, c.end_at + Duration::days(30));
    assert!(!c.publication_late(c.end_at + Duration::days(30)));
    assert!(c.publication_late(c.end_at + Duration::days(31)));
    let early = c.end_at - Duration::days(1);
    assert_eq!(reason(c.check_publish(early)), "SURVEY_NOT_ENDED",);
    assert_eq!(reason(c.check_publish(c.end_at)), "REPORT_INCOMPLETE");
    c.improvement_measures = "加强绿化养护".into();
    assert!(c.check_publish(c.end_at).is_ok());
    c.publication = Some(Publication {
        at: c.end_at + Duration::days(40),
        by: actor(),
        note: "公告栏".into(),
        improvement_progress: "已完成".into(),
    });
    assert!(c.publication_late(c.end_at));
    assert_eq!(reason(c.check_publish(c.end_at)), "SURVEY_PUBLISHED");
}

#[test]
fn forms_move_only_while_the_survey_runs() {
    // rule CS-2
    let c = campaign();
    assert!(c.check_open(c.start_at).is_ok());
    assert_eq!(
        reason(c.check_open(c.end_at + Duration::seconds(1))),
        "SURVEY_NOT_OPEN"
    );
    assert_eq!(
        reason(c.check_open(c.start_at - Duration::seconds(1))),
        "SURVEY_NOT_OPEN"
    );
}

#[test]
fn the_scale_defaults_and_checks() {
    let rules = SurveyRules::default();
    let mut v = Violations::new();
    let (items, levels, satisfied) = scale(vec![], vec![], 0, &rules, &mut v);
    assert!(v.is_empty());
    assert_eq!((items.len(), levels.len(), satisfied), (8, 5, 3));
    let mut v = Violations::new();
    scale(
        vec!["供水".into(), "供水".into()],
        vec!["好".into(), "差".into()],
        2,
        &rules,
        &mut v,
    );
    let e = v.check().unwrap_err().to_string();
    assert!(
        e.contains("items[1]") && e.contains("satisfied_levels"),
        "{e}"
    );
    assert!(check_rules("p1", &rules).is_ok());
}

#[test]
fn remarks_are_grouped_by_item_then_general() {
    let c = campaign();
    let remarks = vec![
        Remark {
            item: None,
            kind: RemarkKind::Suggestion,
            text: "多办活动".into(),
        },
        Remark {
            item: Some(4),
            kind: RemarkKind::Opinion,
            text: "草坪枯黄".into(),
        },
        Remark {
            item: Some(1),
            kind: RemarkKind::Opinion,
            text: "水压低".into(),
        },
        Remark {
            item: Some(4),
            kind: RemarkKind::Suggestion,
            text: "补种".into(),
        },
    ];
    let g = group_remarks(&c, &remarks);
    let items: Vec<&str> = g.iter().map(|g| g.item.as_str()).collect();
    assert_eq!(items, ["供水", "绿化", ""]);
    assert_eq!(g[1].opinions, ["草坪枯黄"]);
    assert_eq!(g[1].suggestions, ["补种"]);
}

#[test]
fn the_report_prints_statistics_opinions_and_measures() {
    let mut c = campaign();
    c.improvement_measures = "<b>加强</b>绿化".into();
    let s = statistics(&c, 4, 2, &[(0, 0, 2)]);
    let html = render_report(&c, &s, &[], "阳光花园", chrono_tz::Asia::Shanghai, c.end_at);
    assert!(html.contains("意见调查报告"));
    assert!(html.contains("50.00%"));
    assert!(html.contains("&lt;b&gt;加强&lt;/b&gt;绿化"));
    assert!(render_form(&c, "阳光花园", chrono_tz::Asia::Shanghai).contains("满意度调查表"));
}

fn reason(r: Result<()>) -> &'static str {
    match r {
        Err(Error::Rule { reason, .. }) => reason,
        other => panic!("expected a rule refusal, got {other:?}"),
    }
}

mod properties {
    //! No sequence of form moves, report edits and publications reaches an invalid
    //! campaign: forms move only while it runs and before publication, results are
    //! published once, after the end, with improvement measures, and nothing changes after
    //! (CS-2, CS-5). The calls change the campaign as the service does, guarded by these
    //! rules.
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Call {
        MoveForm,
        Report { measures: bool },
        Publish,
    }

    fn call() -> impl Strategy<Value = Call> {
        prop_oneof![
            3 => Just(Call::MoveForm),
            2 => any::<bool>().prop_map(|measures| Call::Report { measures }),
            2 => Just(Call::Publish),
        ]
    }

    proptest! {
        // 256 cases, or PROPTEST_CASES.
        #[test]
        fn no_sequence_of_calls_reaches_an_invalid_campaign(
            calls in prop::collection::vec((call(), 0i64..6), 1..30),
        ) {
            let mut c = campaign();
            let mut forms_moved = 0;
            let mut now = c.start_at - Duration::days(3);
            for (call, days) in calls {
                now += Duration::days(days);
                let before = (c.clone(), forms_moved);
                let taken = match call {
                    Call::MoveForm => c.check_open(now).map(|()| forms_moved += 1),
                    Call::Report { measures } => c.check_report().map(|()| {
                        c.improvement_measures =
                            if measures { "增加巡查".into() } else { String::new() };
                        c.report = Some((actor(), now));
                    }),
                    Call::Publish => c.check_publish(now).map(|()| {
                        c.publication = Some(Publication {
                            at: now,
                            by: actor(),
                            note: String::new(),
                            improvement_progress: String::new(),
                        });
                    }),
                };
                match (&call, taken) {
                    (_, Err(_)) => prop_assert_eq!(&(c.clone(), forms_moved), &before),
                    (Call::MoveForm, Ok(())) => {
                        prop_assert!(c.start_at <= now && now <= c.end_at);
                    }
                    (Call::Publish, Ok(())) => {
                        prop_assert!(now >= c.end_at);
                        prop_assert!(!c.improvement_measures.trim().is_empty());
                    }
                    (Call::Report { .. }, Ok(())) => {}
                }
                // Published is final: the forms and the report stay as published.
                if before.0.publication.is_some() {
                    prop_assert_eq!(&(c.clone(), forms_moved), &before);
                }
            }
        }
    }
}
