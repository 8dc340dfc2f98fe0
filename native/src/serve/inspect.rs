//! `--inspect`: every frame the broker receives and sends, streamed to the
//! playground page over a WebSocket (`ws://PLAYGROUND/inspect`), so the page
//! can annotate live traffic from kcat or kafka-python as it flows.
//!
//! Off unless `--inspect` is given, and local only: the playground must
//! listen on a loopback address, and only loopback peers may connect
//! (others get `403`). The handshake, pings and close are axum's WebSocket
//! (tokio-tungstenite underneath); a request to `/inspect` that is not a
//! WebSocket upgrade gets `400`, and without `--inspect`, `404`.
//!
//! # Messages
//!
//! One JSON text message per event:
//!
//! ```text
//! {"event":"open","conn":7,"peer":"127.0.0.1:53122","at":1732200000000}
//! {"event":"request","conn":7,"bytes":"AAAAGgAD...","at":...}   frame with its size prefix, base64
//! {"event":"response","conn":7,"bytes":"AAAAHw...","at":...}
//! {"event":"close","conn":7,"reason":"...","at":...}
//! {"event":"lagged","skipped":12}                               the page fell behind
//! ```
//!
//! Secrets never reach the page: a SaslAuthenticate request's PLAIN
//! password, SCRAM proof or bearer token signature (and the same in the
//! raw tokens of a SaslHandshake v0 exchange) are replaced by `*` in the
//! bytes sent ([`spate_core::annotate::mask_request`]); the page's
//! annotation of them then shows the stars.
//!
//! The owner loop publishes only while a page is listening, so a broker
//! with `--inspect` and no page open does no extra work beyond a check.

use std::net::SocketAddr;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::json;
use spate_core::annotate::mask_request;
use tokio::sync::broadcast;
use tracing::debug;

/// The largest message taken from a page (it has nothing to say).
const MAX_FROM_PAGE: usize = 1 << 20;

/// The broker side: publishes events to every listening page.
#[derive(Debug, Clone)]
pub(crate) struct Tap(broadcast::Sender<Utf8Bytes>);

impl Tap {
    pub(crate) fn new() -> Tap {
        Tap(broadcast::channel(4096).0)
    }

    fn listening(&self) -> bool {
        self.0.receiver_count() > 0
    }

    fn publish(&self, v: serde_json::Value) {
        let _ = self.0.send(Utf8Bytes::from(v.to_string()));
    }

    pub(crate) fn open(&self, conn: u64, peer: &str, at: i64) {
        if self.listening() {
            self.publish(json!({"event": "open", "conn": conn, "peer": peer, "at": at}));
        }
    }

    /// A request frame, given without its size prefix (the prefix is put
    /// back), with its secrets masked.
    pub(crate) fn request(&self, conn: u64, frame: &Bytes, at: i64) {
        if self.listening() {
            let masked = mask_request(frame);
            let frame = masked.as_ref().unwrap_or(frame);
            let mut b = Vec::with_capacity(frame.len() + 4);
            b.extend_from_slice(&(frame.len() as i32).to_be_bytes());
            b.extend_from_slice(frame);
            self.publish(
                json!({"event": "request", "conn": conn, "bytes": STANDARD.encode(&b), "at": at}),
            );
        }
    }

    /// A response frame in chunks (size prefix included).
    pub(crate) fn response(&self, conn: u64, chunks: &[Bytes], at: i64) {
        if self.listening() {
            let b: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
            self.publish(
                json!({"event": "response", "conn": conn, "bytes": STANDARD.encode(&b), "at": at}),
            );
        }
    }

    pub(crate) fn close(&self, conn: u64, reason: &str, at: i64) {
        if self.listening() {
            self.publish(json!({"event": "close", "conn": conn, "reason": reason, "at": at}));
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.0.subscribe()
    }
}

/// The message a page gets when it fell `skipped` events behind.
fn lagged(skipped: u64) -> Utf8Bytes {
    Utf8Bytes::from(json!({"event": "lagged", "skipped": skipped}).to_string())
}

/// `GET /inspect`: upgrades a loopback peer's request to the WebSocket of
/// the tap's events.
pub(super) async fn route(
    State(tap): State<Option<Tap>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(tap) = tap else {
        let msg = "inspect is off: start spate serve with --inspect";
        return plain(StatusCode::NOT_FOUND, msg);
    };
    if !peer.ip().is_loopback() {
        return plain(StatusCode::FORBIDDEN, "inspect is local only");
    }
    let Ok(ws) = ws else {
        return plain(StatusCode::BAD_REQUEST, "a WebSocket upgrade is expected");
    };
    // Subscribed before the handshake's answer, so the page misses nothing
    // published once it is connected.
    let rx = tap.subscribe();
    debug!(%peer, "inspect: a page is listening");
    ws.max_message_size(MAX_FROM_PAGE)
        .max_frame_size(MAX_FROM_PAGE)
        .on_upgrade(move |socket| stream(socket, rx))
}

/// Sends the tap's events to one page until it goes away or the broker
/// stops.
async fn stream(mut socket: WebSocket, mut rx: broadcast::Receiver<Utf8Bytes>) {
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let text = match ev {
                    Ok(text) => text,
                    Err(broadcast::error::RecvError::Lagged(n)) => lagged(n),
                    Err(broadcast::error::RecvError::Closed) => {
                        debug!("inspect: the broker stopped");
                        return;
                    }
                };
                if socket.send(Message::Text(text)).await.is_err() {
                    debug!("inspect: the page went away");
                    return;
                }
            }
            // The WebSocket answers pings and a close itself; the page has
            // nothing else to say.
            m = socket.recv() => if let None | Some(Err(_)) = m {
                debug!("inspect: the page went away");
                return;
            },
        }
    }
}

/// A plain-text answer (the server's own errors, here and in the
/// playground's file server).
pub(super) fn plain(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page parses these; their bytes are part of the interface.
    #[test]
    fn events_keep_their_exact_json() {
        let tap = Tap::new();
        // Nothing is published while no page listens.
        tap.open(1, "127.0.0.1:1", 1);
        let mut rx = tap.subscribe();
        tap.open(7, "127.0.0.1:53122", 1732200000000);
        tap.request(7, &Bytes::from_static(&[0, 18, 0, 3]), 1732200000001);
        tap.response(
            7,
            &[
                Bytes::from_static(&[0, 0, 0, 3]),
                Bytes::from_static(&[1, 2, 3]),
            ],
            1732200000002,
        );
        tap.close(7, "closed by the client", 1732200000003);
        let got: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|m| m.as_str().to_owned())
            .collect();
        assert_eq!(
            got,
            [
                r#"{"event":"open","conn":7,"peer":"127.0.0.1:53122","at":1732200000000}"#,
                r#"{"event":"request","conn":7,"bytes":"AAAABAASAAM=","at":1732200000001}"#,
                r#"{"event":"response","conn":7,"bytes":"AAAAAwECAw==","at":1732200000002}"#,
                r#"{"event":"close","conn":7,"reason":"closed by the client","at":1732200000003}"#,
            ]
        );
        assert_eq!(lagged(12).as_str(), r#"{"event":"lagged","skipped":12}"#);
    }

    /// A PLAIN password never reaches the page, in a SaslAuthenticate
    /// request nor in a raw token after a SaslHandshake v0.
    #[test]
    fn passwords_are_masked_before_they_are_published() {
        let tap = Tap::new();
        let mut rx = tap.subscribe();
        // SaslAuthenticate v0: header (key 36, v0, id 1, client "c"), then auth_bytes.
        let token = b"\0alice\0pencil-42";
        let mut frame = vec![0, 36, 0, 0, 0, 0, 0, 1, 0, 1, b'c'];
        frame.extend_from_slice(&(token.len() as i32).to_be_bytes());
        frame.extend_from_slice(token);
        tap.request(1, &Bytes::from(frame.clone()), 1);
        tap.request(1, &Bytes::from_static(b"\0alice\0pencil-42"), 2);
        // Other requests go out as they are.
        tap.request(1, &Bytes::from_static(&[0, 18, 0, 3]), 3);
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|m| {
                let v: serde_json::Value = serde_json::from_str(m.as_str()).unwrap();
                STANDARD.decode(v["bytes"].as_str().unwrap()).unwrap()
            })
            .collect();
        assert_eq!(got.len(), 3);
        let mut want = (frame.len() as i32).to_be_bytes().to_vec();
        want.extend_from_slice(&frame[..frame.len() - 9]);
        want.extend_from_slice(b"*********");
        assert_eq!(got[0], want);
        assert_eq!(got[1][4..], *b"\0alice\0*********");
        assert_eq!(got[2], [0, 0, 0, 4, 0, 18, 0, 3]);
    }
}
