//! Household files (ARC-1 to ARC-4): the list, and one file with its documents.

use wuye_proto::archives as pb;

use super::{categories, documents_of, file, list_files};
use crate::cli::Session;
use crate::cli::output::{left, say, short, time};

pub(super) async fn list(s: &Session, late: bool) -> anyhow::Result<()> {
    let files = if late {
        let mut files = list_files(s, pb::FilingState::Overdue).await?;
        files.extend(list_files(s, pb::FilingState::FiledLate).await?);
        files
    } else {
        list_files(s, pb::FilingState::Unspecified).await?
    };
    for f in &files {
        print_file_line(f);
    }
    if files.is_empty() {
        say!("no household files");
    }
    Ok(())
}

pub(super) async fn show(s: &Session, text: &str) -> anyhow::Result<()> {
    let f = file(s, text).await?;
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
    for d in documents_of(s, &f.id).await? {
        print_document(&d, "  ");
    }
    Ok(())
}

fn print_file_line(f: &pb::HouseholdFile) {
    say!(
        "{} {} due {}  filed {}  missing {}  {}",
        left(&f.unit_label, 12),
        left(&short(f.filing_state().as_str_name(), "FILING_STATE_"), 10),
        time(f.filing_due_time.as_ref()),
        time(f.filed_time.as_ref()),
        categories(&f.missing_categories),
        f.id
    );
}

/// A document; indented under its household file.
pub(super) fn print_document(d: &pb::Document, indent: &str) {
    say!(
        "{indent}document {}  {} v{}{}  {}  {} bytes  sha256 {}…",
        d.id,
        left(&short(d.category().as_str_name(), "DOCUMENT_CATEGORY_"), 10),
        d.version,
        if d.superseded { " (superseded)" } else { "" },
        d.title,
        d.size_bytes,
        d.sha256.get(..12).unwrap_or(&d.sha256)
    );
}
