//! `spate transactions` end to end: the built binary against a `spate
//! serve` on a free port, with transactions made by a real transactional
//! producer (confluent-kafka, `tests/py/txn_producer.py`), one killed in the
//! middle of its transaction, and a hanging transaction: a broker verifies
//! every transactional batch with the coordinator (KIP-890), so one is made
//! by killing the producer and deleting the coordinator's log
//! (`__transaction_state`) while the broker is down: the partition keeps
//! the open transaction that no coordinator remembers.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use spate_e2e::{require, wait_until, workspace, Server, TempDir, Watched};

/// Runs `spate ARGS`, requires success; returns stdout.
fn ok(server: &Server, args: &[&str]) -> String {
    let out = server.spate(args, b"");
    assert!(
        out.status.success(),
        "spate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `spate ARGS --json`, requires success; returns the JSON.
fn json_of(server: &Server, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = ok(server, &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// Runs `spate ARGS`, requires failure; returns stderr.
fn fails(server: &Server, args: &[&str]) -> String {
    let out = server.spate(args, b"");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "spate {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// The table `spate` prints: columns padded to their widest cell, two
/// spaces apart, trailing spaces trimmed.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let s: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", s.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

const LIST: [&str; 4] = [
    "TransactionalId",
    "Coordinator",
    "ProducerId",
    "TransactionState",
];

const PRODUCERS: [&str; 6] = [
    "ProducerId",
    "ProducerEpoch",
    "LatestCoordinatorEpoch",
    "LastSequence",
    "LastTimestamp",
    "CurrentTransactionStartOffset",
];

const HANGING: [&str; 8] = [
    "Topic",
    "Partition",
    "ProducerId",
    "ProducerEpoch",
    "CoordinatorEpoch",
    "StartOffset",
    "LastTimestamp",
    "Duration(min)",
];

const DESCRIBE: [&str; 9] = [
    "CoordinatorId",
    "TransactionalId",
    "ProducerId",
    "ProducerEpoch",
    "TransactionState",
    "TransactionTimeoutMs",
    "CurrentTransactionStartTimeMs",
    "TransactionDurationMs",
    "TopicPartitions",
];

/// Cells from JSON values, strings without their quotes.
fn cells(values: &[&Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect()
}

/// The `describe-producers` table of its `--json` answer.
fn producers_table(producers: &Value) -> String {
    let rows: Vec<Vec<String>> = producers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            cells(&[
                &p["producer_id"],
                &p["producer_epoch"],
                &p["coordinator_epoch"],
                &p["last_sequence"],
                &p["last_timestamp"],
                &p["current_transaction_start_offset"],
            ])
        })
        .collect();
    table(&PRODUCERS, &rows)
}

/// A transactional producer (`tests/py/txn_producer.py`) with its
/// transaction open over `parts` (`PARTITION:COUNT`).
fn producer(server: &Server, id: &str, topic: &str, parts: &[&str]) -> Watched {
    let mut cmd = Command::new(require("python3"));
    cmd.arg(workspace().join("tests/py/txn_producer.py"))
        .args([server.addr.as_str(), id, topic])
        .args(parts);
    let p = Watched::spawn(&format!("producer {id}"), cmd);
    wait_for_line(&p, "open");
    p
}

/// Waits until `p` has printed `line`; fails at once when it has died of
/// an exception.
fn wait_for_line(p: &Watched, line: &str) {
    wait_until(line, Duration::from_secs(60), &[p], || {
        let died = p.err_lines().iter().any(|l| l.starts_with("Traceback"));
        if died {
            // The rest of the traceback.
            std::thread::sleep(Duration::from_millis(300));
        }
        assert!(!died, "{} failed:\n{}", p.name, p.transcript());
        p.lines().iter().any(|l| l == line).then_some(())
    });
}

fn now_ms() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(d.as_millis()).unwrap()
}

/// What a read_committed consumer (confluent-kafka) reads of partition 0
/// of `topic` from the start: every value until it has read `last` and
/// then `grace_secs` seconds more (to see anything it should not read
/// past it), or 30 s in all.
fn read_committed(server: &Server, topic: &str, last: &str, grace_secs: u32) -> String {
    server.python(&format!(
        r#"
import sys, time
from confluent_kafka import Consumer, TopicPartition
c = Consumer({{"bootstrap.servers": sys.argv[1], "group.id": "rc", "enable.auto.commit": False,
              "isolation.level": "read_committed"}})
c.assign([TopicPartition("{topic}", 0, 0)])
values, deadline = [], time.time() + 30
while time.time() < deadline:
    m = c.poll(0.2)
    if m is None or m.error():
        continue
    values.append(m.value().decode())
    if values[-1] == "{last}":
        deadline = min(deadline, time.time() + {grace_secs})
c.close()
print("\n".join(values))
"#
    ))
}

#[test]
fn list_describe_and_producers_follow_a_transaction() {
    let server = Server::start(&["--fsync", "never"]);
    ok(&server, &["topic", "create", "pay", "--partitions", "2"]);
    let before = now_ms();
    let mut p = producer(&server, "tx-pay", "pay", &["0:3", "1:2"]);

    let listed = json_of(&server, &["transactions", "list"]);
    let pid = listed[0]["producer_id"].clone();
    assert!(pid.as_i64().is_some_and(|p| p >= 0), "{listed}");
    let row = |state: &str| json!({"transactional_id": "tx-pay", "coordinator": 1, "producer_id": pid, "state": state});
    assert_eq!(listed, json!([row("Ongoing")]));
    let ongoing = table(
        &LIST,
        &[cells(&[
            &json!("tx-pay"),
            &json!(1),
            &pid,
            &json!("Ongoing"),
        ])],
    );
    assert_eq!(ok(&server, &["transactions", "list"]), ongoing);
    let args = [
        "transactions",
        "list",
        "--state",
        "Ongoing",
        "--duration-ms",
        "0",
    ];
    assert_eq!(ok(&server, &args), ongoing);
    let args = ["transactions", "list", "--producer-id", &pid.to_string()];
    assert_eq!(ok(&server, &args), ongoing);
    let empty = table(&LIST, &[]);
    let args = ["transactions", "list", "--state", "CompleteCommit"];
    assert_eq!(ok(&server, &args), empty);
    let args = ["transactions", "list", "--duration-ms", "3600000"];
    assert_eq!(ok(&server, &args), empty);

    let d = json_of(&server, &["transactions", "describe", "tx-pay"]);
    let start = d["transaction_start_time_ms"].as_i64().unwrap();
    assert!(start >= before - 1000 && start <= now_ms(), "{d}");
    assert!(d["transaction_duration_ms"].as_i64().unwrap() >= 0, "{d}");
    assert_eq!(
        [
            &d["coordinator_id"],
            &d["transactional_id"],
            &d["producer_id"]
        ],
        [&json!(1), &json!("tx-pay"), &pid]
    );
    assert_eq!(d["producer_epoch"], 0, "{d}");
    assert_eq!(d["state"], "Ongoing", "{d}");
    assert_eq!(d["transaction_timeout_ms"], 300_000, "{d}");
    let parts = json!([{"topic": "pay", "partition": 0}, {"topic": "pay", "partition": 1}]);
    assert_eq!(d["topic_partitions"], parts, "{d}");
    let text = ok(&server, &["transactions", "describe", "tx-pay"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), DESCRIBE);
    let f: Vec<&str> = lines[1].split_whitespace().collect();
    let start = start.to_string();
    let fixed = [&f[..7], &f[8..]].concat();
    let pid_text = pid.to_string();
    let expected = [
        "1",
        "tx-pay",
        &pid_text,
        "0",
        "Ongoing",
        "300000",
        &start,
        "pay-0,pay-1",
    ];
    assert_eq!(fixed, expected, "{text}");
    assert!(f[7].parse::<u64>().is_ok(), "{text}");

    // Partition 0 has 3 records (sequences 0..=2), partition 1 has 2, both
    // in a transaction that starts at offset 0.
    for (partition, last_sequence) in [("0", 2), ("1", 1)] {
        let args = ["transactions", "describe-producers", "pay", partition];
        let ps = json_of(&server, &args);
        let ts = ps[0]["last_timestamp"].as_i64().unwrap();
        assert!(ts >= before - 1000 && ts <= now_ms(), "{ps}");
        let expected = json!([{"producer_id": pid, "producer_epoch": 0, "coordinator_epoch": -1,
            "last_sequence": last_sequence, "last_timestamp": ts,
            "current_transaction_start_offset": 0}]);
        assert_eq!(ps, expected);
        assert_eq!(ok(&server, &args), producers_table(&ps));
    }

    p.send_line("commit");
    wait_for_line(&p, "committed");

    assert_eq!(
        json_of(&server, &["transactions", "list"]),
        json!([row("CompleteCommit")])
    );
    let done = table(
        &LIST,
        &[cells(&[
            &json!("tx-pay"),
            &json!(1),
            &pid,
            &json!("CompleteCommit"),
        ])],
    );
    assert_eq!(ok(&server, &["transactions", "list"]), done);
    let args = ["transactions", "list", "--state", "Ongoing"];
    assert_eq!(ok(&server, &args), empty);
    let d = json_of(&server, &["transactions", "describe", "tx-pay"]);
    assert_eq!(d["state"], "CompleteCommit", "{d}");
    assert_eq!(d["topic_partitions"], json!([]), "{d}");
    for partition in ["0", "1"] {
        let args = ["transactions", "describe-producers", "pay", partition];
        let ps = json_of(&server, &args);
        assert_eq!(ps[0]["producer_id"], pid, "{ps}");
        assert_eq!(ps[0]["current_transaction_start_offset"], -1, "{ps}");
        assert!(ps[0]["coordinator_epoch"].as_i64() >= Some(0), "{ps}");
        assert_eq!(ok(&server, &args), producers_table(&ps));
    }

    let stderr = fails(&server, &["transactions", "describe", "nobody"]);
    assert!(stderr.contains("TRANSACTIONAL_ID_NOT_FOUND"), "{stderr}");
    let stderr = fails(
        &server,
        &["transactions", "describe-producers", "missing", "0"],
    );
    assert!(
        stderr.contains("`missing` does not exist: UNKNOWN_TOPIC_OR_PARTITION"),
        "{stderr}"
    );
    let stderr = fails(&server, &["transactions", "describe-producers", "pay", "7"]);
    assert!(
        stderr.contains("pay-7 does not exist: UNKNOWN_TOPIC_OR_PARTITION"),
        "{stderr}"
    );
    p.close_stdin();
    p.wait_exit(Duration::from_secs(30));
}

#[test]
fn abort_by_start_offset_ends_a_dead_producers_transaction() {
    let server = Server::start(&["--fsync", "never"]);
    ok(&server, &["topic", "create", "stuck"]);
    let out = server.spate(&["produce", "stuck"], b"before\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Offsets 1 and 2, then the producer dies with its transaction open.
    let mut p = producer(&server, "tx-dead", "stuck", &["0:2"]);
    p.kill9();
    let out = server.spate(&["produce", "stuck"], b"after\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read_committed(&server, "stuck", "before", 2), "before\n");

    let ps = json_of(
        &server,
        &["transactions", "describe-producers", "stuck", "0"],
    );
    let open: Vec<&Value> = ps
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["current_transaction_start_offset"] != -1)
        .collect();
    assert_eq!(open.len(), 1, "{ps}");
    assert_eq!(open[0]["current_transaction_start_offset"], 1, "{ps}");
    let pid = open[0]["producer_id"].clone();
    // Its coordinator still expects to end it: not hanging.
    let args = [
        "transactions",
        "find-hanging",
        "--topic",
        "stuck",
        "--max-transaction-timeout-ms",
        "0",
    ];
    assert_eq!(ok(&server, &args), table(&HANGING, &[]));

    let abort = [
        "transactions",
        "abort",
        "--topic",
        "stuck",
        "--partition",
        "0",
        "--start-offset",
    ];
    let stderr = fails(&server, &[&abort[..], &["2"]].concat());
    assert!(
        stderr.contains("no open transaction starts at offset 2 on stuck-0"),
        "{stderr}"
    );
    let out = ok(&server, &[&abort[..], &["1"]].concat());
    let expected = format!(
        "aborted the transaction of producer {pid} (epoch 0) on stuck-0 with coordinator epoch 0\n"
    );
    assert_eq!(out, expected);

    let ps = json_of(
        &server,
        &["transactions", "describe-producers", "stuck", "0"],
    );
    let mine = ps
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["producer_id"] == pid);
    assert_eq!(
        mine.map(|p| &p["current_transaction_start_offset"]),
        Some(&json!(-1)),
        "{ps}"
    );
    assert_eq!(
        read_committed(&server, "stuck", "after", 0),
        "before\nafter\n"
    );
}

/// Removes the transaction coordinator's log (`__transaction_state-*`)
/// from a stopped broker's data directory: its transactions are forgotten
/// while the partitions keep their open ones.
fn forget_transactions(dir: &std::path::Path) {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("__transaction_state-") {
            std::fs::remove_dir_all(&path).unwrap();
            removed += 1;
        }
    }
    assert!(
        removed > 0,
        "no __transaction_state log in {}",
        dir.display()
    );
}

#[test]
fn find_hanging_reports_what_no_coordinator_will_end() {
    let dir = TempDir::new("txn-hanging");
    let server = Server::start_in(&dir.0, &["--fsync", "never"]);
    ok(&server, &["topic", "create", "h", "--partitions", "2"]);
    let mut lost = producer(&server, "tx-lost", "h", &["1:2"]);
    lost.kill9();
    assert!(server.terminate(), "a clean shutdown");
    forget_transactions(&dir.0);
    let server = Server::start_in(&dir.0, &["--fsync", "never"]);
    let ps = json_of(&server, &["transactions", "describe-producers", "h", "1"]);
    assert_eq!(ps[0]["current_transaction_start_offset"], 0, "{ps}");
    let (pid, epoch) = (
        ps[0]["producer_id"].clone(),
        ps[0]["producer_epoch"].clone(),
    );

    let mut live = producer(&server, "tx-live", "h", &["0:1"]);
    let hang = |extra: &[&str]| {
        let args = [&["transactions", "find-hanging"][..], extra].concat();
        ok(&server, &args)
    };
    let none = table(&HANGING, &[]);
    let no_timeout = ["--max-transaction-timeout-ms", "0"];
    let found = json_of(
        &server,
        &[
            &["transactions", "find-hanging", "--topic", "h"][..],
            &no_timeout,
        ]
        .concat(),
    );
    let ts = found[0]["last_timestamp"].clone();
    let duration = found[0]["duration_ms"].as_i64().unwrap();
    assert!((0..600_000).contains(&duration), "{found}");
    // tx-live's open transaction on h-0 is known to its coordinator.
    let expected = json!([{"topic": "h", "partition": 1, "producer_id": pid,
        "producer_epoch": epoch, "coordinator_epoch": -1, "start_offset": 0,
        "last_timestamp": ts, "duration_ms": duration, "transactional_id": null}]);
    assert_eq!(found, expected);
    let row = cells(&[
        &json!("h"),
        &json!(1),
        &pid,
        &epoch,
        &json!(-1),
        &json!(0),
        &ts,
        &json!(duration / 60_000),
    ]);
    let one = table(&HANGING, &[row]);
    assert_eq!(hang(&[&["--topic", "h"][..], &no_timeout].concat()), one);
    assert_eq!(
        hang(&[&["--topic", "h", "--partition", "1"][..], &no_timeout].concat()),
        one
    );
    // Every topic is searched without --topic.
    assert_eq!(hang(&no_timeout), one);
    assert_eq!(
        hang(&[&["--topic", "h", "--partition", "0"][..], &no_timeout].concat()),
        none
    );
    // Younger than the largest transaction timeout: it may still end.
    assert_eq!(hang(&["--topic", "h"]), none);

    // The producer named directly; its coordinator epoch -1 is sent as 0.
    let (pid_s, epoch_s) = (pid.to_string(), epoch.to_string());
    let args = [
        "transactions",
        "abort",
        "--topic",
        "h",
        "--partition",
        "1",
        "--producer-id",
        &pid_s,
        "--producer-epoch",
        &epoch_s,
        "--coordinator-epoch",
        "-1",
    ];
    let out = ok(&server, &args);
    let expected = format!("aborted the transaction of producer {pid} (epoch {epoch}) on h-1 with coordinator epoch 0\n");
    assert_eq!(out, expected);
    assert_eq!(hang(&[&["--topic", "h"][..], &no_timeout].concat()), none);

    live.send_line("commit");
    wait_for_line(&live, "committed");
    live.close_stdin();
    live.wait_exit(Duration::from_secs(30));
}
