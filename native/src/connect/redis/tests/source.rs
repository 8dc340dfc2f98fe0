//! The source: a stream and a list, with a crash before and after
//! `commit_record` (or `commit_records`, a batch), and Redis restarted
//! under it.

use redis::Commands as _;
use spate_e2e::redis::Redis;

use super::{check, lrange, props, retry};
use crate::connect::data::Value;
use crate::connect::redis::source::RedisSourceTask;
use crate::connect::task::{
    OffsetReader, RecordAck, SourceOffset, SourcePartition, SourceRecord, SourceTask, TaskError,
};

/// The worker's offset store: the Redis source keeps its state in Redis
/// and reads none.
struct NoOffsets;

impl OffsetReader for NoOffsets {
    fn offset(&self, _partition: &SourcePartition) -> Option<SourceOffset> {
        None
    }
}

fn task(redis: &Redis, pairs: &[(&str, &str)]) -> RedisSourceTask {
    let mut all = vec![("name", "redis-source"), ("topic", "events")];
    all.extend_from_slice(pairs);
    let mut t = RedisSourceTask::default();
    let p = props(redis, &all);
    retry("start", || t.start(&p, &NoOffsets));
    t
}

/// Polls until `n` records came (each poll waits at most about a second).
fn poll_n(t: &mut RedisSourceTask, n: usize) -> Vec<SourceRecord> {
    let mut got = Vec::new();
    for _ in 0..20 {
        if got.len() >= n {
            break;
        }
        got.extend(retry("poll", || t.poll()));
    }
    assert_eq!(got.len(), n, "records: {got:?}");
    got
}

/// What the broker would answer for the record at `offset`.
fn ack(offset: i64) -> RecordAck {
    RecordAck {
        partition: 0,
        offset,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// A stream record's `order` field.
fn order_field(r: &SourceRecord) -> String {
    match &r.value.value {
        Value::Map(fields) => fields
            .iter()
            .find(|(f, _)| *f == Value::String("order".into()))
            .map(|(_, v)| text(v))
            .expect("an order field"),
        other => panic!("not a map: {other:?}"),
    }
}

#[test]
fn a_stream_is_read_as_a_group_and_unacknowledged_entries_come_again_after_a_crash() {
    let redis = Redis::start();
    for (id, order) in [("1000-0", "o1"), ("1001-0", "o2"), ("1002-0", "o3")] {
        redis.cli(&["XADD", "orders", id, "order", order, "amount", "5"]);
    }
    let pairs = [
        ("redis.stream", "orders"),
        ("redis.stream.key.field", "order"),
    ];
    let mut first = task(&redis, &pairs);
    let records = poll_n(&mut first, 3);
    let keys: Vec<String> = records.iter().map(|r| text(&r.key.value)).collect();
    assert_eq!(keys, ["o1", "o2", "o3"]);
    assert_eq!(records[0].topic, "events");
    assert_eq!(records[0].timestamp, Some(1000));
    assert!(records[0].value.schema.is_none(), "a schemaless map");
    assert_eq!(
        records[0].value.value,
        Value::Map(vec![
            (Value::String("order".into()), Value::String("o1".into())),
            (Value::String("amount".into()), Value::String("5".into())),
        ])
    );
    // The broker acknowledged the first record only; then a crash.
    retry("commit_record", || first.commit_record(&records[0], ack(0)));
    assert_eq!(
        redis.cli_lines(&["XPENDING", "orders", "connect-redis-source"])[0],
        "2"
    );
    drop(first);

    let mut second = task(&redis, &pairs);
    let again = poll_n(&mut second, 2);
    assert_eq!(
        again.iter().map(order_field).collect::<Vec<_>>(),
        ["o2", "o3"]
    );
    // The broker acknowledged both in one produced batch: one XACK.
    let batch: Vec<(&SourceRecord, RecordAck)> =
        again.iter().zip(1..).map(|(r, o)| (r, ack(o))).collect();
    retry("commit_records", || second.commit_records(&batch));
    assert_eq!(
        redis.cli_lines(&["XPENDING", "orders", "connect-redis-source"])[0],
        "0"
    );
    redis.cli(&["XADD", "orders", "1003-0", "order", "o4"]);
    let new = poll_n(&mut second, 1);
    assert_eq!(order_field(&new[0]), "o4");
    retry("commit_record", || second.commit_record(&new[0], ack(3)));
    assert_eq!(
        redis.cli_lines(&["XPENDING", "orders", "connect-redis-source"])[0],
        "0"
    );
    drop(second);

    // Everything was acknowledged: a third task gets nothing.
    let mut third = task(&redis, &pairs);
    assert!(retry("poll", || third.poll()).is_empty());
}

#[test]
fn a_stream_record_is_keyed_by_its_entry_id_by_default() {
    let redis = Redis::start();
    let mut t = task(&redis, &[("redis.stream", "s")]);
    let id = redis.cli(&["XADD", "s", "*", "f", "v"]).trim().to_string();
    let records = poll_n(&mut t, 1);
    assert_eq!(text(&records[0].key.value), id);
    assert_eq!(
        records[0].source_offset.get("id").and_then(|v| v.as_str()),
        Some(id.as_str())
    );
}

#[test]
fn a_list_is_drained_through_a_processing_list_and_resumed_after_a_crash() {
    let redis = Redis::start();
    redis.cli(&["RPUSH", "jobs", "a", "b", "c"]);
    let pairs = [("redis.list", "jobs")];
    let processing = "jobs:processing:redis-source:0";
    let mut first = task(&redis, &pairs);
    let records = poll_n(&mut first, 3);
    let values: Vec<String> = records.iter().map(|r| text(&r.value.value)).collect();
    assert_eq!(values, ["a", "b", "c"]);
    assert!(lrange(&mut check(&redis), "jobs").is_empty());
    assert_eq!(lrange(&mut check(&redis), processing), ["a", "b", "c"]);
    retry("commit_record", || first.commit_record(&records[0], ack(0)));
    assert_eq!(lrange(&mut check(&redis), processing), ["b", "c"]);
    drop(first); // a crash before b and c were acknowledged

    let mut second = task(&redis, &pairs);
    let again = poll_n(&mut second, 2);
    let values: Vec<String> = again.iter().map(|r| text(&r.value.value)).collect();
    assert_eq!(values, ["b", "c"]);
    // The broker acknowledged both in one produced batch.
    let batch: Vec<(&SourceRecord, RecordAck)> =
        again.iter().zip(1..).map(|(r, o)| (r, ack(o))).collect();
    retry("commit_records", || second.commit_records(&batch));
    assert!(lrange(&mut check(&redis), processing).is_empty());
    redis.cli(&["RPUSH", "jobs", "d"]);
    let new = poll_n(&mut second, 1);
    assert_eq!(text(&new[0].value.value), "d");
    retry("commit_record", || second.commit_record(&new[0], ack(3)));
    drop(second);

    let mut third = task(&redis, &pairs);
    assert!(retry("poll", || third.poll()).is_empty());
    let len: usize = check(&redis).llen(processing).expect("LLEN");
    assert_eq!(len, 0);
}

#[test]
fn duplicate_list_entries_are_each_delivered_and_acknowledged() {
    let redis = Redis::start();
    redis.cli(&["RPUSH", "jobs", "same", "same"]);
    let mut t = task(&redis, &[("redis.list", "jobs")]);
    let records = poll_n(&mut t, 2);
    retry("commit_record", || t.commit_record(&records[0], ack(0)));
    assert_eq!(
        lrange(&mut check(&redis), "jobs:processing:redis-source:0"),
        ["same"]
    );
    retry("commit_record", || t.commit_record(&records[1], ack(1)));
    assert!(lrange(&mut check(&redis), "jobs:processing:redis-source:0").is_empty());
}

#[test]
fn redis_down_is_retriable_and_nothing_is_lost() {
    let mut redis = Redis::start();
    redis.cli(&["XADD", "s", "1-0", "n", "1"]);
    let mut t = task(&redis, &[("redis.stream", "s")]);
    let first = poll_n(&mut t, 1);
    redis.kill9();
    match t.poll() {
        Err(TaskError::Retriable(_)) => {}
        other => panic!("expected a retriable error, got {other:?}"),
    }
    match t.commit_record(&first[0], ack(0)) {
        Err(TaskError::Retriable(_)) => {}
        other => panic!("expected a retriable error, got {other:?}"),
    }
    redis.restart();
    // The worker retries the acknowledgement; new entries flow again and
    // the one in flight is not delivered twice.
    retry("commit_record", || t.commit_record(&first[0], ack(0)));
    redis.cli(&["XADD", "s", "2-0", "n", "2"]);
    let next = poll_n(&mut t, 1);
    assert_eq!(
        next[0].source_offset.get("id").and_then(|v| v.as_str()),
        Some("2-0")
    );
    retry("commit_record", || t.commit_record(&next[0], ack(1)));
    assert_eq!(
        redis.cli_lines(&["XPENDING", "s", "connect-redis-source"])[0],
        "0"
    );
}

#[test]
fn a_list_source_outlives_a_redis_restart_without_delivering_twice() {
    let mut redis = Redis::start();
    redis.cli(&["RPUSH", "jobs", "a"]);
    let mut t = task(&redis, &[("redis.list", "jobs")]);
    let first = poll_n(&mut t, 1);
    redis.kill9();
    match t.poll() {
        Err(TaskError::Retriable(_)) => {}
        other => panic!("expected a retriable error, got {other:?}"),
    }
    redis.restart();
    // `a` is still in the processing list, and still in flight: the task
    // reads the processing list again but does not deliver it twice.
    assert!(retry("poll", || t.poll()).is_empty());
    retry("commit_record", || t.commit_record(&first[0], ack(0)));
    redis.cli(&["RPUSH", "jobs", "b"]);
    let next = poll_n(&mut t, 1);
    assert_eq!(text(&next[0].value.value), "b");
    retry("commit_record", || t.commit_record(&next[0], ack(1)));
    assert!(lrange(&mut check(&redis), "jobs:processing:redis-source:0").is_empty());
}

#[test]
fn entries_read_for_the_task_but_never_seen_by_it_come_after_a_broken_connection() {
    let mut redis = Redis::start();
    let mut t = task(&redis, &[("redis.stream", "s")]);
    assert!(retry("poll", || t.poll()).is_empty());
    redis.cli(&["XADD", "s", "1-0", "n", "1"]);
    // As if an XREADGROUP reply were lost with the connection: the entry
    // is pending for this task's consumer, which never saw it.
    redis.cli(&[
        "XREADGROUP",
        "GROUP",
        "connect-redis-source",
        "redis-source-0",
        "STREAMS",
        "s",
        ">",
    ]);
    redis.kill9();
    assert!(matches!(t.poll(), Err(TaskError::Retriable(_))));
    redis.restart();
    let lost = poll_n(&mut t, 1);
    assert_eq!(
        lost[0].source_offset.get("id").and_then(|v| v.as_str()),
        Some("1-0")
    );
    retry("commit_record", || t.commit_record(&lost[0], ack(0)));
    assert_eq!(
        redis.cli_lines(&["XPENDING", "s", "connect-redis-source"])[0],
        "0"
    );
}

#[test]
fn a_deleted_stream_and_group_are_made_again() {
    let redis = Redis::start();
    let mut t = task(&redis, &[("redis.stream", "s")]);
    assert!(retry("poll", || t.poll()).is_empty());
    redis.cli(&["DEL", "s"]);
    // NOGROUP: the task makes the stream and group again and reads on.
    assert!(retry("poll", || t.poll()).is_empty());
    redis.cli(&["XADD", "s", "5-0", "n", "5"]);
    let records = poll_n(&mut t, 1);
    assert_eq!(
        records[0].source_offset.get("id").and_then(|v| v.as_str()),
        Some("5-0")
    );
}
