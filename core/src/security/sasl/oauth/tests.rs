//! OAUTHBEARER against tokens made here with keys generated from a fixed
//! seed (no private key is checked in).

use super::*;
use crate::protocol::ErrorCode;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::json;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::sync::LazyLock;

const NOW: i64 = 1_700_000_000_000;
const NOW_S: i64 = NOW / 1000;

static RSA_A: LazyLock<RsaPrivateKey> = LazyLock::new(|| rsa_key(1));
static RSA_B: LazyLock<RsaPrivateKey> = LazyLock::new(|| rsa_key(2));

fn rsa_key(seed: u64) -> RsaPrivateKey {
    RsaPrivateKey::new(&mut ChaCha20Rng::seed_from_u64(seed), 2048).unwrap()
}

fn ec_key(seed: u64) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::random(&mut ChaCha20Rng::seed_from_u64(seed))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn part(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

fn unsecured(claims: Value) -> String {
    format!("{}.{}.", part(&json!({"alg": "none"})), part(&claims))
}

enum Signing<'a> {
    Rsa(&'a RsaPrivateKey, &'static str),
    Ec(&'a p256::ecdsa::SigningKey),
}

fn signed(key: Signing<'_>, kid: &str, claims: Value) -> String {
    let alg = match key {
        Signing::Rsa(_, alg) => alg,
        Signing::Ec(_) => "ES256",
    };
    let input = format!(
        "{}.{}",
        part(&json!({"alg": alg, "kid": kid, "typ": "JWT"})),
        part(&claims)
    );
    let sig = match key {
        Signing::Rsa(k, "RS256") => k
            .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&input))
            .unwrap(),
        Signing::Rsa(k, "RS384") => k
            .sign(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(&input))
            .unwrap(),
        Signing::Rsa(k, _) => k
            .sign(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(&input))
            .unwrap(),
        Signing::Ec(k) => {
            let sig: p256::ecdsa::Signature = k.sign(input.as_bytes());
            sig.to_bytes().to_vec()
        }
    };
    format!("{input}.{}", b64(&sig))
}

fn rsa_jwk(key: &RsaPrivateKey, kid: &str) -> Value {
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be())})
}

fn rsa_jwk_any_alg(key: &RsaPrivateKey, kid: &str) -> Value {
    json!({"kty": "RSA", "kid": kid,
        "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be())})
}

fn ec_jwk(key: &p256::ecdsa::SigningKey, kid: &str) -> Value {
    let point = key.verifying_key().to_encoded_point(false);
    json!({"kty": "EC", "crv": "P-256", "kid": kid,
        "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())})
}

/// A config with a JWKS of `keys`, audience `kafka`, issuer `https://idp`.
fn jwks_config(keys: Vec<Value>) -> OAuthConfig {
    let mut config = OAuthConfig::default();
    config
        .set_jwks(json!({ "keys": keys }).to_string())
        .unwrap();
    assert_eq!(
        config.set("sasl.oauthbearer.expected.audience", "other, kafka"),
        Ok(true)
    );
    assert_eq!(
        config.set("sasl.oauthbearer.expected.issuer", "https://idp"),
        Ok(true)
    );
    config
}

fn good_claims() -> Value {
    json!({"sub": "alice", "iss": "https://idp", "aud": ["kafka"],
        "iat": NOW_S - 10, "exp": NOW_S + 3600})
}

fn message(token: &str, authzid: &str) -> Vec<u8> {
    let a = if authzid.is_empty() {
        String::new()
    } else {
        format!("a={authzid}")
    };
    format!("n,{a},\x01auth=Bearer {token}\x01\x01").into_bytes()
}

fn first(config: &OAuthConfig, token: &str) -> Step {
    ServerExchange::new().step(&message(token, ""), config, NOW)
}

fn done(user: &str, exp_s: i64) -> Step {
    Step::Done {
        user: user.into(),
        token: Vec::new(),
        expires_at: Some(exp_s * 1000),
    }
}

/// The step a refused token leads to: the challenge, then the failure
/// after `\x01`; answers the failure's message.
fn refused(config: &OAuthConfig, token: &str) -> String {
    let mut exchange = ServerExchange::new();
    let step = exchange.step(&message(token, ""), config, NOW);
    assert_eq!(
        step,
        Step::Continue(br#"{"status":"invalid_token"}"#.to_vec())
    );
    match exchange.step(b"\x01", config, NOW) {
        Step::Failed { code, message } => {
            assert_eq!(code, ErrorCode::SASL_AUTHENTICATION_FAILED);
            message
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn unsecured_token_is_accepted_with_extensions_and_matching_authzid() {
    let config = OAuthConfig::default();
    let token = unsecured(json!({"sub": "alice", "iat": NOW_S, "exp": NOW_S + 60}));
    assert_eq!(first(&config, &token), done("alice", NOW_S + 60));
    let with_ext = format!("n,a=alice,\x01auth=Bearer {token}\x01traceId=abc 1\x01\x01");
    let step = ServerExchange::new().step(with_ext.as_bytes(), &config, NOW);
    assert_eq!(step, done("alice", NOW_S + 60));
}

#[test]
fn unsecured_decimal_exp_is_kept_in_ms() {
    let token = unsecured(json!({"sub": "alice", "exp": 1_700_000_060.5}));
    let step = first(&OAuthConfig::default(), &token);
    assert_eq!(
        step,
        Step::Done {
            user: "alice".into(),
            token: vec![],
            expires_at: Some(1_700_000_060_500)
        }
    );
}

#[test]
fn authzid_other_than_the_principal_fails() {
    let token = unsecured(json!({"sub": "alice", "exp": NOW_S + 60}));
    let step = ServerExchange::new().step(&message(&token, "bob"), &OAuthConfig::default(), NOW);
    assert!(
        matches!(&step, Step::Failed { code, message } if *code == ErrorCode::SASL_AUTHENTICATION_FAILED && message.contains("(bob)")),
        "{step:?}"
    );
}

#[test]
fn unsecured_expired_missing_sub_and_missing_exp_are_refused() {
    let config = OAuthConfig::default();
    let expired = unsecured(json!({"sub": "alice", "exp": NOW_S - 1}));
    assert!(refused(&config, &expired).contains("Expiration Time"));
    let no_sub = unsecured(json!({"exp": NOW_S + 60}));
    assert!(refused(&config, &no_sub).contains("principal name"));
    let blank_sub = unsecured(json!({"sub": " ", "exp": NOW_S + 60}));
    assert!(refused(&config, &blank_sub).contains("principal name"));
    let no_exp = unsecured(json!({"sub": "alice"}));
    assert!(refused(&config, &no_exp).contains("exp"));
    let future_iat = unsecured(json!({"sub": "alice", "iat": NOW_S + 5, "exp": NOW_S + 60}));
    assert!(refused(&config, &future_iat).contains("Issued At"));
}

#[test]
fn unsecured_skew_principal_claim_and_required_scope_follow_the_options() {
    let mut config = OAuthConfig::default();
    assert_eq!(
        config.set("unsecuredValidatorAllowableClockSkewMs", "5000"),
        Ok(true)
    );
    assert_eq!(
        config.set("unsecuredValidatorPrincipalClaimName", "user"),
        Ok(true)
    );
    assert_eq!(
        config.set("unsecuredValidatorRequiredScope", "read write"),
        Ok(true)
    );
    let token = unsecured(json!({"user": "carol", "exp": NOW_S - 1, "scope": ["write", "read"]}));
    assert_eq!(first(&config, &token), done("carol", NOW_S - 1));

    let narrow = unsecured(json!({"user": "carol", "exp": NOW_S + 60, "scope": "read"}));
    let mut exchange = ServerExchange::new();
    let step = exchange.step(&message(&narrow, ""), &config, NOW);
    assert_eq!(
        step,
        Step::Continue(br#"{"status":"insufficient_scope", "scope":"[read, write]"}"#.to_vec())
    );
    assert!(
        matches!(exchange.step(b"\x01", &config, NOW), Step::Failed { message, .. } if message.contains("write"))
    );
}

#[test]
fn unsecured_validator_refuses_signed_tokens() {
    let token = signed(Signing::Ec(&ec_key(7)), "k", good_claims());
    assert!(refused(&OAuthConfig::default(), &token).contains("'none'"));
}

#[test]
fn alg_none_is_refused_when_a_jwks_is_configured() {
    let config = jwks_config(vec![ec_jwk(&ec_key(7), "ec")]);
    let token = unsecured(good_claims());
    assert!(refused(&config, &token).contains("'none'"));
}

#[test]
fn rs256_rs384_rs512_signed_tokens_are_accepted_with_the_right_key() {
    let config = jwks_config(vec![rsa_jwk(&RSA_A, "a"), rsa_jwk_any_alg(&RSA_B, "b")]);
    let token = signed(Signing::Rsa(&RSA_A, "RS256"), "a", good_claims());
    assert_eq!(first(&config, &token), done("alice", NOW_S + 3600));
    for alg in ["RS256", "RS384", "RS512"] {
        let token = signed(Signing::Rsa(&RSA_B, alg), "b", good_claims());
        assert_eq!(first(&config, &token), done("alice", NOW_S + 3600), "{alg}");
    }
    // Key a is declared RS256 only.
    let token = signed(Signing::Rsa(&RSA_A, "RS512"), "a", good_claims());
    assert!(refused(&config, &token).contains("kid a"));
}

#[test]
fn rs256_wrong_key_tampered_payload_and_wrong_kid_are_refused() {
    let config = jwks_config(vec![rsa_jwk(&RSA_A, "a")]);
    let wrong_key = signed(Signing::Rsa(&RSA_B, "RS256"), "a", good_claims());
    assert!(refused(&config, &wrong_key).contains("signature"));

    let token = signed(Signing::Rsa(&RSA_A, "RS256"), "a", good_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = good_claims();
    claims["sub"] = json!("mallory");
    let tampered = format!("{}.{}.{}", parts[0], part(&claims), parts[2]);
    assert!(refused(&config, &tampered).contains("signature"));

    let wrong_kid = signed(Signing::Rsa(&RSA_A, "RS256"), "zz", good_claims());
    assert!(refused(&config, &wrong_kid).contains("kid zz"));
}

#[test]
fn es256_signed_token_is_accepted_and_refused_with_a_wrong_key() {
    let (good, bad) = (ec_key(7), ec_key(8));
    let config = jwks_config(vec![ec_jwk(&good, "ec"), rsa_jwk(&RSA_A, "a")]);
    let token = signed(Signing::Ec(&good), "ec", good_claims());
    assert_eq!(first(&config, &token), done("alice", NOW_S + 3600));
    let forged = signed(Signing::Ec(&bad), "ec", good_claims());
    assert!(refused(&config, &forged).contains("signature"));
    // An EC signature under the RSA key's kid finds no fitting key.
    let crossed = signed(Signing::Ec(&good), "a", good_claims());
    assert!(refused(&config, &crossed).contains("kid a"));
}

/// A change to a token's claims.
type Edit = fn(&mut Value);

#[test]
fn signed_claims_are_checked_audience_issuer_time_and_subject() {
    let key = ec_key(7);
    let config = jwks_config(vec![ec_jwk(&key, "ec")]);
    let with = |edit: Edit| {
        let mut claims = good_claims();
        edit(&mut claims);
        signed(Signing::Ec(&key), "ec", claims)
    };
    let cases: [(Edit, &str); 9] = [
        (|c| c["aud"] = json!("elsewhere"), "audience"),
        (
            |c| drop(c.as_object_mut().unwrap().remove("aud")),
            "audience",
        ),
        (|c| c["iss"] = json!("https://evil"), "issuer"),
        (|c| drop(c.as_object_mut().unwrap().remove("iss")), "issuer"),
        (|c| c["exp"] = json!(NOW_S - 31), "no longer valid"),
        (|c| c["nbf"] = json!(NOW_S + 31), "not yet valid"),
        (|c| drop(c.as_object_mut().unwrap().remove("iat")), "iat"),
        (
            |c| drop(c.as_object_mut().unwrap().remove("sub")),
            "subject",
        ),
        (|c| c["scope"] = json!(["read", " "]), "blank scope"),
    ];
    for (edit, reason) in cases {
        let token = with(edit);
        let message = refused(&config, &token);
        assert!(message.contains(reason), "{reason}: {message}");
    }
    // Within the 30 s of skew, and a string audience.
    let token = with(|c| {
        c["exp"] = json!(NOW_S - 29);
        c["nbf"] = json!(NOW_S + 29);
        c["aud"] = json!("kafka");
    });
    assert_eq!(first(&config, &token), done("alice", NOW_S - 29));
}

#[test]
fn a_token_with_an_audience_is_refused_when_none_is_expected() {
    // jose4j, under Kafka's validator, requires an expected audience to
    // accept a token that has one.
    let key = ec_key(7);
    let mut config = jwks_config(vec![ec_jwk(&key, "ec")]);
    config
        .set("sasl.oauthbearer.expected.audience", "")
        .unwrap();
    let token = signed(Signing::Ec(&key), "ec", good_claims());
    assert!(refused(&config, &token).contains("audience"));
    let mut claims = good_claims();
    claims.as_object_mut().unwrap().remove("aud");
    let token = signed(Signing::Ec(&key), "ec", claims);
    assert_eq!(first(&config, &token), done("alice", NOW_S + 3600));
}

#[test]
fn sub_claim_name_is_configurable() {
    let key = ec_key(7);
    let mut config = jwks_config(vec![ec_jwk(&key, "ec")]);
    assert_eq!(
        config.set("sasl.oauthbearer.sub.claim.name", "client_id"),
        Ok(true)
    );
    let mut claims = good_claims();
    claims["client_id"] = json!("svc-1");
    let token = signed(Signing::Ec(&key), "ec", claims);
    assert_eq!(first(&config, &token), done("svc-1", NOW_S + 3600));
}

#[test]
fn after_the_challenge_only_the_failure_remains() {
    let config = OAuthConfig::default();
    let expired = unsecured(json!({"sub": "alice", "exp": NOW_S - 1}));
    let mut exchange = ServerExchange::new();
    assert!(matches!(
        exchange.step(&message(&expired, ""), &config, NOW),
        Step::Continue(_)
    ));
    // Anything but %x01, even a good token, fails.
    let good = unsecured(json!({"sub": "alice", "exp": NOW_S + 60}));
    let step = exchange.step(&message(&good, ""), &config, NOW);
    assert!(
        matches!(step, Step::Failed { code, .. } if code == ErrorCode::SASL_AUTHENTICATION_FAILED)
    );
}

#[test]
fn malformed_first_messages_fail_at_once() {
    let config = OAuthConfig::default();
    let token = unsecured(json!({"sub": "alice", "exp": NOW_S + 60}));
    for bad in [
        format!("y,,\x01auth=Bearer {token}\x01\x01"),
        format!("n,,\x01auth=Bearer {token}\x01"),
        format!("n,,\x01auth=Basic {token}\x01\x01"),
        format!("n,,\x01auth=Bearer{token}\x01\x01"),
        "n,,\x01traceId=1\x01\x01".to_owned(),
        format!("n,,\x01auth=Bearer {token}\x01bad-key=1\x01\x01"),
        format!("n,a=a,b,\x01auth=Bearer {token}\x01\x01"),
        "\x01".to_owned(),
    ] {
        let step = ServerExchange::new().step(bad.as_bytes(), &config, NOW);
        assert!(
            matches!(step, Step::Failed { code, .. } if code == ErrorCode::SASL_AUTHENTICATION_FAILED),
            "{bad:?}: {step:?}"
        );
    }
}

#[test]
fn set_owns_kafka_keys_only_and_checks_numbers() {
    let mut config = OAuthConfig::default();
    assert_eq!(
        config.set("sasl.oauthbearer.jwks.endpoint.url", "file:/x"),
        Ok(false)
    );
    assert_eq!(
        config.set("sasl.enabled.mechanisms", "OAUTHBEARER"),
        Ok(false)
    );
    assert_eq!(
        config.set("sasl.oauthbearer.clock.skew.seconds", "5"),
        Ok(true)
    );
    assert_eq!(config.clock_skew_seconds, 5);
    assert!(config
        .set("sasl.oauthbearer.clock.skew.seconds", "-1")
        .is_err());
    assert!(config
        .set("unsecuredValidatorAllowableClockSkewMs", "x")
        .is_err());
    assert_eq!(
        config.set("sasl.oauthbearer.scope.claim.name", "scp"),
        Ok(true)
    );
    assert_eq!(config.scope_claim_name, "scp");
    assert_eq!(
        config.set("sasl.oauthbearer.expected.audience", "a,,b "),
        Ok(true)
    );
    assert_eq!(config.expected_audience, ["a", "b"]);
    let mut bad = OAuthConfig::default();
    assert!(bad
        .set_jwks(
            "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"AA\", \"y\": \"AA\"}]}"
                .into(),
        )
        .is_err());
    assert_eq!(bad.jwks(), None);
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = InitialResponse::parse(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = jwt::Jwt::parse(&text);
        let _ = jwks::Jwks::parse(&text);
        let config = jwks_config(vec![ec_jwk(&ec_key(7), "ec")]);
        let _ = jwt::validate_signed(&text, &jwks::Jwks::parse(config.jwks().unwrap()).unwrap(), &config, NOW);
        let _ = jwt::validate_unsecured(&text, &OAuthConfig::default(), NOW);
        let mut exchange = ServerExchange::new();
        let _ = exchange.step(&bytes, &OAuthConfig::default(), NOW);
        let _ = exchange.step(&bytes, &OAuthConfig::default(), NOW);
    }

    #[test]
    fn dotted_base64_parts_never_panic(
        parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..5),
        kid in "[a-z]{0,3}",
    ) {
        let token = parts.iter().map(|p| b64(p)).collect::<Vec<_>>().join(".");
        let _ = jwt::validate_unsecured(&token, &OAuthConfig::default(), NOW);
        let message = format!("n,,\x01auth=Bearer {token}\x01kid={kid}\x01\x01");
        let _ = ServerExchange::new().step(message.as_bytes(), &OAuthConfig::default(), NOW);
    }
}
