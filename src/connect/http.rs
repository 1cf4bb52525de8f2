//! The few HTTP requests of signing in (an issuer's discovery document and keys, its token
//! endpoint, the gateway's development sign-in): one HTTP/1.1 connection per request, over
//! TLS (rustls on ring, the system's roots plus an optional CA) for `https://`.

use std::{io, sync::Arc, time::Duration};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::{
    TlsConnector,
    rustls::{
        ClientConfig, RootCertStore,
        pki_types::{CertificateDer, ServerName, pem::PemObject as _},
    },
};

/// How long one request may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read (discovery documents and key sets are a few kilobytes).
const MAX_BYTES: usize = 1 << 20;

/// Sends requests with bodies of bytes, as `oauth2` hands them over.
#[derive(Clone)]
pub struct Http {
    tls: TlsConnector,
}

impl Http {
    /// A client trusting the system's root certificates, and `ca_pem` (PEM) if given.
    pub fn new(ca_pem: Option<&[u8]>) -> anyhow::Result<Self> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(pem) = ca_pem {
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots
                    .add(cert.context("reading the CA certificate")?)
                    .context("the CA certificate")?;
            }
        }
        let config = ClientConfig::builder_with_provider(wuye_kit::tls::provider())
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Sends `request` (an absolute `http://` or `https://` URI) and reads the whole answer.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> anyhow::Result<http::Response<Vec<u8>>> {
        let uri = request.uri().to_string();
        tokio::time::timeout(TIMEOUT, self.send_now(request))
            .await
            .with_context(|| format!("{uri}: no answer within {} s", TIMEOUT.as_secs()))?
            .with_context(|| format!("requesting {uri}"))
    }

    /// GET `url`, as JSON (status 200 only).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())?;
        let response = self.send(request).await?;
        anyhow::ensure!(
            response.status() == http::StatusCode::OK,
            "{url} answered {}",
            response.status()
        );
        serde_json::from_slice(response.body()).with_context(|| format!("reading {url}"))
    }

    /// For `oauth2`: the error is an `io::Error` with the whole message.
    pub async fn oauth(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, io::Error> {
        self.send(request)
            .await
            .map_err(|e| io::Error::other(format!("{e:#}")))
    }

    async fn send_now(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> anyhow::Result<http::Response<Vec<u8>>> {
        let uri = request.uri().clone();
        let host = uri.host().context("no host in the URL")?.to_owned();
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => anyhow::bail!("not an http(s) URL"),
        };
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let host_name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tcp = TcpStream::connect((host_name.as_str(), port)).await?;
        let (parts, body) = request.into_parts();
        let mut request = http::Request::from_parts(parts, Full::new(bytes::Bytes::from(body)));
        // HTTP/1.1 wants the origin form and a Host header.
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).parse()?;
        *request.uri_mut() = path;
        let authority = uri.authority().context("no host in the URL")?.as_str();
        request
            .headers_mut()
            .insert(http::header::HOST, http::HeaderValue::from_str(authority)?);
        if tls {
            let name = ServerName::try_from(host_name)?;
            let stream = self.tls.connect(name, tcp).await?;
            exchange(TokioIo::new(stream), request).await
        } else {
            exchange(TokioIo::new(tcp), request).await
        }
    }
}

async fn exchange<S>(
    io: S,
    request: http::Request<Full<bytes::Bytes>>,
) -> anyhow::Result<http::Response<Vec<u8>>>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_BYTES)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?
        .to_bytes();
    Ok(http::Response::from_parts(parts, body.to_vec()))
}
