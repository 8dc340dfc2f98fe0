//! spate-core's modules depend on each other in one direction only, bottom
//! to top:
//!
//! ```text
//! broker        connections, ordering, parking, timers, dispatch      8
//! api           one file per API                                      7
//! coordinator   the group coordinator (and later transactions)        6
//! state         metadata image, typed configs, producers, sessions    5
//! storage       the Storage trait and MemStorage                      4
//!   | security  listeners, principals, SASL, ACLs and their changes   4
//! json          frames as JSON                                        3
//! annotate      spans over every byte  |  example  example frames     2
//! records       record batches                                        1
//! protocol      wire, schemas, messages  |  input  pasted text         0
//!   | collections  the sorted Map and Set everything above keeps state in  0
//! ```
//!
//! This test reads every source file of the crate and fails when a module
//! names one of a higher layer, or another module of its own layer (both
//! would allow a cycle). Unit tests (`tests.rs` files and `#[cfg(test)]
//! mod tests { .. }` blocks) may look anywhere; comments are not code.

// Reading the sources is what this test is for; the no-I/O rule is for the
// crate itself.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module of the crate and its layer.
const LAYERS: &[(&str, u8)] = &[
    ("protocol", 0),
    ("input", 0),
    ("collections", 0),
    ("records", 1),
    ("annotate", 2),
    ("example", 2),
    ("json", 3),
    ("storage", 4),
    ("security", 4),
    ("state", 5),
    ("coordinator", 6),
    ("api", 7),
    ("broker", 8),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `src/` (`api/fetch/read.rs` is
/// `[api, fetch, read]`, `api/mod.rs` is `[api]`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// Whether a file holds only tests.
fn is_test_file(rel: &Path) -> bool {
    rel.iter().any(|c| {
        let c = c.to_string_lossy();
        c == "tests" || c == "tests.rs" || c.starts_with("tests_")
    })
}

/// The code of a file: comments and string contents dropped, the
/// `#[cfg(test)] mod tests { .. }` block at its end cut off.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            let next = lines.peek().map(|l| l.trim_start()).unwrap_or("");
            if next.starts_with("mod ") && next.trim_end().ends_with('{') {
                break;
            }
        }
        if t.starts_with("//") {
            continue;
        }
        let code = match line.find("//") {
            // A `//` inside a string is rare in imports; a URL in a string
            // only hides the rest of its own line.
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The top-level modules a piece of code names through `crate::` and
/// `super::` paths, given the module it is in.
fn named_modules(code: &str, here: &[String]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let ident = |from: usize| -> String {
        code[from..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let boundary = i == 0 || {
            let b = bytes[i - 1];
            !(b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        };
        if boundary && rest.starts_with("crate::") {
            let at = i + "crate::".len();
            if code[at..].starts_with('{') {
                found.extend(group_heads(&code[at..]));
            } else {
                found.insert(ident(at));
            }
            i = at;
            continue;
        }
        if boundary && rest.starts_with("super::") {
            let mut at = i;
            let mut ups = 0;
            while code[at..].starts_with("super::") {
                ups += 1;
                at += "super::".len();
            }
            if ups >= here.len() {
                if code[at..].starts_with('{') {
                    found.extend(group_heads(&code[at..]));
                } else {
                    found.insert(ident(at));
                }
            }
            i = at;
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

/// The first identifier of each item of a `{a::b, c, d::{e, f}}` group.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    start = true;
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                start = true;
                continue;
            }
            _ => {}
        }
        if depth == 1 && start && (c.is_ascii_alphabetic() || c == '_') {
            heads.push(
                group[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
            );
            start = false;
        } else if !c.is_whitespace() {
            start = false;
        }
    }
    heads
}

#[test]
fn core_modules_import_downward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in &files {
        let rel = path.strip_prefix(&src).expect("under src");
        if rel == Path::new("lib.rs") || is_test_file(rel) {
            continue;
        }
        let here = module_path(rel);
        let top = here[0].clone();
        let Some(own) = layer(&top) else {
            problems.push(format!(
                "{}: module `{top}` has no layer in LAYERS",
                rel.display()
            ));
            continue;
        };
        checked += 1;
        let text = std::fs::read_to_string(path).expect("read source");
        for m in named_modules(&code_of(&text), &here) {
            if m == top {
                continue;
            }
            match layer(&m) {
                None => problems.push(format!(
                    "{}: names `crate::{m}`, which has no layer",
                    rel.display()
                )),
                Some(l) if l >= own => problems.push(format!(
                    "{}: `{top}` (layer {own}) names `{m}` (layer {l})",
                    rel.display()
                )),
                Some(_) => {}
            }
        }
    }
    assert!(checked > 50, "only {checked} files checked");
    assert!(
        problems.is_empty(),
        "imports against the layers:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    let here = vec!["api".to_string(), "fetch".to_string()];
    let code = code_of(
        "use crate::broker::Broker;\n\
         // use crate::state::Nope;\n\
         use crate::{records::Batch, storage::Storage};\n\
         use super::super::coordinator::Group;\n\
         use super::Ctx;\n\
         fn f() { crate::protocol::x(); }\n\
         #[cfg(test)]\nmod tests {\n use crate::json;\n}\n",
    );
    let named = named_modules(&code, &here);
    let expect: BTreeSet<String> = ["broker", "records", "storage", "coordinator", "protocol"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(named, expect);
    assert_eq!(
        module_path(Path::new("api/fetch/read.rs")),
        ["api", "fetch", "read"]
    );
    assert_eq!(module_path(Path::new("api/mod.rs")), ["api"]);
}
