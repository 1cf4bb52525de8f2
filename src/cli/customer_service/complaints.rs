//! `wuye complaint`: filing, showing and listing complaints, and the steps of CMP-5.

use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Authed, Target, call};
use wuye_proto::customerservice::{self as pb, complaint_service_client::ComplaintServiceClient};

use super::{SeverityArg, unit_id};
use crate::cli::output::{left, say, short, time};
use crate::cli::{Session, input};

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
    File(FileArgs),
    /// Show one complaint, by its number (or id), with every step.
    Show { complaint: String },
    /// List complaints, newest first; the filters given all hold.
    List(ListArgs),
    /// Show one entry of the call and visit log (客户来电来访登记表) by its number.
    Contact { number: i64 },
    /// Complaints past their reply deadline without a reply (CMP-3).
    Overdue,
    #[command(flatten)]
    Step(Step),
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

#[derive(Args)]
struct FileArgs {
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
}

#[derive(Args)]
struct ListArgs {
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    #[arg(long, value_enum)]
    severity: Option<SeverityArg>,
    /// The unit: its id or its label such as 3-2-1502.
    #[arg(long)]
    unit: Option<String>,
    /// The building of the complaints' units.
    #[arg(long)]
    building: Option<String>,
    /// The complainant's phone number, however written.
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    category: Option<String>,
    /// The team it was sent to.
    #[arg(long)]
    team: Option<String>,
    /// Registered at or after: 2026-11-27 or 2026-11-27 08:00 (China Standard Time).
    #[arg(long)]
    from: Option<String>,
    /// Registered before.
    #[arg(long)]
    to: Option<String>,
    /// Only those past their reply deadline without a reply (CMP-3).
    #[arg(long)]
    overdue: bool,
    /// Only those whose reply is due within this many hours, not past.
    #[arg(long, value_name = "HOURS")]
    due_within: Option<i32>,
    /// The number, or a piece of the description.
    #[arg(long, short)]
    query: Option<String>,
    #[arg(long, default_value_t = 20)]
    limit: i32,
}

#[derive(Clone, Copy, ValueEnum)]
enum StateArg {
    Registered,
    SentToTeam,
    PlanProposed,
    PlanConfirmed,
    Communicated,
    InProgress,
    Reported,
    ResultTold,
    Closed,
}

impl From<StateArg> for pb::ComplaintState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Registered => pb::ComplaintState::Registered,
            StateArg::SentToTeam => pb::ComplaintState::SentToTeam,
            StateArg::PlanProposed => pb::ComplaintState::PlanProposed,
            StateArg::PlanConfirmed => pb::ComplaintState::PlanConfirmed,
            StateArg::Communicated => pb::ComplaintState::Communicated,
            StateArg::InProgress => pb::ComplaintState::InProgress,
            StateArg::Reported => pb::ComplaintState::Reported,
            StateArg::ResultTold => pb::ComplaintState::ResultTold,
            StateArg::Closed => pb::ComplaintState::Closed,
        }
    }
}

/// The steps of CMP-5, each declared once: its subcommand (the complaint, then the step's
/// flags, named as the fields of its request) and the RPC that takes it.
macro_rules! steps {
    ($(
        $(#[$doc:meta])*
        $step:ident => $rpc:ident($request:ident) {
            $( $(#[$arg:meta])* $field:ident: $ty:ty ),* $(,)?
        }
    )*) => {
        #[derive(Subcommand)]
        enum Step {
            $( $(#[$doc])* $step { complaint: String, $( $(#[$arg])* $field: $ty, )* }, )*
        }

        impl Step {
            /// The complaint the step is taken on, as given: its number or id.
            fn complaint(&self) -> &str {
                match self {
                    $( Step::$step { complaint, .. } => complaint, )*
                }
            }

            async fn take(
                self,
                c: &mut ComplaintServiceClient<Authed>,
                property_id: String,
                complaint_id: String,
            ) -> anyhow::Result<Option<pb::Complaint>> {
                Ok(match self {
                    $( Step::$step { complaint: _, $($field),* } => {
                        let request = pb::$request { property_id, complaint_id, $($field),* };
                        call(c.$rpc(request)).await?.complaint
                    } )*
                })
            }
        }
    };
}

steps! {
    /// Send it to the responsible team (班组).
    Send => send_to_team(SendToTeamRequest) {
        #[arg(long)]
        team: String,
        #[arg(long, default_value = "")]
        note: String,
    }
    /// The team leader's rectification plan and remedial measures.
    Propose => propose_plan(ProposePlanRequest) {
        #[arg(long)]
        plan: String,
        #[arg(long = "measures", value_name = "MEASURES")]
        remedial_measures: String,
    }
    /// The project manager or assistant confirms the plan.
    Confirm => confirm_plan(ConfirmPlanRequest) {
        #[arg(long, default_value = "")]
        note: String,
    }
    /// The project manager or assistant sends the plan back.
    Reject => reject_plan(RejectPlanRequest) {
        #[arg(long)]
        reason: String,
    }
    /// Tell the complainant the plan: the reply of CMP-3.
    Communicate => communicate_plan(CommunicatePlanRequest) {
        #[arg(long, default_value = "")]
        note: String,
    }
    /// The team starts the work.
    Start => start_work(StartWorkRequest) {
        #[arg(long, default_value = "")]
        note: String,
    }
    /// Urge the team on.
    Urge => urge_work(UrgeWorkRequest) {
        #[arg(long, default_value = "")]
        note: String,
    }
    /// Customer service writes the handling report.
    Report => report_handling(ReportHandlingRequest) {
        #[arg(long)]
        report: String,
    }
    /// The CS supervisor tells the customer the result.
    Tell => tell_result(TellResultRequest) {
        #[arg(long, default_value = "")]
        note: String,
    }
    /// The customer's verdict: satisfied closes it, otherwise it goes back to the team.
    Verdict => record_customer_verdict(RecordCustomerVerdictRequest) {
        #[arg(long)]
        satisfied: bool,
        #[arg(long, default_value = "")]
        comment: String,
    }
    /// Mark it as needing the company's coordination (ESC-1).
    Major => mark_major(MarkMajorRequest) {
        #[arg(long)]
        reason: String,
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ChannelArg {
    Letter,
    Phone,
    Fax,
    Visit,
    App,
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

type Client = ComplaintServiceClient<Authed>;

pub async fn run(args: ComplaintArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    let mut c = s.client(ComplaintServiceClient::new);
    match args.command {
        ComplaintCommand::File(file) => self::file(&s, &mut c, file).await,
        ComplaintCommand::Show { complaint } => show(&s, &mut c, &complaint).await,
        ComplaintCommand::List(args) => list(&s, &mut c, args).await,
        ComplaintCommand::Contact { number } => contact(&s, &mut c, number).await,
        ComplaintCommand::Overdue => overdue(&s, &mut c).await,
        ComplaintCommand::Step(step) => take_step(&s, &mut c, step).await,
        ComplaintCommand::Form { complaint, out } => form(&s, &mut c, &complaint, &out).await,
        ComplaintCommand::Analysis { year, half } => analysis(&s, &mut c, year, half).await,
    }
}

async fn file(s: &Session, c: &mut Client, args: FileArgs) -> anyhow::Result<()> {
    let unit_id = match args.unit {
        Some(unit) => unit_id(s, &unit).await?,
        None => String::new(),
    };
    let request = pb::CreateComplaintRequest {
        property_id: s.p(),
        request_id: args
            .request_id
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        channel: pb::Channel::from(args.channel).into(),
        complainant: Some(pb::Complainant {
            name: args.name,
            phone: args.phone,
        }),
        unit_id,
        category: args.category,
        description: args.description,
        severity: pb::Severity::from(args.severity).into(),
        contact_number: 0,
    };
    let complaint = call(c.create_complaint(request)).await?.complaint;
    print_complaint(&complaint.unwrap_or_default());
    Ok(())
}

async fn show(s: &Session, c: &mut Client, complaint: &str) -> anyhow::Result<()> {
    let complaint = find(c, &s.p(), complaint).await?;
    print_complaint(&complaint);
    for step in &complaint.steps {
        let actor = step.actor.clone().unwrap_or_default();
        say!(
            "  {:>2}. {}  {} {} ({})  {}",
            step.seq,
            time(step.time.as_ref()),
            left(&short(step.action().as_str_name(), "STEP_ACTION_"), 20),
            actor.name,
            actor.role,
            step.note
        );
    }
    Ok(())
}

async fn list(s: &Session, c: &mut Client, args: ListArgs) -> anyhow::Result<()> {
    let unit_id = match &args.unit {
        Some(unit) => unit_id(s, unit).await?,
        None => String::new(),
    };
    let stamp = |t: &Option<String>| t.as_deref().map(input::stamp).transpose();
    let request = pb::ListComplaintsRequest {
        property_id: s.p(),
        state: args
            .state
            .map(|s| pb::ComplaintState::from(s).into())
            .unwrap_or_default(),
        severity: args
            .severity
            .map(|s| pb::Severity::from(s).into())
            .unwrap_or_default(),
        page_size: args.limit,
        page_token: String::new(),
        unit_id,
        building: args.building.unwrap_or_default(),
        complainant_phone: args.phone.unwrap_or_default(),
        category: args.category.unwrap_or_default(),
        team: args.team.unwrap_or_default(),
        registered_from: stamp(&args.from)?,
        registered_to: stamp(&args.to)?,
        overdue: args.overdue,
        due_within_hours: args.due_within.unwrap_or_default(),
        query: args.query.unwrap_or_default(),
    };
    let list = call(c.list_complaints(request)).await?;
    say!(
        "{:>6}  {:<8}  {:<14}  {:<10}  {:<16}  description",
        "number",
        "severity",
        "state",
        "category",
        "reply due"
    );
    for c in list.complaints {
        say!(
            "{:>6}  {}  {}  {}  {}  {}",
            c.number,
            left(&short(c.severity().as_str_name(), "SEVERITY_"), 8),
            left(&short(c.state().as_str_name(), "COMPLAINT_STATE_"), 14),
            left(&c.category, 10),
            left(&time(c.reply_due_time.as_ref()), 16),
            c.description.chars().take(30).collect::<String>(),
        );
    }
    Ok(())
}

async fn contact(s: &Session, c: &mut Client, number: i64) -> anyhow::Result<()> {
    let request = pb::GetContactLogEntryRequest {
        property_id: s.p(),
        number,
    };
    let e = call(c.get_contact_log_entry(request))
        .await?
        .entry
        .unwrap_or_default();
    let caller = e.caller.clone().unwrap_or_default();
    let by = e.registered_by.clone().unwrap_or_default();
    say!(
        "contact #{}  {}  {}",
        e.number,
        short(e.kind().as_str_name(), "CONTACT_KIND_"),
        short(e.channel().as_str_name(), "CHANNEL_")
    );
    say!(
        "  caller      {}",
        [caller.name, caller.phone].join(" ").trim_end()
    );
    say!(
        "  unit        {}",
        if e.unit_id.is_empty() {
            "-"
        } else {
            &e.unit_id
        }
    );
    say!("  summary     {}", e.summary);
    say!(
        "  registered  {} by {} ({})",
        time(e.register_time.as_ref()),
        by.name,
        by.role
    );
    if !e.complaint_id.is_empty() {
        say!("  complaint   {}", e.complaint_id);
    }
    Ok(())
}

async fn overdue(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let request = pb::ListOverdueComplaintsRequest {
        property_id: s.p(),
        ..Default::default()
    };
    for c in call(c.list_overdue_complaints(request)).await?.complaints {
        say!(
            "{:>6}  {}  due {}  {}",
            c.number,
            left(&short(c.severity().as_str_name(), "SEVERITY_"), 8),
            time(c.reply_due_time.as_ref()),
            c.category
        );
    }
    Ok(())
}

async fn take_step(s: &Session, c: &mut Client, step: Step) -> anyhow::Result<()> {
    let id = find(c, &s.p(), step.complaint()).await?.id;
    let complaint = step.take(c, s.p(), id).await?.unwrap_or_default();
    say!(
        "complaint #{} is {}",
        complaint.number,
        short(complaint.state().as_str_name(), "COMPLAINT_STATE_")
    );
    Ok(())
}

async fn form(
    s: &Session,
    c: &mut Client,
    complaint: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let complaint = find(c, &s.p(), complaint).await?;
    let request = pb::RenderComplaintFormRequest {
        property_id: s.p(),
        complaint_id: complaint.id,
    };
    let document = call(c.render_complaint_form(request))
        .await?
        .document
        .unwrap_or_default();
    std::fs::write(out, &document.content)?;
    say!("{} written to {}", document.file_name, out.display());
    Ok(())
}

async fn analysis(s: &Session, c: &mut Client, year: i32, half: i32) -> anyhow::Result<()> {
    let request = pb::GetComplaintAnalysisRequest {
        property_id: s.p(),
        year,
        half,
    };
    let a = call(c.get_complaint_analysis(request))
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
    Ok(())
}

/// A complaint by its number ("12", "#12") or id.
pub(crate) async fn find(
    c: &mut Client,
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
    Ok(call(c.get_complaint(request))
        .await?
        .complaint
        .unwrap_or_default())
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
    let unit = if c.unit_id.is_empty() {
        "-"
    } else {
        &c.unit_id
    };
    say!("  unit        {unit}");
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
