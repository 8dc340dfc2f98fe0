//! The playground page in a real browser: `spate serve --playground`
//! serves `web/`, and `tests/playwright/page.mjs` drives Debian's Chromium
//! through playwright-core against it: captured kcat, kafka-python and
//! confluent-kafka frames pasted in several text shapes, hover linking both
//! ways, send to the in-page broker, reload, malformed input, share link,
//! every gallery example, builder edits and phone width; and, with
//! `--inspect`, kcat's frames to the native broker shown live. Screenshots
//! of the main states go to `target/playground-screenshots/`.
//!
//! Needs the built wasm (`scripts/build-web`, run here when `web/pkg/` is
//! missing), node with `tests/playwright/node_modules` (`npm ci`, run here
//! when missing) and Chromium (`CHROMIUM`, default `/usr/bin/chromium`);
//! `scripts/test` installs all three.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use spate_e2e::{require, spate, workspace};

/// `spate serve --memory --playground 127.0.0.1:0 --inspect`, killed on drop.
struct Playground {
    child: std::process::Child,
    url: String,
    broker: String,
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(web: &Path) -> Playground {
    let mut child = Command::new(spate())
        .args([
            "serve",
            "--memory",
            "--listen",
            "127.0.0.1:0",
            "--playground",
            "127.0.0.1:0",
            "--inspect",
        ])
        .arg("--web-dir")
        .arg(web)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting spate serve");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let (mut url, mut broker) = (None, None);
    for _ in 0..4 {
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

fn ensure_built(root: &Path) {
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

#[test]
fn playground_page_in_chromium() {
    let root = workspace();
    require("node");
    require("kcat");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).is_file(),
        "{chromium} is missing: scripts/test installs Debian's chromium"
    );
    ensure_built(&root);
    let server = serve(&root.join("web"));
    let shots = root.join("target/playground-screenshots");
    let out = Command::new("node")
        .arg(root.join("tests/playwright/page.mjs"))
        .arg(&server.url)
        .arg(root.join("core/tests/vectors"))
        .arg(&shots)
        .arg(&server.broker)
        .output()
        .expect("running node");
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "page checks failed:\n{text}");
    assert!(text.contains("ok   gallery:"), "the gallery check ran");
    assert!(
        text.contains("ok   live: kcat's Metadata"),
        "the live traffic check ran"
    );
    assert!(
        text.contains("ok   json builder: sent"),
        "the JSON builder check ran"
    );
    for name in [
        "1-produce-explained.png",
        "1b-compressed-batch.png",
        "3-send-response-state.png",
        "5-malformed.png",
        "10-json-builder.png",
    ] {
        assert!(shots.join(name).is_file(), "screenshot {name} saved");
    }
}
