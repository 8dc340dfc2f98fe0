//! A whole SASL/SCRAM-SHA-256 authentication as frames: the SaslHandshake
//! and the four SaslAuthenticate messages of RFC 7677's published example
//! (user `user`, password `pencil`; its nonces, salt and proof are public
//! test vectors), for the playground's gallery.

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::messages::ApiKey;

/// One named example frame, size prefix included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedFrame {
    /// What it is (`SaslAuthenticate v2 request: SCRAM client-first`).
    pub name: &'static str,
    /// Whether it is a request (else a response).
    pub request: bool,
    /// Its API.
    pub api_key: ApiKey,
    /// Its version.
    pub api_version: i16,
    /// The frame.
    pub bytes: Bytes,
}

/// RFC 7677's client-first message.
pub const RFC7677_CLIENT_FIRST: &[u8] = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
/// RFC 7677's server-first message.
pub const RFC7677_SERVER_FIRST: &[u8] =
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
/// RFC 7677's client-final message.
pub const RFC7677_CLIENT_FINAL: &[u8] =
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
/// RFC 7677's server-final message.
pub const RFC7677_SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn frame(body: BytesMut) -> Bytes {
    let mut f = BytesMut::with_capacity(body.len() + 4);
    f.put_i32(body.len() as i32);
    f.put_slice(&body);
    f.freeze()
}

fn put_compact_len(w: &mut BytesMut, n: usize) {
    let mut n = n as u64 + 1;
    while n >= 0x80 {
        w.put_u8((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    w.put_u8(n as u8);
}

/// A request header v1 (v2 when `flexible`) for `key` at `version`.
fn request_header(key: ApiKey, version: i16, correlation: i32, flexible: bool) -> BytesMut {
    let mut w = BytesMut::new();
    w.put_i16(key as i16);
    w.put_i16(version);
    w.put_i32(correlation);
    w.put_i16(5);
    w.put_slice(b"spate");
    if flexible {
        w.put_u8(0);
    }
    w
}

/// A SaslAuthenticate v2 request carrying `token`.
fn authenticate_request(correlation: i32, token: &[u8]) -> Bytes {
    let mut w = request_header(ApiKey::SaslAuthenticate, 2, correlation, true);
    put_compact_len(&mut w, token.len());
    w.put_slice(token);
    w.put_u8(0);
    frame(w)
}

/// A successful SaslAuthenticate v2 response carrying `token`.
fn authenticate_response(correlation: i32, token: &[u8]) -> Bytes {
    let mut w = BytesMut::new();
    w.put_i32(correlation);
    w.put_u8(0); // header tags
    w.put_i16(0); // error_code
    w.put_u8(0); // error_message: null
    put_compact_len(&mut w, token.len());
    w.put_slice(token);
    w.put_i64(0); // session_lifetime_ms: no re-authentication required
    w.put_u8(0);
    frame(w)
}

/// The exchange, in the order the frames cross the wire.
pub fn scram_sha256_exchange() -> Vec<NamedFrame> {
    let mut hs = request_header(ApiKey::SaslHandshake, 1, 1, false);
    hs.put_i16(13);
    hs.put_slice(b"SCRAM-SHA-256");
    let mut hs_resp = BytesMut::new();
    hs_resp.put_i32(1);
    hs_resp.put_i16(0);
    hs_resp.put_i32(2);
    for m in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        hs_resp.put_i16(m.len() as i16);
        hs_resp.put_slice(m.as_bytes());
    }
    let auth = |name, request, bytes| NamedFrame {
        name,
        request,
        api_key: ApiKey::SaslAuthenticate,
        api_version: 2,
        bytes,
    };
    vec![
        NamedFrame {
            name: "SaslHandshake v1 request: SCRAM-SHA-256",
            request: true,
            api_key: ApiKey::SaslHandshake,
            api_version: 1,
            bytes: frame(hs),
        },
        NamedFrame {
            name: "SaslHandshake v1 response: the enabled mechanisms",
            request: false,
            api_key: ApiKey::SaslHandshake,
            api_version: 1,
            bytes: frame(hs_resp),
        },
        auth(
            "SaslAuthenticate v2 request: SCRAM client-first",
            true,
            authenticate_request(2, RFC7677_CLIENT_FIRST),
        ),
        auth(
            "SaslAuthenticate v2 response: SCRAM server-first",
            false,
            authenticate_response(2, RFC7677_SERVER_FIRST),
        ),
        auth(
            "SaslAuthenticate v2 request: SCRAM client-final",
            true,
            authenticate_request(3, RFC7677_CLIENT_FINAL),
        ),
        auth(
            "SaslAuthenticate v2 response: SCRAM server-final",
            false,
            authenticate_response(3, RFC7677_SERVER_FINAL),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotate::{annotate_request, annotate_response};

    /// Every frame annotates with no error, and the tokens are explained.
    #[test]
    fn the_exchange_annotates_message_by_message() {
        let frames = scram_sha256_exchange();
        let kinds = [
            None,
            None,
            Some("client_first_bare"),
            Some("salt"),
            Some("proof"),
            Some("server_signature"),
        ];
        for (f, kind) in frames.iter().zip(kinds) {
            let a = if f.request {
                annotate_request(&f.bytes)
            } else {
                annotate_response(&f.bytes, f.api_key as i16, f.api_version)
            };
            assert!(a.error.is_none(), "{}: {:?}", f.name, a.error);
            if let Some(k) = kind {
                let data = a.root.path(&["body", "auth_bytes", "data"]).unwrap();
                assert!(data.child(k).is_some(), "{}", f.name);
            }
        }
        let hs = annotate_request(&frames[0].bytes);
        assert_eq!(hs.root.kind, "SaslHandshakeRequest v1");
    }
}
