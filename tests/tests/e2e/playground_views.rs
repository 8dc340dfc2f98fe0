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

use std::process::Command;

use spate_e2e::{require, spate, workspace};

use crate::playground::{page_server, run_page, screenshots};

#[test]
fn sequence_and_compare_views_in_chromium() {
    let root = workspace();
    require("kcat");
    let server = page_server(&root, "--inspect");
    let topic = "seq-demo";
    let made = Command::new(spate())
        .args(["topic", "create", topic, "-b", &server.broker])
        .output()
        .expect("spate topic create");
    assert!(made.status.success(), "{made:?}");
    let (vectors, shots) = (root.join("core/tests/vectors"), screenshots(&root));
    run_page(
        &root,
        "views.mjs",
        &[&server.url, &vectors, &shots, &server.broker, &topic],
        &[
            "ok   sequence: JoinGroup, SyncGroup, Heartbeat arrows in order",
            "ok   sequence: clicking SyncGroup's response explains it",
            "ok   compare: the topic and v12's new field only in B",
            "ok   tree keyboard: arrows, Home/End, Enter move, open and close",
        ],
        &["12-sequence.png", "13-compare-metadata.png"],
    );
}
