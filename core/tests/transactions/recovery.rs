//! Time and restarts: a transaction past its timeout aborted by the
//! coordinator (its producer fenced), an Ongoing transaction and a
//! prepared commit across a restart, marker writes that fail and are
//! retried, and pending transactional offsets rebuilt from
//! `__consumer_offsets`.

use std::fmt;

use bytes::Bytes;
use spate_core::broker::Config;
use spate_core::protocol::{ErrorCode, Uuid};
use spate_core::storage::{AbortedTxn, TopicPartition};
use spate_core::storage::{BatchMeta, Chunks, MemError, MemStorage, SegmentInfo, Storage};

use crate::gutil;
use crate::sim::Sim;
use crate::util::*;

#[test]
fn a_transaction_past_its_timeout_is_aborted_and_its_producer_fenced() {
    let mut s = two_topics();
    let (code, pid, epoch) = init_with(&mut s, 4, "tx", 1000, (-1, -1));
    assert_eq!(code, 0);
    let p = (pid, epoch);
    s.advance(100);
    add(&mut s, "tx", p, &[("a", 0), ("b", 0)]);
    produce_ok(&mut s, "tx", p, 0, ("a", 0), 2);
    s.produce_ok(9, "a", 0, crate::sim::batch(1, "plain"));
    s.advance(999);
    assert_eq!(state(&mut s, "tx"), "Ongoing", "one millisecond to go");
    assert_eq!(latest(&mut s, "a", 0, 1), 0, "the LSO is stuck on it");
    s.advance(1);
    let d = describe(&mut s, "tx");
    assert_eq!(d.transaction_state, "CompleteAbort");
    assert_eq!(d.producer_epoch, epoch + 1, "fenced");
    assert_eq!(latest(&mut s, "a", 0, 1), 4, "the LSO is free");
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(entries(&rc)[2..], [Entry::Marker(3, pid, false, 0)]);
    assert_eq!(committed_values(&rc), ["plain-0"]);
    assert_eq!(
        entries(&fetch(&mut s, "b", 0, 0, false)),
        [Entry::Marker(0, pid, false, 0)]
    );
    // The producer learns it was fenced.
    assert_eq!(end(&mut s, "tx", p, true), ErrorCode::PRODUCER_FENCED.0);
    let r = produce(&mut s, 9, Some("tx"), "a", 0, txn_batch(p, 2, 1, "late"));
    assert_eq!(r.error_code, ErrorCode::INVALID_PRODUCER_EPOCH.0);
    assert_eq!(
        add_v3(&mut s, 3, "tx", p, &[("a", 0)])[0].2,
        ErrorCode::PRODUCER_FENCED.0
    );
    // A new producer goes on past the fenced epoch.
    assert_eq!(init(&mut s, "tx"), (pid, epoch + 2));
    // Nothing else is due for the transaction.
    s.advance(3_600_000);
    assert_eq!(state(&mut s, "tx"), "Empty");
}

#[test]
fn an_ongoing_transaction_survives_a_restart_until_its_timeout() {
    let mut s = two_topics();
    let (_, pid, epoch) = init_with(&mut s, 4, "tx", 5000, (-1, -1));
    let p = (pid, epoch);
    add(&mut s, "tx", p, &[("a", 0)]);
    produce_ok(&mut s, "tx", p, 0, ("a", 0), 2);
    s.produce_ok(9, "a", 0, crate::sim::batch(1, "plain"));
    s.advance(1000);
    let mut s = s.restart();
    let d = describe(&mut s, "tx");
    assert_eq!(
        (d.transaction_state.as_ref(), d.producer_epoch),
        ("Ongoing", epoch)
    );
    assert_eq!(
        latest(&mut s, "a", 0, 1),
        0,
        "the open transaction is rebuilt"
    );
    assert_eq!(producers(&mut s, "a", 0)[0].current_txn_start_offset, 0);
    s.advance(3999);
    assert_eq!(state(&mut s, "tx"), "Ongoing");
    s.advance(1);
    assert_eq!(state(&mut s, "tx"), "CompleteAbort");
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(rc.last_stable_offset, 4);
    assert_eq!(committed_values(&rc), ["plain-0"], "never visible");
    // And once more across a restart: the abort is kept.
    let mut s = s.restart();
    assert_eq!(state(&mut s, "tx"), "CompleteAbort");
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(committed_values(&rc), ["plain-0"]);
    assert_eq!(rc.aborted_transactions.map(|a| a.len()), Some(1));
}

/// A [`MemStorage`] whose appends to one partition fail while `broken`.
#[derive(Debug, Clone, Default)]
struct Faulty {
    mem: MemStorage,
    broken: Option<TopicPartition>,
}

#[derive(Debug)]
enum Fault {
    Broken,
    Mem(MemError),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Broken => write!(f, "broken on purpose"),
            Fault::Mem(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Fault {}

impl Storage for Faulty {
    type Error = Fault;

    fn logs(&self) -> Vec<TopicPartition> {
        self.mem.logs()
    }
    fn create_log(&mut self, tp: &TopicPartition, id: Uuid) -> Result<(), Fault> {
        self.mem.create_log(tp, id).map_err(Fault::Mem)
    }
    fn delete_log(&mut self, tp: &TopicPartition) -> Result<(), Fault> {
        self.mem.delete_log(tp).map_err(Fault::Mem)
    }
    fn append(&mut self, tp: &TopicPartition, batch: Bytes, meta: BatchMeta) -> Result<(), Fault> {
        if self.broken.as_ref() == Some(tp) {
            return Err(Fault::Broken);
        }
        self.mem.append(tp, batch, meta).map_err(Fault::Mem)
    }
    fn read(&self, tp: &TopicPartition, offset: i64, max: usize) -> Result<Chunks, Fault> {
        self.mem.read(tp, offset, max).map_err(Fault::Mem)
    }
    fn start_offset(&self, tp: &TopicPartition) -> i64 {
        self.mem.start_offset(tp)
    }
    fn end_offset(&self, tp: &TopicPartition) -> i64 {
        self.mem.end_offset(tp)
    }
    fn offset_for_timestamp(&self, tp: &TopicPartition, ts: i64) -> Result<Option<i64>, Fault> {
        self.mem.offset_for_timestamp(tp, ts).map_err(Fault::Mem)
    }
    fn delete_before(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), Fault> {
        self.mem.delete_before(tp, offset).map_err(Fault::Mem)
    }
    fn truncate_to(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), Fault> {
        self.mem.truncate_to(tp, offset).map_err(Fault::Mem)
    }
    fn truncate_fully_and_start_at(&mut self, tp: &TopicPartition, at: i64) -> Result<(), Fault> {
        self.mem
            .truncate_fully_and_start_at(tp, at)
            .map_err(Fault::Mem)
    }
    fn segments(&self, tp: &TopicPartition) -> Vec<SegmentInfo> {
        self.mem.segments(tp)
    }
    fn index_aborted_txn(&mut self, tp: &TopicPartition, txn: &AbortedTxn) -> Result<(), Fault> {
        self.mem.index_aborted_txn(tp, txn).map_err(Fault::Mem)
    }
}

/// A transaction of "tx" over a-0 and b-0, with data in both, whose
/// commit stopped after PrepareCommit: b-0's marker could not be written.
fn stuck_in_prepare_commit() -> (Sim<Faulty>, (i64, i16)) {
    let mut s = Sim::over(Config::default(), Faulty::default());
    s.create_topic("a", 1);
    s.create_topic("b", 1);
    let p = init(&mut s, "tx");
    add(&mut s, "tx", p, &[("a", 0), ("b", 0)]);
    produce_ok(&mut s, "tx", p, 0, ("a", 0), 2);
    produce_ok(&mut s, "tx", p, 0, ("b", 0), 1);
    s.broker.storage_mut().broken = Some(tp("b", 0));
    assert_eq!(end(&mut s, "tx", p, true), ErrorCode::NOT_COORDINATOR.0);
    assert_eq!(state(&mut s, "tx"), "PrepareCommit");
    // a-0 got its marker; b-0 did not and stays unstable.
    assert_eq!(
        entries(&fetch(&mut s, "a", 0, 0, false))[1..],
        [Entry::Marker(2, p.0, true, 0)]
    );
    assert_eq!(latest(&mut s, "b", 0, 1), 0);
    // The client retries: the commit is under way.
    assert_eq!(
        end(&mut s, "tx", p, true),
        ErrorCode::CONCURRENT_TRANSACTIONS.0
    );
    assert_eq!(end(&mut s, "tx", p, false), ErrorCode::INVALID_TXN_STATE.0);
    assert_eq!(
        add_v3(&mut s, 3, "tx", p, &[("a", 0)])[0].2,
        ErrorCode::CONCURRENT_TRANSACTIONS.0
    );
    assert_eq!(
        init_with(&mut s, 4, "tx", 60_000, (-1, -1)).0,
        ErrorCode::CONCURRENT_TRANSACTIONS.0
    );
    // The coordinator retries on its own, and fails again.
    s.advance(500);
    assert_eq!(state(&mut s, "tx"), "PrepareCommit");
    (s, p)
}

#[test]
fn a_prepared_commit_is_finished_at_start() {
    let (s, p) = stuck_in_prepare_commit();
    let mem = s.broker.storage().mem.clone();
    let mut s = Sim::over(Config::default(), mem);
    assert_eq!(state(&mut s, "tx"), "CompleteCommit");
    let b = fetch(&mut s, "b", 0, 0, true);
    assert_eq!(b.last_stable_offset, 2);
    assert_eq!(entries(&b)[1..], [Entry::Marker(1, p.0, true, 0)]);
    assert_eq!(committed_values(&b), ["tx-0"]);
    assert_eq!(
        committed_values(&fetch(&mut s, "a", 0, 0, true)),
        ["tx-0", "tx-1"]
    );
    assert_eq!(producers(&mut s, "b", 0)[0].current_txn_start_offset, -1);
    // The producer's retry is answered.
    assert_eq!(end(&mut s, "tx", p, true), 0);
}

#[test]
fn a_prepared_commit_is_retried_until_the_markers_are_written() {
    let (mut s, p) = stuck_in_prepare_commit();
    s.broker.storage_mut().broken = None;
    s.advance(500);
    assert_eq!(state(&mut s, "tx"), "CompleteCommit");
    assert_eq!(committed_values(&fetch(&mut s, "b", 0, 0, true)), ["tx-0"]);
    assert_eq!(end(&mut s, "tx", p, true), 0);
    assert!(s.broker.poll_timeout().is_some());
}

#[test]
fn pending_offsets_are_rebuilt_after_a_restart() {
    let mut s = gutil::sim(0);
    let (a, _b) = gutil::stable_pair(&mut s, "g");
    let p = init(&mut s, "tx");
    assert_eq!(add_offsets(&mut s, "tx", p, "g"), 0);
    assert_eq!(txn_commit(&mut s, 3, "tx", p, "g", 1, &a, 42), 0);
    let op = offsets_partition("g");
    let lso = latest(&mut s, "__consumer_offsets", op, 1);
    assert!(lso < latest(&mut s, "__consumer_offsets", op, 0));
    let mut s = s.restart();
    assert_eq!(
        fetch_offset(&mut s, "g", true),
        (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT.0)
    );
    assert_eq!(fetch_offset(&mut s, "g", false), (-1, 0));
    assert_eq!(
        latest(&mut s, "__consumer_offsets", op, 1),
        lso,
        "the offsets partition's open transaction is rebuilt too"
    );
    assert_eq!(end(&mut s, "tx", p, true), 0);
    assert_eq!(fetch_offset(&mut s, "g", true), (42, 0));
    assert_eq!(
        latest(&mut s, "__consumer_offsets", op, 1),
        latest(&mut s, "__consumer_offsets", op, 0)
    );
    let mut s = s.restart();
    assert_eq!(
        fetch_offset(&mut s, "g", true),
        (42, 0),
        "the commit is kept"
    );
}
