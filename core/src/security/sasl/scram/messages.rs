//! The four SCRAM messages (RFC 5802 §7) as text, parsed strictly.
//!
//! Attributes are `letter=value`, separated by commas. Values that may
//! hold a comma or `=` (user names) escape them as `=2C` and `=3D`;
//! binary values (salt, proof, signature, channel binding) are standard
//! base64 with padding.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Standard base64 of `bytes`.
pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Strict standard base64 (canonical padding, no trailing bits).
pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// `saslname` of RFC 5802: `,` and `=` escaped.
pub(crate) fn encode_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// A `saslname` decoded: `=2C` and `=3D` are the only escapes, and NUL,
/// `,` and a bare `=` are refused (RFC 5802 §5.1).
pub(crate) fn decode_name(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '=' => {
                let escaped = match rest.get(..3)? {
                    "=2C" => ',',
                    "=3D" => '=',
                    _ => return None,
                };
                out.push(escaped);
                rest = &rest[3..];
            }
            '\0' | ',' => return None,
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A nonce: printable ASCII but `,`, at least one character.
pub(crate) fn is_nonce(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// An extension `name=value` (Kafka: ALPHA+ `=` VALUE, VALUE being ASCII
/// 0x01-0x7F without `,`).
fn extension(attr: &str) -> Option<(&str, &str)> {
    let (key, value) = attr.split_once('=')?;
    let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphabetic());
    let value_ok = !value.is_empty() && value.bytes().all(|b| (0x01..=0x7f).contains(&b));
    (key_ok && value_ok).then_some((key, value))
}

/// The value of attribute `name` (`n=value` → `value`).
fn attr(part: Option<&str>, name: char) -> Option<&str> {
    let part = part?;
    let mut chars = part.chars();
    (chars.next()? == name && chars.next()? == '=').then(|| &part[2..])
}

/// Why a message was refused (kept for the broker's log; the client
/// sees Kafka's generic message).
pub(crate) type Refusal = &'static str;

/// `gs2-header client-first-message-bare`, as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFirst<'a> {
    /// `n,,` / `y,,` / `n,a=user,`: what the client-final's `c=` echoes.
    pub gs2_header: &'a str,
    /// The authorization id (decoded), if the client named one.
    pub authzid: Option<String>,
    /// The user (decoded).
    pub user: String,
    /// The client's nonce.
    pub nonce: &'a str,
    /// The message without the gs2 header: the first part of AuthMessage.
    pub bare: &'a str,
    /// The extensions `name=value` after the nonce.
    pub extensions: Vec<(&'a str, &'a str)>,
}

impl<'a> ClientFirst<'a> {
    /// Reads `n,[a=authzid],n=user,r=nonce[,ext=value]*`.
    pub(crate) fn parse(text: &'a str) -> Result<ClientFirst<'a>, Refusal> {
        let (flag, rest) = text.split_once(',').ok_or("no gs2 header")?;
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => return Err("channel binding is not supported"),
            _ => return Err("invalid gs2 channel-binding flag"),
        }
        let (authz, bare) = rest.split_once(',').ok_or("no gs2 header")?;
        let gs2_header = &text[..text.len() - bare.len()];
        let authzid = match authz {
            "" => None,
            a => Some(
                attr(Some(a), 'a')
                    .and_then(decode_name)
                    .ok_or("invalid authzid")?,
            ),
        };
        let mut parts = bare.split(',');
        let first = parts.next();
        if first.is_some_and(|p| p.starts_with("m=")) {
            return Err("mandatory extensions are not supported");
        }
        let user = attr(first, 'n')
            .and_then(decode_name)
            .ok_or("invalid user name")?;
        let nonce = attr(parts.next(), 'r')
            .filter(|n| is_nonce(n))
            .ok_or("invalid client nonce")?;
        let extensions = parts
            .map(extension)
            .collect::<Option<Vec<_>>>()
            .ok_or("invalid extension")?;
        Ok(ClientFirst {
            gs2_header,
            authzid,
            user,
            nonce,
            bare,
            extensions,
        })
    }
}

/// `r=nonce,s=salt,i=iterations[,ext]*`, as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerFirst<'a> {
    /// The client's nonce followed by the server's.
    pub nonce: &'a str,
    /// The salt (decoded).
    pub salt: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: u32,
}

impl<'a> ServerFirst<'a> {
    /// Reads a server-first message.
    pub(crate) fn parse(text: &'a str) -> Result<ServerFirst<'a>, Refusal> {
        let mut parts = text.split(',');
        let first = parts.next();
        if first.is_some_and(|p| p.starts_with("m=")) {
            return Err("mandatory extensions are not supported");
        }
        let nonce = attr(first, 'r')
            .filter(|n| is_nonce(n))
            .ok_or("invalid nonce")?;
        let salt = attr(parts.next(), 's')
            .and_then(unb64)
            .filter(|s| !s.is_empty())
            .ok_or("invalid salt")?;
        let iterations = attr(parts.next(), 'i')
            .filter(|i| i.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|i| i.parse::<u32>().ok())
            .ok_or("invalid iteration count")?;
        if !parts.all(|p| extension(p).is_some()) {
            return Err("invalid extension");
        }
        Ok(ServerFirst {
            nonce,
            salt,
            iterations,
        })
    }
}

/// `c=binding,r=nonce[,ext]*,p=proof`, as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFinal<'a> {
    /// The channel binding (decoded): the gs2 header for `n` and `y`.
    pub binding: Vec<u8>,
    /// The nonce, client's and server's.
    pub nonce: &'a str,
    /// Everything before `,p=`: the last part of AuthMessage.
    pub without_proof: &'a str,
    /// The proof (decoded).
    pub proof: Vec<u8>,
}

impl<'a> ClientFinal<'a> {
    /// Reads a client-final message.
    pub(crate) fn parse(text: &'a str) -> Result<ClientFinal<'a>, Refusal> {
        let (without_proof, proof) = text.rsplit_once(',').ok_or("no proof")?;
        let proof = attr(Some(proof), 'p')
            .and_then(unb64)
            .ok_or("invalid proof")?;
        let mut parts = without_proof.split(',');
        let binding = attr(parts.next(), 'c')
            .and_then(unb64)
            .ok_or("invalid channel binding")?;
        let nonce = attr(parts.next(), 'r')
            .filter(|n| is_nonce(n))
            .ok_or("invalid nonce")?;
        if !parts.all(|p| extension(p).is_some()) {
            return Err("invalid extension");
        }
        Ok(ClientFinal {
            binding,
            nonce,
            without_proof,
            proof,
        })
    }
}

/// What a server-final message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerFinal<'a> {
    /// `v=`: the server's signature (decoded).
    Verifier(Vec<u8>),
    /// `e=`: the server's error.
    Error(&'a str),
}

impl<'a> ServerFinal<'a> {
    /// Reads a server-final message.
    pub(crate) fn parse(text: &'a str) -> Result<ServerFinal<'a>, Refusal> {
        let mut parts = text.split(',');
        let first = parts.next();
        if let Some(error) = attr(first, 'e') {
            return Ok(ServerFinal::Error(error));
        }
        let signature = attr(first, 'v')
            .and_then(unb64)
            .ok_or("invalid server-final message")?;
        if !parts.all(|p| extension(p).is_some()) {
            return Err("invalid extension");
        }
        Ok(ServerFinal::Verifier(signature))
    }
}
