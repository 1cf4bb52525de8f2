use tonic::{Request, Response, Status};
use wuye_kit::{Error, Result, Violations, identity, page, time::to_timestamp};
use wuye_proto::customerservice::{self as pb, complaint_service_server::ComplaintService};

use super::{
    channel_from_proto, channel_to_proto, severity_from_proto, severity_to_proto, state_from_proto,
    state_to_proto,
};
use crate::{
    CustomerService,
    domain::complaints::{self as rules, Complainant, Complaint, State},
    store::complaints::{self as store, Filter, Registered},
};

const MAX_REQUEST_ID: usize = 100;

#[tonic::async_trait]
impl ComplaintService for CustomerService {
    async fn create_complaint(
        &self,
        request: Request<pb::CreateComplaintRequest>,
    ) -> Result<Response<pb::CreateComplaintResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;

        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        let channel = channel_from_proto(req.channel);
        if channel.is_none() {
            v.add("channel", "must be one of letter, phone, fax, visit, app");
        }
        let severity = severity_from_proto(req.severity);
        if severity.is_none() {
            v.add("severity", "must be one of minor, general, serious");
        }
        let complainant = req.complainant.unwrap_or_default();
        v.required_text("complainant.name", &complainant.name, rules::MAX_NAME);
        if !complainant.phone.is_empty() && !crate::domain::is_plausible_phone(&complainant.phone) {
            v.add("complainant.phone", "is not a phone number");
        }
        v.max_text("complainant.phone", &complainant.phone, rules::MAX_PHONE);
        v.required_text("category", &req.category, rules::MAX_CATEGORY);
        v.required_text("description", &req.description, rules::MAX_DESCRIPTION);
        v.max_text("unit_id", &req.unit_id, 64);
        v.check()?;
        let (Some(channel), Some(severity)) = (channel, severity) else {
            unreachable!("checked above");
        };

        let now = self.clock.now();
        let complaint = Complaint {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            number: 0,
            channel,
            complainant: Complainant {
                name: complainant.name.trim().to_owned(),
                phone: complainant.phone.trim().to_owned(),
            },
            unit_id: (!req.unit_id.is_empty()).then_some(req.unit_id),
            category: req.category.trim().to_owned(),
            description: req.description,
            severity,
            state: State::Registered,
            registered_at: now,
            reply_due_at: rules::reply_due(now, severity, property),
            registered_by: caller.actor(),
        };
        let complaint = match store::register(&self.db, &self.outbox, &req.request_id, complaint)
            .await?
        {
            Registered::New(c) => {
                let c = *c;
                tracing::info!(property = %c.property_id, number = c.number, "complaint registered");
                c
            }
            Registered::Retry(id) => self.complaint(&property.id, &id).await?,
            Registered::UnknownUnit => {
                return Err(Error::invalid("unit_id", "is not a unit of this property").into());
            }
        };
        Ok(Response::new(pb::CreateComplaintResponse {
            complaint: Some(to_proto(complaint)),
        }))
    }

    async fn get_complaint(
        &self,
        request: Request<pb::GetComplaintRequest>,
    ) -> Result<Response<pb::GetComplaintResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let complaint = self.complaint(&property.id, &req.complaint_id).await?;
        Ok(Response::new(pb::GetComplaintResponse {
            complaint: Some(to_proto(complaint)),
        }))
    }

    async fn list_complaints(
        &self,
        request: Request<pb::ListComplaintsRequest>,
    ) -> Result<Response<pb::ListComplaintsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        let state = state_from_proto(req.state);
        if state.is_none() && req.state != 0 {
            v.add("state", "is not a complaint state");
        }
        let severity = severity_from_proto(req.severity);
        if severity.is_none() && req.severity != 0 {
            v.add("severity", "is not a severity");
        }
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let before_number = page::decode(&req.page_token)?
            .map(|key| key.parse::<i64>())
            .transpose()
            .map_err(|_| page::bad_token())?;
        let filter = Filter {
            state,
            severity,
            before_number,
        };
        let complaints = store::list(&self.db, &property.id, &filter, limit).await?;
        let next_page_token = match complaints.last() {
            Some(last) if complaints.len() as i64 == limit => {
                page::encode(&last.number.to_string())
            }
            _ => String::new(),
        };
        Ok(Response::new(pb::ListComplaintsResponse {
            complaints: complaints.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }
}

impl CustomerService {
    async fn complaint(&self, property_id: &str, id: &str) -> Result<Complaint> {
        store::get(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("complaint", id))
    }
}

fn to_proto(c: Complaint) -> pb::Complaint {
    pb::Complaint {
        id: c.id,
        property_id: c.property_id,
        number: c.number,
        channel: channel_to_proto(c.channel).into(),
        complainant: Some(pb::Complainant {
            name: c.complainant.name,
            phone: c.complainant.phone,
        }),
        unit_id: c.unit_id.unwrap_or_default(),
        category: c.category,
        description: c.description,
        severity: severity_to_proto(c.severity).into(),
        state: state_to_proto(c.state).into(),
        register_time: Some(to_timestamp(c.registered_at)),
        reply_due_time: Some(to_timestamp(c.reply_due_at)),
        registered_by: Some(c.registered_by.to_proto()),
    }
}
