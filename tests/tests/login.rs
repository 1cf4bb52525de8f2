//! Signing in: the test OpenID provider (tests/oidc/, the certified `oidc-provider`) and
//! `wuye login` against it.

use wuye_tests::oidc::{Alg, Client, Options, Provider, write_keys};

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
