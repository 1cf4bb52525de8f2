//! Client commands of the archives (一户一档, ARC-1 to ARC-12), through the gateway: household
//! files, documents streamed in and out, access requests, the audit register and retention.
//! A household file is named by its id, its household's id or its unit's label.

use std::io::Read;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Authed, Target, call};
use wuye_proto::archives::{
    self as pb, access_service_client::AccessServiceClient,
    audit_service_client::AuditServiceClient, document_service_client::DocumentServiceClient,
    download_document_response, household_file_service_client::HouseholdFileServiceClient,
    retention_service_client::RetentionServiceClient, upload_document_request,
};

use crate::client::{short, time};
use crate::{request_id, timestamp};

/// The size of the pieces a document travels in.
const CHUNK: usize = 64 * 1024;

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
    Upload {
        path: std::path::PathBuf,
        /// The household file: its id, its household's id or the unit label.
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, required_unless_present = "corrects")]
        category: Option<CategoryArg>,
        /// The file name when absent.
        #[arg(long)]
        title: Option<String>,
        /// Guessed from the file name when absent.
        #[arg(long)]
        content_type: Option<String>,
        /// The document this one corrects (ARC-9: the old one is kept).
        #[arg(long, requires = "reason")]
        corrects: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
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
    RequestAccess {
        #[arg(long)]
        household: String,
        /// A document to read; repeat. Every current document of the file when absent.
        #[arg(long = "document")]
        documents: Vec<String>,
        #[arg(long)]
        purpose: String,
        /// Also the personal identifiers.
        #[arg(long)]
        personal_data: bool,
        /// Copies may be made in the archive room.
        #[arg(long)]
        copying: bool,
        /// Days the access lasts (at most 30).
        #[arg(long, default_value_t = 1)]
        days: i64,
        /// A government official's reading (ARC-8) as NAME,BODY,PROOF KIND,PROOF NUMBER.
        #[arg(long)]
        official: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
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
    Copy {
        document: String,
        #[arg(long)]
        access: String,
        #[arg(long, default_value_t = 1)]
        copies: i32,
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        request_id: Option<String>,
    },
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
    Retention(RetentionCommand),
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Records handed to the archives.
    List,
    /// Propose every record past its retention for destruction.
    Propose {
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Destroy the records of a proposal (a supervisor who did not propose it).
    Approve {
        proposal: String,
    },
    Show {
        proposal: String,
    },
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

struct Archive {
    channel: Authed,
    property: String,
}

impl Archive {
    fn p(&self) -> String {
        self.property.clone()
    }
    fn files(&self) -> HouseholdFileServiceClient<Authed> {
        HouseholdFileServiceClient::new(self.channel.clone())
    }
    fn documents(&self) -> DocumentServiceClient<Authed> {
        DocumentServiceClient::new(self.channel.clone())
    }

    async fn list_files(&self, state: pb::FilingState) -> anyhow::Result<Vec<pb::HouseholdFile>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = call(
                self.files()
                    .list_household_files(pb::ListHouseholdFilesRequest {
                        property_id: self.p(),
                        filing_state: state.into(),
                        page_size: 500,
                        page_token,
                    }),
            )
            .await?;
            out.extend(page.household_files);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// A household file by its id, its household's id or its unit's label (the newest file
    /// of the unit: the household living there).
    async fn file(&self, text: &str) -> anyhow::Result<pb::HouseholdFile> {
        let files = self.list_files(pb::FilingState::Unspecified).await?;
        files
            .into_iter()
            .rev()
            .find(|f| f.id == text || f.household_id == text || f.unit_label == text)
            .with_context(|| format!("no household file for {text}"))
    }

    async fn documents_of(&self, file_id: &str) -> anyhow::Result<Vec<pb::Document>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = call(self.documents().list_documents(pb::ListDocumentsRequest {
                property_id: self.p(),
                household_file_id: file_id.to_owned(),
                page_size: 500,
                page_token,
            }))
            .await?;
            out.extend(page.documents);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }
}

pub async fn archive(args: ArchiveArgs) -> anyhow::Result<()> {
    let a = Archive {
        channel: args.target.channel().await?,
        property: args.target.property.clone(),
    };
    match args.command {
        ArchiveCommand::Files { late } => {
            let files = if late {
                let mut files = a.list_files(pb::FilingState::Overdue).await?;
                files.extend(a.list_files(pb::FilingState::FiledLate).await?);
                files
            } else {
                a.list_files(pb::FilingState::Unspecified).await?
            };
            for f in &files {
                print_file_line(f);
            }
            if files.is_empty() {
                say!("no household files");
            }
        }
        ArchiveCommand::Show { file } => {
            let f = a.file(&file).await?;
            print_file_line(&f);
            say!("  moved in   {}", time(f.move_in_time.as_ref()));
            say!("  present    {}", categories(&f.present_categories));
            say!("  missing    {}", categories(&f.missing_categories));
            if !f.holder_name.is_empty() {
                say!(
                    "  holder     {} {} {}",
                    f.holder_name,
                    f.masked_id_number,
                    f.masked_phone
                );
            }
            for d in a.documents_of(&f.id).await? {
                print_document(&d, "  ");
            }
        }
        ArchiveCommand::Upload {
            path,
            household,
            category,
            title,
            content_type,
            corrects,
            reason,
            request_id: rid,
        } => {
            let file = a.file(&household).await?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let header = pb::DocumentHeader {
                property_id: a.p(),
                request_id: request_id(rid),
                household_file_id: file.id,
                category: category
                    .map(|c| pb::DocumentCategory::from(c).into())
                    .unwrap_or_default(),
                title: title.unwrap_or_else(|| name.clone()),
                content_type: content_type.unwrap_or_else(|| guess_content_type(&name).into()),
                supersedes_document_id: corrects.unwrap_or_default(),
                correction_reason: reason.unwrap_or_default(),
                sha256: String::new(),
            };
            let source = std::fs::File::open(&path)
                .with_context(|| format!("opening {}", path.display()))?;
            let failure = Arc::new(Mutex::new(None));
            let messages = std::iter::once(pb::UploadDocumentRequest {
                part: Some(upload_document_request::Part::Header(header)),
            })
            .chain(Chunks {
                source,
                failure: failure.clone(),
                done: false,
            });
            let result = call(
                a.documents()
                    .upload_document(futures::stream::iter(messages)),
            )
            .await;
            if let Some(e) = failure.lock().map(|mut f| f.take()).unwrap_or_default() {
                return Err(e).with_context(|| format!("reading {}", path.display()));
            }
            print_document(&result?.document.unwrap_or_default(), "");
        }
        ArchiveCommand::Download {
            document,
            access,
            out,
        } => {
            let mut stream = call(
                a.documents()
                    .download_document(pb::DownloadDocumentRequest {
                        property_id: a.p(),
                        document_id: document,
                        access_request_id: access,
                    }),
            )
            .await?;
            // Written beside the target and renamed at the end: no half document under its name.
            let partial = out.with_extension("part");
            let mut file = std::fs::File::create(&partial)
                .with_context(|| format!("creating {}", partial.display()))?;
            let mut described = None;
            let mut size = 0u64;
            loop {
                let message = match stream.message().await {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(status) => {
                        let _ = std::fs::remove_file(&partial);
                        return call::<()>(std::future::ready(Err(status))).await;
                    }
                };
                match message.part {
                    Some(download_document_response::Part::Document(d)) => described = Some(d),
                    Some(download_document_response::Part::Chunk(c)) => {
                        std::io::Write::write_all(&mut file, &c)?;
                        size += c.len() as u64;
                    }
                    None => {}
                }
            }
            std::fs::rename(&partial, &out)?;
            let d = described.unwrap_or_default();
            say!(
                "{} v{} ({} bytes, sha256 {}) written to {}",
                d.title,
                d.version,
                size,
                d.sha256,
                out.display()
            );
            if size != d.size_bytes as u64 {
                anyhow::bail!("{} bytes received, {} expected", size, d.size_bytes);
            }
        }
        ArchiveCommand::RequestAccess {
            household,
            documents,
            purpose,
            personal_data,
            copying,
            days,
            official,
            request_id: rid,
        } => {
            let file = a.file(&household).await?;
            let document_ids = if documents.is_empty() && !personal_data {
                a.documents_of(&file.id)
                    .await?
                    .into_iter()
                    .filter(|d| !d.superseded)
                    .map(|d| d.id)
                    .collect()
            } else {
                documents
            };
            let official = official
                .map(|o| {
                    let parts: Vec<&str> = o.split(',').map(str::trim).collect();
                    let [name, body, kind, number] = parts[..] else {
                        anyhow::bail!("--official: write NAME,BODY,PROOF KIND,PROOF NUMBER");
                    };
                    Ok(pb::OfficialReading {
                        official_name: name.into(),
                        official_body: body.into(),
                        proof_kind: kind.into(),
                        proof_number: number.into(),
                    })
                })
                .transpose()?;
            let r = call(
                AccessServiceClient::new(a.channel.clone()).create_access_request(
                    pb::CreateAccessRequestRequest {
                        property_id: a.p(),
                        request_id: request_id(rid),
                        household_file_id: file.id,
                        document_ids,
                        personal_data,
                        copying,
                        purpose,
                        reader_kind: if official.is_some() {
                            pb::ReaderKind::GovernmentOfficial
                        } else {
                            pb::ReaderKind::Staff
                        }
                        .into(),
                        official,
                        valid_until_time: Some(timestamp(Utc::now() + Duration::days(days))),
                    },
                ),
            )
            .await?
            .access_request
            .unwrap_or_default();
            print_access(&r);
        }
        ArchiveCommand::Requests { pending } => {
            let list = call(
                AccessServiceClient::new(a.channel.clone()).list_access_requests(
                    pb::ListAccessRequestsRequest {
                        property_id: a.p(),
                        state: if pending {
                            pb::AccessState::Pending.into()
                        } else {
                            0
                        },
                        page_size: 100,
                        page_token: String::new(),
                    },
                ),
            )
            .await?;
            list.access_requests.iter().for_each(print_access);
        }
        ArchiveCommand::Approve { request, note } => {
            let r = call(
                AccessServiceClient::new(a.channel.clone()).approve_access_request(
                    pb::ApproveAccessRequestRequest {
                        property_id: a.p(),
                        access_request_id: request,
                        note,
                    },
                ),
            )
            .await?
            .access_request
            .unwrap_or_default();
            print_access(&r);
        }
        ArchiveCommand::Reject { request, note } => {
            let r = call(
                AccessServiceClient::new(a.channel.clone()).reject_access_request(
                    pb::RejectAccessRequestRequest {
                        property_id: a.p(),
                        access_request_id: request,
                        note,
                    },
                ),
            )
            .await?
            .access_request
            .unwrap_or_default();
            print_access(&r);
        }
        ArchiveCommand::Copy {
            document,
            access,
            copies,
            purpose,
            request_id: rid,
        } => {
            let c = call(a.documents().record_copy(pb::RecordCopyRequest {
                property_id: a.p(),
                request_id: request_id(rid),
                document_id: document,
                access_request_id: access,
                copies,
                purpose,
            }))
            .await?
            .copy
            .unwrap_or_default();
            say!(
                "{} copies of {} recorded {} (they stay in the archive room)",
                c.copies,
                c.document_id,
                time(c.copy_time.as_ref())
            );
        }
        ArchiveCommand::Audit { verify, last } => {
            let mut client = AuditServiceClient::new(a.channel.clone());
            if verify {
                let v = call(
                    client.verify_audit_chain(pb::VerifyAuditChainRequest { property_id: a.p() }),
                )
                .await?;
                if v.intact {
                    say!(
                        "the register is intact: {} entries checked",
                        v.entries_checked
                    );
                } else {
                    anyhow::bail!(
                        "the register is BROKEN at entry {}: {} ({} entries checked)",
                        v.first_broken_seq,
                        v.problem,
                        v.entries_checked
                    );
                }
                return Ok(());
            }
            let mut entries = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = call(client.list_audit_entries(pb::ListAuditEntriesRequest {
                    property_id: a.p(),
                    page_size: 500,
                    page_token,
                }))
                .await?;
                entries.extend(page.entries);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            for e in entries.iter().skip(entries.len().saturating_sub(last)) {
                let actor = e.actor.clone().unwrap_or_default();
                say!(
                    "{:>4}  {}  {:<20} {:<8} {:<20} {} ({})  {}",
                    e.seq,
                    time(e.occur_time.as_ref()),
                    short(e.action().as_str_name(), "AUDIT_ACTION_"),
                    short(e.outcome().as_str_name(), "AUDIT_OUTCOME_"),
                    e.reason,
                    actor.name,
                    actor.role,
                    e.detail
                );
            }
        }
        ArchiveCommand::Retention(command) => retention(&a, command).await?,
    }
    Ok(())
}

/// The content of a file as upload messages; a read error ends the stream with a message the
/// service refuses, so that nothing half read is filed, and is kept for the caller.
struct Chunks {
    source: std::fs::File,
    failure: Arc<Mutex<Option<std::io::Error>>>,
    done: bool,
}

impl Iterator for Chunks {
    type Item = pb::UploadDocumentRequest;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut buffer = vec![0; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match self.source.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    if let Ok(mut f) = self.failure.lock() {
                        *f = Some(e);
                    }
                    return Some(pb::UploadDocumentRequest { part: None });
                }
            }
        }
        if filled == 0 {
            self.done = true;
            return None;
        }
        buffer.truncate(filled);
        Some(pb::UploadDocumentRequest {
            part: Some(upload_document_request::Part::Chunk(buffer)),
        })
    }
}

fn guess_content_type(name: &str) -> &'static str {
    let extension = name.rsplit('.').next().unwrap_or_default().to_lowercase();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        _ => "application/octet-stream",
    }
}

fn print_file_line(f: &pb::HouseholdFile) {
    say!(
        "{:<12} {:<10} due {}  filed {}  missing {}  {}",
        f.unit_label,
        short(f.filing_state().as_str_name(), "FILING_STATE_"),
        time(f.filing_due_time.as_ref()),
        time(f.filed_time.as_ref()),
        categories(&f.missing_categories),
        f.id
    );
}

/// A document; indented under its household file.
fn print_document(d: &pb::Document, indent: &str) {
    say!(
        "{indent}document {}  {:<10} v{}{}  {}  {} bytes  sha256 {}…",
        d.id,
        short(d.category().as_str_name(), "DOCUMENT_CATEGORY_"),
        d.version,
        if d.superseded { " (superseded)" } else { "" },
        d.title,
        d.size_bytes,
        d.sha256.get(..12).unwrap_or(&d.sha256)
    );
}

fn print_access(r: &pb::AccessRequest) {
    let by = r.requested_by.clone().unwrap_or_default();
    say!(
        "access {}  {:<8} file {}  {} documents{}{}  until {}",
        r.id,
        short(r.state().as_str_name(), "ACCESS_STATE_"),
        r.household_file_id,
        r.document_ids.len(),
        if r.personal_data {
            ", personal data"
        } else {
            ""
        },
        if r.copying { ", copying" } else { "" },
        time(r.valid_until_time.as_ref())
    );
    say!("  by {} ({}): {}", by.name, by.role, r.purpose);
    if let Some(o) = &r.official {
        say!(
            "  official {} of {}, {} {}",
            o.official_name,
            o.official_body,
            o.proof_kind,
            o.proof_number
        );
    }
    if let Some(d) = &r.decided_by {
        say!(
            "  decided by {} {}  {}",
            d.name,
            time(r.decide_time.as_ref()),
            r.decision_note
        );
    }
}

fn print_proposal(p: &pb::DestructionProposal) {
    say!(
        "proposal {}  {}  proposed {}{}",
        p.id,
        short(p.state().as_str_name(), "PROPOSAL_STATE_"),
        time(p.propose_time.as_ref()),
        if p.approve_time.is_some() {
            format!(", destroyed {}", time(p.approve_time.as_ref()))
        } else {
            String::new()
        }
    );
    p.records.iter().for_each(print_record);
}

fn print_record(r: &pb::RetainedRecord) {
    say!(
        "  {:<10} {:<16} {:<12} closed {}  keep until {}  {}",
        short(r.state().as_str_name(), "RETAINED_STATE_"),
        r.source,
        r.record_kind,
        time(r.close_time.as_ref()),
        time(r.retain_until_time.as_ref()),
        r.summary
    );
}

async fn retention(a: &Archive, command: RetentionCommand) -> anyhow::Result<()> {
    let mut client = RetentionServiceClient::new(a.channel.clone());
    match command {
        RetentionCommand::List => {
            let mut page_token = String::new();
            let mut first_page = true;
            loop {
                let page = call(
                    client.list_retained_records(pb::ListRetainedRecordsRequest {
                        property_id: a.p(),
                        state: 0,
                        page_size: 500,
                        page_token,
                    }),
                )
                .await?;
                page.records.iter().for_each(print_record);
                if page.next_page_token.is_empty() {
                    if page.records.is_empty() && first_page {
                        say!("no records handed over");
                    }
                    break;
                }
                first_page = false;
                page_token = page.next_page_token;
            }
        }
        RetentionCommand::Propose { request_id: rid } => {
            match call(client.propose_destruction(pb::ProposeDestructionRequest {
                property_id: a.p(),
                request_id: request_id(rid),
            }))
            .await?
            .proposal
            {
                Some(p) => print_proposal(&p),
                None => say!("nothing is past its retention"),
            }
        }
        RetentionCommand::Approve { proposal } => {
            let p = call(client.approve_destruction(pb::ApproveDestructionRequest {
                property_id: a.p(),
                destruction_proposal_id: proposal,
            }))
            .await?
            .proposal
            .unwrap_or_default();
            print_proposal(&p);
        }
        RetentionCommand::Show { proposal } => {
            let p = call(
                client.get_destruction_proposal(pb::GetDestructionProposalRequest {
                    property_id: a.p(),
                    destruction_proposal_id: proposal,
                }),
            )
            .await?
            .proposal
            .unwrap_or_default();
            print_proposal(&p);
        }
    }
    Ok(())
}
