use tonic::{Request, Response, Status};
use wuye_kit::{Error, Violations, page};
use wuye_proto::archives::{self as pb, household_file_service_server::HouseholdFileService};

use super::MAX_ID;
use crate::{
    Archives,
    app::files::{self as app, PersonalData},
    domain::files::{self as rules, FilingState},
};

#[tonic::async_trait]
impl HouseholdFileService for Archives {
    async fn get_household_file(
        &self,
        request: Request<pb::GetHouseholdFileRequest>,
    ) -> Result<Response<pb::GetHouseholdFileResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let file = app::get(self, &scope, &req.household_file_id).await?;
        Ok(Response::new(pb::GetHouseholdFileResponse {
            household_file: Some(file.into()),
        }))
    }

    async fn list_household_files(
        &self,
        request: Request<pb::ListHouseholdFilesRequest>,
    ) -> Result<Response<pb::ListHouseholdFilesResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let state = wuye_kit::from_proto::<pb::FilingState, FilingState>(req.filing_state);
        if state.is_none() && req.filing_state != 0 {
            return Err(Error::invalid("filing_state", "is not a filing state").into());
        }
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let files = app::list(self, &scope, state, &after, limit).await?;
        let next_page_token = page::next_token(&files, limit, |f| f.file.id.clone());
        Ok(Response::new(pb::ListHouseholdFilesResponse {
            household_files: files.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn record_personal_data(
        &self,
        request: Request<pb::RecordPersonalDataRequest>,
    ) -> Result<Response<pb::RecordPersonalDataResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
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
        let data = PersonalData {
            holder_name: req.holder_name.trim().to_owned(),
            id_number: id_number.to_owned(),
            phone: phone.to_owned(),
        };
        let file = app::record_personal_data(self, &scope, &req.household_file_id, data).await?;
        Ok(Response::new(pb::RecordPersonalDataResponse {
            household_file: Some(file.into()),
        }))
    }

    async fn read_personal_data(
        &self,
        request: Request<pb::ReadPersonalDataRequest>,
    ) -> Result<Response<pb::ReadPersonalDataResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.required_text("household_file_id", &req.household_file_id, MAX_ID);
        v.max_text("access_request_id", &req.access_request_id, MAX_ID);
        v.check()?;
        let data =
            app::read_personal_data(self, &scope, &req.household_file_id, &req.access_request_id)
                .await?;
        Ok(Response::new(pb::ReadPersonalDataResponse {
            holder_name: data.holder_name,
            id_number: data.id_number,
            phone: data.phone,
        }))
    }
}
