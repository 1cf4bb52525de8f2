//! The command-line client: development tokens, and calls through the gateway.

use std::time::Duration;

use chrono::DateTime;
use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Authed, Target, call};
use wuye_proto::customerservice::{
    self as pb, complaint_service_client::ComplaintServiceClient,
    household_service_client::HouseholdServiceClient,
};

/// Prints a line; a reader that went away (`| head`) ends the output, not the program.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Args)]
pub struct TokenArgs {
    /// A role code of DOMAIN.md "Who is who", such as front_desk or cs_supervisor.
    #[arg(long)]
    role: String,
    /// A property the token is scoped to; repeat for several.
    #[arg(long = "property", required = true)]
    properties: Vec<String>,
    #[arg(long, default_value = "dev-user")]
    user: String,
    #[arg(long, default_value = "开发用户")]
    name: String,
    /// Hours until the token expires (the gateway refuses more than its
    /// auth.max_lifetime_secs, 12 h by default).
    #[arg(long, default_value_t = 12)]
    hours: u64,
    /// Sign with this Ed25519 private key (PEM) instead of the development key: for a
    /// deployment whose gateway trusts it (`deploy/make-keys.sh` makes one), until sign-in
    /// through the company's identity provider.
    #[arg(long, requires = "kid")]
    key: Option<std::path::PathBuf>,
    /// The `kid` the gateway knows the key by.
    #[arg(long)]
    kid: Option<String>,
}

pub fn token(args: TokenArgs) -> anyhow::Result<()> {
    let ttl = Duration::from_secs(args.hours * 3600);
    let token = match (&args.key, &args.kid) {
        (Some(key), Some(kid)) => {
            let pem = std::fs::read(key)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", key.display()))?;
            let claims = wuye_gateway::Claims::new(
                &args.user,
                &args.name,
                &args.role,
                &args.properties,
                ttl,
            );
            wuye_gateway::sign_token(wuye_gateway::KeyAlgorithm::EdDSA, &pem, kid, &claims)?
        }
        _ => {
            wuye_gateway::sign_dev_token(&args.role, &args.properties, &args.user, &args.name, ttl)?
        }
    };
    say!("{token}");
    Ok(())
}

#[derive(Args)]
pub struct ComplaintArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: ComplaintCommand,
}

#[derive(Subcommand)]
enum ComplaintCommand {
    /// Register a complaint (CMP-1): it gets the next number of the call and visit log.
    File {
        #[arg(long, value_enum)]
        channel: ChannelArg,
        /// The complainant's name.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        phone: String,
        /// The unit: its id or its label such as 3-2-1502; none for common parts.
        #[arg(long)]
        unit: Option<String>,
        /// What it is about, such as 维修服务.
        #[arg(long)]
        category: String,
        #[arg(long, value_enum)]
        severity: SeverityArg,
        #[arg(long)]
        description: String,
        /// Retry key; a new one is made when absent.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Show one complaint, by its number (or id), with every step.
    Show { complaint: String },
    /// List complaints, newest first.
    List {
        #[arg(long, value_enum)]
        severity: Option<SeverityArg>,
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
    /// Complaints past their reply deadline without a reply (CMP-3).
    Overdue,
    /// Send it to the responsible team (班组).
    Send {
        complaint: String,
        #[arg(long)]
        team: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The team leader's rectification plan and remedial measures.
    Propose {
        complaint: String,
        #[arg(long)]
        plan: String,
        #[arg(long)]
        measures: String,
    },
    /// The project manager or assistant confirms the plan.
    Confirm {
        complaint: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The project manager or assistant sends the plan back.
    Reject {
        complaint: String,
        #[arg(long)]
        reason: String,
    },
    /// Tell the complainant the plan: the reply of CMP-3.
    Communicate {
        complaint: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The team starts the work.
    Start {
        complaint: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Urge the team on.
    Urge {
        complaint: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Customer service writes the handling report.
    Report {
        complaint: String,
        #[arg(long)]
        report: String,
    },
    /// The CS supervisor tells the customer the result.
    Tell {
        complaint: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The customer's verdict: satisfied closes it, otherwise it goes back to the team.
    Verdict {
        complaint: String,
        #[arg(long)]
        satisfied: bool,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Mark it as needing the company's coordination (ESC-1).
    Major {
        complaint: String,
        #[arg(long)]
        reason: String,
    },
    /// Write the complaint handling form (客户投诉处理表) as an HTML page.
    Form {
        complaint: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// The half-year (1, 2) or year (0) analysis (CMP-9).
    Analysis {
        #[arg(long)]
        year: i32,
        #[arg(long, default_value_t = 0)]
        half: i32,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ChannelArg {
    Letter,
    Phone,
    Fax,
    Visit,
    App,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SeverityArg {
    Minor,
    General,
    Serious,
}

impl From<ChannelArg> for pb::Channel {
    fn from(c: ChannelArg) -> Self {
        match c {
            ChannelArg::Letter => pb::Channel::Letter,
            ChannelArg::Phone => pb::Channel::Phone,
            ChannelArg::Fax => pb::Channel::Fax,
            ChannelArg::Visit => pb::Channel::Visit,
            ChannelArg::App => pb::Channel::App,
        }
    }
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

pub async fn complaint(args: ComplaintArgs) -> anyhow::Result<()> {
    let target = &args.target;
    let channel = target.channel().await?;
    let mut complaints = ComplaintServiceClient::new(channel.clone());
    let property_id = target.property.clone();
    match args.command {
        ComplaintCommand::File {
            channel: via,
            name,
            phone,
            unit,
            category,
            severity,
            description,
            request_id,
        } => {
            let unit_id = match unit {
                Some(unit) => {
                    resolve_unit(
                        &mut HouseholdServiceClient::new(channel),
                        &property_id,
                        &unit,
                    )
                    .await?
                }
                None => String::new(),
            };
            let request = pb::CreateComplaintRequest {
                property_id,
                request_id: request_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
                channel: pb::Channel::from(via).into(),
                complainant: Some(pb::Complainant { name, phone }),
                unit_id,
                category,
                description,
                severity: pb::Severity::from(severity).into(),
                contact_number: 0,
            };
            let c = call(complaints.create_complaint(request))
                .await?
                .complaint
                .unwrap_or_default();
            print_complaint(&c);
        }
        ComplaintCommand::Show { complaint } => {
            let c = find(&mut complaints, &property_id, &complaint).await?;
            print_complaint(&c);
            for s in &c.steps {
                let actor = s.actor.clone().unwrap_or_default();
                say!(
                    "  {:>2}. {}  {:<20} {} ({})  {}",
                    s.seq,
                    time(s.time.as_ref()),
                    short(s.action().as_str_name(), "STEP_ACTION_"),
                    actor.name,
                    actor.role,
                    s.note
                );
            }
        }
        ComplaintCommand::Overdue => {
            let request = pb::ListOverdueComplaintsRequest {
                property_id,
                ..Default::default()
            };
            for c in call(complaints.list_overdue_complaints(request))
                .await?
                .complaints
            {
                say!(
                    "{:>6}  {:<8}  due {}  {}",
                    c.number,
                    short(c.severity().as_str_name(), "SEVERITY_"),
                    time(c.reply_due_time.as_ref()),
                    c.category
                );
            }
        }
        ComplaintCommand::Form { complaint, out } => {
            let c = find(&mut complaints, &property_id, &complaint).await?;
            let request = pb::RenderComplaintFormRequest {
                property_id,
                complaint_id: c.id,
            };
            let document = call(complaints.render_complaint_form(request))
                .await?
                .document
                .unwrap_or_default();
            std::fs::write(&out, &document.content)?;
            say!("{} written to {}", document.file_name, out.display());
        }
        ComplaintCommand::Analysis { year, half } => {
            let request = pb::GetComplaintAnalysisRequest {
                property_id,
                year,
                half,
            };
            let a = call(complaints.get_complaint_analysis(request))
                .await?
                .analysis
                .unwrap_or_default();
            say!(
                "complaints {}  replies on time {:.1}%  satisfied at the first result {:.1}%",
                a.total,
                a.reply_on_time_rate * 100.0,
                a.satisfied_first_time_rate * 100.0
            );
            say!(
                "mean hours to reply {:.1}, to close {:.1}",
                a.mean_hours_to_reply,
                a.mean_hours_to_close
            );
            for (title, counts) in [
                ("category", &a.by_category),
                ("severity", &a.by_severity),
                ("channel", &a.by_channel),
                ("state", &a.by_state),
            ] {
                let line: Vec<String> = counts
                    .iter()
                    .map(|c| format!("{} {}", c.key, c.count))
                    .collect();
                say!("by {title}: {}", line.join(", "));
            }
            for r in &a.recurring {
                let place = if r.unit_id.is_empty() {
                    format!("building {}", r.building)
                } else {
                    format!("unit {}", r.unit_id)
                };
                say!(
                    "recurring: {} at {place}: numbers {:?}",
                    r.category,
                    r.complaint_numbers
                );
            }
        }
        ComplaintCommand::List { severity, limit } => {
            let request = pb::ListComplaintsRequest {
                property_id,
                severity: severity
                    .map(|s| pb::Severity::from(s).into())
                    .unwrap_or_default(),
                page_size: limit,
                ..Default::default()
            };
            let list = call(complaints.list_complaints(request)).await?;
            say!(
                "{:>6}  {:<8}  {:<12}  {:<10}  {:<16}  description",
                "number",
                "severity",
                "state",
                "category",
                "reply due"
            );
            for c in list.complaints {
                say!(
                    "{:>6}  {:<8}  {:<12}  {:<10}  {:<16}  {}",
                    c.number,
                    short(c.severity().as_str_name(), "SEVERITY_"),
                    short(c.state().as_str_name(), "COMPLAINT_STATE_"),
                    c.category,
                    time(c.reply_due_time.as_ref()),
                    c.description.chars().take(30).collect::<String>(),
                );
            }
        }
        step => {
            let (complaint, request) = step_request(step);
            let id = find(&mut complaints, &property_id, &complaint).await?.id;
            let c = take_step(&mut complaints, property_id, id, request).await?;
            say!(
                "complaint #{} is {}",
                c.number,
                short(c.state().as_str_name(), "COMPLAINT_STATE_")
            );
        }
    }
    Ok(())
}

/// A complaint by its number ("12", "#12") or id.
async fn find(
    complaints: &mut ComplaintServiceClient<Authed>,
    property_id: &str,
    complaint: &str,
) -> anyhow::Result<pb::Complaint> {
    let number = complaint.trim_start_matches('#').parse::<i64>().ok();
    let request = pb::GetComplaintRequest {
        property_id: property_id.to_owned(),
        complaint_id: if number.is_some() {
            String::new()
        } else {
            complaint.to_owned()
        },
        number: number.unwrap_or_default(),
    };
    Ok(call(complaints.get_complaint(request))
        .await?
        .complaint
        .unwrap_or_default())
}

/// One step of CMP-5, as a request.
enum StepRequest {
    Send(String, String),
    Propose(String, String),
    Confirm(String),
    Reject(String),
    Communicate(String),
    Start(String),
    Urge(String),
    Report(String),
    Tell(String),
    Verdict(bool, String),
    Major(String),
}

fn step_request(command: ComplaintCommand) -> (String, StepRequest) {
    use ComplaintCommand as C;
    match command {
        C::Send {
            complaint,
            team,
            note,
        } => (complaint, StepRequest::Send(team, note)),
        C::Propose {
            complaint,
            plan,
            measures,
        } => (complaint, StepRequest::Propose(plan, measures)),
        C::Confirm { complaint, note } => (complaint, StepRequest::Confirm(note)),
        C::Reject { complaint, reason } => (complaint, StepRequest::Reject(reason)),
        C::Communicate { complaint, note } => (complaint, StepRequest::Communicate(note)),
        C::Start { complaint, note } => (complaint, StepRequest::Start(note)),
        C::Urge { complaint, note } => (complaint, StepRequest::Urge(note)),
        C::Report { complaint, report } => (complaint, StepRequest::Report(report)),
        C::Tell { complaint, note } => (complaint, StepRequest::Tell(note)),
        C::Verdict {
            complaint,
            satisfied,
            comment,
        } => (complaint, StepRequest::Verdict(satisfied, comment)),
        C::Major { complaint, reason } => (complaint, StepRequest::Major(reason)),
        _ => unreachable!("not a step"),
    }
}

async fn take_step(
    c: &mut ComplaintServiceClient<Authed>,
    property_id: String,
    complaint_id: String,
    step: StepRequest,
) -> anyhow::Result<pb::Complaint> {
    let (p, id) = (property_id, complaint_id);
    let complaint = match step {
        StepRequest::Send(team, note) => {
            call(c.send_to_team(pb::SendToTeamRequest {
                property_id: p,
                complaint_id: id,
                team,
                note,
            }))
            .await?
            .complaint
        }
        StepRequest::Propose(plan, remedial_measures) => {
            call(c.propose_plan(pb::ProposePlanRequest {
                property_id: p,
                complaint_id: id,
                plan,
                remedial_measures,
            }))
            .await?
            .complaint
        }
        StepRequest::Confirm(note) => {
            call(c.confirm_plan(pb::ConfirmPlanRequest {
                property_id: p,
                complaint_id: id,
                note,
            }))
            .await?
            .complaint
        }
        StepRequest::Reject(reason) => {
            call(c.reject_plan(pb::RejectPlanRequest {
                property_id: p,
                complaint_id: id,
                reason,
            }))
            .await?
            .complaint
        }
        StepRequest::Communicate(note) => {
            call(c.communicate_plan(pb::CommunicatePlanRequest {
                property_id: p,
                complaint_id: id,
                note,
            }))
            .await?
            .complaint
        }
        StepRequest::Start(note) => {
            call(c.start_work(pb::StartWorkRequest {
                property_id: p,
                complaint_id: id,
                note,
            }))
            .await?
            .complaint
        }
        StepRequest::Urge(note) => {
            call(c.urge_work(pb::UrgeWorkRequest {
                property_id: p,
                complaint_id: id,
                note,
            }))
            .await?
            .complaint
        }
        StepRequest::Report(report) => {
            call(c.report_handling(pb::ReportHandlingRequest {
                property_id: p,
                complaint_id: id,
                report,
            }))
            .await?
            .complaint
        }
        StepRequest::Tell(note) => {
            call(c.tell_result(pb::TellResultRequest {
                property_id: p,
                complaint_id: id,
                note,
            }))
            .await?
            .complaint
        }
        StepRequest::Verdict(satisfied, comment) => {
            call(c.record_customer_verdict(pb::RecordCustomerVerdictRequest {
                property_id: p,
                complaint_id: id,
                satisfied,
                comment,
            }))
            .await?
            .complaint
        }
        StepRequest::Major(reason) => {
            call(c.mark_major(pb::MarkMajorRequest {
                property_id: p,
                complaint_id: id,
                reason,
            }))
            .await?
            .complaint
        }
    };
    Ok(complaint.unwrap_or_default())
}

fn print_complaint(c: &pb::Complaint) {
    let complainant = c.complainant.clone().unwrap_or_default();
    let by = c.registered_by.clone().unwrap_or_default();
    say!("complaint #{} ({})", c.number, c.id);
    say!(
        "  state       {}",
        short(c.state().as_str_name(), "COMPLAINT_STATE_")
    );
    say!(
        "  severity    {}",
        short(c.severity().as_str_name(), "SEVERITY_")
    );
    say!(
        "  channel     {}",
        short(c.channel().as_str_name(), "CHANNEL_")
    );
    say!(
        "  complainant {}",
        [complainant.name, complainant.phone].join(" ").trim_end()
    );
    say!(
        "  unit        {}",
        if c.unit_id.is_empty() {
            "-"
        } else {
            &c.unit_id
        }
    );
    say!("  category    {}", c.category);
    say!("  description {}", c.description);
    say!(
        "  registered  {} by {} ({})",
        time(c.register_time.as_ref()),
        by.name,
        by.role
    );
    say!("  reply due   {}", time(c.reply_due_time.as_ref()));
    if c.reply_time.is_some() {
        say!("  replied     {}", time(c.reply_time.as_ref()));
    }
    if !c.team.is_empty() {
        say!("  team        {}", c.team);
    }
    if c.major {
        say!("  major       {}", c.major_reason);
    }
}

#[derive(Args)]
pub struct UnitArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: UnitCommand,
}

#[derive(Subcommand)]
enum UnitCommand {
    /// Add a unit to the register.
    Add {
        #[arg(long)]
        building: String,
        #[arg(long, default_value = "")]
        entrance: String,
        #[arg(long)]
        floor: i32,
        #[arg(long)]
        room: String,
        #[arg(long, default_value_t = 0.0)]
        area: f64,
    },
    /// List the units of the property.
    List {
        #[arg(long)]
        building: Option<String>,
    },
}

pub async fn unit(args: UnitArgs) -> anyhow::Result<()> {
    let mut units = HouseholdServiceClient::new(args.target.channel().await?);
    let property_id = args.target.property.clone();
    match args.command {
        UnitCommand::Add {
            building,
            entrance,
            floor,
            room,
            area,
        } => {
            let request = pb::CreateUnitRequest {
                property_id,
                request_id: uuid::Uuid::now_v7().to_string(),
                building,
                entrance,
                floor,
                room,
                area_m2: area,
                state: 0,
            };
            let u = call(units.create_unit(request))
                .await?
                .unit
                .unwrap_or_default();
            say!("{}  {}", u.label, u.id);
        }
        UnitCommand::List { building } => {
            let mut page_token = String::new();
            loop {
                let request = pb::ListUnitsRequest {
                    property_id: property_id.clone(),
                    building: building.clone().unwrap_or_default(),
                    page_size: 500,
                    page_token,
                };
                let page = call(units.list_units(request)).await?;
                for u in page.units {
                    say!(
                        "{:<12}  {:<9}  {:>6.1} m²  {}",
                        u.label,
                        short(u.state().as_str_name(), "UNIT_STATE_"),
                        u.area_m2,
                        u.id
                    );
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
    }
    Ok(())
}

/// A unit id given as such, or found by its label (3-2-1502).
pub(crate) async fn resolve_unit(
    units: &mut HouseholdServiceClient<Authed>,
    property_id: &str,
    unit: &str,
) -> anyhow::Result<String> {
    let building = unit.split('-').next().unwrap_or_default().to_owned();
    let mut page_token = String::new();
    loop {
        let request = pb::ListUnitsRequest {
            property_id: property_id.to_owned(),
            building: building.clone(),
            page_size: 500,
            page_token,
        };
        let page = call(units.list_units(request)).await?;
        if let Some(u) = page.units.iter().find(|u| u.label == unit || u.id == unit) {
            return Ok(u.id.clone());
        }
        if page.next_page_token.is_empty() {
            // Not a label: pass it on as an id for the service to judge.
            return Ok(unit.to_owned());
        }
        page_token = page.next_page_token;
    }
}

pub(crate) fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_lowercase()
}

/// A timestamp in China Standard Time, as the service centers read it.
pub(crate) fn time(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

#[derive(Args)]
pub struct HouseholdArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: HouseholdCommand,
}

#[derive(Subcommand)]
enum HouseholdCommand {
    /// Record a move-in (入住): the unit becomes occupied and archives opens the file.
    MoveIn {
        /// The unit: its id or its label such as 3-2-1502.
        #[arg(long)]
        unit: String,
        /// A resident as NAME,RELATION[,PHONE] with RELATION owner, family or tenant; repeat.
        #[arg(long = "resident", required = true)]
        residents: Vec<String>,
    },
    /// Record a move-out (迁出): the unit becomes vacant.
    MoveOut { household: String },
    /// The households living in the property.
    List,
    /// Print the customer contact list (contacts) or the overview register (overview) as an
    /// HTML page to FILE.
    Print {
        #[arg(value_enum)]
        register: RegisterArg,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RegisterArg {
    Contacts,
    Overview,
}

pub async fn household(args: HouseholdArgs) -> anyhow::Result<()> {
    let mut households = HouseholdServiceClient::new(args.target.channel().await?);
    let property_id = args.target.property.clone();
    match args.command {
        HouseholdCommand::MoveIn { unit, residents } => {
            let unit_id = resolve_unit(&mut households, &property_id, &unit).await?;
            let residents = residents
                .iter()
                .map(|r| parse_resident(r))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let request = pb::RecordMoveInRequest {
                property_id,
                request_id: uuid::Uuid::now_v7().to_string(),
                unit_id,
                residents,
                move_in_time: None,
            };
            let h = call(households.record_move_in(request))
                .await?
                .household
                .unwrap_or_default();
            say!(
                "household {} moved into {} on {}",
                h.id,
                h.unit_label,
                time(h.move_in_time.as_ref())
            );
        }
        HouseholdCommand::MoveOut { household } => {
            let request = pb::RecordMoveOutRequest {
                property_id,
                household_id: household,
                move_out_time: None,
            };
            let h = call(households.record_move_out(request))
                .await?
                .household
                .unwrap_or_default();
            say!(
                "household {} moved out of {} on {}",
                h.id,
                h.unit_label,
                time(h.move_out_time.as_ref())
            );
        }
        HouseholdCommand::List => {
            let mut page_token = String::new();
            loop {
                let request = pb::ListHouseholdsRequest {
                    property_id: property_id.clone(),
                    state: pb::HouseholdState::Living.into(),
                    page_size: 500,
                    page_token,
                    ..Default::default()
                };
                let page = call(households.list_households(request)).await?;
                for h in page.households {
                    let names: Vec<&str> = h.residents.iter().map(|r| r.name.as_str()).collect();
                    say!(
                        "{:<12}  {}  {}  {}",
                        h.unit_label,
                        time(h.move_in_time.as_ref()),
                        h.id,
                        names.join("、")
                    );
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        HouseholdCommand::Print { register, out } => {
            let request = pb::RenderRegisterRequest {
                property_id,
                register: match register {
                    RegisterArg::Contacts => pb::Register::ContactList,
                    RegisterArg::Overview => pb::Register::Overview,
                }
                .into(),
                building: String::new(),
            };
            let document = call(households.render_register(request))
                .await?
                .document
                .unwrap_or_default();
            std::fs::write(&out, &document.content)?;
            say!(
                "{} ({} bytes) written to {}",
                document.file_name,
                document.content.len(),
                out.display()
            );
        }
    }
    Ok(())
}

fn parse_resident(text: &str) -> anyhow::Result<pb::Resident> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let relation = match parts.get(1).copied() {
        Some("owner") => pb::ResidentRelation::Owner,
        Some("family") => pb::ResidentRelation::Family,
        Some("tenant") => pb::ResidentRelation::Tenant,
        _ => anyhow::bail!("--resident {text}: write NAME,owner|family|tenant[,PHONE]"),
    };
    Ok(pb::Resident {
        name: parts[0].to_owned(),
        relation: relation.into(),
        phone: parts.get(2).copied().unwrap_or_default().to_owned(),
        primary_contact: false,
    })
}
