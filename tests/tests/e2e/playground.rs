//! The playground page in a real browser: `spate serve --playground`
//! serves `web/`, and `tests/playwright/page.mjs` drives Debian's Chromium
//! through playwright-core against it: captured kcat, kafka-python and
//! confluent-kafka frames pasted in several text shapes, hover linking both
//! ways, send to the in-page broker, reload, malformed input, share link,
//! every gallery example, every gallery request sent (answered with no
//! error or the one its example is about), unreadable input clearing the
//! view, the size prefix read alike by the explainer and the in-page
//! broker, builder edits and phone width; and, with `--inspect`, kcat's
//! frames to the native broker shown live. Screenshots of the main states
//! go to `target/playground-screenshots/`. With `--console`,
//! `tests/playwright/console.mjs` checks the Console against a kcat and
//! confluent-kafka workload: offsets, a group's lag, updates and recent
//! records. Without a browser,
//! `every_gallery_request_is_answered_as_expected` sends the gallery's
//! requests to a core broker directly. `tests/playwright/guide.mjs` checks
//! the first screen (and times it) and runs every guided conversation.
//!
//! Needs the built wasm (`scripts/build-web`, run here when `web/pkg/` is
//! missing), node with `tests/playwright/node_modules` (`npm ci`, run here
//! when missing) and Chromium (`CHROMIUM`, default `/usr/bin/chromium`);
//! `scripts/test` installs all three.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use spate_core::annotate::{annotate_response_with, SizePrefix, Span, Value};
use spate_core::broker::{Broker, Config, Output, PeerInfo};
use spate_core::example::sendable::{expected, sendable_request, setup, TOPIC};
use spate_core::protocol::{ApiKey, ErrorCode, Uuid};
use spate_core::storage::MemStorage;
use spate_e2e::{require, spate, workspace};

/// `spate serve --memory --playground 127.0.0.1:0 FLAG` (`--inspect` or
/// `--console`), killed on drop.
pub(crate) struct Playground {
    child: std::process::Child,
    pub(crate) url: String,
    pub(crate) broker: String,
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn serve(web: &Path, flag: &str) -> Playground {
    let mut child = Command::new(spate())
        .args([
            "serve",
            "--memory",
            "--listen",
            "127.0.0.1:0",
            "--playground",
            "127.0.0.1:0",
            flag,
        ])
        .arg("--web-dir")
        .arg(web)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting spate serve");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let (mut url, mut broker) = (None, None);
    for _ in 0..5 {
        let mut line = String::new();
        out.read_line(&mut line).expect("reading spate's output");
        if let Some(u) = line.trim().strip_prefix("playground on ") {
            url = Some(u.to_string());
        }
        if let Some(a) = line.trim().strip_prefix("listening on ") {
            broker = Some(a.to_string());
            break;
        }
    }
    Playground {
        child,
        url: url.expect("spate serve printed `playground on URL`"),
        broker: broker.expect("spate serve printed `listening on ADDR`"),
    }
}

pub(crate) fn ensure_built(root: &Path) {
    if !root.join("web/pkg/spate_wasm_bg.wasm").is_file() {
        let ok = Command::new(root.join("scripts/build-web"))
            .status()
            .expect("running scripts/build-web")
            .success();
        assert!(ok, "scripts/build-web failed");
    }
    let tools = root.join("tests/playwright");
    if !tools.join("node_modules/playwright-core").is_dir() {
        let ok = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .status()
            .expect("running npm ci")
            .success();
        assert!(ok, "npm ci --prefix tests/playwright failed");
    }
}

/// What a page test starts from: node, Chromium (`CHROMIUM`, default
/// `/usr/bin/chromium`), the built wasm and playwright-core checked or
/// made, and `web/` served with `flag` (`--inspect` or `--console`).
pub(crate) fn page_server(root: &Path, flag: &str) -> Playground {
    require("node");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).is_file(),
        "{chromium} is missing: scripts/test installs Debian's chromium"
    );
    ensure_built(root);
    serve(&root.join("web"), flag)
}

/// Where the page tests save their screenshots.
pub(crate) fn screenshots(root: &Path) -> PathBuf {
    root.join("target/playground-screenshots")
}

/// Runs `tests/playwright/SCRIPT` with `args` and prints what it said;
/// fails unless it succeeded, printed every line of `checks` and saved
/// every screenshot in `shots`. Returns its output.
pub(crate) fn run_page(
    root: &Path,
    script: &str,
    args: &[&dyn AsRef<OsStr>],
    checks: &[&str],
    shots: &[&str],
) -> String {
    let out = Command::new("node")
        .arg(root.join("tests/playwright").join(script))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("running node");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{text}");
    for check in checks {
        assert!(text.contains(check), "`{check}` ran:\n{text}");
    }
    for name in shots {
        let shot = screenshots(root).join(name);
        assert!(shot.is_file(), "screenshot {name} saved");
    }
    text
}

#[test]
fn playground_page_in_chromium() {
    let root = workspace();
    require("kcat");
    let server = page_server(&root, "--inspect");
    let (vectors, shots) = (root.join("core/tests/vectors"), screenshots(&root));
    run_page(
        &root,
        "page.mjs",
        &[&server.url, &vectors, &shots, &server.broker],
        &[
            "ok   gallery:",
            "ok   live: kcat's Metadata",
            "ok   json builder: sent",
        ],
        &[
            "1-produce-explained.png",
            "1b-compressed-batch.png",
            "3-send-response-state.png",
            "5-malformed.png",
            "10-json-builder.png",
        ],
    );
}

/// The first screen and the guided conversations
/// (`tests/playwright/guide.mjs`): kcat's ApiVersions explained beside
/// the in-page broker's answer on a 1400x900 screen without scrolling,
/// within 500 ms of navigation (printed); every walkthrough end to end
/// against the in-page broker, each answer's errors as expected; a step
/// edited as JSON and re-sent; a response written by hand checked
/// against the broker's, the differing field named.
#[test]
fn first_screen_and_guided_conversations_in_chromium() {
    let root = workspace();
    let server = page_server(&root, "--inspect");
    let walks = ["first", "leader", "write", "read", "group", "batches"];
    let walks: Vec<String> = walks
        .iter()
        .map(|id| format!("ok   walkthrough {id}: "))
        .collect();
    let mut checks: Vec<&str> = walks.iter().map(String::as_str).collect();
    checks.push("first screen interactive after navigation:");
    checks.push("ok   your response: a wrong byte names the field");
    run_page(
        &root,
        "guide.mjs",
        &[&server.url, &screenshots(&root)],
        &checks,
        &[
            "20-first-screen.png",
            "21-walkthrough-group.png",
            "23-your-response.png",
        ],
    );
}

/// The Console against the native broker it is served by, with a
/// workload: the topic's offsets, a group's lag, both updating, and the
/// recent records (`tests/playwright/console.mjs`).
#[test]
fn console_in_chromium_against_a_workload() {
    let root = workspace();
    require("kcat");
    require("python3");
    let server = page_server(&root, "--console");
    let topic = "console-demo";
    let made = Command::new(spate())
        .args(["topic", "create", topic, "--partitions", "2", "-b"])
        .arg(&server.broker)
        .output()
        .expect("spate topic create");
    assert!(made.status.success(), "{made:?}");
    run_page(
        &root,
        "console.mjs",
        &[&server.url, &screenshots(&root), &server.broker, &topic],
        &["ok   the group with its lag"],
        &["console-1.png"],
    );
}

const T0: i64 = 1_700_000_000_000;

/// Every nonzero `error_code` in a response tree, by name, once each.
fn errors(span: &Span, out: &mut Vec<String>) {
    if span.name.ends_with("error_code") {
        if let Some(Value::Int(code)) = span.value {
            let name = ErrorCode(code as i16).name().to_string();
            if code != 0 && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    for c in &span.children {
        errors(c, out);
    }
}

/// What the broker made of one request: `ok`, the error codes, or why
/// there was no answer.
fn outcome(
    broker: &mut Broker<MemStorage>,
    now: &mut i64,
    conn: &mut u64,
    key: ApiKey,
    version: i16,
) -> String {
    // A JoinGroup parks until the rebalance delay passes: jump to deadlines.
    for _ in 0..100 {
        let mut said = None;
        while let Some(out) = broker.poll_output() {
            match out {
                Output::Response { chunks, .. } => {
                    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
                    let ann =
                        annotate_response_with(&bytes, key as i16, version, SizePrefix::Present);
                    let mut errs = Vec::new();
                    errors(&ann.root, &mut errs);
                    if let Some(e) = ann.error {
                        errs.push(format!("undecodable: {e}"));
                    }
                    said = Some(if errs.is_empty() {
                        "ok".to_string()
                    } else {
                        errs.join(",")
                    });
                }
                Output::Close { reason, .. } => {
                    said = Some(format!("closed: {reason}"));
                    *conn += 1;
                    broker.handle_connect(*conn, PeerInfo::default(), *now);
                }
                _ => {}
            }
        }
        if let Some(said) = said {
            return said;
        }
        match broker.poll_timeout() {
            Some(at) => {
                *now = (*now).max(at);
                broker.handle_timeout(*now);
            }
            None => break,
        }
    }
    "no answer".into()
}

/// The gallery's requests (`example::sendable`) in the page's order (every
/// API by key, its oldest then its newest version) against the broker the
/// page runs, each after what `sendable::setup` sends first: answered
/// with no error code, or with exactly the one `sendable::expected` names,
/// or (an API the broker does not serve) the connection closed.
/// The page test sends them through the page too; this one says quickly
/// which example went wrong.
#[test]
fn every_gallery_request_is_answered_as_expected() {
    let mut broker = Broker::new(Config::default(), MemStorage::new(), T0).unwrap();
    let (mut now, mut conn) = (T0, 1);
    broker.handle_connect(conn, PeerInfo::default(), now);
    let topic = |b: &Broker<MemStorage>| {
        b.topics()
            .into_iter()
            .find(|t| t.0 == TOPIC)
            .map(|t| (t.1, t.2))
    };
    let mut keys = ApiKey::ALL.to_vec();
    keys.sort_by_key(|&k| k as i16);
    let (mut report, mut wrong, mut sent) = (Vec::new(), 0, 0);
    for key in keys {
        let vs = key.versions();
        let versions = if vs.min == vs.max {
            vec![vs.min]
        } else {
            vec![vs.min, vs.max]
        };
        for version in versions {
            for (k, v, _) in setup(key, topic(&broker).map(|t| t.1)) {
                broker.handle_request(conn, sendable_request(k, v, 99, Uuid::ZERO).slice(4..), now);
                while broker.poll_output().is_some() {}
            }
            let id = topic(&broker).map_or(Uuid::ZERO, |t| t.0);
            let frame = sendable_request(key, version, 1, id);
            broker.handle_request(conn, frame.slice(4..), now);
            let got = outcome(&mut broker, &mut now, &mut conn, key, version);
            // An API this broker does not serve: the connection closes, as in Kafka.
            let want = if broker.serves(key) {
                expected(key, version).map_or("ok".to_string(), |(code, _)| code.name().to_string())
            } else {
                format!("closed: {} v{version} is not supported", key.name())
            };
            sent += 1;
            let mark = if got == want {
                "ok  "
            } else {
                wrong += 1;
                "FAIL"
            };
            report.push(format!(
                "{mark} {key:?} v{version}: {got} (expected {want})"
            ));
        }
    }
    let report = report.join("\n");
    println!("{report}");
    assert!(sent > 150, "{sent} requests");
    assert_eq!(wrong, 0, "{wrong} of {sent} answered otherwise:\n{report}");
}
