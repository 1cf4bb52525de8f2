use tonic::{Request, Response, Status};
use wuye_kit::{identity, properties::Property};
use wuye_proto::customerservice::{self as pb, property_service_server::PropertyService};

use crate::CustomerService;

#[tonic::async_trait]
impl PropertyService for CustomerService {
    async fn get_property(
        &self,
        request: Request<pb::GetPropertyRequest>,
    ) -> Result<Response<pb::GetPropertyResponse>, Status> {
        let caller = identity::caller(&request)?;
        let property = self
            .properties
            .for_call(&caller, &request.get_ref().property_id)?;
        Ok(Response::new(pb::GetPropertyResponse {
            settings: Some(settings(property)),
        }))
    }

    async fn list_properties(
        &self,
        request: Request<pb::ListPropertiesRequest>,
    ) -> Result<Response<pb::ListPropertiesResponse>, Status> {
        // The gateway's policy keeps this to headquarters and administrators.
        identity::caller(&request)?;
        Ok(Response::new(pb::ListPropertiesResponse {
            properties: self.properties.iter().map(settings).collect(),
        }))
    }
}

fn settings(p: &Property) -> pb::PropertySettings {
    let r = &p.rules;
    pb::PropertySettings {
        property: Some(p.to_proto()),
        holiday_calendar: p.calendar.name.clone(),
        rules: Some(pb::PropertyRules {
            complaint_reply_days_minor: r.complaints.reply_days.minor,
            complaint_reply_days_general: r.complaints.reply_days.general,
            complaint_reply_days_serious: r.complaints.reply_days.serious,
            complaint_reply_in_working_days: r.complaints.reply_in_working_days,
            key_overdue_after_days: r.keys.overdue_after_days,
            key_retention_years: r.keys.retention_years,
            archive_filing_working_days: r.archives.filing_working_days,
            archive_retention_years: r.archives.retention_years,
            handover_outgoing_prepare_minutes: r.engineering.outgoing_prepare_minutes,
            handover_incoming_early_minutes: r.engineering.incoming_early_minutes,
            repair_emergency_arrival_minutes: r.engineering.emergency_arrival_minutes,
            repair_ordinary_arrival_minutes: r.engineering.ordinary_arrival_minutes,
            intact_rate_target_percent: r.engineering.intact_rate_target_percent,
            survey_every_months: r.surveys.campaign_every_months,
            survey_publish_within_days: r.surveys.publish_within_days,
            repair_follow_up_target_percent: r.surveys.repair_follow_up_target_percent,
            move_in_visit_target_percent: r.surveys.move_in_visit_target_percent,
        }),
    }
}
