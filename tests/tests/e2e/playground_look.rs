//! The playground's visual language in a real browser
//! (`tests/playwright/look.mjs`, Debian's Chromium through playwright-core)
//! against `spate serve --playground`: the field-kind colours read from
//! the page in light and dark mode (text contrast 4.5:1 or more on each;
//! every two kinds 10 or more apart in CIEDE2000 for normal vision and
//! simulated protanopia, deuteranopia and tritanopia; an underline or
//! style per kind in the hex and the kind named in the details), and the
//! layout at 375 and 768 pixels wide (no sideways page scroll, hex over
//! tree, a hex row within its pane, every control on screen).
//! Screenshots go to `target/playground-screenshots/`.
//!
//! Needs what `playground.rs` needs (the built wasm, node with
//! `tests/playwright/node_modules`, Chromium).

use std::path::Path;
use std::process::Command;

use spate_e2e::{require, workspace};

use crate::playground::{ensure_built, serve};

#[test]
fn kind_colours_and_narrow_layouts_in_chromium() {
    let root = workspace();
    require("node");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).is_file(), "{chromium} is missing");
    ensure_built(&root);
    let server = serve(&root.join("web"), "--inspect");
    let shots = root.join("target/playground-screenshots");
    let out = Command::new("node")
        .arg(root.join("tests/playwright/look.mjs"))
        .arg(&server.url)
        .arg(root.join("core/tests/vectors"))
        .arg(&shots)
        .output()
        .expect("running node");
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "look checks failed:\n{text}");
    for mode in ["light", "dark"] {
        for vision in ["normal", "protanopia", "deuteranopia", "tritanopia"] {
            let check =
                format!("ok   {mode}: kinds differ by CIEDE2000 10 or more for {vision} vision");
            assert!(text.contains(&check), "`{check}` ran");
        }
        let check =
            format!("ok   {mode}: text on every kind's background has contrast 4.5:1 or more");
        assert!(text.contains(&check), "`{check}` ran");
    }
    for size in ["375x740", "768x1024"] {
        let check = format!("ok   {size}: no horizontal page scroll");
        assert!(text.contains(&check), "`{check}` ran");
    }
    for name in [
        "30-kinds-light.png",
        "30-kinds-dark.png",
        "31-width-375.png",
        "31-width-768.png",
    ] {
        assert!(shots.join(name).is_file(), "screenshot {name} saved");
    }
}
