use std::pin::Pin;

use bytes::Bytes;
use futures::StreamExt;
use prost::Message as _;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, Streaming};
use wuye_kit::{Error, Result, Violations, idempotency::RequestId, identity, page};
use wuye_proto::archives::{
    self as pb, document_service_server::DocumentService, download_document_response,
    upload_document_request,
};

use super::{MAX_ID, MAX_REQUEST_ID};
use crate::{
    Archives,
    app::documents::{self as app, Content, NewCopy, Upload},
    blobs::ReadError,
    domain::{access::MAX_PURPOSE, documents as rules, files::Category},
};

type DownloadStream =
    Pin<Box<dyn Stream<Item = Result<pb::DownloadDocumentResponse, Status>> + Send>>;

/// The most copies one record may count.
const MAX_COPIES: i32 = 100;

#[tonic::async_trait]
impl DocumentService for Archives {
    async fn upload_document(
        &self,
        request: Request<Streaming<pb::UploadDocumentRequest>>,
    ) -> Result<Response<pb::UploadDocumentResponse>, Status> {
        let caller = identity::caller(&request)?;
        let mut stream = request.into_inner();
        let header = match stream.message().await? {
            Some(pb::UploadDocumentRequest {
                part: Some(upload_document_request::Part::Header(header)),
            }) => header,
            _ => {
                return Err(
                    Error::invalid("header", "the first message must be the header").into(),
                );
            }
        };
        let scope = self.properties.scope_of(caller, &header.property_id)?;
        let upload = upload(header)?;
        let content = stream.map(|message| match message {
            Ok(pb::UploadDocumentRequest {
                part: Some(upload_document_request::Part::Chunk(chunk)),
            }) => Ok(Bytes::from(chunk)),
            Ok(_) => Err(Status::from(Error::invalid(
                "chunk",
                "only the first message is a header",
            ))),
            Err(status) => Err(status),
        });
        let document = app::upload(self, &scope, upload, content).await?;
        Ok(Response::new(pb::UploadDocumentResponse {
            document: Some(document.into()),
        }))
    }

    type DownloadDocumentStream = DownloadStream;

    async fn download_document(
        &self,
        request: Request<pb::DownloadDocumentRequest>,
    ) -> Result<Response<Self::DownloadDocumentStream>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.required_text("document_id", &req.document_id, MAX_ID);
        v.max_text("access_request_id", &req.access_request_id, MAX_ID);
        v.check()?;
        let (document, content) =
            app::download(self, &scope, &req.document_id, &req.access_request_id).await?;
        let expected = document.sha256.clone();
        let first = pb::DownloadDocumentResponse {
            part: Some(download_document_response::Part::Document(document.into())),
        };
        Ok(Response::new(send(first, content, expected)))
    }

    async fn list_documents(
        &self,
        request: Request<pb::ListDocumentsRequest>,
    ) -> Result<Response<pb::ListDocumentsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.required_text("household_file_id", &req.household_file_id, MAX_ID);
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let documents = app::list(self, &scope, &req.household_file_id, &after, limit).await?;
        let next_page_token = page::next_token(&documents, limit, |d| d.id.clone());
        Ok(Response::new(pb::ListDocumentsResponse {
            documents: documents.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn record_copy(
        &self,
        request: Request<pb::RecordCopyRequest>,
    ) -> Result<Response<pb::RecordCopyResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("document_id", &req.document_id, MAX_ID);
        v.max_text("access_request_id", &req.access_request_id, MAX_ID);
        if !(1..=MAX_COPIES).contains(&req.copies) {
            v.add("copies", format!("must be 1 to {MAX_COPIES}"));
        }
        v.required_text("purpose", &req.purpose, MAX_PURPOSE);
        v.check()?;
        let new = NewCopy {
            document_id: req.document_id,
            access_request_id: req.access_request_id,
            copies: req.copies,
            purpose: req.purpose.trim().to_owned(),
        };
        let copy = app::record_copy(self, &scope, &request_id, new).await?;
        Ok(Response::new(pb::RecordCopyResponse {
            copy: Some(copy.into()),
        }))
    }
}

/// The upload's header, every field checked at once.
fn upload(header: pb::DocumentHeader) -> Result<Upload> {
    let mut v = Violations::new();
    v.required_text("header.request_id", &header.request_id, MAX_REQUEST_ID);
    v.required_text(
        "header.household_file_id",
        &header.household_file_id,
        MAX_ID,
    );
    let category = wuye_kit::from_proto::<pb::DocumentCategory, Category>(header.category);
    let correcting = !header.supersedes_document_id.is_empty();
    if category.is_none() && (header.category != 0 || !correcting) {
        v.add(
            "header.category",
            "must be one of personal, family, house, decoration, fees, photos",
        );
    }
    v.required_text("header.title", &header.title, rules::MAX_TITLE);
    let content_type = match header.content_type.trim() {
        "" => rules::DEFAULT_CONTENT_TYPE.to_owned(),
        t => t.to_ascii_lowercase(),
    };
    if content_type.len() > rules::MAX_CONTENT_TYPE || !rules::is_content_type(&content_type) {
        v.add("header.content_type", "is not a MIME type");
    }
    v.max_text(
        "header.supersedes_document_id",
        &header.supersedes_document_id,
        MAX_ID,
    );
    if correcting {
        v.required_text(
            "header.correction_reason",
            &header.correction_reason,
            rules::MAX_REASON,
        );
    } else if !header.correction_reason.is_empty() {
        v.add(
            "header.correction_reason",
            "is given only with supersedes_document_id",
        );
    }
    if !header.sha256.is_empty() && !rules::is_sha256_hex(&header.sha256) {
        v.add("header.sha256", "must be 64 lowercase hex digits");
    }
    v.check()?;
    Ok(Upload {
        header: header.encode_to_vec(),
        title: header.title.trim().to_owned(),
        correction_reason: header.correction_reason.trim().to_owned(),
        supersedes_id: correcting.then_some(header.supersedes_document_id),
        request_id: header.request_id,
        household_file_id: header.household_file_id,
        category,
        content_type,
        sha256: header.sha256,
    })
}

/// The answer's stream: the document first, then its content in chunks, checked against its
/// recorded hash as it goes.
fn send(first: pb::DownloadDocumentResponse, content: Content, expected: String) -> DownloadStream {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if tx.send(Ok(first)).await.is_err() {
            return;
        }
        let mut content = content;
        let mut hasher = Sha256::new();
        while let Some(piece) = content.next().await {
            let item = match piece {
                Ok(bytes) => {
                    hasher.update(&bytes);
                    Ok(pb::DownloadDocumentResponse {
                        part: Some(download_document_response::Part::Chunk(bytes.to_vec())),
                    })
                }
                // rule ARC-6: what does not open is never given out; the reader learns it
                // is damaged, the log says how.
                Err(e @ ReadError::Damaged(_)) => {
                    tracing::error!(error = %e, "stored document content does not open");
                    Err(Status::data_loss(
                        "document content is damaged in the store",
                    ))
                }
                Err(e @ ReadError::Store(_)) => {
                    tracing::error!(error = %e, "reading document content failed");
                    Err(Status::internal("internal error"))
                }
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
        // The store gave something other than what was filed: say so instead of
        // letting the reader trust it.
        if hex::encode(hasher.finalize()) != expected {
            tracing::error!("document content does not match its recorded hash");
            let _ = tx
                .send(Err(Status::data_loss(
                    "document content does not match its hash",
                )))
                .await;
        }
    });
    Box::pin(ReceiverStream::new(rx))
}
