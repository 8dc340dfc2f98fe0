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
admin.delete_topics(["py"])
print("after delete", sorted(admin.list_topics()))
"#,
    );
    assert!(out.contains("topics ['py']"), "{out}");
    assert!(out.contains("retention True"), "{out}");
    assert!(out.contains("consumed 300"), "{out}");
    assert!(out.contains("after delete []"), "{out}");
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
