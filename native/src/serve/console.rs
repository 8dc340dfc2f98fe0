//! `--console`: the playground page's live console of a running broker,
//! spoken in the Kafka protocol itself.
//!
//! The page builds real request frames with the wasm codec (Metadata,
//! ListOffsets, DescribeLogDirs, ListGroups, DescribeGroups, OffsetFetch,
//! Fetch, ...) and sends each as one binary message over a WebSocket,
//! `ws://PLAYGROUND/console`. This relay writes it to a TCP connection to
//! a Kafka bootstrap address (by default this broker's own PLAINTEXT
//! listener, `--console-bootstrap` for another, any Kafka-compatible
//! broker) and sends every response frame back as one binary message.
//! Nothing here reads the broker's internals: what the page shows is what
//! any Kafka client would be told. Correlation ids are the page's; the
//! connection keeps Kafka's order, so responses come back in request order.
//!
//! # Messages
//!
//! Both ways, one Kafka frame per binary message, its 4-byte size prefix
//! included:
//!
//! ```text
//! page -> relay   [size: int32][request header][request body]    a request
//! relay -> page   [size: int32][response header][response body]  its response
//! ```
//!
//! # Rules
//!
//! - Off unless `--console` is given (`404`), and local only, as
//!   `--inspect`: the playground must listen on a loopback address and
//!   only loopback peers may connect (others get `403`). A browser's
//!   `Origin`, when sent, must name the playground itself (`403`
//!   otherwise), so another site open in the same browser cannot reach
//!   the broker through the page's server. Not a WebSocket upgrade: `400`.
//! - Reads only: a request whose API changes anything (Produce,
//!   CreateTopics, OffsetCommit, JoinGroup, ...) is refused, see
//!   [`READS`].
//! - A message that is not one well-formed request frame (text, a size
//!   prefix that disagrees with the bytes, more than [`MAX_REQUEST`]
//!   bytes, an unknown API or version, a body that does not decode)
//!   closes the WebSocket with a close frame that says why; so does a
//!   broker that cannot be reached, closes its connection, or answers
//!   with a frame over [`MAX_RESPONSE`] bytes. Never a panic.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use spate_core::protocol::header::decode_request;
use spate_core::protocol::ApiKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::debug;

use super::inspect::plain;

/// The largest request frame taken from the page (size prefix included).
pub(crate) const MAX_REQUEST: usize = 1 << 20;

/// The largest response frame relayed to the page (size prefix included).
pub(crate) const MAX_RESPONSE: usize = 16 << 20;

/// How long to wait for the broker's TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The APIs the console may send: the ones that read and change nothing.
pub(crate) const READS: &[ApiKey] = &[
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::ApiVersions,
    ApiKey::DescribeConfigs,
    ApiKey::DescribeLogDirs,
    ApiKey::DescribeCluster,
    ApiKey::DescribeTopicPartitions,
    ApiKey::ConsumerGroupDescribe,
];

/// Where the console's requests go.
#[derive(Debug, Clone)]
pub(crate) struct Relay {
    /// The Kafka bootstrap address, `HOST:PORT`.
    bootstrap: String,
}

impl Relay {
    pub(crate) fn new(bootstrap: String) -> Relay {
        Relay { bootstrap }
    }

    pub(crate) fn bootstrap(&self) -> &str {
        &self.bootstrap
    }
}

/// Why the relay closed the page's WebSocket: a close code and a reason.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    code: u16,
    reason: String,
}

/// RFC 6455 close codes.
mod code {
    pub const NORMAL: u16 = 1000;
    pub const UNSUPPORTED: u16 = 1003;
    pub const INVALID: u16 = 1007;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const BROKER: u16 = 1011;
}

impl Refusal {
    fn new(code: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            code,
            reason: reason.into(),
        }
    }

    /// The close frame: its reason cut to the 123 bytes a close frame
    /// holds, at a character boundary.
    fn frame(&self) -> CloseFrame {
        let mut end = self.reason.len().min(123);
        while !self.reason.is_char_boundary(end) {
            end -= 1;
        }
        CloseFrame {
            code: self.code,
            reason: Utf8Bytes::from(&self.reason[..end]),
        }
    }
}

/// Checks that `msg` is one request frame the console may relay.
pub(crate) fn check(msg: &[u8]) -> Result<(), Refusal> {
    if msg.len() > MAX_REQUEST {
        return Err(Refusal::new(
            code::TOO_BIG,
            format!(
                "a request of {} bytes: the console takes {MAX_REQUEST} at most",
                msg.len()
            ),
        ));
    }
    let Some((prefix, frame)) = msg.split_first_chunk::<4>() else {
        return Err(Refusal::new(
            code::INVALID,
            format!("{} bytes: a frame starts with a 4-byte size", msg.len()),
        ));
    };
    let size = i32::from_be_bytes(*prefix);
    if usize::try_from(size).ok() != Some(frame.len()) {
        return Err(Refusal::new(
            code::INVALID,
            format!(
                "the size prefix says {size} bytes follow, {} do: one message is one frame",
                frame.len()
            ),
        ));
    }
    let (header, _) = decode_request(&Bytes::copy_from_slice(frame))
        .map_err(|e| Refusal::new(code::INVALID, format!("not a Kafka request: {e}")))?;
    let key = ApiKey::from_i16(header.request_api_key);
    match key {
        Some(key) if READS.contains(&key) => {}
        _ => {
            let name = key.map_or_else(|| header.request_api_key.to_string(), |k| format!("{k:?}"));
            return Err(Refusal::new(
                code::POLICY,
                format!("the console only reads: {name} is not relayed"),
            ));
        }
    }
    Ok(())
}

/// `GET /console`: upgrades a loopback peer's request from the playground
/// page to the relay's WebSocket.
pub(super) async fn route(
    State(relay): State<Option<Relay>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(relay) = relay else {
        let msg = "console is off: start spate serve with --console";
        return plain(StatusCode::NOT_FOUND, msg);
    };
    if !peer.ip().is_loopback() {
        return plain(StatusCode::FORBIDDEN, "console is local only");
    }
    if !same_origin(&headers) {
        return plain(
            StatusCode::FORBIDDEN,
            "console answers the playground's own page only",
        );
    }
    let Ok(ws) = ws else {
        return plain(StatusCode::BAD_REQUEST, "a WebSocket upgrade is expected");
    };
    debug!(%peer, bootstrap = relay.bootstrap, "console: a page connects");
    // Twice the largest request, so that a larger one is read and refused
    // with a reason rather than cut off by the WebSocket's own limit.
    ws.max_message_size(2 * MAX_REQUEST)
        .max_frame_size(2 * MAX_REQUEST)
        .on_upgrade(move |socket| session(socket, relay))
}

/// No `Origin` (not a browser), or one whose `host[:port]` is the
/// request's `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
    });
    matches!((origin, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// One page's session: connects to the broker, then relays until either
/// side goes away or breaks a rule.
async fn session(mut socket: WebSocket, relay: Relay) {
    let end = match connect(&relay.bootstrap).await {
        Ok(tcp) => pump(&mut socket, tcp).await,
        Err(r) => r,
    };
    debug!(code = end.code, reason = end.reason, "console: closing");
    let _ = socket.send(Message::Close(Some(end.frame()))).await;
}

async fn connect(bootstrap: &str) -> Result<TcpStream, Refusal> {
    let unreachable = |e: String| {
        Refusal::new(
            code::BROKER,
            format!("cannot reach the broker at {bootstrap}: {e}"),
        )
    };
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(bootstrap))
        .await
        .map_err(|_| unreachable("timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Relays until the end, and says why it ended.
async fn pump(socket: &mut WebSocket, tcp: TcpStream) -> Refusal {
    let (rd, mut wr) = tcp.into_split();
    // Responses are read in a task of their own (a frame read is not
    // cancel-safe inside a select).
    let (tx, mut rx) = mpsc::channel(8);
    let reader = tokio::spawn(async move {
        let mut rd = rd;
        loop {
            let r = read_frame(&mut rd).await;
            let stop = r.is_err();
            if tx.send(r).await.is_err() || stop {
                return;
            }
        }
    });
    let end = loop {
        tokio::select! {
            m = socket.recv() => match m {
                Some(Ok(Message::Binary(b))) => {
                    if let Err(r) = check(&b) {
                        break r;
                    }
                    if let Err(e) = wr.write_all(&b).await {
                        break Refusal::new(code::BROKER, format!("writing to the broker: {e}"));
                    }
                }
                Some(Ok(Message::Text(_))) => break Refusal::new(
                    code::UNSUPPORTED,
                    "binary messages only: one Kafka request frame each",
                ),
                // Pings are answered by the WebSocket itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => {
                    break Refusal::new(code::NORMAL, "the page closed the console")
                }
                Some(Err(e)) => break Refusal::new(code::TOO_BIG, format!("unreadable message: {e}")),
            },
            r = rx.recv() => match r {
                Some(Ok(frame)) => {
                    if socket.send(Message::Binary(frame)).await.is_err() {
                        break Refusal::new(code::NORMAL, "the page went away");
                    }
                }
                Some(Err(r)) => break r,
                None => break Refusal::new(code::BROKER, "the broker's reader stopped"),
            },
        }
    };
    reader.abort();
    end
}

/// One response frame from the broker, size prefix included.
async fn read_frame(rd: &mut (impl AsyncReadExt + Unpin)) -> Result<Bytes, Refusal> {
    let mut prefix = [0u8; 4];
    if let Err(e) = rd.read_exact(&mut prefix).await {
        let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "the broker closed the connection".to_string()
        } else {
            format!("reading from the broker: {e}")
        };
        return Err(Refusal::new(code::BROKER, why));
    }
    let size = i32::from_be_bytes(prefix);
    let len = usize::try_from(size)
        .ok()
        .filter(|n| (4..=MAX_RESPONSE - 4).contains(n))
        .ok_or_else(|| {
            Refusal::new(
                code::BROKER,
                format!("the broker sent a frame of size {size}: the console takes 4 to {MAX_RESPONSE} bytes"),
            )
        })?;
    let mut frame = vec![0u8; 4 + len];
    frame[..4].copy_from_slice(&prefix);
    rd.read_exact(&mut frame[4..]).await.map_err(|e| {
        Refusal::new(
            code::BROKER,
            format!("the broker's response was cut short: {e}"),
        )
    })?;
    Ok(Bytes::from(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as i32).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    /// ApiVersions v0: key 18, version 0, correlation id 7, client "c".
    const API_VERSIONS_V0: &[u8] = &[0, 18, 0, 0, 0, 0, 0, 7, 0, 1, b'c'];

    #[test]
    fn a_read_request_passes() {
        assert_eq!(check(&framed(API_VERSIONS_V0)), Ok(()));
    }

    #[test]
    fn malformed_messages_are_refused_with_a_reason() {
        let refused = |m: &[u8]| check(m).unwrap_err();
        let r = refused(&[0, 0]);
        assert_eq!(r.code, code::INVALID);
        assert_eq!(r.reason, "2 bytes: a frame starts with a 4-byte size");
        let mut short = framed(API_VERSIONS_V0);
        short.pop();
        let r = refused(&short);
        assert_eq!(
            r.reason,
            "the size prefix says 11 bytes follow, 10 do: one message is one frame"
        );
        let r = refused(&framed(&[0, 99, 0, 0, 0, 0, 0, 1, 0, 0]));
        assert_eq!(r.code, code::INVALID);
        assert!(r.reason.starts_with("not a Kafka request: "), "{r:?}");
        let r = refused(&vec![0; MAX_REQUEST + 1]);
        assert_eq!(r.code, code::TOO_BIG);
        // Produce v3 with no records: a write, refused.
        let produce = [
            &[0u8, 0, 0, 3, 0, 0, 0, 1, 0, 1, b'c'][..],
            &[0xff, 0xff, 0xff, 0xff, 0, 0, 0x75, 0x30, 0, 0, 0, 0],
        ]
        .concat();
        let r = refused(&framed(&produce));
        assert_eq!(r.code, code::POLICY);
        assert_eq!(r.reason, "the console only reads: Produce is not relayed");
    }

    #[test]
    fn a_long_reason_is_cut_at_a_character_boundary() {
        let r = Refusal::new(code::BROKER, "é".repeat(100));
        let f = r.frame();
        assert_eq!(f.reason.len(), 122);
        assert_eq!(f.code, 1011);
    }

    #[test]
    fn origin_must_be_the_playground() {
        let h = |pairs: &[(&str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(
                    header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            m
        };
        assert!(same_origin(&h(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&h(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&h(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&h(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&h(&[("origin", "http://127.0.0.1:8080")])));
    }
}
