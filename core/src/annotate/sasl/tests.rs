//! The SASL annotation, on RFC 5802/7677's published example exchange
//! and on tokens of each mechanism, and the masking of their secrets.

use proptest::prelude::*;

use super::*;
use crate::annotate::{annotate_request, annotate_response, mask, mask_request};

/// RFC 7677's SCRAM-SHA-256 example (user "user", password "pencil").
pub(crate) const CLIENT_FIRST: &[u8] = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
pub(crate) const SERVER_FIRST: &[u8] =
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
pub(crate) const CLIENT_FINAL: &[u8] =
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
pub(crate) const SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

/// A JWT with header {"alg":"none"} and claims {"sub":"alice"}, plus a
/// made-up signature.
const OAUTH: &[u8] =
    b"n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl\x01host=b1\x01\x01";

/// A SaslAuthenticate request frame (size prefix included) at `version`.
pub(crate) fn authenticate(version: i16, token: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 36];
    b.extend_from_slice(&version.to_be_bytes());
    b.extend_from_slice(&7i32.to_be_bytes());
    b.extend_from_slice(&3i16.to_be_bytes());
    b.extend_from_slice(b"cli");
    if version >= 2 {
        b.push(0); // header tags
        let mut n = token.len() as u64 + 1;
        while n >= 0x80 {
            b.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        b.push(n as u8);
        b.extend_from_slice(token);
        b.push(0); // body tags
    } else {
        b.extend_from_slice(&(token.len() as i32).to_be_bytes());
        b.extend_from_slice(token);
    }
    let mut f = (b.len() as i32).to_be_bytes().to_vec();
    f.extend(b);
    f
}

/// The leaves cover `0..len` once, in order.
fn covers(root: &Span, len: usize) {
    let mut at = 0;
    for l in root.leaves() {
        assert_eq!(
            l.start, at,
            "leaf {} starts at {}, not {at}",
            l.name, l.start
        );
        at = l.end;
    }
    assert_eq!(at, len);
}

fn token(b: &[u8], m: Option<&str>, d: Direction) -> Span {
    let a = sasl_token(b, m, d);
    assert!(a.error.is_none());
    covers(&a.root, b.len());
    a.root
}

fn str_value(s: &Span) -> &str {
    match &s.value {
        Some(Value::Str(v)) => v,
        v => panic!("{} holds {v:?}", s.name),
    }
}

#[test]
fn scram_client_first_names_its_gs2_header_user_and_nonce() {
    let root = token(CLIENT_FIRST, None, Direction::Client);
    assert_eq!(
        root.note.as_deref(),
        Some("looks like a SCRAM client-first message (RFC 5802)")
    );
    let flag = root.path(&["gs2_header", "cbind_flag"]).unwrap();
    assert_eq!(str_value(flag), "n");
    assert!(flag.note.as_deref().unwrap().contains("does not support"));
    let bare = root.child("client_first_bare").unwrap();
    assert_eq!(str_value(bare.child("username").unwrap()), "user");
    assert_eq!(
        str_value(bare.child("client_nonce").unwrap()),
        "rOprNGfwEbeRWgbNEkqO"
    );
    // With an authzid and a mechanism named, no guessing.
    let root = token(
        b"n,a=admin,n=user,r=abc",
        Some("SCRAM-SHA-512"),
        Direction::Client,
    );
    assert_eq!(
        str_value(root.path(&["gs2_header", "authzid"]).unwrap()),
        "a=admin"
    );
    assert!(root.note.as_deref().unwrap().ends_with("(SCRAM-SHA-512)"));
}

#[test]
fn scram_server_first_splits_the_nonce_when_the_client_nonce_is_known() {
    let root = token(SERVER_FIRST, None, Direction::Server);
    let nonce = root.child("nonce").unwrap();
    assert!(nonce.children.is_empty());
    assert_eq!(str_value(root.child("iterations").unwrap()), "4096");
    let salt = root.child("salt").unwrap();
    assert_eq!(str_value(salt), "W22ZaJ0SNY7soEsUEjb6gQ==");
    assert!(salt
        .note
        .as_deref()
        .unwrap()
        .contains("base64 of 16 bytes: 5b6d99689d12358eeca04b141236fa81"));
    let ctx = SaslContext {
        mechanism: Some("SCRAM-SHA-256".into()),
        client_nonce: Some("rOprNGfwEbeRWgbNEkqO".into()),
    };
    let a = sasl_token_with(SERVER_FIRST, &ctx, Direction::Server);
    covers(&a.root, SERVER_FIRST.len());
    let nonce = a.root.child("nonce").unwrap();
    assert_eq!(
        str_value(nonce.child("client_nonce").unwrap()),
        "rOprNGfwEbeRWgbNEkqO"
    );
    assert_eq!(
        str_value(nonce.child("server_nonce").unwrap()),
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    );
}

#[test]
fn scram_client_final_explains_binding_nonce_and_a_secret_proof() {
    let root = token(CLIENT_FINAL, None, Direction::Client);
    let cb = root.child("channel_binding").unwrap();
    assert_eq!(str_value(cb), "biws");
    assert!(cb.note.as_deref().unwrap().contains("\"n,,\""));
    let proof = root.child("proof").unwrap();
    assert!(proof.secret);
    assert!(proof.note.as_deref().unwrap().contains("32 bytes: SHA-256"));
    assert!(!root.child("nonce").unwrap().secret);
}

#[test]
fn scram_server_final_is_a_signature_or_an_error() {
    let root = token(SERVER_FINAL, None, Direction::Server);
    let v = root.child("server_signature").unwrap();
    assert!(!v.secret);
    assert!(v.note.as_deref().unwrap().contains("ServerSignature"));
    let root = token(b"e=invalid-proof", None, Direction::Server);
    assert_eq!(str_value(root.child("error").unwrap()), "invalid-proof");
}

#[test]
fn plain_names_its_three_parts_and_the_password_is_secret() {
    let root = token(b"admin\0alice\0alice-secret", None, Direction::Client);
    assert_eq!(
        root.note.as_deref(),
        Some("looks like a SASL/PLAIN message (RFC 4616)")
    );
    assert_eq!(str_value(root.child("authzid").unwrap()), "admin");
    assert_eq!(str_value(root.child("authcid").unwrap()), "alice");
    let pw = root.child("passwd").unwrap();
    assert!(pw.secret);
    assert_eq!((pw.start, pw.end), (12, 24));
    // No authzid.
    let root = token(b"\0bob\0pw", Some("PLAIN"), Direction::Client);
    assert!(root.child("authzid").is_none());
    assert_eq!(str_value(root.child("passwd").unwrap()), "pw");
    // A PLAIN token that is not one stays bytes, and is secret as a whole.
    let root = token(b"garbage", Some("PLAIN"), Direction::Client);
    assert!(root.secret && root.children.is_empty());
}

#[test]
fn oauthbearer_decodes_the_jwt_and_keeps_its_signature_secret() {
    let root = token(OAUTH, None, Direction::Client);
    assert!(root.note.as_deref().unwrap().contains("OAUTHBEARER"));
    let auth = root.child("auth").unwrap();
    let h = auth.child("jwt_header").unwrap();
    assert!(h.note.as_deref().unwrap().contains(r#"{"alg":"none"}"#));
    let c = auth.child("jwt_claims").unwrap();
    assert!(c.note.as_deref().unwrap().contains(r#"{"sub":"alice"}"#));
    assert!(auth.child("jwt_signature").unwrap().secret);
    assert!(!h.secret && !c.secret);
    let ext = root.child("extension").unwrap();
    assert!(ext.note.as_deref().unwrap().starts_with("host"));
    // A token that is no JWT is secret whole.
    let root = token(
        b"n,,\x01auth=Bearer opaque\x01\x01",
        None,
        Direction::Client,
    );
    assert!(root.path(&["auth", "token"]).unwrap().secret);
    // The broker's error, and the client's answer to it.
    let root = token(br#"{"status":"invalid_token"}"#, None, Direction::Server);
    assert!(root.child("error").is_some());
    assert!(token(b"\x01", None, Direction::Client).children.len() == 1);
}

#[test]
fn unknown_or_mismatched_tokens_stay_bytes() {
    for (b, m) in [
        (&b"hello"[..], None),
        (&b""[..], None),
        (CLIENT_FIRST, Some("PLAIN")),
        (b"a\0b\0c", Some("SCRAM-SHA-256")),
    ] {
        let root = token(b, m, Direction::Client);
        assert!(root.children.is_empty());
        assert!(matches!(root.value, Some(Value::Bytes(_))));
    }
}

#[test]
fn sasl_authenticate_frames_explain_their_auth_bytes() {
    for version in 0..=2 {
        let frame = authenticate(version, CLIENT_FINAL);
        let a = annotate_request(&frame);
        assert!(a.error.is_none(), "{:?}", a.error);
        covers(&a.root, frame.len());
        let data = a.root.path(&["body", "auth_bytes", "data"]).unwrap();
        assert_eq!(
            data.note.as_deref(),
            Some("looks like a SCRAM client-final message (RFC 5802)")
        );
        assert!(data.child("proof").unwrap().secret);
    }
    // A response: error_code, error_message, auth_bytes (and session_lifetime_ms from v1).
    let mut body = vec![0, 0, 0, 5]; // correlation id
    body.extend_from_slice(&[0, 0, 0xff, 0xff]); // no error, null message
    body.extend_from_slice(&(SERVER_FIRST.len() as i32).to_be_bytes());
    body.extend_from_slice(SERVER_FIRST);
    let a = annotate_response(&body, 36, 0);
    assert!(a.error.is_none(), "{:?}", a.error);
    covers(&a.root, body.len());
    let data = a.root.path(&["body", "auth_bytes", "data"]).unwrap();
    assert_eq!(data.kind, "SASL token from the broker");
    assert!(data.child("salt").is_some());
}

#[test]
fn masking_hides_a_plain_password_in_bytes_and_values() {
    let frame = authenticate(2, b"\0alice\0hunter2-secret");
    let mut ann = annotate_request(&frame);
    let mut bytes = frame.clone();
    assert!(mask(&mut ann, &mut bytes));
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("alice\0**************"));
    let shown = serde_json::to_string(&ann).unwrap();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains(&crate::annotate::span::Hex(b"hunter2").to_string()));
    assert!(shown.contains("[masked 14 bytes]"));
    // The inspect stream's path: no size prefix.
    let masked = mask_request(&frame[4..]).unwrap();
    assert_eq!(&masked[..], &bytes[4..]);
    // The masked frame still annotates as PLAIN.
    let again = annotate_request(&bytes);
    let pw = again
        .root
        .path(&["body", "auth_bytes", "data", "passwd"])
        .unwrap();
    assert_eq!(str_value(pw), "**************");
}

#[test]
fn masking_hides_scram_proofs_jwt_signatures_and_raw_tokens() {
    let m = mask_request(&authenticate(1, CLIENT_FINAL)[4..]).unwrap();
    let text = String::from_utf8_lossy(&m);
    assert!(!text.contains("dHzbZapWIk4jUhN"));
    assert!(text.contains(",p=*****"));
    let m = mask_request(&authenticate(0, OAUTH)[4..]).unwrap();
    assert!(!String::from_utf8_lossy(&m).contains("c2lnbmF0dXJl"));
    assert!(String::from_utf8_lossy(&m).contains("eyJzdWIiOiJhbGljZSJ9"));
    // A raw PLAIN token after a SaslHandshake v0.
    let m = mask_request(b"\0bob\0pencil").unwrap();
    assert_eq!(&m[..], b"\0bob\0******");
    // Two NULs make a token PLAIN whatever it starts with.
    let m = mask_request(b"v=x\0bob\0pencil").unwrap();
    assert_eq!(&m[..], b"v=x\0bob\0******");
    // A token nothing explains is hidden whole in a SaslAuthenticate.
    let m = mask_request(&authenticate(1, b"GSSAPI-ticket")[4..]).unwrap();
    assert!(m.ends_with(b"*************"));
    // Nothing secret: nothing to do.
    assert!(mask_request(&authenticate(0, CLIENT_FIRST)[4..]).is_none());
    assert!(mask_request(&[0, 18, 0, 3, 0, 0, 0, 1, 0, 0]).is_none());
    // A SaslAuthenticate request too short to explain hides all after its header.
    let mut cut = authenticate(1, b"\0bob\0pencil")[4..].to_vec();
    cut.truncate(cut.len() - 1);
    let m = mask_request(&cut).unwrap();
    assert!(!String::from_utf8_lossy(&m).contains("penci"));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = mask_request(&b);
        for d in [Direction::Client, Direction::Server] {
            for m in [None, Some("PLAIN"), Some("SCRAM-SHA-256"), Some("OAUTHBEARER")] {
                let a = sasl_token(&b, m, d);
                covers(&a.root, b.len());
            }
        }
        let mut ann = annotate_request(&b);
        let mut bytes = b.clone();
        mask(&mut ann, &mut bytes);
    }

    #[test]
    fn sasl_shaped_bytes_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(&b"n,,"[..]), Just(&b"n="[..]), Just(&b",r="[..]), Just(&b",s="[..]),
                Just(&b",i="[..]), Just(&b"c="[..]), Just(&b",p="[..]), Just(&b"\x01"[..]),
                Just(&b"auth=Bearer "[..]), Just(&b"."[..]), Just(&b"\0"[..]), Just(&b"a="[..]),
                Just(&b"p="[..]), Just(&b","[..]), Just(&b"x"[..]), Just(&b"v="[..]),
            ],
            0..16,
        )
    ) {
        let b: Vec<u8> = parts.concat();
        let a = sasl_token(&b, None, Direction::Client);
        covers(&a.root, b.len());
        let _ = mask_request(&b);
        let _ = annotate_request(&authenticate(2, &b));
    }

    #[test]
    fn a_plain_password_never_survives_masking(
        user in "[a-z]{1,12}",
        password in "[A-Z0-9!#%]{1,40}",
        version in 0i16..=2,
    ) {
        let token = format!("\0{user}\0{password}");
        let frame = authenticate(version, token.as_bytes());
        let masked = mask_request(&frame[4..]).unwrap();
        let at = frame.len() - 4 - password.len() - usize::from(version >= 2);
        prop_assert!(masked[at..at + password.len()].iter().all(|&c| c == b'*'));
        prop_assert_eq!(&masked[..at], &frame[4..4 + at]);
        let mut ann = annotate_request(&frame);
        let mut bytes = frame.clone();
        mask(&mut ann, &mut bytes);
        let shown = serde_json::to_string(&ann).unwrap();
        let nul_then_password = format!("\\u0000{password}");
        prop_assert!(!shown.contains(&nul_then_password));
        if password.len() >= 3 {
            let hex = crate::annotate::span::Hex(password.as_bytes()).to_string();
            prop_assert!(!shown.contains(&hex));
        }
    }
}
