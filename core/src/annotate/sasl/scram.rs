//! SCRAM (RFC 5802, RFC 7677): the four messages, attribute by attribute.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{gs2_header, gs2_header_end, Parts};
use crate::annotate::span::{Hex, Value};

/// The `k=value` attributes of `b[from..]`, as ranges, in order.
fn attributes(b: &[u8], from: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let end = b[at..]
            .iter()
            .position(|&c| c == b',')
            .map_or(b.len(), |i| at + i);
        out.push((at, end));
        if end >= b.len() {
            return out;
        }
        at = end + 1;
    }
}

/// The attribute's letter, when it is `x=...`.
fn key(b: &[u8], (from, to): (usize, usize)) -> Option<u8> {
    (to - from >= 2 && b[from + 1] == b'=').then_some(b[from])
}

/// What a base64 value decodes to, for a note.
fn decoded(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(|c| c == b'*') {
        return "masked".to_string();
    }
    match STANDARD.decode(text) {
        Ok(v) if v.len() <= 64 => format!("base64 of {} bytes: {}", v.len(), Hex(&v)),
        Ok(v) => format!("base64 of {} bytes", v.len()),
        Err(_) => "not valid base64".to_string(),
    }
}

/// The hash a proof or signature of `text` (base64) is the size of.
fn hash_of(text: &str) -> &'static str {
    match STANDARD.decode(text).map(|v| v.len()) {
        Ok(32) => " (32 bytes: SHA-256)",
        Ok(64) => " (64 bytes: SHA-512)",
        _ => "",
    }
}

/// An attribute's name, note, and whether its value is secret.
type Meaning = (&'static str, String, bool);

/// Every attribute of `b[from..]` as a leaf, commas between, explained by
/// `explain` (letter, value text) -> (name, note, secret).
fn attrs(p: &mut Parts<'_>, from: usize, explain: &dyn Fn(Option<u8>, &str) -> Meaning) {
    let b = p.b;
    let list = attributes(b, from);
    for (i, &(s, e)) in list.iter().enumerate() {
        if i > 0 {
            p.sep("comma", s - 1, s);
        }
        if e == s {
            continue;
        }
        let k = key(b, (s, e));
        let value = if k.is_some() {
            p.text(s + 2, e)
        } else {
            p.text(s, e)
        };
        let (name, note, secret) = explain(k, &value);
        // A secret's name stays visible: only its value is masked.
        let from = if secret && k.is_some() {
            p.sep("attribute name", s, s + 2);
            s + 2
        } else {
            s
        };
        let leaf = p.leaf(name, "scram attribute", from, e, note);
        leaf.value = Some(Value::Str(value));
        leaf.secret = secret;
    }
}

/// An attribute no rule above names.
fn other(k: Option<u8>) -> Meaning {
    match k {
        Some(b'm') => (
            "reserved",
            "m=: reserved for mandatory extensions (a server must refuse it)".into(),
            false,
        ),
        Some(_) => (
            "extension",
            "an extension attribute (Kafka sends tokenauth=true for delegation tokens)".into(),
            false,
        ),
        None => ("unknown", "not a k=value attribute".into(), false),
    }
}

/// `gs2-header n=user,r=nonce[,extensions]`.
pub(super) fn client_first(p: &mut Parts<'_>) {
    let Some(end) = gs2_header_end(p.b) else {
        return;
    };
    gs2_header(p, end);
    let mark = p.spans.len();
    attrs(p, end, &|k, v| {
        match k {
        Some(b'n') => (
            "username",
            format!(
                "n=: the user to authenticate ({v}; in a saslname =2C stands for ',' and =3D for '=')"
            ),
            false,
        ),
        Some(b'r') => (
            "client_nonce",
            "r=: the client's nonce: random printable characters, new for every exchange"
                .into(),
            false,
        ),
        k => other(k),
    }
    });
    p.group(
        mark,
        "client_first_bare",
        "client-first-message-bare",
        "the part of client-first that goes into AuthMessage",
    );
}

/// `r=client+server nonce,s=salt,i=iterations`.
pub(super) fn server_first(p: &mut Parts<'_>, client_nonce: Option<&str>) {
    let b = p.b;
    let list = attributes(b, 0);
    for (i, &(s, e)) in list.iter().enumerate() {
        if i > 0 {
            p.sep("comma", s - 1, s);
        }
        if e == s {
            continue;
        }
        let value = p.text((s + 2).min(e), e);
        match key(b, (s, e)) {
            Some(b'r') => {
                let split = client_nonce
                    .filter(|c| !c.is_empty() && value.len() > c.len() && value.starts_with(c))
                    .map(|c| s + 2 + c.len());
                match split {
                    Some(at) => {
                        let mark = p.spans.len();
                        p.sep("attribute name", s, s + 2);
                        p.leaf(
                            "client_nonce",
                            "scram nonce",
                            s + 2,
                            at,
                            "the client's nonce, from client-first",
                        );
                        p.leaf(
                            "server_nonce",
                            "scram nonce",
                            at,
                            e,
                            "the broker's nonce, appended to the client's",
                        );
                        p.group(
                            mark,
                            "nonce",
                            "scram attribute",
                            "r=: the combined nonce: the client's, then the broker's",
                        );
                    }
                    None => {
                        p.leaf(
                            "nonce",
                            "scram attribute",
                            s,
                            e,
                            "r=: the combined nonce: it starts with the client's nonce from \
                             client-first, and the broker appended its own",
                        )
                        .value = Some(Value::Str(value.clone()));
                    }
                }
            }
            Some(b's') => {
                let note = format!(
                    "s=: the user's salt, {}: random bytes stored with the credential; \
                     SaltedPassword = PBKDF2(password, salt, i)",
                    decoded(&value)
                );
                p.leaf("salt", "scram attribute", s, e, note).value =
                    Some(Value::Str(value.clone()));
            }
            Some(b'i') => {
                let note = format!(
                    "i=: {value} PBKDF2 iterations for SaltedPassword (Kafka's credentials use \
                     4096 to 16384)"
                );
                p.leaf("iterations", "scram attribute", s, e, note).value =
                    Some(Value::Str(value.clone()));
            }
            k => {
                let (name, note, _) = other(k);
                p.leaf(name, "scram attribute", s, e, note);
            }
        }
    }
}

/// `c=channel binding,r=nonce,p=proof`.
pub(super) fn client_final(p: &mut Parts<'_>) {
    attrs(p, 0, &|k, v| match k {
        Some(b'c') => {
            let gs2 = STANDARD
                .decode(v)
                .ok()
                .map(|g| String::from_utf8_lossy(&g).into_owned());
            let note = match gs2 {
                Some(g) => format!(
                    "c=: channel binding: base64 of the GS2 header {g:?} from client-first \
                     (and channel binding data when the flag is p)"
                ),
                None => "c=: channel binding (not valid base64)".to_string(),
            };
            ("channel_binding", note, false)
        }
        Some(b'r') => (
            "nonce",
            "r=: the combined nonce from server-first, repeated".into(),
            false,
        ),
        Some(b'p') => (
            "proof",
            format!(
                "secret: p=: ClientProof, {}{}: ClientKey XOR HMAC(StoredKey, AuthMessage). It \
                 proves the client knows the salted password without sending it: the broker \
                 recovers ClientKey and checks H(ClientKey) == StoredKey",
                decoded(v),
                hash_of(v)
            ),
            true,
        ),
        k => other(k),
    });
}

/// `v=signature` or `e=error`.
pub(super) fn server_final(p: &mut Parts<'_>) {
    attrs(p, 0, &|k, v| match k {
        Some(b'v') => (
            "server_signature",
            format!(
                "v=: ServerSignature, {}{}: HMAC(ServerKey, AuthMessage). It proves to the \
                 client that the broker holds the user's credential",
                decoded(v),
                hash_of(v)
            ),
            false,
        ),
        Some(b'e') => (
            "error",
            format!("e=: the broker refused the authentication: {v}"),
            false,
        ),
        k => other(k),
    });
}

#[cfg(test)]
mod tests {
    use super::attributes;

    #[test]
    fn attributes_split_at_commas() {
        assert_eq!(attributes(b"a=1,b=2", 0), [(0, 3), (4, 7)]);
        assert_eq!(attributes(b"a=1,", 0), [(0, 3), (4, 4)]);
        assert_eq!(attributes(b"", 0), [(0, 0)]);
    }
}
