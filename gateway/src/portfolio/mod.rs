//! The headquarters portfolio (HQ-1): one month of every property's figures and their totals.
//! Each department answers for its own properties (asked with the gateway's internal identity
//! for one property at a time); other deployments' gateways configured as portfolio upstreams
//! answer for theirs, with the caller's own token, so they authorize the caller themselves.
//! Whatever has not answered by the deadline is left out and named: the report is then
//! partial, never late.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use anyhow::Context as _;
use tonic::{Code, Request, Response, Status, metadata::MetadataValue, transport::Channel};
use wuye_kit::identity::{Caller, PROPERTY_HEADER, Signed, Signer};
use wuye_proto::{
    archives::{
        FilingState, ListHouseholdFilesRequest,
        household_file_service_client::HouseholdFileServiceClient,
    },
    customerservice::{
        GetComplaintFiguresRequest, GetCustomerCareFiguresRequest, GetKeyFiguresRequest,
        ListPropertiesRequest,
        customer_service_figures_service_client::CustomerServiceFiguresServiceClient,
        key_service_client::KeyServiceClient, property_service_client::PropertyServiceClient,
    },
    engineering::{
        Figures as EngineeringFigures, GetEngineeringFiguresRequest,
        figures_service_client::FiguresServiceClient,
    },
    hq::{
        ComplaintFigures, Count, GetPortfolioRequest, GetPortfolioResponse, KeyCount,
        MissingSource, Portfolio, PropertyFigures, Rate,
        portfolio_service_client::PortfolioServiceClient,
        portfolio_service_server::{PortfolioService, PortfolioServiceServer},
    },
    quality::{GetEscalationFiguresRequest, escalation_service_client::EscalationServiceClient},
};

/// The policy's headquarters roles: they see every property's figures. Anyone else sees only
/// the property of the call.
pub use wuye_kit::roles::HEADQUARTERS_ROLES;
/// Marks a portfolio call from another gateway: it is answered from the local departments
/// only, so gateways that list each other never loop.
pub const HOP_HEADER: &str = "x-wuye-portfolio-hop";
const PACKAGE: &str = "wuye.hq.v1";

/// Whether the gateway itself serves `method` (`package.Service/Method`).
pub fn serves(method: &str) -> bool {
    method
        .strip_prefix(PACKAGE)
        .is_some_and(|rest| rest.starts_with('.'))
}

#[derive(Clone)]
pub struct PortfolioServer {
    customer_service: Option<Department>,
    engineering: Option<Department>,
    archives: Option<Department>,
    quality: Option<Department>,
    upstreams: Vec<(String, Channel)>,
    deadline: Duration,
}

/// A department's channel, its calls signed by the gateway for that department.
type Department = Signed<Channel>;

impl PortfolioServer {
    /// `departments`: the gateway's upstreams by package; `portfolio_upstreams`: other
    /// deployments' gateways by name; all over (mutual) TLS with `tls`.
    pub fn new(
        departments: &BTreeMap<String, String>,
        portfolio_upstreams: &BTreeMap<String, String>,
        deadline: Duration,
        identity: Signer,
        tls: Option<&wuye_kit::tls::Tls>,
    ) -> anyhow::Result<Self> {
        let channel = |address: &str| -> anyhow::Result<Channel> {
            Ok(wuye_kit::tls::endpoint(address, tls)?
                .connect_timeout(deadline)
                .timeout(deadline)
                .connect_lazy())
        };
        let department = |package: &str, name: &str| {
            departments
                .get(package)
                .map(|a| Ok::<_, anyhow::Error>(identity.channel(channel(a)?, name)))
                .transpose()
                .with_context(|| format!("upstreams.\"{package}\""))
        };
        let mut upstreams = Vec::new();
        for (name, address) in portfolio_upstreams {
            upstreams.push((
                name.clone(),
                channel(address).with_context(|| format!("portfolio_upstreams.\"{name}\""))?,
            ));
        }
        Ok(Self {
            customer_service: department("wuye.customerservice.v1", "customer-service")?,
            engineering: department("wuye.engineering.v1", "engineering")?,
            archives: department("wuye.archives.v1", "archives")?,
            quality: department("wuye.quality.v1", "quality")?,
            upstreams,
            deadline,
        })
    }

    pub fn service(self) -> PortfolioServiceServer<Self> {
        PortfolioServiceServer::new(self)
    }

    /// A request as the gateway's portfolio, for one property or none: the department's
    /// channel signs it.
    fn signed<T>(&self, message: T, property: Option<&str>) -> Request<T> {
        let mut request = Request::new(message);
        request.extensions_mut().insert(Caller {
            post_id: String::new(),
            user_id: "gateway-portfolio".into(),
            name: "headquarters portfolio".into(),
            role: wuye_kit::identity::SERVICE_ROLE.into(),
            property: property.map(str::to_owned),
            ..Default::default()
        });
        request.set_timeout(self.deadline);
        request
    }

    /// The figures of this deployment's own properties (those in `wanted`, or all).
    async fn local(
        &self,
        period: &Period,
        wanted: Option<&BTreeSet<String>>,
    ) -> (Vec<PropertyFigures>, Vec<MissingSource>) {
        let Some(cs) = &self.customer_service else {
            return (Vec::new(), Vec::new());
        };
        let listed = PropertyServiceClient::new(cs.clone())
            .list_properties(self.signed(ListPropertiesRequest {}, None))
            .await
            .map(Response::into_inner);
        let properties = match listed {
            Ok(list) => list.properties,
            Err(status) => return (Vec::new(), vec![missing("local:customer-service", &status)]),
        };
        let figures = properties
            .into_iter()
            .filter_map(|p| p.property)
            .filter(|p| wanted.is_none_or(|w| w.contains(&p.id)))
            .map(|p| self.property(period, p.id, p.name));
        let mut all = Vec::new();
        let mut gaps = Vec::new();
        for (figures, mut missing) in futures::future::join_all(figures).await {
            all.push(figures);
            gaps.append(&mut missing);
        }
        gaps.sort_by(|a, b| a.source.cmp(&b.source));
        gaps.dedup_by(|a, b| a.source == b.source);
        (all, gaps)
    }

    /// One property's figures from each department; a department that fails leaves its
    /// figures unavailable and is named.
    async fn property(
        &self,
        period: &Period,
        id: String,
        name: String,
    ) -> (PropertyFigures, Vec<MissingSource>) {
        let answers = self.ask(period, &id).await;
        answers.figures(id, name)
    }

    /// Asks every department configured for its figures of property `id`, all at once.
    async fn ask(&self, period: &Period, id: &str) -> Answers {
        let p = Some(id);
        let complaints = async {
            let cs = self.customer_service.clone()?;
            let request = self.signed(
                GetComplaintFiguresRequest {
                    property_id: id.to_owned(),
                    month: period.first.clone(),
                    to_month: period.last.clone(),
                },
                p,
            );
            Some(
                CustomerServiceFiguresServiceClient::new(cs)
                    .get_complaint_figures(request)
                    .await
                    .map(|r| r.into_inner().figures.unwrap_or_default()),
            )
        };
        let care = async {
            let cs = self.customer_service.clone()?;
            let request = self.signed(
                GetCustomerCareFiguresRequest {
                    property_id: id.to_owned(),
                    month: period.first.clone(),
                    to_month: period.last.clone(),
                },
                p,
            );
            Some(
                CustomerServiceFiguresServiceClient::new(cs)
                    .get_customer_care_figures(request)
                    .await
                    .map(|r| r.into_inner().figures.unwrap_or_default()),
            )
        };
        let keys = async {
            let cs = self.customer_service.clone()?;
            let request = self.signed(
                GetKeyFiguresRequest {
                    property_id: id.to_owned(),
                    from_month: period.first.clone(),
                    to_month: period.last.clone(),
                },
                p,
            );
            Some(
                KeyServiceClient::new(cs)
                    .get_key_figures(request)
                    .await
                    .map(|r| r.into_inner().figures),
            )
        };
        let escalations = async {
            let quality = self.quality.clone()?;
            let request = self.signed(
                GetEscalationFiguresRequest {
                    property_id: id.to_owned(),
                },
                p,
            );
            Some(
                EscalationServiceClient::new(quality)
                    .get_escalation_figures(request)
                    .await
                    .map(|r| r.into_inner().figures.unwrap_or_default()),
            )
        };
        let engineering = async {
            let engineering = self.engineering.clone()?;
            Some(self.engineering(engineering, period, id).await)
        };
        let late_files = async {
            let archives = self.archives.clone()?;
            Some(self.late_files(archives, id).await)
        };
        let (complaints, care, keys, escalations, engineering, late_files) =
            tokio::join!(complaints, care, keys, escalations, engineering, late_files);
        Answers {
            complaints,
            care,
            keys,
            escalations,
            engineering,
            late_files,
        }
    }
    /// Engineering answers a month at a time: its figures of each month of the period, whose
    /// counts add up.
    async fn engineering(
        &self,
        channel: Department,
        period: &Period,
        property: &str,
    ) -> Result<Vec<EngineeringFigures>, Status> {
        let months = period.months.iter().map(|month| {
            let client = FiguresServiceClient::new(channel.clone());
            async move {
                let request = self.signed(
                    GetEngineeringFiguresRequest {
                        property_id: property.to_owned(),
                        month: month.clone(),
                    },
                    Some(property),
                );
                let mut client = client;
                Ok::<_, Status>(
                    client
                        .get_engineering_figures(request)
                        .await?
                        .into_inner()
                        .figures
                        .unwrap_or_default(),
                )
            }
        });
        futures::future::join_all(months)
            .await
            .into_iter()
            .collect()
    }

    /// Household files overdue or filed late (ARC-3), counted page by page.
    async fn late_files(&self, archives: Department, property: &str) -> Result<i64, Status> {
        let mut client = HouseholdFileServiceClient::new(archives);
        let mut total = 0;
        for state in [FilingState::Overdue, FilingState::FiledLate] {
            let mut page_token = String::new();
            loop {
                let request = ListHouseholdFilesRequest {
                    property_id: property.to_owned(),
                    filing_state: state.into(),
                    page_size: 500,
                    page_token,
                };
                let page = client
                    .list_household_files(self.signed(request, Some(property)))
                    .await?
                    .into_inner();
                total += page.household_files.len() as i64;
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        Ok(total)
    }

    /// The portfolio of another deployment's gateway, asked as the caller.
    async fn remote(
        &self,
        name: &str,
        channel: Channel,
        period: &Period,
        wanted: Option<&BTreeSet<String>>,
        authorization: Option<&MetadataValue<tonic::metadata::Ascii>>,
        property: Option<&str>,
    ) -> Result<Portfolio, Status> {
        let mut request = Request::new(GetPortfolioRequest {
            month: period.first.clone(),
            to_month: period.last.clone(),
            property_ids: wanted
                .map(|w| w.iter().cloned().collect())
                .unwrap_or_default(),
        });
        request.set_timeout(self.deadline);
        let metadata = request.metadata_mut();
        if let Some(token) = authorization {
            metadata.insert("authorization", token.clone());
        }
        if let Some(p) = property {
            metadata.insert(
                PROPERTY_HEADER,
                p.parse()
                    .map_err(|_| Status::invalid_argument("bad property"))?,
            );
        }
        metadata.insert(HOP_HEADER, MetadataValue::from_static("1"));
        let mut portfolio = PortfolioServiceClient::new(channel)
            .get_portfolio(request)
            .await?
            .into_inner()
            .portfolio
            .unwrap_or_default();
        for p in &mut portfolio.properties {
            p.source = name.to_owned();
        }
        Ok(portfolio)
    }
}

#[tonic::async_trait]
impl PortfolioService for PortfolioServer {
    async fn get_portfolio(
        &self,
        request: Request<GetPortfolioRequest>,
    ) -> Result<Response<GetPortfolioResponse>, Status> {
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("no verified caller"))?;
        let hop = request.metadata().contains_key(HOP_HEADER);
        let authorization = request.metadata().get("authorization").cloned();
        let req = request.into_inner();
        let period = Period::new(&req.month, &req.to_month)?;
        let wanted = scope(&caller, req.property_ids)?;
        let deadline = self.deadline;
        let local = async {
            match tokio::time::timeout(deadline, self.local(&period, wanted.as_ref())).await {
                Ok(answer) => answer,
                Err(_) => (Vec::new(), vec![late("local", deadline)]),
            }
        };
        let remote = self
            .upstreams
            .iter()
            .filter(|_| !hop)
            .map(|(name, channel)| {
                let call = self.remote(
                    name,
                    channel.clone(),
                    &period,
                    wanted.as_ref(),
                    authorization.as_ref(),
                    caller.property.as_deref(),
                );
                async move {
                    match tokio::time::timeout(deadline, call).await {
                        Ok(Ok(p)) => Ok(p),
                        Ok(Err(status)) => Err(missing(name, &status)),
                        Err(_) => Err(late(name, deadline)),
                    }
                }
            });
        let ((mut properties, mut gaps), answers) =
            tokio::join!(local, futures::future::join_all(remote));
        for answer in answers {
            match answer {
                Ok(mut p) => {
                    properties.append(&mut p.properties);
                    gaps.append(&mut p.missing);
                }
                Err(gap) => gaps.push(gap),
            }
        }
        // A property two deployments both answer for counts once.
        let mut seen = BTreeSet::new();
        properties.retain(|p| seen.insert(p.property_id.clone()));
        if !gaps.is_empty() {
            let names: Vec<&str> = gaps.iter().map(|g| g.source.as_str()).collect();
            tracing::warn!(missing = ?names, "portfolio partial");
        }
        let total = total(&properties);
        Ok(Response::new(GetPortfolioResponse {
            portfolio: Some(Portfolio {
                month: period.first,
                to_month: period.last,
                properties,
                total: Some(total),
                partial: !gaps.is_empty(),
                missing: gaps,
            }),
        }))
    }
}

/// The properties the caller may see: None for every one (headquarters), else the call's own
/// property, which the request may name but not exceed.
fn scope(caller: &Caller, asked: Vec<String>) -> Result<Option<BTreeSet<String>>, Status> {
    let asked: BTreeSet<String> = asked.into_iter().filter(|p| !p.is_empty()).collect();
    if HEADQUARTERS_ROLES.contains(&caller.role.as_str()) {
        return Ok((!asked.is_empty()).then_some(asked));
    }
    let Some(own) = &caller.property else {
        return Err(wuye_kit::Error::permission_denied(
            "PROPERTY_REQUIRED",
            format!("a property role must name its property in {PROPERTY_HEADER}"),
        )
        .into());
    };
    if asked.iter().any(|p| p != own) {
        return Err(wuye_kit::Error::permission_denied(
            "PROPERTY_OUT_OF_SCOPE",
            "the portfolio of another property is outside your scope",
        )
        .into());
    }
    Ok(Some(BTreeSet::from([own.clone()])))
}

/// The months a portfolio covers: one, or a range of at most a year (a quarter, a half-year).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Period {
    first: String,
    last: String,
    /// Every month from `first` to `last`, "YYYY-MM".
    months: Vec<String>,
}

/// The longest period asked for: a year.
const MAX_MONTHS: usize = 12;

impl Period {
    fn new(month: &str, to_month: &str) -> Result<Self, Status> {
        let first = parse_month(month)
            .ok_or_else(|| wuye_kit::Error::invalid("month", "must be a month, YYYY-MM"))?;
        let last = if to_month.is_empty() {
            first
        } else {
            parse_month(to_month)
                .ok_or_else(|| wuye_kit::Error::invalid("to_month", "must be a month, YYYY-MM"))?
        };
        if last < first {
            return Err(wuye_kit::Error::invalid("to_month", "must not be before month").into());
        }
        let count = (last.0 - first.0) * 12 + i32::from(last.1) - i32::from(first.1) + 1;
        if count as usize > MAX_MONTHS {
            return Err(
                wuye_kit::Error::invalid("to_month", "the period is at most 12 months").into(),
            );
        }
        let months = (0..count)
            .map(|i| {
                let index = first.0 * 12 + i32::from(first.1) - 1 + i;
                format!("{:04}-{:02}", index / 12, index % 12 + 1)
            })
            .collect();
        let text = |(y, m): (i32, u8)| format!("{y:04}-{m:02}");
        Ok(Self {
            first: text(first),
            last: text(last),
            months,
        })
    }
}

/// "YYYY-MM" as (year, month).
fn parse_month(month: &str) -> Option<(i32, u8)> {
    let (year, m) = month.split_once('-')?;
    if year.len() != 4 || m.len() != 2 {
        return None;
    }
    let year = year.parse::<u16>().ok()?;
    let m = m.parse::<u8>().ok().filter(|m| (1..=12).contains(m))?;
    Some((i32::from(year), m))
}

/// What each department answered for one property: `None` when the department is not
/// configured here.
struct Answers {
    complaints: Option<Result<wuye_proto::customerservice::ComplaintFigures, Status>>,
    care: Option<Result<wuye_proto::customerservice::CustomerCareFigures, Status>>,
    keys: Option<Result<Vec<wuye_proto::customerservice::KeyFigures>, Status>>,
    escalations: Option<Result<wuye_proto::quality::EscalationFigures, Status>>,
    engineering: Option<Result<Vec<EngineeringFigures>, Status>>,
    late_files: Option<Result<i64, Status>>,
}

impl Answers {
    /// The property's figures from the answers, and the departments that failed.
    fn figures(self, id: String, name: String) -> (PropertyFigures, Vec<MissingSource>) {
        let mut gaps = Vec::new();
        let mut gap = |department: &str, status: &Status| {
            gaps.push(missing(&format!("local:{department}"), status));
        };
        let mut figures = PropertyFigures {
            property_id: id,
            property_name: name,
            source: "local".into(),
            complaints: Some(ComplaintFigures::default()),
            open_escalations: Some(Count::default()),
            survey_return: Some(Rate::default()),
            survey_satisfaction: Some(Rate::default()),
            repair_follow_up: Some(Rate::default()),
            move_in_visits: Some(Rate::default()),
            overdue_keys: Some(Count::default()),
            late_archive_files: Some(Count::default()),
            refused_handovers: Some(Count::default()),
            inspection_coverage: Some(Rate::default()),
            intact_rate: Some(Rate::default()),
        };
        match self.complaints {
            Some(Ok(c)) => {
                figures.complaints = Some(ComplaintFigures {
                    available: true,
                    registered: c.registered,
                    by_severity: key_counts(c.by_severity.iter().map(|c| (&c.key, c.count))),
                    by_state: key_counts(c.by_state.iter().map(|c| (&c.key, c.count))),
                    replies_on_time: Some(rate(c.replies_on_time, c.replies_due)),
                })
            }
            Some(Err(s)) => gap("customer-service", &s),
            None => {}
        }
        match self.care {
            Some(Ok(c)) => {
                // rules CS-4, VIS-4, VIS-5: counts, so totals are sums of both sides.
                figures.survey_return = Some(rate(c.forms_returned, c.forms_distributed));
                figures.survey_satisfaction = Some(rate(c.ratings_satisfied, c.ratings));
                figures.repair_follow_up = Some(rate(c.repairs_visited, c.repairs_completed));
                figures.move_in_visits = Some(rate(c.households_visited, c.households_occupied));
            }
            Some(Err(s)) => gap("customer-service", &s),
            None => {}
        }
        match self.keys {
            Some(Ok(people)) => {
                figures.overdue_keys = Some(count(
                    people.iter().map(|f| i64::from(f.overdue_loans)).sum(),
                ))
            }
            // Key custody not served by this deployment's customer service: not available,
            // but nothing failed.
            Some(Err(s)) if s.code() == Code::Unimplemented => {}
            Some(Err(s)) => gap("customer-service", &s),
            None => {}
        }
        match self.escalations {
            Some(Ok(e)) => figures.open_escalations = Some(count(e.open)),
            Some(Err(s)) => gap("quality", &s),
            None => {}
        }
        match self.engineering {
            Some(Ok(months)) => add_engineering(&mut figures, months),
            Some(Err(s)) => gap("engineering", &s),
            None => {}
        }
        match self.late_files {
            Some(Ok(n)) => figures.late_archive_files = Some(count(n)),
            Some(Err(s)) => gap("archives", &s),
            None => {}
        }
        (figures, gaps)
    }
}

/// Engineering's months of the period, whose counts add up.
fn add_engineering(figures: &mut PropertyFigures, months: Vec<EngineeringFigures>) {
    let (mut refused, mut done, mut due, mut intact, mut inspected) = (0, 0, 0, 0, 0);
    for e in months {
        refused += e.handovers.unwrap_or_default().refused_handovers;
        let inspections = e.all_inspections.unwrap_or_default();
        done += inspections.done;
        due += inspections.due - inspections.pending;
        let i = e.intact.unwrap_or_default();
        intact += i.intact;
        inspected += i.inspected;
    }
    figures.refused_handovers = Some(count(refused));
    figures.inspection_coverage = Some(rate(done, due));
    figures.intact_rate = Some(rate(intact, inspected));
}

fn missing(source: &str, status: &Status) -> MissingSource {
    MissingSource {
        source: source.to_owned(),
        reason: format!("{:?}: {}", status.code(), status.message()),
    }
}

fn late(source: &str, deadline: Duration) -> MissingSource {
    MissingSource {
        source: source.to_owned(),
        reason: format!("no answer within {} ms", deadline.as_millis()),
    }
}

fn count(value: i64) -> Count {
    Count {
        available: true,
        value,
    }
}

fn rate(numerator: i64, denominator: i64) -> Rate {
    let denominator = denominator.max(0);
    Rate {
        available: true,
        numerator,
        denominator,
        percent: if denominator == 0 {
            100.0
        } else {
            numerator as f64 * 100.0 / denominator as f64
        },
    }
}

fn key_counts<'a>(counts: impl Iterator<Item = (&'a String, i64)>) -> Vec<KeyCount> {
    let mut merged: BTreeMap<&str, i64> = BTreeMap::new();
    for (key, n) in counts {
        *merged.entry(key).or_default() += n;
    }
    merged
        .into_iter()
        .map(|(key, count)| KeyCount {
            key: key.to_owned(),
            count,
        })
        .collect()
}

/// Sums over `properties`; a figure is available in the total only when every property has it.
pub fn total(properties: &[PropertyFigures]) -> PropertyFigures {
    fn sum_count<'a>(items: impl Iterator<Item = Option<&'a Count>>) -> Count {
        let mut total = count(0);
        for c in items {
            let c = c.cloned().unwrap_or_default();
            total.available &= c.available;
            total.value += c.value;
        }
        if !total.available {
            total.value = 0;
        }
        total
    }
    fn sum_rate<'a>(items: impl Iterator<Item = Option<&'a Rate>>) -> Rate {
        let (mut available, mut n, mut d) = (true, 0, 0);
        for r in items {
            let r = r.cloned().unwrap_or_default();
            available &= r.available;
            n += r.numerator;
            d += r.denominator;
        }
        if available {
            rate(n, d)
        } else {
            Rate::default()
        }
    }
    let c = |f: fn(&PropertyFigures) -> Option<&Count>| sum_count(properties.iter().map(f));
    let r = |f: fn(&PropertyFigures) -> Option<&Rate>| sum_rate(properties.iter().map(f));
    let complaints: Vec<ComplaintFigures> = properties
        .iter()
        .map(|p| p.complaints.clone().unwrap_or_default())
        .collect();
    let complaints_total = if complaints.iter().all(|c| c.available) {
        ComplaintFigures {
            available: true,
            registered: complaints.iter().map(|c| c.registered).sum(),
            by_severity: key_counts(
                complaints
                    .iter()
                    .flat_map(|c| c.by_severity.iter().map(|k| (&k.key, k.count))),
            ),
            by_state: key_counts(
                complaints
                    .iter()
                    .flat_map(|c| c.by_state.iter().map(|k| (&k.key, k.count))),
            ),
            replies_on_time: Some(sum_rate(
                complaints.iter().map(|c| c.replies_on_time.as_ref()),
            )),
        }
    } else {
        ComplaintFigures::default()
    };
    PropertyFigures {
        property_id: String::new(),
        property_name: "合计".into(),
        source: String::new(),
        complaints: Some(complaints_total),
        open_escalations: Some(c(|p| p.open_escalations.as_ref())),
        survey_return: Some(r(|p| p.survey_return.as_ref())),
        survey_satisfaction: Some(r(|p| p.survey_satisfaction.as_ref())),
        repair_follow_up: Some(r(|p| p.repair_follow_up.as_ref())),
        move_in_visits: Some(r(|p| p.move_in_visits.as_ref())),
        overdue_keys: Some(c(|p| p.overdue_keys.as_ref())),
        late_archive_files: Some(c(|p| p.late_archive_files.as_ref())),
        refused_handovers: Some(c(|p| p.refused_handovers.as_ref())),
        inspection_coverage: Some(r(|p| p.inspection_coverage.as_ref())),
        intact_rate: Some(r(|p| p.intact_rate.as_ref())),
    }
}

#[cfg(test)]
mod tests;
