use super::*;

const SUBSCRIBE: &str = "/wuye.events.v1.EventService/Subscribe";
const CREATE: &str = "/wuye.customerservice.v1.ComplaintService/CreateComplaint";

fn dev_signer(name: &str) -> Signer {
    Signer::new(
        name,
        dev::identity_private_key(name).unwrap(),
        Duration::from_secs(5),
    )
    .unwrap()
}

fn verifier(audience: &str) -> Verifier {
    IdentitySettings::default()
        .verifier(audience, true)
        .unwrap()
}

fn front_desk() -> Caller {
    Caller {
        post_id: String::new(),
        user_id: "u1".into(),
        name: "王芳".into(),
        role: "front_desk".into(),
        property: Some("p1".into()),
        ..Default::default()
    }
}

#[test]
fn an_identity_opens_one_method_of_one_service() {
    let gateway = dev_signer(GATEWAY);
    let token = gateway
        .sign(&front_desk(), "customer-service", CREATE)
        .unwrap();
    let cs = verifier("customer-service");
    assert_eq!(cs.verify(&token, CREATE).unwrap(), front_desk());
    // Replayed for another method, or at another service: refused.
    let other = "/wuye.customerservice.v1.ComplaintService/ListComplaints";
    assert!(cs.verify(&token, other).is_err());
    assert!(verifier("engineering").verify(&token, CREATE).is_err());
    assert!(cs.verify("not-a-token", CREATE).is_err());
}

#[test]
fn departments_speak_only_for_themselves_and_only_to_follow_events() {
    let cs = verifier("customer-service");
    let archives = dev_signer("archives");
    let own = archives
        .sign(&Caller::service("archives"), "customer-service", SUBSCRIBE)
        .unwrap();
    assert_eq!(
        cs.verify(&own, SUBSCRIBE).unwrap(),
        Caller::service("archives")
    );
    // Not for a user's method, not as a user, not as another service.
    let as_user = archives
        .sign(&front_desk(), "customer-service", CREATE)
        .unwrap();
    assert!(cs.verify(&as_user, CREATE).is_err());
    let method = archives
        .sign(&Caller::service("archives"), "customer-service", CREATE)
        .unwrap();
    assert!(cs.verify(&method, CREATE).is_err());
    let posing = archives
        .sign(
            &Caller::service("engineering"),
            "customer-service",
            SUBSCRIBE,
        )
        .unwrap();
    assert!(cs.verify(&posing, SUBSCRIBE).is_err());
    // A kid that names another signer than the key that signed.
    let mut liar = dev_signer("archives");
    liar.name = "gateway".into();
    let forged = liar
        .sign(&front_desk(), "customer-service", CREATE)
        .unwrap();
    assert!(cs.verify(&forged, CREATE).is_err());
}

#[test]
fn a_rotating_signer_is_trusted_under_either_key() {
    let (_, _, old) = dev::IDENTITY_KEYS[0];
    let (_, new_private, new) = dev::IDENTITY_KEYS[1];
    let both = format!("{old}\n{new}");
    let trusted = [("gateway".to_owned(), both)];
    let cs = Verifier::new("customer-service", &trusted, 2).unwrap();
    let new_gateway = Signer::new("gateway", new_private, Duration::from_secs(5)).unwrap();
    for signer in [dev_signer(GATEWAY), new_gateway] {
        let token = signer
            .sign(&front_desk(), "customer-service", CREATE)
            .unwrap();
        assert!(cs.verify(&token, CREATE).is_ok());
    }
    let only_old = Verifier::new("customer-service", &[("gateway".into(), old.into())], 2);
    let new_gateway = Signer::new("gateway", new_private, Duration::from_secs(5)).unwrap();
    let token = new_gateway
        .sign(&front_desk(), "customer-service", CREATE)
        .unwrap();
    assert!(only_old.unwrap().verify(&token, CREATE).is_err());
    assert!(Verifier::new("x", &[("gateway".into(), "nothing".into())], 2).is_err());
}

#[test]
fn remembered_identities_open_no_more_than_verified_ones() {
    let gateway = dev_signer(GATEWAY);
    let token = gateway
        .sign(&front_desk(), "customer-service", CREATE)
        .unwrap();
    // Remembered for its second: the same call then gets the same identity unsigned again.
    let key = (
        "customer-service".to_owned(),
        CREATE.to_owned(),
        front_desk(),
    );
    let (at, remembered) = gateway.signed.get(&key).expect("remembered");
    assert_eq!(remembered, token);
    gateway.signed.put(key, (at, "remembered".to_owned()));
    let again = gateway
        .sign(&front_desk(), "customer-service", CREATE)
        .unwrap();
    if unix_now() == at {
        assert_eq!(again, "remembered");
    }
    let other = Caller {
        post_id: String::new(),
        user_id: "u2".into(),
        ..front_desk()
    };
    assert_ne!(
        gateway.sign(&other, "customer-service", CREATE).unwrap(),
        token
    );
    let cs = verifier("customer-service");
    cs.verify(&token, CREATE).unwrap();
    // Remembered, it still opens only its method, and not past its time.
    let list = "/wuye.customerservice.v1.ComplaintService/ListComplaints";
    assert!(cs.verify(&token, list).is_err());
    cs.verified.put(
        token.clone(),
        (CREATE.to_owned(), unix_now() - 1, front_desk()),
    );
    assert!(cs.verify(&token, CREATE).is_err());
}

#[test]
fn lifetimes_are_short_and_checked() {
    let cs = verifier("customer-service");
    let gateway = dev_signer(GATEWAY);
    let claims = |iat: u64, exp: u64| Claims {
        iss: GATEWAY.into(),
        aud: "customer-service".into(),
        method: CREATE.into(),
        iat,
        exp,
        caller: front_desk(),
    };
    let sign = |c: &Claims| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(GATEWAY.into());
        jsonwebtoken::encode(&header, c, &gateway.key).unwrap()
    };
    let now = unix_now();
    assert!(cs.verify(&sign(&claims(now, now + 5)), CREATE).is_ok());
    assert!(
        cs.verify(&sign(&claims(now - 20, now - 10)), CREATE)
            .is_err()
    );
    assert!(
        cs.verify(&sign(&claims(now + 60, now + 65)), CREATE)
            .is_err()
    );
}

#[test]
fn production_refuses_missing_and_development_keys() {
    let none = IdentitySettings::default();
    let err = none.signer("gateway", false).err().unwrap().to_string();
    assert!(err.contains("WUYE_GATEWAY__IDENTITY__SIGNING_KEY"), "{err}");
    let err = none.verifier("archives", false).err().unwrap().to_string();
    assert!(
        err.contains("WUYE_ARCHIVES__IDENTITY__TRUSTED__GATEWAY"),
        "{err}"
    );
    let (_, private, public) = dev::IDENTITY_KEYS[0];
    let dev_keys = IdentitySettings {
        signing_key: Secret::new(private),
        trusted: BTreeMap::from([("gateway".to_owned(), public.to_owned())]),
        ..IdentitySettings::default()
    };
    let err = dev_keys.signer("gateway", false).err().unwrap().to_string();
    assert!(err.contains("public development key"), "{err}");
    let err = dev_keys
        .verifier("archives", false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("identity.trusted.gateway is a public development key"),
        "{err}"
    );
    // In development the same settings are fine.
    assert!(dev_keys.signer("gateway", true).is_ok());
    assert!(dev_keys.verifier("archives", true).is_ok());
}

#[test]
fn methods_belong_to_their_department() {
    assert_eq!(department_of(CREATE), Some("customer-service"));
    assert_eq!(
        department_of("wuye.quality.v1.EscalationService/GetEscalation"),
        Some("quality")
    );
    assert_eq!(department_of(SUBSCRIBE), None);
    assert_eq!(department_of("nonsense"), None);
}

#[test]
fn property_must_match() {
    let mut caller = Caller::service("svc");
    assert!(caller.require_property("p1").is_err());
    caller.property = Some("p1".into());
    assert!(caller.require_property("p1").is_ok());
    assert!(caller.require_property("p2").is_err());
    assert!(caller.require_service().is_ok());
    assert!(front_desk().require_service().is_err());
}
