//! `wuye quality`: the quality department's escalation inbox (ESC-3), and its decisions.

use clap::{Args, Subcommand};
use wuye::connect::{Authed, Target, call};
use wuye_proto::{
    customerservice::complaint_service_client::ComplaintServiceClient,
    quality::{self as pb, escalation_service_client::EscalationServiceClient},
};

use crate::cli::Session;
use crate::cli::output::{left, say, short, time};

#[derive(Args)]
pub struct QualityArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: QualityCommand,
}

#[derive(Subcommand)]
enum QualityCommand {
    /// The escalation inbox, newest first: the property's, or every property's with --all
    /// (quality officers and headquarters).
    Inbox {
        #[arg(long)]
        all: bool,
        /// Only those not closed.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
    /// One escalation with its reasons, questions and decision.
    Show { escalation: String },
    /// The escalation of a complaint of the property, by the complaint's number (or id).
    Complaint { complaint: String },
    /// Assign it to a quality officer (the caller when --to is absent).
    Assign {
        escalation: String,
        /// The quality officer: their staff id in the directory; the escalation shows their
        /// name from the directory.
        #[arg(long, value_name = "STAFF_ID")]
        to: Option<String>,
    },
    /// Ask the property for information.
    Ask {
        escalation: String,
        #[arg(long)]
        question: String,
    },
    /// The property answers the department's question.
    Answer {
        escalation: String,
        #[arg(long)]
        answer: String,
    },
    /// Record the decision and the corrective actions (CMP-8), one --action each.
    Decide {
        escalation: String,
        #[arg(long)]
        decision: String,
        #[arg(long = "action")]
        actions: Vec<String>,
    },
    /// Close a decided escalation.
    Close {
        escalation: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

type Client = EscalationServiceClient<Authed>;

pub async fn run(args: QualityArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    let mut c = s.client(EscalationServiceClient::new);
    let c = &mut c;
    let p = s.p();
    let escalation = match args.command {
        QualityCommand::Inbox { all, open, limit } => return inbox(&s, c, all, open, limit).await,
        QualityCommand::Show { escalation } => show(c, p, escalation).await?,
        QualityCommand::Complaint { complaint } => of_complaint(&s, c, complaint).await?,
        QualityCommand::Assign { escalation, to } => assign(c, p, escalation, to).await?,
        QualityCommand::Ask {
            escalation,
            question,
        } => ask(c, p, escalation, question).await?,
        QualityCommand::Answer { escalation, answer } => {
            self::answer(c, p, escalation, answer).await?
        }
        QualityCommand::Decide {
            escalation,
            decision,
            actions,
        } => decide(c, p, escalation, decision, actions).await?,
        QualityCommand::Close { escalation, note } => close(c, p, escalation, note).await?,
    };
    if let Some(e) = escalation {
        print_escalation(&e);
    }
    Ok(())
}

/// What a step on an escalation returns: the escalation as it is now.
type Step = anyhow::Result<Option<pb::Escalation>>;

async fn assign(
    c: &mut Client,
    property_id: String,
    escalation: String,
    to: Option<String>,
) -> Step {
    let request = pb::AssignEscalationRequest {
        property_id,
        escalation_id: escalation,
        assignee_user_id: to.unwrap_or_default(),
    };
    Ok(call(c.assign_escalation(request)).await?.escalation)
}

async fn ask(c: &mut Client, property_id: String, escalation: String, question: String) -> Step {
    let request = pb::RequestInformationRequest {
        property_id,
        escalation_id: escalation,
        question,
    };
    Ok(call(c.request_information(request)).await?.escalation)
}

async fn answer(c: &mut Client, property_id: String, escalation: String, answer: String) -> Step {
    let request = pb::ProvideInformationRequest {
        property_id,
        escalation_id: escalation,
        answer,
    };
    Ok(call(c.provide_information(request)).await?.escalation)
}

async fn decide(
    c: &mut Client,
    property_id: String,
    escalation: String,
    decision: String,
    corrective_actions: Vec<String>,
) -> Step {
    let request = pb::DecideEscalationRequest {
        property_id,
        escalation_id: escalation,
        decision,
        corrective_actions,
    };
    Ok(call(c.decide_escalation(request)).await?.escalation)
}

async fn close(c: &mut Client, property_id: String, escalation: String, note: String) -> Step {
    let request = pb::CloseEscalationRequest {
        property_id,
        escalation_id: escalation,
        note,
    };
    Ok(call(c.close_escalation(request)).await?.escalation)
}

async fn inbox(
    s: &Session,
    c: &mut Client,
    all: bool,
    open: bool,
    limit: i32,
) -> anyhow::Result<()> {
    let list = call(c.list_escalations(pb::ListEscalationsRequest {
        property_id: if all { String::new() } else { s.p() },
        state: 0,
        open_only: open,
        page_size: limit,
        page_token: String::new(),
    }))
    .await?;
    for e in &list.escalations {
        let reasons: Vec<String> = e.reasons.iter().map(|r| reason(r.reason())).collect();
        say!(
            "{}  {} 投诉 {:<5} {} {} {}",
            e.id,
            left(&e.property_id, 16),
            e.complaint_number,
            left(&state(e.state()), 22),
            left(&e.category, 8),
            reasons.join(",")
        );
    }
    if list.escalations.is_empty() {
        say!("no escalations");
    }
    Ok(())
}

async fn show(c: &mut Client, property_id: String, escalation: String) -> Step {
    let request = pb::GetEscalationRequest {
        property_id,
        escalation_id: escalation,
    };
    Ok(call(c.get_escalation(request)).await?.escalation)
}

async fn of_complaint(s: &Session, c: &mut Client, complaint: String) -> Step {
    let mut complaints = s.client(ComplaintServiceClient::new);
    let complaint =
        crate::cli::customer_service::complaints::find(&mut complaints, &s.p(), &complaint).await?;
    let request = pb::GetEscalationOfComplaintRequest {
        property_id: s.p(),
        complaint_id: complaint.id,
    };
    Ok(call(c.get_escalation_of_complaint(request))
        .await?
        .escalation)
}

fn print_escalation(e: &pb::Escalation) {
    say!("escalation {}  ({})", e.id, state(e.state()));
    say!(
        "  complaint {} of {}, {}, {}",
        e.complaint_number,
        e.property_id,
        e.category,
        short(e.severity().as_str_name(), "SEVERITY_")
    );
    for r in &e.reasons {
        say!(
            "  reason    {} {}  {}",
            left(&reason(r.reason()), 14),
            time(r.receive_time.as_ref()),
            r.detail
        );
    }
    if let Some(a) = &e.assignee {
        say!("  assignee  {} ({})", a.name, a.user_id);
    }
    for i in &e.information_requests {
        say!("  asked     {}  {}", time(i.ask_time.as_ref()), i.question);
        if !i.answer.is_empty() {
            say!("  answered  {}  {}", time(i.answer_time.as_ref()), i.answer);
        }
    }
    if !e.decision.is_empty() {
        say!("  decision  {}", e.decision);
        for (n, action) in e.corrective_actions.iter().enumerate() {
            say!("    {}. {action}", n + 1);
        }
    }
    if e.close_time.is_some() {
        say!(
            "  closed    {}  {}",
            time(e.close_time.as_ref()),
            e.close_note
        );
    }
}

fn reason(r: pb::EscalationReason) -> String {
    short(r.as_str_name(), "ESCALATION_REASON_")
}

fn state(s: pb::EscalationState) -> String {
    short(s.as_str_name(), "ESCALATION_STATE_")
}
