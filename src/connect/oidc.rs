//! Signing in with OpenID Connect as a native application (RFC 8252): the authorization code
//! flow with PKCE (S256) on a loopback redirect, and the refresh of the tokens it gives. The
//! OAuth 2.0 exchanges are the `oauth2` crate's; the ID token is checked here against the
//! issuer's keys (signature, issuer, audience, expiry, nonce), with jsonwebtoken as the
//! gateway checks it.

use std::fmt;

use anyhow::Context as _;
use jsonwebtoken::Validation;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse as _, TokenUrl,
    basic::{
        BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
        BasicTokenType,
    },
};
use serde::{Deserialize, Serialize};
use wuye_kit::{
    http::Client as Http,
    oidc::{Discovery, Keys, NoKey, discovery_url, key_for, parse_jwks},
};

use super::credentials::Credentials;

/// What `wuye login` asks for: the person (`openid profile email`) and a refresh token.
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The parts of an issuer's discovery document a native client needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Issuer {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// Reads the discovery document of `issuer` (`/.well-known/openid-configuration`).
pub async fn discover(http: &Http, issuer: &str) -> anyhow::Result<Issuer> {
    let issuer = issuer.trim_end_matches('/');
    check_secure(issuer)?;
    let failed = || format!("读取身份提供方 {issuer} 的配置 (discovery) 失败");
    let found: Discovery = http
        .get_json(&discovery_url(issuer))
        .await
        .with_context(failed)?;
    // The issuer as named, with the trailing slash its provider may write.
    let named = match found.issuer.ends_with('/') {
        true => format!("{issuer}/"),
        false => issuer.to_owned(),
    };
    found
        .check_issuer(&named)
        .with_context(|| format!("身份提供方的 issuer 是 {}，与 {issuer} 不符", found.issuer))?;
    let endpoint =
        |url: Option<String>, name: &str| url.with_context(|| format!("{}: 没有 {name}", failed()));
    let found = Issuer {
        authorization_endpoint: endpoint(found.authorization_endpoint, "authorization_endpoint")?,
        token_endpoint: endpoint(found.token_endpoint, "token_endpoint")?,
        issuer: found.issuer,
        jwks_uri: found.jwks_uri,
    };
    for url in [
        &found.authorization_endpoint,
        &found.token_endpoint,
        &found.jwks_uri,
    ] {
        check_secure(url)?;
    }
    Ok(found)
}

/// Tokens go over TLS, or to this machine only (a development provider).
fn check_secure(url: &str) -> anyhow::Result<()> {
    wuye_kit::http::check_url(url, false)
        .with_context(|| format!("{url}：身份提供方须使用 https:// (本机地址除外)"))?;
    Ok(())
}

/// The extra field of an OpenID Connect token response.
#[derive(Clone, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdTokenField { id_token: <redacted> }")
    }
}

impl ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type Client<HasAuthUrl = EndpointSet> = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn client(issuer: &Issuer, client_id: &str) -> anyhow::Result<Client> {
    Ok(oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::new(issuer.authorization_endpoint.clone())?)
        .set_token_uri(TokenUrl::new(issuer.token_endpoint.clone())?))
}

/// One sign-in under way: the URL to open, and what must come back.
pub struct Authorization {
    pub url: String,
    pub redirect_uri: String,
    state: CsrfToken,
    nonce: String,
    verifier: PkceCodeVerifier,
}

impl Authorization {
    /// Starts a sign-in of `client_id` at `issuer` that returns to `redirect_uri`, with a new
    /// PKCE verifier (S256), state and nonce.
    pub fn start(issuer: &Issuer, client_id: &str, redirect_uri: &str) -> anyhow::Result<Self> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random().secret().clone();
        let client =
            client(issuer, client_id)?.set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned())?);
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.map(|s| Scope::new(s.to_owned())))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", &nonce)
            // OpenID Connect gives offline_access (a refresh token) only with consent asked.
            .add_extra_param("prompt", "consent")
            .url();
        Ok(Self {
            url: url.to_string(),
            redirect_uri: redirect_uri.to_owned(),
            state,
            nonce,
            verifier,
        })
    }

    /// Checks what the loopback received (`state`, and `iss` when the issuer sends it, RFC
    /// 9207) and returns the code.
    pub fn code(&self, issuer: &Issuer, callback: &Callback) -> anyhow::Result<String> {
        if let Some(error) = &callback.error {
            anyhow::bail!(
                "身份提供方拒绝了登录：{error}{}",
                callback
                    .error_description
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
        }
        anyhow::ensure!(
            callback.state.as_deref() == Some(self.state.secret().as_str()),
            "登录回调的 state 不符：请重新运行 wuye login"
        );
        if let Some(iss) = &callback.iss {
            anyhow::ensure!(
                iss.trim_end_matches('/') == issuer.issuer.trim_end_matches('/'),
                "登录回调来自另一个身份提供方 ({iss})"
            );
        }
        callback.code.clone().context("登录回调中没有授权码 (code)")
    }

    /// Exchanges `code` for tokens and checks the ID token (its nonce too).
    pub async fn exchange(
        self,
        http: &Http,
        issuer: &Issuer,
        client_id: &str,
        code: String,
    ) -> anyhow::Result<Credentials> {
        let client =
            client(issuer, client_id)?.set_redirect_uri(RedirectUrl::new(self.redirect_uri)?);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(self.verifier)
            .request_async(&oauth_client(http))
            .await
            .map_err(token_error)
            .context("用授权码换取令牌失败")?;
        credentials(http, issuer, client_id, &tokens, Some(&self.nonce), None).await
    }
}

/// The query of the redirect back to the loopback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// New tokens for `old` with its refresh token; what `old` remembered (gateway, post) stays.
pub async fn refresh(http: &Http, old: &Credentials) -> anyhow::Result<Credentials> {
    let refresh_token = old
        .refresh_token
        .as_ref()
        .context("登录已过期，且没有可用的刷新令牌：请重新运行 wuye login")?;
    let issuer = discover(http, &old.issuer).await?;
    let tokens = client(&issuer, &old.client_id)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token.clone()))
        .request_async(&oauth_client(http))
        .await
        .map_err(token_error)
        .context("刷新登录失败：请重新运行 wuye login")?;
    credentials(http, &issuer, &old.client_id, &tokens, None, Some(old)).await
}

/// An answer of [`Http`] as `oauth2` awaits it.
type Answer =
    std::pin::Pin<Box<dyn Future<Output = Result<http::Response<Vec<u8>>, std::io::Error>> + Send>>;

/// The `oauth2` HTTP client over [`Http`]: the error is an `io::Error` with the whole message.
fn oauth_client(http: &Http) -> impl Fn(http::Request<Vec<u8>>) -> Answer {
    let http = http.clone();
    move |request| {
        let http = http.clone();
        Box::pin(async move {
            http.send(request)
                .await
                .map_err(|e| std::io::Error::other(format!("{e:#}")))
        })
    }
}

fn token_error<E: std::error::Error + Send + Sync + 'static>(
    e: RequestTokenError<E, BasicErrorResponse>,
) -> anyhow::Error {
    match e {
        RequestTokenError::ServerResponse(response) => anyhow::anyhow!(
            "身份提供方答复 {}{}",
            response.error(),
            response
                .error_description()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        other => anyhow::Error::new(other),
    }
}

/// The credentials of a token response, its ID token checked; `old`'s refresh token, gateway
/// and post are kept where the response brings none.
async fn credentials(
    http: &Http,
    issuer: &Issuer,
    client_id: &str,
    tokens: &Tokens,
    nonce: Option<&str>,
    old: Option<&Credentials>,
) -> anyhow::Result<Credentials> {
    let id_token = tokens
        .extra_fields()
        .id_token
        .clone()
        .context("身份提供方没有返回 ID 令牌 (id_token)：它是 OpenID Connect 提供方吗？")?;
    let document: serde_json::Value = http
        .get_json(&issuer.jwks_uri)
        .await
        .context("读取身份提供方的公钥 (JWKS) 失败")?;
    let (keys, _) = parse_jwks(&document);
    let claims = verify(&id_token, &keys, &issuer.issuer, client_id, nonce)?;
    let refresh_token = tokens
        .refresh_token()
        .map(|t| t.secret().clone())
        .or_else(|| old.and_then(|o| o.refresh_token.clone()));
    Ok(Credentials {
        issuer: issuer.issuer.clone(),
        client_id: client_id.to_owned(),
        token_endpoint: issuer.token_endpoint.clone(),
        id_token,
        refresh_token,
        issued_at: claims.iat.unwrap_or_else(|| chrono::Utc::now().timestamp()),
        expires_at: claims.exp,
        subject: claims.sub,
        name: claims.name.unwrap_or_default(),
        gateway: old.and_then(|o| o.gateway.clone()),
        post: old.and_then(|o| o.post.clone()),
        development: false,
    })
}

/// The claims of an ID token that `wuye login` reads.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub iss: Option<String>,
}

/// Checks `id_token` as OpenID Connect Core 3.1.3.7 asks: signed by a key of `keys` with
/// the algorithm the header names (one the key accepts), issued by `issuer` for `client_id`,
/// not expired, and with `nonce` when one was sent.
pub fn verify(
    id_token: &str,
    keys: &Keys,
    issuer: &str,
    client_id: &str,
    nonce: Option<&str>,
) -> anyhow::Result<IdClaims> {
    let header = jsonwebtoken::decode_header(id_token).context("ID 令牌格式不对")?;
    let key = &key_for(keys, &header)
        .map_err(|no| match no {
            NoKey::Unknown(kid) => anyhow::anyhow!(
                "ID 令牌的签名密钥 {} 不在身份提供方的公钥中",
                if kid.is_empty() { "(无 kid)" } else { &kid }
            ),
            NoKey::Refused(alg) => anyhow::anyhow!("身份提供方的公钥不签 {alg:?} 的 ID 令牌"),
        })?
        .key;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<IdClaims>(id_token, key, &validation)
        .context("ID 令牌未通过校验")?
        .claims;
    if let Some(nonce) = nonce {
        anyhow::ensure!(
            claims.nonce.as_deref() == Some(nonce),
            "ID 令牌的 nonce 不符：请重新运行 wuye login"
        );
    }
    Ok(claims)
}

/// Reads the claims of an ID token without checking its signature: for a development
/// sign-in, which the gateway itself signed and will check.
pub fn unverified_claims(id_token: &str) -> anyhow::Result<IdClaims> {
    jsonwebtoken::dangerous::insecure_decode_claims(id_token).context("ID 令牌格式不对")
}

/// The development sign-in of a gateway in development mode (`POST /dev/oidc/token`, form
/// `sign_in=…`): an ID token the gateway signs with its development key, as whoever the
/// directory knows by `sign_in`. No refresh token: sign in again when it expires.
pub async fn dev_sign_in(http: &Http, gateway: &str, sign_in: &str) -> anyhow::Result<Credentials> {
    let gateway = gateway.trim_end_matches('/');
    let url = format!("{gateway}/dev/oidc/token");
    let form = oauth2::url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sign_in", sign_in)
        .finish();
    let request = http::Request::post(&url)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(form.into_bytes())?;
    let response = http.send(request).await?;
    let status = response.status();
    let body = String::from_utf8_lossy(response.body());
    let first: String = body
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    anyhow::ensure!(
        status == http::StatusCode::OK,
        "网关的开发登录答复 {status} {first}：网关须以开发模式运行 (wuye up)"
    );
    #[derive(Deserialize)]
    struct Answer {
        id_token: String,
    }
    let answer: Answer = serde_json::from_slice(response.body())
        .with_context(|| format!("{url} 的答复不是开发登录"))?;
    let claims = unverified_claims(&answer.id_token)?;
    Ok(Credentials {
        issuer: claims.iss.unwrap_or_else(|| format!("{gateway}/dev/oidc")),
        client_id: "wuye".to_owned(),
        token_endpoint: url,
        id_token: answer.id_token,
        refresh_token: None,
        issued_at: claims.iat.unwrap_or_else(|| chrono::Utc::now().timestamp()),
        expires_at: claims.exp,
        subject: claims.sub,
        name: claims.name.unwrap_or_default(),
        gateway: Some(gateway.to_owned()),
        post: None,
        development: true,
    })
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{
        Algorithm, EncodingKey, Header,
        jwk::{Jwk, JwkSet},
    };

    use super::*;

    fn issuer() -> Issuer {
        Issuer {
            issuer: "https://id.example.com".into(),
            authorization_endpoint: "https://id.example.com/auth".into(),
            token_endpoint: "https://id.example.com/token".into(),
            jwks_uri: "https://id.example.com/jwks".into(),
        }
    }

    fn query(url: &str) -> std::collections::HashMap<String, String> {
        let url = oauth2::url::Url::parse(url).unwrap();
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn the_authorize_url_asks_for_a_code_with_pkce_s256_state_and_nonce() {
        let redirect = "http://127.0.0.1:4711/callback";
        let a = Authorization::start(&issuer(), "wuye", redirect).unwrap();
        assert!(
            a.url.starts_with("https://id.example.com/auth?"),
            "{}",
            a.url
        );
        let q = query(&a.url);
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "wuye");
        assert_eq!(q["redirect_uri"], redirect);
        assert_eq!(q["scope"], "openid profile email offline_access");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["state"], *a.state.secret());
        assert_eq!(q["nonce"], a.nonce);
        // S256: the challenge is the unpadded base64url SHA-256 of the verifier.
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&a.verifier);
        assert_eq!(q["code_challenge"], *expected.as_str());
        assert!(q["code_challenge"].len() == 43 && a.verifier.secret().len() >= 43);
        let other = Authorization::start(&issuer(), "wuye", redirect).unwrap();
        assert_ne!(
            other.state.secret(),
            a.state.secret(),
            "a new state each time"
        );
        assert_ne!(other.nonce, a.nonce, "a new nonce each time");
        assert_ne!(other.verifier.secret(), a.verifier.secret());
    }

    #[test]
    fn the_callback_must_bring_back_the_state_from_the_same_issuer() {
        let a = Authorization::start(&issuer(), "wuye", "http://127.0.0.1:1/callback").unwrap();
        let state = Some(a.state.secret().clone());
        let ok = Callback {
            code: Some("the-code".into()),
            state: state.clone(),
            iss: Some("https://id.example.com/".into()),
            ..Callback::default()
        };
        assert_eq!(a.code(&issuer(), &ok).unwrap(), "the-code");
        let no_iss = Callback {
            iss: None,
            ..ok.clone()
        };
        assert_eq!(a.code(&issuer(), &no_iss).unwrap(), "the-code");
        let wrong_state = Callback {
            state: Some("forged".into()),
            ..ok.clone()
        };
        assert!(
            a.code(&issuer(), &wrong_state)
                .unwrap_err()
                .to_string()
                .contains("state")
        );
        let no_state = Callback {
            state: None,
            ..ok.clone()
        };
        assert!(a.code(&issuer(), &no_state).is_err());
        let mixed_up = Callback {
            iss: Some("https://evil.example.com".into()),
            ..ok.clone()
        };
        assert!(a.code(&issuer(), &mixed_up).is_err());
        let refused = Callback {
            error: Some("access_denied".into()),
            error_description: Some("End-User aborted interaction".into()),
            state,
            ..Callback::default()
        };
        let err = a.code(&issuer(), &refused).unwrap_err().to_string();
        assert!(
            err.contains("access_denied") && err.contains("aborted"),
            "{err}"
        );
    }

    #[test]
    fn only_https_or_this_machine_carries_tokens() {
        assert!(check_secure("https://id.example.com").is_ok());
        assert!(check_secure("http://127.0.0.1:8080").is_ok());
        assert!(check_secure("http://localhost:8080/realms/x").is_ok());
        assert!(check_secure("http://id.example.com").is_err());
        assert!(check_secure("ftp://id.example.com").is_err());
    }

    fn signed(claims: serde_json::Value, kid: &str) -> (String, Keys) {
        let pem = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("deploy/dev-keys/jwt-ed25519.pem"),
        )
        .unwrap();
        let key = EncodingKey::from_ed_pem(&pem).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).unwrap();
        jwk.common.key_id = Some("k1".into());
        let set = serde_json::to_value(JwkSet { keys: vec![jwk] }).unwrap();
        (token, parse_jwks(&set).0)
    }

    #[test]
    fn the_id_token_is_checked_for_signature_issuer_audience_expiry_and_nonce() {
        let now = chrono::Utc::now().timestamp();
        let claims = |iss: &str, aud: &str, exp: i64, nonce: &str| {
            serde_json::json!({"iss": iss, "aud": aud, "sub": "zhang.san", "name": "张三",
                "iat": now, "exp": exp, "nonce": nonce})
        };
        let iss = "https://id.example.com";
        let (good, keys) = signed(claims(iss, "wuye", now + 600, "n1"), "k1");
        let c = verify(&good, &keys, iss, "wuye", Some("n1")).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.name.as_deref()),
            ("zhang.san", Some("张三"))
        );
        assert!(
            verify(&good, &keys, iss, "wuye", None).is_ok(),
            "a refresh sends no nonce"
        );
        assert!(
            verify(&good, &keys, iss, "wuye", Some("n2")).is_err(),
            "another nonce"
        );
        assert!(
            verify(&good, &keys, "https://other", "wuye", None).is_err(),
            "issuer"
        );
        assert!(
            verify(&good, &keys, iss, "console", None).is_err(),
            "audience"
        );
        let (expired, _) = signed(claims(iss, "wuye", now - 600, "n1"), "k1");
        assert!(
            verify(&expired, &keys, iss, "wuye", None).is_err(),
            "expired"
        );
        let (unknown, _) = signed(claims(iss, "wuye", now + 600, "n1"), "k2");
        let err = verify(&unknown, &keys, iss, "wuye", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("k2"), "{err}");
        let mut tampered: Vec<&str> = good.split('.').collect();
        let forged =
            jsonwebtoken::crypto::sign(b"x", &EncodingKey::from_secret(b"s"), Algorithm::HS256)
                .unwrap();
        tampered[2] = &forged;
        assert!(
            verify(&tampered.join("."), &keys, iss, "wuye", None).is_err(),
            "signature"
        );
        assert_eq!(unverified_claims(&good).unwrap().iss.as_deref(), Some(iss));
    }
}
