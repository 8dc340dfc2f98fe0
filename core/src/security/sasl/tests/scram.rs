//! SCRAM exchanges: RFC 7677's test vector, round trips, and every way
//! an exchange must fail.

use super::Users;
use crate::protocol::ErrorCode;
use crate::security::sasl::scram::{credential, salted_password, ScramClient, ServerExchange};
use crate::security::sasl::{Exchange, Mechanism, Step};

const SHA256: Mechanism = Mechanism::ScramSha256;
const SHA512: Mechanism = Mechanism::ScramSha512;
const BOTH: [Mechanism; 2] = [SHA256, SHA512];

/// `alice`/`secret` and `b,o=b`/`hunter2` for both mechanisms (made
/// once: PBKDF2 is slow in unoptimised tests).
fn users() -> &'static Users {
    static USERS: std::sync::OnceLock<Users> = std::sync::OnceLock::new();
    USERS.get_or_init(|| {
        let mut users = Users::default();
        for m in BOTH {
            users = users
                .scram(m, "alice", "secret", b"alice's salt", 4096)
                .scram(m, "b,o=b", "hunter2", b"bob's salt", 8192);
        }
        users
    })
}

fn continued(step: Step) -> Vec<u8> {
    match step {
        Step::Continue(token) => token,
        other => panic!("expected Continue, got {other:?}"),
    }
}

fn auth_failed(step: &Step) -> bool {
    matches!(step, Step::Failed { code, .. } if *code == ErrorCode::SASL_AUTHENTICATION_FAILED)
}

fn illegal_state(step: &Step) -> bool {
    matches!(step, Step::Failed { code, .. } if *code == ErrorCode::ILLEGAL_SASL_STATE)
}

/// A whole exchange; the server's last step.
fn run(m: Mechanism, user: &str, password: &str, users: &Users, seed: u8) -> Step {
    let mut client = ScramClient::new(m, user, password, [seed; 32]);
    let mut server = ServerExchange::new(m, [seed.wrapping_add(1); 32]);
    let server_first = continued(server.step(&client.client_first(), users));
    let client_final = client.client_final(&server_first).expect("client-final");
    let last = server.step(&client_final, users);
    if let Step::Done { token, .. } = &last {
        client.verify_server_final(token).expect("server signature");
    }
    last
}

#[test]
fn rfc7677_test_vector() {
    let salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    let users = &Users::default().scram(SHA256, "user", "pencil", &salt, 4096);
    let client_nonce = "rOprNGfwEbeRWgbNEkqO";
    let server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    let mut client = ScramClient::with_nonce(SHA256, "user", "pencil", client_nonce);
    let mut server = ServerExchange::with_nonce(SHA256, server_nonce);

    let client_first = client.client_first();
    assert_eq!(client_first, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let server_first = continued(server.step(&client_first, users));
    assert_eq!(
        server_first,
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let client_final = client.client_final(&server_first).unwrap();
    assert_eq!(
        client_final,
        &b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
           p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="[..]
    );
    let Step::Done {
        user,
        token,
        expires_at,
    } = server.step(&client_final, users)
    else {
        panic!("the RFC's proof must be accepted");
    };
    assert_eq!(user, "user");
    assert_eq!(token, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    assert_eq!(expires_at, None);
    client.verify_server_final(&token).unwrap();
}

#[test]
fn credential_keys_have_the_hash_length() {
    let salt = &base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==")[..];
    let salted = salted_password(SHA256, "pencil", salt, 4096);
    assert_eq!(salted.len(), 32);
    let cred = credential(SHA256, &salted, salt, 4096);
    assert_eq!((cred.salt.as_slice(), cred.iterations), (salt, 4096));
    assert_eq!((cred.stored_key.len(), cred.server_key.len()), (32, 32));
    let sha512 = credential(
        SHA512,
        &salted_password(SHA512, "pencil", salt, 4096),
        salt,
        4096,
    );
    assert_eq!((sha512.stored_key.len(), sha512.server_key.len()), (64, 64));
    assert_ne!(sha512.stored_key[..32], cred.stored_key[..]);
    assert!(salted_password(Mechanism::Plain, "pencil", salt, 4096).is_empty());
    assert!(salted_password(SHA256, "pencil", salt, 0).is_empty());
}

#[test]
fn round_trip_both_mechanisms() {
    let users = users();
    for m in BOTH {
        for (user, password) in [("alice", "secret"), ("b,o=b", "hunter2")] {
            let Step::Done { user: got, .. } = run(m, user, password, users, 3) else {
                panic!("{m:?} {user} must authenticate");
            };
            assert_eq!(got, user);
        }
    }
}

#[test]
fn round_trip_through_exchange() {
    let users = users();
    for m in BOTH {
        let mut client = ScramClient::new(m, "alice", "secret", [9; 32]);
        let mut exchange = Exchange::new(m, [10; 32]);
        let server_first = continued(exchange.step(&client.client_first(), users, 0));
        let client_final = client.client_final(&server_first).unwrap();
        let Step::Done { token, .. } = exchange.step(&client_final, users, 0) else {
            panic!("{m:?} must authenticate");
        };
        client.verify_server_final(&token).unwrap();
        assert!(illegal_state(&exchange.step(&client_final, users, 0)));
    }
}

#[test]
fn nonces_differ_with_entropy() {
    let users = users();
    let first = ScramClient::new(SHA256, "alice", "x", [1; 32]).client_first();
    assert_ne!(
        first,
        ScramClient::new(SHA256, "alice", "x", [2; 32]).client_first()
    );
    let a = continued(ServerExchange::new(SHA256, [1; 32]).step(&first, users));
    let b = continued(ServerExchange::new(SHA256, [2; 32]).step(&first, users));
    assert_ne!(a, b);
}

#[test]
fn wrong_password_fails_at_the_proof() {
    let users = users();
    for m in BOTH {
        let last = run(m, "alice", "not secret", users, 4);
        assert!(auth_failed(&last), "{last:?}");
        let Step::Failed { message, .. } = last else {
            unreachable!()
        };
        assert_eq!(
            message,
            format!(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
                m.name()
            )
        );
    }
}

#[test]
fn unknown_user_fails_at_the_proof_not_earlier() {
    let users = users();
    for m in BOTH {
        let mut client = ScramClient::new(m, "mallory", "secret", [5; 32]);
        let mut server = ServerExchange::new(m, [6; 32]);
        let server_first = continued(server.step(&client.client_first(), users));
        // A well-formed server-first the client answers like any other.
        let client_final = client.client_final(&server_first).unwrap();
        let last = server.step(&client_final, users);
        assert!(auth_failed(&last), "{last:?}");
        assert_eq!(server.failure_reason(), Some("Invalid client credentials"));
        // The same wire message as a wrong password.
        assert_eq!(last, run(m, "alice", "wrong", users, 5));
    }
}

/// The `s=` (salt) and `i=` attributes of a server-first.
fn salt_and_iterations(server_first: &[u8]) -> (String, String) {
    let text = std::str::from_utf8(server_first).unwrap();
    let attr = |name: &str| {
        text.split(',')
            .find_map(|a| a.strip_prefix(name))
            .unwrap()
            .to_owned()
    };
    (attr("s="), attr("i="))
}

#[test]
fn unknown_user_mock_salt_is_the_same_on_every_connection() {
    let users = users();
    for m in BOTH {
        let first = ScramClient::new(m, "mallory", "x", [1; 32]).client_first();
        // Two connections: different entropy, so different server nonces.
        let a = continued(ServerExchange::new(m, [3; 32]).step(&first, users));
        let b = continued(ServerExchange::new(m, [4; 32]).step(&first, users));
        assert_ne!(a, b);
        assert_eq!(salt_and_iterations(&a), salt_and_iterations(&b));
        // Another name, another salt, as another user's stored one.
        let other = ScramClient::new(m, "trent", "x", [1; 32]).client_first();
        let c = continued(ServerExchange::new(m, [3; 32]).step(&other, users));
        assert_ne!(salt_and_iterations(&a).0, salt_and_iterations(&c).0);
        // Another broker secret, another salt: it is not guessable from
        // the name alone.
        let keyed = Users::default().mock_secret([9; 32]);
        let d = continued(ServerExchange::new(m, [3; 32]).step(&first, &keyed));
        assert_ne!(salt_and_iterations(&a).0, salt_and_iterations(&d).0);
    }
}

/// The transcript of a good exchange up to the client-final.
fn prepared(m: Mechanism, seed: u8) -> (ServerExchange, ScramClient, String) {
    let users = users();
    let mut client = ScramClient::new(m, "alice", "secret", [seed; 32]);
    let mut server = ServerExchange::new(m, [seed; 32]);
    let server_first = continued(server.step(&client.client_first(), users));
    let client_final = client.client_final(&server_first).unwrap();
    (server, client, String::from_utf8(client_final).unwrap())
}

/// A server that has answered `client`'s client-first (cheap: no PBKDF2).
fn server_at_final(m: Mechanism, seed: u8, client: &ScramClient) -> ServerExchange {
    let mut server = ServerExchange::new(m, [seed; 32]);
    continued(server.step(&client.client_first(), users()));
    server
}

#[test]
fn tampered_proof_fails() {
    let users = users();
    for m in BOTH {
        let (mut server, _, client_final) = prepared(m, 7);
        let (head, proof) = client_final.rsplit_once(",p=").unwrap();
        let mut bytes = base64_decode(proof);
        bytes[0] ^= 1;
        let tampered = format!("{head},p={}", base64_encode(&bytes));
        assert!(auth_failed(&server.step(tampered.as_bytes(), users)));
    }
}

#[test]
fn replayed_client_final_fails() {
    let users = users();
    for m in BOTH {
        // A good exchange, recorded.
        let (mut first, _, recorded) = prepared(m, 8);
        assert!(matches!(
            first.step(recorded.as_bytes(), users),
            Step::Done { .. }
        ));
        // The same client nonce, a new exchange: its server nonce differs.
        let mut client = ScramClient::new(m, "alice", "secret", [8; 32]);
        let mut server = ServerExchange::new(m, [9; 32]);
        let server_first = continued(server.step(&client.client_first(), users));
        assert!(!recorded.contains(std::str::from_utf8(&server_first).unwrap()));
        let replay = server.step(recorded.as_bytes(), users);
        assert!(auth_failed(&replay), "{replay:?}");
        // Nor does the recorded proof pass with the new nonce put in.
        let mut server = ServerExchange::new(m, [9; 32]);
        let server_first = continued(server.step(&client.client_first(), users));
        let nonce = std::str::from_utf8(&server_first).unwrap()[2..]
            .split(',')
            .next()
            .unwrap();
        let proof = recorded.rsplit_once(",p=").unwrap().1;
        let forged = format!("c=biws,r={nonce},p={proof}");
        assert!(auth_failed(&server.step(forged.as_bytes(), users)));
        assert_eq!(server.failure_reason(), Some("Invalid client credentials"));
        // While the genuine answer passes.
        let mut server = ServerExchange::new(m, [9; 32]);
        let server_first = continued(server.step(&client.client_first(), users));
        let good = client.client_final(&server_first).unwrap();
        assert!(matches!(server.step(&good, users), Step::Done { .. }));
    }
}

#[test]
fn wrong_nonce_fails() {
    let users = users();
    let (mut server, _, client_final) = prepared(SHA256, 11);
    // Kafka only asks that the nonce end with the server-first's (a
    // prefix is librdkafka's habit), so the change is at the end.
    let wrong = client_final.replacen(",p=", "x,p=", 1);
    assert!(auth_failed(&server.step(wrong.as_bytes(), users)));
    assert_eq!(
        server.failure_reason(),
        Some("nonce does not end with the server-first's")
    );
    // A prefix passes the nonce check but not the proof, which covers it.
    let (mut server, _, client_final) = prepared(SHA256, 12);
    let prefixed = client_final.replacen(",r=", ",r=x", 1);
    assert!(auth_failed(&server.step(prefixed.as_bytes(), users)));
    // The client refuses a server nonce that does not extend its own.
    let mut client = ScramClient::new(SHA256, "alice", "secret", [1; 32]);
    let err = client
        .client_final(b"r=someone-else,s=c2FsdA==,i=4096")
        .unwrap_err();
    assert!(err.contains("nonce"), "{err}");
}

#[test]
fn messages_out_of_order() {
    let users = users();
    // A client-final first.
    let (_, _, client_final) = prepared(SHA256, 12);
    let mut server = ServerExchange::new(SHA256, [12; 32]);
    assert!(illegal_state(&server.step(client_final.as_bytes(), users)));
    assert!(illegal_state(&server.step(b"n,,n=alice,r=abc", users)));
    // Two client-firsts.
    let mut server = ServerExchange::new(SHA256, [12; 32]);
    continued(server.step(b"n,,n=alice,r=abc", users));
    assert!(illegal_state(&server.step(b"n,,n=alice,r=abc", users)));
    // Anything after the end.
    let (mut server, _, client_final) = prepared(SHA256, 13);
    assert!(matches!(
        server.step(client_final.as_bytes(), users),
        Step::Done { .. }
    ));
    let after = server.step(client_final.as_bytes(), users);
    assert!(illegal_state(&after), "{after:?}");
    // The client checks a server-final only after its client-final.
    let client = ScramClient::new(SHA256, "alice", "secret", [1; 32]);
    assert!(client.verify_server_final(b"v=AAAA").is_err());
}

#[test]
fn truncated_and_garbage_tokens_fail() {
    let users = users();
    for m in BOTH {
        let (_, client, client_final) = prepared(m, 14);
        let first = client.client_first();
        for cut in 0..first.len() {
            let mut server = ServerExchange::new(m, [14; 32]);
            match server.step(&first[..cut], users) {
                // A shorter nonce is still a nonce: the proof then fails.
                Step::Continue(_) => {
                    assert!(!matches!(
                        server.step(client_final.as_bytes(), users),
                        Step::Done { .. }
                    ))
                }
                step => assert!(auth_failed(&step), "cut {cut}: {step:?}"),
            }
        }
        for cut in 0..client_final.len() {
            let mut server = server_at_final(m, 14, &client);
            let step = server.step(&client_final.as_bytes()[..cut], users);
            assert!(auth_failed(&step), "cut {cut}: {step:?}");
        }
        for garbage in [
            &b"\xff\xfe"[..],
            b"",
            b",,,",
            b"n,,",
            b"n,,n=,r=x",
            b"hello",
        ] {
            let mut server = ServerExchange::new(m, [14; 32]);
            assert!(auth_failed(&server.step(garbage, users)), "{garbage:?}");
            let mut server = server_at_final(m, 14, &client);
            assert!(auth_failed(&server.step(garbage, users)), "{garbage:?}");
        }
    }
}

/// The server's answer to a hand-written client-first.
fn first_step(token: &str) -> (Step, ServerExchange) {
    let mut server = ServerExchange::new(SHA256, [15; 32]);
    (server.step(token.as_bytes(), users()), server)
}

#[test]
fn gs2_headers_and_authzid() {
    assert!(matches!(
        first_step("n,,n=alice,r=abc").0,
        Step::Continue(_)
    ));
    assert!(matches!(
        first_step("y,,n=alice,r=abc").0,
        Step::Continue(_)
    ));
    assert!(matches!(
        first_step("n,a=alice,n=alice,r=abc").0,
        Step::Continue(_)
    ));
    assert!(matches!(
        first_step("n,a=b=2Co=3Db,n=b=2Co=3Db,r=abc").0,
        Step::Continue(_)
    ));
    let (step, server) = first_step("p=tls-unique,,n=alice,r=abc");
    assert!(auth_failed(&step));
    assert_eq!(
        server.failure_reason(),
        Some("channel binding is not supported")
    );
    let (step, _) = first_step("n,a=admin,n=alice,r=abc");
    assert_eq!(
        step,
        Step::failed("Authentication failed: Client requested an authorization id that is different from username")
    );
    assert!(auth_failed(&first_step("x,,n=alice,r=abc").0));
}

#[test]
fn channel_binding_must_echo_the_gs2_header() {
    let users = users();
    let first = "y,,n=alice,r=abc";
    let mut server = ServerExchange::new(SHA256, [16; 32]);
    let server_first = continued(server.step(first.as_bytes(), users));
    // Build the client-final by hand for the `y,,` header (`eSws`).
    let good = hand_final(SHA256, "secret", "n=alice,r=abc", &server_first, "eSws");
    assert!(matches!(
        server.step(good.as_bytes(), users),
        Step::Done { .. }
    ));
    let mut server = ServerExchange::new(SHA256, [16; 32]);
    let server_first = continued(server.step(first.as_bytes(), users));
    let bad = hand_final(SHA256, "secret", "n=alice,r=abc", &server_first, "biws");
    assert!(auth_failed(&server.step(bad.as_bytes(), users)));
    assert_eq!(
        server.failure_reason(),
        Some("channel binding differs from the gs2 header")
    );
}

/// A client-final computed from the definitions, for a header the
/// client does not send.
fn hand_final(m: Mechanism, password: &str, bare: &str, server_first: &[u8], cb: &str) -> String {
    use crate::security::sasl::scram::crypto::{xor, Hash};
    let hash = Hash::of(m).unwrap();
    let text = std::str::from_utf8(server_first).unwrap();
    let mut parts = text.split(',');
    let nonce = &parts.next().unwrap()[2..];
    let salt = base64_decode(&parts.next().unwrap()[2..]);
    let iterations: i32 = parts.next().unwrap()[2..].parse().unwrap();
    let salted = salted_password(m, password, &salt, iterations);
    let client_key = hash.client_key(&salted);
    let without_proof = format!("c={cb},r={nonce}");
    let auth = format!("{bare},{text},{without_proof}");
    let signature = hash.hmac(&hash.hash(&client_key), &[auth.as_bytes()]);
    format!(
        "{without_proof},p={}",
        base64_encode(&xor(&client_key, &signature))
    )
}

#[test]
fn user_name_escapes() {
    for bad in [
        "n,,n=a=2cb,r=abc",
        "n,,n=a=41,r=abc",
        "n,,n=a=,r=abc",
        "n,,n=a=3,r=abc",
    ] {
        let (step, server) = first_step(bad);
        assert!(auth_failed(&step), "{bad}");
        assert_eq!(server.failure_reason(), Some("invalid user name"), "{bad}");
    }
}

#[test]
fn extensions() {
    // Unknown ones are ignored, as Kafka ignores them.
    assert!(matches!(
        first_step("n,,n=alice,r=abc,foo=bar").0,
        Step::Continue(_)
    ));
    assert!(matches!(
        first_step("n,,n=alice,r=abc,tokenauth=false").0,
        Step::Continue(_)
    ));
    let (step, server) = first_step("n,,n=alice,r=abc,tokenauth=true");
    assert!(auth_failed(&step));
    assert_eq!(
        server.failure_reason(),
        Some("delegation tokens are not served")
    );
    assert!(auth_failed(&first_step("n,,n=alice,r=abc,TOKENAUTH").0));
    // The mandatory-extension attribute is refused (RFC 5802 §5.1).
    assert!(auth_failed(&first_step("n,,m=ext,n=alice,r=abc").0));
    // A nonce must be printable without commas.
    assert!(auth_failed(&first_step("n,,n=alice,r=a b").0));
    assert!(auth_failed(&first_step("n,,n=alice,r=").0));
}

#[test]
fn stored_iterations_below_4096_are_refused() {
    let users = &Users::default().scram(SHA256, "weak", "pw", b"salt", 4095);
    let mut server = ServerExchange::new(SHA256, [17; 32]);
    let first = ScramClient::new(SHA256, "weak", "pw", [1; 32]).client_first();
    assert!(auth_failed(&server.step(&first, users)));
    assert_eq!(
        server.failure_reason(),
        Some("stored iterations below the minimum 4096")
    );
}

#[test]
fn client_refuses_bad_server_messages() {
    let mut client = ScramClient::new(SHA256, "alice", "secret", [1; 32]);
    let first = String::from_utf8(client.client_first()).unwrap();
    let nonce = first.rsplit_once("r=").unwrap().1;
    for iterations in ["4095", "16385", "-1", "99999999999"] {
        let server_first = format!("r={nonce}xyz,s=c2FsdA==,i={iterations}");
        assert!(
            client.client_final(server_first.as_bytes()).is_err(),
            "{iterations}"
        );
    }
    assert!(client
        .client_final(format!("r={nonce},s=c2FsdA==,i=4096").as_bytes())
        .is_err());
    assert!(client
        .client_final(format!("r={nonce}x,s=!!,i=4096").as_bytes())
        .is_err());
    assert!(client
        .client_final(format!("m=x,r={nonce}x,s=c2FsdA==,i=4096").as_bytes())
        .is_err());

    let (_, client, _) = prepared(SHA256, 18);
    let err = client.verify_server_final(b"e=invalid-proof").unwrap_err();
    assert!(err.contains("invalid-proof"), "{err}");
    assert!(client.verify_server_final(&[b'v', b'=', 0xff]).is_err());
    let forged = format!("v={}", base64_encode(&[0; 32]));
    assert!(client.verify_server_final(forged.as_bytes()).is_err());
}

#[test]
fn debug_hides_secrets() {
    let (server, client, _) = prepared(SHA256, 19);
    let text = format!("{server:?} {client:?}");
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("RECEIVE_CLIENT_FINAL_MESSAGE"), "{text}");
}

pub(super) fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(super) fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
