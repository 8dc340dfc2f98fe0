//! The client's OAUTHBEARER tokens, checked by the broker's own parser and
//! unsecured validator (`spate_core::security::sasl::oauth`).

use spate_core::security::sasl::oauth::jwt::validate_unsecured;
use spate_core::security::sasl::oauth::InitialResponse;
use spate_core::security::sasl::OAuthConfig;

use super::*;
use crate::client::security::props::parse_jaas;

const NOW: i64 = 1_700_000_000_123;

fn jaas(options: &str) -> JaasEntry {
    parse_jaas(&format!(
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required {options};"
    ))
    .unwrap()
}

fn claims(token: &str) -> serde_json::Map<String, Value> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let header = b64.decode(parts.next().unwrap()).unwrap();
    assert_eq!(header, br#"{"alg":"none"}"#);
    let payload = b64.decode(parts.next().unwrap()).unwrap();
    assert_eq!(parts.next(), Some(""), "no signature");
    match serde_json::from_slice(&payload).unwrap() {
        Value::Object(m) => m,
        other => panic!("{other}"),
    }
}

#[test]
fn kafkas_jaas_options_make_a_token_the_broker_accepts() {
    let entry = jaas(
        "unsecuredLoginStringClaim_sub=\"alice\" unsecuredLoginLifetimeSeconds=\"600\" \
         unsecuredLoginListClaim_scope=\",read,write\" unsecuredLoginNumberClaim_level=\"3\" \
         unsecuredLoginScopeClaimName=\"scope\" unsecuredLoginExtension_traceId=\"t-1\"",
    );
    let login = OAuthLogin::from_props(&OAuthProps {
        jaas: Some(&entry),
        ..Default::default()
    })
    .unwrap();
    let token = login.token(NOW).unwrap();
    let c = claims(&token);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["iat"].as_f64(), Some(1_700_000_000.123));
    assert_eq!(c["exp"].as_f64(), Some(1_700_000_600.123));
    assert_eq!(c["scope"], serde_json::json!(["read", "write"]));
    assert_eq!(c["level"].as_f64(), Some(3.0));
    let valid = validate_unsecured(&token, &OAuthConfig::default(), NOW).unwrap();
    assert_eq!(valid.principal, "alice");
    assert_eq!(valid.expires_at, NOW + 600_000);

    let message = login.initial_response(NOW).unwrap();
    let parsed = InitialResponse::parse(&message).unwrap();
    assert_eq!(parsed.authzid, "");
    assert_eq!(parsed.token, token);
    assert_eq!(parsed.extensions, [("traceId", "t-1")]);
}

#[test]
fn a_later_authentication_gets_a_fresh_token() {
    let entry = jaas("unsecuredLoginStringClaim_sub=\"alice\"");
    let login = OAuthLogin::from_props(&OAuthProps {
        jaas: Some(&entry),
        ..Default::default()
    })
    .unwrap();
    let later = NOW + 7_200_000;
    let token = login.token(later).unwrap();
    // The default lifetime is an hour.
    assert_eq!(claims(&token)["exp"].as_f64(), Some(1_700_010_800.123));
    assert!(validate_unsecured(&token, &OAuthConfig::default(), later).is_ok());
    assert!(
        validate_unsecured(&login.token(NOW).unwrap(), &OAuthConfig::default(), later).is_err()
    );
}

#[test]
fn librdkafkas_config_makes_the_same_kind_of_token() {
    let login = OAuthLogin::from_props(&OAuthProps {
        config: Some("principal=bob scope=a,b lifeSeconds=60 extension_org=sales"),
        extensions: Some("traceId=x, region = eu"),
        ..Default::default()
    })
    .unwrap();
    let token = login.token(NOW).unwrap();
    let c = claims(&token);
    assert_eq!(c["sub"], "bob");
    assert_eq!(c["scope"], serde_json::json!(["a", "b"]));
    assert_eq!(c["exp"].as_f64(), Some(1_700_000_060.123));
    let message = login.initial_response(NOW).unwrap();
    assert_eq!(
        InitialResponse::parse(&message).unwrap().extensions,
        [("org", "sales"), ("traceId", "x"), ("region", "eu")]
    );
    // Another principal claim, which the broker must be told about.
    let login = OAuthLogin::from_props(&OAuthProps {
        config: Some("principalClaimName=azp principal=svc"),
        ..Default::default()
    })
    .unwrap();
    let token = login.token(NOW).unwrap();
    assert_eq!(claims(&token)["azp"], "svc");
    let mut config = OAuthConfig::default();
    assert!(validate_unsecured(&token, &config, NOW).is_err());
    config.unsecured_principal_claim_name = "azp".into();
    assert_eq!(
        validate_unsecured(&token, &config, NOW).unwrap().principal,
        "svc"
    );
}

#[test]
fn the_exact_client_message() {
    assert_eq!(
        initial_response("h.p.", &[]),
        b"n,,\x01auth=Bearer h.p.\x01\x01"
    );
    assert_eq!(
        initial_response("t", &[("a".into(), "1".into()), ("b".into(), "2".into())]),
        b"n,,\x01auth=Bearer t\x01a=1\x01b=2\x01\x01"
    );
}

#[test]
fn list_claims_as_kafka_splits_them() {
    assert_eq!(list_claim(""), serde_json::json!([]));
    assert_eq!(list_claim(","), serde_json::json!([]));
    assert_eq!(list_claim("|a|b"), serde_json::json!(["a", "b"]));
    assert_eq!(list_claim(",a,,b"), serde_json::json!(["a", "b", ""]));
    assert_eq!(list_claim(",,a"), serde_json::json!(["a", ""]));
}

#[test]
fn a_token_file_is_read_at_each_authentication() {
    let dir = std::env::temp_dir().join(format!("spate-oauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "eyJh.eyJz.c2ln\n").unwrap();
    let entry = jaas("unsecuredLoginExtension_org=\"x\"");
    let login = OAuthLogin::from_props(&OAuthProps {
        jaas: Some(&entry),
        token_file: Some(file.clone()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        login.initial_response(NOW).unwrap(),
        b"n,,\x01auth=Bearer eyJh.eyJz.c2ln\x01org=x\x01\x01"
    );
    std::fs::write(&file, "renewed.token.sig").unwrap();
    assert_eq!(login.token(NOW).unwrap(), "renewed.token.sig");
    std::fs::write(&file, "not a token").unwrap();
    assert!(login.token(NOW).is_err());
    std::fs::remove_file(&file).unwrap();
    let e = format!("{:#}", login.token(NOW).unwrap_err());
    assert!(e.contains("sasl.oauthbearer.token.file"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn what_kafka_refuses_is_refused() {
    let refused = |props: OAuthProps<'_>| OAuthLogin::from_props(&props).unwrap_err().to_string();
    // No token at all, or only extensions.
    let e = refused(OAuthProps::default());
    assert!(e.contains("OAUTHBEARER needs a token"), "{e}");
    let only_ext = jaas("unsecuredLoginExtension_a=\"b\"");
    let e = refused(OAuthProps {
        jaas: Some(&only_ext),
        ..Default::default()
    });
    assert!(e.contains("unsecuredLoginStringClaim_sub"), "{e}");
    // A reserved claim, a bad number, a bad extension, another module.
    for options in [
        "unsecuredLoginStringClaim_sub=\"a\" unsecuredLoginStringClaim_exp=\"1\"",
        "unsecuredLoginStringClaim_sub=\"a\" unsecuredLoginNumberClaim_n=\"x\"",
        "unsecuredLoginStringClaim_sub=\"a\" unsecuredLoginLifetimeSeconds=\"1h\"",
        "unsecuredLoginStringClaim_sub=\"a\" unsecuredLoginExtension_auth=\"x\"",
        "unsecuredLoginStringClaim_sub=\"a\" unsecuredLoginExtension_a1=\"x\"",
    ] {
        let entry = jaas(options);
        assert!(
            OAuthLogin::from_props(&OAuthProps {
                jaas: Some(&entry),
                ..Default::default()
            })
            .is_err(),
            "{options}"
        );
    }
    let plain = parse_jaas("x.PlainLoginModule required username=\"a\" password=\"b\";").unwrap();
    let e = refused(OAuthProps {
        jaas: Some(&plain),
        config: Some("principal=a"),
        ..Default::default()
    });
    assert!(e.contains("OAuthBearerLoginModule"), "{e}");
    // librdkafka's config: no principal, an unknown key, a bad extension list.
    for config in [
        "scope=a",
        "principal=a colour=red",
        "principal=a lifeSeconds=-1",
    ] {
        assert!(
            OAuthLogin::from_props(&OAuthProps {
                config: Some(config),
                ..Default::default()
            })
            .is_err(),
            "{config}"
        );
    }
    let e = refused(OAuthProps {
        config: Some("principal=a"),
        extensions: Some("novalue"),
        ..Default::default()
    });
    assert!(e.contains("sasl.oauthbearer.extensions"), "{e}");
}

#[test]
fn error_challenges_are_reported_by_status() {
    assert_eq!(
        challenge_status(br#"{"status":"invalid_token"}"#),
        "invalid_token"
    );
    assert_eq!(
        challenge_status(br#"{"status":"insufficient_scope", "scope":"[write]"}"#),
        "insufficient_scope, scope [write]"
    );
    assert_eq!(challenge_status(b"odd"), "odd");
}
