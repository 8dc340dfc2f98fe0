//! Log compaction in virtual time: the latest value per key survives,
//! tombstones go only after `delete.retention.ms`, the dirty ratio decides
//! when a log is cleaned, and the active segment is never touched. In
//! [`MemStorage`] every batch is a segment, so each produce below closes
//! the previous batch and the last batch is the active segment.

mod sim;

use bytes::Bytes;
use sim::{Sim, T0};
use spate_core::broker::Config;
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::{RequestBody, ResponseBody};
use spate_core::records::{BatchView, Record, RecordBatchBuilder};
use spate_core::storage::{MemStorage, Storage, TopicPartition};

/// The cleaner's default backoff.
const BACKOFF: i64 = 15_000;

fn create(sim: &mut Sim, name: &str, configs: &[(&str, &str)]) {
    let r = sim.create_topic_with(name, 1, configs);
    assert_eq!(r.error_code, 0, "{r:?}");
}

/// A batch of (key, value) records; `None` is a tombstone.
fn kv(pairs: &[(&str, Option<&str>)]) -> Bytes {
    kv_from(None, pairs)
}

/// The same from an idempotent producer `(id, epoch, first sequence)`.
fn kv_from(producer: Option<(i64, i16, i32)>, pairs: &[(&str, Option<&str>)]) -> Bytes {
    let mut b = RecordBatchBuilder::new(0, T0);
    if let Some((id, epoch, seq)) = producer {
        b = b.producer(id, epoch, seq);
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        b = b.record(Record::new(
            i as i32,
            i as i64,
            Some(Bytes::copy_from_slice(k.as_bytes())),
            v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        ));
    }
    b.build().expect("batch")
}

fn produce(sim: &mut Sim, topic: &str, pairs: &[(&str, Option<&str>)]) {
    sim.produce_ok(9, topic, 0, kv(pairs));
}

/// Produce v9 error code for one batch.
fn produce_code(sim: &mut Sim, topic: &str, records: Bytes) -> i16 {
    sim.produce_to(98, 9, topic, 0, records).error_code
}

/// One stored batch: base offset, last offset, and its records as
/// (offset, key, value).
type Stored = (i64, i64, Vec<(i64, String, Option<String>)>);

fn parse(set: &[u8]) -> Vec<Stored> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < set.len() {
        let v = BatchView::parse(&set[at..], at).expect("batch");
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let recs = v
            .records()
            .map(|r| {
                let r = r.expect("record");
                (
                    v.header.base_offset + i64::from(r.offset_delta),
                    s(r.key.unwrap_or_default()),
                    r.value.map(s),
                )
            })
            .collect();
        out.push((v.header.base_offset, v.header.last_offset(), recs));
        at += v.size;
    }
    out
}

/// Every batch of `topic`-0 as stored.
fn stored(sim: &Sim, topic: &str) -> Vec<Stored> {
    let tp = TopicPartition::new(topic, 0);
    let chunks = sim.broker.storage().read(&tp, 0, usize::MAX).unwrap();
    chunks.iter().flat_map(|c| parse(c)).collect()
}

/// Every record of `topic`-0 as stored: (offset, key, value).
fn records(sim: &Sim, topic: &str) -> Vec<(i64, String, Option<String>)> {
    stored(sim, topic).into_iter().flat_map(|b| b.2).collect()
}

fn rec(o: i64, k: &str, v: Option<&str>) -> (i64, String, Option<String>) {
    (o, k.into(), v.map(String::from))
}

#[test]
fn the_latest_value_per_key_survives_with_its_offset_and_the_active_segment_is_untouched() {
    let mut sim = Sim::new();
    create(&mut sim, "c", &[("cleanup.policy", "compact")]);
    produce(&mut sim, "c", &[("a", Some("a1")), ("b", Some("b1"))]); // 0-1
    produce(&mut sim, "c", &[("a", Some("a2"))]); // 2
    produce(&mut sim, "c", &[("c", Some("c1")), ("b", Some("b2"))]); // 3-4
    produce(&mut sim, "c", &[("a", Some("a3")), ("a", Some("a4"))]); // 5-6, active
    let before = records(&sim, "c");
    sim.advance(BACKOFF - 1);
    assert_eq!(records(&sim, "c"), before, "nothing before the backoff");
    sim.advance(1);
    assert_eq!(
        records(&sim, "c"),
        vec![
            rec(2, "a", Some("a2")),
            rec(3, "c", Some("c1")),
            rec(4, "b", Some("b2")),
            // The active segment keeps its duplicates.
            rec(5, "a", Some("a3")),
            rec(6, "a", Some("a4")),
        ]
    );
    let tp = TopicPartition::new("c", 0);
    assert_eq!(sim.broker.storage().start_offset(&tp), 0);
    assert_eq!(sim.broker.storage().end_offset(&tp), 7);

    // A consumer fetching from 0 sees the gap, and offset 1 (removed)
    // reads on from the next batch.
    for (from, first) in [(0, 2), (1, 2), (4, 3)] {
        let req = FetchRequest {
            replica_id: -1,
            max_bytes: 1 << 20,
            topics: vec![FetchTopic {
                topic: "c".into(),
                partitions: vec![FetchPartition {
                    partition: 0,
                    fetch_offset: from,
                    partition_max_bytes: 1 << 20,
                    current_leader_epoch: -1,
                    last_fetched_epoch: -1,
                    log_start_offset: -1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            session_epoch: -1,
            ..Default::default()
        };
        let r = match sim.call(1, 12, RequestBody::Fetch(req)) {
            ResponseBody::Fetch(r) => r,
            other => panic!("{other:?}"),
        };
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.error_code, 0);
        assert_eq!(p.high_watermark, 7);
        let set = p.records.as_ref().map(|r| r.to_bytes()).unwrap_or_default();
        let got = parse(&set);
        assert_eq!(got[0].0, first, "fetch from {from}");
    }
}

#[test]
fn a_log_that_is_only_an_active_segment_is_never_compacted() {
    let mut sim = Sim::new();
    create(&mut sim, "c", &[("cleanup.policy", "compact")]);
    produce(
        &mut sim,
        "c",
        &[("a", Some("1")), ("a", Some("2")), ("a", Some("3"))],
    );
    sim.advance(10 * BACKOFF);
    assert_eq!(records(&sim, "c").len(), 3);
}

#[test]
fn tombstones_stay_for_delete_retention_ms_after_their_first_cleaning() {
    let mut sim = Sim::new();
    create(
        &mut sim,
        "t",
        &[
            ("cleanup.policy", "compact"),
            ("delete.retention.ms", "60000"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ],
    );
    produce(&mut sim, "t", &[("a", Some("a1"))]); // 0
    produce(&mut sim, "t", &[("a", None)]); // 1
    produce(&mut sim, "t", &[("b", Some("b1"))]); // 2, active
    sim.advance(BACKOFF);
    let first_clean = sim.now;
    assert_eq!(
        records(&sim, "t"),
        vec![rec(1, "a", None), rec(2, "b", Some("b1"))]
    );
    // Cleanings before the horizon keep the tombstone.
    produce(&mut sim, "t", &[("b", Some("b2"))]); // 3
    sim.advance(BACKOFF);
    produce(&mut sim, "t", &[("c", Some("c1"))]); // 4
                                                  // (b1 goes in the cleaning this triggers; the tombstone stays.)
    sim.advance(first_clean + 60_000 - 1 - sim.now);
    let horizon_minus = records(&sim, "t");
    assert_eq!(
        horizon_minus,
        vec![
            rec(1, "a", None),
            rec(3, "b", Some("b2")),
            rec(4, "c", Some("c1"))
        ]
    );
    // The first cleaning after the horizon removes it; later values stay.
    produce(&mut sim, "t", &[("c", Some("c2"))]); // 5
    sim.advance(BACKOFF);
    assert!(sim.now >= first_clean + 60_000);
    let after = records(&sim, "t");
    assert!(!after.iter().any(|r| r.1 == "a"), "{after:?}");
    assert_eq!(
        after,
        vec![
            rec(3, "b", Some("b2")),
            rec(4, "c", Some("c1")),
            rec(5, "c", Some("c2")),
        ]
    );
}

#[test]
fn the_dirty_ratio_decides_when_a_log_is_cleaned() {
    let mut sim = Sim::new();
    create(&mut sim, "r", &[("cleanup.policy", "compact")]);
    for v in ["v0", "v1", "v2", "v3", "v4"] {
        produce(&mut sim, "r", &[("a", Some(v))]);
    }
    // All dirty (ratio 1): cleaned down to the latest closed value.
    sim.advance(BACKOFF);
    let values = |sim: &Sim| -> Vec<i64> { records(sim, "r").iter().map(|r| r.0).collect() };
    assert_eq!(values(&sim), vec![3, 4]);
    // One clean batch, one dirty batch of the same size: ratio 0.5 is not
    // above the default min.cleanable.dirty.ratio, so nothing happens.
    produce(&mut sim, "r", &[("a", Some("v5"))]);
    sim.advance(10 * BACKOFF);
    assert_eq!(values(&sim), vec![3, 4, 5]);
    // Two dirty batches of three: 0.67 > 0.5.
    produce(&mut sim, "r", &[("a", Some("v6"))]);
    sim.advance(BACKOFF);
    assert_eq!(values(&sim), vec![5, 6]);
}

#[test]
fn min_compaction_lag_keeps_young_records_dirty() {
    let mut sim = Sim::new();
    create(
        &mut sim,
        "l",
        &[
            ("cleanup.policy", "compact"),
            ("min.compaction.lag.ms", "100000"),
        ],
    );
    for v in ["v0", "v1", "v2"] {
        produce(&mut sim, "l", &[("a", Some(v))]);
    }
    // Record timestamps are T0: young until T0 + 100 s.
    sim.advance(3 * BACKOFF);
    assert_eq!(records(&sim, "l").len(), 3);
    sim.advance(100_000);
    assert_eq!(records(&sim, "l").len(), 2);
}

#[test]
fn max_compaction_lag_cleans_a_log_below_the_dirty_ratio() {
    let mut sim = Sim::new();
    create(
        &mut sim,
        "m",
        &[
            ("cleanup.policy", "compact"),
            ("min.cleanable.dirty.ratio", "0.99"),
            ("max.compaction.lag.ms", "60000"),
        ],
    );
    for v in ["v0", "v1", "v2"] {
        produce(&mut sim, "m", &[("a", Some(v))]);
    }
    // The first cleaning finds everything dirty (ratio 1).
    sim.advance(BACKOFF);
    assert_eq!(records(&sim, "m").len(), 2);
    produce(&mut sim, "m", &[("a", Some("v3"))]);
    // Half the log is dirty: below 0.99, and the records (timestamped T0)
    // are not yet older than the lag.
    sim.advance(T0 + 59_000 - sim.now);
    assert_eq!(records(&sim, "m").len(), 3);
    sim.advance(BACKOFF + 2_000);
    assert_eq!(records(&sim, "m").len(), 2);
}

#[test]
fn an_idempotent_producers_last_batch_stays_as_an_empty_header() {
    let mut sim = Sim::new();
    create(&mut sim, "p", &[("cleanup.policy", "compact")]);
    sim.produce_ok(9, "p", 0, kv_from(Some((7, 0, 0)), &[("a", Some("a1"))])); // 0
    sim.produce_ok(9, "p", 0, kv_from(Some((7, 0, 1)), &[("b", Some("b1"))])); // 1
    sim.produce_ok(9, "p", 0, kv_from(Some((8, 0, 0)), &[("x", Some("x"))])); // 2
    sim.produce_ok(9, "p", 0, kv_from(Some((8, 0, 1)), &[("x", Some("y"))])); // 3
    produce(&mut sim, "p", &[("b", Some("b2"))]); // 4
    produce(&mut sim, "p", &[("c", Some("c1"))]); // 5, active
    sim.advance(BACKOFF);
    let batches = stored(&sim, "p");
    let shape: Vec<(i64, usize)> = batches.iter().map(|b| (b.0, b.2.len())).collect();
    // 1: producer 7's last batch, emptied; 2: producer 8's older batch, gone.
    assert_eq!(shape, vec![(0, 1), (1, 0), (3, 1), (4, 1), (5, 1)]);
    // The sequence state survives a restart: 7 goes on at sequence 2.
    let mut sim = sim.restart();
    assert_eq!(
        produce_code(&mut sim, "p", kv_from(Some((7, 0, 5)), &[("d", Some("d"))])),
        45,
        "OUT_OF_ORDER_SEQUENCE_NUMBER"
    );
    sim.produce_ok(9, "p", 0, kv_from(Some((7, 0, 2)), &[("d", Some("d"))]));
}

#[test]
fn keyless_records_are_refused_and_delete_only_topics_are_left_alone() {
    let mut sim = Sim::new();
    create(&mut sim, "c", &[("cleanup.policy", "compact,delete")]);
    let keyless = RecordBatchBuilder::new(0, T0)
        .record(Record::new(0, 0, None, Some(Bytes::from_static(b"v"))))
        .build()
        .unwrap();
    assert_eq!(produce_code(&mut sim, "c", keyless), 87, "INVALID_RECORD");

    create(&mut sim, "d", &[]);
    for v in ["v0", "v1", "v2"] {
        produce(&mut sim, "d", &[("a", Some(v))]);
    }
    sim.advance(5 * BACKOFF);
    assert_eq!(records(&sim, "d").len(), 3);
}

/// KIP-467, as a client sees it: 100 records in one batch, every tenth
/// without a key. The batch is refused INVALID_RECORD naming the 10
/// keyless records (and only them) in `record_errors`, with a message
/// and the log start offset; nothing is appended. Produce v7 has no
/// room for them, and the error alone is answered.
#[test]
fn keyless_records_in_a_batch_are_named_one_by_one() {
    let mut sim = Sim::new();
    create(&mut sim, "c", &[("cleanup.policy", "compact")]);
    let mut b = RecordBatchBuilder::new(0, T0);
    for i in 0..100 {
        let key = (i % 10 != 3).then(|| Bytes::from(format!("k{i}")));
        b = b.record(Record::new(i, 0, key, Some(Bytes::from_static(b"v"))));
    }
    let batch = b.build().unwrap();
    let r = sim.produce_to(98, 9, "c", 0, batch.clone());
    assert_eq!(r.error_code, 87, "INVALID_RECORD: {r:?}");
    let named: Vec<i32> = r.record_errors.iter().map(|e| e.batch_index).collect();
    assert_eq!(named, (0..10).map(|i| i * 10 + 3).collect::<Vec<_>>());
    for e in &r.record_errors {
        let m = e.batch_index_error_message.as_deref().unwrap_or_default();
        assert!(m.contains("key"), "{m}");
    }
    let m = r.error_message.as_deref().unwrap_or_default();
    assert!(m.starts_with("10 records refused"), "{m}");
    assert_eq!((r.base_offset, r.log_start_offset), (-1, 0));
    assert!(records(&sim, "c").is_empty(), "nothing appended");

    let old = sim.produce_to(98, 7, "c", 0, batch);
    assert_eq!(old.error_code, 87);
    assert!(old.record_errors.is_empty());
}

#[test]
fn compact_delete_topics_are_compacted_and_trimmed_by_retention() {
    let mut sim = Sim::new();
    create(
        &mut sim,
        "cd",
        &[
            ("cleanup.policy", "compact,delete"),
            ("retention.ms", "600000"),
        ],
    );
    for v in ["v0", "v1", "v2"] {
        produce(&mut sim, "cd", &[("a", Some(v))]);
    }
    // b0 carries a timestamp 15 minutes after the others.
    let later = RecordBatchBuilder::new(0, T0 + 900_000)
        .record(Record::new(
            0,
            0,
            Some(Bytes::from_static(b"b")),
            Some(Bytes::from_static(b"b0")),
        ))
        .build()
        .unwrap();
    sim.produce_ok(9, "cd", 0, later);
    sim.advance(BACKOFF);
    assert_eq!(
        records(&sim, "cd"),
        vec![rec(2, "a", Some("v2")), rec(3, "b", Some("b0"))]
    );
    // The retention check (every 5 minutes) after T0 + 10 minutes deletes
    // what is older than retention.ms.
    sim.advance(16 * 60_000);
    let tp = TopicPartition::new("cd", 0);
    assert_eq!(sim.broker.storage().start_offset(&tp), 3);
    assert_eq!(records(&sim, "cd"), vec![rec(3, "b", Some("b0"))]);
}

#[test]
fn log_cleaner_enable_false_turns_the_cleaner_off() {
    let config = Config {
        log_cleaner_enable: false,
        ..Config::default()
    };
    let mut sim = Sim::with(config, MemStorage::new());
    create(&mut sim, "c", &[("cleanup.policy", "compact")]);
    for v in ["v0", "v1", "v2"] {
        produce(&mut sim, "c", &[("a", Some(v))]);
    }
    sim.advance(10 * BACKOFF);
    assert_eq!(records(&sim, "c").len(), 3);
}

mod model {
    //! Compaction against a model: after any interleaving of keyed
    //! produces (tombstones included) and time, the log holds only records
    //! that were written, at their offsets; the last record of every key
    //! is the last one written (or, for a deleted key, nothing); and below
    //! the active segment no key appears twice.

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Produce(Vec<(u8, Option<u8>)>),
        Advance(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => proptest::collection::vec((0u8..6, proptest::option::weighted(0.8, 0u8..100)), 1..4)
                .prop_map(Op::Produce),
            1 => (0u32..40_000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn compaction_keeps_exactly_the_latest_records(ops in proptest::collection::vec(op(), 1..40)) {
            let mut sim = Sim::new();
            create(
                &mut sim,
                "m",
                &[
                    ("cleanup.policy", "compact"),
                    ("min.cleanable.dirty.ratio", "0"),
                    ("delete.retention.ms", "30000"),
                ],
            );
            // offset -> (key, value) of everything written.
            let mut written: BTreeMap<i64, (String, Option<String>)> = BTreeMap::new();
            for op in &ops {
                match op {
                    Op::Produce(recs) => {
                        let pairs: Vec<(String, Option<String>)> = recs
                            .iter()
                            .map(|(k, v)| (format!("k{k}"), v.map(|v| format!("v{v}"))))
                            .collect();
                        let refs: Vec<(&str, Option<&str>)> =
                            pairs.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
                        produce(&mut sim, "m", &refs);
                        for p in pairs {
                            written.insert(written.len() as i64, p);
                        }
                    }
                    Op::Advance(ms) => sim.advance(i64::from(*ms)),
                }
            }
            sim.advance(2 * BACKOFF);
            let log = records(&sim, "m");
            let batches = stored(&sim, "m");
            let active_base = batches.last().map_or(0, |b| b.0);
            let tp = TopicPartition::new("m", 0);
            prop_assert_eq!(sim.broker.storage().end_offset(&tp), written.len() as i64);
            prop_assert!(log.windows(2).all(|w| w[0].0 < w[1].0));
            for (o, k, v) in &log {
                prop_assert_eq!(written.get(o), Some(&(k.clone(), v.clone())), "offset {}", o);
            }
            let mut last_written: BTreeMap<&str, (i64, &Option<String>)> = BTreeMap::new();
            for (o, (k, v)) in &written {
                last_written.insert(k.as_str(), (*o, v));
            }
            let mut last_in_log: BTreeMap<&str, (i64, &Option<String>)> = BTreeMap::new();
            let mut closed_keys = std::collections::BTreeSet::new();
            for (o, k, v) in &log {
                last_in_log.insert(k.as_str(), (*o, v));
                if *o < active_base {
                    prop_assert!(closed_keys.insert(k.clone()), "{} twice below {}", k, active_base);
                }
            }
            for (k, (o, v)) in &last_written {
                match last_in_log.get(k) {
                    Some(got) => prop_assert_eq!(*got, (*o, *v), "{}", k),
                    // Only a deleted key may vanish (its tombstone expired).
                    None => prop_assert!(v.is_none(), "{} lost its value", k),
                }
            }
        }
    }
}
