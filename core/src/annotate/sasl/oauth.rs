//! OAUTHBEARER (RFC 7628): the client's message, with a JWT's header and
//! claims decoded (its signature is not verified, only marked secret).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::{gs2_header, gs2_header_end, Parts};

/// A base64url part of a JWT decoded to text, when it is.
fn json_part(b: &[u8]) -> Option<String> {
    let trimmed: Vec<u8> = b.iter().copied().filter(|&c| c != b'=').collect();
    let v = URL_SAFE_NO_PAD.decode(trimmed).ok()?;
    String::from_utf8(v).ok()
}

/// `gs2-header \x01 auth=Bearer token \x01 [key=value \x01]* \x01`.
pub(super) fn client(p: &mut Parts<'_>) {
    let Some(end) = gs2_header_end(p.b) else {
        return;
    };
    gs2_header(p, end);
    let b = p.b;
    let mut at = end;
    while at < b.len() {
        if b[at] == 0x01 {
            p.sep("kvsep", at, at + 1);
            at += 1;
            continue;
        }
        let stop = b[at..]
            .iter()
            .position(|&c| c == 0x01)
            .map_or(b.len(), |i| at + i);
        pair(p, at, stop);
        at = stop;
    }
}

/// One `key=value` pair at `b[from..to]`.
fn pair(p: &mut Parts<'_>, from: usize, to: usize) {
    let b = p.b;
    let seg = &b[from..to];
    if seg.starts_with(b"auth=") {
        auth(p, from, to);
        return;
    }
    match seg.iter().position(|&c| c == b'=') {
        Some(eq) => {
            let note = match &seg[..eq] {
                b"host" => "host: the broker's host name the client connected to".to_string(),
                b"port" => "port: the broker's port".to_string(),
                k => format!(
                    "SASL extension {:?}: passed to the broker's callback handler",
                    String::from_utf8_lossy(k)
                ),
            };
            p.leaf("extension", "oauth kvpair", from, to, note);
        }
        None => {
            p.leaf("unknown", "bytes", from, to, "not a key=value pair");
        }
    }
}

/// `auth=Bearer <token>`: the scheme, then the token (a JWT's three parts
/// when it is one).
fn auth(p: &mut Parts<'_>, from: usize, to: usize) {
    let mark = p.spans.len();
    let b = p.b;
    let prefix = b"auth=Bearer ";
    if !b[from..to].starts_with(prefix) {
        p.secret(
            "auth",
            "oauth kvpair",
            from,
            to,
            "secret: auth=: the credential, not a Bearer token",
        );
        return;
    }
    let t = from + prefix.len();
    p.leaf(
        "scheme",
        "oauth kvpair",
        from,
        t,
        "auth=Bearer: an OAuth 2 bearer token follows",
    );
    let dots: Vec<usize> = (t..to).filter(|&i| b[i] == b'.').collect();
    let parts = (dots.len() == 2).then(|| {
        (
            json_part(&b[t..dots[0]]),
            json_part(&b[dots[0] + 1..dots[1]]),
        )
    });
    match parts {
        Some((Some(header), Some(claims))) => {
            p.leaf(
                "jwt_header",
                "base64url",
                t,
                dots[0],
                format!("JWT header (JOSE), decoded: {header}"),
            );
            p.sep("dot", dots[0], dots[0] + 1);
            p.leaf(
                "jwt_claims",
                "base64url",
                dots[0] + 1,
                dots[1],
                format!("JWT claims, decoded (not verified here): {claims}"),
            );
            p.sep("dot", dots[1], dots[1] + 1);
            if to > dots[1] + 1 {
                p.secret(
                    "jwt_signature",
                    "base64url",
                    dots[1] + 1,
                    to,
                    "secret: the JWT's signature over header and claims (the broker verifies it \
                     with the issuer's key; not verified here)",
                );
            }
        }
        _ => {
            if to > t {
                p.secret(
                    "token",
                    "oauth token",
                    t,
                    to,
                    "secret: the bearer token (not a JWT this annotator can decode)",
                );
            }
        }
    }
    p.group(
        mark,
        "auth",
        "oauth kvpair",
        "auth=: the client's credential, an OAuth 2 bearer token",
    );
}
