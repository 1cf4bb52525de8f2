//! Signing in: the test OpenID provider (tests/oidc/, the certified `oidc-provider`) and
//! `wuye login` against it.

use wuye_tests::{
    Backend, OTHER_PROPERTY, PROPERTY, Stack,
    oidc::{Alg, Client, Options, Provider, write_keys},
    proto::directory::GetPersonRequest,
};

/// The claims of a JWT, undecoded and unverified (the gateway's tests verify).
fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64url(payload)).unwrap()
}

/// The header of a JWT.
fn header(jwt: &str) -> serde_json::Value {
    serde_json::from_slice(&base64url(jwt.split('.').next().unwrap())).unwrap()
}

fn base64url(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = vec![];
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).expect("base64url") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[test]
fn the_provider_issues_id_tokens_with_each_algorithm() {
    let clients = Alg::ALL
        .iter()
        .map(|&alg| Client::new(&format!("wuye-{}", alg.name().to_lowercase()), alg))
        .collect();
    let provider = Provider::with_clients(clients);
    let discovery = provider.discovery();
    assert_eq!(discovery["issuer"], provider.issuer());
    let algs = discovery["id_token_signing_alg_values_supported"].to_string();
    for alg in Alg::ALL {
        assert!(algs.contains(alg.name()), "{algs}");
    }
    assert_eq!(provider.jwks()["keys"].as_array().unwrap().len(), 3);

    for alg in Alg::ALL {
        let client_id = format!("wuye-{}", alg.name().to_lowercase());
        let tokens = provider.tokens(&client_id, "zhang.san");
        assert_eq!(header(&tokens.id_token)["alg"], alg.name());
        let id = claims(&tokens.id_token);
        assert_eq!(id["iss"], provider.issuer());
        assert_eq!(id["aud"], client_id.as_str());
        assert_eq!(id["sub"], "zhang.san");
        assert_eq!(id["name"], "zhang.san");
        assert_eq!(id["preferred_username"], "zhang.san");
        assert!(
            tokens.refresh_token.is_some(),
            "offline_access gives a refresh token"
        );
        assert_eq!(tokens.expires_in, 3600);

        let refreshed = provider.refresh(&client_id, tokens.refresh_token.as_ref().unwrap());
        assert_eq!(claims(&refreshed.id_token)["sub"], "zhang.san");
    }
}

#[test]
fn a_restart_with_new_keys_signs_with_the_new_key_on_the_same_issuer() {
    let dir = std::env::temp_dir().join(format!("wuye-login-keys-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let (old, new) = (dir.join("old.json"), dir.join("new.json"));
    write_keys(&old, &[(Alg::EdDsa, "ed-old")]);
    write_keys(&new, &[(Alg::EdDsa, "ed-new"), (Alg::EdDsa, "ed-old")]);
    let mut provider = Provider::start(&Options::new(&old).token_ttl(2));
    let issuer = provider.issuer();
    let before = provider.tokens("wuye", "li.si");
    assert_eq!(header(&before.id_token)["kid"], "ed-old");
    let exp = claims(&before.id_token)["exp"].as_i64().unwrap();
    let iat = claims(&before.id_token)["iat"].as_i64().unwrap();
    assert_eq!(exp - iat, 2, "the ID token lives as configured");

    provider.restart_with_keys(&new);
    assert_eq!(provider.issuer(), issuer);
    let kids: Vec<_> = provider.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, ["ed-new", "ed-old"]);
    let after = provider.tokens("wuye", "li.si");
    assert_eq!(header(&after.id_token)["kid"], "ed-new");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `wuye` command as built (`cargo build -p wuye`; `.ci/run` builds it in release).
fn wuye_binary() -> std::path::PathBuf {
    let path = wuye_tests::process::bin_dir().join("wuye");
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build -p wuye`), or in release with \
         WUYE_BIN_DIR=target/release as .ci/run does",
        path.display()
    );
    path
}

/// A user of the command line: a home and config directory of their own.
struct User {
    home: std::path::PathBuf,
}

impl User {
    fn new() -> Self {
        let home = std::env::temp_dir().join(format!("wuye-login-home-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&home).unwrap();
        Self { home }
    }

    fn credentials_file(&self) -> std::path::PathBuf {
        self.home.join("config/wuye/credentials.json")
    }

    fn credentials(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.credentials_file()).unwrap()).unwrap()
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(wuye_binary());
        command
            .args(args)
            .env_clear()
            .envs(wuye_tests::process::base_env())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .stdin(std::process::Stdio::null());
        command
    }

    /// Runs `wuye args…`; its exit, stdout and stderr.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = self.command(args).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `wuye login --no-browser --issuer …`, the test playing the browser as `login` on the
    /// address it prints; its stdout.
    fn login(&self, provider: &Provider, login: &str, extra: &[&str]) -> String {
        let issuer = provider.issuer();
        let mut args = vec!["--no-browser", "--issuer", &issuer];
        args.extend(extra);
        self.login_with(provider, login, &args)
    }

    /// `wuye login args…`, the test playing the browser as `login`; its stdout.
    fn login_with(&self, provider: &Provider, login: &str, args: &[&str]) -> String {
        use std::io::BufRead as _;
        let issuer = provider.issuer();
        let args: Vec<&str> = std::iter::once("login")
            .chain(args.iter().copied())
            .collect();
        let mut child = self
            .command(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        let url = loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "wuye login printed no address: {printed}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            printed.push_str(&line);
            if line.starts_with(&format!("{issuer}/auth?")) {
                break line.trim().to_owned();
            }
        };
        let callback = provider.sign_in_browser(&url, login);
        assert!(callback.contains("code="), "{callback}");
        std::io::Read::read_to_string(&mut stdout, &mut printed).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "wuye login failed: {printed}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        printed
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

#[test]
fn wuye_login_signs_in_in_the_browser_and_keeps_the_tokens_for_the_user_alone() {
    let provider = Provider::with_clients(vec![Client::new("wuye", Alg::Es256)]);
    let user = User::new();
    let printed = user.login(&provider, "zhang.san", &["--post", "post-7"]);
    assert!(printed.contains("已登录：zhang.san"), "{printed}");
    assert!(printed.contains("默认岗位：post-7"), "{printed}");

    let stored = user.credentials();
    let id_token = stored["id_token"].as_str().unwrap();
    assert!(!printed.contains(id_token), "the token is not printed");
    assert!(!printed.contains(stored["refresh_token"].as_str().unwrap()));
    assert_eq!(header(id_token)["alg"], "ES256");
    assert_eq!(claims(id_token)["sub"], "zhang.san");
    assert_eq!(claims(id_token)["aud"], "wuye");
    assert_eq!(stored["issuer"], provider.issuer());
    assert_eq!(stored["post"], "post-7");
    assert_eq!(stored["development"], false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(user.credentials_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "readable by the user alone");
    }

    // Signing in again: the issuer of the last sign-in is the default.
    let printed = user.login_with(&provider, "zhang.san", &["--no-browser"]);
    assert!(printed.contains(&provider.issuer()), "{printed}");
    assert_ne!(user.credentials()["id_token"], stored["id_token"]);
    assert!(
        user.credentials()["post"].is_null(),
        "no post named this time"
    );

    let (ok, out, _) = user.run(&["logout"]);
    assert!(ok && out.contains("已退出登录"), "{out}");
    let (ok, _, err) = user.run(&["login", "--no-browser"]);
    assert!(
        !ok && err.contains("--issuer"),
        "signed out, no issuer known: {err}"
    );
    assert!(!user.credentials_file().exists());
    let (ok, out, _) = user.run(&["logout"]);
    assert!(ok && out.contains("没有登录"), "{out}");
}

#[test]
fn an_expired_sign_in_is_renewed_with_the_refresh_token_before_a_call() {
    let dir = std::env::temp_dir().join(format!("wuye-login-keys-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("keys.json");
    write_keys(&keys, &[(Alg::EdDsa, "ed-1")]);
    let provider = Provider::start(&Options::new(&keys).token_ttl(2));
    let user = User::new();
    user.login(&provider, "li.si", &[]);
    let first = user.credentials();
    assert!(first["refresh_token"].is_string());
    std::thread::sleep(std::time::Duration::from_millis(2500));

    // Nothing listens at the gateway: the call fails, after the sign-in was renewed.
    let gateway = format!("http://{}", wuye_tests::process::free_port());
    let (ok, _, err) = user.run(&["whoami", "--gateway", &gateway]);
    assert!(!ok && err.contains("cannot reach the gateway"), "{err}");
    let renewed = user.credentials();
    assert_ne!(renewed["id_token"], first["id_token"]);
    assert!(renewed["expires_at"].as_i64() > first["expires_at"].as_i64());
    assert_eq!(
        claims(renewed["id_token"].as_str().unwrap())["sub"],
        "li.si"
    );
    assert!(!err.contains(renewed["id_token"].as_str().unwrap()));

    // A refresh token the provider no longer knows (it restarted): sign in again, it says.
    let mut provider = provider;
    provider.restart_with_keys(&keys);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (ok, _, err) = user.run(&["whoami", "--gateway", &gateway]);
    assert!(!ok && err.contains("wuye login"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The current posts of `person_id`, as (role, property, post id).
async fn posts_of(stack: &Stack, person_id: &str) -> Vec<(String, String, String)> {
    let person = stack
        .directory_admin()
        .get_person(GetPersonRequest {
            person_id: person_id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap();
    person
        .posts
        .into_iter()
        .filter(|p| p.end_time.is_none())
        .map(|p| (p.role, p.property_id, p.post_id))
        .collect()
}

/// The line of `whoami`'s output that names `post_id`.
fn line_of<'a>(out: &'a str, post_id: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(post_id))
        .unwrap_or_else(|| panic!("no post {post_id} in {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_shows_the_person_and_post_of_a_development_sign_in() {
    let stack = Stack::start(Backend::Sqlite).await;
    let person_id = stack
        .hire_signing_in("王五", "wang.wu", &[("technician", PROPERTY)])
        .await;
    let gateway = format!("http://{}", stack.gateway);
    let user = User::new();
    let (ok, out, err) = tokio::task::block_in_place(|| {
        user.run(&["login", "--dev", "wang.wu", "--gateway", &gateway])
    });
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("开发登录"),
        "announced as a development sign-in: {out}"
    );
    let stored = user.credentials();
    assert_eq!(stored["development"], true);
    assert!(!out.contains(stored["id_token"].as_str().unwrap()));

    let (ok, out, err) =
        tokio::task::block_in_place(|| user.run(&["whoami", "--gateway", &gateway]));
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("王五") && out.contains("在职") && out.contains(&person_id),
        "{out}"
    );
    let (_, _, post_id) = &posts_of(&stack, &person_id).await[0];
    let line = line_of(&out, post_id);
    assert!(
        line.contains("工程技工 technician") && line.contains(PROPERTY),
        "{line}"
    );
    assert!(
        line.trim_start().starts_with('*'),
        "the post acted in is marked: {line}"
    );
    assert!(out.contains("开发登录："), "{out}");

    // `wuye token` keeps working for scripts, and --token wins over the stored sign-in.
    let (ok, token, _) = user.run(&["token", "--role", "technician", "--property", PROPERTY]);
    assert!(ok && token.trim().split('.').count() == 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_after_signing_in_at_the_company_provider_acts_in_the_chosen_post() {
    let provider = Provider::with_clients(vec![Client::new("wuye", Alg::Rs256)]);
    let stack = Stack::start(Backend::Sqlite).await;
    let issuer = provider.issuer();
    let gateway = stack
        .gateway_with(|settings| {
            settings.auth.oidc.push(wuye_gateway::OidcIssuerSettings {
                issuer: issuer.clone(),
                audiences: vec!["wuye".into()],
                ..Default::default()
            })
        })
        .await;
    let gateway = format!("http://{}", gateway.address);
    let person_id = stack
        .hire_signing_in(
            "赵六",
            "zhao.liu",
            &[("technician", PROPERTY), ("cs_clerk", OTHER_PROPERTY)],
        )
        .await;
    let posts = posts_of(&stack, &person_id).await;
    let post = |role: &str| posts.iter().find(|p| p.0 == role).unwrap().2.clone();
    let (technician, clerk) = (post("technician"), post("cs_clerk"));

    let user = User::new();
    tokio::task::block_in_place(|| user.login(&provider, "zhao.liu", &["--gateway", &gateway]));

    // Two posts, none named: the refusal says how to choose, listing them.
    let (ok, out, err) =
        tokio::task::block_in_place(|| user.run(&["whoami", "--gateway", &gateway]));
    assert!(!ok, "{out}");
    assert!(
        err.contains("POST_REQUIRED") && err.contains("--post"),
        "{err}"
    );
    assert!(err.contains(&technician) && err.contains(&clerk), "{err}");

    for (acting, other, title) in [
        (&technician, &clerk, "工程技工 technician"),
        (&clerk, &technician, "客户服务部管理员 cs_clerk"),
    ] {
        let (ok, out, err) = tokio::task::block_in_place(|| {
            user.run(&["whoami", "--gateway", &gateway, "--post", acting])
        });
        assert!(ok, "{out}{err}");
        assert!(out.contains("赵六"), "{out}");
        let line = line_of(&out, acting);
        assert!(
            line.trim_start().starts_with('*') && line.contains(title),
            "{line}"
        );
        assert!(!line_of(&out, other).trim_start().starts_with('*'), "{out}");
        assert!(out.contains(&format!("登录：{issuer}")), "{out}");
    }

    // A post remembered at login is the default.
    tokio::task::block_in_place(|| {
        user.login(
            &provider,
            "zhao.liu",
            &["--gateway", &gateway, "--post", &clerk],
        )
    });
    let (ok, out, err) =
        tokio::task::block_in_place(|| user.run(&["whoami", "--gateway", &gateway]));
    assert!(ok, "{out}{err}");
    assert!(line_of(&out, &clerk).trim_start().starts_with('*'), "{out}");
}
