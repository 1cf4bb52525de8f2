//! `wuye archive`: the archives (一户一档, ARC-1 to ARC-12): household files, documents
//! streamed in and out, access requests, the audit register and retention. A household file
//! is named by its id, its household's id or its unit's label.

mod access;
mod audit;
mod documents;
mod files;
mod retention;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Target, call};
use wuye_proto::archives::{
    self as pb, document_service_client::DocumentServiceClient,
    household_file_service_client::HouseholdFileServiceClient,
};

use crate::cli::output::short;
use crate::cli::{Session, for_each_page};

#[derive(Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: ArchiveCommand,
}

#[derive(Subcommand)]
enum ArchiveCommand {
    /// Household files in the order they were opened; with --late those past their filing
    /// deadline (still incomplete, or filed late).
    Files {
        #[arg(long)]
        late: bool,
    },
    /// One household file with its documents.
    Show { file: String },
    /// File a document (streamed); with --corrects, as the next version of that document.
    Upload(documents::UploadArgs),
    /// Download a document within an approved access request.
    Download {
        document: String,
        /// The caller's approved access request naming the document.
        #[arg(long)]
        access: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Ask to read (or copy) documents of a household file (ARC-9, ARC-11).
    RequestAccess(access::RequestAccessArgs),
    /// Access requests, newest first.
    Requests {
        #[arg(long)]
        pending: bool,
    },
    /// The CS supervisor approves an access request (not their own).
    Approve {
        request: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    Reject {
        request: String,
        #[arg(long)]
        note: String,
    },
    /// Record copies made in the archive room (ARC-10).
    Copy(documents::CopyArgs),
    /// The audit register (查阅登记), oldest first; --verify checks its hash chain.
    Audit {
        #[arg(long)]
        verify: bool,
        /// Only the last N entries.
        #[arg(long, default_value_t = 30)]
        last: usize,
    },
    /// Records kept for their retention, and their destruction.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum CategoryArg {
    /// 客户本人资料
    Personal,
    /// 家庭资料
    Family,
    /// 房屋档案
    House,
    /// 装修与验收记录
    Decoration,
    /// 收费单据
    Fees,
    /// 服务图片资料
    Photos,
}

impl From<CategoryArg> for pb::DocumentCategory {
    fn from(c: CategoryArg) -> Self {
        match c {
            CategoryArg::Personal => pb::DocumentCategory::Personal,
            CategoryArg::Family => pb::DocumentCategory::Family,
            CategoryArg::House => pb::DocumentCategory::House,
            CategoryArg::Decoration => pb::DocumentCategory::Decoration,
            CategoryArg::Fees => pb::DocumentCategory::Fees,
            CategoryArg::Photos => pb::DocumentCategory::Photos,
        }
    }
}

pub async fn run(args: ArchiveArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    match args.command {
        ArchiveCommand::Files { late } => files::list(&s, late).await,
        ArchiveCommand::Show { file } => files::show(&s, &file).await,
        ArchiveCommand::Upload(a) => documents::upload(&s, a).await,
        ArchiveCommand::Download {
            document,
            access,
            out,
        } => documents::download(&s, document, access, &out).await,
        ArchiveCommand::RequestAccess(a) => access::request(&s, a).await,
        ArchiveCommand::Requests { pending } => access::list(&s, pending).await,
        ArchiveCommand::Approve { request, note } => access::approve(&s, request, note).await,
        ArchiveCommand::Reject { request, note } => access::reject(&s, request, note).await,
        ArchiveCommand::Copy(a) => documents::copy(&s, a).await,
        ArchiveCommand::Audit { verify, last } => audit::run(&s, verify, last).await,
        ArchiveCommand::Retention(command) => retention::run(&s, command).await,
    }
}

/// Document categories by their short names, comma-separated; "-" for none.
fn categories(c: &[i32]) -> String {
    let names: Vec<String> = c
        .iter()
        .map(|c| {
            pb::DocumentCategory::try_from(*c)
                .map(|c| short(c.as_str_name(), "DOCUMENT_CATEGORY_"))
                .unwrap_or_default()
        })
        .collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(",")
    }
}

async fn list_files(s: &Session, state: pb::FilingState) -> anyhow::Result<Vec<pb::HouseholdFile>> {
    let mut files = s.client(HouseholdFileServiceClient::new);
    let mut out = Vec::new();
    for_each_page(async |page_token| {
        let page = call(files.list_household_files(pb::ListHouseholdFilesRequest {
            property_id: s.p(),
            filing_state: state.into(),
            page_size: 500,
            page_token,
        }))
        .await?;
        out.extend(page.household_files);
        Ok(page.next_page_token)
    })
    .await?;
    Ok(out)
}

/// A household file by its id, its household's id or its unit's label (the newest file of the
/// unit: the household living there).
async fn file(s: &Session, text: &str) -> anyhow::Result<pb::HouseholdFile> {
    let files = list_files(s, pb::FilingState::Unspecified).await?;
    files
        .into_iter()
        .rev()
        .find(|f| f.id == text || f.household_id == text || f.unit_label == text)
        .with_context(|| format!("no household file for {text}"))
}

async fn documents_of(s: &Session, file_id: &str) -> anyhow::Result<Vec<pb::Document>> {
    let mut documents = s.client(DocumentServiceClient::new);
    let mut out = Vec::new();
    for_each_page(async |page_token| {
        let page = call(documents.list_documents(pb::ListDocumentsRequest {
            property_id: s.p(),
            household_file_id: file_id.to_owned(),
            page_size: 500,
            page_token,
        }))
        .await?;
        out.extend(page.documents);
        Ok(page.next_page_token)
    })
    .await?;
    Ok(out)
}
