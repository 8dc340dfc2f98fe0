//! `spate`'s client options for secured brokers, end to end: `-X
//! key=value` and `--command-config FILE` on the client subcommands,
//! against a `spate serve` on a free port.
//!
//! The broker these tests start listens in PLAINTEXT; TLS and SASL
//! against the broker are exercised once the broker serves them.

use std::path::PathBuf;
use std::process::Command;

use spate_e2e::{spate, Server};

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

/// Runs and requires failure; returns stderr.
fn fails(server: &Server, args: &[&str]) -> String {
    let out = server.spate(args, b"");
    assert!(
        !out.status.success(),
        "spate {args:?} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// A temporary file holding `text`, named after the test.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("spate-clisec-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn plaintext_by_property_and_by_file() {
    let server = Server::start(&[]);
    // `-X` on a subcommand, lower-case value.
    let out = ok(
        &server,
        &[
            "topic",
            "create",
            "secured",
            "--partitions",
            "2",
            "-X",
            "security.protocol=plaintext",
        ],
    );
    assert!(out.contains("created topic secured"), "{out}");

    // A Kafka-style properties file: comments, `:` separator, blank lines.
    let file = temp_file(
        "plain.properties",
        "# written as for kafka-topics.sh\n\nsecurity.protocol : PLAINTEXT\n",
    );
    let file = file.to_str().unwrap();
    let list = ok(&server, &["topic", "list", "--command-config", file]);
    assert!(list.lines().any(|l| l.starts_with("secured ")), "{list}");

    // Produce and consume through the same options, `-X` after the file.
    let out = server.spate(
        &[
            "produce",
            "secured",
            "--command-config",
            file,
            "-X",
            "security.protocol=PLAINTEXT",
        ],
        b"one\ntwo\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = ok(
        &server,
        &[
            "consume",
            "secured",
            "--from-beginning",
            "--count",
            "2",
            "--command-config",
            file,
        ],
    );
    let mut lines: Vec<&str> = got.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["one", "two"]);

    // Kafka's spelling of the bootstrap option, and the cluster
    // subcommand with a property.
    let addr = format!("127.0.0.1:{}", server.port());
    let out = Command::new(spate())
        .args(["cluster", "info", "--bootstrap-server", &addr])
        .args(["-X", "security.protocol=PLAINTEXT"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(!out.trim().is_empty());
    std::fs::remove_file(file).unwrap();
}

#[test]
fn bad_properties_are_clear_errors() {
    let server = Server::start(&[]);
    let err = fails(
        &server,
        &["topic", "list", "-X", "ssl.truststore.password=x"],
    );
    assert!(
        err.contains("unknown client property `ssl.truststore.password`"),
        "{err}"
    );
    let err = fails(&server, &["topic", "list", "-X", "security.protocol=TLS"]);
    assert!(err.contains("security.protocol `TLS`"), "{err}");
    let err = fails(&server, &["topic", "list", "-X", "no-equals-sign"]);
    assert!(err.contains("KEY=VALUE"), "{err}");
    let err = fails(
        &server,
        &[
            "topic",
            "list",
            "--command-config",
            "/nonexistent/client.properties",
        ],
    );
    assert!(
        err.contains("--command-config /nonexistent/client.properties"),
        "{err}"
    );
    let file = temp_file(
        "sasl-missing.properties",
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=alice\n",
    );
    let err = fails(
        &server,
        &["group", "list", "--command-config", file.to_str().unwrap()],
    );
    assert!(
        err.contains("SASL needs a user name and a password"),
        "{err}"
    );
    let err = fails(&server, &["topic", "list", "-X", "security.protocol=SSL"]);
    assert!(err.contains("ssl.truststore.location"), "{err}");
    std::fs::remove_file(file).unwrap();
}
