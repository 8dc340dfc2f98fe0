//! The log cleaner and transactions, as Kafka's cleaner treats them: an
//! aborted transaction's records go, and a marker whose transaction has no
//! batch left gets a delete horizon and goes after `delete.retention.ms`.

use bytes::Bytes;
use spate_core::records::{BatchView, Record, RecordBatchBuilder};
use spate_core::storage::{Storage, TopicPartition};

use crate::sim::{Sim, T0};
use crate::util::{add, end, find_coordinator, init, produce};

/// The cleaner's default backoff.
const BACKOFF: i64 = 15_000;

/// Runs the cleaner: two of its backoffs, as its first run after a quiet
/// spell may clean an internal topic first.
fn clean(s: &mut Sim) {
    s.advance(BACKOFF);
    s.advance(BACKOFF);
}

/// One keyed record in a transactional batch of `producer` at `seq`.
fn keyed(producer: (i64, i16), seq: i32, key: &str, value: &str) -> Bytes {
    RecordBatchBuilder::new(0, T0)
        .producer(producer.0, producer.1, seq)
        .transactional(true)
        .record(Record::new(
            0,
            0,
            Some(Bytes::copy_from_slice(key.as_bytes())),
            Some(Bytes::copy_from_slice(value.as_bytes())),
        ))
        .build()
        .expect("batch")
}

/// A plain keyed record.
fn plain(s: &mut Sim, key: &str, value: &str) {
    let b = RecordBatchBuilder::new(0, T0)
        .record(Record::new(
            0,
            0,
            Some(Bytes::copy_from_slice(key.as_bytes())),
            Some(Bytes::copy_from_slice(value.as_bytes())),
        ))
        .build()
        .expect("batch");
    s.produce_ok(9, "c", 0, b);
}

/// Every stored batch of `c`-0: (base offset, control, keys of its records).
fn stored(s: &Sim) -> Vec<(i64, bool, Vec<String>)> {
    let tp = TopicPartition::new("c", 0);
    let chunks = s.broker.storage().read(&tp, 0, usize::MAX).expect("read");
    let mut out = Vec::new();
    for c in &chunks {
        let mut at = 0;
        while at < c.len() {
            let v = BatchView::parse(&c[at..], 0).expect("batch");
            let keys = if v.header.is_control() {
                Vec::new()
            } else {
                v.records()
                    .map(|r| {
                        String::from_utf8_lossy(r.expect("record").key.unwrap_or_default())
                            .into_owned()
                    })
                    .collect()
            };
            out.push((v.header.base_offset, v.header.is_control(), keys));
            at += v.size;
        }
    }
    out
}

#[test]
fn aborted_records_and_markers_of_emptied_transactions_are_cleaned_away() {
    let mut s = Sim::new();
    let r = s.create_topic_with(
        "c",
        1,
        &[
            ("cleanup.policy", "compact"),
            ("delete.retention.ms", "60000"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ],
    );
    assert_eq!(r.error_code, 0);
    find_coordinator(&mut s, "tx");
    let p = init(&mut s, "tx");
    let txn = |s: &mut Sim, seq: i32, key: &str, commit: bool| {
        add(s, "tx", p, &[("c", 0)]);
        let r = produce(s, 9, Some("tx"), "c", 0, keyed(p, seq, key, "v"));
        assert_eq!(r.error_code, 0, "{r:?}");
        assert_eq!(end(s, "tx", p, commit), 0);
    };
    txn(&mut s, 0, "k", true); // 0 data, 1 COMMIT
    txn(&mut s, 1, "k", false); // 2 data, 3 ABORT
    txn(&mut s, 2, "j", true); // 4 data, 5 COMMIT
    plain(&mut s, "k", "v2"); // 6: supersedes offset 0
    plain(&mut s, "z", "1"); // 7, active
    let offsets = |s: &Sim| -> Vec<i64> { stored(s).iter().map(|b| b.0).collect() };
    assert_eq!(offsets(&s), [0, 1, 2, 3, 4, 5, 6, 7]);

    // First cleaning: k@0 is superseded and the aborted k@2 goes; their
    // markers stay, as their batches were still there when read.
    clean(&mut s);
    assert_eq!(offsets(&s), [1, 3, 4, 5, 6, 7], "{:?}", stored(&s));
    // Second cleaning: the markers of 0 and 2 have no batch left and get a
    // delete horizon; the marker of 4 keeps its transaction's record.
    plain(&mut s, "z", "2"); // 8
    clean(&mut s);
    assert_eq!(offsets(&s), [1, 3, 4, 5, 6, 7, 8], "{:?}", stored(&s));
    // After delete.retention.ms they go.
    plain(&mut s, "z", "3"); // 9
    s.advance(60_000);
    plain(&mut s, "z", "4"); // 10
    clean(&mut s);
    let after = stored(&s);
    assert_eq!(
        after.iter().map(|b| (b.0, b.1)).take(3).collect::<Vec<_>>(),
        [(4, false), (5, true), (6, false)],
        "{after:?}"
    );
    assert_eq!(after[0].2, ["j"]);
}
