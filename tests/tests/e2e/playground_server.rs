//! `spate serve --playground` as a process, without a browser: the lines
//! it prints, its warnings when the page is not there or not built, the
//! refusal of `--inspect` on a non-loopback address, and `/inspect`'s
//! events while a Kafka client talks to the broker.
//!
//! The HTTP rules (methods, paths, content types) are unit tests over TCP
//! in `native/src/serve/playground/over_tcp.rs`; the page in Chromium is
//! `playground.rs`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use spate_e2e::{spate, wait_until, TempDir, Watched};

/// `spate serve --memory --listen 127.0.0.1:0 ARGS...`, watched.
fn serve(args: &[&str]) -> Watched {
    let mut cmd = Command::new(spate());
    cmd.args(["serve", "--memory", "--listen", "127.0.0.1:0"])
        .args(args);
    Watched::spawn("spate serve", cmd)
}

/// The text after `prefix` on the first stdout line that starts with it.
fn printed(p: &Watched, prefix: &str) -> String {
    wait_until(
        &format!("`{prefix}...` on stdout"),
        Duration::from_secs(30),
        &[p],
        || {
            p.lines()
                .iter()
                .find_map(|l| l.strip_prefix(prefix).map(str::to_string))
        },
    )
}

/// A web directory with an index.html and, when `built`, the wasm.
fn web_dir(built: bool) -> TempDir {
    let dir = TempDir::new("web");
    std::fs::write(dir.0.join("index.html"), "<!doctype html>").expect("index.html");
    if built {
        std::fs::create_dir_all(dir.0.join("pkg")).expect("pkg/");
        std::fs::write(dir.0.join("pkg/spate_wasm_bg.wasm"), "\0asm").expect("wasm");
    }
    dir
}

#[test]
fn prints_its_addresses_and_says_when_the_wasm_is_not_built() {
    let dir = web_dir(false);
    let web = dir.0.to_string_lossy().into_owned();
    let p = serve(&[
        "--playground",
        "127.0.0.1:0",
        "--web-dir",
        &web,
        "--inspect",
    ]);
    let url = printed(&p, "playground on ");
    let ws = printed(&p, "inspect on ");
    printed(&p, "listening on ");
    let host = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix('/'))
        .unwrap_or_else(|| panic!("`playground on {url}`"));
    assert!(host.starts_with("127.0.0.1:"), "{url}");
    assert_eq!(ws, format!("ws://{host}/inspect"));
    let wasm = dir.0.join("pkg/spate_wasm_bg.wasm");
    let want = format!(
        "playground NOT BUILT: {} is missing; run scripts/build-web",
        wasm.display()
    );
    wait_until(
        "the NOT BUILT warning",
        Duration::from_secs(10),
        &[&p],
        || p.err_lines().contains(&want).then_some(()),
    );
}

#[test]
fn warns_without_index_html_and_is_quiet_when_built() {
    let empty = TempDir::new("noweb");
    let web = empty.0.to_string_lossy().into_owned();
    let p = serve(&["--playground", "127.0.0.1:0", "--web-dir", &web]);
    printed(&p, "listening on ");
    wait_until(
        "the no-index.html warning",
        Duration::from_secs(10),
        &[&p],
        || {
            p.err_lines()
                .iter()
                .any(|l| l.contains("playground: no index.html here (use --web-dir)"))
                .then_some(())
        },
    );
    let built = web_dir(true);
    let web = built.0.to_string_lossy().into_owned();
    let p = serve(&["--playground", "127.0.0.1:0", "--web-dir", &web]);
    printed(&p, "listening on ");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !p.err_lines().iter().any(|l| l.contains("NOT BUILT")),
        "{}",
        p.transcript()
    );
}

#[test]
fn inspect_is_refused_on_a_non_loopback_address() {
    let mut p = serve(&["--playground", "0.0.0.0:0", "--inspect"]);
    let status = p
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("spate serve kept running\n{}", p.transcript()));
    assert!(!status.success(), "{}", p.transcript());
    assert!(
        p.err_lines().iter().any(|l| l
            .contains("--inspect is local only: the playground must listen on a loopback address")),
        "{}",
        p.transcript()
    );
    assert!(
        !p.lines().iter().any(|l| l.starts_with("inspect on ")),
        "{}",
        p.transcript()
    );
}

/// Reads the next text message, as JSON.
fn next_event(ws: &mut tungstenite::WebSocket<TcpStream>) -> (String, serde_json::Value) {
    loop {
        match ws.read().expect("an /inspect message") {
            tungstenite::Message::Text(t) => {
                let v = serde_json::from_str(t.as_str()).expect("JSON");
                return (t.to_string(), v);
            }
            tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => {}
            other => panic!("unexpected message {other:?}"),
        }
    }
}

#[test]
fn inspect_shows_a_kafka_client_connecting_and_its_frames() {
    let dir = web_dir(true);
    let web = dir.0.to_string_lossy().into_owned();
    let p = serve(&[
        "--playground",
        "127.0.0.1:0",
        "--web-dir",
        &web,
        "--inspect",
    ]);
    let ws_url = printed(&p, "inspect on ");
    let broker = printed(&p, "listening on ");
    let host = ws_url
        .strip_prefix("ws://")
        .and_then(|u| u.strip_suffix("/inspect"))
        .expect("ws://HOST:PORT/inspect");
    let tcp = TcpStream::connect(host).expect("connecting to the playground");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut ws, answer) = tungstenite::client(ws_url.as_str(), tcp).expect("WebSocket handshake");
    assert_eq!(answer.status(), 101);

    // A Kafka client: ApiVersions v0 with correlation id 42, client id "t".
    let mut kafka = TcpStream::connect(&broker).expect("connecting to the broker");
    kafka
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = [0, 18, 0, 0, 0, 0, 0, 42, 0, 1, b't'];
    let mut request = (body.len() as i32).to_be_bytes().to_vec();
    request.extend_from_slice(&body);
    kafka.write_all(&request).unwrap();
    let mut size = [0u8; 4];
    kafka.read_exact(&mut size).unwrap();
    let mut response = size.to_vec();
    response.resize(4 + i32::from_be_bytes(size) as usize, 0);
    kafka.read_exact(&mut response[4..]).unwrap();
    assert_eq!(response[4..8], 42i32.to_be_bytes(), "correlation id");

    let (raw, open) = next_event(&mut ws);
    assert!(raw.starts_with(r#"{"event":"open","conn":"#), "{raw}");
    assert_eq!(
        open["peer"],
        kafka.local_addr().unwrap().to_string().as_str(),
        "{raw}"
    );
    assert!(open["at"].as_i64().is_some_and(|t| t > 0), "{raw}");
    let conn = open["conn"].clone();
    let (raw, req) = next_event(&mut ws);
    assert!(raw.starts_with(r#"{"event":"request","conn":"#), "{raw}");
    assert_eq!(req["conn"], conn);
    assert_eq!(req["bytes"], STANDARD.encode(&request).as_str());
    let (raw, resp) = next_event(&mut ws);
    assert!(raw.starts_with(r#"{"event":"response","conn":"#), "{raw}");
    assert_eq!(resp["conn"], conn);
    assert_eq!(resp["bytes"], STANDARD.encode(&response).as_str());

    drop(kafka);
    let (raw, close) = next_event(&mut ws);
    assert!(raw.starts_with(r#"{"event":"close","conn":"#), "{raw}");
    assert_eq!(close["conn"], conn);
    assert_eq!(close["reason"], "closed by the client");
    ws.close(None).unwrap();
}

/// A SaslAuthenticate request with a PLAIN token reaches the page with its
/// password masked: the page gets the frame, never the password. (The
/// broker's answer to it is not this test's business: only what the page
/// receives is.)
#[test]
fn inspect_never_shows_a_sasl_password() {
    let dir = web_dir(true);
    let web = dir.0.to_string_lossy().into_owned();
    let p = serve(&[
        "--playground",
        "127.0.0.1:0",
        "--web-dir",
        &web,
        "--inspect",
    ]);
    let ws_url = printed(&p, "inspect on ");
    let broker = printed(&p, "listening on ");
    let host = ws_url
        .strip_prefix("ws://")
        .and_then(|u| u.strip_suffix("/inspect"))
        .expect("ws://HOST:PORT/inspect");
    let tcp = TcpStream::connect(host).expect("connecting to the playground");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut ws, _) = tungstenite::client(ws_url.as_str(), tcp).expect("WebSocket handshake");

    // SaslAuthenticate v0, correlation id 9, client id "t", auth_bytes
    // "\0alice\0pencil-secret".
    let token = b"\0alice\0pencil-secret";
    let mut body = vec![0, 36, 0, 0, 0, 0, 0, 9, 0, 1, b't'];
    body.extend_from_slice(&(token.len() as i32).to_be_bytes());
    body.extend_from_slice(token);
    let mut request = (body.len() as i32).to_be_bytes().to_vec();
    request.extend_from_slice(&body);
    let mut kafka = TcpStream::connect(&broker).expect("connecting to the broker");
    kafka.write_all(&request).unwrap();

    let (raw, _) = next_event(&mut ws);
    assert!(raw.starts_with(r#"{"event":"open","conn":"#), "{raw}");
    let (raw, req) = next_event(&mut ws);
    assert!(raw.starts_with(r#"{"event":"request","conn":"#), "{raw}");
    assert!(!raw.contains("pencil"), "{raw}");
    let got = STANDARD
        .decode(req["bytes"].as_str().expect("bytes"))
        .expect("base64");
    let mut want = request.clone();
    let n = want.len();
    want[n - "pencil-secret".len()..].fill(b'*');
    assert_eq!(got, want, "the frame, its password masked");
    assert!(!got.windows(6).any(|w| w == b"pencil"));
    drop(kafka);
    ws.close(None).unwrap();
}
