//! The playground's sequence and compare views in a real browser
//! (`tests/playwright/views.mjs`, Debian's Chromium through playwright-core)
//! against `spate serve --playground ... --inspect`: kcat -L and a kcat
//! consumer group drawn as a sequence diagram (JoinGroup, SyncGroup and
//! Heartbeat arrows in order, labelled; a clicked arrow explained), and two
//! frames compared field by field (kcat's Metadata v4 against librdkafka's
//! v12, the in-page broker's ApiVersions v0 and v3 answers, a Live traffic
//! frame); the field tree's WAI-ARIA keys and roles, and its text contrast
//! in dark mode. Screenshots go to `target/playground-screenshots/`.
//!
//! Needs what `playground.rs` needs (the built wasm, node with
//! `tests/playwright/node_modules`, Chromium) and kcat.

use std::path::Path;
use std::process::Command;

use spate_e2e::{require, spate, workspace};

use crate::playground::{ensure_built, serve};

#[test]
fn sequence_and_compare_views_in_chromium() {
    let root = workspace();
    require("node");
    require("kcat");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).is_file(), "{chromium} is missing");
    ensure_built(&root);
    let server = serve(&root.join("web"), "--inspect");
    let topic = "seq-demo";
    let made = Command::new(spate())
        .args(["topic", "create", topic, "-b", &server.broker])
        .output()
        .expect("spate topic create");
    assert!(made.status.success(), "{made:?}");
    let shots = root.join("target/playground-screenshots");
    let out = Command::new("node")
        .arg(root.join("tests/playwright/views.mjs"))
        .arg(&server.url)
        .arg(root.join("core/tests/vectors"))
        .arg(&shots)
        .arg(&server.broker)
        .arg(topic)
        .output()
        .expect("running node");
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "view checks failed:\n{text}");
    for check in [
        "ok   sequence: JoinGroup, SyncGroup, Heartbeat arrows in order",
        "ok   sequence: clicking SyncGroup's response explains it",
        "ok   compare: the topic and v12's new field only in B",
        "ok   tree keyboard: arrows, Home/End, Enter move, open and close",
    ] {
        assert!(text.contains(check), "`{check}` ran");
    }
    for name in ["12-sequence.png", "13-compare-metadata.png"] {
        assert!(shots.join(name).is_file(), "screenshot {name} saved");
    }
}
