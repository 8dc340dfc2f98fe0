//! `spate serve --log-format json` with the request log on
//! (`SPATE_LOG=info,spate::request=debug`): every line the broker logs is
//! a JSON object, and kcat's produce and metadata requests each show up as
//! an event on the `spate::request` target with Kafka's API name, version,
//! the client id kcat was given, a latency and sizes; a produce to a topic
//! that does not exist (auto-create off) logs UNKNOWN_TOPIC_OR_PARTITION.
//! And `--log-format bogus` is refused by the command line.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use spate_e2e::{spate, wait_until, Server, TempDir};

/// Every line of the broker's log, each parsed as JSON (a line that is
/// not JSON fails the test).
fn events(server: &Server) -> Vec<Value> {
    let text = std::fs::read_to_string(server.log_path()).expect("the broker's log");
    text.lines()
        // The last line may be half written.
        .filter(|l| l.ends_with('}'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The request events of client `client_id`.
fn requests<'a>(events: &'a [Value], client_id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["target"] == "spate::request" && e["client_id"] == client_id)
        .collect()
}

/// `kcat -b BROKER ARGS` with `stdin`.
fn kcat(server: &Server, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let all: Vec<&str> = ["-b", server.addr.as_str()]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    spate_e2e::kcat(&all, stdin)
}

#[test]
fn json_request_log_names_apis_clients_and_errors() {
    let config = TempDir::new("config");
    let props = config.0.join("server.properties");
    std::fs::write(&props, "auto.create.topics.enable=false\n").expect("writing properties");
    let mut cmd = Command::new(spate());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--memory"])
        .args(["--log-format", "json"])
        .arg(&props)
        .env("SPATE_LOG", "info,spate::request=debug");
    let server = Server::spawn(cmd);
    let created = server.spate(&["topic", "create", "logged", "--partitions", "1"], b"");
    assert!(created.status.success(), "{created:?}");

    let produced = kcat(
        &server,
        &["-P", "-t", "logged", "-X", "client.id=log-producer"],
        b"one\ntwo\nthree\n",
    );
    assert!(produced.status.success(), "{produced:?}");
    let listed = kcat(&server, &["-L", "-X", "client.id=log-lister"], b"");
    assert!(listed.status.success(), "{listed:?}");
    // librdkafka waits for a topic it does not know to appear
    // (topic.metadata.propagation.max.ms), then fails the records.
    let missing = kcat(
        &server,
        &[
            "-P",
            "-t",
            "nowhere",
            "-X",
            "client.id=log-missing",
            "-X",
            "topic.metadata.propagation.max.ms=10",
            "-X",
            "message.timeout.ms=2000",
        ],
        b"lost\n",
    );
    assert!(
        !missing.status.success(),
        "the produce to a missing topic failed"
    );

    let all = wait_until("the request events", Duration::from_secs(10), &[], || {
        let all = events(&server);
        let done = |c| !requests(&all, c).is_empty();
        (done("log-producer") && done("log-lister") && done("log-missing")).then_some(all)
    });
    // Every line is JSON with the formatter's fields at the top level.
    assert!(all
        .iter()
        .all(|e| e["level"].is_string() && e["target"].is_string()));
    assert!(
        all.iter().any(|e| e["message"] == "connection opened"),
        "ordinary events are JSON too"
    );

    let producer = requests(&all, "log-producer");
    for e in &producer {
        assert_eq!(e["message"], "completed request");
        assert_eq!(e["level"], "DEBUG");
        assert!(e["latency_us"].as_u64().is_some(), "a latency: {e}");
        assert!(e["api_version"].as_i64().is_some_and(|v| v >= 0), "{e}");
        assert!(e["conn"].as_u64().is_some(), "{e}");
        assert!(
            e["peer"]
                .as_str()
                .is_some_and(|p| p.starts_with("127.0.0.1:")),
            "{e}"
        );
        assert!(e["request_bytes"].as_u64().is_some_and(|b| b > 0), "{e}");
        assert!(e.get("error").is_none(), "no error: {e}");
    }
    let apis: Vec<&str> = producer.iter().filter_map(|e| e["api"].as_str()).collect();
    for api in ["ApiVersions", "Metadata", "Produce"] {
        assert!(apis.contains(&api), "{api} in {apis:?}");
    }
    let produce = producer
        .iter()
        .find(|e| e["api"] == "Produce")
        .expect("a Produce");
    // librdkafka speaks Produce v7 or later to a broker that offers it.
    assert!(produce["api_version"].as_i64().unwrap() >= 7, "{produce}");
    assert!(produce["response_bytes"].as_u64().unwrap() > 0, "{produce}");
    let versions = producer.iter().find(|e| e["api"] == "ApiVersions").unwrap();
    assert!(versions["api_version"].as_i64().unwrap() >= 3, "{versions}");

    let lister = requests(&all, "log-lister");
    assert!(
        lister
            .iter()
            .any(|e| e["api"] == "Metadata" && e.get("error").is_none()),
        "kcat -L's Metadata: {lister:?}"
    );

    let missing = requests(&all, "log-missing");
    assert!(
        missing
            .iter()
            .any(|e| e["error"] == "UNKNOWN_TOPIC_OR_PARTITION"),
        "the missing topic's error is logged: {missing:?}"
    );
}

#[test]
fn a_bogus_log_format_is_a_command_line_error() {
    let out = Command::new(spate())
        .args([
            "serve",
            "--memory",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "bogus",
        ])
        .output()
        .expect("spate runs");
    assert_eq!(out.status.code(), Some(2), "clap's usage error: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'bogus' for '--log-format <FORMAT>'"),
        "{err}"
    );
    assert!(err.contains("[possible values: text, json]"), "{err}");
    assert!(out.stdout.is_empty(), "nothing started: {out:?}");
}
