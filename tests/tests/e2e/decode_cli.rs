//! `spate decode` end to end: the built binary on a hand-made Metadata v1
//! request, on every vector captured from real clients in
//! `core/tests/vectors/`, and on malformed frames.
//!
//! The binary belongs to another package, so `CARGO_BIN_EXE_spate` does
//! not exist here; the first test to need it runs `cargo build -p spate`
//! into the same target directory and profile as this test binary.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use spate_e2e::{spate, workspace};

/// Size 30, Metadata v1, correlation id 7, client id "spate-test", one topic "demo".
const METADATA_V1: &[u8] =
    b"\x00\x00\x00\x1e\x00\x03\x00\x01\x00\x00\x00\x07\x00\x0aspate-test\x00\x00\x00\x01\x00\x04demo";

/// Size 16, correlation id 7, error_code 0, one api key: Metadata 0..=12.
const API_VERSIONS_V0_RESPONSE: &[u8] =
    b"\x00\x00\x00\x10\x00\x00\x00\x07\x00\x00\x00\x00\x00\x01\x00\x03\x00\x00\x00\x0c";

/// Runs `spate` with `args`, feeding `stdin`.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(spate())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting spate");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes as `xxd` prints them.
fn xxd(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, row) in bytes.chunks(16).enumerate() {
        let groups: Vec<String> = row.chunks(2).map(hex).collect();
        let ascii: String = row
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out += &format!("{:08x}: {:<39}  {ascii}\n", i * 16, groups.join(" "));
    }
    out
}

/// The line of the tree for the first span called `name`.
fn line<'a>(tree: &'a str, name: &str) -> &'a str {
    let needle = format!(" {name}: ");
    tree.lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no `{name}` in\n{tree}"))
}

/// Decodes `frame` as a request twice, from a hex argument and from an
/// `xxd` dump on stdin, checks both agree and succeed, and returns the tree.
fn decode_request(frame: &[u8]) -> String {
    let by_arg = run(&["decode", &hex(frame)], b"");
    let tree = text(&by_arg.stdout);
    assert!(by_arg.status.success(), "{tree}\n{}", text(&by_arg.stderr));
    let by_stdin = run(&["decode", "--verbose"], xxd(frame).as_bytes());
    assert!(by_stdin.status.success(), "{}", text(&by_stdin.stderr));
    assert_eq!(text(&by_stdin.stdout), tree);
    let note = text(&by_stdin.stderr);
    assert!(
        note.contains(&format!("xxd dump, {} bytes", frame.len())),
        "{note}"
    );
    tree
}

/// The leaves of a JSON span tree, in order.
fn leaves(span: &Value, out: &mut Vec<(u64, u64)>) {
    match span["children"].as_array() {
        Some(children) if !children.is_empty() => children.iter().for_each(|c| leaves(c, out)),
        _ => out.push((
            span["start"].as_u64().unwrap(),
            span["end"].as_u64().unwrap(),
        )),
    }
}

/// Runs `spate decode --json` and checks the leaves tile `0..frame.len()`.
fn assert_json_covers(frame: &[u8], extra: &[&str]) -> Value {
    let mut args = vec!["decode", "--json"];
    args.extend_from_slice(extra);
    let hex = hex(frame);
    args.push(&hex);
    let out = run(&args, b"");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert!(out.status.success(), "{json:#}");
    assert!(json.get("error").is_none(), "{json:#}");
    let mut spans = Vec::new();
    leaves(&json["root"], &mut spans);
    let mut at = 0;
    for (start, end) in &spans {
        assert_eq!(
            *start, at,
            "leaves {spans:?} leave a gap or overlap at byte {at}"
        );
        assert!(end >= start);
        at = *end;
    }
    assert_eq!(at, frame.len() as u64, "leaves stop at byte {at}");
    json
}

/// The api key of a request frame, skipping its size prefix when present.
fn request_key(frame: &[u8]) -> i16 {
    let size = i32::from_be_bytes(frame[..4].try_into().unwrap());
    let header = if size as usize == frame.len() - 4 {
        &frame[4..]
    } else {
        frame
    };
    i16::from_be_bytes([header[0], header[1]])
}

/// `metadata_request_v12_kafka_python.bin` → (`Metadata`, "request", 12).
fn vector_name(path: &Path) -> Option<(String, String, i16)> {
    let stem = path.file_stem()?.to_str()?;
    let (api, rest, direction) = if let Some((api, rest)) = stem.split_once("_request_v") {
        (api, rest, "request")
    } else {
        let (api, rest) = stem.split_once("_response_v")?;
        (api, rest, "response")
    };
    let version = rest.split('_').next()?.parse().ok()?;
    let camel = api
        .split('_')
        .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
        .collect();
    Some((camel, direction.into(), version))
}

fn vectors() -> Vec<PathBuf> {
    let dir = workspace().join("core/tests/vectors");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == "bin"));
    found.sort();
    if found.is_empty() {
        eprintln!(
            "no vectors in {}; only the hand-made frames are checked",
            dir.display()
        );
    }
    found
}

#[test]
fn metadata_v1_request_names_every_field() {
    let tree = decode_request(METADATA_V1);
    assert!(
        tree.starts_with(" 0..34  request: MetadataRequest v1"),
        "{tree}"
    );
    assert!(line(&tree, "size").contains("= 30"), "{tree}");
    assert!(line(&tree, "request_api_key").contains("= 3"), "{tree}");
    assert!(line(&tree, "request_api_key").ends_with("00 03"), "{tree}");
    assert!(line(&tree, "request_api_version").contains("= 1"), "{tree}");
    assert!(line(&tree, "correlation_id").contains("= 7"), "{tree}");
    assert!(tree.contains("\"spate-test\""), "{tree}");
    assert!(line(&tree, "client_id").starts_with("12..24"), "{tree}");
    assert!(line(&tree, "topics").starts_with("24..34"), "{tree}");
    assert!(tree.contains("\"demo\""), "{tree}");
}

#[test]
fn metadata_v1_request_json_leaves_cover_every_byte_once() {
    let json = assert_json_covers(METADATA_V1, &[]);
    assert_eq!(json["root"]["kind"], "MetadataRequest v1");
}

#[test]
fn the_frame_without_its_size_prefix_decodes_too() {
    let tree = decode_request(&METADATA_V1[4..]);
    assert!(
        tree.starts_with(" 0..30  request: MetadataRequest v1"),
        "{tree}"
    );
    assert!(
        line(&tree, "request_api_key").starts_with(" 0..2 "),
        "{tree}"
    );
}

#[test]
fn every_captured_vector_decodes() {
    for path in vectors() {
        let frame = std::fs::read(&path).unwrap();
        let name = path.display();
        match vector_name(&path) {
            Some((api, direction, version)) if direction == "response" => {
                let spec = format!("{api}:{version}");
                let json = assert_json_covers(&frame, &["--response", &spec]);
                assert_eq!(
                    json["root"]["kind"],
                    format!("{api}Response v{version}"),
                    "{name}"
                );
            }
            parsed => {
                let tree = decode_request(&frame);
                let key = request_key(&frame);
                let key_line = line(&tree, "request_api_key");
                assert!(key_line.contains(&format!("= {key}")), "{name}: {key_line}");
                for field in ["request_api_version", "correlation_id", "client_id"] {
                    line(&tree, field);
                }
                if let Some((api, _, version)) = parsed {
                    let kind = format!("request: {api}Request v{version}");
                    assert!(
                        tree.lines().next().unwrap().ends_with(&kind),
                        "{name}:\n{tree}"
                    );
                    if api == "Metadata" {
                        line(&tree, "topics");
                    }
                }
                assert_json_covers(&frame, &[]);
            }
        }
    }
}

#[test]
fn truncated_frames_exit_1_naming_the_byte_offset() {
    for cut in [METADATA_V1.len() - 1, 30, 20, 13, 7] {
        let frame = &METADATA_V1[..cut];
        let out = run(&["decode", &hex(frame)], b"");
        let tree = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "cut at {cut}:\n{tree}");
        assert!(
            tree.trim_start().starts_with("0.."),
            "the tree comes first:\n{tree}"
        );
        let error = tree.lines().last().unwrap();
        assert!(error.starts_with("error: "), "{tree}");

        let out = run(&["decode", "--json", &hex(frame)], b"");
        assert_eq!(out.status.code(), Some(1));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let offset = json["error"]["offset"].as_u64().expect("error.offset");
        assert!(
            offset <= cut as u64,
            "offset {offset} is past the end ({cut})"
        );
        let message = json["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&offset.to_string()),
            "`{message}` names no offset {offset}"
        );
        assert!(error.contains(message), "{error} vs {message}");
    }
}

#[test]
fn response_by_api_name_or_number() {
    let by_name = run(
        &[
            "decode",
            "--response",
            "apiversions:0",
            &hex(API_VERSIONS_V0_RESPONSE),
        ],
        b"",
    );
    let tree = text(&by_name.stdout);
    assert!(by_name.status.success(), "{tree}");
    assert!(
        tree.starts_with(" 0..20  response: ApiVersionsResponse v0"),
        "{tree}"
    );
    assert!(line(&tree, "error_code").contains("= 0"), "{tree}");
    assert!(line(&tree, "max_version").contains("= 12"), "{tree}");
    let by_number = run(
        &[
            "decode",
            "--response",
            "18:0",
            &hex(API_VERSIONS_V0_RESPONSE),
        ],
        b"",
    );
    assert_eq!(text(&by_number.stdout), tree);
    assert_json_covers(API_VERSIONS_V0_RESPONSE, &["--response", "ApiVersions:0"]);
}

#[test]
fn raw_file_and_base64_and_c_array_inputs() {
    let path = std::env::temp_dir().join(format!("spate-decode-{}.bin", std::process::id()));
    std::fs::write(&path, METADATA_V1).unwrap();
    let by_file = run(&["decode", "--file", path.to_str().unwrap()], b"");
    std::fs::remove_file(&path).unwrap();
    let expected = text(&run(&["decode", &hex(METADATA_V1)], b"").stdout);
    assert!(by_file.status.success());
    assert_eq!(text(&by_file.stdout), expected);

    let by_stdin_file = run(&["decode", "--file", "-"], METADATA_V1);
    assert_eq!(text(&by_stdin_file.stdout), expected);

    let b64 = run(
        &["decode", "-v", "-"],
        b"AAAAHgADAAEAAAAHAApzcGF0ZS10ZXN0AAAAAQAEZGVtbw==\n",
    );
    assert_eq!(text(&b64.stdout), expected);
    assert!(text(&b64.stderr).contains("base64, 34 bytes"));

    let array: Vec<String> = METADATA_V1.iter().map(|b| format!("0x{b:02x}")).collect();
    let c = run(&["decode", &format!("{{{}}}", array.join(", "))], b"");
    assert_eq!(text(&c.stdout), expected);
}

#[test]
fn unreadable_input_is_an_error_on_stderr() {
    let out = run(&["decode", "00 01 0g"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("unexpected 'g' at line 1, column 8"), "{err}");
}

/// Every span of a JSON tree that carries decoded bytes (`inner`).
fn inners<'a>(span: &'a Value, out: &mut Vec<&'a Value>) {
    if !span["inner"].is_null() {
        out.push(&span["inner"]);
    }
    for c in span["children"].as_array().into_iter().flatten() {
        inners(c, out);
    }
}

#[test]
fn compressed_vectors_show_their_records_decompressed() {
    let mut seen = Vec::new();
    for path in vectors() {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let Some(codec) = ["gzip", "snappy", "lz4", "zstd"]
            .into_iter()
            .find(|c| stem.ends_with(&format!("_{c}")))
        else {
            continue;
        };
        let frame = std::fs::read(&path).unwrap();
        let tree = decode_request(&frame);
        assert!(
            tree.contains(&format!("{codec}-decompressed records")),
            "{stem}:\n{tree}"
        );
        for i in 0..3 {
            let text = format!("(\"value-{i} compressed with {codec}\")");
            assert!(tree.contains(&text), "{stem}: no {text} in\n{tree}");
        }
        // In the JSON, the decompressed records' leaves tile their bytes.
        let json = assert_json_covers(&frame, &[]);
        let mut found = Vec::new();
        inners(&json["root"], &mut found);
        assert_eq!(found.len(), 1, "{stem}");
        let inner = found[0];
        assert!(inner.get("error").is_none(), "{stem}: {inner:#}");
        let len = inner["bytes"].as_str().unwrap().len() as u64 / 2;
        let mut spans = Vec::new();
        for s in inner["spans"].as_array().unwrap() {
            leaves(s, &mut spans);
        }
        let mut at = 0;
        for (start, end) in spans {
            assert_eq!(start, at, "{stem}: gap or overlap at {at}");
            at = end;
        }
        assert_eq!(at, len, "{stem}");
        seen.push(stem);
    }
    // The vectors are in the repository; a missing one is a failure.
    assert!(seen.len() >= 5, "compressed vectors found: {seen:?}");
}

#[test]
fn a_frame_cut_short_after_its_size_is_reported_as_cut_short() {
    // The first 6 bytes of an ApiVersions request: size 36, api key 18.
    let out = run(&["decode", "000000240012"], b"");
    let tree = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{tree}");
    assert!(line(&tree, "size").contains("= 36"), "{tree}");
    assert!(line(&tree, "request_api_key").contains("= 18"), "{tree}");
    let error = tree.lines().last().unwrap();
    assert!(
        error.starts_with(
            "error: the frame is cut short (its size prefix says 36 bytes follow, 2 do); "
        ),
        "{tree}"
    );
    assert!(!error.contains("no version 36"), "{tree}");
    // Cut inside the body, the same: the size is believed.
    let out = run(
        &[
            "decode",
            "0000001e0003000100000007000a73706174652d74657374000000010009",
        ],
        b"",
    );
    let error = text(&out.stdout).lines().last().unwrap().to_string();
    assert!(
        error.starts_with("error: the frame is cut short (its size prefix says 30 bytes follow, 26 do); string `name` at byte 30: needs 9 bytes, 0 remain"),
        "{error}"
    );
}

#[test]
fn an_unknown_api_key_reads_as_a_sentence() {
    let out = run(&["decode", "00ff00ff"], b"");
    let tree = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{tree}");
    assert_eq!(
        tree.lines().last(),
        Some("error: int16 `request_api_key` at byte 0: api key 255 is not a Kafka API"),
        "{tree}"
    );
}

#[test]
fn a_response_decoded_as_a_request_gets_a_hint() {
    let out = run(&["decode", &hex(API_VERSIONS_V0_RESPONSE)], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("if these bytes are a response, say to which request: --response API:VERSION"),
        "{err}"
    );
    // No hint where there is nothing wrong, or with --response.
    let ok = run(&["decode", &hex(METADATA_V1)], b"");
    assert!(
        ok.status.success() && ok.stderr.is_empty(),
        "{}",
        text(&ok.stderr)
    );
    let bad = run(&["decode", "--response", "ApiVersions:0", "00000001"], b"");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        !text(&bad.stderr).contains("--response"),
        "{}",
        text(&bad.stderr)
    );
}
