//! The playground server over real TCP: [`start`] on 127.0.0.1:0 over a
//! scratch web directory, raw HTTP/1.1 requests (so paths such as
//! `/../x` reach the server unnormalised), and `/inspect` with a
//! WebSocket client.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// A scratch directory holding `web/` (the served directory) beside a
/// file that must never be served, removed on drop.
struct Site {
    root: PathBuf,
}

/// The content of `secret.txt`, beside (not inside) the web directory.
const SECRET: &str = "not for the browser";

impl Site {
    fn new(label: &str) -> Site {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "spate-playground-{label}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        let web = root.join("web");
        for (path, body) in [
            ("index.html", "<!doctype html><title>spate</title>"),
            ("style.css", "body{}"),
            ("js/app.js", "export const x = 1;"),
            ("js/data.json", "{}"),
            ("pkg/spate_wasm_bg.wasm", "\0asm"),
            ("pkg/spate_wasm.js", "export default 1;"),
            ("img/logo.svg", "<svg/>"),
            ("docs/index.html", "<p>docs</p>"),
            ("notes.txt", "plain"),
            (".hidden", SECRET),
            (".git/config", SECRET),
            ("js/.env", SECRET),
        ] {
            let p = web.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        std::fs::write(root.join("secret.txt"), SECRET).unwrap();
        Site { root }
    }

    fn web(&self) -> PathBuf {
        self.root.join("web")
    }

    async fn serve(&self, tap: Option<Tap>) -> SocketAddr {
        start("127.0.0.1:0", self.web(), tap, None).await.unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// One answer: status, headers (names lower-cased), body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `METHOD TARGET HTTP/1.1` (with `extra` header lines) on a fresh
/// connection and reads the answer to the end.
async fn request(addr: SocketAddr, method: &str, target: &str, extra: &str) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("the server closes the connection after the answer")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

async fn get(addr: SocketAddr, target: &str) -> Reply {
    request(addr, "GET", target, "").await
}

#[tokio::test]
async fn serves_index_and_files_with_their_content_types() {
    let site = Site::new("types");
    let addr = site.serve(None).await;
    for (target, ctype, body) in [
        (
            "/",
            "text/html; charset=utf-8",
            "<!doctype html><title>spate</title>",
        ),
        (
            "/index.html",
            "text/html; charset=utf-8",
            "<!doctype html><title>spate</title>",
        ),
        (
            "/index.html?v=2",
            "text/html; charset=utf-8",
            "<!doctype html><title>spate</title>",
        ),
        ("/docs/", "text/html; charset=utf-8", "<p>docs</p>"),
        ("/style.css", "text/css; charset=utf-8", "body{}"),
        (
            "/js/app.js",
            "text/javascript; charset=utf-8",
            "export const x = 1;",
        ),
        ("/js/data.json", "application/json", "{}"),
        (
            "/pkg/spate_wasm.js",
            "text/javascript; charset=utf-8",
            "export default 1;",
        ),
        ("/pkg/spate_wasm_bg.wasm", "application/wasm", "\0asm"),
        ("/img/logo.svg", "image/svg+xml", "<svg/>"),
        ("/notes.txt", "text/plain; charset=utf-8", "plain"),
    ] {
        let r = get(addr, target).await;
        assert_eq!(r.status, 200, "{target}: {r:?}");
        assert_eq!(r.header("content-type"), Some(ctype), "{target}");
        assert_eq!(r.text(), body, "{target}");
        assert_eq!(
            r.header("content-length"),
            Some(&*body.len().to_string()),
            "{target}"
        );
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{target}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{target}"
        );
    }
}

#[tokio::test]
async fn head_answers_like_get_without_the_body() {
    let site = Site::new("head");
    let addr = site.serve(None).await;
    let r = request(addr, "HEAD", "/js/app.js", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(r.header("content-length"), Some("19"));
    assert!(r.body.is_empty(), "{r:?}");
    let r = request(addr, "HEAD", "/missing.js", "").await;
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty(), "{r:?}");
}

#[tokio::test]
async fn only_get_and_head() {
    let site = Site::new("methods");
    let addr = site.serve(Some(Tap::new())).await;
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        for target in ["/", "/index.html", "/inspect", "/missing"] {
            let r = request(addr, method, target, "").await;
            assert_eq!(r.status, 405, "{method} {target}: {r:?}");
            assert_eq!(r.text(), "only GET and HEAD", "{method} {target}");
            assert_eq!(
                r.header("content-type"),
                Some("text/plain"),
                "{method} {target}"
            );
        }
    }
}

#[tokio::test]
async fn nothing_outside_the_directory_and_no_hidden_files() {
    let site = Site::new("escape");
    let addr = site.serve(None).await;
    for target in [
        "/../secret.txt",
        "/js/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/js/%2e%2e/%2e%2e/secret.txt",
        "/.%2e/secret.txt",
        "/..\\secret.txt",
        "/.hidden",
        "/%2ehidden",
        "/.git/config",
        "/%2Egit/config",
        "/js/.env",
        "/js/%2eenv",
        "/./index.html",
        "/js/../index.html",
    ] {
        let r = get(addr, target).await;
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert!(!r.text().contains(SECRET), "{target} leaked: {r:?}");
        assert_eq!(r.text(), "not found", "{target}");
        assert_eq!(r.header("content-type"), Some("text/plain"), "{target}");
    }
}

#[tokio::test]
async fn missing_files_and_directories_are_not_found() {
    let site = Site::new("missing");
    let addr = site.serve(None).await;
    for target in ["/missing.js", "/js", "/js/", "/docs", "/js/app.js/"] {
        let r = get(addr, target).await;
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert_eq!(r.text(), "not found", "{target}");
        assert_eq!(r.header("content-type"), Some("text/plain"), "{target}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{target}");
    }
    // The wasm is built: a missing file or directory under /pkg/ is just missing.
    for target in ["/pkg/spate_wasm_missing.js", "/pkg/", "/pkg"] {
        let r = get(addr, target).await;
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert_eq!(r.text(), "not found", "{target}");
    }
    // Without the wasm, anything under /pkg/ says how to build it.
    std::fs::remove_file(site.web().join(BUILT)).unwrap();
    for target in [
        "/pkg/spate_wasm_bg.wasm",
        "/pkg/spate_wasm_missing.js",
        "/pkg/",
    ] {
        let r = get(addr, target).await;
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert_eq!(
            r.text(),
            "the playground's wasm is not built yet: run scripts/build-web",
            "{target}"
        );
    }
}

#[tokio::test]
async fn inspect_is_off_without_the_flag() {
    let site = Site::new("noinspect");
    let addr = site.serve(None).await;
    let r = get(addr, "/inspect").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "inspect is off: start spate serve with --inspect");
}

#[tokio::test]
async fn inspect_wants_a_websocket_upgrade() {
    let site = Site::new("noupgrade");
    let addr = site.serve(Some(Tap::new())).await;
    let r = get(addr, "/inspect").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), "a WebSocket upgrade is expected");
    assert_eq!(r.header("content-type"), Some("text/plain"));
}

#[tokio::test]
async fn inspect_is_refused_on_a_non_loopback_address() {
    let site = Site::new("public");
    let err = start("0.0.0.0:0", site.web(), Some(Tap::new()), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "--inspect is local only: the playground must listen on a loopback address"
        ),
        "{err}"
    );
    // Without --inspect, any address will do.
    start("0.0.0.0:0", site.web(), None, None).await.unwrap();
}

/// This machine's address on its default route, if it has one that is
/// not a loopback address (no packet is sent).
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let udp = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    udp.connect("203.0.113.1:9").ok()?;
    let ip = udp.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn inspect_refuses_peers_that_are_not_loopback() {
    let Some(ip) = non_loopback_ip() else {
        eprintln!("skipped: no non-loopback address to connect from");
        return;
    };
    let site = Site::new("peer");
    // What `start` refuses, to reach the per-peer check behind it.
    let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    serve(listener, site.web(), Some(Tap::new()), None);
    let upgrade = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let r = request(SocketAddr::new(ip, port), "GET", "/inspect", upgrade).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.text(), "inspect is local only");
    // The page itself is served to anyone.
    assert_eq!(get(SocketAddr::new(ip, port), "/").await.status, 200);
}

#[tokio::test]
async fn inspect_streams_the_taps_events_over_a_websocket() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let site = Site::new("ws");
    let tap = Tap::new();
    let addr = site.serve(Some(tap.clone())).await;
    let (mut ws, answer) = tokio_tungstenite::connect_async(format!("ws://{addr}/inspect"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 101);
    // The page is listening once the server has subscribed; publish until
    // the first event arrives.
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tap.open(7, "127.0.0.1:53122", 1732200000000);
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(50), ws.next()).await {
                break m.unwrap();
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        first,
        Message::text(r#"{"event":"open","conn":7,"peer":"127.0.0.1:53122","at":1732200000000}"#)
    );
    // Drain any repeats of the open event, then the rest in order.
    tap.close(7, "closed by the client", 1732200000001);
    loop {
        let m = ws.next().await.unwrap().unwrap();
        if m != first {
            assert_eq!(
                m,
                Message::text(
                    r#"{"event":"close","conn":7,"reason":"closed by the client","at":1732200000001}"#
                )
            );
            break;
        }
    }
    // Pings are answered, and a close is acknowledged.
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));
    ws.close(None).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(m)) = ws.next().await {
            if m.is_close() {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(end, "the server answers the page's close");
}

// ---- `/console`: the page's Kafka requests relayed to a broker.

use serde_json::json;

const MAX: usize = console::MAX_REQUEST;

#[tokio::test]
async fn console_is_off_without_the_flag_and_server_json_says_so() {
    let site = Site::new("noconsole");
    let addr = site.serve(Some(Tap::new())).await;
    let r = get(addr, "/console").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "console is off: start spate serve with --console");
    let r = get(addr, "/server.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"{"inspect":true,"console":false}"#);
}

#[tokio::test]
async fn console_is_local_only() {
    let site = Site::new("consolepublic");
    let relay = || Some(Relay::new("127.0.0.1:9".into()));
    let err = start("0.0.0.0:0", site.web(), None, relay())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--console is local only: the playground must listen on a loopback"),
        "{err}"
    );
    let addr = start("127.0.0.1:0", site.web(), None, relay())
        .await
        .unwrap();
    assert_eq!(
        get(addr, "/server.json").await.text(),
        r#"{"inspect":false,"console":true}"#
    );
    let r = get(addr, "/console").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), "a WebSocket upgrade is expected");
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://evil.example\r\n";
    let r = request(addr, "GET", "/console", upgrade).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.text(), "console answers the playground's own page only");
    // A peer that is not loopback, on what `start` refuses.
    let Some(ip) = non_loopback_ip() else {
        eprintln!("skipped: no non-loopback address to connect from");
        return;
    };
    let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    serve(listener, site.web(), None, relay());
    let r = get(SocketAddr::new(ip, port), "/console").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.text(), "console is local only");
}

/// A request frame from the page's JSON, as the page builds it.
fn frame(v: serde_json::Value) -> Vec<u8> {
    spate_core::json::encode(&v).unwrap().to_vec()
}

/// The close frame that ends `ws`: its code and reason.
async fn closed_with<S>(ws: &mut S) -> (u16, String)
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("the relay closes")
        .expect("a message")
        .expect("a clean close, not a broken connection");
    match m {
        Message::Close(Some(f)) => (f.code.into(), f.reason.to_string()),
        other => panic!("expected a close, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_relays_kafka_requests_to_a_real_broker() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use spate_core::annotate::SizePrefix;
    use tokio_tungstenite::tungstenite::Message;

    let mut broker = crate::embed::Broker::start(crate::embed::BrokerConfig {
        topics: vec![crate::embed::Topic::new("console-t", 2)],
        ..Default::default()
    })
    .await
    .unwrap();
    let site = Site::new("console");
    let relay = Some(Relay::new(broker.bootstrap()));
    let addr = start("127.0.0.1:0", site.web(), None, relay).await.unwrap();
    let (mut ws, answer) = tokio_tungstenite::connect_async(format!("ws://{addr}/console"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 101);
    // Two requests in a row (the page's correlation ids), answered in order.
    let metadata = json!({"api": "Metadata", "version": 12,
        "header": {"correlation_id": 501, "client_id": "console-test"},
        "body": {"topics": [{"name": "console-t"}], "allow_auto_topic_creation": false}});
    let versions = json!({"api": "ApiVersions", "version": 3,
        "header": {"correlation_id": 502, "client_id": "console-test"},
        "body": {"client_software_name": "t", "client_software_version": "1"}});
    ws.send(Message::binary(frame(metadata))).await.unwrap();
    ws.send(Message::binary(frame(versions))).await.unwrap();
    let mut got = Vec::new();
    for (key, version) in [(3, 12), (18, 3)] {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Binary(b) = m else {
            panic!("a binary frame, not {m:?}")
        };
        got.push(spate_core::json::decode_response(&b, key, version, SizePrefix::Present).unwrap());
    }
    assert_eq!(got[0]["header"]["correlation_id"], 501);
    let topic = &got[0]["body"]["topics"][0];
    assert_eq!(topic["name"], "console-t");
    assert_eq!(topic["error_code"], 0);
    assert_eq!(topic["partitions"].as_array().unwrap().len(), 2);
    assert_eq!(got[1]["header"]["correlation_id"], 502);
    assert_eq!(got[1]["body"]["error_code"], 0);

    // A write is refused, and said why, in the close frame.
    let produce = json!({"api": "Produce", "version": 9,
        "header": {"correlation_id": 503, "client_id": "console-test"},
        "body": {"acks": -1, "timeout_ms": 1000, "topic_data": []}});
    ws.send(Message::binary(frame(produce))).await.unwrap();
    assert_eq!(
        closed_with(&mut ws).await,
        (
            1008,
            "the console only reads: Produce is not relayed".into()
        )
    );

    // Malformed messages: a clear close each, and the server goes on.
    let cases: [(Message, u16, &str); 4] = [
        (
            Message::text("hello"),
            1003,
            "binary messages only: one Kafka request frame each",
        ),
        (
            Message::binary(vec![0, 0, 0, 9, 0, 18]),
            1007,
            "the size prefix says 9 bytes follow, 2 do: one message is one frame",
        ),
        (
            Message::binary(vec![0, 0, 0, 6, 0x7f, 0x7f, 0, 0, 0, 1]),
            1007,
            "not a Kafka request: ",
        ),
        (
            Message::binary(vec![0; MAX + 1]),
            1009,
            "a request of 1048577 bytes: the console takes 1048576 at most",
        ),
    ];
    for (msg, code, reason) in cases {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/console"))
            .await
            .unwrap();
        ws.send(msg).await.unwrap();
        let (c, r) = closed_with(&mut ws).await;
        assert_eq!(c, code, "{r}");
        assert!(r.starts_with(reason), "{r:?} vs {reason:?}");
    }
    // A broker that is not there: said so at once.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = dead.local_addr().unwrap();
    drop(dead);
    let site2 = Site::new("console-dead");
    let relay = Some(Relay::new(gone.to_string()));
    let addr = start("127.0.0.1:0", site2.web(), None, relay)
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/console"))
        .await
        .unwrap();
    let (c, r) = closed_with(&mut ws).await;
    assert_eq!(c, 1011);
    assert!(
        r.starts_with(&format!("cannot reach the broker at {gone}: ")),
        "{r}"
    );
    broker.close().await.unwrap();
}
