//! SASL authentication at the broker: what a connection on a SASL
//! listener may send before, during and after authenticating, and what
//! it gets when it fails (module `broker::auth`). PLAIN carries these
//! tests; the mechanisms have their own unit tests.

mod sim;

use bytes::{BufMut, Bytes, BytesMut};
use sim::{Event, Sim};
use spate_core::broker::{Config, PeerInfo};
use spate_core::protocol::messages::api_versions_request::ApiVersionsRequest;
use spate_core::protocol::messages::metadata_request::MetadataRequest;
use spate_core::protocol::messages::sasl_authenticate_request::SaslAuthenticateRequest;
use spate_core::protocol::messages::sasl_handshake_request::SaslHandshakeRequest;
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};
use spate_core::security::sasl::Mechanism;
use spate_core::security::{ListenerSecurity, SecurityProtocol};
use spate_core::storage::MemStorage;

const SASL: u64 = 1;

fn config(reauth_ms: i64) -> Config {
    let mut c = Config::default();
    c.security.listeners = vec![
        ListenerSecurity {
            name: "PLAINTEXT".into(),
            protocol: SecurityProtocol::Plaintext,
            ..ListenerSecurity::default()
        },
        ListenerSecurity {
            name: "SASL_PLAINTEXT".into(),
            protocol: SecurityProtocol::SaslPlaintext,
            sasl_mechanisms: vec![Mechanism::Plain, Mechanism::ScramSha256],
            plain_users: [("alice", "alice-secret"), ("bob", "bob-secret")]
                .into_iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
        },
    ];
    c.security.max_reauth_ms = reauth_ms;
    c
}

fn sim(reauth_ms: i64) -> Sim {
    let mut s = Sim::with(config(reauth_ms), MemStorage::new());
    s.connect_as(SASL, peer("SASL_PLAINTEXT"));
    s
}

fn peer(listener: &str) -> PeerInfo {
    PeerInfo {
        addr: "10.0.0.7:5000".into(),
        listener: listener.into(),
        entropy: [7; 32],
        ..PeerInfo::default()
    }
}

fn handshake(s: &mut Sim, conn: u64, version: i16, mechanism: &str) -> (i16, Vec<String>) {
    let body = RequestBody::SaslHandshake(SaslHandshakeRequest {
        mechanism: mechanism.into(),
        ..Default::default()
    });
    match s.call(conn, version, body) {
        ResponseBody::SaslHandshake(r) => (
            r.error_code,
            r.mechanisms.iter().map(|m| m.to_string()).collect(),
        ),
        other => panic!("{other:?}"),
    }
}

fn authenticate(s: &mut Sim, conn: u64, token: &[u8]) -> (i16, Option<String>, i64) {
    let body = RequestBody::SaslAuthenticate(SaslAuthenticateRequest {
        auth_bytes: Bytes::copy_from_slice(token),
        ..Default::default()
    });
    match s.call(conn, 2, body) {
        ResponseBody::SaslAuthenticate(r) => (
            r.error_code,
            r.error_message.map(|m| m.to_string()),
            r.session_lifetime_ms,
        ),
        other => panic!("{other:?}"),
    }
}

fn metadata(s: &mut Sim, conn: u64) -> i32 {
    s.send(conn, 12, RequestBody::Metadata(MetadataRequest::default()))
}

fn closed(s: &mut Sim, conn: u64) -> bool {
    s.take(conn).iter().any(|e| matches!(e, Event::Closed(_)))
}

#[test]
fn only_api_versions_and_sasl_before_authentication() {
    let mut s = sim(0);
    let versions = s.call(
        SASL,
        3,
        RequestBody::ApiVersions(ApiVersionsRequest::default()),
    );
    let ResponseBody::ApiVersions(v) = versions else {
        panic!("{versions:?}")
    };
    assert!(v
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::SaslAuthenticate as i16));
    metadata(&mut s, SASL);
    assert!(
        closed(&mut s, SASL),
        "a Metadata before authenticating closes"
    );
}

#[test]
fn plain_authenticates_and_then_requests_are_served() {
    let mut s = sim(0);
    let (code, mechanisms) = handshake(&mut s, SASL, 1, "PLAIN");
    assert_eq!(code, 0);
    assert_eq!(mechanisms, ["PLAIN", "SCRAM-SHA-256"]);
    let (code, message, lifetime) = authenticate(&mut s, SASL, b"\0alice\0alice-secret");
    assert_eq!((code, message, lifetime), (0, None, 0));
    let corr = metadata(&mut s, SASL);
    let events = s.take(SASL);
    assert!(
        matches!(&events[..], [Event::Response(c, ResponseBody::Metadata(_))] if *c == corr),
        "{events:?}"
    );
}

#[test]
fn bad_credentials_are_answered_then_closed() {
    for token in [
        &b"\0alice\0wrong"[..],
        b"\0mallory\0alice-secret",
        b"\0alice",
        b"bob\0alice\0alice-secret",
        b"",
    ] {
        let mut s = sim(0);
        handshake(&mut s, SASL, 1, "PLAIN");
        let body = RequestBody::SaslAuthenticate(SaslAuthenticateRequest {
            auth_bytes: Bytes::copy_from_slice(token),
            ..Default::default()
        });
        s.send(SASL, 2, body);
        let events = s.take(SASL);
        match &events[..] {
            [Event::Response(_, ResponseBody::SaslAuthenticate(r)), Event::Closed(_)] => {
                assert_eq!(r.error_code, ErrorCode::SASL_AUTHENTICATION_FAILED.code());
                assert!(r.error_message.is_some());
            }
            other => panic!("{token:?}: {other:?}"),
        }
    }
}

#[test]
fn a_mechanism_not_enabled_is_refused_with_the_enabled_ones() {
    let mut s = sim(0);
    for mechanism in ["SCRAM-SHA-512", "GSSAPI", "plain"] {
        s.connect_as(SASL, peer("SASL_PLAINTEXT"));
        let body = RequestBody::SaslHandshake(SaslHandshakeRequest {
            mechanism: mechanism.into(),
            ..Default::default()
        });
        s.send(SASL, 1, body);
        let events = s.take(SASL);
        match &events[..] {
            [Event::Response(_, ResponseBody::SaslHandshake(r)), Event::Closed(_)] => {
                assert_eq!(r.error_code, ErrorCode::UNSUPPORTED_SASL_MECHANISM.code());
                assert_eq!(r.mechanisms.len(), 2);
            }
            other => panic!("{mechanism}: {other:?}"),
        }
    }
}

#[test]
fn authenticate_before_handshake_is_an_illegal_state() {
    let mut s = sim(0);
    let body = RequestBody::SaslAuthenticate(SaslAuthenticateRequest {
        auth_bytes: Bytes::from_static(b"\0alice\0alice-secret"),
        ..Default::default()
    });
    s.send(SASL, 1, body);
    let events = s.take(SASL);
    match &events[..] {
        [Event::Response(_, ResponseBody::SaslAuthenticate(r)), Event::Closed(_)] => {
            assert_eq!(r.error_code, ErrorCode::ILLEGAL_SASL_STATE.code());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_plaintext_listener_answers_sasl_with_illegal_state_and_stays_open() {
    let mut s = sim(0);
    s.connect_as(2, peer("PLAINTEXT"));
    let (code, _) = handshake(&mut s, 2, 1, "PLAIN");
    assert_eq!(code, ErrorCode::ILLEGAL_SASL_STATE.code());
    let corr = metadata(&mut s, 2);
    let events = s.take(2);
    assert!(matches!(&events[..], [Event::Response(c, _)] if *c == corr));
}

#[test]
fn v0_handshake_takes_bare_tokens() {
    let mut s = sim(0);
    let (code, _) = handshake(&mut s, SASL, 0, "PLAIN");
    assert_eq!(code, 0);
    s.raw_conns.insert(SASL);
    s.send_raw(SASL, Bytes::from_static(b"\0bob\0bob-secret"));
    let raw = s.raw.remove(&SASL).unwrap_or_default();
    assert_eq!(
        raw,
        vec![Bytes::from_static(&[0, 0, 0, 0])],
        "an empty token back"
    );
    s.raw_conns.remove(&SASL);
    let corr = metadata(&mut s, SASL);
    let events = s.take(SASL);
    assert!(
        matches!(&events[..], [Event::Response(c, _)] if *c == corr),
        "{events:?}"
    );
    // A wrong bare token closes without an answer.
    s.connect_as(3, peer("SASL_PLAINTEXT"));
    handshake(&mut s, 3, 0, "PLAIN");
    s.raw_conns.insert(3);
    s.send_raw(3, Bytes::from_static(b"\0bob\0nope"));
    assert!(s.raw.remove(&3).is_none());
    assert!(closed(&mut s, 3));
}

#[test]
fn sessions_expire_unless_reauthenticated() {
    let mut s = sim(60_000);
    handshake(&mut s, SASL, 1, "PLAIN");
    let (code, _, lifetime) = authenticate(&mut s, SASL, b"\0alice\0alice-secret");
    assert_eq!((code, lifetime), (0, 60_000));
    // Re-authentication before the end gives a new session.
    s.now += 50_000;
    assert_eq!(handshake(&mut s, SASL, 1, "PLAIN").0, 0);
    let (code, _, lifetime) = authenticate(&mut s, SASL, b"\0alice\0alice-secret");
    assert_eq!((code, lifetime), (0, 60_000));
    s.now += 50_000;
    let corr = metadata(&mut s, SASL);
    let events = s.take(SASL);
    assert!(
        matches!(&events[..], [Event::Response(c, _)] if *c == corr),
        "{events:?}"
    );
    // Past the new end, the next request closes the connection.
    s.now += 10_001;
    metadata(&mut s, SASL);
    assert!(closed(&mut s, SASL));
}

#[test]
fn reauthentication_keeps_the_principal_and_the_mechanism() {
    let mut s = sim(60_000);
    handshake(&mut s, SASL, 1, "PLAIN");
    authenticate(&mut s, SASL, b"\0alice\0alice-secret");
    handshake(&mut s, SASL, 1, "PLAIN");
    let body = RequestBody::SaslAuthenticate(SaslAuthenticateRequest {
        auth_bytes: Bytes::from_static(b"\0bob\0bob-secret"),
        ..Default::default()
    });
    s.send(SASL, 2, body);
    let events = s.take(SASL);
    match &events[..] {
        [Event::Response(_, ResponseBody::SaslAuthenticate(r)), Event::Closed(_)] => {
            assert_eq!(r.error_code, ErrorCode::SASL_AUTHENTICATION_FAILED.code());
        }
        other => panic!("{other:?}"),
    }
    s.connect_as(4, peer("SASL_PLAINTEXT"));
    handshake(&mut s, 4, 1, "PLAIN");
    authenticate(&mut s, 4, b"\0alice\0alice-secret");
    let body = RequestBody::SaslHandshake(SaslHandshakeRequest {
        mechanism: "SCRAM-SHA-256".into(),
        ..Default::default()
    });
    s.send(4, 1, body);
    let events = s.take(4);
    assert!(
        matches!(events.last(), Some(Event::Closed(_))),
        "{events:?}"
    );
}

#[test]
fn truncated_sasl_frames_close_the_connection() {
    let mut s = sim(0);
    handshake(&mut s, SASL, 1, "PLAIN");
    // A SaslAuthenticate v2 header whose body stops inside its bytes.
    let mut frame = BytesMut::new();
    frame.put_i16(ApiKey::SaslAuthenticate as i16);
    frame.put_i16(2);
    frame.put_i32(9);
    frame.put_i16(-1);
    frame.put_u8(0); // header tags
    frame.put_u8(20); // compact length 19, but only 3 bytes follow
    frame.put_slice(b"\0al");
    s.send_raw(SASL, frame.freeze());
    assert!(closed(&mut s, SASL));
}
