//! Follow-up visits (回访, VIS-1 to VIS-6): recording them, keeping promised replies and the
//! meeting's problems, raising dissatisfied customers' complaints, and the repairs engineering
//! completed, due for their follow-up (VIS-4).

use chrono::{DateTime, NaiveDate, Utc};
use wuye_kit::{
    Error, Result,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    scope::Scope,
};

use crate::{
    CustomerService,
    app::complaints::{self, Registered},
    domain::{
        complaints::{Channel as ComplaintChannel, Complainant, Complaint, Registration, Severity},
        households::HouseholdState,
        visits::{
            self as rules, Channel, Coverage, Kind, MajorProblem, Promise, RepairFollowUp,
            Satisfaction, Visit,
        },
    },
    store::{self, visits as visit_store},
};

/// A visit to record, as asked (checked).
pub(crate) struct NewVisit {
    pub kind: Kind,
    pub channel: Channel,
    pub satisfaction: Satisfaction,
    pub household_id: Option<String>,
    pub work_order_id: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub visited_at: DateTime<Utc>,
    pub content: String,
    pub promise: Option<Promise>,
    pub major: Option<MajorProblem>,
}

/// Records a visit in one transaction, once per request id (a retry returns the visit the
/// first call recorded); a repair follow-up counts as its work order's first (VIS-4).
pub(crate) async fn record_visit(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewVisit,
) -> Result<Visit> {
    let now = cs.clock.now();
    let property_id = &scope.property().id;
    let mut tx = cs.db.begin().await?;
    let unit_id = match &new.household_id {
        Some(id) => visited_household(cs, &mut tx, property_id, id, &new).await?,
        None => String::new(),
    };
    let mut visit = Visit {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        kind: new.kind,
        household_id: new.household_id,
        unit_id,
        unit_label: String::new(),
        work_order_id: new.work_order_id,
        customer_name: new.customer_name,
        customer_phone: new.customer_phone,
        visited_at: new.visited_at,
        channel: new.channel,
        visitor: scope.actor(),
        content: new.content,
        satisfaction: new.satisfaction,
        promise: new.promise,
        major: new.major,
        complaint: None,
        created_at: now,
    };
    let claim_scope = format!("RecordVisit/{property_id}");
    if let Claim::Retry(id) = idempotency::claim(
        &mut tx,
        cs.db.keyring(),
        &claim_scope,
        request_id,
        &visit.id,
        to_micros(now),
    )
    .await?
    {
        drop(tx);
        return get_visit(cs, scope, &id).await;
    }
    if visit.kind == Kind::Repair {
        let due = visit_store::due_follow_up(&mut tx, property_id, &visit.work_order_id).await?;
        let unit_id = rules::check_repair_due(due)?;
        if visit.unit_id.is_empty() {
            visit.unit_id = unit_id;
        }
    }
    visit_store::insert(&cs.db, &mut tx, &visit).await?;
    if visit.kind == Kind::Repair {
        visit_store::note_follow_up(&mut tx, &visit).await?;
    }
    tx.commit().await?;
    tracing::info!(property = %property_id, kind = visit.kind.code(), satisfaction = visit.satisfaction.code(), "visit recorded");
    get_visit(cs, scope, &visit.id).await
}

/// The unit of the visited household. Read in the transaction that records the visit and held
/// until its commit, so that the household cannot move out between the check of VIS-5 and the
/// visit's record.
async fn visited_household(
    cs: &CustomerService,
    tx: &mut Tx,
    property_id: &str,
    id: &str,
    visit: &NewVisit,
) -> Result<String> {
    let household = store::households::get_for_update(&cs.db, tx, property_id, id)
        .await?
        .ok_or_else(|| Error::invalid("household_id", "is not a household of this property"))?;
    if visit.kind == Kind::MoveIn {
        // rule VIS-5
        rules::check_move_in_visit(
            household.moved_in_at,
            household.state == HouseholdState::Living,
            visit.visited_at,
        )?;
    }
    Ok(household.unit_id)
}

pub(crate) async fn get_visit(cs: &CustomerService, scope: &Scope<'_>, id: &str) -> Result<Visit> {
    if id.is_empty() {
        return Err(Error::invalid("visit_id", "must not be empty"));
    }
    visit_store::get(&cs.db, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("visit", id))
}

/// Visits newest first, before the page key (visit time in microseconds, id).
pub(crate) async fn list_visits(
    cs: &CustomerService,
    scope: &Scope<'_>,
    household_id: Option<&str>,
    kind: Option<Kind>,
    before: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Visit>> {
    let property_id = &scope.property().id;
    visit_store::list(&cs.db, property_id, household_id, kind, before, limit).await
}

/// VIS-2: records the promised reply, once.
pub(crate) async fn reply(
    cs: &CustomerService,
    scope: &Scope<'_>,
    visit_id: &str,
    reply: &str,
) -> Result<Visit> {
    let visit = get_visit(cs, scope, visit_id).await?;
    visit.check_reply()?; // rule VIS-2
    let now = cs.clock.now();
    let property_id = &scope.property().id;
    let actor = scope.actor();
    if !visit_store::reply(&cs.db, property_id, &visit.id, reply, &actor, now).await? {
        // Another reply came first: refused as if it had been seen above.
        get_visit(cs, scope, &visit.id).await?.check_reply()?;
    }
    get_visit(cs, scope, &visit.id).await
}

/// Promised replies past their time and not given (VIS-2), oldest promise first, after the
/// page key (due time in microseconds, id).
pub(crate) async fn list_overdue_replies(
    cs: &CustomerService,
    scope: &Scope<'_>,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Visit>> {
    let now = cs.clock.now();
    let property_id = &scope.property().id;
    visit_store::list_overdue_replies(&cs.db, property_id, now, after, limit).await
}

/// The meeting's agenda (VIS-3): problems put on it, and unsettled ones of earlier meetings.
pub(crate) async fn meeting_agenda(
    cs: &CustomerService,
    scope: &Scope<'_>,
    date: NaiveDate,
) -> Result<Vec<Visit>> {
    visit_store::agenda(&cs.db, &scope.property().id, date).await
}

/// VIS-3: settles the visit's major problem, once.
pub(crate) async fn settle_major_problem(
    cs: &CustomerService,
    scope: &Scope<'_>,
    visit_id: &str,
    settlement: &str,
) -> Result<Visit> {
    let visit = get_visit(cs, scope, visit_id).await?;
    visit.check_settle()?; // rule VIS-3
    let now = cs.clock.now();
    let property_id = &scope.property().id;
    let actor = scope.actor();
    if !visit_store::settle(&cs.db, property_id, &visit.id, settlement, &actor, now).await? {
        // Another settlement came first: refused as if it had been seen above.
        get_visit(cs, scope, &visit.id).await?.check_settle()?;
    }
    get_visit(cs, scope, &visit.id).await
}

/// The complaint a dissatisfied visit is raised as (checked).
pub(crate) struct Raise {
    pub severity: Severity,
    pub category: String,
    /// Empty: the visit's content.
    pub description: String,
}

/// VIS-6: registers a dissatisfied customer's visit as a complaint, once, and keeps its
/// number on the visit.
pub(crate) async fn raise_complaint(
    cs: &CustomerService,
    scope: &Scope<'_>,
    visit_id: &str,
    raise: Raise,
) -> Result<Visit> {
    let property = scope.property();
    let visit = get_visit(cs, scope, visit_id).await?;
    visit.check_raise()?; // rule VIS-6
    let now = cs.clock.now();
    // A complaint's unit is one of the register; a repair's unit may not be.
    let unit_id = match visit.unit_id.as_str() {
        "" => None,
        id => store::units::get(&cs.db, &property.id, id)
            .await?
            .map(|u| u.id),
    };
    let description = match raise.description.trim() {
        "" => visit.content.clone(),
        d => d.to_owned(),
    };
    let registration = Registration {
        channel: match visit.channel {
            Channel::Phone => ComplaintChannel::Phone,
            Channel::Online => ComplaintChannel::App,
            Channel::OnSite => ComplaintChannel::Visit,
        },
        complainant: Complainant {
            name: visit.customer_name.clone(),
            phone: visit.customer_phone.clone(),
        },
        unit_id,
        category: raise.category,
        description,
        severity: raise.severity,
        note: format!("回访转投诉 (VIS-6): visit {}", visit.id),
    };
    let id = uuid::Uuid::now_v7().to_string();
    let complaint = Complaint::register(id, property, registration, scope.actor(), now);
    let (complaint_id, number) = register_complaint(cs, scope, &visit, complaint).await?;
    visit_store::link_complaint(&cs.db, &property.id, &visit.id, &complaint_id, number).await?;
    get_visit(cs, scope, &visit.id).await
}

/// Registers the complaint of `visit`, keyed by the visit: raising it twice registers one
/// complaint, and a raise cut off before the visit kept its number completes on the next call.
async fn register_complaint(
    cs: &CustomerService,
    scope: &Scope<'_>,
    visit: &Visit,
    complaint: Complaint,
) -> Result<(String, i64)> {
    let request_id = RequestId::internal(&format!("visit:{}", visit.id));
    match complaints::register(cs, scope, &request_id, None, complaint).await? {
        Registered::New(c) => {
            tracing::info!(property = %scope.property().id, number = c.number, "dissatisfied visit raised as a complaint");
            Ok((c.id, c.number))
        }
        Registered::Retry(c) => Ok((c.id, c.number)),
    }
}

/// Completed repairs newest completion first, before the page key (completion time in
/// microseconds, work order id).
pub(crate) async fn list_repair_follow_ups(
    cs: &CustomerService,
    scope: &Scope<'_>,
    pending_only: bool,
    before: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<RepairFollowUp>> {
    let property_id = &scope.property().id;
    visit_store::list_follow_ups(&cs.db, property_id, pending_only, before, limit).await
}

/// A share of a period [from, to) against its target.
pub(crate) struct Rate {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub coverage: Coverage,
}

/// VIS-4: the repairs completed in a month, how many were visited against the target, and
/// those not visited.
pub(crate) async fn repair_follow_up_rate(
    cs: &CustomerService,
    scope: &Scope<'_>,
    year: i32,
    month: u32,
) -> Result<(Rate, Vec<RepairFollowUp>)> {
    let property = scope.property();
    let (from, to) = rules::period(year, month, property.time_zone)?;
    let repairs = visit_store::completed_in(&cs.db, &property.id, from, to).await?;
    let coverage = Coverage {
        part: repairs.iter().filter(|r| r.visit.is_some()).count() as i64,
        whole: repairs.len() as i64,
        target_percent: property.rules.surveys.repair_follow_up_target_percent,
    };
    let not_visited = repairs.into_iter().filter(|r| r.visit.is_none()).collect();
    Ok((Rate { from, to, coverage }, not_visited))
}

/// VIS-5: of the households living there at the end of a month (or a year, month 0), those
/// visited after their move-in within it, against the target.
pub(crate) async fn move_in_visit_coverage(
    cs: &CustomerService,
    scope: &Scope<'_>,
    year: i32,
    month: u32,
) -> Result<Rate> {
    let property = scope.property();
    let (from, to) = rules::period(year, month, property.time_zone)?;
    let (occupied, visited) = visit_store::move_in_coverage(&cs.db, &property.id, from, to).await?;
    let coverage = Coverage {
        part: visited,
        whole: occupied,
        target_percent: property.rules.surveys.move_in_visit_target_percent,
    };
    Ok(Rate { from, to, coverage })
}

/// A repair engineering completed, as its `WorkOrderCompleted` event tells it.
pub(crate) struct CompletedRepair {
    pub property_id: String,
    pub work_order_id: String,
    pub number: i64,
    pub unit_id: String,
    pub completed_at: DateTime<Utc>,
    pub customer_rating: i32,
    pub contact_number: i64,
    pub event_seq: i64,
}

/// VIS-4: keeps a completed repair of a unit of its property as due for its follow-up, in the
/// follower's transaction (which also advances its cursor). A work order seen before adds
/// nothing.
pub(crate) async fn keep_completed_repair(
    tx: &mut Tx,
    repair: CompletedRepair,
    now: DateTime<Utc>,
) -> Result<()> {
    if repair.unit_id.is_empty() {
        // An equipment repair without a unit has no customer to visit.
        return Ok(());
    }
    if !store::units::exists(tx, &repair.property_id, &repair.unit_id).await? {
        // Engineering takes only units of the property; an order stored before it checked
        // may name another's, whose customer is not this property's to visit.
        tracing::warn!(property = %repair.property_id, work_order = repair.number, "completed repair names no unit of its property; no follow-up kept");
        return Ok(());
    }
    let new = visit_store::record_completed(
        tx,
        &repair.property_id,
        &repair.work_order_id,
        repair.number,
        &repair.unit_id,
        repair.completed_at,
        repair.customer_rating,
        repair.contact_number,
        repair.event_seq,
        now,
    )
    .await?;
    if new {
        tracing::info!(property = %repair.property_id, work_order = repair.number, "repair due for follow-up");
    }
    Ok(())
}
