//! Household files (一户一档): opened from customer service's move-ins (ARC-3), complete once
//! every required category is present (ARC-4), with personal identifiers sealed at rest and
//! shown in clear only within an approval (ARC-6, ARC-11).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result, clock::SharedClock, db::Tx, properties::Properties, scope::Scope, seal::Sealed,
};

use super::{
    access,
    audit::{self, Subject},
};
use crate::{
    Archives,
    domain::{
        access::{Use, check_use},
        audit::Action,
        files::{self as rules, Category, FilingState, HouseholdFile},
    },
    store::{self, files::StoredFile},
};

/// A household file as it is shown: its filing state now, the categories present and
/// missing, its identifiers masked.
pub(crate) struct FileView {
    pub file: HouseholdFile,
    pub state: FilingState,
    pub present: BTreeSet<Category>,
    pub missing: Vec<Category>,
    pub masked_id_number: String,
    pub masked_phone: String,
}

/// The holder's personal data, in clear.
pub(crate) struct PersonalData {
    pub holder_name: String,
    pub id_number: String,
    pub phone: String,
}

/// A household that moved in, as customer service announced it.
pub struct MovedIn {
    pub property_id: String,
    pub seq: i64,
    pub household_id: String,
    pub unit_id: String,
    pub unit_label: String,
    pub moved_in_at: Option<DateTime<Utc>>,
}

pub(crate) async fn get(a: &Archives, scope: &Scope<'_>, id: &str) -> Result<FileView> {
    let file = household_file(a, scope, id).await?;
    view_of(a, scope, file).await
}

/// Files of the property after the id `after`, in the order they were opened, in `state` now
/// when given.
pub(crate) async fn list(
    a: &Archives,
    scope: &Scope<'_>,
    state: Option<FilingState>,
    after: &str,
    limit: i64,
) -> Result<Vec<FileView>> {
    let property = scope.property();
    let now = a.clock.now();
    let files = store::files::list(&a.db, &property.id, state, now, after, limit).await?;
    let ids: Vec<&str> = files.iter().map(|f| f.file.id.as_str()).collect();
    let mut present = store::files::categories(a.db.pool(), &ids).await?;
    let required = rules::required_categories(property)?;
    files
        .into_iter()
        .map(|f| {
            let categories = present.remove(&f.file.id).unwrap_or_default();
            view(a, f, categories, &required)
        })
        .collect()
}

/// Replaces the holder's name and identifiers, sealed (ARC-6, ARC-11).
pub(crate) async fn record_personal_data(
    a: &Archives,
    scope: &Scope<'_>,
    id: &str,
    data: PersonalData,
) -> Result<FileView> {
    let mut tx = a.db.begin().await?;
    let file = store::files::get(&mut *tx, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("household file", id))?;
    // rules ARC-6, ARC-11: identifiers are stored sealed, bound to their file and field.
    let seal = |field: &str, value: &str| -> Result<Option<Sealed>> {
        if value.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            a.keyring.seal(&seal_context(&file.file.id, field), value)?,
        ))
    };
    let id_sealed = seal("id_number", &data.id_number)?;
    let phone_sealed = seal("phone", &data.phone)?;
    store::files::record_personal_data(
        &mut tx,
        &file.file.id,
        &data.holder_name,
        id_sealed.as_ref(),
        phone_sealed.as_ref(),
        a.keyring.current_key_id(),
    )
    .await?;
    let subject = Subject {
        action: Action::RecordPersonalData,
        kind: "household_file",
        id: &file.file.id,
        access_request_id: "",
    };
    let happening = audit::done(a, scope, &subject, String::new());
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    get(a, scope, &file.file.id).await
}

/// The holder's personal data in clear, within an approved access request (ARC-11), read
/// into the register first (ARC-12).
pub(crate) async fn read_personal_data(
    a: &Archives,
    scope: &Scope<'_>,
    id: &str,
    access_request_id: &str,
) -> Result<PersonalData> {
    let file = household_file(a, scope, id).await?;
    let subject = Subject {
        action: Action::ReadPersonalData,
        kind: "household_file",
        id: &file.file.id,
        access_request_id,
    };
    let access = access::named(a, scope, access_request_id).await?;
    let now = a.clock.now();
    // rule ARC-11
    if let Err(refusal) = check_use(
        access.as_ref(),
        &scope.actor(),
        &file.file.id,
        Use::ReadPersonalData,
        now,
    ) {
        return Err(audit::refuse(a, scope, &subject, refusal).await);
    }
    let (id_number, phone) = open_identifiers(a, &file)?;
    // rule ARC-12: the reading is in the register before anything is shown.
    audit::record(a, audit::done(a, scope, &subject, String::new())).await?;
    Ok(PersonalData {
        holder_name: file.file.holder_name,
        id_number,
        phone,
    })
}

/// Opens the file of a household that moved in (ARC-3), inside the follower's transaction;
/// one household keeps one file whatever arrives twice.
pub async fn open_on_move_in(
    properties: &Properties,
    clock: &SharedClock,
    tx: &mut Tx,
    moved: MovedIn,
) -> Result<()> {
    let Ok(property) = properties.get(&moved.property_id) else {
        // Every service reads the same properties file; an unknown property means the
        // deployments disagree, which holding up every other property would not fix.
        tracing::error!(property = %moved.property_id, seq = moved.seq, "move-in of a property this deployment does not serve; no household file opened");
        return Ok(());
    };
    let now = clock.now();
    let moved_in_at = moved.moved_in_at.unwrap_or(now);
    let file = HouseholdFile {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property.id.clone(),
        household_id: moved.household_id,
        unit_id: moved.unit_id,
        unit_label: moved.unit_label,
        moved_in_at,
        // rule ARC-3
        filing_due_at: rules::filing_due(moved_in_at, property),
        filed_at: None,
        opened_at: now,
        holder_name: String::new(),
    };
    if store::files::open(tx, &file).await? {
        tracing::info!(property = %file.property_id, unit = %file.unit_label, due = %file.filing_due_at, "household file opened");
    }
    Ok(())
}

/// The household file `id` of the property, as stored.
pub(crate) async fn household_file(
    a: &Archives,
    scope: &Scope<'_>,
    id: &str,
) -> Result<StoredFile> {
    store::files::get(a.db.pool(), &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("household file", id))
}

/// The associated data a personal identifier is sealed with.
fn seal_context(file_id: &str, field: &str) -> String {
    format!("household_file/{file_id}/{field}")
}

fn open_identifiers(a: &Archives, file: &StoredFile) -> Result<(String, String)> {
    let open = |field: &str, sealed: &Option<Sealed>| -> Result<String> {
        match sealed {
            None => Ok(String::new()),
            Some(s) => Ok(a.keyring.open(&seal_context(&file.file.id, field), s)?),
        }
    };
    Ok((
        open("id_number", &file.id_number)?,
        open("phone", &file.phone)?,
    ))
}

async fn view_of(a: &Archives, scope: &Scope<'_>, file: StoredFile) -> Result<FileView> {
    let mut present = store::files::categories(a.db.pool(), &[&file.file.id]).await?;
    let categories = present.remove(&file.file.id).unwrap_or_default();
    let required = rules::required_categories(scope.property())?;
    view(a, file, categories, &required)
}

fn view(
    a: &Archives,
    stored: StoredFile,
    present: BTreeSet<Category>,
    required: &BTreeSet<Category>,
) -> Result<FileView> {
    // Masked for lists and views: the clear values only within an approval (ARC-11).
    let (id_number, phone) = open_identifiers(a, &stored)?;
    let mask = |value: &str, mask: fn(&str) -> String| {
        if value.is_empty() {
            String::new()
        } else {
            mask(value)
        }
    };
    Ok(FileView {
        state: stored.file.filing_state(a.clock.now()),
        missing: rules::missing(&present, required),
        present,
        masked_id_number: mask(&id_number, rules::mask_id_number),
        masked_phone: mask(&phone, rules::mask_phone),
        file: stored.file,
    })
}
