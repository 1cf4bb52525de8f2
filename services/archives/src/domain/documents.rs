//! Documents of household files. Never changed in place (ARC-9): a correction is the next
//! version of its lineage and the earlier versions stay.

use chrono::{DateTime, Utc};
use wuye_kit::identity::Actor;

use super::{Refusal, files::Category};

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub property_id: String,
    pub household_file_id: String,
    pub category: Category,
    pub title: String,
    pub content_type: String,
    /// The first version's id, shared by every version.
    pub lineage_id: String,
    pub version: i32,
    pub supersedes_id: Option<String>,
    pub superseded: bool,
    pub correction_reason: String,
    pub size_bytes: i64,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// Where the content is in the document store.
    pub blob_key: String,
    /// The keyring key the content is sealed under at rest (ARC-6); `None` for content
    /// stored in clear before documents were sealed, until it is sealed in place.
    pub content_key_id: Option<String>,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: Actor,
}

pub const MAX_TITLE: usize = 200;
pub const MAX_CONTENT_TYPE: usize = 100;
pub const MAX_REASON: usize = 500;
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// The lineage, version and category of a correction of `earlier` (ARC-9): the next version,
/// same household file and category; only the latest version is corrected.
pub fn correction_of(
    earlier: &Document,
    household_file_id: &str,
    category: Option<Category>,
) -> Result<(String, i32, Category), Refusal> {
    if earlier.household_file_id != household_file_id {
        return Err(Refusal::rule(
            "CORRECTION_OUTSIDE_FILE",
            "a correction belongs to the household file of the document it corrects",
        ));
    }
    if category.is_some_and(|c| c != earlier.category) {
        return Err(Refusal::rule(
            "CORRECTION_CHANGES_CATEGORY",
            "a correction keeps the category of the document it corrects",
        ));
    }
    if earlier.superseded {
        return Err(Refusal::rule(
            "DOCUMENT_SUPERSEDED",
            "this version was corrected already: correct the latest version",
        ));
    }
    Ok((
        earlier.lineage_id.clone(),
        earlier.version + 1,
        earlier.category,
    ))
}

/// Where a document's content is kept: by property and its own id, so a new version never
/// lands on an old one's content.
pub fn blob_key(property_id: &str, document_id: &str) -> String {
    format!("{property_id}/{document_id}")
}

pub fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A MIME type such as "application/pdf".
pub fn is_content_type(value: &str) -> bool {
    let mut parts = value.splitn(2, '/');
    let ok = |s: Option<&str>| {
        s.is_some_and(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+;= ".contains(&b))
        })
    };
    ok(parts.next()) && ok(parts.next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        Document {
            id: "d1".into(),
            property_id: "p".into(),
            household_file_id: "f1".into(),
            category: Category::House,
            title: "房屋交付验收单".into(),
            content_type: "application/pdf".into(),
            lineage_id: "d1".into(),
            version: 1,
            supersedes_id: None,
            superseded: false,
            correction_reason: String::new(),
            size_bytes: 10,
            sha256: "0".repeat(64),
            blob_key: "p/d1".into(),
            content_key_id: Some("dev".into()),
            uploaded_at: chrono::DateTime::UNIX_EPOCH,
            uploaded_by: Actor {
                user_id: "u".into(),
                name: "n".into(),
                role: "cs_clerk".into(),
            },
        }
    }

    #[test]
    fn a_correction_is_the_next_version_of_the_same_lineage() {
        // rule ARC-9
        assert_eq!(
            correction_of(&doc(), "f1", None).unwrap(),
            ("d1".into(), 2, Category::House)
        );
        assert_eq!(
            correction_of(&doc(), "f1", Some(Category::House))
                .unwrap()
                .1,
            2
        );
    }

    #[test]
    fn corrections_stay_in_file_category_and_latest_version() {
        // rule ARC-9
        let reason = |r: Result<_, Refusal>| r.unwrap_err().reason();
        assert_eq!(
            reason(correction_of(&doc(), "f2", None)),
            "CORRECTION_OUTSIDE_FILE"
        );
        assert_eq!(
            reason(correction_of(&doc(), "f1", Some(Category::Fees))),
            "CORRECTION_CHANGES_CATEGORY"
        );
        let mut old = doc();
        old.superseded = true;
        assert_eq!(
            reason(correction_of(&old, "f1", None)),
            "DOCUMENT_SUPERSEDED"
        );
    }

    #[test]
    fn hashes_and_content_types() {
        assert!(is_sha256_hex(&"a".repeat(64)));
        assert!(!is_sha256_hex(&"A".repeat(64)));
        assert!(!is_sha256_hex("abc"));
        assert!(is_content_type("application/pdf"));
        assert!(is_content_type("image/jpeg"));
        assert!(!is_content_type("pdf"));
        assert!(!is_content_type("a/b\n"));
    }
}
