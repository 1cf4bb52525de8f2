//! The few HTTP GETs of OpenID Connect: a provider's discovery document and its JWKS. One
//! HTTP/1.1 connection per fetch (they are rare), over TLS (rustls on ring, the system's
//! roots: `SSL_CERT_FILE` restricts them) for `https`; plain `http` only to a loopback host,
//! or in development.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::{
    TlsConnector,
    rustls::{ClientConfig, RootCertStore, pki_types::ServerName},
};

/// Fetches JSON documents of OpenID providers.
#[derive(Clone)]
pub struct Fetcher {
    tls: TlsConnector,
    timeout: Duration,
    max_bytes: usize,
    /// Development: plain http to any host.
    dev: bool,
}

impl Fetcher {
    pub fn new(timeout: Duration, max_bytes: usize, dev: bool) -> anyhow::Result<Self> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!(
                "no trusted root certificates found: https identity providers cannot be reached \
                 (install ca-certificates, or point SSL_CERT_FILE at a bundle)"
            );
        }
        let config = ClientConfig::builder_with_provider(wuye_kit::tls::provider())
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
            timeout,
            max_bytes,
            dev,
        })
    }

    /// Refuses a URL this fetcher would not fetch: not http(s), or plain http to a host that
    /// is not loopback outside development.
    pub fn check_url(&self, url: &str) -> anyhow::Result<http::Uri> {
        check_url(url, self.dev)
    }

    /// GETs `url` and reads its JSON body (status 200 only).
    pub async fn get_json(&self, url: &str) -> anyhow::Result<serde_json::Value> {
        let uri = self.check_url(url)?;
        let body = tokio::time::timeout(self.timeout, self.get(&uri))
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {:?}", self.timeout))??;
        serde_json::from_slice(&body).context("the answer is not JSON")
    }

    async fn get(&self, uri: &http::Uri) -> anyhow::Result<Bytes> {
        let host = uri.host().context("no host")?.to_owned();
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
        let request = http::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(http::header::HOST, authority(uri))
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, "wuye-gateway")
            .body(Empty::<Bytes>::new())?;
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
        request: http::Request<Empty<Bytes>>,
    ) -> anyhow::Result<Bytes>
    where
        IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
        let connection = tokio::spawn(connection);
        let response = sender.send_request(request).await?;
        let status = response.status();
        anyhow::ensure!(status == http::StatusCode::OK, "answered {status}");
        let body = Limited::new(response.into_body(), self.max_bytes)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?
            .to_bytes();
        connection.abort();
        Ok(body)
    }
}

fn authority(uri: &http::Uri) -> String {
    uri.authority().map(|a| a.to_string()).unwrap_or_default()
}

/// Whether `url` may be fetched: `https`, or `http` to a loopback host (any host in
/// development).
pub fn check_url(url: &str, dev: bool) -> anyhow::Result<http::Uri> {
    let uri: http::Uri = url.parse().with_context(|| format!("{url} is not a URL"))?;
    let host = uri.host().with_context(|| format!("{url} has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if dev || is_loopback(host) => Ok(uri),
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
        assert!(check_url("http://[::1]:9/x", false).is_ok());
        assert!(check_url("http://sso.example.com/x", false).is_err());
        assert!(check_url("http://sso.example.com/x", true).is_ok());
        assert!(check_url("ftp://sso.example.com/x", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }
}
