//! Households (住户): move-in (入住), move-out (迁出) and the registers printed from them.

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result,
    db::to_micros,
    idempotency::{self, Claim, RequestId},
    page,
    personal::PersonalData,
    scope::Scope,
};
use wuye_proto::events::event::Payload;

use crate::{
    CustomerService,
    domain::{
        households::{self as rules, Household, HouseholdState, Resident},
        registers::{self, ContactLine, Heading, OverviewLine, OverviewTotals},
        units::UnitState,
    },
    store::{
        households::{self as store, RegisterKey},
        units::{self, UnitKey},
    },
};

/// A move-in, as asked (checked): the unit, who moves in, and when.
pub(crate) struct MoveIn {
    pub unit_id: String,
    pub residents: Vec<Resident>,
    pub moved_in_at: DateTime<Utc>,
}

/// Records a move-in in one transaction, once per request id (a retry returns the household
/// the first call recorded): the unit becomes occupied, the household and its residents are
/// written with the `HouseholdMovedIn` event.
pub(crate) async fn record_move_in(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    move_in: MoveIn,
) -> Result<Household> {
    let now = cs.clock.now();
    let property_id = &scope.property().id;
    let mut household = Household {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        unit_id: move_in.unit_id,
        unit_label: String::new(),
        state: HouseholdState::Living,
        residents: move_in.residents,
        moved_in_at: move_in.moved_in_at,
        moved_out_at: None,
    };
    let mut tx = cs.db.begin().await?;
    let claim_scope = format!("RecordMoveIn/{property_id}");
    if let Claim::Retry(id) = idempotency::claim(
        &mut tx,
        cs.db.keyring(),
        &claim_scope,
        request_id,
        &household.id,
        to_micros(now),
    )
    .await?
    {
        drop(tx);
        return get_household(cs, scope, &id).await;
    }
    let unit = units::get_in(&mut tx, property_id, &household.unit_id)
        .await?
        .ok_or_else(|| Error::invalid("unit_id", "is not a unit of this property"))?;
    rules::check_move_in(unit.state)?; // rule: one household per unit
    // Only one of two concurrent move-ins changes the unit; the other finds it occupied.
    if !units::occupy(&mut tx, &unit.id).await? {
        rules::check_move_in(UnitState::Occupied)?;
    }
    household.unit_label = unit.label();
    store::insert(&cs.db, &mut tx, &household, now).await?;
    let event = Payload::HouseholdMovedIn((&household).into());
    cs.outbox.append(&mut tx, property_id, event).await?;
    tx.commit().await?;
    cs.outbox.notify();
    Ok(household)
}

/// Records a move-out in one transaction: the household moves out, its unit becomes vacant,
/// and `HouseholdMovedOut` is written.
pub(crate) async fn record_move_out(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
    at: DateTime<Utc>,
) -> Result<Household> {
    let property_id = &scope.property().id;
    let mut tx = cs.db.begin().await?;
    let mut household = store::get_in(&cs.db, &mut tx, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("household", id))?;
    rules::check_move_out(&household, at)?;
    if !store::mark_moved_out(&mut tx, id, at).await? {
        // A concurrent move-out came first: refused as if it had been seen above.
        household.state = HouseholdState::MovedOut;
        rules::check_move_out(&household, at)?;
    }
    units::vacate(&mut tx, &household.unit_id).await?;
    household.state = HouseholdState::MovedOut;
    household.moved_out_at = Some(at);
    let event = Payload::HouseholdMovedOut((&household).into());
    cs.outbox.append(&mut tx, property_id, event).await?;
    tx.commit().await?;
    cs.outbox.notify();
    Ok(household)
}

pub(crate) async fn get_household(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
) -> Result<Household> {
    store::get(&cs.db, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("household", id))
}

/// Households newest first, before the household `before`, with their residents.
pub(crate) async fn list_households(
    cs: &CustomerService,
    scope: &Scope<'_>,
    unit_id: Option<&str>,
    state: Option<HouseholdState>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Household>> {
    let property_id = &scope.property().id;
    store::list(&cs.db, property_id, unit_id, state, before, limit).await
}

/// A page of the contact list: residents of living households by unit.
pub(crate) async fn list_contacts(
    cs: &CustomerService,
    scope: &Scope<'_>,
    building: Option<&str>,
    after: Option<&RegisterKey>,
    limit: i64,
) -> Result<Vec<(RegisterKey, ContactLine)>> {
    store::contacts(&cs.db, &scope.property().id, building, after, limit).await
}

/// A page of the overview register, with the totals of the property (or the building).
pub(crate) async fn overview_register(
    cs: &CustomerService,
    scope: &Scope<'_>,
    building: Option<&str>,
    after: Option<&UnitKey>,
    limit: i64,
) -> Result<(Vec<OverviewLine>, OverviewTotals)> {
    let property_id = &scope.property().id;
    let lines = store::overview(&cs.db, property_id, building, after, limit).await?;
    let totals = store::totals(&cs.db, property_id, building).await?;
    Ok((lines, totals))
}

/// The registers printed as documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Register {
    ContactList,
    Overview,
}

/// A register as an HTML document, whole.
pub(crate) struct Rendered {
    pub file_name: String,
    pub html: String,
}

pub(crate) async fn render_register(
    cs: &CustomerService,
    scope: &Scope<'_>,
    register: Register,
    building: Option<&str>,
) -> Result<Rendered> {
    let property = scope.property();
    let now = cs.clock.now();
    let heading = Heading {
        property_name: &property.name,
        building,
        printed_at: now,
        time_zone: property.time_zone,
    };
    let date = now.with_timezone(&property.time_zone).format("%Y-%m-%d");
    let (title, html) = match register {
        Register::ContactList => {
            let lines = all_contacts(cs, scope, building).await?;
            (
                "客户联系表",
                registers::render_contact_list(&heading, &lines),
            )
        }
        Register::Overview => {
            let lines = all_overview(cs, scope, building).await?;
            let totals = store::totals(&cs.db, &property.id, building).await?;
            (
                "客户情况登记一览表",
                registers::render_overview(&heading, &lines, &totals),
            )
        }
    };
    Ok(Rendered {
        file_name: format!("{title}-{}-{date}.html", property.id),
        html,
    })
}

/// The whole contact list, its phones shown as the answer would show them (ARC-11).
async fn all_contacts(
    cs: &CustomerService,
    scope: &Scope<'_>,
    building: Option<&str>,
) -> Result<Vec<ContactLine>> {
    let shown = scope.caller().shown();
    let mut lines = Vec::new();
    let mut after: Option<RegisterKey> = None;
    loop {
        let page = list_contacts(cs, scope, building, after.as_ref(), page::MAX_PAGE_SIZE).await?;
        let full = page.len() as i64 == page::MAX_PAGE_SIZE;
        after = page.last().map(|(key, _)| key.clone());
        lines.extend(page.into_iter().map(|(_, mut line)| {
            line.phone = shown.show(PersonalData::Phone, &line.phone);
            line
        }));
        if !full {
            return Ok(lines);
        }
    }
}

/// The whole overview register.
async fn all_overview(
    cs: &CustomerService,
    scope: &Scope<'_>,
    building: Option<&str>,
) -> Result<Vec<OverviewLine>> {
    let property_id = &scope.property().id;
    let mut lines: Vec<OverviewLine> = Vec::new();
    let mut after: Option<UnitKey> = None;
    loop {
        let page = store::overview(
            &cs.db,
            property_id,
            building,
            after.as_ref(),
            page::MAX_PAGE_SIZE,
        )
        .await?;
        let full = page.len() as i64 == page::MAX_PAGE_SIZE;
        after = page.last().map(|l| {
            (
                l.unit.building.clone(),
                l.unit.entrance.clone(),
                l.unit.room.clone(),
            )
        });
        lines.extend(page);
        if !full {
            return Ok(lines);
        }
    }
}
