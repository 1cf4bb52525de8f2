//! The engineering department through the gateway (DUTY, HO, INS, WO), on SQLite and
//! PostgreSQL: a clean handover, every HO-7 refusal alone and together, a fault stopping a
//! handover (HO-8), a day of inspections (INS-1 to INS-5), a work order from request to
//! completion (WO-1 to WO-3), a repair only for a unit of its property as customer-service
//! announced it (also units registered before units were announced), and the month's figures
//! against an independent count.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Shanghai;
use tokio_stream::StreamExt;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use wuye_tests::{
    Authed, Backend, OTHER_PROPERTY, PROPERTY, Stack, both_backends, eventually,
    inspection_answers,
    proto::{
        customerservice::{CreateUnitRequest, household_service_client::HouseholdServiceClient},
        engineering::{
            self as pb, alert_service_client::AlertServiceClient,
            duty_service_client::DutyServiceClient,
            equipment_service_client::EquipmentServiceClient,
            figures_service_client::FiguresServiceClient,
            handover_service_client::HandoverServiceClient,
            inspection_service_client::InspectionServiceClient,
            work_order_service_client::WorkOrderServiceClient,
        },
        events::{Event, SubscribeRequest, event::Payload},
    },
};

both_backends!(
    a_clean_handover_passes_the_duty,
    each_ho7_condition_alone_refuses_and_alerts,
    a_fault_under_repair_refuses_until_cleared,
    every_condition_at_once_is_listed_and_nothing_is_signed,
    a_fault_during_the_handover_stops_it,
    a_day_of_inspections,
    a_work_order_from_request_to_completion,
    a_work_order_names_a_unit_of_its_property,
    units_registered_before_units_were_announced_become_known,
    figures_over_a_generated_month_match_an_independent_count,
    bad_input_and_retries,
    roster_swaps_need_approval,
);

// --- people and clients -------------------------------------------------------------------

/// A person of the tests: their post at the property and their name in the directory, under a
/// key of the test's own (their staff id is the directory's, see [`Crew`]).
#[derive(Clone, Copy)]
struct Person {
    role: &'static str,
    key: &'static str,
    name: &'static str,
}

const MANAGER: Person = Person {
    role: "engineering_manager",
    key: "mgr-1",
    name: "王经理",
};
const FOREMAN: Person = Person {
    role: "maintenance_foreman",
    key: "fm-1",
    name: "李领班",
};
const TECH_A: Person = Person {
    role: "technician",
    key: "tech-a",
    name: "张师傅",
};
const TECH_B: Person = Person {
    role: "technician",
    key: "tech-b",
    name: "刘师傅",
};
const TECH_C: Person = Person {
    role: "technician",
    key: "tech-c",
    name: "陈师傅",
};
const DESK: Person = Person {
    role: "front_desk",
    key: "desk-1",
    name: "前台",
};
/// The technician a swap gives B's shift to.
const TECH_D: Person = Person {
    role: "technician",
    key: "tech-d",
    name: "赵师傅",
};

/// Everyone the tests name, hired into the directory at the test property.
const CREW: [Person; 7] = [MANAGER, FOREMAN, TECH_A, TECH_B, TECH_C, TECH_D, DESK];

/// The stack with [`CREW`] hired into its directory: requests name them by their staff id,
/// and they act with tokens whose subject is that id.
struct Crew {
    stack: Stack,
    ids: BTreeMap<&'static str, String>,
}

impl std::ops::Deref for Crew {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

impl Crew {
    async fn start(backend: Backend) -> Crew {
        let stack = Stack::start(backend).await;
        let mut ids = BTreeMap::new();
        for p in CREW {
            ids.insert(p.key, stack.hire(p.name, &[(p.role, PROPERTY)]).await);
        }
        Crew { stack, ids }
    }

    /// The staff id of `p`.
    fn id(&self, p: Person) -> &str {
        &self.ids[p.key]
    }
}

/// A channel as `p`: as the directory's person, or, for someone not hired, with a script
/// token naming them by their key.
fn ch(stack: &Crew, p: Person) -> Authed {
    match stack.ids.get(p.key) {
        Some(id) => stack.as_person(id, p.name, p.role, PROPERTY),
        None => stack.as_user(p.role, p.key, p.name, PROPERTY),
    }
}
fn equipment(stack: &Crew, p: Person) -> EquipmentServiceClient<Authed> {
    EquipmentServiceClient::new(ch(stack, p))
}
fn duty(stack: &Crew, p: Person) -> DutyServiceClient<Authed> {
    DutyServiceClient::new(ch(stack, p))
}
fn handover(stack: &Crew, p: Person) -> HandoverServiceClient<Authed> {
    HandoverServiceClient::new(ch(stack, p))
}
fn alerts(stack: &Crew, p: Person) -> AlertServiceClient<Authed> {
    AlertServiceClient::new(ch(stack, p))
}
fn work_orders(stack: &Crew, p: Person) -> WorkOrderServiceClient<Authed> {
    WorkOrderServiceClient::new(ch(stack, p))
}
fn inspections(stack: &Crew, p: Person) -> InspectionServiceClient<Authed> {
    InspectionServiceClient::new(ch(stack, p))
}
fn figures(stack: &Crew, p: Person) -> FiguresServiceClient<Authed> {
    FiguresServiceClient::new(ch(stack, p))
}

/// A time of 2026-11 in Shanghai.
fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(2026, 11, day, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn from_ts(t: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    let t = t.as_ref().expect("time set");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap()
}

fn fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("field violations")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// The stable reason of a single-reason refusal.
fn reason(status: &Status) -> String {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    status.get_details_error_info().expect("error info").reason
}

const HO7: &[&str] = &[
    "LAST_SHIFT_NOT_EXPLAINED",
    "RECORD_IRREGULAR",
    "ROOM_UNCLEAN",
    "RECORDS_DIFFER_FROM_EQUIPMENT",
    "INCOMING_NOT_ARRIVED",
    "INCOMING_UNFIT",
    "INCIDENT_IN_PROGRESS",
    "FAULT_UNDER_REPAIR",
    "EQUIPMENT_ABNORMAL_UNKNOWN",
    "INVENTORY_MISMATCH",
];

/// Every reason code a refused signature lists, in order.
fn refusal_codes(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    status
        .get_details_precondition_failure()
        .expect("precondition failure with every reason")
        .violations
        .into_iter()
        .map(|v| v.r#type)
        .collect()
}

/// The distinct HO-7 codes of a refused signature.
fn ho7_codes(status: &Status) -> BTreeSet<String> {
    refusal_codes(status)
        .into_iter()
        .filter(|c| HO7.contains(&c.as_str()))
        .collect()
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

async fn events(stack: &Stack, after: i64) -> Vec<Event> {
    let mut stream = stack
        .events("engineering")
        .subscribe(SubscribeRequest { after_seq: after })
        .await
        .unwrap()
        .into_inner();
    // The stream follows new events forever: read what is there, then stop waiting.
    let mut out = Vec::new();
    while let Ok(Some(item)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), stream.next()).await
    {
        out.push(item.unwrap().event.unwrap());
    }
    out
}

// --- the site ----------------------------------------------------------------------------

/// A property with two zones, three pieces of equipment, an inventory list, the day's roster
/// (A 08–16, B and C 16–24) and A on duty.
struct Site {
    stack: Crew,
    zone_a: String,
    zone_b: String,
    pump: String,
    transformer: String,
    fan: String,
    /// (item id, listed count).
    items: Vec<(String, i64)>,
    shift_a: String,
    shift_b: String,
    shift_c: String,
}

async fn site(backend: Backend) -> Site {
    let stack = Crew::start(backend).await;
    let mut eq = equipment(&stack, MANAGER);
    let zone = |request_id: &str, name: &str, tech: Person| pb::CreateZoneRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        name: name.into(),
        technician_user_id: stack.id(tech).into(),
    };
    let zone_a = eq
        .create_zone(zone("z-a", "地下室泵房与配电房", TECH_A))
        .await
        .unwrap()
        .into_inner()
        .zone
        .unwrap()
        .id;
    let zone_b = eq
        .create_zone(zone("z-b", "屋面风机房", TECH_B))
        .await
        .unwrap()
        .into_inner()
        .zone
        .unwrap()
        .id;
    let create = |request_id: &str,
                  number: &str,
                  name: &str,
                  zone_id: &str,
                  large: bool,
                  meters: Vec<pb::Meter>| {
        let mut eq = eq.clone();
        let req = pb::CreateEquipmentRequest {
            property_id: PROPERTY.into(),
            request_id: request_id.into(),
            number: number.into(),
            name: name.into(),
            r#type: "设备".into(),
            location: "B1".into(),
            zone_id: zone_id.into(),
            large,
            meters,
        };
        async move {
            eq.create_equipment(req)
                .await
                .unwrap()
                .into_inner()
                .equipment
                .unwrap()
                .id
        }
    };
    let pump = create(
        "e1",
        "SB-01",
        "生活水泵",
        &zone_a,
        true,
        vec![pb::Meter {
            name: "出口压力".into(),
            unit: "MPa".into(),
            min: 0.2,
            max: 0.6,
        }],
    )
    .await;
    let transformer = create("e2", "BYQ-01", "1号变压器", &zone_a, true, vec![]).await;
    let fan = create("e3", "FJ-01", "排烟风机", &zone_b, false, vec![]).await;
    let mut items = Vec::new();
    for (i, (category, name, count)) in [
        (pb::InventoryCategory::Instrument, "万用表", 2),
        (pb::InventoryCategory::PlantRoomKey, "配电房钥匙", 3),
        (pb::InventoryCategory::Valuable, "对讲机", 4),
    ]
    .into_iter()
    .enumerate()
    {
        let item = equipment(&stack, FOREMAN)
            .create_inventory_item(pb::CreateInventoryItemRequest {
                property_id: PROPERTY.into(),
                request_id: format!("item-{i}"),
                category: category.into(),
                name: name.into(),
                count,
            })
            .await
            .unwrap()
            .into_inner()
            .item
            .unwrap();
        items.push((item.id, count));
    }
    let mut roster = duty(&stack, FOREMAN);
    let shift = |who: Person, from: DateTime<Utc>, to: DateTime<Utc>| {
        let req = pb::CreateShiftRequest {
            property_id: PROPERTY.into(),
            request_id: format!("shift-{}-{}", who.key, from.timestamp()),
            user_id: stack.id(who).into(),
            start_time: ts(from),
            end_time: ts(to),
        };
        let mut roster = roster.clone();
        async move {
            roster
                .create_shift(req)
                .await
                .unwrap()
                .into_inner()
                .shift
                .unwrap()
                .id
        }
    };
    let shift_a = shift(TECH_A, at(27, 8, 0), at(27, 16, 0)).await;
    let shift_b = shift(TECH_B, at(27, 16, 0), at(28, 0, 0)).await;
    let shift_c = shift(TECH_C, at(27, 16, 0), at(28, 0, 0)).await;
    roster
        .open_duty(pb::OpenDutyRequest {
            property_id: PROPERTY.into(),
            shift_id: shift_a.clone(),
        })
        .await
        .unwrap();
    Site {
        stack,
        zone_a,
        zone_b,
        pump,
        transformer,
        fan,
        items,
        shift_a,
        shift_b,
        shift_c,
    }
}

impl Site {
    async fn start_handover(&self, request_id: &str, incoming_shift: &str) -> pb::Handover {
        self.stack.clock.set(at(27, 15, 40));
        handover(&self.stack, TECH_A)
            .start_handover(pb::StartHandoverRequest {
                property_id: PROPERTY.into(),
                request_id: request_id.into(),
                incoming_shift_id: incoming_shift.into(),
                equipment_ok: true,
                rooms_cleaned: true,
                note: "设备运行正常".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .handover
            .unwrap()
    }

    async fn arrive(
        &self,
        h: &str,
        who: Person,
        fitness: pb::Fitness,
    ) -> Result<pb::Handover, Status> {
        handover(&self.stack, who)
            .record_handover_arrival(pb::RecordHandoverArrivalRequest {
                property_id: PROPERTY.into(),
                handover_id: h.into(),
                fitness: fitness.into(),
            })
            .await
            .map(|r| r.into_inner().handover.unwrap())
    }

    /// The incoming person checks each piece of equipment; the pump as given.
    async fn check_equipment(
        &self,
        h: &str,
        who: Person,
        pump: pb::RunningState,
        pump_matches: bool,
    ) -> pb::Handover {
        let observations = [
            (&self.pump, pump, pump_matches),
            (&self.transformer, pb::RunningState::Normal, true),
            (&self.fan, pb::RunningState::Normal, true),
        ]
        .into_iter()
        .map(|(id, running, matches_record)| pb::EquipmentObservation {
            equipment_id: id.clone(),
            running: running.into(),
            matches_record,
            note: String::new(),
        })
        .collect();
        handover(&self.stack, who)
            .check_handover_equipment(pb::CheckHandoverEquipmentRequest {
                property_id: PROPERTY.into(),
                handover_id: h.into(),
                observations,
            })
            .await
            .unwrap()
            .into_inner()
            .handover
            .unwrap()
    }

    async fn read_record(&self, h: &str, who: Person, regular: bool) {
        handover(&self.stack, who)
            .read_last_duty_record(pb::ReadLastDutyRecordRequest {
                property_id: PROPERTY.into(),
                handover_id: h.into(),
                regular,
                note: String::new(),
            })
            .await
            .unwrap();
    }

    /// Counts the inventory; the first item off by `first_off`.
    async fn count(&self, h: &str, who: Person, first_off: i64) {
        let counts = self
            .items
            .iter()
            .enumerate()
            .map(|(i, (id, n))| pb::InventoryCount {
                item_id: id.clone(),
                counted: if i == 0 { n + first_off } else { *n },
                ..Default::default()
            })
            .collect();
        handover(&self.stack, who)
            .count_handover_inventory(pb::CountHandoverInventoryRequest {
                property_id: PROPERTY.into(),
                handover_id: h.into(),
                counts,
            })
            .await
            .unwrap();
    }

    async fn cleanliness(&self, h: &str, who: Person, clean: bool) {
        handover(&self.stack, who)
            .check_handover_cleanliness(pb::CheckHandoverCleanlinessRequest {
                property_id: PROPERTY.into(),
                handover_id: h.into(),
                clean,
                note: String::new(),
            })
            .await
            .unwrap();
    }

    async fn brief(&self, h: &str, clear: bool) {
        handover(&self.stack, TECH_A)
            .brief_handover(pb::BriefHandoverRequest {
                property_id: PROPERTY.into(),
                handover_id: h.into(),
                summary: "白班运行正常，2号泵已切换".into(),
                points_to_watch: "注意水箱液位".into(),
                both_clear: clear,
            })
            .await
            .unwrap();
    }

    /// Every step done and nothing wrong.
    async fn ready(&self, h: &str, incoming: Person) {
        self.check_equipment(h, incoming, pb::RunningState::Normal, true)
            .await;
        self.read_record(h, incoming, true).await;
        self.count(h, incoming, 0).await;
        self.cleanliness(h, incoming, true).await;
        self.brief(h, true).await;
    }

    async fn sign(&self, h: &str, who: Person) -> Result<pb::Handover, Status> {
        handover(&self.stack, who)
            .sign_handover(pb::SignHandoverRequest {
                property_id: PROPERTY.into(),
                handover_id: h.into(),
            })
            .await
            .map(|r| r.into_inner().handover.unwrap())
    }

    async fn get(&self, h: &str) -> pb::Handover {
        handover(&self.stack, MANAGER)
            .get_handover(pb::GetHandoverRequest {
                property_id: PROPERTY.into(),
                handover_id: h.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .handover
            .unwrap()
    }

    async fn on_duty(&self) -> pb::GetOnDutyResponse {
        duty(&self.stack, DESK)
            .get_on_duty(pb::GetOnDutyRequest {
                property_id: PROPERTY.into(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn refusal_alerts(&self) -> Vec<pb::Alert> {
        alerts(&self.stack, MANAGER)
            .list_alerts(pb::ListAlertsRequest {
                property_id: PROPERTY.into(),
                kind: pb::AlertKind::HandoverRefused.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .alerts
    }

    async fn end_shift(&self, who: Person, shift: &str) -> Result<pb::Shift, Status> {
        duty(&self.stack, who)
            .end_shift(pb::EndShiftRequest {
                property_id: PROPERTY.into(),
                shift_id: shift.into(),
            })
            .await
            .map(|r| r.into_inner().shift.unwrap())
    }

    async fn report_fault(
        &self,
        request_id: &str,
        equipment_id: &str,
        needs_both: bool,
    ) -> pb::Fault {
        duty(&self.stack, TECH_A)
            .report_fault(pb::ReportFaultRequest {
                property_id: PROPERTY.into(),
                request_id: request_id.into(),
                equipment_id: equipment_id.into(),
                description: "水泵异响，机械密封漏水".into(),
                needs_both_shifts: needs_both,
            })
            .await
            .unwrap()
            .into_inner()
            .fault
            .unwrap()
    }

    async fn clear_fault(&self, fault_id: &str) {
        duty(&self.stack, TECH_A)
            .clear_fault(pb::ClearFaultRequest {
                property_id: PROPERTY.into(),
                fault_id: fault_id.into(),
                resolution: "更换机械密封".into(),
            })
            .await
            .unwrap();
    }
}

// --- handover ----------------------------------------------------------------------------

async fn a_clean_handover_passes_the_duty(backend: Backend) {
    let s = site(backend).await;
    assert_eq!(s.on_duty().await.shift.unwrap().id, s.shift_a);
    let h = s.start_handover("h1", &s.shift_b).await;
    assert_eq!(h.state(), pb::HandoverState::InProgress);
    // rule HO-1: 15:40 is 20 minutes before the end of A's shift, not late.
    assert!(!h.preparation.as_ref().unwrap().late);
    // rule HO-7: the outgoing person may not leave before the incoming one took over.
    let early = s.end_shift(TECH_A, &s.shift_a).await.unwrap_err();
    assert_eq!(reason(&early), "INCOMING_NOT_TAKEN_OVER");

    s.stack.clock.set(at(27, 15, 44));
    let arrived = s.arrive(&h.id, TECH_B, pb::Fitness::Fit).await.unwrap();
    // rule HO-2: 16 minutes early is on time.
    assert!(!arrived.arrival.unwrap().late);
    s.ready(&h.id, TECH_B).await;
    let ready = s.get(&h.id).await;
    assert!(ready.blockers.is_empty(), "{:?}", ready.blockers);

    // Each person does only their own steps.
    let status = handover(&s.stack, TECH_A)
        .read_last_duty_record(pb::ReadLastDutyRecordRequest {
            property_id: PROPERTY.into(),
            handover_id: h.id.clone(),
            regular: true,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "NOT_INCOMING");

    s.stack.clock.set(at(27, 16, 0));
    let once = s.sign(&h.id, TECH_A).await.unwrap();
    assert_eq!(once.state(), pb::HandoverState::InProgress);
    assert_eq!(
        reason(&s.sign(&h.id, TECH_A).await.unwrap_err()),
        "ALREADY_SIGNED"
    );
    let done = s.sign(&h.id, TECH_B).await.unwrap();
    // rule HO-6: both signed, the duty is B's.
    assert_eq!(done.state(), pb::HandoverState::Completed);
    assert_eq!(from_ts(&done.complete_time), at(27, 16, 0));
    let on_duty = s.on_duty().await;
    assert_eq!(on_duty.shift.as_ref().unwrap().id, s.shift_b);
    assert_eq!(on_duty.shift.unwrap().state(), pb::ShiftState::OnDuty);
    assert_eq!(on_duty.handover_id, h.id);
    assert_eq!(from_ts(&on_duty.since), at(27, 16, 0));
    // Both duty records say so, and new entries go to B's record.
    let mut d = duty(&s.stack, TECH_B);
    d.add_duty_record_entry(pb::AddDutyRecordEntryRequest {
        property_id: PROPERTY.into(),
        request_id: "entry-1".into(),
        kind: pb::DutyEntryKind::Event.into(),
        text: "巡视配电房，正常".into(),
        equipment_id: String::new(),
    })
    .await
    .unwrap();
    for (shift, expected) in [(&s.shift_a, 2), (&s.shift_b, 2)] {
        let record = d
            .list_duty_record(pb::ListDutyRecordRequest {
                property_id: PROPERTY.into(),
                shift_id: shift.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(record.len(), expected, "{record:?}");
        assert!(
            record
                .iter()
                .any(|e| e.kind() == pb::DutyEntryKind::Handover)
        );
    }
    // Now A may leave; B may not.
    assert_eq!(
        s.end_shift(TECH_A, &s.shift_a).await.unwrap().state(),
        pb::ShiftState::Ended
    );
    assert_eq!(
        reason(&s.end_shift(TECH_B, &s.shift_b).await.unwrap_err()),
        "INCOMING_NOT_TAKEN_OVER"
    );
    assert!(s.refusal_alerts().await.is_empty());
    let completed: Vec<_> = events(&s.stack, 0)
        .await
        .into_iter()
        .filter_map(|e| match e.payload {
            Some(Payload::HandoverCompleted(c)) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(
        (
            completed[0].incoming_user_id.as_str(),
            completed[0].handover_id.as_str()
        ),
        (s.stack.id(TECH_B), h.id.as_str())
    );
}

async fn each_ho7_condition_alone_refuses_and_alerts(backend: Backend) {
    let s = site(backend).await;
    let h = s.start_handover("h1", &s.shift_b).await.id;
    let mut refusals = 0;

    // rule HO-7: nobody has arrived.
    let status = s.sign(&h, TECH_A).await.unwrap_err();
    assert_eq!(ho7_codes(&status), set(&["INCOMING_NOT_ARRIVED"]));
    // The steps not done are listed too.
    assert!(refusal_codes(&status).contains(&"NOT_BRIEFED".to_string()));
    refusals += 1;

    // rule HO-7: the incoming person is drunk, and stays refused until replaced.
    s.stack.clock.set(at(27, 15, 50));
    let drunk = s.arrive(&h, TECH_B, pb::Fitness::Drunk).await.unwrap();
    assert!(
        drunk.arrival.unwrap().late,
        "rule HO-2: 10 minutes early is late"
    );
    let status = s.sign(&h, TECH_A).await.unwrap_err();
    assert_eq!(ho7_codes(&status), set(&["INCOMING_UNFIT"]));
    refusals += 1;
    let replaced = handover(&s.stack, FOREMAN)
        .replace_incoming(pb::ReplaceIncomingRequest {
            property_id: PROPERTY.into(),
            handover_id: h.clone(),
            incoming_shift_id: s.shift_c.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .handover
        .unwrap();
    assert_eq!(replaced.incoming_user_id, s.stack.id(TECH_C));
    assert!(replaced.arrival.is_none());
    s.arrive(&h, TECH_C, pb::Fitness::Fit).await.unwrap();
    s.ready(&h, TECH_C).await;
    assert!(s.get(&h).await.blockers.is_empty());

    // Each condition alone, then cleared.
    s.check_equipment(&h, TECH_C, pb::RunningState::AbnormalUnknownCause, true)
        .await;
    assert_eq!(
        ho7_codes(&s.sign(&h, TECH_C).await.unwrap_err()),
        set(&["EQUIPMENT_ABNORMAL_UNKNOWN"])
    );
    s.check_equipment(&h, TECH_C, pb::RunningState::Normal, false)
        .await;
    assert_eq!(
        ho7_codes(&s.sign(&h, TECH_C).await.unwrap_err()),
        set(&["RECORDS_DIFFER_FROM_EQUIPMENT"])
    );
    s.check_equipment(&h, TECH_C, pb::RunningState::Normal, true)
        .await;
    s.read_record(&h, TECH_C, false).await;
    assert_eq!(
        ho7_codes(&s.sign(&h, TECH_C).await.unwrap_err()),
        set(&["RECORD_IRREGULAR"])
    );
    s.read_record(&h, TECH_C, true).await;
    s.count(&h, TECH_C, -1).await;
    let status = s.sign(&h, TECH_A).await.unwrap_err();
    assert_eq!(ho7_codes(&status), set(&["INVENTORY_MISMATCH"]));
    let subject = status
        .get_details_precondition_failure()
        .unwrap()
        .violations[0]
        .subject
        .clone();
    assert_eq!(subject, s.items[0].0, "the item that is short");
    s.count(&h, TECH_C, 0).await;
    s.cleanliness(&h, TECH_C, false).await;
    assert_eq!(
        ho7_codes(&s.sign(&h, TECH_C).await.unwrap_err()),
        set(&["ROOM_UNCLEAN"])
    );
    s.cleanliness(&h, TECH_C, true).await;
    s.brief(&h, false).await;
    assert_eq!(
        ho7_codes(&s.sign(&h, TECH_C).await.unwrap_err()),
        set(&["LAST_SHIFT_NOT_EXPLAINED"])
    );
    s.brief(&h, true).await;
    let incident = duty(&s.stack, TECH_A)
        .report_incident(pb::ReportIncidentRequest {
            property_id: PROPERTY.into(),
            request_id: "inc-1".into(),
            description: "3号楼电梯困人".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .incident
        .unwrap();
    assert_eq!(
        ho7_codes(&s.sign(&h, TECH_C).await.unwrap_err()),
        set(&["INCIDENT_IN_PROGRESS"])
    );
    refusals += 7;
    duty(&s.stack, TECH_A)
        .close_incident(pb::CloseIncidentRequest {
            property_id: PROPERTY.into(),
            incident_id: incident.id,
            resolution: "已放人，电梯恢复".into(),
        })
        .await
        .unwrap();

    // Every refusal is recorded and alerts the manager with its reasons.
    let got = s.get(&h).await;
    assert_eq!(got.refusals.len(), refusals);
    let alerts = s.refusal_alerts().await;
    assert_eq!(alerts.len(), refusals);
    assert!(
        alerts
            .iter()
            .all(|a| a.subject_id == h && !a.acknowledged && a.reasons.len() == 1)
    );
    assert_eq!(alerts[0].reasons, ["INCIDENT_IN_PROGRESS"], "newest first");
    let refused_events = events(&s.stack, 0)
        .await
        .into_iter()
        .filter(|e| matches!(e.payload, Some(Payload::HandoverRefused(_))))
        .count();
    assert_eq!(refused_events, refusals);
    let ack = acknowledge(&s, &alerts[0].id).await;
    assert!(ack.acknowledged);

    // Cleared, it goes through.
    s.sign(&h, TECH_A).await.unwrap();
    assert_eq!(
        s.sign(&h, TECH_C).await.unwrap().state(),
        pb::HandoverState::Completed
    );
    assert_eq!(s.on_duty().await.shift.unwrap().user_id, s.stack.id(TECH_C));

    // The month's figures count the refusals and why.
    let f = figures(&s.stack, MANAGER)
        .get_engineering_figures(pb::GetEngineeringFiguresRequest {
            property_id: PROPERTY.into(),
            month: "2026-11".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .figures
        .unwrap()
        .handovers
        .unwrap();
    assert_eq!(
        (f.completed, f.refusals, f.refused_handovers),
        (1, refusals as i64, 1)
    );
    let reasons: BTreeMap<String, i64> = f.reasons.into_iter().map(|r| (r.code, r.count)).collect();
    assert_eq!(reasons.len(), 9);
    assert!(reasons.values().all(|n| *n == 1));
}

async fn acknowledge(s: &Site, id: &str) -> pb::Alert {
    alerts(&s.stack, MANAGER)
        .acknowledge_alert(pb::AcknowledgeAlertRequest {
            property_id: PROPERTY.into(),
            alert_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .alert
        .unwrap()
}

async fn a_fault_under_repair_refuses_until_cleared(backend: Backend) {
    let s = site(backend).await;
    // rule HO-7: a fault under repair that needs both people, reported before the handover.
    let fault = s.report_fault("f1", &s.transformer, true).await;
    assert!(fault.stopped_handover_id.is_empty());
    let h = s.start_handover("h1", &s.shift_b).await.id;
    s.stack.clock.set(at(27, 15, 44));
    s.arrive(&h, TECH_B, pb::Fitness::Fit).await.unwrap();
    s.ready(&h, TECH_B).await;
    let status = s.sign(&h, TECH_B).await.unwrap_err();
    assert_eq!(refusal_codes(&status), ["FAULT_UNDER_REPAIR"]);
    assert_eq!(s.refusal_alerts().await.len(), 1);
    s.clear_fault(&fault.id).await;
    s.sign(&h, TECH_B).await.unwrap();
    assert_eq!(
        s.sign(&h, TECH_A).await.unwrap().state(),
        pb::HandoverState::Completed
    );
}

async fn every_condition_at_once_is_listed_and_nothing_is_signed(backend: Backend) {
    let s = site(backend).await;
    s.report_fault("f1", &s.transformer, true).await;
    let h = s.start_handover("h1", &s.shift_b).await.id;
    s.stack.clock.set(at(27, 15, 44));
    s.arrive(&h, TECH_B, pb::Fitness::Tired).await.unwrap();
    s.check_equipment(&h, TECH_B, pb::RunningState::Normal, false)
        .await;
    s.read_record(&h, TECH_B, false).await;
    s.count(&h, TECH_B, 1).await;
    s.cleanliness(&h, TECH_B, false).await;
    s.brief(&h, false).await;
    // The handover proper is under way when the equipment turns abnormal.
    s.check_equipment(&h, TECH_B, pb::RunningState::AbnormalUnknownCause, false)
        .await;
    duty(&s.stack, TECH_A)
        .report_incident(pb::ReportIncidentRequest {
            property_id: PROPERTY.into(),
            request_id: "inc-1".into(),
            description: "地下车库进水".into(),
        })
        .await
        .unwrap();
    let status = s.sign(&h, TECH_B).await.unwrap_err();
    // rule HO-7: every condition, not only the first.
    assert_eq!(
        refusal_codes(&status),
        [
            "INCOMING_UNFIT",
            "EQUIPMENT_ABNORMAL_UNKNOWN",
            "RECORDS_DIFFER_FROM_EQUIPMENT",
            "RECORD_IRREGULAR",
            "INVENTORY_MISMATCH",
            "ROOM_UNCLEAN",
            "LAST_SHIFT_NOT_EXPLAINED",
            "INCIDENT_IN_PROGRESS",
            "FAULT_UNDER_REPAIR",
        ]
    );
    assert!(status.message().contains("HO-7"));
    let alerts = s.refusal_alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].reasons.len(), 9);
    // Nothing was signed and the duty did not move.
    let got = s.get(&h).await;
    assert!(got.incoming_sign_time.is_none() && got.outgoing_sign_time.is_none());
    assert_eq!(got.state(), pb::HandoverState::InProgress);
    assert_eq!(got.blockers.len(), 9);
    assert_eq!(s.on_duty().await.shift.unwrap().id, s.shift_a);
    assert_eq!(
        reason(&s.end_shift(TECH_A, &s.shift_a).await.unwrap_err()),
        "INCOMING_NOT_TAKEN_OVER"
    );
    // Steps alone refuse without a recorded refusal or alert.
    let h2 = handover(&s.stack, MANAGER)
        .list_handovers(pb::ListHandoversRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .handovers;
    assert_eq!(h2.len(), 1);
    assert_eq!(h2[0].refusals.len(), 1);
}

async fn a_fault_during_the_handover_stops_it(backend: Backend) {
    let s = site(backend).await;
    let h = s.start_handover("h1", &s.shift_b).await.id;
    s.stack.clock.set(at(27, 15, 44));
    s.arrive(&h, TECH_B, pb::Fitness::Fit).await.unwrap();
    s.ready(&h, TECH_B).await;
    s.sign(&h, TECH_A).await.unwrap();
    // rule HO-8: a fault during the handover stops it.
    let fault = s.report_fault("f1", &s.pump, false).await;
    assert_eq!(fault.stopped_handover_id, h);
    let stopped = s.get(&h).await;
    assert_eq!(stopped.state(), pb::HandoverState::Stopped);
    assert!(stopped.outgoing_sign_time.is_none());
    let status = s.sign(&h, TECH_B).await.unwrap_err();
    assert_eq!(refusal_codes(&status)[0], "HANDOVER_STOPPED");
    // A stop is not an HO-7 refusal: no alert.
    assert!(s.refusal_alerts().await.is_empty());
    let restart = || async {
        handover(&s.stack, TECH_A)
            .restart_handover(pb::RestartHandoverRequest {
                property_id: PROPERTY.into(),
                handover_id: h.clone(),
            })
            .await
    };
    assert_eq!(reason(&restart().await.unwrap_err()), "FAULT_STILL_OPEN");
    let pump = equipment(&s.stack, MANAGER)
        .get_equipment(pb::GetEquipmentRequest {
            property_id: PROPERTY.into(),
            equipment_id: s.pump.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .equipment
        .unwrap();
    assert_eq!(pump.condition(), pb::EquipmentCondition::Faulty);
    s.clear_fault(&fault.id).await;
    let restarted = restart().await.unwrap().into_inner().handover.unwrap();
    assert_eq!(restarted.state(), pb::HandoverState::InProgress);
    let codes: Vec<&str> = restarted.blockers.iter().map(|b| b.code.as_str()).collect();
    assert_eq!(codes, ["EQUIPMENT_NOT_CHECKED", "NOT_BRIEFED"]);
    s.check_equipment(&h, TECH_B, pb::RunningState::Normal, true)
        .await;
    s.brief(&h, true).await;
    s.sign(&h, TECH_A).await.unwrap();
    assert_eq!(
        s.sign(&h, TECH_B).await.unwrap().state(),
        pb::HandoverState::Completed
    );
    let stopped_events = events(&s.stack, 0)
        .await
        .into_iter()
        .filter(|e| matches!(&e.payload, Some(Payload::HandoverStopped(x)) if x.handover_id == h))
        .count();
    assert_eq!(stopped_events, 1);
}

// --- inspections -------------------------------------------------------------------------

/// Answers every item of a checklist: normal, in range, yes; `over` changes some.
async fn generate(stack: &Crew, day: &str) -> Vec<pb::Inspection> {
    inspections(stack, FOREMAN)
        .generate_due_inspections(pb::GenerateDueInspectionsRequest {
            property_id: PROPERTY.into(),
            day: day.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .created
}

async fn record(
    stack: &Crew,
    who: Person,
    i: &pb::Inspection,
    results: Vec<pb::ItemResult>,
    major: &str,
) -> Result<pb::Inspection, Status> {
    inspections(stack, who)
        .record_inspection(pb::RecordInspectionRequest {
            property_id: PROPERTY.into(),
            inspection_id: i.id.clone(),
            results,
            findings: String::new(),
            major_finding: major.into(),
        })
        .await
        .map(|r| r.into_inner().inspection.unwrap())
}

async fn a_day_of_inspections(backend: Backend) {
    let s = site(backend).await;
    let stack = &s.stack;
    stack.clock.set(at(27, 8, 0));
    let created = generate(stack, "2026-11-27").await;
    // rule INS-1, INS-3, INS-4: a daily per zone, the week's and the month's.
    let kinds: Vec<pb::InspectionKind> = created.iter().map(|i| i.kind()).collect();
    assert_eq!(
        kinds,
        [
            pb::InspectionKind::Daily,
            pb::InspectionKind::Daily,
            pb::InspectionKind::Weekly,
            pb::InspectionKind::Monthly
        ]
    );
    assert!(
        generate(stack, "2026-11-27").await.is_empty(),
        "the schedule makes nothing twice"
    );
    let daily_a = created
        .iter()
        .find(|i| i.zone_id == s.zone_a)
        .unwrap()
        .clone();
    let daily_b = created
        .iter()
        .find(|i| i.zone_id == s.zone_b)
        .unwrap()
        .clone();
    assert_eq!(daily_a.assignee_user_id, stack.id(TECH_A));
    assert_eq!(daily_a.assignee_name, TECH_A.name, "the directory's name");
    assert_eq!(from_ts(&daily_a.due_time), at(28, 0, 0));
    let weekly = &created[2];
    assert_eq!(
        from_ts(&weekly.window_start_time),
        at(23, 0, 0),
        "the week starts on Monday"
    );
    // The weekly covers the large equipment only.
    let weekly_equipment: BTreeSet<&str> = weekly
        .items
        .iter()
        .map(|i| i.equipment_id.as_str())
        .filter(|e| !e.is_empty())
        .collect();
    assert_eq!(
        weekly_equipment,
        BTreeSet::from([s.pump.as_str(), s.transformer.as_str()])
    );

    // Only the zone's technician records its daily.
    stack.clock.set(at(27, 10, 0));
    let wrong = record(
        stack,
        TECH_B,
        &daily_a,
        inspection_answers(&daily_a.items, |_| None),
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&wrong), "NOT_ASSIGNEE");
    // rule INS-5: an out-of-range reading opens a work order linked to the inspection;
    // rule INS-2: a major finding alerts the manager.
    let pump_meter = format!("eq/{}/meter/0", s.pump);
    let done = record(
        stack,
        TECH_A,
        &daily_a,
        inspection_answers(&daily_a.items, |item| {
            (item.key == pump_meter).then_some(pb::item_value::Value::Reading(0.92))
        }),
        "水泵出口压力超高，疑似阀门故障",
    )
    .await
    .unwrap();
    assert_eq!(done.state(), pb::InspectionState::Done);
    assert!(
        done.items
            .iter()
            .find(|i| i.key == pump_meter)
            .unwrap()
            .failed
    );
    assert_eq!(done.work_order_ids.len(), 1);
    let orders = work_orders(stack, MANAGER)
        .list_work_orders(pb::ListWorkOrdersRequest {
            property_id: PROPERTY.into(),
            inspection_id: daily_a.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_orders;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id, done.work_order_ids[0]);
    assert_eq!(
        (orders[0].source(), orders[0].equipment_id.as_str()),
        (pb::WorkOrderSource::Inspection, s.pump.as_str())
    );
    assert!(orders[0].description.contains("0.92"));
    let major = alerts(stack, MANAGER)
        .list_alerts(pb::ListAlertsRequest {
            property_id: PROPERTY.into(),
            kind: pb::AlertKind::MajorFinding.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts;
    assert_eq!(major.len(), 1);
    assert_eq!(major[0].subject_id, daily_a.id);
    // Recorded once only.
    assert_eq!(
        reason(
            &record(
                stack,
                TECH_A,
                &daily_a,
                inspection_answers(&daily_a.items, |_| None),
                ""
            )
            .await
            .unwrap_err()
        ),
        "INSPECTION_RECORDED"
    );
    // rule INS-3: the manager countersigns the technician's record.
    let signed = inspections(stack, MANAGER)
        .spot_check_inspection(pb::SpotCheckInspectionRequest {
            property_id: PROPERTY.into(),
            inspection_id: daily_a.id.clone(),
            note: "抽查属实".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(signed.spot_checked_by.unwrap().user_id, stack.id(MANAGER));
    // A major finding reported at once, outside a recorded round; a retry is the same alert.
    let report = |rid: &str| {
        let mut c = inspections(stack, TECH_B);
        let req = pb::ReportMajorFindingRequest {
            property_id: PROPERTY.into(),
            request_id: rid.into(),
            inspection_id: daily_b.id.clone(),
            equipment_id: s.fan.clone(),
            description: "风机房有焦糊味".into(),
        };
        async move {
            c.report_major_finding(req)
                .await
                .unwrap()
                .into_inner()
                .alert_id
        }
    };
    let first = report("mf-1").await;
    assert_eq!(report("mf-1").await, first);

    // rule INS-1: zone B's daily is not recorded by midnight: missed, and stays missed.
    stack.clock.set(at(28, 0, 30));
    let missed = inspections(stack, MANAGER)
        .list_inspections(pb::ListInspectionsRequest {
            property_id: PROPERTY.into(),
            state: pb::InspectionState::Missed.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .inspections;
    assert_eq!(
        missed.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [daily_b.id.as_str()]
    );
    let late = record(
        stack,
        TECH_B,
        &daily_b,
        inspection_answers(&daily_b.items, |_| None),
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&late), "INSPECTION_MISSED");
    let events = events(stack, 0).await;
    assert!(events.iter().any(|e| matches!(&e.payload, Some(Payload::MajorFindingReported(m)) if m.inspection_id == daily_a.id)));
    assert!(events.iter().any(
        |e| matches!(&e.payload, Some(Payload::WorkOrderOpened(w)) if w.inspection_id == daily_a.id)
    ));
}

// --- work orders -------------------------------------------------------------------------

fn repair(request_id: &str, unit_id: &str, urgency: pb::Urgency) -> pb::CreateWorkOrderRequest {
    pb::CreateWorkOrderRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        unit_id: unit_id.into(),
        equipment_id: String::new(),
        description: "厨房水龙头漏水".into(),
        urgency: urgency.into(),
        team: "水电班".into(),
        requester: Some(pb::Requester {
            name: "李明".into(),
            phone: "138 0013 8000".into(),
        }),
        contact_number: 17,
        booked_time: None,
    }
}

/// Registers the unit `building-entrance-room` of `property` at customer-service; its id.
async fn register_unit(stack: &Stack, property: &str, building: &str, room: &str) -> String {
    HouseholdServiceClient::new(stack.as_role("cs_clerk", property))
        .create_unit(CreateUnitRequest {
            property_id: property.into(),
            request_id: format!("unit-{building}-{room}"),
            building: building.into(),
            entrance: "2".into(),
            floor: room[..room.len() - 2].parse().unwrap(),
            room: room.into(),
            area_m2: 90.0,
            state: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id
}

/// Whether engineering refuses a repair of `unit_id` at `property` for its unit: probed with
/// equipment that does not exist, so the probe is refused either way and stores nothing.
async fn unit_refused(stack: &Stack, property: &str, unit_id: &str) -> bool {
    let status =
        WorkOrderServiceClient::new(stack.as_user(DESK.role, DESK.key, DESK.name, property))
            .create_work_order(pb::CreateWorkOrderRequest {
                property_id: property.into(),
                equipment_id: "probe-no-such-equipment".into(),
                ..repair("probe", unit_id, pb::Urgency::Ordinary)
            })
            .await
            .unwrap_err();
    fields(&status).contains(&"unit_id".to_owned())
}

/// Waits until engineering knows `unit_id` of `property` from customer-service's events.
async fn known_to_engineering(stack: &Stack, property: &str, unit_id: &str) {
    eventually(
        "engineering learns the unit",
        std::time::Duration::from_secs(30),
        || async { (!unit_refused(stack, property, unit_id).await).then_some(()) },
    )
    .await;
}

async fn a_work_order_from_request_to_completion(backend: Backend) {
    let stack = Crew::start(backend).await;
    let unit = register_unit(&stack, PROPERTY, "3", "1502").await;
    known_to_engineering(&stack, PROPERTY, &unit).await;
    let mut desk = work_orders(&stack, DESK);
    let first = desk
        .create_work_order(repair("r1", &unit, pb::Urgency::Ordinary))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    let retry = desk
        .create_work_order(repair("r1", &unit, pb::Urgency::Ordinary))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert_eq!(retry, first, "a retry returns the first order");
    let second = desk
        .create_work_order(repair("r2", &unit, pb::Urgency::Emergency))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    // rule WO-1: numbered per property, without gaps.
    assert_eq!((first.number, second.number), (1, 2));
    assert_eq!(first.state(), pb::WorkOrderState::Open);

    let mut foreman = work_orders(&stack, FOREMAN);
    let mut tech = work_orders(&stack, TECH_A);
    let t0 = stack.clock_now();
    for id in [&first.id, &second.id] {
        let dispatched = foreman
            .dispatch_work_order(pb::DispatchWorkOrderRequest {
                property_id: PROPERTY.into(),
                work_order_id: id.clone(),
                assignee_user_id: stack.id(TECH_A).into(),
            })
            .await
            .unwrap()
            .into_inner()
            .work_order
            .unwrap();
        let assignee = (dispatched.assignee_user_id, dispatched.assignee_name);
        assert_eq!(
            assignee,
            (stack.id(TECH_A).to_owned(), TECH_A.name.to_owned())
        );
    }
    // rule WO-2: ordinary within 15 minutes, emergency within 30.
    stack.clock.set(t0 + Duration::minutes(15));
    let on_time = tech
        .record_work_order_arrival(pb::RecordWorkOrderArrivalRequest {
            property_id: PROPERTY.into(),
            work_order_id: first.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert!(!on_time.arrived_late);
    assert_eq!(
        from_ts(&on_time.arrival_due_time),
        t0 + Duration::minutes(15)
    );
    stack.clock.set(t0 + Duration::minutes(31));
    let late = tech
        .record_work_order_arrival(pb::RecordWorkOrderArrivalRequest {
            property_id: PROPERTY.into(),
            work_order_id: second.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert!(late.arrived_late, "31 minutes for an emergency is late");

    // rule WO-3: the customer rates and signs.
    stack.clock.set(t0 + Duration::minutes(50));
    let complete = |rating: i32, signature: &str| pb::CompleteWorkOrderRequest {
        property_id: PROPERTY.into(),
        work_order_id: first.id.clone(),
        work_done: "更换水龙头阀芯".into(),
        parts: vec![pb::Part {
            name: "阀芯".into(),
            quantity: 1.0,
            unit: "个".into(),
        }],
        customer_rating: rating,
        customer_signature: signature.into(),
    };
    let unsigned = tech.complete_work_order(complete(0, "")).await.unwrap_err();
    assert_eq!(fields(&unsigned), ["customer_rating", "customer_signature"]);
    let done = tech
        .complete_work_order(complete(5, "李明"))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert_eq!(done.state(), pb::WorkOrderState::Completed);
    assert_eq!(done.parts.len(), 1);
    assert_eq!(from_ts(&done.complete_time), t0 + Duration::minutes(50));
    assert_eq!(
        reason(
            &tech
                .complete_work_order(complete(5, "李明"))
                .await
                .unwrap_err()
        ),
        "WORK_ORDER_COMPLETED"
    );

    // The completion is on the event stream for the follow-up visit (VIS-4).
    let completed: Vec<_> = events(&stack, 0)
        .await
        .into_iter()
        .filter_map(|e| match e.payload {
            Some(Payload::WorkOrderCompleted(c)) => Some((e.property_id, c)),
            _ => None,
        })
        .collect();
    assert_eq!(completed.len(), 1);
    let (property, c) = &completed[0];
    assert_eq!(property, PROPERTY);
    assert_eq!(
        (
            c.work_order_id.as_str(),
            c.number,
            c.unit_id.as_str(),
            c.customer_rating
        ),
        (first.id.as_str(), 1, unit.as_str(), 5)
    );
    assert_eq!(from_ts(&c.complete_time), t0 + Duration::minutes(50));
    assert_eq!(c.contact_number, 17);

    let f = figures(&stack, MANAGER)
        .get_engineering_figures(pb::GetEngineeringFiguresRequest {
            property_id: PROPERTY.into(),
            month: "2026-11".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .figures
        .unwrap()
        .work_orders
        .unwrap();
    assert_eq!(
        (f.opened, f.completed, f.arrived_on_time, f.arrived_late),
        (2, 1, 1, 1)
    );
    assert_eq!(f.on_time_percent, 50.0);
}

/// The work orders of `property`, newest first.
async fn list_orders(stack: &Stack, property: &str) -> Vec<pb::WorkOrder> {
    WorkOrderServiceClient::new(stack.as_role("maintenance_foreman", property))
        .list_work_orders(pb::ListWorkOrdersRequest {
            property_id: property.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_orders
}

/// The description of the one field violation on `field`.
fn violation(status: &Status, field: &str) -> String {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let found: Vec<String> = status
        .get_details_bad_request()
        .expect("field violations")
        .field_violations
        .into_iter()
        .filter(|v| v.field == field)
        .map(|v| v.description)
        .collect();
    assert_eq!(found.len(), 1, "{status:?}");
    found[0].clone()
}

async fn a_work_order_names_a_unit_of_its_property(backend: Backend) {
    // rule WO-1: a repair's unit is a unit of the call's property, as customer-service
    // registered it; anything else is refused and leaves nothing behind.
    let stack = Crew::start(backend).await;
    let ours = register_unit(&stack, PROPERTY, "3", "1502").await;
    let theirs = register_unit(&stack, OTHER_PROPERTY, "9", "0101").await;
    // Engineering knows both, each at its own property.
    known_to_engineering(&stack, PROPERTY, &ours).await;
    known_to_engineering(&stack, OTHER_PROPERTY, &theirs).await;
    let mut desk = work_orders(&stack, DESK);
    let first = desk
        .create_work_order(repair("ok-1", &ours, pb::Urgency::Ordinary))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert_eq!((first.number, first.unit_id.as_str()), (1, ours.as_str()));

    let made_up = desk
        .create_work_order(repair("made-up", "unit-3-2-1502", pb::Urgency::Ordinary))
        .await
        .unwrap_err();
    assert_eq!(fields(&made_up), ["unit_id"]);
    let why = violation(&made_up, "unit_id");
    assert!(
        why.starts_with("no such unit at this property")
            && why.contains("may not have reached engineering yet"),
        "{why}"
    );
    let elsewhere = desk
        .create_work_order(repair("elsewhere", &theirs, pb::Urgency::Emergency))
        .await
        .unwrap_err();
    assert_eq!(fields(&elsewhere), ["unit_id"]);
    assert_eq!(violation(&elsewhere, "unit_id"), why);
    // Every mistake at once: an unknown unit and equipment not of this property.
    let both = desk
        .create_work_order(pb::CreateWorkOrderRequest {
            equipment_id: "no-such-equipment".into(),
            ..repair("both", "no-such-unit", pb::Urgency::Ordinary)
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&both), ["unit_id", "equipment_id"]);

    // Nothing was stored: no order, no event, no number taken, no request id claimed.
    let listed = list_orders(&stack, PROPERTY).await;
    assert_eq!(
        listed.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        [first.id.as_str()]
    );
    assert!(list_orders(&stack, OTHER_PROPERTY).await.is_empty());
    let opened: Vec<String> = events(&stack, 0)
        .await
        .into_iter()
        .filter_map(|e| match e.payload {
            Some(Payload::WorkOrderOpened(w)) => Some(w.unit_id),
            _ => None,
        })
        .collect();
    assert_eq!(opened, std::slice::from_ref(&ours));
    let next = desk
        .create_work_order(repair("made-up", &ours, pb::Urgency::Ordinary))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert_eq!(next.number, 2, "the refusals took no number");

    // The other property's desk reaches its own unit, and not ours.
    let mut their_desk =
        WorkOrderServiceClient::new(stack.as_user(DESK.role, DESK.key, DESK.name, OTHER_PROPERTY));
    let theirs_order = their_desk
        .create_work_order(pb::CreateWorkOrderRequest {
            property_id: OTHER_PROPERTY.into(),
            ..repair("t-1", &theirs, pb::Urgency::Ordinary)
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert_eq!(theirs_order.number, 1);
    let status = their_desk
        .create_work_order(pb::CreateWorkOrderRequest {
            property_id: OTHER_PROPERTY.into(),
            ..repair("t-2", &ours, pb::Urgency::Ordinary)
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["unit_id"]);
}

/// Stores a unit in customer-service's database as units were stored before they were
/// announced: no `UnitRegistered`, not marked announced.
async fn plant_unannounced_unit(stack: &Stack, id: &str, building: &str, room: &str) {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&stack.database("customer-service"))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO units (id, property_id, building, entrance, floor, room, area_m2, state, \
         create_at) VALUES ($1, $2, $3, '1', 6, $4, 88.5, 'vacant', $5)",
    )
    .bind(id)
    .bind(PROPERTY)
    .bind(building)
    .bind(room)
    .bind(stack.clock_now().timestamp_micros())
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
}

async fn units_registered_before_units_were_announced_become_known(backend: Backend) {
    // rule WO-1: units stored before customer-service announced units are announced once
    // when it starts, and engineering then takes repairs for them.
    let stack = Crew::start(backend).await;
    let fresh = register_unit(&stack, PROPERTY, "3", "1502").await;
    known_to_engineering(&stack, PROPERTY, &fresh).await;

    // Customer-service is down: engineering still takes repairs of the units it knows.
    stack.stop_department("customer-service").await;
    let mut desk = work_orders(&stack, DESK);
    desk.create_work_order(repair("while-down", &fresh, pb::Urgency::Ordinary))
        .await
        .expect("no call to customer-service is needed");
    let old = uuid::Uuid::now_v7().to_string();
    plant_unannounced_unit(&stack, &old, "7", "0601").await;
    assert!(
        unit_refused(&stack, PROPERTY, &old).await,
        "never announced, not known"
    );
    stack.start_department("customer-service").await;
    known_to_engineering(&stack, PROPERTY, &old).await;
    let order = desk
        .create_work_order(repair("old-unit", &old, pb::Urgency::Ordinary))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert_eq!(order.unit_id, old);

    // One stored unannounced while customer-service runs (by a replica of the version before,
    // during a rolling upgrade) is announced by the sweep, without a restart.
    let late = uuid::Uuid::now_v7().to_string();
    plant_unannounced_unit(&stack, &late, "7", "0602").await;
    known_to_engineering(&stack, PROPERTY, &late).await;

    // Each announced once: another start announces nothing again.
    stack.restart_department("customer-service").await;
    let mut stream = stack
        .events("customer-service")
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut announced = Vec::new();
    while let Ok(Some(item)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), stream.next()).await
    {
        if let Some(Payload::UnitRegistered(u)) = item.unwrap().event.unwrap().payload {
            announced.push((u.unit_id, u.unit_label));
        }
    }
    announced.sort();
    let mut expected = vec![
        (fresh, "3-2-1502".to_owned()),
        (old, "7-1-0601".to_owned()),
        (late, "7-1-0602".to_owned()),
    ];
    expected.sort();
    assert_eq!(announced, expected);
}

trait ClockNow {
    fn clock_now(&self) -> DateTime<Utc>;
}

impl ClockNow for Stack {
    fn clock_now(&self) -> DateTime<Utc> {
        use wuye_kit::clock::Clock;
        self.clock.now()
    }
}

// --- figures -----------------------------------------------------------------------------

async fn figures_over_a_generated_month_match_an_independent_count(backend: Backend) {
    let s = site(backend).await;
    let stack = &s.stack;
    // The test's own count: inspections due in November by kind, done, and each
    // equipment's last result.
    let mut due: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut last: BTreeMap<String, (DateTime<Utc>, bool)> = BTreeMap::new();
    let pump_meter = format!("eq/{}/meter/0", s.pump);
    let fan_state = format!("eq/{}/state", s.fan);
    let mut weeklies: BTreeMap<String, pb::Inspection> = BTreeMap::new();
    let mut monthly = None;
    for day in 1..=30u32 {
        let date = NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        stack.clock.set(at(day, 9, 0));
        for i in generate(stack, &date.format("%Y-%m-%d").to_string()).await {
            let in_november = from_ts(&i.window_start_time) >= at(1, 0, 0);
            match i.kind() {
                pb::InspectionKind::Daily => {
                    due.entry("daily").or_default().0 += 1;
                    let (who, recorded) = if i.zone_id == s.zone_a {
                        (TECH_A, day % 4 != 0)
                    } else {
                        (TECH_B, day % 3 == 0)
                    };
                    if !recorded {
                        continue;
                    }
                    stack
                        .clock
                        .set(at(day, 10, 0) + Duration::minutes(i64::from(who.key == TECH_B.key)));
                    let pump_bad = day % 5 == 0;
                    let fan_bad = day % 7 == 0;
                    let results = inspection_answers(&i.items, |item| {
                        if item.key == pump_meter && pump_bad {
                            Some(pb::item_value::Value::Reading(0.9))
                        } else if item.key == fan_state && fan_bad {
                            Some(pb::item_value::Value::State(
                                pb::ObservedState::Abnormal.into(),
                            ))
                        } else {
                            None
                        }
                    });
                    let done = record(stack, who, &i, results, "").await.unwrap();
                    due.entry("daily").or_default().1 += 1;
                    let at = from_ts(&done.record_time);
                    if i.zone_id == s.zone_a {
                        last.insert(s.pump.clone(), (at, !pump_bad));
                        last.insert(s.transformer.clone(), (at, true));
                    } else {
                        last.insert(s.fan.clone(), (at, !fan_bad));
                    }
                }
                pb::InspectionKind::Weekly => {
                    if in_november {
                        due.entry("weekly").or_default().0 += 1;
                    }
                    weeklies.insert(i.id.clone(), i);
                }
                _ => {
                    due.entry("monthly").or_default().0 += 1;
                    monthly = Some(i);
                }
            }
        }
        // The manager's weekly on Wednesdays: the transformer found faulty in the last one.
        if date.weekday() == Weekday::Wed {
            let week = weeklies
                .values()
                .find(|w| {
                    from_ts(&w.window_start_time) <= at(day, 0, 0)
                        && at(day, 0, 0) < from_ts(&w.due_time)
                })
                .unwrap()
                .clone();
            stack.clock.set(at(day, 15, 0));
            let transformer_bad = day == 25;
            let transformer_state = format!("eq/{}/state", s.transformer);
            let results = inspection_answers(&week.items, |item| {
                (item.key == transformer_state && transformer_bad).then_some(
                    pb::item_value::Value::State(pb::ObservedState::Fault.into()),
                )
            });
            let done = record(stack, MANAGER, &week, results, "").await.unwrap();
            due.entry("weekly").or_default().1 += 1;
            let at = from_ts(&done.record_time);
            last.insert(s.pump.clone(), (at, true));
            last.insert(s.transformer.clone(), (at, !transformer_bad));
        }
        // The monthly of all equipment on the 26th, everything in order but the fan.
        if day == 26 {
            let m = monthly.clone().unwrap();
            stack.clock.set(at(day, 16, 0));
            let results = inspection_answers(&m.items, |item| {
                (item.key == fan_state).then_some(pb::item_value::Value::State(
                    pb::ObservedState::Fault.into(),
                ))
            });
            let done = record(stack, MANAGER, &m, results, "").await.unwrap();
            due.entry("monthly").or_default().1 += 1;
            let at = from_ts(&done.record_time);
            last.insert(s.pump.clone(), (at, true));
            last.insert(s.transformer.clone(), (at, true));
            last.insert(s.fan.clone(), (at, false));
        }
    }
    // December 1st, 01:00: every November window but the last week's has closed.
    stack.clock.set(
        Shanghai
            .with_ymd_and_hms(2026, 12, 1, 1, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let f = figures(stack, MANAGER)
        .get_engineering_figures(pb::GetEngineeringFiguresRequest {
            property_id: PROPERTY.into(),
            month: "2026-11".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .figures
        .unwrap();

    let (daily_due, daily_done) = due["daily"];
    assert_eq!(daily_due, 60);
    let daily = f.daily.unwrap();
    assert_eq!(
        (daily.due, daily.done, daily.missed, daily.pending),
        (daily_due, daily_done, daily_due - daily_done, 0)
    );
    assert!((daily.coverage_percent - daily_done as f64 * 100.0 / daily_due as f64).abs() < 1e-9);
    // Weeks starting Nov 2, 9, 16, 23 and 30; the last is still open.
    let (weekly_due, weekly_done) = due["weekly"];
    let weekly = f.weekly.unwrap();
    assert_eq!(
        (weekly.due, weekly.done, weekly.pending, weekly.missed),
        (weekly_due, weekly_done, 1, 0)
    );
    assert_eq!((weekly_due, weekly_done), (5, 4));
    assert_eq!(weekly.coverage_percent, 100.0);
    let monthly = f.monthly.unwrap();
    assert_eq!((monthly.due, monthly.done), (1, 1));
    let all = f.all_inspections.unwrap();
    assert_eq!(
        (all.due, all.done),
        (daily_due + weekly_due + 1, daily_done + weekly_done + 1)
    );

    // rule INS-4: each equipment at its last inspection of the month.
    let intact = last.values().filter(|(_, ok)| *ok).count() as i64;
    let rate = f.intact.unwrap();
    assert_eq!(
        (rate.inspected, rate.intact, rate.not_inspected),
        (3, intact, 0)
    );
    assert!((rate.rate_percent - intact as f64 * 100.0 / 3.0).abs() < 1e-9);
    assert_eq!(rate.target_percent, 95);
    assert_eq!(rate.meets_target, intact == 3);
    // Every out-of-range reading and failed state opened a work order (INS-5).
    let opened = f.work_orders.unwrap().opened;
    assert!(opened > 0);
}

// --- input, retries, roster ----------------------------------------------------------------

async fn bad_input_and_retries(backend: Backend) {
    let stack = Crew::start(backend).await;
    let mut eq = equipment(&stack, MANAGER);
    let status = eq
        .create_equipment(pb::CreateEquipmentRequest {
            property_id: PROPERTY.into(),
            request_id: String::new(),
            number: " ".into(),
            name: "水泵".into(),
            r#type: "水泵".into(),
            location: String::new(),
            zone_id: String::new(),
            large: false,
            meters: vec![pb::Meter {
                name: "压力".into(),
                unit: "MPa".into(),
                min: 1.0,
                max: 0.5,
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&status),
        ["request_id", "number", "zone_id", "meters[0].max"]
    );
    let status = eq
        .create_equipment(pb::CreateEquipmentRequest {
            property_id: PROPERTY.into(),
            request_id: "e1".into(),
            number: "SB-01".into(),
            name: "水泵".into(),
            r#type: "水泵".into(),
            zone_id: "no-such-zone".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["zone_id"]);
    let listed = eq
        .list_equipment(pb::ListEquipmentRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.equipment.is_empty(), "nothing half-written");

    let status = duty(&stack, FOREMAN)
        .create_shift(pb::CreateShiftRequest {
            property_id: PROPERTY.into(),
            request_id: "s1".into(),
            user_id: stack.id(TECH_A).into(),
            start_time: ts(at(27, 16, 0)),
            end_time: ts(at(27, 8, 0)),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["end_time"]);

    let unit = register_unit(&stack, PROPERTY, "3", "1502").await;
    known_to_engineering(&stack, PROPERTY, &unit).await;
    let mut desk = work_orders(&stack, DESK);
    let status = desk
        .create_work_order(pb::CreateWorkOrderRequest {
            unit_id: String::new(),
            urgency: 9,
            team: String::new(),
            requester: Some(pb::Requester {
                name: "李明".into(),
                phone: "call me".into(),
            }),
            ..repair("w1", &unit, pb::Urgency::Ordinary)
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&status),
        ["unit_id", "urgency", "team", "requester.phone"]
    );
    // A refused order used no number; concurrent retries make one order.
    let calls = (0..8).map(|_| {
        let mut desk = work_orders(&stack, DESK);
        let unit = unit.clone();
        async move {
            desk.create_work_order(repair("same", &unit, pb::Urgency::Ordinary))
                .await
                .map(|r| r.into_inner().work_order.unwrap())
        }
    });
    let made: BTreeSet<(String, i64)> = futures::future::try_join_all(calls)
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.id, w.number))
        .collect();
    assert_eq!(made.len(), 1);
    assert_eq!(made.iter().next().unwrap().1, 1);
    // Nobody is on duty yet: the duty record refuses.
    let status = duty(&stack, TECH_A)
        .add_duty_record_entry(pb::AddDutyRecordEntryRequest {
            property_id: PROPERTY.into(),
            request_id: "x".into(),
            kind: pb::DutyEntryKind::Note.into(),
            text: "交班".into(),
            equipment_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "NO_ONE_ON_DUTY");
    // Faults and handovers are written by their own calls, not by hand.
    let status = duty(&stack, TECH_A)
        .add_duty_record_entry(pb::AddDutyRecordEntryRequest {
            property_id: PROPERTY.into(),
            request_id: "y".into(),
            kind: pb::DutyEntryKind::Handover.into(),
            text: "交班".into(),
            equipment_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["kind"]);
    // Admin sees no engineering data.
    let status = duty(
        &stack,
        Person {
            role: "admin",
            key: "adm",
            name: "管理员",
        },
    )
    .get_on_duty(pb::GetOnDutyRequest {
        property_id: PROPERTY.into(),
    })
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn roster_swaps_need_approval(backend: Backend) {
    let s = site(backend).await;
    let mut d = duty(&s.stack, TECH_B);
    let swap = d
        .request_shift_swap(pb::RequestShiftSwapRequest {
            property_id: PROPERTY.into(),
            request_id: "sw-1".into(),
            shift_id: s.shift_b.clone(),
            to_user_id: s.stack.id(TECH_D).into(),
            reason: "家中有事".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .swap
        .unwrap();
    assert_eq!(swap.state(), pb::SwapState::Pending);
    // Not yet approved: the shift is still B's.
    let shifts = |who: Person| {
        let mut d = duty(&s.stack, FOREMAN);
        let user = s.stack.id(who).to_owned();
        async move {
            d.list_shifts(pb::ListShiftsRequest {
                property_id: PROPERTY.into(),
                user_id: user,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .shifts
        }
    };
    assert_eq!(shifts(TECH_B).await.len(), 1);
    // A technician cannot decide; a technician cannot swap another's shift.
    let status = d
        .decide_shift_swap(pb::DecideShiftSwapRequest {
            property_id: PROPERTY.into(),
            swap_id: swap.id.clone(),
            approve: true,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = d
        .request_shift_swap(pb::RequestShiftSwapRequest {
            property_id: PROPERTY.into(),
            request_id: "sw-2".into(),
            shift_id: s.shift_c.clone(),
            to_user_id: s.stack.id(TECH_D).into(),
            reason: "想换".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "NOT_YOUR_SHIFT");
    let decided = duty(&s.stack, FOREMAN)
        .decide_shift_swap(pb::DecideShiftSwapRequest {
            property_id: PROPERTY.into(),
            swap_id: swap.id.clone(),
            approve: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decided.swap.unwrap().state(), pb::SwapState::Approved);
    let shift = decided.shift.unwrap();
    assert_eq!(shift.user_id, s.stack.id(TECH_D));
    assert_eq!(shift.user_name, TECH_D.name, "the directory's name");
    assert!(shifts(TECH_B).await.is_empty());
    assert_eq!(shifts(TECH_D).await.len(), 1);
    // The roster keeps one shift per person at a time.
    let status = duty(&s.stack, FOREMAN)
        .create_shift(pb::CreateShiftRequest {
            property_id: PROPERTY.into(),
            request_id: "overlap".into(),
            user_id: s.stack.id(TECH_A).into(),
            start_time: ts(at(27, 15, 0)),
            end_time: ts(at(27, 20, 0)),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "SHIFT_OVERLAP");
    // Once someone holds the duty, it passes only by a handover.
    let status = duty(&s.stack, FOREMAN)
        .open_duty(pb::OpenDutyRequest {
            property_id: PROPERTY.into(),
            shift_id: s.shift_c.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "DUTY_HELD");
}
