//! Log compaction in `spate serve` on real files: confluent-kafka produces
//! keyed records to a compacted topic with small segments, the cleaner
//! runs on its timer (`log.cleaner.backoff.ms` from server.properties),
//! and a consumer reading from the beginning sees offsets with gaps and
//! the latest value of every key, before and after a restart.

use std::time::{Duration, Instant};

use spate_e2e::{Server, TempDir};

/// Reads `compacted` partition 0 from offset 0 to the high watermark and
/// prints one `offset key value` line per record (`-` for a tombstone),
/// then `hwm N`.
const CONSUME: &str = r#"
import sys, time
from confluent_kafka import Consumer, TopicPartition
addr = sys.argv[1]
c = Consumer({"bootstrap.servers": addr, "group.id": "unused", "enable.auto.commit": False})
lo, hi = c.get_watermark_offsets(TopicPartition("compacted", 0), timeout=10)
c.assign([TopicPartition("compacted", 0, 0)])
last, deadline = -1, time.time() + 30
while last < hi - 1 and time.time() < deadline:
    m = c.poll(1.0)
    if m is None or m.error():
        continue
    v = m.value()
    print(m.offset(), m.key().decode(), "-" if v is None else v.decode())
    last = m.offset()
print("hwm", hi)
"#;

/// Consumes until the log reads compacted (fewer than 300 records) or 30 s
/// pass: the cleaner runs on its own timer.
fn consume_compacted(server: &Server) -> (Vec<(i64, String, Option<String>)>, i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (recs, hwm) = parse(&server.python(CONSUME));
        if recs.len() < 300 || Instant::now() > deadline {
            return (recs, hwm);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// (offset, key, value) lines and the high watermark.
fn parse(out: &str) -> (Vec<(i64, String, Option<String>)>, i64) {
    let mut recs = Vec::new();
    let mut hwm = -1;
    for line in out.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["hwm", n] => hwm = n.parse().unwrap(),
            [o, k, v] => recs.push((
                o.parse().unwrap(),
                k.to_string(),
                (*v != "-").then(|| v.to_string()),
            )),
            _ => panic!("unexpected line {line:?}"),
        }
    }
    (recs, hwm)
}

/// What a consumer must see: rising offsets with gaps up to `hwm - 1`,
/// far fewer records than were written, and the last value written for
/// every key (k0 was deleted, k3's latest is `k3`).
fn check(recs: &[(i64, String, Option<String>)], hwm: i64, k3: &str) {
    assert!(recs.windows(2).all(|w| w[0].0 < w[1].0), "{recs:?}");
    assert!(recs[0].0 > 0, "round 0 is gone: {:?}", recs[0]);
    assert!(recs.len() < 300, "compacted: {} records left", recs.len());
    assert_eq!(recs.last().unwrap().0, hwm - 1);
    let mut last = std::collections::BTreeMap::new();
    for (_, k, v) in recs {
        last.insert(k.clone(), v.clone());
    }
    assert_eq!(last.len(), 20);
    for k in 0..20 {
        let want = match k {
            0 => None,
            3 => Some(k3.to_string()),
            _ => Some(format!("v{k}-r49")),
        };
        assert_eq!(last[&format!("k{k}")], want, "k{k}");
    }
}

#[test]
fn confluent_kafka_reads_a_compacted_topic_with_gaps_and_latest_values() {
    let dir = TempDir::new("compact");
    let props = dir.0.join("server.properties");
    std::fs::write(
        &props,
        "log.segment.bytes=2048\nlog.cleaner.backoff.ms=200\nauto.create.topics.enable=false\n",
    )
    .unwrap();
    let data = dir.0.join("data");
    let props = props.to_string_lossy().into_owned();
    let server = Server::start_in(&data, &[&props]);
    let out = server.python(r#"
import sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
addr = sys.argv[1]
a = AdminClient({"bootstrap.servers": addr})
f = a.create_topics([NewTopic("compacted", 1, 1, config={"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01"})])
f["compacted"].result(10)
p = Producer({"bootstrap.servers": addr, "enable.idempotence": True, "linger.ms": 0})
errors = []
def cb(e, m):
    if e:
        errors.append(e)
# 50 rounds over 20 keys; k0 is deleted at the end.
for r in range(50):
    for k in range(20):
        p.produce("compacted", key=b"k%d" % k, value=b"v%d-r%d" % (k, r), on_delivery=cb)
    p.flush(10)
p.produce("compacted", key=b"k0", value=None, on_delivery=cb)
p.flush(10)
print("errors", len(errors))
# A record without a key is refused, as Kafka refuses it.
keyless = []
p.produce("compacted", value=b"no key", on_delivery=lambda e, m: keyless.append(e))
p.flush(10)
print("keyless", keyless[0].name() if keyless and keyless[0] else "accepted")
"#,
    );
    assert!(out.contains("errors 0"), "{out}");
    assert!(out.contains("keyless INVALID_RECORD"), "{out}");

    let (recs, hwm) = consume_compacted(&server);
    assert_eq!(hwm, 1001, "every record got an offset");
    println!("{} of {hwm} offsets left after compaction", recs.len());
    check(&recs, hwm, "v3-r49");

    // Files: several segments, each with its indexes, no swap left over.
    let log_dir = data.join("compacted-0");
    let names: Vec<String> = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let logs: Vec<&String> = names.iter().filter(|n| n.ends_with(".log")).collect();
    assert!(logs.len() >= 2, "{names:?}");
    for l in &logs {
        let stem = l.trim_end_matches(".log");
        assert!(names.contains(&format!("{stem}.index")), "{names:?}");
        assert!(names.contains(&format!("{stem}.timeindex")), "{names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".swap") || n.ends_with(".cleaned")),
        "{names:?}"
    );

    // After a restart the compacted files read the same, and the log goes on.
    assert!(server.terminate());
    let server = Server::start_in(&data, &[&props]);
    let (again, _) = parse(&server.python(CONSUME));
    assert_eq!(again, recs);
    let out = server.python(
        r#"
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1]})
p.produce("compacted", key=b"k3", value=b"after-restart-check")
print("left", p.flush(10))
"#,
    );
    assert!(out.contains("left 0"), "{out}");
    let (recs, hwm) = consume_compacted(&server);
    assert_eq!(hwm, 1002);
    check(&recs, hwm, "after-restart-check");
}

/// KIP-467 as confluent-kafka reports it: 100 records in one batch to a
/// compacted topic, every tenth without a key. The broker names the ten
/// keyless records in `record_errors`; librdkafka fails those ten with
/// INVALID_RECORD, and the other ninety
/// with its own `_INVALID_DIFFERENT_RECORD` ("an invalid record in the
/// same batch caused the failure of this message too").
#[test]
fn confluent_kafka_sees_which_records_of_a_batch_were_refused() {
    let server = Server::start(&[]);
    let out = server.python(
        r#"
import sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
addr = sys.argv[1]
a = AdminClient({"bootstrap.servers": addr})
a.create_topics([NewTopic("kip467", 1, 1, config={"cleanup.policy": "compact"})])["kip467"].result(10)
p = Producer({"bootstrap.servers": addr, "linger.ms": 500, "batch.num.messages": 1000,
              "retries": 0, "enable.idempotence": False})
reports = {}
def cb(e, m):
    reports[int(m.value())] = e
for i in range(100):
    key = None if i % 10 == 3 else b"k%d" % i
    p.produce("kip467", key=key, value=b"%d" % i, on_delivery=cb)
p.flush(10)
for i in sorted(reports):
    e = reports[i]
    print(i, e.name() if e else "OK", "|", e.str() if e else "")
"#,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 100, "{out}");
    for (i, line) in lines.iter().enumerate() {
        if i % 10 == 3 {
            let named = format!("{i} INVALID_RECORD |");
            assert!(line.starts_with(&named), "{line}");
        } else {
            // librdkafka's own code for a record refused with its batch.
            let other = format!("{i} _INVALID_DIFFERENT_RECORD |");
            assert!(line.starts_with(&other), "{line}");
        }
    }
}
