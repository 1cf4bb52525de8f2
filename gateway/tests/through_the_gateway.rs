//! Calls through a real gateway to a stand-in customer service that requires the internal
//! identity, over real gRPC.

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpListener;
use tonic::{Code, Request, Response, Status, metadata::MetadataValue, transport::Channel};
use wuye_gateway::{GatewaySettings, sign_dev_token};
use wuye_kit::identity::{IDENTITY_HEADER, PROPERTY_HEADER, caller};
use wuye_proto::customerservice::{
    self as pb, CreateUnitRequest, CreateUnitResponse, GetUnitRequest, GetUnitResponse,
    ListUnitsRequest, ListUnitsResponse, Unit,
    household_service_client::HouseholdServiceClient,
    household_service_server::{HouseholdService, HouseholdServiceServer},
};

/// Answers with what it was told: the verified caller, and metadata it must or must not see.
struct Echo;

#[tonic::async_trait]
impl HouseholdService for Echo {
    async fn create_unit(
        &self,
        _: Request<CreateUnitRequest>,
    ) -> Result<Response<CreateUnitResponse>, Status> {
        Err(Status::failed_precondition("refused by the service"))
    }

    async fn get_unit(
        &self,
        request: Request<GetUnitRequest>,
    ) -> Result<Response<GetUnitResponse>, Status> {
        let who = caller(&request).map_err(Status::from)?;
        let seen = |key: &str| {
            request
                .metadata()
                .get(key)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        let unit = Unit {
            id: request.get_ref().unit_id.clone(),
            property_id: who.property.clone().unwrap_or_default(),
            label: format!("{}|{}|{}", who.user_id, who.name, who.role),
            building: seen("authorization"),
            entrance: seen("grpc-timeout"),
            room: seen(PROPERTY_HEADER),
            ..Unit::default()
        };
        Ok(Response::new(GetUnitResponse { unit: Some(unit) }))
    }

    async fn list_units(
        &self,
        _: Request<ListUnitsRequest>,
    ) -> Result<Response<ListUnitsResponse>, Status> {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(Response::new(ListUnitsResponse::default()))
    }

    // The stand-in answers only the three calls above.
    async fn find_unit(
        &self,
        _: Request<pb::FindUnitRequest>,
    ) -> Result<Response<pb::FindUnitResponse>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn record_move_in(
        &self,
        _: Request<pb::RecordMoveInRequest>,
    ) -> Result<Response<pb::RecordMoveInResponse>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn record_move_out(
        &self,
        _: Request<pb::RecordMoveOutRequest>,
    ) -> Result<Response<pb::RecordMoveOutResponse>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn get_household(
        &self,
        _: Request<pb::GetHouseholdRequest>,
    ) -> Result<Response<pb::GetHouseholdResponse>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn list_households(
        &self,
        _: Request<pb::ListHouseholdsRequest>,
    ) -> Result<Response<pb::ListHouseholdsResponse>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn list_contacts(
        &self,
        _: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn get_overview_register(
        &self,
        _: Request<pb::GetOverviewRegisterRequest>,
    ) -> Result<Response<pb::GetOverviewRegisterResponse>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn render_register(
        &self,
        _: Request<pb::RenderRegisterRequest>,
    ) -> Result<Response<pb::RenderRegisterResponse>, Status> {
        Err(Status::unimplemented("stand-in"))
    }
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// The stand-in service, requiring the internal identity like the real ones.
async fn start_service() -> SocketAddr {
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let verifier = wuye_kit::IdentitySettings::default()
        .verifier("customer-service", true)
        .unwrap();
    let server = wuye_kit::server::Server::new("customer-service", listener)
        .require_identity(verifier)
        .add_service(HouseholdServiceServer::new(Echo));
    tokio::spawn(server.run_until(std::future::pending()));
    addr
}

fn settings(customer_service: SocketAddr) -> GatewaySettings {
    let mut settings = GatewaySettings {
        dev: true,
        policy_file: concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/policy.toml").into(),
        upstream_timeout_ms: 2_000,
        ..GatewaySettings::default()
    };
    settings.upstreams.insert(
        "wuye.customerservice.v1".into(),
        format!("http://{customer_service}"),
    );
    settings
}

async fn start_gateway(settings: GatewaySettings) -> Channel {
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let server = wuye_gateway::build(settings, listener).await.unwrap();
    tokio::spawn(server.run_until(std::future::pending()));
    wuye_client::Config::to(addr).channel().await.unwrap()
}

fn token(role: &str, properties: &[&str]) -> String {
    let properties: Vec<String> = properties.iter().map(|p| p.to_string()).collect();
    sign_dev_token(role, &properties, "u1", "王芳", Duration::from_secs(60)).unwrap()
}

fn get_unit(token: Option<&str>, property: &str) -> Request<GetUnitRequest> {
    let mut request = Request::new(GetUnitRequest {
        property_id: property.into(),
        unit_id: "unit-1".into(),
    });
    if let Some(token) = token {
        let value = MetadataValue::try_from(format!("Bearer {token}")).unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    request
        .metadata_mut()
        .insert(PROPERTY_HEADER, property.parse().unwrap());
    request
}

#[tokio::test]
async fn forwards_the_verified_caller_and_nothing_else() {
    let channel = start_gateway(settings(start_service().await)).await;
    let mut client = HouseholdServiceClient::new(channel);

    let mut request = get_unit(
        Some(&token("front_desk", &["sunshine-garden"])),
        "sunshine-garden",
    );
    request.set_timeout(Duration::from_secs(5));
    let unit = client
        .get_unit(request)
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    assert_eq!(unit.id, "unit-1");
    assert_eq!(unit.property_id, "sunshine-garden");
    assert_eq!(unit.label, "u1|王芳|front_desk");
    assert_eq!(unit.building, "-", "the user's token stays at the gateway");
    assert_ne!(unit.entrance, "-", "the caller's deadline travels on");
    assert_eq!(unit.room, "sunshine-garden");

    // Headquarters spans properties.
    let request = get_unit(Some(&token("quality_officer", &[])), "riverside");
    let unit = client
        .get_unit(request)
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    assert_eq!(unit.property_id, "riverside");

    // An identity forged by the client is replaced by the gateway's.
    let mut request = get_unit(
        Some(&token("front_desk", &["sunshine-garden"])),
        "sunshine-garden",
    );
    request
        .metadata_mut()
        .insert(IDENTITY_HEADER, "forged".parse().unwrap());
    assert!(client.get_unit(request).await.is_ok());

    // The service's own refusals come back as they are.
    let mut request = Request::new(CreateUnitRequest::default());
    let bearer = format!("Bearer {}", token("cs_clerk", &["riverside"]));
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    request
        .metadata_mut()
        .insert(PROPERTY_HEADER, "riverside".parse().unwrap());
    let status = client.create_unit(request).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(status.message(), "refused by the service");
}

#[tokio::test]
async fn refuses_who_the_policy_does_not_allow() {
    let channel = start_gateway(settings(start_service().await)).await;
    let mut client = HouseholdServiceClient::new(channel);
    let code = |result: Result<Response<GetUnitResponse>, Status>| result.unwrap_err().code();

    let no_token = client.get_unit(get_unit(None, "sunshine-garden")).await;
    assert_eq!(code(no_token), Code::Unauthenticated);
    let mut forged_only = get_unit(None, "sunshine-garden");
    forged_only
        .metadata_mut()
        .insert(IDENTITY_HEADER, "forged".parse().unwrap());
    assert_eq!(
        code(client.get_unit(forged_only).await),
        Code::Unauthenticated
    );
    let garbage = client
        .get_unit(get_unit(Some("garbage"), "sunshine-garden"))
        .await;
    assert_eq!(code(garbage), Code::Unauthenticated);

    let desk = token("front_desk", &["sunshine-garden"]);
    let elsewhere = client
        .get_unit(get_unit(Some(&desk), "riverside"))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::PermissionDenied);
    assert!(elsewhere.message().contains("outside your scope"));
    let admin = client
        .get_unit(get_unit(Some(&token("admin", &["*"])), "sunshine-garden"))
        .await;
    assert_eq!(code(admin), Code::PermissionDenied);
}

#[tokio::test]
async fn health_and_reflection_need_no_token() {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };

    let channel = start_gateway(settings(start_service().await)).await;
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(health.into_inner().status, 1, "SERVING");

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"wuye.customerservice.v1.HouseholdService".to_owned()),
        "{names:?}"
    );
}

#[tokio::test]
async fn upstream_failures_are_grpc_statuses() {
    // Nothing listens on a port just released.
    let gone = listener().await.local_addr().unwrap();
    let channel = start_gateway(settings(gone)).await;
    let mut client = HouseholdServiceClient::new(channel);
    let desk = token("front_desk", &["sunshine-garden"]);
    let status = client
        .get_unit(get_unit(Some(&desk), "sunshine-garden"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);

    // A slow upstream is UNAVAILABLE at the gateway's upstream timeout (the caller set no
    // deadline of its own, so none expired).
    let channel = start_gateway(settings(start_service().await)).await;
    let mut client = HouseholdServiceClient::new(channel);
    let mut request = Request::new(ListUnitsRequest {
        property_id: "sunshine-garden".into(),
        ..Default::default()
    });
    let bearer = format!("Bearer {desk}");
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    request
        .metadata_mut()
        .insert(PROPERTY_HEADER, "sunshine-garden".parse().unwrap());
    let status = client.list_units(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
}

#[tokio::test]
async fn refuses_to_start_without_an_upstream_for_a_method() {
    let mut settings = settings(listener().await.local_addr().unwrap());
    settings.upstreams.clear();
    let err = wuye_gateway::build(settings, listener().await)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("no upstream serves"), "{err}");
}

/// One HTTP/1.1 request to `addr`, the connection closed after: the status line's code and
/// the body.
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_owned())
}

#[tokio::test]
async fn the_development_issuer_exists_only_in_development() {
    // Development: served on the gateway's own address, beside gRPC on the same listener.
    let bound = listener().await;
    let addr = bound.local_addr().unwrap();
    let server = wuye_gateway::build(settings(start_service().await), bound)
        .await
        .unwrap();
    tokio::spawn(server.run_until(std::future::pending()));
    let (code, body) = http_get(addr, "/dev/oidc/.well-known/openid-configuration").await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(&format!("\"issuer\":\"http://{addr}/dev/oidc\"")),
        "{body}"
    );
    let (code, body) = http_get(addr, "/dev/oidc/jwks").await;
    assert_eq!(code, 200);
    assert!(
        body.contains("\"kid\":\"dev-1\"") && body.contains("\"OKP\""),
        "{body}"
    );
    assert_eq!(http_get(addr, "/dev/oidc/elsewhere").await.0, 404);
    // gRPC on the same address still works.
    let channel = wuye_client::Config::to(addr).channel().await.unwrap();
    let mut client = HouseholdServiceClient::new(channel);
    let desk = token("front_desk", &["sunshine-garden"]);
    client
        .get_unit(get_unit(Some(&desk), "sunshine-garden"))
        .await
        .unwrap();

    // Development with the sign-in turned off: none either.
    let mut off = settings(start_service().await);
    off.auth.dev_sign_in = false;
    let bound = listener().await;
    let off_addr = bound.local_addr().unwrap();
    let server = wuye_gateway::build(off, bound).await.unwrap();
    tokio::spawn(server.run_until(std::future::pending()));
    assert_ne!(http_get(off_addr, "/dev/oidc/jwks").await.0, 200);

    // Production: no such routes (the listener answers gRPC and gRPC-Web only).
    let mut production = settings(start_service().await);
    production.dev = false;
    production.identity.signing_key = wuye_kit::config::Secret::new(PRODUCTION_IDENTITY_KEY);
    production.auth.keys = vec![wuye_gateway::VerifyKey {
        kid: "prod-1".into(),
        public_key_pem: PRODUCTION_TOKEN_KEY.into(),
        ..Default::default()
    }];
    let bound = listener().await;
    let addr = bound.local_addr().unwrap();
    let server = wuye_gateway::build(production, bound).await.unwrap();
    tokio::spawn(server.run_until(std::future::pending()));
    for path in [
        "/dev/oidc/.well-known/openid-configuration",
        "/dev/oidc/jwks",
    ] {
        let (code, body) = http_get(addr, path).await;
        assert_ne!(code, 200, "{path}: {body}");
        assert!(!body.contains("dev-1"), "{body}");
    }
}

#[tokio::test]
async fn tokens_of_an_unknown_issuer_are_refused_with_the_reason() {
    use tonic_types::StatusExt as _;
    let channel = start_gateway(settings(start_service().await)).await;
    let mut client = HouseholdServiceClient::new(channel);
    let mut claims = wuye_gateway::Claims::new(
        "u1",
        "王芳",
        "front_desk",
        &["sunshine-garden".into()],
        Duration::from_secs(60),
    );
    claims.iss = "https://sso.elsewhere.example".into();
    let elsewhere = wuye_gateway::sign_token(
        wuye_gateway::KeyAlgorithm::EdDSA,
        wuye_gateway::auth::DEV_PRIVATE_KEY_PEM.as_bytes(),
        "dev-1",
        &claims,
    )
    .unwrap();
    let status = client
        .get_unit(get_unit(Some(&elsewhere), "sunshine-garden"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        status.get_details_error_info().unwrap().reason,
        "UNKNOWN_ISSUER"
    );
    let mut expired = claims.clone();
    expired.iss = "wuye".into();
    expired.iat -= 3600;
    expired.exp = expired.iat + 60;
    let expired = wuye_gateway::sign_token(
        wuye_gateway::KeyAlgorithm::EdDSA,
        wuye_gateway::auth::DEV_PRIVATE_KEY_PEM.as_bytes(),
        "dev-1",
        &expired,
    )
    .unwrap();
    let status = client
        .get_unit(get_unit(Some(&expired), "sunshine-garden"))
        .await
        .unwrap_err();
    assert_eq!(
        status.get_details_error_info().unwrap().reason,
        "TOKEN_EXPIRED"
    );
}

#[tokio::test]
async fn production_may_trust_only_an_openid_provider() {
    use tonic_types::StatusExt as _;
    let mut production = settings(start_service().await);
    production.dev = false;
    production.identity.signing_key = wuye_kit::config::Secret::new(PRODUCTION_IDENTITY_KEY);
    // Neither keys nor providers: refused, naming what to configure.
    let err = wuye_gateway::build(production.clone(), listener().await)
        .await
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("WUYE_GATEWAY__AUTH__KEYS"),
        "{err:#}"
    );
    // A plain http provider elsewhere than loopback: refused.
    production.auth.oidc = vec![wuye_gateway::OidcIssuerSettings {
        issuer: "http://sso.example.com/realms/wuye".into(),
        audiences: vec!["wuye-console".into()],
        ..Default::default()
    }];
    let err = wuye_gateway::build(production.clone(), listener().await)
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("plain http"), "{err:#}");
    // A provider only (unreachable here): the gateway starts; script tokens are of no
    // issuer it trusts.
    production.auth.oidc[0].issuer = "https://sso.example.com/realms/wuye".into();
    let bound = listener().await;
    let addr = bound.local_addr().unwrap();
    let server = wuye_gateway::build(production, bound).await.unwrap();
    tokio::spawn(server.run_until(std::future::pending()));
    let channel = wuye_client::Config::to(addr).channel().await.unwrap();
    let mut client = HouseholdServiceClient::new(channel);
    let desk = token("front_desk", &["sunshine-garden"]);
    let status = client
        .get_unit(get_unit(Some(&desk), "sunshine-garden"))
        .await
        .unwrap_err();
    assert_eq!(
        status.get_details_error_info().unwrap().reason,
        "UNKNOWN_ISSUER"
    );
}

/// An Ed25519 key of this test only, as a production gateway's identity key.
const PRODUCTION_IDENTITY_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIFcA0dNa5Bj9WqZmeJTQCHNcb7cubmTvgM2+nkVJbIB4
-----END PRIVATE KEY-----
";
/// An Ed25519 public key of this test only, as a production gateway's script token key.
const PRODUCTION_TOKEN_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAmLCQYJQ/oalf6Q+VyN8tKwdws/3FIgnVh0c7hxX/IHk=
-----END PUBLIC KEY-----
";
