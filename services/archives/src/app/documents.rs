//! Documents of household files: uploaded and sealed at rest (ARC-6), never changed, corrected
//! only by a next version (ARC-9), read and copied only within an approved access request
//! (ARC-9 to ARC-11), every use in the register (ARC-12).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, stream::BoxStream};
use tonic::Status;
use wuye_kit::{
    Error, Result, Violations,
    db::{Db, Tx},
    idempotency::{Claim, RequestId},
    scope::Scope,
};

use super::{
    access,
    audit::{self, Subject},
    files::household_file,
};
use crate::{
    Archives,
    blobs::{DocumentStore, ReadError, SealedInPlace, WriteError, Written},
    domain::{
        access::{CopyRecord, Use, check_use},
        audit::Action,
        documents::{self as rules, Document},
        files::{self, Category},
    },
    store,
};

/// A document as its uploader describes it, its shape checked; the content follows.
pub(crate) struct Upload {
    pub request_id: String,
    /// The header as sent: with the content's digest, what the request id stands for.
    pub header: Vec<u8>,
    pub household_file_id: String,
    /// `None` only for a correction, which keeps the category of what it corrects.
    pub category: Option<Category>,
    pub supersedes_id: Option<String>,
    pub title: String,
    pub content_type: String,
    pub correction_reason: String,
    /// The SHA-256 the uploader expects, when given.
    pub sha256: String,
}

/// A copy made in the archive room, as asked for.
pub(crate) struct NewCopy {
    pub document_id: String,
    pub access_request_id: String,
    pub copies: i32,
    pub purpose: String,
}

/// The clear content of a document, piece by piece.
pub(crate) type Content = BoxStream<'static, Result<Bytes, ReadError>>;

/// Files a document: its content streamed to the document store sealed, then its record, the
/// file's completeness (ARC-4) and the register, together. A retry gives the first document.
/// Fails with the sender's own status when its stream breaks off.
pub(crate) async fn upload<S>(
    a: &Archives,
    scope: &Scope<'_>,
    up: Upload,
    content: S,
) -> Result<Document, Status>
where
    S: Stream<Item = Result<Bytes, Status>> + Unpin,
{
    let property_id = &scope.property().id;
    // Checked before the content travels; checked again where the record is written.
    household_file(a, scope, &up.household_file_id).await?;
    if let Some(supersedes) = &up.supersedes_id {
        let earlier = document(a, scope, supersedes).await?;
        rules::correction_of(&earlier, &up.household_file_id, up.category).map_err(Error::from)?;
    }
    let id = uuid::Uuid::now_v7().to_string();
    let key = rules::blob_key(property_id, &id);
    let written = match a.documents.write(&key, content, a.max_document_bytes).await {
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
    if !up.sha256.is_empty() && up.sha256 != written.sha256 {
        invalid.add("header.sha256", "does not match the content received");
    }
    if !invalid.is_empty() {
        a.documents.remove(&key).await;
        return Err(invalid.check().unwrap_err().into());
    }
    let document = match file(a, scope, &up, id, &key, &written).await {
        Ok(Ok(document)) => document,
        Ok(Err(first)) => {
            a.documents.remove(&key).await;
            document(a, scope, &first).await?
        }
        Err(e) => {
            a.documents.remove(&key).await;
            return Err(e.into());
        }
    };
    tracing::info!(property = %property_id, document = %document.id, bytes = document.size_bytes, "document filed");
    Ok(document)
}

/// The record of content written: the document, or the first document's id on a retry.
async fn file(
    a: &Archives,
    scope: &Scope<'_>,
    up: &Upload,
    id: String,
    key: &str,
    written: &Written,
) -> Result<Result<Document, String>> {
    let property = scope.property();
    let now = a.clock.now();
    // The same request is the same header and the same content.
    let mut asked = up.header.clone();
    asked.extend_from_slice(written.sha256.as_bytes());
    let request_id = RequestId::of_bytes(scope.caller(), &up.request_id, &asked);
    let mut tx = a.db.begin().await?;
    if let Claim::Retry(first) =
        super::claim(a, &mut tx, "UploadDocument", scope, &request_id, &id, now).await?
    {
        return Ok(Err(first));
    }
    let file = store::files::get(&mut *tx, &property.id, &up.household_file_id)
        .await?
        .ok_or_else(|| Error::not_found("household file", &up.household_file_id))?;
    let (lineage_id, version, category) = match &up.supersedes_id {
        Some(supersedes) => {
            let earlier = store::documents::get(&mut *tx, &property.id, supersedes)
                .await?
                .ok_or_else(|| Error::not_found("document", supersedes))?;
            // rule ARC-9: a correction is the next version; the earlier stays.
            rules::correction_of(&earlier, &file.file.id, up.category)?
        }
        None => (
            id.clone(),
            1,
            up.category.expect("checked by the transport"),
        ),
    };
    let document = Document {
        id: id.clone(),
        property_id: property.id.clone(),
        household_file_id: file.file.id.clone(),
        category,
        title: up.title.clone(),
        content_type: up.content_type.clone(),
        lineage_id,
        version,
        supersedes_id: up.supersedes_id.clone(),
        superseded: false,
        correction_reason: up.correction_reason.clone(),
        size_bytes: written.size_bytes,
        sha256: written.sha256.clone(),
        blob_key: key.to_owned(),
        content_key_id: Some(written.key_id.clone()),
        uploaded_at: now,
        uploaded_by: scope.actor(),
    };
    store::documents::insert(&mut tx, &document).await?;
    if file.file.filed_at.is_none() {
        mark_filed_when_complete(&mut tx, scope, &file.file.id, now).await?;
    }
    let subject = Subject {
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
    let happening = audit::done(a, scope, &subject, detail);
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    Ok(Ok(document))
}

/// ARC-4: the file is complete once every required category is present.
async fn mark_filed_when_complete(
    tx: &mut Tx,
    scope: &Scope<'_>,
    file_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let present = store::files::categories(&mut **tx, &[file_id]).await?;
    let required = files::required_categories(scope.property())?;
    if present
        .get(file_id)
        .is_some_and(|p| files::is_complete(p, &required))
    {
        store::files::mark_filed(tx, file_id, now).await?;
    }
    Ok(())
}

/// A document and its content, within an approved access request (ARC-9, ARC-11); the
/// reading is in the register before the content leaves (ARC-12).
pub(crate) async fn download(
    a: &Archives,
    scope: &Scope<'_>,
    id: &str,
    access_request_id: &str,
) -> Result<(Document, Content)> {
    let document = document(a, scope, id).await?;
    let subject = Subject {
        action: Action::ReadDocument,
        kind: "document",
        id: &document.id,
        access_request_id,
    };
    check_document_use(
        a,
        scope,
        &subject,
        &document,
        Use::ReadDocument(&document.id),
    )
    .await?;
    if let Some(key_id) = &document.content_key_id
        && !a.keyring.holds_key(key_id)
    {
        return Err(Error::Internal(anyhow::anyhow!(
            "document {} is sealed under key {key_id}, which is not in the keyring",
            document.id
        )));
    }
    let sealed = document.content_key_id.is_some();
    let content = a
        .documents
        .read(&document.blob_key, sealed)
        .await
        .map_err(|e| {
            Error::Internal(anyhow::anyhow!(
                "document content is missing from the store: {e}"
            ))
        })?;
    // rule ARC-12: the reading is in the register before the content leaves.
    audit::record(a, audit::done(a, scope, &subject, String::new())).await?;
    Ok((document, content.boxed()))
}

/// Every version of every document of a file, after the id `after`.
pub(crate) async fn list(
    a: &Archives,
    scope: &Scope<'_>,
    household_file_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<Document>> {
    store::documents::list(&a.db, &scope.property().id, household_file_id, after, limit).await
}

/// Registers copies made of a document (ARC-10), within an approved access request that
/// allows copying (ARC-9); a retry gives the first record.
pub(crate) async fn record_copy(
    a: &Archives,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewCopy,
) -> Result<CopyRecord> {
    let property_id = &scope.property().id;
    let document = document(a, scope, &new.document_id).await?;
    let subject = Subject {
        action: Action::CopyDocument,
        kind: "document",
        id: &document.id,
        access_request_id: &new.access_request_id,
    };
    // rules ARC-9, ARC-10
    check_document_use(
        a,
        scope,
        &subject,
        &document,
        Use::CopyDocument(&document.id),
    )
    .await?;
    let now = a.clock.now();
    let copy = CopyRecord {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        document_id: document.id.clone(),
        access_request_id: new.access_request_id.clone(),
        copies: new.copies,
        purpose: new.purpose,
        copied_by: scope.actor(),
        copied_at: now,
    };
    let mut tx = a.db.begin().await?;
    let claim = super::claim(a, &mut tx, "RecordCopy", scope, request_id, &copy.id, now).await?;
    if let Claim::Retry(first) = claim {
        tx.rollback().await?;
        return store::access::get_copy(&a.db, property_id, &first)
            .await?
            .ok_or_else(|| Error::not_found("copy record", first));
    }
    store::access::insert_copy(&mut tx, &copy).await?;
    let happening = audit::done(a, scope, &subject, format!("{} copies", copy.copies));
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    Ok(copy)
}

/// The document `id` of the property.
async fn document(a: &Archives, scope: &Scope<'_>, id: &str) -> Result<Document> {
    store::documents::get(a.db.pool(), &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("document", id))
}

/// ARC-9, ARC-11: refuses (and registers the refusal) unless the caller's approved access
/// request covers this use of the document.
async fn check_document_use(
    a: &Archives,
    scope: &Scope<'_>,
    subject: &Subject<'_>,
    document: &Document,
    what: Use<'_>,
) -> Result<()> {
    let access = access::named(a, scope, subject.access_request_id).await?;
    let now = a.clock.now();
    match check_use(
        access.as_ref(),
        &scope.actor(),
        &document.household_file_id,
        what,
        now,
    ) {
        Ok(()) => Ok(()),
        Err(refusal) => Err(audit::refuse(a, scope, subject, refusal).await),
    }
}

/// Documents looked at per query while sealing.
const SEALING_PAGE: i64 = 100;

/// From start-up: seals in place every document still stored in clear (ARC-6), one after the
/// other, so that no ID card copy stays readable on disk or in the bucket; documents never
/// change (ARC-9), so none would otherwise be sealed by a re-upload. Until its turn such a
/// document is read as it is. One that fails (content missing, or not matching its recorded
/// hash) is logged and left as it is.
pub async fn seal_clear_documents(db: Db, documents: DocumentStore) {
    let (mut sealed, mut failed) = (0u64, 0u64);
    let mut after = String::new();
    loop {
        let page = match store::documents::in_clear(&db, &after, SEALING_PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "listing documents stored in clear failed");
                break;
            }
        };
        let Some(last) = page.last() else {
            break;
        };
        after = last.id.clone();
        for document in page {
            let outcome = documents
                .seal_in_place(&document.blob_key, &document.sha256, document.size_bytes)
                .await;
            let key_id = match outcome {
                Ok(SealedInPlace::Sealed(key_id) | SealedInPlace::AlreadySealed(key_id)) => key_id,
                Err(e) => {
                    failed += 1;
                    tracing::error!(document = %document.id, error = %e, "a document stored in clear could not be sealed");
                    continue;
                }
            };
            match store::documents::mark_sealed(&db, &document.id, &key_id).await {
                Ok(()) => sealed += 1,
                Err(e) => {
                    failed += 1;
                    tracing::warn!(document = %document.id, error = %e, "recording a sealed document failed");
                }
            }
        }
    }
    if sealed > 0 || failed > 0 {
        tracing::info!(
            sealed,
            failed,
            "archives: documents stored in clear sealed at rest"
        );
    }
}
