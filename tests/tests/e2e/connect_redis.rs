//! `spate connect standalone` with the Redis connectors, end to end: a
//! real `spate serve`, a real `redis-server` (Debian's), records produced
//! and read back with confluent-kafka, Redis checked with `redis-cli`.
//!
//! The connectors' tasks are also tested on their own against a real Redis
//! in `native/src/connect/redis/tests/`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use spate_e2e::redis::Redis;
use spate_e2e::{free_port, spate, Server, TempDir, Watched};

/// How long the worker may take to move what a test produced.
const MOVED: Duration = Duration::from_secs(60);

/// Polls `check` every 100 ms until it holds, failing the test at once
/// when the worker exits, or after [`MOVED`].
fn wait_for(what: &str, worker: &mut Watched, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + MOVED;
    while !check() {
        if let Some(status) = worker.wait_exit(Duration::ZERO) {
            panic!(
                "the worker exited ({status}) before {what}\n{}",
                worker.transcript()
            );
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {MOVED:?} waiting for {what}\n{}",
            worker.transcript()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The worker's file: Kafka Connect's standalone worker properties.
fn worker_properties(server: &Server, dir: &Path, value_converter: &str) -> String {
    format!(
        "bootstrap.servers={}\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter={value_converter}\n\
         key.converter.schemas.enable=false\n\
         value.converter.schemas.enable=false\n\
         offset.storage.file.filename={}\n\
         offset.flush.interval.ms=1000\n\
         rest.host.name=127.0.0.1\n\
         rest.port={}\n",
        server.addr,
        dir.join("connect.offsets").display(),
        free_port()
    )
}

const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";
const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";

/// Writes the worker's and the connector's files into `dir` and starts
/// `spate connect standalone worker.properties connector.properties`.
fn start_worker(server: &Server, dir: &TempDir, converter: &str, connector: &str) -> Watched {
    let worker = dir.0.join("worker.properties");
    let conn = dir.0.join("connector.properties");
    std::fs::write(&worker, worker_properties(server, &dir.0, converter)).expect("worker file");
    std::fs::write(&conn, connector).expect("connector file");
    let mut cmd = Command::new(spate());
    cmd.args(["connect", "standalone"]).arg(&worker).arg(&conn);
    Watched::spawn("spate connect", cmd)
}

/// A sink connector's file for `topics`, with `extra` properties.
fn sink_properties(redis: &Redis, topics: &str, extra: &str) -> String {
    format!(
        "name=redis-sink\nconnector.class=io.spate.connect.redis.RedisSinkConnector\n\
         tasks.max=1\ntopics={topics}\nredis.uri={}\n{extra}",
        redis.uri()
    )
}

/// Produces `records` (Python `(key, value)` tuples, a value of `None` a
/// tombstone) to `topic` with confluent-kafka's idempotent producer.
fn produce(server: &Server, topic: &str, records: &str) {
    let out = server.python(&format!(
        r#"
import sys
from confluent_kafka import Producer
p = Producer({{"bootstrap.servers": sys.argv[1], "enable.idempotence": True, "acks": "all"}})
errors = []
for k, v in {records}:
    p.produce("{topic}", key=k, value=v, on_delivery=lambda e, m: errors.append(e) if e else None)
p.flush(30)
print("errors", len(errors))
"#
    ));
    assert!(out.contains("errors 0"), "{out}");
}

/// Reads records of `topic` from the start with confluent-kafka until
/// `n` came or none came for 5 s: one `key value` line each.
fn consume(server: &Server, topic: &str, n: usize) -> Vec<String> {
    let out = server.python(&format!(
        r#"
import sys, time
from confluent_kafka import Consumer, TopicPartition
c = Consumer({{"bootstrap.servers": sys.argv[1], "group.id": "check", "enable.auto.commit": False,
              "auto.offset.reset": "earliest"}})
c.subscribe(["{topic}"])
got, deadline, last = [], time.time() + 60, time.time()
while len(got) < {n} and time.time() < deadline and (not got or time.time() - last < 5):
    m = c.poll(1.0)
    if m is None or m.error():
        continue
    last = time.time()
    got.append((m.key() or b"").decode() + " " + m.value().decode())
for g in got:
    print(g)
"#
    ));
    out.lines().map(str::to_string).collect()
}

#[test]
fn set_mode_keeps_the_latest_value_per_key() {
    let server = Server::start(&[]);
    let redis = Redis::start();
    produce(
        &server,
        "users",
        r#"[(b"u%d" % (i % 3), b"v%d" % i) for i in range(9)] + [(b"u0", None)]"#,
    );
    let dir = TempDir::new("connect");
    let mut worker = start_worker(
        &server,
        &dir,
        STRING,
        &sink_properties(
            &redis,
            "users",
            "redis.command=SET\nredis.key.prefix=user:\n",
        ),
    );
    wait_for("the offsets of all 10 records", &mut worker, || {
        redis.cli(&["HGET", "__spate_connect_offsets:redis-sink", "users/0"]) == "10\n"
    });
    assert_eq!(redis.cli(&["GET", "user:u1"]), "v7\n");
    assert_eq!(redis.cli(&["GET", "user:u2"]), "v8\n");
    assert_eq!(
        redis.cli(&["EXISTS", "user:u0"]),
        "0\n",
        "the tombstone deleted it"
    );
}

#[test]
fn hset_xadd_and_rpush_modes() {
    let server = Server::start(&[]);
    let redis = Redis::start();
    produce(
        &server,
        "orders",
        r#"[(b"o1", b'{"state":"new","amount":5}'), (b"o2", b'{"state":"new","amount":7}'),
           (b"o1", b'{"state":"paid","amount":5}')]"#,
    );
    let modes = [
        ("HSET", "redis.hash.name=hash:${topic}\n"),
        ("XADD", "redis.stream.name=stream:${topic}\n"),
        ("RPUSH", "redis.list.name=list:${topic}\n"),
    ];
    for (command, naming) in modes {
        let dir = TempDir::new("connect");
        let props = sink_properties(
            &redis,
            "orders",
            &format!("redis.command={command}\n{naming}"),
        )
        .replace("name=redis-sink", &format!("name=sink-{command}"));
        let mut worker = start_worker(&server, &dir, JSON, &props);
        let offsets = format!("__spate_connect_offsets:sink-{command}");
        wait_for(&format!("{command}: all 3 records"), &mut worker, || {
            redis.cli(&["HGET", &offsets, "orders/0"]) == "3\n"
        });
        worker.kill9();
    }
    assert_eq!(
        redis.cli_lines(&["HGET", "hash:orders", "o1"]),
        [r#"{"state":"paid","amount":5}"#]
    );
    assert_eq!(redis.cli(&["HLEN", "hash:orders"]), "2\n");
    let stream = redis.cli_lines(&["XRANGE", "stream:orders", "-", "+"]);
    assert_eq!(redis.cli(&["XLEN", "stream:orders"]), "3\n");
    assert!(
        stream.contains(&"state".to_string()) && stream.contains(&"paid".to_string()),
        "{stream:?}"
    );
    assert_eq!(
        redis.cli_lines(&["LRANGE", "list:orders", "0", "-1"]),
        [
            r#"{"state":"new","amount":5}"#,
            r#"{"state":"new","amount":7}"#,
            r#"{"state":"paid","amount":5}"#
        ]
    );
}

#[test]
fn a_sink_worker_killed_mid_stream_writes_each_record_once() {
    let server = Server::start(&[]);
    let redis = Redis::start();
    produce(
        &server,
        "jobs",
        r#"[(None, b"job-%d" % i) for i in range(3000)]"#,
    );
    let dir = TempDir::new("connect");
    let props = sink_properties(&redis, "jobs", "redis.command=RPUSH\n");
    let mut worker = start_worker(&server, &dir, STRING, &props);
    wait_for("some jobs in Redis", &mut worker, || {
        let n: usize = redis.cli(&["LLEN", "jobs"]).trim().parse().unwrap_or(0);
        n > 0
    });
    worker.kill9();
    let mut worker = start_worker(&server, &dir, STRING, &props);
    wait_for("all 3000 offsets", &mut worker, || {
        redis.cli(&["HGET", "__spate_connect_offsets:redis-sink", "jobs/0"]) == "3000\n"
    });
    let jobs = redis.cli_lines(&["LRANGE", "jobs", "0", "-1"]);
    let want: Vec<String> = (0..3000).map(|i| format!("job-{i}")).collect();
    assert_eq!(jobs, want, "each job exactly once, in order");
}

#[test]
fn a_sink_outlives_a_redis_restart() {
    let server = Server::start(&[]);
    let mut redis = Redis::start();
    produce(&server, "q", r#"[(None, b"a%d" % i) for i in range(100)]"#);
    let dir = TempDir::new("connect");
    let mut worker = start_worker(
        &server,
        &dir,
        STRING,
        &sink_properties(&redis, "q", "redis.command=RPUSH\n"),
    );
    wait_for("the first 100", &mut worker, || {
        redis.cli(&["LLEN", "q"]) == "100\n"
    });
    redis.kill9();
    produce(&server, "q", r#"[(None, b"b%d" % i) for i in range(100)]"#);
    std::thread::sleep(Duration::from_secs(2)); // the task meets the outage
    redis.restart();
    wait_for("all 200 offsets", &mut worker, || {
        redis.cli(&["HGET", "__spate_connect_offsets:redis-sink", "q/0"]) == "200\n"
    });
    let mut want: Vec<String> = (0..100).map(|i| format!("a{i}")).collect();
    want.extend((0..100).map(|i| format!("b{i}")));
    assert_eq!(redis.cli_lines(&["LRANGE", "q", "0", "-1"]), want);
}

#[test]
fn a_redis_stream_reaches_a_topic() {
    let server = Server::start(&[]);
    let redis = Redis::start();
    for i in 0..20 {
        redis.cli(&[
            "XADD",
            "orders",
            "*",
            "order",
            &format!("o{i}"),
            "amount",
            "5",
        ]);
    }
    let dir = TempDir::new("connect");
    let props = format!(
        "name=redis-source\nconnector.class=RedisSource\ntasks.max=1\ntopic=from-redis\n\
         redis.uri={}\nredis.stream=orders\nredis.stream.key.field=order\n",
        redis.uri()
    );
    let mut worker = start_worker(&server, &dir, JSON, &props);
    let got = consume(&server, "from-redis", 20);
    assert_eq!(got.len(), 20, "{}", worker.transcript());
    for (i, line) in got.iter().enumerate() {
        let (key, value) = line.split_once(' ').expect("key value");
        assert_eq!(key, format!("o{i}"));
        let value: serde_json::Value = serde_json::from_str(value).expect("JSON");
        assert_eq!(
            value,
            serde_json::json!({"order": format!("o{i}"), "amount": "5"})
        );
    }
    wait_for("every entry acknowledged", &mut worker, || {
        redis.cli_lines(&["XPENDING", "orders", "connect-redis-source"])[0] == "0"
    });
}

#[test]
fn a_redis_list_reaches_a_topic_and_a_killed_worker_loses_nothing() {
    let server = Server::start(&[]);
    let redis = Redis::start();
    let items: Vec<String> = (0..500).map(|i| format!("item-{i}")).collect();
    let mut args = vec!["RPUSH", "queue"];
    args.extend(items.iter().map(String::as_str));
    redis.cli(&args);
    let dir = TempDir::new("connect");
    let props = format!(
        "name=redis-source\nconnector.class=io.spate.connect.redis.RedisSourceConnector\n\
         tasks.max=1\ntopic=from-list\nredis.uri={}\nredis.list=queue\nredis.batch.size=50\n",
        redis.uri()
    );
    let mut worker = start_worker(&server, &dir, STRING, &props);
    wait_for("the list drained", &mut worker, || {
        redis.cli(&["LLEN", "queue"]) == "0\n"
    });
    worker.kill9();
    let mut worker = start_worker(&server, &dir, STRING, &props);
    wait_for("the processing list emptied", &mut worker, || {
        redis.cli(&["LLEN", "queue:processing:redis-source:0"]) == "0\n"
    });
    let got = consume(&server, "from-list", 10_000);
    let mut values: Vec<String> = got.iter().map(|l| l.trim_start().to_string()).collect();
    values.sort();
    values.dedup();
    let mut want = items.clone();
    want.sort();
    assert_eq!(values, want, "every item at least once");
}
