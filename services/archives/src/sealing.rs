//! Documents stored in clear before content was sealed at rest (ARC-6): sealed in place once,
//! in the background from start-up, so that no ID card copy stays readable on disk or in the
//! bucket. Documents never change (ARC-9), so none would otherwise be sealed by a re-upload.
//! Until its turn, such a document is still read as it is (its content has no sealed header).

use wuye_kit::db::Db;

use crate::{
    blobs::{DocumentStore, SealedInPlace},
    store,
};

/// Documents looked at per query.
const PAGE: i64 = 100;

/// Seals every document still stored in clear, one after the other; one that fails (content
/// missing, or not matching its recorded hash) is logged and left as it is.
pub async fn seal_clear_documents(db: Db, documents: DocumentStore) {
    let (mut sealed, mut failed) = (0u64, 0u64);
    let mut after = String::new();
    loop {
        let page = match store::documents::in_clear(&db, &after, PAGE).await {
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
