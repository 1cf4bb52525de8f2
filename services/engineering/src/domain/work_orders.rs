//! Repair work orders (报修, WO-1 to WO-3).

use chrono::{DateTime, Duration, Utc};
use wuye_kit::{identity::Actor, properties::EngineeringRules};

use super::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// WO-1: a customer's request taken by the front desk.
    CustomerRequest,
    /// INS-5: a failed inspection item.
    Inspection,
}

wuye_kit::text_codes!(Source { CustomerRequest => "customer_request", Inspection => "inspection" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Emergency,
    Ordinary,
}

wuye_kit::text_codes!(Urgency { Emergency => "emergency", Ordinary => "ordinary" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    Dispatched,
    Arrived,
    Completed,
}

wuye_kit::text_codes!(State {
    Open => "open",
    Dispatched => "dispatched",
    Arrived => "arrived",
    Completed => "completed",
});

/// The customer who asked. Personal data: never logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    pub quantity: f64,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkOrder {
    pub id: String,
    pub property_id: String,
    pub number: i64,
    pub source: Source,
    pub unit_id: Option<String>,
    pub equipment_id: Option<String>,
    pub inspection_id: Option<String>,
    pub description: String,
    pub urgency: Urgency,
    pub team: String,
    pub requester: Requester,
    pub contact_number: Option<i64>,
    pub booked_at: Option<DateTime<Utc>>,
    pub state: State,
    pub opened_at: DateTime<Utc>,
    pub opened_by: Actor,
    pub assignee_user_id: String,
    pub assignee_name: String,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub arrival_due_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub arrived_late: bool,
    pub work_done: String,
    pub parts: Vec<Part>,
    pub completed_at: Option<DateTime<Utc>>,
    /// 1 to 5; 0 when there is no customer.
    pub customer_rating: i32,
    pub customer_signature: String,
    pub completed_by: Option<Actor>,
}

/// What a new work order asks for: a customer's request taken by the front desk (WO-1) or a
/// failed inspection item (INS-5).
#[derive(Debug, Clone, PartialEq)]
pub struct Repair {
    pub source: Source,
    pub unit_id: Option<String>,
    pub equipment_id: Option<String>,
    pub inspection_id: Option<String>,
    pub description: String,
    pub urgency: Urgency,
    pub team: String,
    pub requester: Requester,
    pub contact_number: Option<i64>,
    pub booked_at: Option<DateTime<Utc>>,
}

/// What completing a work order says (WO-3).
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub work_done: String,
    pub parts: Vec<Part>,
    pub rating: i32,
    pub signature: String,
}

/// Which work orders a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub source: Option<Source>,
    pub inspection_id: String,
    /// Before this number, the page token.
    pub before_number: Option<i64>,
}

pub const MAX_PARTS: usize = 50;
pub const MAX_TEAM: usize = 50;

/// The posts of the person a work order is dispatched to at the property (WO-1, WO-2): the
/// maintenance staff who go and repair, a technician or the maintenance foreman, who record
/// the arrival.
pub const ASSIGNEE_ROLES: &[&str] = &["technician", "maintenance_foreman"];

/// WO-2: an emergency is reached within `emergency_arrival_minutes` of dispatch; an ordinary
/// repair within `ordinary_arrival_minutes`, or at the time the customer booked when that is
/// later.
pub fn arrival_due(
    urgency: Urgency,
    dispatched_at: DateTime<Utc>,
    booked_at: Option<DateTime<Utc>>,
    rules: &EngineeringRules,
) -> DateTime<Utc> {
    match urgency {
        Urgency::Emergency => {
            dispatched_at + Duration::minutes(i64::from(rules.emergency_arrival_minutes))
        }
        Urgency::Ordinary => {
            let target =
                dispatched_at + Duration::minutes(i64::from(rules.ordinary_arrival_minutes));
            booked_at.map_or(target, |booked| booked.max(target))
        }
    }
}

impl WorkOrder {
    /// A new, open order for `r`; its number is given when it is stored (WO-1).
    pub fn open(id: String, property_id: &str, r: Repair, at: DateTime<Utc>, by: Actor) -> Self {
        WorkOrder {
            id,
            property_id: property_id.to_owned(),
            number: 0,
            source: r.source,
            unit_id: r.unit_id,
            equipment_id: r.equipment_id,
            inspection_id: r.inspection_id,
            description: r.description,
            urgency: r.urgency,
            team: r.team,
            requester: r.requester,
            contact_number: r.contact_number,
            booked_at: r.booked_at,
            state: State::Open,
            opened_at: at,
            opened_by: by,
            assignee_user_id: String::new(),
            assignee_name: String::new(),
            dispatched_at: None,
            arrival_due_at: None,
            arrived_at: None,
            arrived_late: false,
            work_done: String::new(),
            parts: Vec::new(),
            completed_at: None,
            customer_rating: 0,
            customer_signature: String::new(),
            completed_by: None,
        }
    }

    /// WO-3: what a customer's repair lacks to be completed with `c`: (field, why) for each.
    pub fn missing_customer(&self, c: &Completion) -> Vec<(&'static str, &'static str)> {
        let mut missing = Vec::new();
        if !self.needs_customer_signature() {
            return missing;
        }
        if !(1..=5).contains(&c.rating) {
            missing.push((
                "customer_rating",
                "the customer rates the repair from 1 to 5",
            ));
        }
        if c.signature.trim().is_empty() {
            missing.push((
                "customer_signature",
                "the customer signs the completed repair",
            ));
        }
        missing
    }

    /// Sends the order to the person who goes; the arrival deadline starts now (WO-2).
    pub fn dispatch(
        &mut self,
        assignee_user_id: String,
        assignee_name: String,
        now: DateTime<Utc>,
        rules: &EngineeringRules,
    ) -> Result<(), Refusal> {
        if self.state != State::Open {
            return Err(Refusal::new(
                "WORK_ORDER_DISPATCHED",
                "the work order is already dispatched",
            ));
        }
        self.state = State::Dispatched;
        self.assignee_user_id = assignee_user_id;
        self.assignee_name = assignee_name;
        self.dispatched_at = Some(now);
        self.arrival_due_at = Some(arrival_due(self.urgency, now, self.booked_at, rules));
        Ok(())
    }

    /// The repairer is on site; after the deadline it counts late (WO-2).
    pub fn arrive(&mut self, now: DateTime<Utc>) -> Result<(), Refusal> {
        match (self.state, self.arrival_due_at) {
            (State::Dispatched, Some(due)) => {
                self.state = State::Arrived;
                self.arrived_at = Some(now);
                self.arrived_late = now > due;
                Ok(())
            }
            (State::Open, _) => Err(Refusal::new(
                "WORK_ORDER_NOT_DISPATCHED",
                "the work order is not dispatched yet",
            )),
            _ => Err(Refusal::new(
                "ALREADY_ARRIVED",
                "the arrival is already recorded",
            )),
        }
    }

    /// WO-3: the work is done; a customer's request is rated and signed by the customer
    /// (checked as input by the caller, who knows the fields).
    pub fn complete(
        &mut self,
        work_done: String,
        parts: Vec<Part>,
        rating: i32,
        signature: String,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        match self.state {
            State::Arrived => {}
            State::Completed => {
                return Err(Refusal::new(
                    "WORK_ORDER_COMPLETED",
                    "the work order is already completed",
                ));
            }
            State::Open | State::Dispatched => {
                return Err(Refusal::new(
                    "WORK_ORDER_NOT_ARRIVED",
                    "nobody has arrived at the repair yet",
                ));
            }
        }
        self.state = State::Completed;
        self.work_done = work_done;
        self.parts = parts;
        self.customer_rating = rating;
        self.customer_signature = signature;
        self.completed_by = Some(by);
        self.completed_at = Some(now);
        Ok(())
    }

    /// WO-3: whether the customer rates and signs this order.
    pub fn needs_customer_signature(&self) -> bool {
        self.source == Source::CustomerRequest
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap()
    }

    fn order(urgency: Urgency) -> WorkOrder {
        let actor = Actor {
            user_id: "d1".into(),
            name: "前台".into(),
            role: "front_desk".into(),
        };
        WorkOrder {
            id: "w1".into(),
            property_id: "p".into(),
            number: 1,
            source: Source::CustomerRequest,
            unit_id: Some("u1".into()),
            equipment_id: None,
            inspection_id: None,
            description: "厨房水龙头漏水".into(),
            urgency,
            team: "水电班".into(),
            requester: Requester::default(),
            contact_number: None,
            booked_at: None,
            state: State::Open,
            opened_at: at(9, 0),
            opened_by: actor,
            assignee_user_id: String::new(),
            assignee_name: String::new(),
            dispatched_at: None,
            arrival_due_at: None,
            arrived_at: None,
            arrived_late: false,
            work_done: String::new(),
            parts: Vec::new(),
            completed_at: None,
            customer_rating: 0,
            customer_signature: String::new(),
            completed_by: None,
        }
    }

    #[test]
    fn arrival_targets_follow_urgency_and_booking() {
        // rule WO-2
        let rules = EngineeringRules::default();
        assert_eq!(
            arrival_due(Urgency::Emergency, at(9, 0), None, &rules),
            at(9, 30)
        );
        assert_eq!(
            arrival_due(Urgency::Ordinary, at(9, 0), None, &rules),
            at(9, 15)
        );
        assert_eq!(
            arrival_due(Urgency::Ordinary, at(9, 0), Some(at(14, 0)), &rules),
            at(14, 0)
        );
        // A booking already past does not shorten the target.
        assert_eq!(
            arrival_due(Urgency::Ordinary, at(9, 0), Some(at(8, 0)), &rules),
            at(9, 15)
        );
    }

    #[test]
    fn a_late_arrival_counts_late() {
        // rule WO-2
        let rules = EngineeringRules::default();
        let mut on_time = order(Urgency::Ordinary);
        on_time
            .dispatch("t1".into(), "张".into(), at(9, 0), &rules)
            .unwrap();
        on_time.arrive(at(9, 15)).unwrap();
        assert!(!on_time.arrived_late);
        let mut late = order(Urgency::Ordinary);
        late.dispatch("t1".into(), "张".into(), at(9, 0), &rules)
            .unwrap();
        late.arrive(at(9, 16)).unwrap();
        assert!(late.arrived_late);
    }

    #[test]
    fn steps_come_in_order() {
        // rule WO-1, WO-3
        let rules = EngineeringRules::default();
        let mut o = order(Urgency::Emergency);
        let by = o.opened_by.clone();
        assert_eq!(
            o.arrive(at(9, 1)).unwrap_err().reason,
            "WORK_ORDER_NOT_DISPATCHED"
        );
        o.dispatch("t1".into(), "张".into(), at(9, 0), &rules)
            .unwrap();
        assert_eq!(
            o.complete(String::new(), vec![], 5, "李".into(), by.clone(), at(9, 2))
                .unwrap_err()
                .reason,
            "WORK_ORDER_NOT_ARRIVED"
        );
        o.arrive(at(9, 10)).unwrap();
        o.complete(
            "换阀芯".into(),
            vec![],
            5,
            "李".into(),
            by.clone(),
            at(9, 40),
        )
        .unwrap();
        assert_eq!(o.state, State::Completed);
        assert_eq!(
            o.complete(String::new(), vec![], 5, "李".into(), by, at(9, 41))
                .unwrap_err()
                .reason,
            "WORK_ORDER_COMPLETED"
        );
    }

    mod properties {
        //! No sequence of dispatches, arrivals and completions reaches an invalid work order:
        //! the states go Open → Dispatched → Arrived → Completed only, a refused call changes
        //! nothing, and the times on record match the state (WO-2, WO-3).
        use proptest::prelude::*;

        use super::*;

        #[derive(Debug, Clone)]
        enum Call {
            Dispatch,
            Arrive,
            Complete,
        }

        fn call() -> impl Strategy<Value = Call> {
            prop_oneof![
                Just(Call::Dispatch),
                Just(Call::Arrive),
                Just(Call::Complete)
            ]
        }

        fn rank(state: State) -> u8 {
            match state {
                State::Open => 0,
                State::Dispatched => 1,
                State::Arrived => 2,
                State::Completed => 3,
            }
        }

        proptest! {
            // 256 cases, or PROPTEST_CASES.
            #[test]
            fn no_sequence_of_calls_reaches_an_invalid_work_order(
                emergency in any::<bool>(),
                calls in prop::collection::vec((call(), 0i64..240), 1..20),
            ) {
                let rules = EngineeringRules::default();
                let mut w = order(if emergency { Urgency::Emergency } else { Urgency::Ordinary });
                let mut now = at(9, 0);
                for (call, minutes) in calls {
                    now += Duration::minutes(minutes);
                    let before = w.clone();
                    let taken = match call {
                        Call::Dispatch => w.dispatch("t1".into(), "李师傅".into(), now, &rules),
                        Call::Arrive => w.arrive(now),
                        Call::Complete => w.complete(
                            "换阀芯".into(),
                            vec![],
                            5,
                            "签名".into(),
                            before.opened_by.clone(),
                            now,
                        ),
                    };
                    match taken {
                        Err(_) => prop_assert_eq!(&w, &before, "a refused call changes nothing"),
                        // One step forward at a time.
                        Ok(()) => prop_assert_eq!(rank(w.state), rank(before.state) + 1),
                    }
                    let r = rank(w.state);
                    prop_assert_eq!(w.dispatched_at.is_some(), r >= 1);
                    prop_assert_eq!(w.arrival_due_at.is_some(), r >= 1);
                    prop_assert_eq!(w.arrived_at.is_some(), r >= 2);
                    prop_assert_eq!(w.completed_at.is_some(), r >= 3);
                    prop_assert_eq!(w.completed_by.is_some(), r >= 3);
                    if let (Some(due), Some(arrived)) = (w.arrival_due_at, w.arrived_at) {
                        prop_assert_eq!(w.arrived_late, arrived > due);
                        prop_assert!(w.dispatched_at.unwrap() <= arrived);
                    }
                    if let (Some(arrived), Some(done)) = (w.arrived_at, w.completed_at) {
                        prop_assert!(arrived <= done);
                    }
                }
            }
        }
    }
}
