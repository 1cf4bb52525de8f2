use std::collections::BTreeSet;

use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations, identity, page, properties::Property, seal::Sealed,
    time::to_timestamp,
};
use wuye_proto::archives::{self as pb, household_file_service_server::HouseholdFileService};

use super::{
    MAX_ID, Subject, after_id, category_to_proto, filing_state_from_proto, filing_state_to_proto,
    next_token,
};
use crate::{
    Archives,
    domain::{
        access::{Use, check_use},
        audit::{Action, Outcome},
        files::{self as rules, Category},
    },
    store::{self, files::StoredFile},
};

#[tonic::async_trait]
impl HouseholdFileService for Archives {
    async fn get_household_file(
        &self,
        request: Request<pb::GetHouseholdFileRequest>,
    ) -> Result<Response<pb::GetHouseholdFileResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let file = self
            .household_file(&property.id, &req.household_file_id)
            .await?;
        Ok(Response::new(pb::GetHouseholdFileResponse {
            household_file: Some(self.file_to_proto(property, file).await?),
        }))
    }

    async fn list_household_files(
        &self,
        request: Request<pb::ListHouseholdFilesRequest>,
    ) -> Result<Response<pb::ListHouseholdFilesResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let state = filing_state_from_proto(req.filing_state);
        if state.is_none() && req.filing_state != 0 {
            return Err(Error::invalid("filing_state", "is not a filing state").into());
        }
        let limit = page::page_size(req.page_size)?;
        let after = after_id(&req.page_token)?;
        let now = self.clock.now();
        let files = store::files::list(&self.db, &property.id, state, now, &after, limit).await?;
        let next_page_token = next_token(&files, limit, |f| f.file.id.clone());
        let ids: Vec<&str> = files.iter().map(|f| f.file.id.as_str()).collect();
        let mut present = store::files::categories(self.db.pool(), &ids).await?;
        let required = required(property)?;
        let household_files = files
            .into_iter()
            .map(|f| {
                let categories = present.remove(&f.file.id).unwrap_or_default();
                self.to_proto(f, &categories, &required)
            })
            .collect::<Result<_>>()?;
        Ok(Response::new(pb::ListHouseholdFilesResponse {
            household_files,
            next_page_token,
        }))
    }

    async fn record_personal_data(
        &self,
        request: Request<pb::RecordPersonalDataRequest>,
    ) -> Result<Response<pb::RecordPersonalDataResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("household_file_id", &req.household_file_id, MAX_ID);
        v.required_text("holder_name", &req.holder_name, rules::MAX_NAME);
        let id_number = req.id_number.trim();
        let phone = req.phone.trim();
        if !id_number.is_empty() && !rules::is_plausible_id_number(id_number) {
            v.add("id_number", "is not an ID document number");
        }
        if !phone.is_empty() && !rules::is_plausible_phone(phone) {
            v.add("phone", "is not a phone number");
        }
        v.check()?;

        let mut tx = self.db.begin().await?;
        let file = store::files::get(&mut *tx, &property.id, &req.household_file_id)
            .await?
            .ok_or_else(|| Error::not_found("household file", &req.household_file_id))?;
        // rules ARC-6, ARC-11: identifiers are stored sealed, bound to their file and field.
        let seal = |field: &str, value: &str| -> Result<Option<Sealed>> {
            if value.is_empty() {
                return Ok(None);
            }
            Ok(Some(
                self.keyring
                    .seal(&seal_context(&file.file.id, field), value)?,
            ))
        };
        let id_sealed = seal("id_number", id_number)?;
        let phone_sealed = seal("phone", phone)?;
        store::files::record_personal_data(
            &mut tx,
            &file.file.id,
            req.holder_name.trim(),
            id_sealed.as_ref(),
            phone_sealed.as_ref(),
            self.keyring.current_key_id(),
        )
        .await?;
        let subject = Subject {
            property_id: &property.id,
            action: Action::RecordPersonalData,
            kind: "household_file",
            id: &file.file.id,
            access_request_id: "",
        };
        let happening = self.happening(&caller, &subject, Outcome::Done, "", String::new());
        store::audit::append(&mut tx, &self.keyring, happening).await?;
        tx.commit().await?;
        let file = self.household_file(&property.id, &file.file.id).await?;
        Ok(Response::new(pb::RecordPersonalDataResponse {
            household_file: Some(self.file_to_proto(property, file).await?),
        }))
    }

    async fn read_personal_data(
        &self,
        request: Request<pb::ReadPersonalDataRequest>,
    ) -> Result<Response<pb::ReadPersonalDataResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("household_file_id", &req.household_file_id, MAX_ID);
        v.max_text("access_request_id", &req.access_request_id, MAX_ID);
        v.check()?;
        let file = self
            .household_file(&property.id, &req.household_file_id)
            .await?;
        let subject = Subject {
            property_id: &property.id,
            action: Action::ReadPersonalData,
            kind: "household_file",
            id: &file.file.id,
            access_request_id: &req.access_request_id,
        };
        let access = self
            .access_request(&property.id, &req.access_request_id)
            .await?;
        let now = self.clock.now();
        // rule ARC-11
        if let Err(refusal) = check_use(
            access.as_ref(),
            &caller.actor(),
            &file.file.id,
            Use::ReadPersonalData,
            now,
        ) {
            return Err(self.refuse(&caller, &subject, refusal).await);
        }
        let (id_number, phone) = self.open_identifiers(&file)?;
        // rule ARC-12: the reading is in the register before anything is shown.
        let happening = self.happening(&caller, &subject, Outcome::Done, "", String::new());
        store::audit::record(&self.db, &self.keyring, happening).await?;
        Ok(Response::new(pb::ReadPersonalDataResponse {
            holder_name: file.file.holder_name,
            id_number,
            phone,
        }))
    }
}

/// The associated data a personal identifier is sealed with.
fn seal_context(file_id: &str, field: &str) -> String {
    format!("household_file/{file_id}/{field}")
}

fn required(property: &Property) -> Result<BTreeSet<Category>> {
    Ok(rules::required_categories(property)?)
}

impl Archives {
    pub(crate) async fn household_file(&self, property_id: &str, id: &str) -> Result<StoredFile> {
        store::files::get(self.db.pool(), property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("household file", id))
    }

    /// The caller's access request when one is named and exists in the property.
    pub(crate) async fn access_request(
        &self,
        property_id: &str,
        id: &str,
    ) -> Result<Option<crate::domain::access::AccessRequest>> {
        if id.is_empty() {
            return Ok(None);
        }
        store::access::read(&self.db, property_id, id).await
    }

    fn open_identifiers(&self, file: &StoredFile) -> Result<(String, String)> {
        let open = |field: &str, sealed: &Option<Sealed>| -> Result<String> {
            match sealed {
                None => Ok(String::new()),
                Some(s) => Ok(self.keyring.open(&seal_context(&file.file.id, field), s)?),
            }
        };
        Ok((
            open("id_number", &file.id_number)?,
            open("phone", &file.phone)?,
        ))
    }

    async fn file_to_proto(
        &self,
        property: &Property,
        file: StoredFile,
    ) -> Result<pb::HouseholdFile> {
        let mut present = store::files::categories(self.db.pool(), &[&file.file.id]).await?;
        let categories = present.remove(&file.file.id).unwrap_or_default();
        self.to_proto(file, &categories, &required(property)?)
    }

    fn to_proto(
        &self,
        stored: StoredFile,
        present: &BTreeSet<Category>,
        required: &BTreeSet<Category>,
    ) -> Result<pb::HouseholdFile> {
        // Masked for lists and views: the clear values only within an approval (ARC-11).
        let (id_number, phone) = self.open_identifiers(&stored)?;
        let f = stored.file;
        let state = f.filing_state(self.clock.now());
        Ok(pb::HouseholdFile {
            id: f.id,
            property_id: f.property_id,
            household_id: f.household_id,
            unit_id: f.unit_id,
            unit_label: f.unit_label,
            move_in_time: Some(to_timestamp(f.moved_in_at)),
            filing_due_time: Some(to_timestamp(f.filing_due_at)),
            filed_time: f.filed_at.map(to_timestamp),
            filing_state: filing_state_to_proto(state).into(),
            present_categories: present
                .iter()
                .map(|c| category_to_proto(*c).into())
                .collect(),
            missing_categories: rules::missing(present, required)
                .into_iter()
                .map(|c| category_to_proto(c).into())
                .collect(),
            holder_name: f.holder_name,
            masked_id_number: if id_number.is_empty() {
                String::new()
            } else {
                rules::mask_id_number(&id_number)
            },
            masked_phone: if phone.is_empty() {
                String::new()
            } else {
                rules::mask_phone(&phone)
            },
            open_time: Some(to_timestamp(f.opened_at)),
        })
    }
}
