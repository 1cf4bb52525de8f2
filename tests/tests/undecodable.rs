//! Bodies that are not the message they claim to be (a truncated field, a string that is not
//! UTF-8) are the sender's bad input: `INVALID_ARGUMENT`, at the gateway and at every
//! department, never `INTERNAL`.

use bytes::{Buf, BufMut};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};
use wuye_kit::identity::Caller;
use wuye_tests::{Backend, PROPERTY, Stack};

/// Sends bytes as they are and reads nothing back: the test writes the malformed messages.
#[derive(Default)]
struct RawCodec;

struct Raw;

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        buf.advance(buf.remaining());
        Ok(Some(()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

/// Field 1 says 16 bytes follow, and two do.
const TRUNCATED: &[u8] = &[0x0a, 0x10, b'a', b'b'];
/// Field 1, a string of every request here (`property_id`, `month`), holds bytes that are
/// not UTF-8.
const NOT_UTF8: &[u8] = &[0x0a, 0x02, 0xff, 0xfe];

async fn send<T>(channel: T, path: &'static str, body: &[u8]) -> Status
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(Into::into)
        .expect("the channel is ready");
    grpc.unary(
        tonic::Request::new(body.to_vec()),
        http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .expect_err("a malformed message is refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_messages_are_invalid_arguments_at_the_gateway_and_every_department() {
    let stack = Stack::start(Backend::Sqlite).await;
    // (department, role, a method of it)
    let calls = [
        (
            "customer-service",
            "front_desk",
            "/wuye.customerservice.v1.ComplaintService/CreateComplaint",
        ),
        (
            "engineering",
            "engineering_manager",
            "/wuye.engineering.v1.WorkOrderService/CreateWorkOrder",
        ),
        (
            "archives",
            "cs_supervisor",
            "/wuye.archives.v1.HouseholdFileService/ListHouseholdFiles",
        ),
        (
            "quality",
            "quality_officer",
            "/wuye.quality.v1.EscalationService/ListEscalations",
        ),
    ];
    for (department, role, path) in calls {
        for body in [TRUNCATED, NOT_UTF8] {
            let through = send(stack.as_role(role, PROPERTY), path, body).await;
            assert_eq!(through.code(), Code::InvalidArgument, "{path}: {through:?}");
            let caller = Caller {
                post_id: String::new(),
                user_id: "u1".into(),
                name: "测试员".into(),
                role: role.into(),
                property: Some(PROPERTY.into()),
                ..Default::default()
            };
            let direct = send(stack.as_gateway(department, caller), path, body).await;
            assert_eq!(direct.code(), Code::InvalidArgument, "{path}: {direct:?}");
        }
    }
    // The gateway's own service: the headquarters portfolio.
    let portfolio = "/wuye.hq.v1.PortfolioService/GetPortfolio";
    for body in [TRUNCATED, NOT_UTF8] {
        let status = send(stack.as_role("hq_viewer", PROPERTY), portfolio, body).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    // A well-formed message still reaches the rules.
    let empty: Channel = stack.channel();
    let status = send(empty, portfolio, &[]).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}
