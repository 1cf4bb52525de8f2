//! TLS on every hop, one way for every binary: each component has one identity, a certificate
//! and its key, and one trust, the CA (bundle) of the deployment (`tls.cert_file`,
//! `tls.key_file`, `tls.ca_file`; `WUYE_<COMPONENT>__TLS__CERT_FILE` …).
//!
//! - A department serves TLS and takes only clients whose certificate the CA signed (mutual
//!   TLS, client certificate required); ALPN offers `h2` alone.
//! - The gateway serves TLS to its callers without asking for a certificate (they prove who
//!   they are with their token); ALPN offers `h2` and `http/1.1`, for gRPC-Web from browsers.
//! - Every outgoing channel (the gateway's proxy, portfolio and relay, a department's event
//!   follower) presents the component's certificate and verifies the server against the CA and
//!   the host of its address, so the server's certificate must name that host (a DNS or IP
//!   subject alternative name). Addresses say which they are: `https://` with TLS configured,
//!   `http://` without; a mix is refused at start-up rather than sent in clear.
//!
//! Off by default (`wuye up`, the in-process tests): an operator may also terminate TLS in a
//! mesh. Configured in part, the binary refuses to start naming the missing setting.
//!
//! The listener's TLS is terminated here with tokio-rustls rather than by tonic's
//! `ServerTlsConfig`, which offers only `h2` by ALPN (an HTTP/1.1-only gRPC-Web client is
//! refused with `no_application_protocol`) and builds its rustls configuration on the
//! process-default crypto provider, which panics when two providers are compiled in (the S3
//! document store brings aws-lc-rs). Here every configuration names ring, the one provider
//! tonic's `tls-ring` and sqlx's `tls-rustls-ring-*` use too.

use std::{
    fmt, io,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self, RootCertStore, ServerConfig,
        crypto::CryptoProvider,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _},
        server::WebPkiClientVerifier,
    },
    server::TlsStream,
};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::dev;

/// ALPN protocol id of HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN protocol id of HTTP/1.1 (gRPC-Web from browsers that do not speak h2 to the gateway).
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
/// Longest a TLS handshake may take, on either side, before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS settings of a component: all three files, or none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsSettings {
    /// This component's certificate chain (PEM, leaf first). It names the component's host
    /// names (DNS or IP SANs) and is valid for both server and client authentication.
    pub cert_file: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// The CA certificates (PEM bundle) this component trusts for the other side of each
    /// connection: the servers it calls and, on a department, the clients calling it. During a
    /// CA rotation, the old and the new CA.
    pub ca_file: PathBuf,
}

impl TlsSettings {
    /// Whether any TLS setting is given (then all must be).
    pub fn is_configured(&self) -> bool {
        [&self.cert_file, &self.key_file, &self.ca_file]
            .iter()
            .any(|path| !path.as_os_str().is_empty())
    }

    /// The TLS material of `component`, read and checked now: `None` when TLS is not
    /// configured, an error naming what is missing or wrong when it is in part or unreadable.
    pub fn load(&self, component: &str) -> anyhow::Result<Option<Tls>> {
        if !self.is_configured() {
            return Ok(None);
        }
        let files = [
            ("tls.cert_file", &self.cert_file),
            ("tls.key_file", &self.key_file),
            ("tls.ca_file", &self.ca_file),
        ];
        let missing: Vec<String> = files
            .iter()
            .filter(|(_, path)| path.as_os_str().is_empty())
            .map(|(setting, _)| format!("{setting} ({})", dev::env_var(component, setting)))
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "TLS is configured in part: {} not set; tls.cert_file, tls.key_file and tls.ca_file \
             go together",
            missing.join(" and ")
        );
        let cert_pem = read(&self.cert_file, "tls.cert_file")?;
        let key_pem = read(&self.key_file, "tls.key_file")?;
        let ca_pem = read(&self.ca_file, "tls.ca_file")?;
        let certs = certificates(&cert_pem, &self.cert_file, "tls.cert_file")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            anyhow::anyhow!(
                "tls.key_file: no private key in {} ({e})",
                self.key_file.display()
            )
        })?;
        let mut roots = RootCertStore::empty();
        for ca in certificates(&ca_pem, &self.ca_file, "tls.ca_file")? {
            roots.add(ca).with_context(|| {
                format!(
                    "tls.ca_file: {} holds a certificate that is no CA",
                    self.ca_file.display()
                )
            })?;
        }
        let tls = Tls(Arc::new(Material {
            cert_pem,
            key_pem,
            ca_pem,
            certs,
            key,
            roots: Arc::new(roots),
        }));
        // Whether the key is the certificate's.
        tls.server_config(&[ALPN_H2], ClientCerts::Required)
            .with_context(|| {
                format!(
                    "tls.cert_file {} and tls.key_file {}",
                    self.cert_file.display(),
                    self.key_file.display()
                )
            })?;
        Ok(Some(tls))
    }
}

fn read(path: &Path, setting: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{setting}: reading {}", path.display()))
}

fn certificates(
    pem: &[u8],
    path: &Path,
    setting: &str,
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{setting}: {}: {e}", path.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{setting}: no PEM certificate in {}",
        path.display()
    );
    Ok(certs)
}

/// Whether a server asks its clients for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCerts {
    /// Mutual TLS: a client without a certificate the CA signed is refused in the handshake.
    Required,
    /// The callers are people and their apps, who prove who they are with their token.
    NotAsked,
}

/// A component's TLS material, loaded and checked ([`TlsSettings::load`]); cheap to clone.
#[derive(Clone)]
pub struct Tls(Arc<Material>);

struct Material {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    ca_pem: Vec<u8>,
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: Arc<RootCertStore>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("certificates", &self.0.certs.len())
            .field("trusted", &self.0.roots.len())
            .finish_non_exhaustive()
    }
}

/// The crypto provider of every TLS configuration of wuye: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Tls {
    /// The server side: this certificate, the protocols offered by ALPN, and whether clients
    /// must present a certificate the CA signed.
    pub fn server_config(
        &self,
        alpn: &[&[u8]],
        clients: ClientCerts,
    ) -> anyhow::Result<Arc<ServerConfig>> {
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?;
        let builder = match clients {
            ClientCerts::Required => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(self.0.roots.clone(), provider())
                    .build()?,
            ),
            ClientCerts::NotAsked => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(self.0.certs.clone(), self.0.key.clone_key())?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// The client side, for tonic channels: this certificate presented, the server verified
    /// against the CA and the host of the address called.
    pub fn client_config(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.0.ca_pem))
            .identity(Identity::from_pem(&self.0.cert_pem, &self.0.key_pem))
            .timeout(HANDSHAKE_TIMEOUT)
    }

    /// The incoming connections of `listener`, each through the TLS handshake of `config`.
    pub fn incoming(&self, listener: TcpListener, config: Arc<ServerConfig>) -> TlsIncoming {
        TlsIncoming {
            listener,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
        }
    }
}

/// The endpoint of a gRPC server at `address`: mutual TLS with `tls`, plaintext without. The
/// scheme must agree (`https://` with TLS, `http://` without): tonic would otherwise speak
/// plaintext to an `http://` address whatever its TLS configuration.
pub fn endpoint(address: &str, tls: Option<&Tls>) -> anyhow::Result<Endpoint> {
    let endpoint = Endpoint::from_shared(address.to_owned())
        .with_context(|| format!("bad address {address}"))?;
    let https = endpoint.uri().scheme_str() == Some("https");
    match tls {
        Some(tls) => {
            anyhow::ensure!(
                https,
                "{address} is plaintext but TLS is configured: write it https://"
            );
            Ok(endpoint.tls_config(tls.client_config())?)
        }
        None => {
            anyhow::ensure!(
                !https,
                "{address} asks for TLS but TLS is not configured (tls.cert_file, tls.key_file, \
                 tls.ca_file)"
            );
            Ok(endpoint)
        }
    }
}

/// A listener's connections once through their TLS handshake, for tonic's
/// `serve_with_incoming`. Handshakes run side by side, each bounded by
/// [`HANDSHAKE_TIMEOUT`]; one that fails (a client without a valid certificate, plaintext,
/// a port scan) is logged and dropped, and never stops the server. Dropping the stream closes
/// the listener and abandons the handshakes under way.
pub struct TlsIncoming {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<(std::net::SocketAddr, io::Result<TlsStream<TcpStream>>)>,
}

impl TlsIncoming {
    fn handshake(&mut self, tcp: TcpStream, peer: std::net::SocketAddr) {
        // No Nagle delay: a call's headers, message and trailers are separate writes.
        let _ = tcp.set_nodelay(true);
        let accept = self.acceptor.accept(tcp);
        self.handshakes.spawn(async move {
            let done = match tokio::time::timeout(HANDSHAKE_TIMEOUT, accept).await {
                Ok(done) => done,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                )),
            };
            (peer, done)
        });
    }
}

impl tokio_stream::Stream for TlsIncoming {
    type Item = io::Result<TlsStream<TcpStream>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.listener.poll_accept(cx) {
                Poll::Ready(Ok((tcp, peer))) => this.handshake(tcp, peer),
                // tonic logs accept errors and goes on.
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending => break,
            }
        }
        loop {
            match this.handshakes.poll_join_next(cx) {
                Poll::Ready(Some(Ok((_, Ok(stream))))) => return Poll::Ready(Some(Ok(stream))),
                Poll::Ready(Some(Ok((peer, Err(e))))) => {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        // A connection closed before a word of TLS: probes, port scans.
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    } else {
                        tracing::info!(%peer, error = %e, "TLS handshake failed");
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    tracing::warn!(error = %e, "TLS handshake task failed");
                }
                // Nothing under way (polled again when a connection arrives) or not yet done.
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_configured_in_part_names_the_missing_settings() {
        assert!(TlsSettings::default().load("archives").unwrap().is_none());
        let settings = TlsSettings {
            cert_file: "/etc/wuye/tls/tls.crt".into(),
            ..Default::default()
        };
        let err = settings.load("customer-service").unwrap_err().to_string();
        assert!(
            err.contains("tls.key_file (WUYE_CUSTOMER_SERVICE__TLS__KEY_FILE)")
                && err.contains("tls.ca_file (WUYE_CUSTOMER_SERVICE__TLS__CA_FILE)")
                && !err.contains("cert_file ("),
            "{err}"
        );
        let settings = TlsSettings {
            cert_file: "/nowhere/tls.crt".into(),
            key_file: "/nowhere/tls.key".into(),
            ca_file: "/nowhere/ca.crt".into(),
        };
        let err = format!("{:#}", settings.load("gateway").unwrap_err());
        assert!(
            err.contains("tls.cert_file: reading /nowhere/tls.crt"),
            "{err}"
        );
    }

    #[test]
    fn addresses_say_whether_they_are_tls() {
        assert!(endpoint("http://127.0.0.1:50051", None).is_ok());
        let err = endpoint("https://customer-service:50051", None).unwrap_err();
        assert!(err.to_string().contains("TLS is not configured"), "{err}");
    }
}
