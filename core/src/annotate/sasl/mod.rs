//! SASL tokens explained field by field: the `auth_bytes` of
//! SaslAuthenticate, and the raw token frames that follow a SaslHandshake
//! v0 (which carry no request header).
//!
//! A token does not say which mechanism it belongs to, but the messages
//! are told apart by their content: PLAIN is `authzid NUL authcid NUL
//! passwd` (exactly two NULs); SCRAM's client-first starts with a GS2
//! header (`n,,`) then `n=`, its server-first is `r=…,s=…,i=…`, its
//! client-final `c=…,r=…,p=…` and its server-final `v=…` or `e=…`;
//! OAUTHBEARER's client message is a GS2 header then `\x01auth=Bearer …`.
//! When the mechanism is not given the explanation says "looks like".
//! Bytes that are none of these stay plain bytes: this never fails. Two
//! NULs make a token PLAIN whatever else it holds, so a password is never
//! taken for something that is not secret.
//!
//! Secrets (PLAIN's password, SCRAM's proof, a bearer token's signature,
//! a bearer token that is not a JWT) are marked [`Span::secret`], so
//! [`super::mask()`] can hide them.

mod oauth;
mod scram;

use bytes::Bytes;

use super::span::{Annotation, Span, Text, Value};
use crate::protocol::messages::ApiKey;

/// Who sent a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The client (a request's `auth_bytes`, or a raw token it sent).
    Client,
    /// The broker (a response's `auth_bytes`, or a raw token it sent).
    Server,
}

/// What is known about a token besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaslContext {
    /// The mechanism SaslHandshake chose (its IANA name, `SCRAM-SHA-256`),
    /// when known.
    pub mechanism: Option<String>,
    /// The SCRAM client nonce of the exchange's client-first message, when
    /// known: server-first's combined nonce is split at its end.
    pub client_nonce: Option<String>,
}

/// The kinds of SASL message this module explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    ClientFirst,
    ServerFirst,
    ClientFinal,
    ServerFinal,
    OAuthClient,
    OAuthAck,
    OAuthError,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Plain => "a SASL/PLAIN message (RFC 4616)",
            Kind::ClientFirst => "a SCRAM client-first message (RFC 5802)",
            Kind::ServerFirst => "a SCRAM server-first message (RFC 5802)",
            Kind::ClientFinal => "a SCRAM client-final message (RFC 5802)",
            Kind::ServerFinal => "a SCRAM server-final message (RFC 5802)",
            Kind::OAuthClient => "an OAUTHBEARER client message (RFC 7628)",
            Kind::OAuthAck => "an OAUTHBEARER client's answer to an error (RFC 7628)",
            Kind::OAuthError => "an OAUTHBEARER error (RFC 7628 JSON)",
        }
    }

    /// Whether this message belongs to the mechanism named `m`.
    fn of(self, m: &str) -> bool {
        match self {
            Kind::Plain => m == "PLAIN",
            Kind::ClientFirst | Kind::ServerFirst | Kind::ClientFinal | Kind::ServerFinal => {
                m.starts_with("SCRAM-")
            }
            Kind::OAuthClient | Kind::OAuthAck | Kind::OAuthError => m == "OAUTHBEARER",
        }
    }
}

/// Which message `b` is, from its content alone.
fn detect(b: &[u8]) -> Option<Kind> {
    let has = |needle: &[u8]| b.windows(needle.len()).any(|w| w == needle);
    // First, so a password is never taken for anything else: SCRAM and
    // OAUTHBEARER messages hold no NUL.
    if b.iter().filter(|&&c| c == 0).count() == 2 {
        return Some(Kind::Plain);
    }
    if let Some(after) = gs2_header_end(b) {
        let rest = &b[after..];
        if (rest.starts_with(b"n=") || rest.starts_with(b"m=")) && has(b",r=") {
            return Some(Kind::ClientFirst);
        }
        if rest.first() == Some(&0x01) {
            return Some(Kind::OAuthClient);
        }
    }
    if b.starts_with(b"r=") && has(b",s=") && has(b",i=") {
        return Some(Kind::ServerFirst);
    }
    if b.starts_with(b"c=") && has(b",r=") && has(b",p=") {
        return Some(Kind::ClientFinal);
    }
    if b.starts_with(b"v=") || b.starts_with(b"e=") {
        return Some(Kind::ServerFinal);
    }
    if b == [0x01] {
        return Some(Kind::OAuthAck);
    }
    if b.first() == Some(&b'{') && b.last() == Some(&b'}') && std::str::from_utf8(b).is_ok() {
        return Some(Kind::OAuthError);
    }
    None
}

/// The end of a GS2 header (`n,,` `y,,` `p=name,` then `a=authzid,` or
/// nothing): the offset after its second comma.
fn gs2_header_end(b: &[u8]) -> Option<usize> {
    let flag_ok = b.starts_with(b"n,") || b.starts_with(b"y,") || b.starts_with(b"p=");
    if !flag_ok {
        return None;
    }
    let first = b.iter().position(|&c| c == b',')?;
    let second = first + 1 + b[first + 1..].iter().position(|&c| c == b',')?;
    let authz = &b[first + 1..second];
    (authz.is_empty() || authz.starts_with(b"a=")).then_some(second + 1)
}

/// Spans over a token's bytes, offsets counted from `base`.
pub(crate) struct Parts<'a> {
    pub(crate) b: &'a [u8],
    base: usize,
    pub(crate) spans: Vec<Span>,
}

impl<'a> Parts<'a> {
    fn new(b: &'a [u8], base: usize) -> Self {
        Parts {
            b,
            base,
            spans: Vec::new(),
        }
    }

    /// The text of `b[from..to]` (lossy: these are meant to be UTF-8).
    pub(crate) fn text(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(&self.b[from..to]).into_owned()
    }

    /// A leaf over `b[from..to]` whose value is its text.
    pub(crate) fn leaf(
        &mut self,
        name: impl Into<Text>,
        kind: &'static str,
        from: usize,
        to: usize,
        note: impl Into<Text>,
    ) -> &mut Span {
        let v = Value::Str(self.text(from, to));
        self.spans
            .push(Span::leaf(name, kind, self.base + from, self.base + to, v).with_note(note));
        let n = self.spans.len() - 1;
        &mut self.spans[n]
    }

    /// A secret leaf over `b[from..to]`.
    pub(crate) fn secret(
        &mut self,
        name: impl Into<Text>,
        kind: &'static str,
        from: usize,
        to: usize,
        note: impl Into<Text>,
    ) {
        let s = self.leaf(name, kind, from, to, note);
        s.secret = true;
    }

    /// A one-byte (or short) separator.
    pub(crate) fn sep(&mut self, kind: &'static str, from: usize, to: usize) {
        let v = Value::Str(self.text(from, to));
        self.spans.push(Span::leaf(
            "separator",
            kind,
            self.base + from,
            self.base + to,
            v,
        ));
    }

    /// Groups the spans pushed since `mark` under a composite.
    pub(crate) fn group(
        &mut self,
        mark: usize,
        name: &'static str,
        kind: &'static str,
        note: &str,
    ) {
        if mark >= self.spans.len() {
            return;
        }
        let children: Vec<Span> = self.spans.drain(mark..).collect();
        let mut g = Span::open(name, kind, children[0].start).with_note(note.to_string());
        g.end = children.last().map_or(g.start, |c| c.end);
        g.children = children;
        self.spans.push(g);
    }
}

/// The GS2 header of SCRAM and OAUTHBEARER client messages, ending at `end`
/// (after its second comma), as one composite.
pub(crate) fn gs2_header(p: &mut Parts<'_>, end: usize) {
    let mark = p.spans.len();
    let b = p.b;
    let comma = b.iter().position(|&c| c == b',').unwrap_or(0);
    let note = match b[0] {
        b'n' => "n: the client does not support channel binding".to_string(),
        b'y' => "y: the client supports channel binding but thinks the server does not".to_string(),
        _ => format!(
            "p=: the client requires channel binding {}",
            p.text(2.min(comma), comma)
        ),
    };
    p.leaf("cbind_flag", "gs2-cbind-flag", 0, comma, note);
    p.sep("comma", comma, comma + 1);
    if end - 1 > comma + 1 {
        p.leaf(
            "authzid",
            "gs2 attribute",
            comma + 1,
            end - 1,
            "a=: the authorization identity: authenticate as one user, act as this one",
        );
    }
    p.sep("comma", end - 1, end);
    p.group(
        mark,
        "gs2_header",
        "gs2-header",
        "GS2 header: channel binding flag, then an optional authorization identity",
    );
}

/// SASL/PLAIN: `authzid NUL authcid NUL passwd`.
fn plain(p: &mut Parts<'_>) {
    let b = p.b;
    let nuls: Vec<usize> = b
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == 0)
        .map(|(i, _)| i)
        .collect();
    let (a, c) = (nuls[0], nuls[1]);
    if a > 0 {
        p.leaf(
            "authzid",
            "utf8",
            0,
            a,
            "authorization identity: the user to act as (empty: the same as authcid)",
        );
    }
    p.sep("NUL", a, a + 1);
    if c > a + 1 {
        p.leaf(
            "authcid",
            "utf8",
            a + 1,
            c,
            "authentication identity: the user name",
        );
    }
    p.sep("NUL", c, c + 1);
    if b.len() > c + 1 {
        p.secret(
            "passwd",
            "utf8",
            c + 1,
            b.len(),
            "secret: the password, in the clear (PLAIN must only run over TLS)",
        );
    }
}

/// Explains `b` (at `base` in its frame): the spans covering it and what it
/// is, or `None` when it is none of the messages above. With no mechanism
/// given, the label says "looks like".
pub(crate) fn explain(b: &[u8], base: usize, ctx: &SaslContext) -> Option<(String, Vec<Span>)> {
    let kind = detect(b).filter(|k| ctx.mechanism.as_deref().is_none_or(|m| k.of(m)))?;
    let mut p = Parts::new(b, base);
    match kind {
        Kind::Plain => plain(&mut p),
        Kind::ClientFirst => scram::client_first(&mut p),
        Kind::ServerFirst => scram::server_first(&mut p, ctx.client_nonce.as_deref()),
        Kind::ClientFinal => scram::client_final(&mut p),
        Kind::ServerFinal => scram::server_final(&mut p),
        Kind::OAuthClient => oauth::client(&mut p),
        Kind::OAuthAck => p.sep("kvsep", 0, 1),
        Kind::OAuthError => {
            p.leaf(
                "error",
                "json",
                0,
                b.len(),
                "why the token was refused: status, scope and openid-configuration",
            );
        }
    }
    let label = match &ctx.mechanism {
        Some(m) => format!("{} ({m})", kind.label()),
        None => format!("looks like {}", kind.label()),
    };
    Some((label, p.spans))
}

/// Annotates a raw SASL token: the bytes of a frame that follows a
/// SaslHandshake v0 (no request header), without its size prefix, or any
/// `auth_bytes` on their own. `mechanism` is the name of the one the
/// handshake chose (`PLAIN`, `SCRAM-SHA-512`; `None`: guessed from the
/// content). Unrecognized bytes come back as one
/// bytes leaf: this never fails.
pub fn sasl_token(bytes: &[u8], mechanism: Option<&str>, direction: Direction) -> Annotation {
    let ctx = SaslContext {
        mechanism: mechanism.map(str::to_string),
        client_nonce: None,
    };
    sasl_token_with(bytes, &ctx, direction)
}

/// [`sasl_token`] with more context (the exchange's client nonce).
pub fn sasl_token_with(bytes: &[u8], ctx: &SaslContext, direction: Direction) -> Annotation {
    let from = match direction {
        Direction::Client => "SASL token from the client",
        Direction::Server => "SASL token from the broker",
    };
    let mut root = Span::open("sasl", from, 0);
    root.end = bytes.len();
    match explain(bytes, 0, ctx) {
        Some((label, spans)) => {
            root.note = Some(label.into());
            root.children = spans;
        }
        None => {
            root.value = Some(Value::Bytes(Bytes::copy_from_slice(bytes)));
            root.note = Some(match &ctx.mechanism {
                Some(m) => format!("not a {m} message this annotator knows").into(),
                None => "not a SASL message this annotator knows".into(),
            });
            if ctx.mechanism.as_deref() == Some("PLAIN") && !bytes.is_empty() {
                // A malformed PLAIN token may still hold a password.
                root.secret = true;
            }
        }
    }
    Annotation { root, error: None }
}

/// Explains the `auth_bytes` of a SaslAuthenticate request or response
/// in place: their `data` leaf gets the token's fields as children.
pub(crate) fn deepen(root: &mut Span, key: Option<ApiKey>, direction: Direction) {
    if key != Some(ApiKey::SaslAuthenticate) {
        return;
    }
    let Some(body) = root.children.iter_mut().find(|c| c.name == "body") else {
        return;
    };
    let Some(auth) = body.children.iter_mut().find(|c| c.name == "auth_bytes") else {
        return;
    };
    let Some(data) = auth.children.iter_mut().find(|c| c.name == "data") else {
        return;
    };
    let Some(Value::Bytes(b)) = data.value.clone() else {
        return;
    };
    let kind = match direction {
        Direction::Client => "SASL token from the client",
        Direction::Server => "SASL token from the broker",
    };
    if let Some((label, spans)) = explain(&b, data.start, &SaslContext::default()) {
        data.kind = kind.into();
        data.note = Some(label.into());
        data.children = spans;
    }
}

#[cfg(test)]
mod tests;
