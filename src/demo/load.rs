//! Loading a plan through the gateway.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::Utc;
use futures::{StreamExt, TryStreamExt, stream};
use wuye_proto::{
    customerservice::{
        self as pb, complaint_service_client::ComplaintServiceClient,
        household_service_client::HouseholdServiceClient,
    },
    engineering::{self as eng, work_order_service_client::WorkOrderServiceClient},
};

use super::{
    Back, Loaded, TimeMachine,
    history::{Act, History},
    plan::{PropertyPlan, TECHNICIANS},
    staff::{self, Hired, HiredStaff},
};
use crate::connect::{Authed, call};

/// Calls in flight at once while loading.
const CONCURRENCY: usize = 32;

/// A connection to the gateway as `role` of `property`, retrying what may be sent again (the
/// loader's calls carry request ids, or are steps refused when taken before).
async fn connection_as(
    gateway: &str,
    property: &str,
    role: &str,
    user: &str,
    name: &str,
) -> anyhow::Result<Authed> {
    let token = wuye_gateway::sign_dev_token(
        role,
        &[property.to_owned()],
        user,
        name,
        Duration::from_secs(3600),
    )?;
    let config = wuye_client::Config::new(gateway)
        .token(token)
        .property(property);
    crate::connect::connect(&config).await
}

/// A refusal that means the step was taken by an earlier load of the same plan.
pub(super) fn taken_before(e: &anyhow::Error) -> bool {
    let message = e.to_string();
    [
        "STEP_OUT_OF_ORDER",
        "COMPLAINT_CLOSED",
        "WORK_ORDER_DISPATCHED",
        "ALREADY_ARRIVED",
        "WORK_ORDER_COMPLETED",
    ]
    .iter()
    .any(|reason| message.contains(&format!("[{reason}]")))
}

/// How long opening a work order waits for engineering to learn its unit.
const UNIT_WAIT: Duration = Duration::from_secs(60);

/// Opens a work order for a unit this loader registered moments ago. Engineering learns the
/// units from customer-service's events (WO-1), so it may refuse the unit until it has caught
/// up; the refusal stores nothing, and the same request is sent again, for at most
/// [`UNIT_WAIT`]. Any other refusal, or the unit still unknown by then, is the error.
pub(super) async fn open_work_order(
    client: &mut WorkOrderServiceClient<Authed>,
    request: eng::CreateWorkOrderRequest,
) -> anyhow::Result<eng::CreateWorkOrderResponse> {
    use tonic_types::StatusExt;
    let unknown_unit = |status: &tonic::Status| {
        status.code() == tonic::Code::InvalidArgument
            && status
                .get_details_bad_request()
                .is_some_and(|b| b.field_violations.iter().any(|v| v.field == "unit_id"))
    };
    let deadline = Instant::now() + UNIT_WAIT;
    let mut pause = Duration::from_millis(50);
    loop {
        match client.create_work_order(request.clone()).await {
            Err(status) if unknown_unit(&status) && Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            answer => return call(async { answer }).await,
        }
    }
}

/// The request ids of a load: from the seed and the plan, the same for the same plan.
pub(super) type Key<'a> = dyn Fn(&str, usize) -> String + Sync + 'a;

/// Loads `plan` through the gateway at `gateway`, idempotently: request ids come from the
/// seed and the plan, so loading the same plan twice creates nothing new, and a complaint's
/// steps taken before are refused by its state machine and skipped. With a `machine`, the
/// history happens on its days; without one, all of it happens now.
pub async fn load(
    gateway: &str,
    seed: u64,
    plan: &PropertyPlan,
    machine: Option<&dyn TimeMachine>,
) -> anyhow::Result<Loaded> {
    let history = &plan.history;
    let machine = machine.filter(|_| history.days > 0);
    let _back = Back(machine);
    let start = machine.map(|m| m.present() - chrono::Duration::days(history.days.into()));
    // Day `day` of the history is `day` days after its first, at the present's time of day.
    let day_time = |day: u32| match start {
        Some(start) => start + chrono::Duration::days(day.into()),
        None => Utc::now(),
    };
    let go = |day: u32| {
        if let Some(machine) = machine {
            machine.travel(day_time(day));
        }
    };
    go(0);
    // The people who act, in the staff directory first: records name them by their staff id.
    let hired = staff::hire(gateway, seed, &plan.staff).await?;
    let clerk = as_person(gateway, &plan.id, hired.person("clerk")?).await?;
    let households = HouseholdServiceClient::new(clerk.clone());
    let key = |what: &str, i: usize| format!("demo-{seed}-{}-{what}-{i}", plan.id);

    let unit_ids = create_units(&households, plan, &key).await?;
    let household_ids = move_in(&households, plan, &unit_ids, &key).await?;
    let loaded = Loaded {
        units: unit_ids.len(),
        households: household_ids.len(),
        ..Loaded::default()
    };
    if history.days == 0 {
        let complaints = ComplaintServiceClient::new(clerk);
        let complaints = register_complaints(&complaints, plan, &unit_ids, &key).await?;
        return Ok(Loaded {
            complaints,
            ..loaded
        });
    }

    let loader = History {
        plan,
        unit_ids: &unit_ids,
        household_ids: &household_ids,
        key: &key,
        staff: Staff::of(gateway, &plan.id, clerk, hired).await?,
        complaint_ids: Mutex::new(HashMap::new()),
        work_order_ids: Mutex::new(HashMap::new()),
        key_set_ids: Mutex::new(HashMap::new()),
        loan_ids: Mutex::new(HashMap::new()),
        counts: Mutex::new(Loaded::default()),
    };
    for (day, entities) in days(plan) {
        go(day);
        let now = day_time(day);
        stream::iter(entities.into_values())
            .map(|acts| loader.run(acts, now))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await?;
    }
    let counts = loader.counts();
    Ok(Loaded {
        complaints: counts.complaints,
        steps: counts.steps,
        key_sets: counts.key_sets,
        loans: counts.loans,
        returns: counts.returns,
        visits: counts.visits,
        work_orders: counts.work_orders,
        work_order_steps: counts.work_order_steps,
        ..loaded
    })
}

/// The units of the plan, in its order: their ids.
async fn create_units(
    households: &HouseholdServiceClient<Authed>,
    plan: &PropertyPlan,
    key: &Key<'_>,
) -> anyhow::Result<Vec<String>> {
    stream::iter(plan.units.iter().enumerate())
        .map(|(i, u)| {
            let mut client = households.clone();
            let request = pb::CreateUnitRequest {
                property_id: plan.id.clone(),
                request_id: key("unit", i),
                building: u.building.clone(),
                entrance: u.entrance.clone(),
                floor: u.floor,
                room: u.room.clone(),
                area_m2: u.area_m2,
                state: if u.sold {
                    pb::UnitState::Vacant
                } else {
                    pb::UnitState::Unsold
                }
                .into(),
            };
            async move {
                Ok::<_, anyhow::Error>(
                    call(client.create_unit(request))
                        .await?
                        .unit
                        .unwrap_or_default()
                        .id,
                )
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// The households of the occupied units: their ids by unit.
async fn move_in(
    households: &HouseholdServiceClient<Authed>,
    plan: &PropertyPlan,
    unit_ids: &[String],
    key: &Key<'_>,
) -> anyhow::Result<HashMap<usize, String>> {
    let moves = plan
        .units
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.residents.is_empty());
    stream::iter(moves)
        .map(|(i, u)| {
            let mut client = households.clone();
            let request = pb::RecordMoveInRequest {
                property_id: plan.id.clone(),
                request_id: key("move-in", i),
                unit_id: unit_ids[i].clone(),
                residents: u
                    .residents
                    .iter()
                    .map(|(name, relation, phone)| pb::Resident {
                        name: name.clone(),
                        relation: (*relation).into(),
                        phone: phone.clone(),
                        primary_contact: false,
                    })
                    .collect(),
                move_in_time: None,
            };
            let unit_id = unit_ids[i].clone();
            let property_id = plan.id.clone();
            async move {
                match call(client.record_move_in(request)).await {
                    Ok(moved) => Ok((i, moved.household.unwrap_or_default().id)),
                    // Loaded before under another request id: the unit is lived in already.
                    Err(e) if e.to_string().contains("UNIT_OCCUPIED") => {
                        let living = call(client.list_households(pb::ListHouseholdsRequest {
                            property_id,
                            unit_id,
                            state: pb::HouseholdState::Living.into(),
                            page_size: 1,
                            page_token: String::new(),
                        }))
                        .await?;
                        let id = living.households.first().map(|h| h.id.clone());
                        Ok((i, id.unwrap_or_default()))
                    }
                    Err(e) => Err(e),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}

/// The complaints of a plan without history, all now: how many.
async fn register_complaints(
    complaints: &ComplaintServiceClient<Authed>,
    plan: &PropertyPlan,
    unit_ids: &[String],
    key: &Key<'_>,
) -> anyhow::Result<usize> {
    stream::iter(0..plan.complaints.len())
        .map(|i| {
            let mut client = complaints.clone();
            let request = complaint_request(plan, unit_ids, i, key("complaint", i));
            async move { call(client.create_complaint(request)).await.map(|_| ()) }
        })
        .buffer_unordered(CONCURRENCY)
        .try_fold(0, |n, ()| async move { Ok(n + 1) })
        .await
}

/// The history, day by day: on each day, what happens to one complaint, key set, household
/// or work order, in order; different ones at once.
fn days(plan: &PropertyPlan) -> BTreeMap<u32, BTreeMap<(u8, usize), Vec<Act>>> {
    let history = &plan.history;
    let mut days: BTreeMap<u32, BTreeMap<(u8, usize), Vec<Act>>> = BTreeMap::new();
    let mut at = |day: u32, entity: (u8, usize), act: Act| {
        days.entry(day)
            .or_default()
            .entry(entity)
            .or_default()
            .push(act);
    };
    for (i, (registered, steps)) in history.complaints.iter().enumerate() {
        at(*registered, (0, i), Act::Register(i));
        for (step, day) in steps.iter().enumerate() {
            at(*day, (0, i), Act::Step(i, step));
        }
    }
    for (k, set) in history.key_sets.iter().enumerate() {
        at(0, (1, k), Act::Entrust(k));
        for (j, (borrow, back, _)) in set.loans.iter().enumerate() {
            at(*borrow, (1, k), Act::Borrow(k, j));
            if let Some(back) = back {
                at(*back, (1, k), Act::Return(k, j));
            }
        }
    }
    for (v, visit) in history.visits.iter().enumerate() {
        at(visit.day, (2, v), Act::Visit(v));
    }
    for (w, order) in history.work_orders.iter().enumerate() {
        at(order.day, (3, w), Act::OpenOrder(w));
        for (step, day) in order.steps.iter().enumerate() {
            at(*day, (3, w), Act::OrderStep(w, step));
        }
    }
    days
}

/// A connection to the gateway as the hired person `who`, in the role they act in, at
/// `property`.
async fn as_person(gateway: &str, property: &str, who: &Hired) -> anyhow::Result<Authed> {
    connection_as(gateway, property, &who.role, &who.person_id, &who.name).await
}

/// Who acts in the history, each calling as themselves.
pub(super) struct Staff {
    /// The property's people in the directory: the staff ids requests name them by.
    pub people: HiredStaff,
    pub clerk: Authed,
    pub supervisor: ComplaintServiceClient<Authed>,
    pub manager: ComplaintServiceClient<Authed>,
    pub foreman: WorkOrderServiceClient<Authed>,
    /// By [`TECHNICIANS`]: each records their own arrivals and completions.
    pub technicians: Vec<WorkOrderServiceClient<Authed>>,
}

impl Staff {
    async fn of(
        gateway: &str,
        property: &str,
        clerk: Authed,
        people: HiredStaff,
    ) -> anyhow::Result<Staff> {
        let as_ = async |key: &str| as_person(gateway, property, people.person(key)?).await;
        let mut technicians = Vec::new();
        for i in 0..TECHNICIANS.len() {
            technicians.push(WorkOrderServiceClient::new(
                as_(&format!("technician-{i}")).await?,
            ));
        }
        Ok(Staff {
            clerk,
            supervisor: ComplaintServiceClient::new(as_("supervisor").await?),
            manager: ComplaintServiceClient::new(as_("manager").await?),
            foreman: WorkOrderServiceClient::new(as_("foreman").await?),
            technicians,
            people,
        })
    }
}

pub(super) fn complaint_request(
    plan: &PropertyPlan,
    unit_ids: &[String],
    i: usize,
    request_id: String,
) -> pb::CreateComplaintRequest {
    let c = &plan.complaints[i];
    pb::CreateComplaintRequest {
        property_id: plan.id.clone(),
        request_id,
        channel: c.channel.into(),
        complainant: Some(pb::Complainant {
            name: c.complainant.0.clone(),
            phone: c.complainant.1.clone(),
        }),
        unit_id: c.unit.map(|u| unit_ids[u].clone()).unwrap_or_default(),
        category: c.category.clone(),
        description: c.description.clone(),
        severity: c.severity.into(),
        contact_number: 0,
    }
}
