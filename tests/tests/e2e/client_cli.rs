//! The client subcommands (`topic`, `produce`, `consume`, `cluster`) end to
//! end: the built binary against a `spate serve` on a free port.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use spate_e2e::{spate, Server, TempDir};

/// Runs and requires success; returns stdout.
fn ok(server: &Server, args: &[&str]) -> String {
    let out = server.spate(args, b"");
    assert!(
        out.status.success(),
        "spate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A temporary file holding `text`, named after the test.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("spate-client-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn topic_lifecycle() {
    let server = Server::start(&[]);
    let out = ok(
        &server,
        &[
            "topic",
            "create",
            "orders",
            "--partitions",
            "3",
            "--config",
            "retention.ms=60000",
        ],
    );
    assert!(out.contains("created topic orders"), "{out}");

    let list = ok(&server, &["topic", "list"]);
    assert!(list.lines().any(|l| l.starts_with("orders ")), "{list}");
    let list: Value = serde_json::from_str(&ok(&server, &["topic", "list", "--json"])).unwrap();
    let orders = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "orders")
        .expect("orders listed");
    assert_eq!(orders["partitions"], 3);

    let text = ok(&server, &["topic", "describe", "orders"]);
    assert!(text.contains("PARTITION"), "{text}");
    let d: Value =
        serde_json::from_str(&ok(&server, &["topic", "describe", "orders", "--json"])).unwrap();
    assert_eq!(d["partitions"].as_array().unwrap().len(), 3);
    let config = |d: &Value, name: &str| {
        d["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["value"].clone())
    };
    assert_eq!(config(&d, "retention.ms"), Some(Value::from("60000")));

    ok(
        &server,
        &[
            "topic",
            "alter-config",
            "orders",
            "--set",
            "cleanup.policy=compact",
            "--delete",
            "retention.ms",
        ],
    );
    let d: Value =
        serde_json::from_str(&ok(&server, &["topic", "describe", "orders", "--json"])).unwrap();
    assert_eq!(config(&d, "cleanup.policy"), Some(Value::from("compact")));
    assert_ne!(config(&d, "retention.ms"), Some(Value::from("60000")));

    let out = ok(&server, &["topic", "delete", "orders"]);
    assert!(out.contains("deleted topic orders"), "{out}");
    let list = ok(&server, &["topic", "list"]);
    assert!(!list.lines().any(|l| l.starts_with("orders ")), "{list}");
}

#[test]
fn produce_and_consume_every_codec() {
    let server = Server::start(&[]);
    const N: usize = 10_000;
    let input: String = (0..N).map(|i| format!("key{i}\tvalue {i}\n")).collect();
    let file = temp_file("lines", &input);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("codec-{codec}");
        ok(&server, &["topic", "create", &topic, "--partitions", "4"]);
        let out = server.spate(
            &[
                "produce",
                &topic,
                "--file",
                file.to_str().unwrap(),
                "--key-separator",
                "\t",
                "--header",
                "source=test",
                "--header",
                "codec=x",
                "--compression",
                codec,
                "--batch-size",
                "35000",
            ],
            b"",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "produce {codec}: {stderr}");
        assert!(
            stderr.contains(&format!("produced {N} records")),
            "{stderr}"
        );

        let count = N.to_string();
        let out = ok(
            &server,
            &[
                "consume",
                &topic,
                "--from-beginning",
                "-n",
                &count,
                "--format",
                "%p|%o|%k|%v|%h",
            ],
        );
        let mut seen = vec![false; N];
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), N, "{codec}");
        for line in lines {
            let f: Vec<&str> = line.split('|').collect();
            assert_eq!(f.len(), 5, "{line}");
            let i: usize = f[2].strip_prefix("key").unwrap().parse().unwrap();
            assert_eq!(f[3], format!("value {i}"), "{codec}: {line}");
            assert_eq!(f[4], "source=test,codec=x", "{codec}: {line}");
            assert!(!seen[i], "{codec}: {line} twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "{codec}");
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn consume_from_an_offset_and_to_the_end() {
    let server = Server::start(&[]);
    ok(&server, &["topic", "create", "log", "--partitions", "1"]);
    let input: String = (0..20).map(|i| format!("line {i}\n")).collect();
    let out = server.spate(&["produce", "log"], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = ok(
        &server,
        &[
            "consume", "log", "--offset", "15", "-e", "--format", "%o %v",
        ],
    );
    let expected: String = (15..20).map(|i| format!("{i} line {i}\n")).collect();
    assert_eq!(out, expected);

    let out = ok(
        &server,
        &["consume", "log", "--from-beginning", "-e", "--json"],
    );
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["offset"], 0);
    assert_eq!(first["value"], "line 0");
    assert_eq!(out.lines().count(), 20);
}

#[test]
fn cluster_info_json_parses() {
    let server = Server::start(&[]);
    let info: Value = serde_json::from_str(&ok(&server, &["cluster", "info", "--json"])).unwrap();
    assert_eq!(info["brokers"].as_array().unwrap().len(), 1);
    let apis = info["api_versions"].as_array().unwrap();
    assert!(apis
        .iter()
        .any(|a| a["name"] == "Fetch" && a["client_version"].is_number()));
    let text = ok(&server, &["cluster", "info"]);
    assert!(text.contains("ApiVersions"), "{text}");
}

#[test]
fn errors_are_clear_and_fail() {
    let server = Server::start(&[]);
    for args in [
        &["consume", "missing", "-e"][..],
        &["produce", "missing"][..],
        &["topic", "describe", "missing"][..],
        &["topic", "delete", "missing"][..],
    ] {
        let out = server.spate(args, b"x\n");
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("missing")
                && (stderr.contains("does not exist") || stderr.contains("UNKNOWN_TOPIC")),
            "{args:?}: {stderr}"
        );
    }
    ok(&server, &["topic", "create", "g"]);
    // A group member reads what the group assigns: no --partition, no --offset.
    let out = server.spate(&["consume", "g", "--group", "grp", "--partition", "0"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    let out = server.spate(&["consume", "nope", "--group", "grp"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    let out = Command::new(spate())
        .args(["cluster", "info", "-b", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no broker reachable"));
}

/// A reader that goes away early (`spate topic describe t | head -1`) ends
/// the command quietly and successfully, as with Unix tools: no panic, no
/// error message. The read end of stdout is closed before spate has
/// written anything, so every first write meets a closed pipe.
#[test]
fn a_closed_stdout_ends_quietly() {
    // Not a durability test: no fsyncs, which take seconds each when the
    // disk is busy with other work.
    let server = Server::start(&["--fsync", "never"]);
    ok(&server, &["topic", "create", "piped", "--partitions", "4"]);
    let lines: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let out = server.spate(&["produce", "piped"], lines.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for args in [
        &["topic", "list"][..],
        &["topic", "list", "--json"][..],
        &["topic", "describe", "piped"][..],
        &["topic", "describe", "piped", "--json"][..],
        &["cluster", "info"][..],
        &["cluster", "info", "--json"][..],
        // Without -n or -e it would read forever: the closed pipe ends it.
        &["consume", "piped", "--from-beginning"][..],
    ] {
        let mut child = Command::new(spate())
            .args(args)
            .args(["-b", &server.addr])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting spate");
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
    }
}

/// `--batch-size` is in bytes, as Kafka's `batch.size`: no batch in the
/// log is larger, unless one record alone is, and records still go
/// together up to it.
#[test]
fn batch_size_counts_bytes() {
    let dir = TempDir::new("batch-size");
    // The segment is read back through the page cache: no fsync needed.
    let server = Server::start_in(&dir.0, &["--fsync", "never"]);
    ok(&server, &["topic", "create", "sized"]);
    let line = "v".repeat(100);
    let mut input: String = (0..200).map(|_| format!("{line}\n")).collect();
    input.push_str(&format!("{}\n", "w".repeat(3000)));
    let out = server.spate(
        &["produce", "sized", "--batch-size", "1000", "--acks", "1"],
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read(dir.0.join("sized-0/00000000000000000000.log")).unwrap();
    // Each batch: base offset (8 bytes), then its length (4 bytes).
    let (mut pos, mut sizes) = (0, Vec::new());
    while pos + 12 <= log.len() {
        let len = i32::from_be_bytes(log[pos + 8..pos + 12].try_into().unwrap()) as usize;
        sizes.push(12 + len);
        pos += 12 + len;
    }
    assert_eq!(pos, log.len(), "whole batches");
    let (last, full) = sizes.split_last().unwrap();
    assert!(*last > 3000, "the large record goes alone: {sizes:?}");
    assert!(full.iter().all(|&s| s <= 1000), "{sizes:?}");
    // A 61-byte batch header, then records of 109 bytes (a 100-byte value
    // and 9 bytes of framing): 8 fit in 1000 bytes, a 9th would not.
    assert!(
        full[..full.len() - 1].iter().all(|&s| s == 61 + 8 * 109),
        "records share batches up to the limit: {sizes:?}"
    );
    assert_eq!(full.len(), 200usize.div_ceil(8), "{sizes:?}");
}
