//! Customer service: complaints, units and households, key custody, surveys and visits.

pub(crate) mod complaints;
pub(crate) mod households;
pub(crate) mod keys;
pub(crate) mod surveys;
pub(crate) mod units;
pub(crate) mod visits;

use clap::ValueEnum;
use wuye::connect::{Authed, call};
use wuye_proto::customerservice::{self as pb, household_service_client::HouseholdServiceClient};

use super::Session;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SeverityArg {
    Minor,
    General,
    Serious,
}

impl From<SeverityArg> for pb::Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Minor => pb::Severity::Minor,
            SeverityArg::General => pb::Severity::General,
            SeverityArg::Serious => pb::Severity::Serious,
        }
    }
}

/// A unit id given as such, or found by its label as people say it (3-2-1502, 3栋2单元1502).
pub(crate) async fn resolve_unit(
    units: &mut HouseholdServiceClient<Authed>,
    property_id: &str,
    unit: &str,
) -> anyhow::Result<String> {
    if uuid::Uuid::parse_str(unit).is_ok() {
        return Ok(unit.to_owned());
    }
    let request = pb::FindUnitRequest {
        property_id: property_id.to_owned(),
        label: unit.to_owned(),
    };
    Ok(call(units.find_unit(request))
        .await?
        .unit
        .unwrap_or_default()
        .id)
}

/// [`resolve_unit`] on the session.
pub(crate) async fn unit_id(s: &Session, unit: &str) -> anyhow::Result<String> {
    resolve_unit(&mut s.client(HouseholdServiceClient::new), &s.p(), unit).await
}

/// A household by its unit's label (the one living there now) or its id.
pub(crate) async fn household_id(s: &Session, text: &str) -> anyhow::Result<String> {
    let mut households = s.client(HouseholdServiceClient::new);
    let unit_id = resolve_unit(&mut households, &s.p(), text).await?;
    let living = call(households.list_households(pb::ListHouseholdsRequest {
        property_id: s.p(),
        unit_id,
        state: pb::HouseholdState::Living.into(),
        page_size: 1,
        page_token: String::new(),
    }))
    .await?;
    // Not a unit with a household living in it: pass it on as a household id.
    Ok(living
        .households
        .into_iter()
        .next()
        .map(|h| h.id)
        .unwrap_or_else(|| text.to_owned()))
}
