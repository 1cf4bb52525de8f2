//! A real OpenID provider for the tests: the certified npm package `oidc-provider` run by
//! Node.js from `tests/oidc/` (`npm ci --prefix tests/oidc` installs it; `.ci/run` does).
//!
//! [`Provider::start`] runs `tests/oidc/provider.mjs` on a free port of 127.0.0.1 with the
//! clients and signing keys of [`Options`]; its issuer is `http://127.0.0.1:<port>`. Any login
//! signs in (the provider's development interactions): `sub`, `name` and
//! `preferred_username` are the login. [`Provider::tokens`] runs the whole authorization code
//! flow with PKCE as a native client would (`tokens.mjs`), [`Provider::sign_in_browser`] plays
//! the browser for a client that printed an authorize URL (`sign-in.mjs`, `wuye login`).
//! Keys rotate by restarting on the same port with a new key file
//! ([`Provider::restart_with_keys`]). The calls here block: they run Node.js processes.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::{Value, json};

use crate::repo_root;

/// A signing algorithm of ID tokens, and the kind of key that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSA 2048 with SHA-256.
    Rs256,
    /// ECDSA on P-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The JOSE name: RS256, ES256, EdDSA.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }
}

/// A client of the provider: a native public client (PKCE, no secret) whose redirect URI is
/// the loopback `http://127.0.0.1/callback` on any port, its ID tokens signed with `alg`.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub alg: Alg,
}

impl Client {
    pub fn new(client_id: &str, alg: Alg) -> Self {
        Self {
            client_id: client_id.to_owned(),
            alg,
        }
    }
}

/// How the provider runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub clients: Vec<Client>,
    /// The JWKS of private keys ([`write_keys`]).
    pub keys_file: PathBuf,
    pub id_token_ttl_secs: u64,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
}

impl Options {
    /// The client `wuye` (EdDSA), tokens for an hour, refresh tokens for a day.
    pub fn new(keys_file: impl Into<PathBuf>) -> Self {
        Self {
            clients: vec![Client::new("wuye", Alg::EdDsa)],
            keys_file: keys_file.into(),
            id_token_ttl_secs: 3600,
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 86400,
        }
    }

    pub fn clients(mut self, clients: Vec<Client>) -> Self {
        self.clients = clients;
        self
    }

    /// ID and access tokens that expire after `secs`.
    pub fn token_ttl(mut self, secs: u64) -> Self {
        self.id_token_ttl_secs = secs;
        self.access_token_ttl_secs = secs;
        self
    }
}

/// A token response of the provider.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: u64,
}

impl TokenSet {
    fn from_json(value: &Value) -> Self {
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        Self {
            id_token: text("id_token").unwrap_or_else(|| panic!("no id_token in {value}")),
            access_token: text("access_token").unwrap_or_default(),
            refresh_token: text("refresh_token"),
            expires_in: value["expires_in"].as_u64().unwrap_or_default(),
        }
    }
}

/// The provider's directory, with its scripts and packages; fails the test with what to do
/// when the packages are not installed.
pub fn provider_dir() -> PathBuf {
    let dir = repo_root().join("tests/oidc");
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "the test OpenID provider's packages are missing: run `npm ci --prefix tests/oidc` \
         (Node.js 20 or later)"
    );
    dir
}

/// Runs `node <script> <args>` in the provider's directory; its stdout, or the test fails with
/// its stderr.
fn node(script: &str, args: &[&str]) -> String {
    let output = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(provider_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running node {script} (is Node.js installed?): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "node {script} failed ({}): {}{}",
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Writes a JWKS of new private keys to `path`, one per `(alg, kid)` in this order (the first
/// of an algorithm signs), with `keys.mjs`.
pub fn write_keys(path: &Path, keys: &[(Alg, &str)]) {
    let specs: Vec<String> = keys
        .iter()
        .map(|(alg, kid)| format!("{}:{kid}", alg.name()))
        .collect();
    let mut args = vec![path.to_str().expect("a UTF-8 path")];
    args.extend(specs.iter().map(String::as_str));
    node("keys.mjs", &args);
}

/// A running provider; stops when dropped.
pub struct Provider {
    child: Child,
    port: u16,
    options: Options,
    dir: PathBuf,
}

impl Provider {
    /// Starts the provider on a free port and waits until its discovery document answers.
    pub fn start(options: &Options) -> Self {
        Self::start_in(options, new_dir())
    }

    /// [`Provider::start`] with `dir` as its directory (removed when it stops).
    fn start_in(options: &Options, dir: PathBuf) -> Self {
        let (child, port) = spawn(options, 0, &dir);
        let provider = Self {
            child,
            port,
            options: options.clone(),
            dir,
        };
        provider.discovery();
        provider
    }

    /// A provider with a fresh key of each algorithm (in a temporary directory) and `clients`.
    pub fn with_clients(clients: Vec<Client>) -> Self {
        let dir = new_dir();
        let keys = dir.join("keys.json");
        write_keys(
            &keys,
            &[
                (Alg::Rs256, "rs-1"),
                (Alg::Es256, "es-1"),
                (Alg::EdDsa, "ed-1"),
            ],
        );
        Self::start_in(&Options::new(keys).clients(clients), dir)
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The provider's options, as it runs now.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Restarts the provider on the same port, signing with the keys of `keys_file` (a key
    /// rotation: the new key first). Sessions, codes and refresh tokens are forgotten.
    pub fn restart_with_keys(&mut self, keys_file: &Path) {
        self.stop();
        self.options.keys_file = keys_file.to_owned();
        let (child, port) = spawn(&self.options, self.port, &self.dir);
        assert_eq!(port, self.port);
        self.child = child;
        self.discovery();
    }

    /// The discovery document (`/.well-known/openid-configuration`).
    pub fn discovery(&self) -> Value {
        self.get_json("/.well-known/openid-configuration")
    }

    /// The provider's public keys (`/jwks`).
    pub fn jwks(&self) -> Value {
        self.get_json("/jwks")
    }

    /// Signs in as `login` with the client `client_id` (authorization code with PKCE, scope
    /// `openid profile email offline_access`) and returns the tokens.
    pub fn tokens(&self, client_id: &str, login: &str) -> TokenSet {
        let out = node("tokens.mjs", &[&self.issuer(), client_id, login]);
        TokenSet::from_json(&serde_json::from_str(&out).unwrap())
    }

    /// New tokens for a refresh token of `client_id`.
    pub fn refresh(&self, client_id: &str, refresh_token: &str) -> TokenSet {
        let out = node(
            "tokens.mjs",
            &["--refresh", &self.issuer(), client_id, refresh_token],
        );
        TokenSet::from_json(&serde_json::from_str(&out).unwrap())
    }

    /// Plays the browser for a client that printed `authorize_url`: signs in as `login`,
    /// consents, then opens the redirect URI the provider sends it to (the client's
    /// loopback). Returns that URL; the test fails if the loopback does not answer 2xx.
    pub fn sign_in_browser(&self, authorize_url: &str, login: &str) -> String {
        let out = node("sign-in.mjs", &[authorize_url, login]);
        out.lines().next().unwrap_or_default().to_owned()
    }

    /// GET `path` of the provider, as JSON (a bare HTTP/1.0 request: no client crate).
    fn get_json(&self, path: &str) -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new temporary directory for a provider.
fn new_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wuye-oidc-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `provider.mjs` on `port` (0: a free one) and waits for its `ready <issuer>` line;
/// its log goes to `dir/provider.log` (to the test's stderr with `TEST_LOG=1`).
fn spawn(options: &Options, port: u16, dir: &Path) -> (Child, u16) {
    let clients: Vec<Value> = options
        .clients
        .iter()
        .map(|c| json!({"client_id": c.client_id, "id_token_signed_response_alg": c.alg.name()}))
        .collect();
    let log_path = dir.join("provider.log");
    let stderr = if std::env::var_os("TEST_LOG").is_some() {
        Stdio::inherit()
    } else {
        Stdio::from(std::fs::File::create(&log_path).unwrap())
    };
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .args(["--port", &port.to_string()])
        .arg("--keys")
        .arg(&options.keys_file)
        .args(["--clients", &Value::from(clients).to_string()])
        .args(["--id-token-ttl", &options.id_token_ttl_secs.to_string()])
        .args([
            "--access-token-ttl",
            &options.access_token_ttl_secs.to_string(),
        ])
        .args([
            "--refresh-token-ttl",
            &options.refresh_token_ttl_secs.to_string(),
        ])
        .current_dir(provider_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("starting node provider.mjs (is Node.js installed?): {e}"));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(issuer) = line.strip_prefix("ready ") {
                let _ = tx.send(issuer.to_owned());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(issuer) => {
            let port = issuer.rsplit(':').next().and_then(|p| p.parse().ok());
            (
                child,
                port.unwrap_or_else(|| panic!("a bad issuer {issuer}")),
            )
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("the OpenID provider did not start: {log}");
        }
    }
}
