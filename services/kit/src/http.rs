//! The few HTTP requests of OpenID Connect (a provider's discovery document and keys, its
//! token endpoint, the gateway's development sign-in): one HTTP/1.1 connection per request
//! (they are rare), over TLS (rustls on ring, the system's roots — `SSL_CERT_FILE` restricts
//! them — plus an optional CA) for `https`. Plain `http` goes only to a loopback host, unless
//! the client allows it anywhere (development).

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use bytes::Bytes;
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

/// How an HTTP [`Client`] is made.
#[derive(Debug, Clone)]
pub struct Builder {
    timeout: Duration,
    max_bytes: usize,
    ca_pem: Option<Vec<u8>>,
    plain_http_anywhere: bool,
    user_agent: Option<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_bytes: 1 << 20,
            ca_pem: None,
            plain_http_anywhere: false,
            user_agent: None,
        }
    }
}

impl Builder {
    /// How long one request may take, connecting included (30 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer read, in bytes (1 MiB by default).
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// A CA certificate (PEM) trusted besides the system's roots.
    pub fn ca_pem(mut self, pem: Option<&[u8]>) -> Self {
        self.ca_pem = pem.map(<[u8]>::to_vec);
        self
    }

    /// Development: plain `http` to any host, not only to a loopback one.
    pub fn plain_http_anywhere(mut self, allowed: bool) -> Self {
        self.plain_http_anywhere = allowed;
        self
    }

    /// The `user-agent` of requests that name none.
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = Some(user_agent.to_owned());
        self
    }

    /// The client: its TLS configuration made, the CA read.
    pub fn build(self) -> anyhow::Result<Client> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(pem) = &self.ca_pem {
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots
                    .add(cert.context("reading the CA certificate")?)
                    .context("the CA certificate")?;
            }
        }
        if roots.is_empty() {
            tracing::warn!(
                "no trusted root certificates found: https identity providers cannot be reached \
                 (install ca-certificates, or point SSL_CERT_FILE at a bundle)"
            );
        }
        let config = ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let user_agent = self
            .user_agent
            .as_deref()
            .map(http::HeaderValue::from_str)
            .transpose()
            .context("the user agent")?;
        Ok(Client {
            tls: TlsConnector::from(Arc::new(config)),
            timeout: self.timeout,
            max_bytes: self.max_bytes,
            plain_http_anywhere: self.plain_http_anywhere,
            user_agent,
        })
    }
}

/// Sends requests with bodies of bytes (as `oauth2` hands them over) and reads their answers.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
    timeout: Duration,
    max_bytes: usize,
    plain_http_anywhere: bool,
    user_agent: Option<http::HeaderValue>,
}

impl Client {
    /// A client to make: see [`Builder`].
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Refuses a URL this client would not request: not http(s), or plain http to a host that
    /// is not loopback unless allowed anywhere.
    pub fn check_url(&self, url: &str) -> anyhow::Result<http::Uri> {
        check_url(url, self.plain_http_anywhere)
    }

    /// Sends `request` (an absolute `http://` or `https://` URI) and reads the whole answer,
    /// whatever its status.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> anyhow::Result<http::Response<Vec<u8>>> {
        let uri = request.uri().to_string();
        self.check_url(&uri)?;
        tokio::time::timeout(self.timeout, self.send_now(request))
            .await
            .map_err(|_| anyhow::anyhow!("{uri}: no answer within {:?}", self.timeout))?
            .with_context(|| format!("requesting {uri}"))
    }

    /// GETs `url` and reads its JSON body (status 200 only).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .with_context(|| format!("{url} is not a URL"))?;
        let response = self.send(request).await?;
        anyhow::ensure!(
            response.status() == http::StatusCode::OK,
            "{url} answered {}",
            response.status()
        );
        serde_json::from_slice(response.body())
            .with_context(|| format!("the answer of {url} is not the JSON awaited"))
    }

    async fn send_now(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> anyhow::Result<http::Response<Vec<u8>>> {
        let uri = request.uri().clone();
        let host = uri.host().context("no host in the URL")?;
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tcp = TcpStream::connect((bare.as_str(), port))
            .await
            .with_context(|| format!("connecting to {host}:{port}"))?;
        tcp.set_nodelay(true)?;
        let (parts, body) = request.into_parts();
        let mut request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        // HTTP/1.1 wants the origin form and a Host header.
        *request.uri_mut() = uri.path_and_query().map_or("/", |p| p.as_str()).parse()?;
        let authority = uri.authority().context("no host in the URL")?.as_str();
        let headers = request.headers_mut();
        headers.insert(http::header::HOST, http::HeaderValue::from_str(authority)?);
        if let Some(agent) = &self.user_agent
            && !headers.contains_key(http::header::USER_AGENT)
        {
            headers.insert(http::header::USER_AGENT, agent.clone());
        }
        if https {
            let name = ServerName::try_from(bare).context("not a TLS server name")?;
            let tls = self.tls.connect(name, tcp).await.context("TLS")?;
            self.exchange(TokioIo::new(tls), request).await
        } else {
            self.exchange(TokioIo::new(tcp), request).await
        }
    }

    async fn exchange<IO>(
        &self,
        io: IO,
        request: http::Request<Full<Bytes>>,
    ) -> anyhow::Result<http::Response<Vec<u8>>>
    where
        IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
        let connection = tokio::spawn(connection);
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, self.max_bytes)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?
            .to_bytes();
        connection.abort();
        Ok(http::Response::from_parts(parts, body.to_vec()))
    }
}

/// Whether `url` may be requested: `https`, or `http` to a loopback host (to any host when
/// `plain_http_anywhere`, in development).
pub fn check_url(url: &str, plain_http_anywhere: bool) -> anyhow::Result<http::Uri> {
    let uri: http::Uri = url.parse().with_context(|| format!("{url} is not a URL"))?;
    let host = uri.host().with_context(|| format!("{url} has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if plain_http_anywhere || is_loopback(host) => Ok(uri),
        Some("http") => anyhow::bail!(
            "{url}: plain http is allowed only to a loopback host (or in development); use https"
        ),
        _ => anyhow::bail!("{url} is not an http(s) URL"),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_outside_development() {
        assert!(check_url("https://sso.example.com/realms/wuye", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/x", false).is_ok());
        assert!(check_url("http://localhost/x", false).is_ok());
        assert!(check_url("http://localhost:8080/realms/x", false).is_ok());
        assert!(check_url("http://[::1]:9/x", false).is_ok());
        assert!(check_url("http://sso.example.com/x", false).is_err());
        assert!(check_url("http://sso.example.com/x", true).is_ok());
        assert!(check_url("ftp://sso.example.com/x", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }
}
