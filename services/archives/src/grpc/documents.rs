use prost::Message as _;
use std::pin::Pin;

use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, Streaming};
use wuye_kit::{
    Error, Result, Violations,
    db::to_micros,
    idempotency::RequestId,
    idempotency::{self, Claim},
    identity::{self, Caller},
    page,
    time::to_timestamp,
};
use wuye_proto::archives::{
    self as pb, document_service_server::DocumentService, download_document_response,
    upload_document_request,
};

use super::{
    MAX_ID, MAX_REQUEST_ID, Subject, after_id, category_from_proto, category_to_proto, next_token,
};
use crate::{
    Archives,
    blobs::{ReadError, WriteError},
    domain::{
        access::{MAX_PURPOSE, Use, check_use},
        audit::{Action, Outcome},
        documents::{self as rules, Document},
        files,
    },
    store::{self, access::Copy},
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
        let property = self.properties.for_call(&caller, &header.property_id)?;
        let mut v = Violations::new();
        v.required_text("header.request_id", &header.request_id, MAX_REQUEST_ID);
        v.required_text(
            "header.household_file_id",
            &header.household_file_id,
            MAX_ID,
        );
        let category = category_from_proto(header.category);
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

        let scope = format!("UploadDocument/{}", property.id);
        // Checked before the content travels; checked again where the record is written.
        self.household_file(&property.id, &header.household_file_id)
            .await?;
        if correcting {
            let earlier = self
                .document(&property.id, &header.supersedes_document_id)
                .await?;
            rules::correction_of(&earlier, &header.household_file_id, category)
                .map_err(Error::from)?;
        }

        let id = uuid::Uuid::now_v7().to_string();
        let key = rules::blob_key(&property.id, &id);
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
        let written = match self
            .documents
            .write(&key, content, self.max_document_bytes)
            .await
        {
            Ok(w) => w,
            Err(WriteError::TooLarge(max)) => {
                return Err(Error::invalid(
                    "chunk",
                    format!("the document is larger than {max} bytes"),
                )
                .into());
            }
            Err(WriteError::Source(status)) => return Err(status),
            Err(WriteError::Store(e)) => return Err(Error::Internal(e).into()),
        };
        let mut invalid = Violations::new();
        if written.size_bytes == 0 {
            invalid.add("chunk", "the document is empty");
        }
        if !header.sha256.is_empty() && header.sha256 != written.sha256 {
            invalid.add("header.sha256", "does not match the content received");
        }
        if !invalid.is_empty() {
            self.documents.remove(&key).await;
            return Err(invalid.check().unwrap_err().into());
        }

        let now = self.clock.now();
        // The same request is the same header and the same content.
        let mut asked = header.encode_to_vec();
        asked.extend_from_slice(written.sha256.as_bytes());
        let request_id = RequestId::of_bytes(&caller, &header.request_id, &asked);
        let filed = async {
            let mut tx = self.db.begin().await?;
            if let Claim::Retry(first) = idempotency::claim(
                &mut tx,
                &self.keyring,
                &scope,
                &request_id,
                &id,
                to_micros(now),
            )
            .await?
            {
                return Ok::<_, Error>(Err(first));
            }
            let file = store::files::get(&mut *tx, &property.id, &header.household_file_id)
                .await?
                .ok_or_else(|| Error::not_found("household file", &header.household_file_id))?;
            let (lineage_id, version, category) = if correcting {
                let earlier =
                    store::documents::get(&mut *tx, &property.id, &header.supersedes_document_id)
                        .await?
                        .ok_or_else(|| {
                            Error::not_found("document", &header.supersedes_document_id)
                        })?;
                // rule ARC-9: a correction is the next version; the earlier stays.
                rules::correction_of(&earlier, &file.file.id, category)?
            } else {
                (id.clone(), 1, category.expect("checked above"))
            };
            let document = Document {
                id: id.clone(),
                property_id: property.id.clone(),
                household_file_id: file.file.id.clone(),
                category,
                title: header.title.trim().to_owned(),
                content_type,
                lineage_id,
                version,
                supersedes_id: correcting.then(|| header.supersedes_document_id.clone()),
                superseded: false,
                correction_reason: header.correction_reason.trim().to_owned(),
                size_bytes: written.size_bytes,
                sha256: written.sha256.clone(),
                blob_key: key.clone(),
                content_key_id: Some(written.key_id.clone()),
                uploaded_at: now,
                uploaded_by: caller.actor(),
            };
            store::documents::insert(&mut tx, &document).await?;
            // rule ARC-4: the file is complete once every required category is present.
            if file.file.filed_at.is_none() {
                let present = store::files::categories(&mut *tx, &[&file.file.id]).await?;
                let required = files::required_categories(property)?;
                if present
                    .get(&file.file.id)
                    .is_some_and(|p| files::is_complete(p, &required))
                {
                    store::files::mark_filed(&mut tx, &file.file.id, now).await?;
                }
            }
            let subject = Subject {
                property_id: &property.id,
                action: Action::UploadDocument,
                kind: "document",
                id: &id,
                access_request_id: "",
            };
            let detail = format!(
                "{} v{} {} bytes sha256 {}",
                category.code(),
                version,
                written.size_bytes,
                written.sha256
            );
            store::audit::append(
                &mut tx,
                &self.keyring,
                self.happening(&caller, &subject, Outcome::Done, "", detail),
            )
            .await?;
            tx.commit().await?;
            Ok(Ok(document))
        }
        .await;
        let document = match filed {
            Ok(Ok(document)) => document,
            Ok(Err(first)) => {
                self.documents.remove(&key).await;
                self.document(&property.id, &first).await?
            }
            Err(e) => {
                self.documents.remove(&key).await;
                return Err(e.into());
            }
        };
        tracing::info!(property = %property.id, document = %document.id, bytes = document.size_bytes, "document filed");
        Ok(Response::new(pb::UploadDocumentResponse {
            document: Some(to_proto(document)),
        }))
    }

    type DownloadDocumentStream = DownloadStream;

    async fn download_document(
        &self,
        request: Request<pb::DownloadDocumentRequest>,
    ) -> Result<Response<Self::DownloadDocumentStream>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("document_id", &req.document_id, MAX_ID);
        v.max_text("access_request_id", &req.access_request_id, MAX_ID);
        v.check()?;
        let document = self.document(&property.id, &req.document_id).await?;
        let subject = Subject {
            property_id: &property.id,
            action: Action::ReadDocument,
            kind: "document",
            id: &document.id,
            access_request_id: &req.access_request_id,
        };
        self.check_document_use(
            &caller,
            &subject,
            &document,
            Use::ReadDocument(&document.id),
        )
        .await?;
        if let Some(key_id) = &document.content_key_id
            && !self.keyring.holds_key(key_id)
        {
            return Err(Error::Internal(anyhow::anyhow!(
                "document {} is sealed under key {key_id}, which is not in the keyring",
                document.id
            ))
            .into());
        }
        let sealed = document.content_key_id.is_some();
        let content = self
            .documents
            .read(&document.blob_key, sealed)
            .await
            .map_err(|e| {
                Error::Internal(anyhow::anyhow!(
                    "document content is missing from the store: {e}"
                ))
            })?;
        // rule ARC-12: the reading is in the register before the content leaves.
        let happening = self.happening(&caller, &subject, Outcome::Done, "", String::new());
        store::audit::record(&self.db, &self.keyring, happening).await?;

        let (tx, rx) = mpsc::channel(4);
        let expected = document.sha256.clone();
        let first = pb::DownloadDocumentResponse {
            part: Some(download_document_response::Part::Document(to_proto(
                document,
            ))),
        };
        tokio::spawn(async move {
            if tx.send(Ok(first)).await.is_err() {
                return;
            }
            let mut content = Box::pin(content);
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
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn list_documents(
        &self,
        request: Request<pb::ListDocumentsRequest>,
    ) -> Result<Response<pb::ListDocumentsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("household_file_id", &req.household_file_id, MAX_ID);
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let after = after_id(&req.page_token)?;
        let documents = store::documents::list(
            &self.db,
            &property.id,
            &req.household_file_id,
            &after,
            limit,
        )
        .await?;
        let next_page_token = next_token(&documents, limit, |d| d.id.clone());
        Ok(Response::new(pb::ListDocumentsResponse {
            documents: documents.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn record_copy(
        &self,
        request: Request<pb::RecordCopyRequest>,
    ) -> Result<Response<pb::RecordCopyResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("document_id", &req.document_id, MAX_ID);
        v.max_text("access_request_id", &req.access_request_id, MAX_ID);
        if !(1..=MAX_COPIES).contains(&req.copies) {
            v.add("copies", format!("must be 1 to {MAX_COPIES}"));
        }
        v.required_text("purpose", &req.purpose, MAX_PURPOSE);
        v.check()?;
        let document = self.document(&property.id, &req.document_id).await?;
        let subject = Subject {
            property_id: &property.id,
            action: Action::CopyDocument,
            kind: "document",
            id: &document.id,
            access_request_id: &req.access_request_id,
        };
        // rules ARC-9, ARC-10
        self.check_document_use(
            &caller,
            &subject,
            &document,
            Use::CopyDocument(&document.id),
        )
        .await?;
        let now = self.clock.now();
        let copy = Copy {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            document_id: document.id.clone(),
            access_request_id: req.access_request_id.clone(),
            copies: req.copies,
            purpose: req.purpose.trim().to_owned(),
            copied_by: caller.actor(),
            copied_at: now,
        };
        let mut tx = self.db.begin().await?;
        let scope = format!("RecordCopy/{}", property.id);
        let copy = match idempotency::claim(
            &mut tx,
            &self.keyring,
            &scope,
            &request_id,
            &copy.id,
            to_micros(now),
        )
        .await?
        {
            Claim::Retry(first) => {
                tx.rollback().await?;
                store::access::get_copy(&self.db, &property.id, &first)
                    .await?
                    .ok_or_else(|| Error::not_found("copy record", first))?
            }
            Claim::New => {
                store::access::insert_copy(&mut tx, &copy).await?;
                let detail = format!("{} copies", copy.copies);
                store::audit::append(
                    &mut tx,
                    &self.keyring,
                    self.happening(&caller, &subject, Outcome::Done, "", detail),
                )
                .await?;
                tx.commit().await?;
                copy
            }
        };
        Ok(Response::new(pb::RecordCopyResponse {
            copy: Some(pb::CopyRecord {
                id: copy.id,
                property_id: copy.property_id,
                document_id: copy.document_id,
                access_request_id: copy.access_request_id,
                copies: copy.copies,
                purpose: copy.purpose,
                copied_by: Some(copy.copied_by.to_proto()),
                copy_time: Some(to_timestamp(copy.copied_at)),
            }),
        }))
    }
}

impl Archives {
    async fn document(&self, property_id: &str, id: &str) -> Result<Document> {
        store::documents::get(self.db.pool(), property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("document", id))
    }

    /// ARC-9, ARC-11: refuses (and registers the refusal) unless the caller's approved
    /// access request covers this use of the document.
    async fn check_document_use(
        &self,
        caller: &Caller,
        subject: &Subject<'_>,
        document: &Document,
        what: Use<'_>,
    ) -> Result<(), Status> {
        let access = self
            .access_request(subject.property_id, subject.access_request_id)
            .await?;
        let now = self.clock.now();
        match check_use(
            access.as_ref(),
            &caller.actor(),
            &document.household_file_id,
            what,
            now,
        ) {
            Ok(()) => Ok(()),
            Err(refusal) => Err(self.refuse(caller, subject, refusal).await),
        }
    }
}

fn to_proto(d: Document) -> pb::Document {
    pb::Document {
        id: d.id,
        property_id: d.property_id,
        household_file_id: d.household_file_id,
        category: category_to_proto(d.category).into(),
        title: d.title,
        content_type: d.content_type,
        version: d.version,
        supersedes_document_id: d.supersedes_id.unwrap_or_default(),
        superseded: d.superseded,
        correction_reason: d.correction_reason,
        size_bytes: d.size_bytes,
        sha256: d.sha256,
        upload_time: Some(to_timestamp(d.uploaded_at)),
        uploaded_by: Some(d.uploaded_by.to_proto()),
    }
}
