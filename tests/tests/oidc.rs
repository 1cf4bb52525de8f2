//! Staff sign in through the company's OpenID provider (the certified npm `oidc-provider`,
//! tests/oidc/) and act in their posts through the gateway: discovery, the provider's keys and
//! their rotation without a restart, the refusals (issuer, audience, expiry, not in the
//! directory, left), the post chosen by `x-wuye-post`; and the development issuer.

use std::time::Duration;

use tonic::Code;
use wuye_tests::{
    Backend, OTHER_PROPERTY, PROPERTY, Stack, authed, both_backends, eventually,
    gateway_oidc::{dev_sign_in, http, in_post, provider_settings, reason},
    oidc::{Alg, Client, Options, Provider, write_keys},
    proto::{
        customerservice::{ListUnitsRequest, household_service_client::HouseholdServiceClient},
        directory::{
            CreatePersonRequest, MarkLeftRequest, WhoAmIRequest,
            directory_service_client::DirectoryServiceClient,
        },
    },
};

both_backends!(
    staff_sign_in_and_keys_rotate_without_a_restart,
    refuses_other_issuers_audiences_and_expired_tokens,
    people_not_in_the_directory_or_who_left_are_refused,
    a_person_with_two_posts_acts_in_the_one_named,
    the_development_issuer_signs_in_through_the_directory,
);

/// Runs blocking work (the provider's Node.js scripts, raw HTTP) without stalling the
/// runtime's other tasks (the stack's servers).
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

/// A provider with the clients `wuye-console` (RS256), `wuye-cli` (ES256), `wuye-ed`
/// (EdDSA) and `stranger` (RS256, not an audience of the gateway).
fn provider() -> Provider {
    let clients = vec![
        Client::new("wuye-console", Alg::Rs256),
        Client::new("wuye-cli", Alg::Es256),
        Client::new("wuye-ed", Alg::EdDsa),
        Client::new("stranger", Alg::Rs256),
    ];
    blocking(move || Provider::with_clients(clients))
}

fn tokens(provider: &Provider, client: &str, login: &str) -> String {
    blocking(|| provider.tokens(client, login).id_token)
}

const AUDIENCES: [&str; 3] = ["wuye-console", "wuye-cli", "wuye-ed"];

/// A gateway in front of the stack trusting `issuer`, the directory's answers kept a second.
async fn gateway_trusting(stack: &Stack, issuer: &str) -> wuye_tests::Killable {
    let provider = provider_settings(issuer, &AUDIENCES);
    stack
        .gateway_with(move |s| {
            s.auth.oidc = vec![provider];
            s.auth.directory_cache_secs = 1;
        })
        .await
}

fn who_am_i(
    gateway: std::net::SocketAddr,
    token: &str,
) -> DirectoryServiceClient<wuye_tests::Authed> {
    DirectoryServiceClient::new(authed(gateway, Some(token.to_owned()), None))
}

async fn staff_sign_in_and_keys_rotate_without_a_restart(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut provider = provider();
    let gateway = gateway_trusting(&stack, &provider.issuer()).await;
    let person = stack
        .hire_signing_in("王芳", "wang.fang", &[("front_desk", PROPERTY)])
        .await;

    // Each client's ID token, of each algorithm, signs the same person in.
    for client in AUDIENCES {
        let token = tokens(&provider, client, "wang.fang");
        let me = who_am_i(gateway.address, &token)
            .who_am_i(WhoAmIRequest {})
            .await
            .unwrap_or_else(|e| panic!("{client}: {e:?}"))
            .into_inner();
        let found = me.person.expect("the person");
        assert_eq!(found.person_id, person);
        assert_eq!(found.name, "王芳");
        assert!(!me.post_id.is_empty(), "the one post is the default");
    }
    // A call of the post's department, at its property.
    let token = tokens(&provider, "wuye-console", "wang.fang");
    let mut units =
        HouseholdServiceClient::new(authed(gateway.address, Some(token), Some(PROPERTY)));
    units
        .list_units(ListUnitsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .expect("the front desk lists the units");

    // The provider rotates to new keys (new kids): the gateway picks them up, no restart.
    let keys = std::env::temp_dir().join(format!("wuye-rotated-{}.json", uuid::Uuid::now_v7()));
    blocking(|| {
        write_keys(
            &keys,
            &[
                (Alg::Rs256, "rs-2"),
                (Alg::Es256, "es-2"),
                (Alg::EdDsa, "ed-2"),
            ],
        );
        provider.restart_with_keys(&keys);
    });
    for client in AUDIENCES {
        let token = tokens(&provider, client, "wang.fang");
        who_am_i(gateway.address, &token)
            .who_am_i(WhoAmIRequest {})
            .await
            .unwrap_or_else(|e| panic!("{client} after the rotation: {e:?}"));
    }
    let _ = std::fs::remove_file(keys);
}

async fn refuses_other_issuers_audiences_and_expired_tokens(backend: Backend) {
    let stack = Stack::start(backend).await;
    let provider = provider();
    let gateway = gateway_trusting(&stack, &provider.issuer()).await;
    stack
        .hire_signing_in("王芳", "wang.fang", &[("front_desk", PROPERTY)])
        .await;

    // Another provider, not configured.
    let elsewhere = self::provider();
    let token = tokens(&elsewhere, "wuye-console", "wang.fang");
    let refused = who_am_i(gateway.address, &token)
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::Unauthenticated, "UNKNOWN_ISSUER".into())
    );

    // A client of the provider that is not one of the gateway's audiences.
    let token = tokens(&provider, "stranger", "wang.fang");
    let refused = who_am_i(gateway.address, &token)
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::Unauthenticated, "WRONG_AUDIENCE".into())
    );

    // Expired: tokens of a second, living 1 s, and a gateway tolerating no skew.
    let keys = std::env::temp_dir().join(format!("wuye-short-{}.json", uuid::Uuid::now_v7()));
    let short = blocking(|| {
        write_keys(&keys, &[(Alg::EdDsa, "short-1")]);
        Provider::start(
            &Options::new(keys.clone())
                .clients(vec![Client::new("wuye-ed", Alg::EdDsa)])
                .token_ttl(1),
        )
    });
    let settings = provider_settings(&short.issuer(), &AUDIENCES);
    let strict = stack
        .gateway_with(move |s| {
            s.auth.oidc = vec![settings];
            s.auth.leeway_secs = 0;
        })
        .await;
    let token = tokens(&short, "wuye-ed", "wang.fang");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let refused = who_am_i(strict.address, &token)
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::Unauthenticated, "TOKEN_EXPIRED".into())
    );
    // A token that is no JWT at all.
    let refused = who_am_i(gateway.address, "nonsense")
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::Unauthenticated, "BAD_TOKEN".into())
    );
}

async fn people_not_in_the_directory_or_who_left_are_refused(backend: Backend) {
    let stack = Stack::start(backend).await;
    let provider = provider();
    let gateway = gateway_trusting(&stack, &provider.issuer()).await;

    let token = tokens(&provider, "wuye-console", "ghost.user");
    let refused = who_am_i(gateway.address, &token)
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::Unauthenticated, "NOT_IN_DIRECTORY".into())
    );
    assert!(
        !refused.message().contains("ghost"),
        "{}",
        refused.message()
    );

    let person = stack
        .hire_signing_in("李强", "li.qiang", &[("technician", PROPERTY)])
        .await;
    let token = tokens(&provider, "wuye-console", "li.qiang");
    who_am_i(gateway.address, &token)
        .who_am_i(WhoAmIRequest {})
        .await
        .expect("signed in");
    stack
        .directory_admin()
        .mark_left(MarkLeftRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            person_id: person,
        })
        .await
        .expect("marked left");
    // Within the directory's cache time (1 s here) the same token is refused.
    let refused = eventually("the leaver refused", Duration::from_secs(5), || {
        let mut client = who_am_i(gateway.address, &token);
        async move { client.who_am_i(WhoAmIRequest {}).await.err() }
    })
    .await;
    assert_eq!(
        reason(&refused),
        (Code::Unauthenticated, "STAFF_LEFT".into())
    );
}

async fn a_person_with_two_posts_acts_in_the_one_named(backend: Backend) {
    let stack = Stack::start(backend).await;
    let provider = provider();
    let gateway = gateway_trusting(&stack, &provider.issuer()).await;
    let person = stack
        .hire_signing_in(
            "张伟",
            "zhang.wei",
            &[("front_desk", PROPERTY), ("technician", OTHER_PROPERTY)],
        )
        .await;
    let token = tokens(&provider, "wuye-console", "zhang.wei");
    let list = |property: &str| ListUnitsRequest {
        property_id: property.into(),
        ..Default::default()
    };
    let units = |property: &str| {
        HouseholdServiceClient::new(authed(gateway.address, Some(token.clone()), Some(property)))
    };

    // No post named: refused, the caller's own posts listed to choose from.
    let refused = units(PROPERTY)
        .list_units(list(PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::PermissionDenied, "POST_REQUIRED".into())
    );
    let info = tonic_types::StatusExt::get_details_error_info(&refused).unwrap();
    let post_of = |wanted: &str| {
        info.metadata
            .iter()
            .find(|(_, post)| post.as_str() == wanted)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("{wanted} in {:?}", info.metadata))
    };
    let front_desk = post_of(&format!("front_desk@{PROPERTY}"));
    let technician = post_of(&format!("technician@{OTHER_PROPERTY}"));

    // Each post at its own property; not at the other's.
    units(PROPERTY)
        .list_units(in_post(list(PROPERTY), &front_desk))
        .await
        .expect("the front desk post");
    units(OTHER_PROPERTY)
        .list_units(in_post(list(OTHER_PROPERTY), &technician))
        .await
        .expect("the technician post");
    let refused = units(OTHER_PROPERTY)
        .list_units(in_post(list(OTHER_PROPERTY), &front_desk))
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::PermissionDenied, "PROPERTY_OUT_OF_SCOPE".into())
    );
    // WhoAmI names the post the call was made in.
    let me = who_am_i(gateway.address, &token)
        .who_am_i(in_post(WhoAmIRequest {}, &technician))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.post_id, technician);
    assert_eq!(me.person.unwrap().person_id, person);
    // A method neither post may call.
    for post in [&front_desk, &technician] {
        let refused = who_am_i(gateway.address, &token)
            .create_person(in_post(CreatePersonRequest::default(), post))
            .await
            .unwrap_err();
        assert_eq!(
            reason(&refused),
            (Code::PermissionDenied, "ROLE_NOT_ALLOWED".into())
        );
    }
    // A post they do not hold.
    let refused = units(PROPERTY)
        .list_units(in_post(list(PROPERTY), "no-such-post"))
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::PermissionDenied, "POST_NOT_HELD".into())
    );
}

async fn the_development_issuer_signs_in_through_the_directory(backend: Backend) {
    let stack = Stack::start(backend).await;
    let person = stack
        .hire_signing_in("赵敏", "zhao.min", &[("cs_clerk", PROPERTY)])
        .await;
    // The stack's gateway runs in development: its issuer is trusted.
    let gateway = stack.gateway;
    let (status, body) = blocking(move || {
        http(
            gateway,
            "GET",
            "/dev/oidc/.well-known/openid-configuration",
            None,
        )
    });
    assert_eq!(status, 200, "{body}");
    let discovery: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(discovery["issuer"], format!("http://{gateway}/dev/oidc"));
    let (status, body) = blocking(move || http(gateway, "GET", "/dev/oidc/jwks", None));
    assert_eq!(status, 200);
    let jwks: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "dev-1");
    assert_eq!(jwks["keys"][0]["kty"], "OKP");

    let token = blocking(move || dev_sign_in(gateway, "zhao.min"));
    let me = who_am_i(gateway, &token)
        .who_am_i(WhoAmIRequest {})
        .await
        .expect("signed in by the development issuer")
        .into_inner();
    assert_eq!(me.person.unwrap().person_id, person);
    let mut units = HouseholdServiceClient::new(authed(gateway, Some(token), Some(PROPERTY)));
    units
        .list_units(ListUnitsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .expect("a call as the clerk");
    // Nobody of that sign-in: the directory decides, as for a real provider.
    let token = blocking(move || dev_sign_in(gateway, "nobody"));
    let refused = who_am_i(gateway, &token)
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::Unauthenticated, "NOT_IN_DIRECTORY".into())
    );
    let (status, _) = blocking(move || http(gateway, "POST", "/dev/oidc/token", Some("")));
    assert_eq!(status, 400);
}
