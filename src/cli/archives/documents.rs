//! Documents streamed in (filed, or correcting one: ARC-9) and out (within an approved access
//! request), and copies made in the archive room (ARC-10).

use std::io::Read;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::Args;
use wuye::connect::call;
use wuye_proto::archives::{
    self as pb, document_service_client::DocumentServiceClient, download_document_response,
    upload_document_request,
};

use super::files::print_document;
use super::{CategoryArg, file};
use crate::cli::Session;
use crate::cli::input::request_id;
use crate::cli::output::{say, time};

/// The size of the pieces a document travels in.
const CHUNK: usize = 64 * 1024;

#[derive(Args)]
pub(super) struct UploadArgs {
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
}

#[derive(Args)]
pub(super) struct CopyArgs {
    document: String,
    #[arg(long)]
    access: String,
    #[arg(long, default_value_t = 1)]
    copies: i32,
    #[arg(long)]
    purpose: String,
    #[arg(long)]
    request_id: Option<String>,
}

pub(super) async fn upload(s: &Session, a: UploadArgs) -> anyhow::Result<()> {
    let file = file(s, &a.household).await?;
    let path = a.path;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let header = pb::DocumentHeader {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        household_file_id: file.id,
        category: a
            .category
            .map(|c| pb::DocumentCategory::from(c).into())
            .unwrap_or_default(),
        title: a.title.unwrap_or_else(|| name.clone()),
        content_type: a
            .content_type
            .unwrap_or_else(|| guess_content_type(&name).into()),
        supersedes_document_id: a.corrects.unwrap_or_default(),
        correction_reason: a.reason.unwrap_or_default(),
        sha256: String::new(),
    };
    let source =
        std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let failure = Arc::new(Mutex::new(None));
    let messages = std::iter::once(pb::UploadDocumentRequest {
        part: Some(upload_document_request::Part::Header(header)),
    })
    .chain(Chunks {
        source,
        failure: failure.clone(),
        done: false,
    });
    let mut documents = s.client(DocumentServiceClient::new);
    let result = call(documents.upload_document(futures::stream::iter(messages))).await;
    if let Some(e) = failure.lock().map(|mut f| f.take()).unwrap_or_default() {
        return Err(e).with_context(|| format!("reading {}", path.display()));
    }
    print_document(&result?.document.unwrap_or_default(), "");
    Ok(())
}

pub(super) async fn download(
    s: &Session,
    document: String,
    access: String,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let mut documents = s.client(DocumentServiceClient::new);
    let mut stream = call(documents.download_document(pb::DownloadDocumentRequest {
        property_id: s.p(),
        document_id: document,
        access_request_id: access,
    }))
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
    std::fs::rename(&partial, out)?;
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
    Ok(())
}

pub(super) async fn copy(s: &Session, a: CopyArgs) -> anyhow::Result<()> {
    let mut documents = s.client(DocumentServiceClient::new);
    let c = call(documents.record_copy(pb::RecordCopyRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        document_id: a.document,
        access_request_id: a.access,
        copies: a.copies,
        purpose: a.purpose,
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
