//! `--inspect`: every frame the broker receives and sends, streamed to the
//! playground page over a WebSocket (`ws://PLAYGROUND/inspect`), so the page
//! can annotate live traffic from kcat or kafka-python as it flows.
//!
//! Off unless `--inspect` is given, and local only: the playground must
//! listen on a loopback address, and only loopback peers may connect.
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
//! The owner loop publishes only while a page is listening, so a broker
//! with `--inspect` and no page open does no extra work beyond a check.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tracing::debug;

/// RFC 6455's fixed GUID for the handshake.
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The broker side: publishes events to every listening page.
#[derive(Debug, Clone)]
pub(crate) struct Tap(broadcast::Sender<Arc<str>>);

impl Tap {
    pub(crate) fn new() -> Tap {
        Tap(broadcast::channel(4096).0)
    }

    fn listening(&self) -> bool {
        self.0.receiver_count() > 0
    }

    fn publish(&self, v: serde_json::Value) {
        let _ = self.0.send(Arc::from(v.to_string()));
    }

    pub(crate) fn open(&self, conn: u64, peer: &str, at: i64) {
        if self.listening() {
            self.publish(json!({"event": "open", "conn": conn, "peer": peer, "at": at}));
        }
    }

    /// A request frame, given without its size prefix (the prefix is put back).
    pub(crate) fn request(&self, conn: u64, frame: &Bytes, at: i64) {
        if self.listening() {
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

    fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.0.subscribe()
    }
}

/// The `Sec-WebSocket-Accept` value for a client's key.
fn accept_key(key: &str) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(WS_GUID.as_bytes());
    STANDARD.encode(h.digest().bytes())
}

/// The value of header `name` in a request head, if present.
pub(crate) fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// One unmasked server frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= u16::MAX as usize => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Completes the handshake of an upgrade request (`head`) and streams the
/// tap's events until the page goes away.
pub(crate) async fn serve(mut stream: TcpStream, head: &str, tap: Tap) -> std::io::Result<()> {
    let Some(key) = header(head, "Sec-WebSocket-Key") else {
        let msg = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return stream.write_all(msg.as_bytes()).await;
    };
    let mut rx = tap.subscribe();
    debug!("inspect: a page is listening");
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    stream.write_all(reply.as_bytes()).await?;
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = vec![0u8; 4096];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(text) => wr.write_all(&frame(0x1, text.as_bytes())).await?,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let m = json!({"event": "lagged", "skipped": n}).to_string();
                    wr.write_all(&frame(0x1, m.as_bytes())).await?;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    debug!("inspect: the broker stopped");
                    return Ok(());
                }
            },
            n = rd.read(&mut buf) => {
                let n = n?;
                if n == 0 {
                    debug!("inspect: the page went away");
                    return Ok(());
                }
                pending.extend_from_slice(&buf[..n]);
                // Client frames: answer pings, stop at close, ignore the rest.
                while let Some((opcode, payload, used)) = client_frame(&pending) {
                    pending.drain(..used);
                    match opcode {
                        0x8 => {
                            debug!("inspect: the page closed the socket");
                            wr.write_all(&frame(0x8, &[])).await?;
                            return Ok(());
                        }
                        0x9 => wr.write_all(&frame(0xA, &payload)).await?,
                        _ => {}
                    }
                }
                if pending.len() > 1 << 20 {
                    return Ok(());
                }
            }
        }
    }
}

/// A complete masked client frame at the start of `b`: opcode, unmasked
/// payload, bytes used.
fn client_frame(b: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    if b.len() < 2 {
        return None;
    }
    let opcode = b[0] & 0x0f;
    let masked = b[1] & 0x80 != 0;
    let (len, mut at) = match b[1] & 0x7f {
        126 => (u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize, 4),
        127 => (
            u64::from_be_bytes(b.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let mask = if masked {
        let m: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(m)
    } else {
        None
    };
    let data = b.get(at..at.checked_add(len)?)?;
    let payload = match mask {
        Some(m) => data.iter().enumerate().map(|(i, x)| x ^ m[i % 4]).collect(),
        None => data.to_vec(),
    };
    Some((opcode, payload, at + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_key_matches_rfc_6455_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn client_frames_unmask_and_wait_for_all_bytes() {
        // "Hello", masked, from RFC 6455 section 5.7.
        let f = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(client_frame(&f), Some((1, b"Hello".to_vec(), 11)));
        assert_eq!(client_frame(&f[..7]), None);
        assert_eq!(frame(1, b"Hello"), [0x81, 5, b'H', b'e', b'l', b'l', b'o']);
    }

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
            .map(|m| m.to_string())
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
    }
}
