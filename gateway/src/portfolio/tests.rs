use super::*;

fn caller(role: &str, property: Option<&str>) -> Caller {
    Caller {
        post_id: String::new(),
        user_id: "u".into(),
        name: "u".into(),
        role: role.into(),
        property: property.map(str::to_owned),
        ..Default::default()
    }
}

#[test]
fn property_users_see_only_their_property() {
    // rule HQ-1: headquarters sees every property, a property its own
    let hq = caller("hq_viewer", None);
    assert_eq!(scope(&hq, vec![]).unwrap(), None);
    assert_eq!(
        scope(&hq, vec!["a".into()]).unwrap(),
        Some(BTreeSet::from(["a".to_owned()]))
    );
    let pm = caller("project_manager", Some("a"));
    assert_eq!(
        scope(&pm, vec![]).unwrap(),
        Some(BTreeSet::from(["a".to_owned()]))
    );
    assert_eq!(
        scope(&pm, vec!["b".into()]).unwrap_err().code(),
        Code::PermissionDenied
    );
    let nowhere = caller("project_manager", None);
    assert_eq!(
        scope(&nowhere, vec![]).unwrap_err().code(),
        Code::PermissionDenied
    );
}

#[test]
fn totals_sum_and_are_available_only_when_every_property_is() {
    let mut a = PropertyFigures {
        open_escalations: Some(count(2)),
        inspection_coverage: Some(rate(3, 4)),
        overdue_keys: Some(count(1)),
        complaints: Some(ComplaintFigures {
            available: true,
            registered: 3,
            by_severity: vec![KeyCount {
                key: "minor".into(),
                count: 3,
            }],
            by_state: vec![],
            replies_on_time: Some(rate(1, 2)),
        }),
        ..Default::default()
    };
    let b = PropertyFigures {
        open_escalations: Some(count(5)),
        inspection_coverage: Some(rate(1, 4)),
        overdue_keys: Some(Count::default()),
        complaints: Some(ComplaintFigures {
            available: true,
            registered: 1,
            by_severity: vec![KeyCount {
                key: "minor".into(),
                count: 1,
            }],
            by_state: vec![],
            replies_on_time: Some(rate(1, 1)),
        }),
        ..Default::default()
    };
    let t = total(&[a.clone(), b.clone()]);
    assert_eq!(t.open_escalations.unwrap(), count(7));
    assert_eq!(t.inspection_coverage.unwrap(), rate(4, 8));
    assert!(!t.overdue_keys.unwrap().available);
    assert!(!t.survey_return.unwrap().available);
    let complaints = t.complaints.unwrap();
    assert_eq!(complaints.registered, 4);
    assert_eq!(complaints.by_severity[0].count, 4);
    assert_eq!(complaints.replies_on_time.unwrap(), rate(2, 3));
    a.complaints = Some(ComplaintFigures::default());
    assert!(!total(&[a, b]).complaints.unwrap().available);
}

#[test]
fn periods_list_their_months() {
    let one = Period::new("2026-11", "").unwrap();
    assert_eq!(
        (one.first.as_str(), one.last.as_str()),
        ("2026-11", "2026-11")
    );
    assert_eq!(one.months, vec!["2026-11"]);
    let quarter = Period::new("2026-11", "2027-01").unwrap();
    assert_eq!(quarter.months, vec!["2026-11", "2026-12", "2027-01"]);
    assert_eq!(Period::new("2026-01", "2026-12").unwrap().months.len(), 12);
    for (month, to) in [
        ("2026-13", ""),
        ("2026-1", ""),
        ("2026-11", "2026-10"),
        ("2026-01", "2027-01"),
        ("2026-11", "x"),
    ] {
        assert_eq!(
            Period::new(month, to).unwrap_err().code(),
            Code::InvalidArgument,
            "{month}..{to}"
        );
    }
}

#[test]
fn months_and_methods() {
    assert!(serves("wuye.hq.v1.PortfolioService/GetPortfolio"));
    assert!(!serves("wuye.hq.v10.X/Y"));
    assert_eq!(rate(0, 0).percent, 100.0);
}
