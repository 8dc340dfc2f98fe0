//! The sink: each command, tombstones, TTL, exactly once across a crash,
//! refusals, and Redis restarted under it.

use std::collections::HashMap;

use redis::Commands as _;
use spate_e2e::redis::Redis;

use super::{check, lrange, props, retry};
use crate::connect::data::{Schema, SchemaAndValue, Value};
use crate::connect::redis::sink::RedisSinkTask;
use crate::connect::task::{PutOutcome, SinkRecord, SinkTask, TaskError, TopicPartition};

fn text(s: &str) -> SchemaAndValue {
    SchemaAndValue {
        schema: Some(Schema::string()),
        value: Value::String(s.into()),
    }
}

fn record(topic: &str, offset: i64, key: Option<&str>, value: Value) -> SinkRecord {
    SinkRecord {
        topic: topic.into(),
        partition: 0,
        offset,
        timestamp: 0,
        key: key.map_or_else(SchemaAndValue::null, text),
        value: SchemaAndValue {
            schema: None,
            value,
        },
        headers: Vec::new(),
    }
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn tp(topic: &str) -> TopicPartition {
    TopicPartition {
        topic: topic.into(),
        partition: 0,
    }
}

/// A started task for `pairs` (plus `name=redis-sink`).
fn task(redis: &Redis, pairs: &[(&str, &str)]) -> RedisSinkTask {
    let mut all = vec![("name", "redis-sink")];
    all.extend_from_slice(pairs);
    let mut t = RedisSinkTask::default();
    let p = props(redis, &all);
    retry("start", || t.start(&p));
    t
}

fn put(t: &mut RedisSinkTask, records: &[SinkRecord]) -> PutOutcome {
    retry("put", || t.put(records))
}

/// The offsets the task stored, by `topic/partition`.
fn stored(redis: &Redis) -> HashMap<String, i64> {
    check(redis)
        .hgetall("__spate_connect_offsets:redis-sink")
        .expect("HGETALL")
}

#[test]
fn set_keeps_the_latest_value_per_key_and_a_tombstone_deletes_it() {
    let redis = Redis::start();
    let mut t = task(
        &redis,
        &[("redis.command", "SET"), ("redis.key.prefix", "user:")],
    );
    assert_eq!(retry("open", || t.open(&[tp("users")])), Vec::new());
    let out = put(
        &mut t,
        &[
            record("users", 0, Some("a"), s("first")),
            record(
                "users",
                1,
                Some("b"),
                Value::Struct(vec![("n".into(), Value::Int32(1))]),
            ),
            record("users", 2, Some("a"), s("second")),
            record(
                "users",
                3,
                Some("c"),
                Value::Bytes(vec![0, 159, 255].into()),
            ),
        ],
    );
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    assert_eq!(redis.cli(&["GET", "user:a"]), "second\n");
    assert_eq!(redis.cli(&["GET", "user:b"]), "{\"n\":1}\n");
    let raw: Vec<u8> = check(&redis).get("user:c").expect("GET");
    assert_eq!(raw, vec![0, 159, 255]);
    assert_eq!(
        redis.cli(&["TTL", "user:a"]),
        "-1\n",
        "no TTL unless configured"
    );
    put(&mut t, &[record("users", 4, Some("a"), Value::Null)]);
    assert_eq!(redis.cli(&["EXISTS", "user:a"]), "0\n");
    assert_eq!(stored(&redis), HashMap::from([("users/0".into(), 5)]));
}

#[test]
fn hset_writes_a_hash_per_topic_with_a_ttl() {
    let redis = Redis::start();
    let mut t = task(
        &redis,
        &[
            ("redis.command", "HSET"),
            ("redis.hash.name", "view:${topic}"),
            ("redis.ttl.seconds", "300"),
        ],
    );
    put(
        &mut t,
        &[
            record("orders", 0, Some("o1"), s("new")),
            record("orders", 1, Some("o2"), s("new")),
            record("orders", 2, Some("o1"), s("paid")),
            record("orders", 3, Some("o2"), Value::Null),
            record("refunds", 0, Some("r1"), Value::Int64(12)),
        ],
    );
    assert_eq!(redis.cli_lines(&["HGETALL", "view:orders"]), ["o1", "paid"]);
    assert_eq!(redis.cli_lines(&["HGETALL", "view:refunds"]), ["r1", "12"]);
    let ttl: i64 = redis
        .cli(&["TTL", "view:orders"])
        .trim()
        .parse()
        .expect("TTL");
    assert!((1..=300).contains(&ttl), "TTL {ttl}");
    assert_eq!(
        stored(&redis),
        HashMap::from([("orders/0".into(), 4), ("refunds/0".into(), 1)])
    );
}

#[test]
fn set_with_a_ttl_expires_each_key() {
    let redis = Redis::start();
    let mut t = task(
        &redis,
        &[("redis.command", "SET"), ("redis.ttl.seconds", "120")],
    );
    put(&mut t, &[record("t", 0, Some("k"), s("v"))]);
    let ttl: i64 = redis.cli(&["TTL", "k"]).trim().parse().expect("TTL");
    assert!((1..=120).contains(&ttl), "TTL {ttl}");
}

#[test]
fn xadd_appends_the_fields_of_each_value_to_a_stream_per_topic() {
    let redis = Redis::start();
    let mut t = task(&redis, &[("redis.command", "XADD")]);
    put(
        &mut t,
        &[
            record(
                "clicks",
                0,
                Some("u1"),
                Value::Struct(vec![
                    ("page".into(), s("/")),
                    ("ms".into(), Value::Int32(12)),
                ]),
            ),
            record(
                "clicks",
                1,
                Some("u2"),
                Value::Map(vec![(s("page"), s("/docs"))]),
            ),
            record("clicks", 2, None, s("plain")),
            record("clicks", 3, Some("u1"), Value::Null),
        ],
    );
    let lines = redis.cli_lines(&["XRANGE", "clicks", "-", "+"]);
    // Each entry: its id, then field, value, ...
    let fields: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.contains('-') || l.starts_with('/'))
        .collect();
    assert_eq!(
        fields,
        ["page", "/", "ms", "12", "page", "/docs", "value", "plain"]
    );
    assert_eq!(
        redis.cli(&["XLEN", "clicks"]),
        "3\n",
        "a tombstone adds nothing"
    );
    assert_eq!(stored(&redis), HashMap::from([("clicks/0".into(), 4)]));
}

#[test]
fn rpush_appends_each_value_to_a_list_per_topic() {
    let redis = Redis::start();
    let mut t = task(
        &redis,
        &[
            ("redis.command", "RPUSH"),
            ("redis.list.name", "q:${topic}"),
        ],
    );
    put(
        &mut t,
        &[
            record("jobs", 0, None, s("one")),
            record("jobs", 1, None, Value::Array(vec![Value::Int8(2)])),
            record("jobs", 2, None, Value::Null),
        ],
    );
    assert_eq!(
        redis.cli_lines(&["LRANGE", "q:jobs", "0", "-1"]),
        ["one", "[2]"]
    );
}

#[test]
fn a_crash_after_a_batch_resumes_after_it_and_the_batch_is_not_applied_twice() {
    let redis = Redis::start();
    let batch: Vec<SinkRecord> = (0..3)
        .map(|i| record("jobs", i, None, s(&format!("job-{i}"))))
        .collect();
    let mut first = task(&redis, &[("redis.command", "RPUSH")]);
    assert_eq!(retry("open", || first.open(&[tp("jobs")])), Vec::new());
    put(&mut first, &batch);
    // A crash: no flush, no close, no stop.
    drop(first);

    let mut second = task(&redis, &[("redis.command", "RPUSH")]);
    assert_eq!(
        retry("open", || second.open(&[tp("jobs")])),
        vec![(tp("jobs"), 3)]
    );
    // The worker delivers the same batch again (its group offset was
    // never committed): nothing changes.
    put(&mut second, &batch);
    assert_eq!(
        lrange(&mut check(&redis), "jobs"),
        ["job-0", "job-1", "job-2"]
    );
    // A batch that overlaps: only the new records are written.
    let overlap: Vec<SinkRecord> = (2..5)
        .map(|i| record("jobs", i, None, s(&format!("job-{i}"))))
        .collect();
    put(&mut second, &overlap);
    assert_eq!(
        lrange(&mut check(&redis), "jobs"),
        ["job-0", "job-1", "job-2", "job-3", "job-4"]
    );
    assert_eq!(stored(&redis), HashMap::from([("jobs/0".into(), 5)]));
}

#[test]
fn a_key_of_the_wrong_type_is_refused() {
    let redis = Redis::start();
    redis.cli(&["SET", "orders", "not a hash"]);
    let batch = [
        record("orders", 0, Some("o1"), s("new")),
        record("fine", 0, Some("f1"), s("ok")),
        record("orders", 1, Some("o2"), s("new")),
    ];

    // errors.tolerance=none: the refusal is reported and nothing of the
    // batch is written, so the restarted task meets the same batch.
    let mut strict = task(&redis, &[("redis.command", "HSET")]);
    let out = put(&mut strict, &batch);
    let refused: Vec<usize> = out.refused.iter().map(|(i, _)| *i).collect();
    assert_eq!(refused, [0, 2]);
    assert!(
        out.refused[0].1.starts_with("WRONGTYPE"),
        "{:?}",
        out.refused
    );
    assert_eq!(redis.cli(&["EXISTS", "fine"]), "0\n");
    assert!(stored(&redis).is_empty());

    // errors.tolerance=all: the rest is written, the offsets pass the
    // refused records (the worker sends them to the dead-letter topic).
    let mut lenient = task(
        &redis,
        &[("redis.command", "HSET"), ("errors.tolerance", "all")],
    );
    let out = put(&mut lenient, &batch);
    let refused: Vec<usize> = out.refused.iter().map(|(i, _)| *i).collect();
    assert_eq!(refused, [0, 2]);
    assert_eq!(redis.cli_lines(&["HGETALL", "fine"]), ["f1", "ok"]);
    assert_eq!(redis.cli(&["GET", "orders"]), "not a hash\n");
    assert_eq!(
        stored(&redis),
        HashMap::from([("orders/0".into(), 2), ("fine/0".into(), 1)])
    );
}

#[test]
fn a_record_without_a_key_is_refused_by_set() {
    let redis = Redis::start();
    let mut t = task(
        &redis,
        &[("redis.command", "SET"), ("errors.tolerance", "all")],
    );
    let out = put(
        &mut t,
        &[
            record("t", 0, None, s("lost")),
            record("t", 1, Some("k"), s("kept")),
        ],
    );
    assert_eq!(out.refused.len(), 1);
    assert_eq!(out.refused[0].0, 0);
    assert!(
        out.refused[0].1.contains("without a key"),
        "{:?}",
        out.refused
    );
    assert_eq!(redis.cli(&["GET", "k"]), "kept\n");
}

#[test]
fn redis_down_is_retriable_and_the_retried_batch_lands_once() {
    let mut redis = Redis::start();
    let mut t = task(&redis, &[("redis.command", "RPUSH")]);
    put(&mut t, &[record("q", 0, None, s("before"))]);
    redis.kill9();
    let batch = [
        record("q", 1, None, s("during")),
        record("q", 2, None, s("after")),
    ];
    match t.put(&batch) {
        Err(TaskError::Retriable(_)) => {}
        other => panic!("expected a retriable error, got {other:?}"),
    }
    match t.put(&batch) {
        Err(TaskError::Retriable(_)) => {}
        other => panic!("expected a retriable error again, got {other:?}"),
    }
    redis.restart();
    // The worker retries the same batch, maybe more than once.
    put(&mut t, &batch);
    put(&mut t, &batch);
    assert_eq!(
        lrange(&mut check(&redis), "q"),
        ["before", "during", "after"]
    );
    assert_eq!(stored(&redis), HashMap::from([("q/0".into(), 3)]));
}
