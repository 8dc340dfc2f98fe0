//! `spate serve` with real Kafka clients over real TCP: kcat (librdkafka
//! 2.0), kafka-python and confluent-kafka (librdkafka 2.x), and bad input
//! on raw sockets. Each test starts its own broker on a free port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use spate_e2e::{require, Server};

fn kcat(server: &Server, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(require("kcat"))
        .args(["-b", &server.addr])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat starts");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(data) = stdin {
        input.write_all(data).expect("feeding kcat");
    }
    drop(input);
    child.wait_with_output().expect("kcat runs")
}

#[test]
fn kcat_lists_metadata_produces_and_consumes_with_every_codec() {
    let server = Server::start(&[]);
    let out = kcat(&server, &["-L"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("broker 1 at {}", server.addr)),
        "{text}"
    );
    let lines: String = (0..20_000).map(|i| format!("message-{i}\n")).collect();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("kcat-{codec}");
        let out = kcat(
            &server,
            &["-P", "-t", &topic, "-z", codec],
            Some(lines.as_bytes()),
        );
        assert!(
            out.status.success(),
            "produce {codec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = kcat(
            &server,
            &["-C", "-t", &topic, "-o", "beginning", "-e", "-q"],
            None,
        );
        let got = String::from_utf8_lossy(&out.stdout);
        assert_eq!(got.lines().count(), 20_000, "{codec}: every message back");
        assert_eq!(got.lines().next(), Some("message-0"));
        assert_eq!(got.lines().last(), Some("message-19999"));
    }
}

#[test]
fn kafka_python_admin_produce_and_consume() {
    let server = Server::start(&[]);
    let out = server.python(
        r#"
import sys
from kafka import KafkaAdminClient, KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic, ConfigResource, ConfigResourceType
addr = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=addr)
admin.create_topics([NewTopic("py", 3, 1, topic_configs={"retention.ms": "600000"})])
print("topics", sorted(admin.list_topics()))
cfg = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py")])
print("retention", "600000" in str(cfg))
p = KafkaProducer(bootstrap_servers=addr, acks="all")
for i in range(300):
    p.send("py", key=str(i % 3).encode(), value=b"v%d" % i)
p.flush()
c = KafkaConsumer(bootstrap_servers=addr, auto_offset_reset="earliest", consumer_timeout_ms=3000)
c.assign([TopicPartition("py", i) for i in range(3)])
print("consumed", sum(1 for _ in c))
# DescribeLogDirs: the data directory, the three partitions and their sizes.
dirs = admin.describe_log_dirs()
print("log dirs", dirs)
admin.delete_topics(["py"])
print("after delete", sorted(admin.list_topics()))
"#,
    );
    assert!(out.contains("topics ['py']"), "{out}");
    assert!(out.contains("retention True"), "{out}");
    assert!(out.contains("consumed 300"), "{out}");
    assert!(out.contains("after delete []"), "{out}");
    let dirs = out
        .lines()
        .find_map(|l| l.strip_prefix("log dirs "))
        .expect("no log dirs line");
    // Every partition of `py` is listed (one may be empty: three keys
    // hash to the partitions as they do), with no lag, and the sizes add
    // up to the batches of 300 records of about 10 bytes.
    assert!(
        dirs.contains("spate-e2e-data"),
        "the log dir is not named: {dirs}"
    );
    for p in 0..3 {
        assert!(
            dirs.contains(&format!("'partition_index': {p}")),
            "partition {p} missing: {dirs}"
        );
    }
    let numbers = |key: &str| -> Vec<i64> {
        dirs.split(key)
            .skip(1)
            .map(|s| s.split([',', '}']).next().unwrap().trim().parse().unwrap())
            .collect()
    };
    let total: i64 = numbers("'partition_size':").iter().sum();
    assert!((3000..30000).contains(&total), "sizes {total}: {dirs}");
    assert!(numbers("'offset_lag':").iter().all(|l| *l == 0), "{dirs}");
    assert!(!dirs.contains("__cluster_metadata"), "{dirs}");
}

#[test]
fn confluent_kafka_idempotent_producer_with_headers() {
    let server = Server::start(&[]);
    let out = server.python(
        r#"
import sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
addr = sys.argv[1]
p = Producer({"bootstrap.servers": addr, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
errors = []
for i in range(5000):
    p.produce("idem", key=b"k%d" % (i % 7), value=b"value-%d" % i, headers=[("trace", b"t%d" % i)],
              on_delivery=lambda e, m: errors.append(e) if e else None)
p.flush(30)
print("errors", len(errors))
c = Consumer({"bootstrap.servers": addr, "group.id": "unused", "enable.auto.commit": False})
c.assign([TopicPartition("idem", 0, 0)])
seen, last, deadline = 0, None, time.time() + 30
while seen < 5000 and time.time() < deadline:
    m = c.poll(1.0)
    if m is None or m.error():
        continue
    seen += 1
    last = (m.value(), m.headers())
print("seen", seen, last)
"#,
    );
    assert!(out.contains("errors 0"), "{out}");
    assert!(
        out.contains("seen 5000 (b'value-4999', [('trace', b't4999')])"),
        "{out}"
    );
}

/// Bad input on raw sockets: the offending connection gets Kafka's answer
/// or is closed; the broker keeps serving everyone else.
#[test]
fn bad_input_closes_only_the_offending_connection() {
    let mut server = Server::start(&[]);
    let connect = || {
        let s = TcpStream::connect(&server.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s
    };
    let closed = |mut s: TcpStream| {
        let mut buf = [0u8; 64];
        matches!(s.read(&mut buf), Ok(0) | Err(_))
    };
    // Random bytes that happen to make a small frame.
    let mut s = connect();
    s.write_all(&[0, 0, 0, 6, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34])
        .expect("write");
    assert!(closed(s), "random frame closes the connection");
    // A 2 GB size prefix.
    let mut s = connect();
    s.write_all(&[0x7f, 0xff, 0xff, 0xff, 0, 0]).expect("write");
    assert!(closed(s), "oversized frame closes the connection");
    // An unknown API key.
    let mut s = connect();
    s.write_all(&[0, 0, 0, 8, 0x7f, 0x00, 0, 0, 0, 0, 0, 1])
        .expect("write");
    assert!(closed(s), "unknown api key closes the connection");
    // Metadata at version 99.
    let mut s = connect();
    s.write_all(&[0, 0, 0, 8, 0, 3, 0, 99, 0, 0, 0, 1])
        .expect("write");
    assert!(closed(s), "unsupported version closes the connection");
    // ApiVersions at version 99: UNSUPPORTED_VERSION in a v0 body.
    let mut s = connect();
    s.write_all(&[0, 0, 0, 8, 0, 18, 0, 99, 0, 0, 0, 5])
        .expect("write");
    let mut head = [0u8; 10];
    s.read_exact(&mut head).expect("an answer");
    assert_eq!(&head[4..8], &[0, 0, 0, 5], "correlation id");
    assert_eq!(&head[8..10], &[0, 35], "UNSUPPORTED_VERSION");
    // A truncated frame, then the client goes away.
    let mut s = connect();
    s.write_all(&[0, 0, 0, 100, 0, 3, 0, 1]).expect("write");
    drop(s);
    // The broker still serves.
    assert!(server.alive());
    let out = kcat(&server, &["-L"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn aiokafka_produces_and_reads_back() {
    let server = Server::start(&[]);
    let out = server.python(r#"
import sys, asyncio
from aiokafka import AIOKafkaProducer, AIOKafkaConsumer, TopicPartition

async def main(addr):
    p = AIOKafkaProducer(bootstrap_servers=addr, acks="all", compression_type="gzip")
    await p.start()
    for i in range(500):
        await p.send("aio", key=b"k", value=b"a%d" % i)
    await p.flush()
    await p.stop()
    c = AIOKafkaConsumer(bootstrap_servers=addr, auto_offset_reset="earliest", enable_auto_commit=False)
    await c.start()
    c.assign([TopicPartition("aio", 0)])
    await c.seek_to_beginning()
    got = []
    while len(got) < 500:
        batch = await c.getmany(timeout_ms=2000)
        if not batch:
            break
        for msgs in batch.values():
            got.extend(m.value for m in msgs)
    await c.stop()
    print("got", len(got), got[0], got[-1])

asyncio.run(main(sys.argv[1]))
"#,
    );
    assert!(out.contains("got 500 b'a0' b'a499'"), "{out}");
}

#[test]
fn kafkajs_creates_a_topic_and_produces() {
    let server = Server::start(&[]);
    let script = spate_e2e::workspace().join("tests/js/produce_and_count.js");
    let out = Command::new(require("node"))
        .arg(script)
        .arg(&server.addr)
        .output()
        .expect("node runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("topics [\"js\"]"), "{text}");
    assert!(text.contains("total 1000"), "{text}");
}

/// Dynamic broker configs as Kafka's admin clients change them:
/// kafka-python's AlterConfigs and confluent-kafka's
/// IncrementalAlterConfigs on this broker's BROKER resource ("1"; both
/// clients refuse the empty name of the cluster default themselves, so
/// `core/tests/configs/dynamic.rs` covers that level); DescribeConfigs
/// then reports their sources, a topic without its own `retention.ms`
/// follows the broker's, a static config is refused, and a restart keeps
/// them.
#[test]
fn admin_clients_change_dynamic_broker_configs() {
    let dir = spate_e2e::TempDir::new("dynamic");
    let data = dir.0.join("data");
    let server = Server::start_in(&data, &[]);
    let out = server.python(
        r#"
import sys
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource as KR, ConfigResourceType as KT
addr = sys.argv[1]
a = KafkaAdminClient(bootstrap_servers=addr)
r = a.alter_configs([KR(KT.BROKER, "1", configs={"log.retention.bytes": "1000000"})])
print("kafka-python", r)
"#,
    );
    assert!(out.contains("kafka-python"), "{out}");
    let describe = r#"
import sys
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, ResourceType
addr = sys.argv[1]
a = AdminClient({"bootstrap.servers": addr})
res = ConfigResource(ResourceType.BROKER, "1")
cfg = a.describe_configs([res])[res].result(10)
for k in ["log.retention.ms", "log.retention.bytes", "sasl.kerberos.min.time.before.relogin"]:
    e = cfg.get(k)
    print(k, e.value if e else None, ConfigSource(e.source).name if e else None, e.is_read_only if e else None)
res = ConfigResource(ResourceType.TOPIC, "dyn")
e = a.describe_configs([res])[res].result(10)["retention.ms"]
print("topic retention.ms", e.value, ConfigSource(e.source).name)
"#;
    let out = server.python(
        r#"
import sys
from confluent_kafka import KafkaException
from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigEntry,
    AlterConfigOpType, ResourceType, NewTopic)
addr = sys.argv[1]
a = AdminClient({"bootstrap.servers": addr})
a.create_topics([NewTopic("dyn", 1, 1)])["dyn"].result(10)
SET = AlterConfigOpType.SET
def alter(name, key, value):
    res = ConfigResource(ResourceType.BROKER, name,
        incremental_configs=[ConfigEntry(key, value, incremental_operation=SET)])
    try:
        a.incremental_alter_configs([res])[res].result(10)
        return "ok"
    except KafkaException as e:
        return e.args[0].name() + ": " + e.args[0].str()
print("broker retention", alter("1", "log.retention.ms", "3600000"))
print("broker relogin", alter("1", "sasl.kerberos.min.time.before.relogin", "120000"))
print("static", alter("1", "num.partitions", "4"))
"#,
    );
    assert!(out.contains("broker retention ok"), "{out}");
    assert!(out.contains("broker relogin ok"), "{out}");
    assert!(
        out.contains(
            "static INVALID_REQUEST: Cannot update these configs dynamically: Set(num.partitions)"
        ),
        "{out}"
    );
    let check = |out: &str| {
        assert!(
            out.contains("log.retention.ms 3600000 DYNAMIC_BROKER_CONFIG False"),
            "{out}"
        );
        // IncrementalAlterConfigs kept what AlterConfigs set.
        assert!(
            out.contains("log.retention.bytes 1000000 DYNAMIC_BROKER_CONFIG False"),
            "{out}"
        );
        assert!(
            out.contains(
                "sasl.kerberos.min.time.before.relogin 120000 DYNAMIC_BROKER_CONFIG False"
            ),
            "{out}"
        );
        assert!(
            out.contains("topic retention.ms 3600000 DYNAMIC_BROKER_CONFIG"),
            "{out}"
        );
    };
    check(&server.python(describe));
    assert!(server.terminate());
    let server = Server::start_in(&data, &[]);
    check(&server.python(describe));
}
