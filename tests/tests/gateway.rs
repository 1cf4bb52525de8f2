//! The gateway's door: authentication, the policy, property scope, the internal identity, and
//! reflection — through real gRPC, on SQLite and PostgreSQL.

use std::time::Duration;

use tonic::Code;
use tonic_types::StatusExt;
use wuye_gateway::{Claims, KeyAlgorithm, sign_token};
use wuye_kit::identity::{Caller, GATEWAY, IDENTITY_HEADER, Signer};
use wuye_tests::{
    Backend, OTHER_PROPERTY, PROPERTY, Stack, both_backends, channel, config,
    proto::{
        customerservice::{
            Channel, Complainant, CreateComplaintRequest, ListComplaintsRequest, Severity,
            complaint_service_client::ComplaintServiceClient,
        },
        events::{SubscribeRequest, event_service_client::EventServiceClient},
    },
};

both_backends!(
    calls_without_a_valid_token_are_unauthenticated,
    roles_and_properties_outside_the_policy_are_denied,
    services_refuse_calls_around_the_gateway,
    headquarters_reads_every_property,
);

fn list(property: &str) -> ListComplaintsRequest {
    ListComplaintsRequest {
        property_id: property.into(),
        ..Default::default()
    }
}

fn create(property: &str) -> CreateComplaintRequest {
    CreateComplaintRequest {
        property_id: property.into(),
        request_id: uuid::Uuid::now_v7().to_string(),
        channel: Channel::Visit.into(),
        complainant: Some(Complainant {
            name: "张伟".into(),
            phone: String::new(),
        }),
        unit_id: String::new(),
        category: "卫生".into(),
        description: "垃圾未及时清运".into(),
        severity: Severity::Minor.into(),
        contact_number: 0,
    }
}

fn client(
    stack: &Stack,
    token: Option<String>,
    property: &str,
) -> ComplaintServiceClient<wuye_tests::Authed> {
    ComplaintServiceClient::new(stack.authed(token, Some(property)))
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

async fn calls_without_a_valid_token_are_unauthenticated(backend: Backend) {
    let stack = Stack::start(backend).await;
    let properties = vec![PROPERTY.to_owned()];
    let claims = Claims::new(
        "u1",
        "王芳",
        "front_desk",
        &properties,
        Duration::from_secs(600),
    );

    // A real token whose claims were changed after signing: a manager's role, same signature.
    let good = sign_dev(&claims);
    let mut manager = claims.clone();
    manager.role = "project_manager".into();
    let forged_claims = sign_dev(&manager).split('.').nth(1).unwrap().to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    // Algorithm confusion: HS256 "signed" with the public key as the secret.
    let public_pem =
        std::fs::read(wuye_tests::repo_root().join("deploy/dev-keys/jwt-ed25519.pub.pem")).unwrap();
    let confused = sign_token(KeyAlgorithm::HS256, &public_pem, "dev-1", &claims).unwrap();
    // No algorithm at all.
    let unsigned = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT","kid":"dev-1"}"#),
        parts[1]
    );
    let mut expired_claims = claims.clone();
    expired_claims.exp = expired_claims.iat - 3600;
    let expired = sign_dev(&expired_claims);
    let mut other_audience = claims.clone();
    other_audience.aud = "someone-else".into();
    let other_audience = sign_dev(&other_audience);
    // Times that no provider should issue: valid only from tomorrow, issued tomorrow, or for
    // a hundred years.
    let day = 24 * 3600;
    let mut not_yet = claims.clone();
    not_yet.nbf = Some(claims.iat + day);
    let not_yet = sign_dev(&not_yet);
    let mut issued_later = claims.clone();
    issued_later.iat += day;
    issued_later.exp += day;
    let issued_later = sign_dev(&issued_later);
    let mut century = claims.clone();
    century.exp = claims.iat + 100 * 365 * day;
    let century = sign_dev(&century);

    for (what, token) in [
        ("no token", None),
        ("garbage", Some("not.a.token".to_owned())),
        ("tampered claims", Some(tampered)),
        ("HS256 with the public key", Some(confused)),
        ("alg none", Some(unsigned)),
        ("expired", Some(expired)),
        ("other audience", Some(other_audience)),
        ("not valid before tomorrow", Some(not_yet)),
        ("issued tomorrow", Some(issued_later)),
        ("a hundred years", Some(century)),
    ] {
        let status = client(&stack, token, PROPERTY)
            .list_complaints(list(PROPERTY))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
    }
    // The same claims, properly signed, pass.
    client(&stack, Some(good), PROPERTY)
        .list_complaints(list(PROPERTY))
        .await
        .unwrap();
}

/// Unpadded base64url, as JWT segments are written.
fn b64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn sign_dev(claims: &Claims) -> String {
    let pem =
        std::fs::read(wuye_tests::repo_root().join("deploy/dev-keys/jwt-ed25519.pem")).unwrap();
    sign_token(KeyAlgorithm::EdDSA, &pem, "dev-1", claims).unwrap()
}

async fn roles_and_properties_outside_the_policy_are_denied(backend: Backend) {
    let stack = Stack::start(backend).await;
    // A technician may read units but not take complaints.
    let status = stack
        .complaints("technician")
        .create_complaint(create(PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "ROLE_NOT_ALLOWED")
    );
    // admin runs the system but sees no business data.
    let status = stack
        .complaints("admin")
        .list_complaints(list(PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // A front desk of one property asking about another.
    let front_desk = Some(stack.token("front_desk", &[PROPERTY]));
    let status = client(&stack, front_desk.clone(), OTHER_PROPERTY)
        .list_complaints(list(OTHER_PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "PROPERTY_OUT_OF_SCOPE")
    );
    // Its own property in the metadata, another in the message: the service sees through it.
    let status = client(&stack, front_desk.clone(), PROPERTY)
        .create_complaint(create(OTHER_PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "PROPERTY_MISMATCH")
    );
    // No property at all.
    let mut no_property = ComplaintServiceClient::new(stack.authed(front_desk, None));
    let status = no_property
        .list_complaints(list(PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Nothing was written by any refused call.
    let listed = stack
        .complaints("front_desk")
        .list_complaints(list(PROPERTY))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.complaints.is_empty());
}

async fn services_refuse_calls_around_the_gateway(backend: Backend) {
    let stack = Stack::start(backend).await;
    let create_path = "/wuye.customerservice.v1.ComplaintService/CreateComplaint";
    let list_path = "/wuye.customerservice.v1.ComplaintService/ListComplaints";
    let direct = |department: &str, identity: Option<String>| {
        let mut config = config(stack.address(department)).property(PROPERTY);
        if let Some(identity) = identity {
            config = config.metadata(IDENTITY_HEADER, &identity);
        }
        ComplaintServiceClient::new(config.lazy().unwrap())
    };
    let caller = Caller {
        post_id: String::new(),
        user_id: "u1".into(),
        name: "王芳".into(),
        role: "front_desk".into(),
        property: Some(PROPERTY.into()),
        ..Default::default()
    };
    let gateway = stack.signer(GATEWAY);
    // The gateway's key would open this one call: the identity is real.
    let good = gateway
        .sign(&caller, "customer-service", create_path)
        .unwrap();
    direct("customer-service", Some(good.clone()))
        .create_complaint(create(PROPERTY))
        .await
        .expect("the identity the gateway signs for this call");

    // Someone else's Ed25519 key under the gateway's name.
    let stranger = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let forged = Signer::new(GATEWAY, &stranger.serialize_pem(), Duration::from_secs(5))
        .unwrap()
        .sign(&caller, "customer-service", create_path)
        .unwrap();
    // An identity seen on the wire for another method, replayed.
    let for_listing = gateway
        .sign(&caller, "customer-service", list_path)
        .unwrap();
    // A department's own key speaking for a user.
    let from_archives = stack
        .signer("archives")
        .sign(&caller, "customer-service", create_path)
        .unwrap();
    let as_archives = stack
        .signer("archives")
        .sign(
            &Caller::service("archives"),
            "customer-service",
            create_path,
        )
        .unwrap();
    // A user token is no internal identity either.
    let user_token = stack.token("front_desk", &[PROPERTY]);
    for identity in [
        None,
        Some(forged),
        Some(for_listing),
        Some(from_archives),
        Some(as_archives),
        Some(user_token),
    ] {
        let status = direct("customer-service", identity)
            .create_complaint(create(PROPERTY))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    // The identity for customer-service, taken to another department.
    let status = direct("engineering", Some(good))
        .create_complaint(create(PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // The event stream serves departments following it as themselves, not users.
    let subscribe = "/wuye.events.v1.EventService/Subscribe";
    let user_on_stream = gateway
        .sign(&caller, "customer-service", subscribe)
        .unwrap();
    let mut events = EventServiceClient::new(
        config(stack.customer_service)
            .metadata(IDENTITY_HEADER, &user_on_stream)
            .lazy()
            .unwrap(),
    );
    let status = events
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "SERVICE_ONLY"),
        "{status:?}"
    );
    stack
        .events("customer-service")
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .expect("a department follows as itself");

    // Health stays open for probes.
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(channel(stack.customer_service));
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "wuye.customerservice.v1.ComplaintService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

async fn headquarters_reads_every_property(backend: Backend) {
    let stack = Stack::start(backend).await;
    stack
        .complaints("front_desk")
        .create_complaint(create(PROPERTY))
        .await
        .unwrap();
    // A quality officer's token names no property: headquarters roles span them all.
    let quality = Some(stack.token("quality_officer", &[]));
    for property in [PROPERTY, OTHER_PROPERTY] {
        let listed = client(&stack, quality.clone(), property)
            .list_complaints(list(property))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.complaints.len(), usize::from(property == PROPERTY));
    }
    // But it reads; it does not take complaints.
    let status = client(&stack, quality, PROPERTY)
        .create_complaint(create(PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}
