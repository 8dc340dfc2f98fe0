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

use spate_e2e::workspace;

use crate::playground::{page_server, run_page, screenshots};

#[test]
fn kind_colours_and_narrow_layouts_in_chromium() {
    let root = workspace();
    let server = page_server(&root, "--inspect");
    let mut checks = Vec::new();
    for mode in ["light", "dark"] {
        for vision in ["normal", "protanopia", "deuteranopia", "tritanopia"] {
            checks.push(format!(
                "ok   {mode}: kinds differ by CIEDE2000 10 or more for {vision} vision"
            ));
        }
        checks.push(format!(
            "ok   {mode}: text on every kind's background has contrast 4.5:1 or more"
        ));
    }
    for size in ["375x740", "768x1024"] {
        checks.push(format!("ok   {size}: no horizontal page scroll"));
    }
    let checks: Vec<&str> = checks.iter().map(String::as_str).collect();
    let (vectors, shots) = (root.join("core/tests/vectors"), screenshots(&root));
    run_page(
        &root,
        "look.mjs",
        &[&server.url, &vectors, &shots],
        &checks,
        &[
            "30-kinds-light.png",
            "30-kinds-dark.png",
            "31-width-375.png",
            "31-width-768.png",
        ],
    );
}
