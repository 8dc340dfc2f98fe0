//! `spate serve --metrics`: a scrape after a known workload (kcat produces
//! records one request each, a confluent-kafka consumer group commits
//! part of them) has the exact counts, sizes and lag, parsed by
//! `prometheus_client`'s text parser; and every series the Grafana
//! dashboard (`dashboards/spate.json`) queries is in that scrape.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use spate_e2e::{free_port, require, workspace, Server, TempDir};

/// Scrapes `URL`, retrying while the server starts, and prints every
/// sample as JSON `[name, {labels}, value]` after parsing the text with
/// the Prometheus client's own parser (it raises on malformed text).
const SCRAPE: &str = r#"
import json, sys, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
url = sys.argv[1]
for _ in range(200):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            ctype = r.headers.get("Content-Type")
            text = r.read().decode()
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("no answer from " + url)
assert ctype.startswith("text/plain; version=0.0.4"), ctype
out = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;

/// A consumer of group `metered` that reads every record of partition 0
/// of the topic and commits offset `COMMIT`, then leaves.
const CONSUME: &str = r#"
import sys
from confluent_kafka import Consumer, TopicPartition
addr, topic, want, commit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Consumer({"bootstrap.servers": addr, "group.id": "metered",
              "enable.auto.commit": False, "auto.offset.reset": "earliest"})
c.subscribe([topic])
got = 0
for _ in range(300):
    m = c.poll(0.2)
    if m is not None and m.error() is None:
        got += 1
    if got == want:
        break
assert got == want, got
c.commit(offsets=[TopicPartition(topic, 0, commit)], asynchronous=False)
c.close()
"#;

type Samples = Vec<(String, BTreeMap<String, String>, f64)>;

fn scrape(url: &str) -> Samples {
    let out = Command::new(require("python3"))
        .args(["-c", SCRAPE, url])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "scrape failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<(String, BTreeMap<String, String>, f64)> =
        serde_json::from_slice(&out.stdout).expect("the scrape as JSON");
    rows
}

/// The value of the sample `name` whose labels are exactly `labels`.
fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == want)
        .map(|s| s.2)
}

/// The sum of every sample `name` whose labels include `labels`.
fn sum(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
        .sum()
}

#[test]
fn scrape_after_a_known_workload_has_exact_counts_and_lag() {
    let port = free_port();
    let metrics = format!("127.0.0.1:{port}");
    let (data, config) = (TempDir::new("data"), TempDir::new("config"));
    let props = config.0.join("server.properties");
    std::fs::write(
        &props,
        "group.initial.rebalance.delay.ms=0\noffsets.topic.num.partitions=1\n",
    )
    .expect("writing server.properties");
    let props = props.to_string_lossy().into_owned();
    let server = Server::start_in(&data.0, &[&props, "--metrics", &metrics]);
    let url = format!("http://{metrics}/metrics");
    let before = scrape(&url);
    assert_eq!(
        value(
            &before,
            "kafka_server_brokertopicmetrics_messagesin_total",
            &[]
        ),
        Some(0.0)
    );
    let out = server.spate(&["topic", "create", "metered", "--partitions", "1"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // kcat: ten records, one batch and so one Produce request each.
    const N: usize = 10;
    let records: String = (0..N).map(|i| format!("record-{i:02}\n")).collect();
    let mut kcat = Command::new(require("kcat"))
        .args(["-b", &server.addr, "-P", "-t", "metered", "-p", "0"])
        .args(["-X", "batch.num.messages=1", "-X", "linger.ms=0"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat starts");
    kcat.stdin
        .take()
        .expect("stdin")
        .write_all(records.as_bytes())
        .expect("feeding kcat");
    assert!(kcat.wait().expect("kcat runs").success());

    // A group reads all ten and commits four.
    let out = Command::new(require("python3"))
        .args(["-c", CONSUME, &server.addr, "metered", "10", "4"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let after = scrape(&url);
    let topic = [("topic", "metered")];
    let log = std::fs::metadata(data.0.join("metered-0").join("00000000000000000000.log"))
        .expect("the partition's log")
        .len() as f64;
    let got = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in the scrape"))
    };
    assert_eq!(
        got("kafka_server_brokertopicmetrics_messagesin_total", &topic),
        N as f64
    );
    assert_eq!(
        got("kafka_server_brokertopicmetrics_messagesin_total", &[]),
        N as f64,
        "offset commits are not produced records"
    );
    // The batches are stored as they came: bytes in is the log's size,
    // and the consumer read each once.
    assert_eq!(
        got("kafka_server_brokertopicmetrics_bytesin_total", &topic),
        log
    );
    assert_eq!(
        got("kafka_server_brokertopicmetrics_bytesout_total", &topic),
        log
    );
    assert_eq!(
        got(
            "kafka_log_log_size",
            &[("topic", "metered"), ("partition", "0")]
        ),
        log
    );
    let requests = "kafka_network_requestmetrics_requests_total";
    assert_eq!(sum(&after, requests, &[("request", "Produce")]), N as f64);
    assert!(sum(&after, requests, &[("request", "FetchConsumer")]) >= 1.0);
    assert_eq!(sum(&after, requests, &[("request", "FetchFollower")]), 0.0);
    assert_eq!(sum(&after, requests, &[("request", "OffsetCommit")]), 1.0);
    // Every completed request was timed.
    let times = "kafka_network_requestmetrics_totaltimems";
    let names: BTreeSet<&str> = after
        .iter()
        .filter(|(n, _, _)| n == requests)
        .map(|(_, l, _)| l["request"].as_str())
        .collect();
    assert!(names.contains("Metadata") && names.contains("ApiVersions"));
    for name in names {
        let count = got(&format!("{times}_count"), &[("request", name)]);
        assert_eq!(count, sum(&after, requests, &[("request", name)]), "{name}");
        assert_eq!(
            got(
                &format!("{times}_bucket"),
                &[("request", name), ("le", "+Inf")]
            ),
            count
        );
        assert!(got(&format!("{times}_sum"), &[("request", name)]) >= 0.0);
    }
    // Lag as kafka-lag-exporter and Burrow compute it: log end minus
    // the committed offset.
    let at = [
        ("group", "metered"),
        ("topic", "metered"),
        ("partition", "0"),
    ];
    assert_eq!(got("kafka_consumergroup_group_offset", &at), 4.0);
    assert_eq!(got("kafka_consumergroup_group_lag", &at), (N - 4) as f64);
    assert_eq!(
        got(
            "kafka_coordinator_group_groupmetadatamanager_numgroups",
            &[]
        ),
        1.0
    );
    assert_eq!(
        got(
            "kafka_coordinator_group_groupmetadatamanager_numgroupsempty",
            &[]
        ),
        1.0
    );
    assert_eq!(
        got("kafka_server_replicamanager_underreplicatedpartitions", &[]),
        0.0
    );
    assert_eq!(
        got(
            "kafka_controller_kafkacontroller_activecontrollercount",
            &[]
        ),
        1.0
    );
    assert_eq!(
        got(
            "kafka_controller_kafkacontroller_offlinepartitionscount",
            &[]
        ),
        0.0
    );
    assert!(
        got(
            "kafka_server_socket_server_metrics_connection_count",
            &[("listener", "PLAINTEXT")]
        ) >= 0.0
    );
    for op in ["Produce", "Fetch"] {
        got(
            "kafka_server_delayedoperationpurgatory_purgatorysize",
            &[("delayedOperation", op)],
        );
    }

    // The dashboard queries only series this scrape has.
    let names: BTreeSet<&str> = after.iter().map(|(n, _, _)| n.as_str()).collect();
    let queried = dashboard_series();
    assert!(queried.len() >= 8, "{queried:?}");
    for s in &queried {
        assert!(
            names.contains(s.as_str()),
            "the dashboard queries {s}, not in the scrape"
        );
    }
}

/// Every `kafka_...` series named in the dashboard's queries.
fn dashboard_series() -> BTreeSet<String> {
    let path = workspace().join("dashboards").join("spate.json");
    let text = std::fs::read_to_string(&path).expect("the dashboard");
    let json: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&json, &mut exprs);
    assert!(!exprs.is_empty(), "no queries in {}", path.display());
    let mut out = BTreeSet::new();
    for e in exprs {
        let mut rest = e.as_str();
        while let Some(i) = rest.find("kafka_") {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            out.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    out
}

fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "query", Value::String(s)) => out.push(s.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}
