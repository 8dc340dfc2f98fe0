//! Data that survives: clean restarts, `kill -9` during a stream of acks=-1
//! produces, and a torn last batch, all on real files in a Kafka-style log
//! directory.

use std::io::Write as _;
use std::process::{Command, Stdio};

use spate_e2e::{require, Server, TempDir};

fn consume_all(server: &Server, topic: &str) -> Vec<String> {
    let out = Command::new(require("kcat"))
        .args([
            "-b",
            &server.addr,
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .output()
        .expect("kcat runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn produce(server: &Server, topic: &str, lines: &str) {
    let mut child = Command::new(require("kcat"))
        .args(["-b", &server.addr, "-P", "-t", topic, "-X", "acks=all"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("write");
    assert!(child.wait().expect("kcat").success());
}

#[test]
fn a_clean_restart_keeps_topics_configs_and_records() {
    let dir = TempDir::new("clean");
    let server = Server::start_in(&dir.0, &[]);
    let lines: String = (0..3000).map(|i| format!("r{i}\n")).collect();
    produce(&server, "kept", &lines);
    assert!(server.terminate(), "SIGTERM shuts down cleanly");
    assert!(
        dir.0.join(".kafka_cleanshutdown").exists(),
        "clean shutdown marker"
    );
    assert!(
        dir.0.join("kept-0/00000000000000000000.log").exists(),
        "Kafka's layout"
    );
    assert!(dir.0.join("meta.properties").exists());
    let server = Server::start_in(&dir.0, &[]);
    let got = consume_all(&server, "kept");
    assert_eq!(got.len(), 3000);
    assert_eq!(got[2999], "r2999");
    assert!(
        !dir.0.join(".kafka_cleanshutdown").exists(),
        "marker removed while running"
    );
}

/// SIGTERM the moment the broker says it is listening, five times: each
/// stop is a clean one (exit 0, the clean shutdown marker written). The
/// signal handlers used to be installed only after that line, so a
/// signal sent at once killed the process uncleanly.
#[test]
fn sigterm_as_soon_as_it_listens_is_a_clean_stop() {
    for round in 0..5 {
        let dir = TempDir::new("early-term");
        let server = Server::start_in(&dir.0, &[]);
        assert!(
            server.terminate(),
            "round {round}: SIGTERM shuts down cleanly"
        );
        assert!(
            dir.0.join(".kafka_cleanshutdown").exists(),
            "round {round}: clean shutdown marker"
        );
    }
}

#[test]
fn kill_9_loses_no_acknowledged_message() {
    let dir = TempDir::new("kill9");
    let server = Server::start_in(&dir.0, &[]);
    // A producer that prints every value the broker acknowledged (acks=all).
    let script = r#"
import sys, time
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "acks": "all", "enable.idempotence": True, "linger.ms": 2,
              "message.timeout.ms": 3000, "reconnect.backoff.max.ms": 200})
first = []
def done(err, msg):
    if err is None:
        first.append(time.time())
        print(msg.value().decode(), flush=True)
# Until 1.5 s after the first acknowledgement (the broker is killed in
# between), however long starting up took on a busy machine.
give_up = time.time() + 30
i = 0
while time.time() < (first[0] + 1.5 if first else give_up):
    p.produce("acked", value=b"m%d" % i, on_delivery=done)
    p.poll(0)
    i += 1
    if i % 500 == 0:
        time.sleep(0.01)
p.flush(5)
"#;
    let mut producer = Command::new(require("python3"))
        .args(["-c", script, &server.addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    // The kill comes in the middle of the stream: once some writes are
    // acknowledged (not after a fixed time, which a slow start can eat).
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        producer.stdout.take().expect("stdout"),
    ));
    let mut acked: Vec<String> = Vec::new();
    for line in lines.by_ref() {
        acked.push(line.expect("producer output"));
        if acked.len() == 200 {
            break;
        }
    }
    server.kill9();
    acked.extend(lines.map(|l| l.expect("producer output")));
    assert!(producer.wait().expect("producer ends").success());
    assert!(
        acked.len() > 100,
        "the producer got acknowledgements before the kill ({})",
        acked.len()
    );
    let server = Server::start_in(&dir.0, &[]);
    let stored: std::collections::HashSet<String> =
        consume_all(&server, "acked").into_iter().collect();
    let lost: Vec<&String> = acked.iter().filter(|v| !stored.contains(*v)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
}

#[test]
fn a_torn_last_batch_is_truncated_on_start() {
    let dir = TempDir::new("torn");
    let server = Server::start_in(&dir.0, &[]);
    produce(&server, "torn", "a\nb\nc\n");
    server.kill9();
    // Half a batch at the end of the active segment, as a crash mid-write leaves it.
    let log = dir.0.join("torn-0/00000000000000000000.log");
    let before = std::fs::metadata(&log).expect("segment").len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("open");
    f.write_all(&[0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 200, 0xff, 0xff])
        .expect("torn write");
    drop(f);
    let server = Server::start_in(&dir.0, &[]);
    assert_eq!(consume_all(&server, "torn"), vec!["a", "b", "c"]);
    assert_eq!(
        std::fs::metadata(&log).expect("segment").len(),
        before,
        "the torn tail is cut off"
    );
    produce(&server, "torn", "d\n");
    assert_eq!(consume_all(&server, "torn"), vec!["a", "b", "c", "d"]);
}

#[test]
fn committed_offsets_survive_kill_9() {
    let dir = TempDir::new("offsets");
    let conf = TempDir::new("offsets-conf");
    let props = conf.0.join("server.properties");
    std::fs::write(&props, "group.initial.rebalance.delay.ms=0\n").expect("properties");
    let props = props.to_string_lossy().into_owned();
    let server = Server::start_in(&dir.0, &[&props]);
    let lines: String = (0..100).map(|i| format!("v{i}\n")).collect();
    produce(&server, "committed", &lines);
    // A group member reads 60 records, commits synchronously (the broker
    // has acknowledged the commit when commit() returns), and says so.
    let script = r#"
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "durable", "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "session.timeout.ms": 6000})
c.subscribe(["committed"])
n = 0
while n < 60:
    m = c.poll(1)
    if m is None or m.error():
        continue
    n += 1
c.commit(offsets=[TopicPartition("committed", 0, 60)], asynchronous=False)
print("committed", flush=True)
import time
time.sleep(30)
"#;
    let mut member = Command::new(require("python3"))
        .args(["-c", script, &server.addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(member.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("member output");
    assert_eq!(line.trim(), "committed");
    server.kill9();
    let _ = member.kill();
    let _ = member.wait();
    let server = Server::start_in(&dir.0, &[&props]);
    let check = r#"
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "durable"})
print(c.committed([TopicPartition("committed", 0)], timeout=10)[0].offset)
"#;
    let out = Command::new(require("python3"))
        .args(["-c", check, &server.addr])
        .stderr(Stdio::null())
        .output()
        .expect("python3 runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "60");
}

/// The topic id `spate topic describe --json` reports for `topic`.
fn topic_id(server: &Server, topic: &str) -> String {
    let out = Command::new(spate_e2e::spate())
        .args(["topic", "describe", topic, "--json", "-b", &server.addr])
        .output()
        .expect("spate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["topic_id"].as_str().expect("topic_id").to_string()
}

/// Asserts that `<topic>-<p>/partition.metadata` names `id`, for every p.
fn assert_tagged(dir: &std::path::Path, topic: &str, partitions: i32, id: &str) {
    for p in 0..partitions {
        let path = dir.join(format!("{topic}-{p}/partition.metadata"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            text,
            format!("version: 0\ntopic_id: {id}\n"),
            "{}",
            path.display()
        );
    }
}

/// As in Kafka, every partition directory carries `partition.metadata`
/// with its topic's id, however the partition came to be: created with
/// its topic, added by CreatePartitions, auto-created, or found without
/// one at start; the metadata log carries Kafka's fixed id.
#[test]
fn every_partition_directory_carries_partition_metadata() {
    let dir = TempDir::new("pmeta");
    let server = Server::start_in(&dir.0, &[]);
    let out = Command::new(require("python3"))
        .args([
            "-c",
            r#"
import sys
from kafka import KafkaAdminClient
from kafka.admin import NewTopic, NewPartitions
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1])
admin.create_topics([NewTopic("grow", 2, 1)])
admin.create_partitions({"grow": NewPartitions(total_count=5)})
admin.create_topics([NewTopic("again", 1, 1)])
admin.delete_topics(["again"])
admin.create_topics([NewTopic("again", 3, 1)])
"#,
            &server.addr,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    produce(&server, "auto", "x\n");
    let ids = [
        ("grow", 5, topic_id(&server, "grow")),
        ("again", 3, topic_id(&server, "again")),
        ("auto", 1, topic_id(&server, "auto")),
    ];
    for (topic, n, id) in &ids {
        assert_tagged(&dir.0, topic, *n, id);
    }
    assert_tagged(&dir.0, "__cluster_metadata", 1, "AAAAAAAAAAAAAAAAAAAAAQ");

    // A directory that lost it (or came from a tool that does not write
    // it) gets it back when the broker starts.
    assert!(server.terminate());
    std::fs::remove_file(dir.0.join("grow-4/partition.metadata")).expect("remove");
    let server = Server::start_in(&dir.0, &[]);
    assert_eq!(topic_id(&server, "grow"), ids[0].2);
    assert_tagged(&dir.0, "grow", 5, &ids[0].2);
}
