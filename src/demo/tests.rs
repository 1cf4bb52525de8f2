use super::{plan::*, *};

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
        assert!(order.steps.len() <= 3 && order.steps.iter().all(|d| *d >= order.day && *d < 90));
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

#[test]
fn every_property_has_its_own_staff_signing_in_with_readable_logins() {
    let first = super::plan_staff("sunshine-garden", 0);
    let second = super::plan_staff("riverside", 1);
    let headquarters = super::headquarters_staff();
    let everyone: Vec<&super::StaffPlan> =
        first.iter().chain(&second).chain(&headquarters).collect();
    let sign_ins: std::collections::BTreeSet<&str> =
        everyone.iter().map(|p| p.sign_in.as_str()).collect();
    let numbers: std::collections::BTreeSet<&str> =
        everyone.iter().map(|p| p.staff_number.as_str()).collect();
    assert_eq!(sign_ins.len(), everyone.len(), "one login each");
    assert_eq!(numbers.len(), everyone.len(), "one staff number each");
    assert!(sign_ins.contains("wangfang") && sign_ins.contains("chenjing"));
    assert!(
        sign_ins
            .iter()
            .all(|s| s.chars().all(|c| c.is_ascii_alphanumeric()))
    );
    // The actors of the history, some holding two posts (一人多岗).
    for key in ["clerk", "supervisor", "manager", "foreman", "technician-3"] {
        assert!(first.iter().any(|p| p.key == key), "{key}");
    }
    assert!(first.iter().any(|p| p.posts.len() == 2));
    assert!(
        first
            .iter()
            .flat_map(|p| &p.posts)
            .all(|(_, property)| property == "sunshine-garden")
    );
    assert_ne!(first[0].name, second[0].name, "other people elsewhere");
    let hq: Vec<&str> = headquarters.iter().map(|p| p.role()).collect();
    assert_eq!(hq, ["quality_officer", "hq_viewer", "admin"]);
    assert!(
        headquarters
            .iter()
            .all(|p| p.posts.iter().all(|(_, at)| at.is_empty()))
    );
    assert_eq!(
        plan_property(1, "p001", "x", DemoSize::default())
            .staff
            .len(),
        10
    );
}
