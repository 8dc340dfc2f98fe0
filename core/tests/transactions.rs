//! Transactions through the whole broker, in virtual time: finding the
//! coordinator, InitProducerId, AddPartitionsToTxn and transactional
//! Produce here; ending transactions, markers and the last stable offset
//! in `transactions/end.rs`; offsets in transactions in
//! `transactions/offsets.rs`; timeouts and restarts in
//! `transactions/recovery.rs`; the admin APIs in `transactions/admin.rs`.

#[path = "transactions/admin.rs"]
mod admin;
#[path = "transactions/compaction.rs"]
mod compaction;
#[path = "transactions/end.rs"]
mod end;
#[path = "groups/util.rs"]
#[allow(dead_code)]
mod gutil;
#[path = "transactions/offsets.rs"]
mod offsets;
#[path = "transactions/recovery.rs"]
mod recovery;
mod sim;
#[path = "transactions/util.rs"]
#[allow(dead_code)]
mod util;

use spate_core::broker::TRANSACTION_STATE_TOPIC;
use spate_core::protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnRequest;
use spate_core::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use util::*;

const FENCED: i16 = ErrorCode::PRODUCER_FENCED.0;
const BAD_EPOCH: i16 = ErrorCode::INVALID_PRODUCER_EPOCH.0;
const BAD_MAPPING: i16 = ErrorCode::INVALID_PRODUCER_ID_MAPPING.0;
const BAD_STATE: i16 = ErrorCode::INVALID_TXN_STATE.0;
/// TRANSACTION_ABORTABLE (KIP-890): for clients that know it.
const ABORTABLE: i16 = ErrorCode::TRANSACTION_ABORTABLE.0;

#[test]
fn find_coordinator_for_transactions_creates_the_state_topic() {
    let mut s = sim::Sim::new();
    assert!(s.broker.topic_names().is_empty());
    // Before the coordinator is found, there is no state topic to write to.
    let early = InitProducerIdRequest {
        transactional_id: Some("tx".into()),
        transaction_timeout_ms: 1000,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    };
    match s.call(PRODUCER, 4, RequestBody::InitProducerId(early)) {
        ResponseBody::InitProducerId(r) => assert_eq!(
            (r.error_code, r.producer_id),
            (ErrorCode::NOT_COORDINATOR.0, -1)
        ),
        other => panic!("{other:?}"),
    }
    assert!(s.broker.transactions().is_empty(), "nothing half-written");
    let r = sim::coordinator::find_coordinator(&mut s, 5, "tx", 1);
    assert_eq!(r.error_code, 0, "{r:?}");
    assert_eq!(r.node_id, s.broker.config().node_id);
    assert_eq!(r.port, s.broker.config().advertised_port);
    let (_, _, partitions) = s
        .broker
        .topics()
        .into_iter()
        .find(|(t, _, _)| t == TRANSACTION_STATE_TOPIC)
        .expect("__transaction_state created");
    assert_eq!(partitions, 50, "transaction.state.log.num.partitions");
    // v4 batches keys; asking again creates nothing new.
    let req = FindCoordinatorRequest {
        key_type: 1,
        coordinator_keys: vec!["tx".into(), "other".into()],
        ..Default::default()
    };
    match s.call(5, 4, RequestBody::FindCoordinator(req)) {
        ResponseBody::FindCoordinator(r) => {
            let keys: Vec<_> = r.coordinators.iter().map(|c| c.key.to_string()).collect();
            assert_eq!(keys, ["tx", "other"]);
            assert!(r.coordinators.iter().all(|c| c.error_code == 0), "{r:?}");
        }
        other => panic!("{other:?}"),
    }
    let topics = s.broker.topic_names();
    assert_eq!(topics, [TRANSACTION_STATE_TOPIC], "nothing else created");
}

#[test]
fn init_producer_id_bumps_fences_and_recovers() {
    let mut s = two_topics();
    let (pid, e0) = init(&mut s, "tx");
    assert_eq!(e0, 0);
    assert!(pid >= 0);
    let (pid1, e1) = init(&mut s, "tx");
    assert_eq!((pid1, e1), (pid, 1), "same id, next epoch");
    // The producer of epoch 0, recovering (KIP-360), was fenced.
    assert_eq!(
        init_with(&mut s, 4, "tx", 60_000, (pid, 0)),
        (FENCED, -1, -1)
    );
    assert_eq!(init_with(&mut s, 5, "tx", 60_000, (pid, 0)).0, FENCED);
    assert_eq!(
        init_with(&mut s, 3, "tx", 60_000, (pid, 0)),
        (BAD_EPOCH, -1, -1),
        "v3 knows no PRODUCER_FENCED"
    );
    // The current producer recovers with its id and epoch.
    assert_eq!(init_with(&mut s, 4, "tx", 60_000, (pid, 1)), (0, pid, 2));
    // Its answer was lost: the retry gets the same.
    assert_eq!(init_with(&mut s, 4, "tx", 60_000, (pid, 1)), (0, pid, 2));
    assert_eq!(init_with(&mut s, 4, "tx", 60_000, (pid + 100, 2)).0, FENCED);
    // Another id gets another producer id.
    let (other, e) = init(&mut s, "tx2");
    assert_ne!(other, pid);
    assert_eq!(e, 0);
    let d = describe(&mut s, "tx");
    assert_eq!(
        (
            d.producer_id,
            d.producer_epoch,
            d.transaction_state.as_ref()
        ),
        (pid, 2, "Empty")
    );
}

#[test]
fn init_producer_id_refuses_bad_timeouts_and_ids() {
    let mut s = two_topics();
    let timeout = ErrorCode::INVALID_TRANSACTION_TIMEOUT.0;
    for t in [0, -1, 900_001, i32::MAX] {
        assert_eq!(init_with(&mut s, 4, "tx", t, (-1, -1)), (timeout, -1, -1));
    }
    assert_eq!(init_with(&mut s, 4, "tx", 900_000, (-1, -1)).0, 0);
    assert_eq!(
        init_with(&mut s, 4, "", 1000, (-1, -1)).0,
        ErrorCode::INVALID_REQUEST.0
    );
    // An id without an epoch.
    assert_eq!(
        init_with(&mut s, 4, "tx", 1000, (5, -1)).0,
        ErrorCode::INVALID_REQUEST.0
    );
    // The refused timeouts left nothing behind: the id is at epoch 0.
    assert_eq!(describe(&mut s, "tx").producer_epoch, 0);
    // Idempotent producers still get fresh ids.
    let req = InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: -1,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    };
    match s.call(PRODUCER, 4, RequestBody::InitProducerId(req)) {
        ResponseBody::InitProducerId(r) => assert_eq!((r.error_code, r.producer_epoch), (0, 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn init_producer_id_aborts_an_open_transaction() {
    let mut s = two_topics();
    let old = init(&mut s, "tx");
    add(&mut s, "tx", old, &[("a", 0), ("b", 1)]);
    let base = produce_ok(&mut s, "tx", old, 0, ("a", 0), 3);
    assert_eq!(base, 0);
    assert_eq!(
        latest(&mut s, "a", 0, 1),
        0,
        "the LSO waits for the transaction"
    );
    let new = init(&mut s, "tx");
    assert_eq!(
        new,
        (old.0, old.1 + 2),
        "fenced once to abort, bumped once more"
    );
    assert_eq!(state(&mut s, "tx"), "Empty");
    // The abort went out with the fencing epoch, to every partition.
    let p = fetch(&mut s, "a", 0, 0, false);
    assert_eq!(
        entries(&p)[1..],
        [Entry::Marker(3, old.0, false, 0)],
        "an ABORT marker after the data"
    );
    let b = fetch(&mut s, "b", 1, 0, false);
    assert_eq!(entries(&b), [Entry::Marker(0, old.0, false, 0)]);
    assert_eq!(batches(&p)[1].header.producer_epoch, old.1 + 1);
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(rc.last_stable_offset, 4);
    assert!(committed_values(&rc).is_empty(), "aborted data is dropped");
    // The old producer is fenced everywhere.
    let r = produce(&mut s, 9, Some("tx"), "a", 0, txn_batch(old, 3, 1, "late"));
    assert_eq!(r.error_code, BAD_EPOCH);
    assert_eq!(end(&mut s, "tx", old, true), FENCED);
    assert_eq!(add_v3(&mut s, 3, "tx", old, &[("a", 0)])[0].2, FENCED);
}

#[test]
fn add_partitions_v3_checks_topics_and_the_producer() {
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    let r = add_v3(&mut s, 3, "tx", p, &[("a", 0), ("a", 7), ("nope", 0)]);
    let unknown = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0;
    let skipped = ErrorCode::OPERATION_NOT_ATTEMPTED.0;
    assert_eq!(
        r,
        [
            ("a".to_string(), 0, skipped),
            ("a".to_string(), 7, unknown),
            ("nope".to_string(), 0, unknown)
        ]
    );
    assert_eq!(state(&mut s, "tx"), "Empty", "nothing was added");
    // An id nobody initialised, a producer id that is not the id's.
    assert_eq!(
        add_v3(&mut s, 3, "nobody", p, &[("a", 0)])[0].2,
        BAD_MAPPING
    );
    assert_eq!(
        add_v3(&mut s, 3, "tx", (p.0 + 1, p.1), &[("a", 0)])[0].2,
        BAD_MAPPING
    );
    // A stale epoch: PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.
    let p2 = init(&mut s, "tx");
    assert_eq!(add_v3(&mut s, 3, "tx", p, &[("a", 0)])[0].2, FENCED);
    assert_eq!(add_v3(&mut s, 2, "tx", p, &[("a", 0)])[0].2, FENCED);
    assert_eq!(add_v3(&mut s, 1, "tx", p, &[("a", 0)])[0].2, BAD_EPOCH);
    assert_eq!(add_v3(&mut s, 0, "tx", p, &[("a", 0)])[0].2, BAD_EPOCH);
    // The current producer adds; adding again changes nothing.
    add(&mut s, "tx", p2, &[("a", 0), ("b", 1)]);
    let d = describe(&mut s, "tx");
    assert_eq!(d.transaction_state, "Ongoing");
    let start = d.transaction_start_time_ms;
    assert_eq!(start, s.now);
    s.advance(10);
    add(&mut s, "tx", p2, &[("a", 0), ("a", 1)]);
    let d = describe(&mut s, "tx");
    assert_eq!(d.transaction_start_time_ms, start, "the start stays");
    let parts: Vec<_> = d
        .topics
        .iter()
        .map(|t| (t.topic.to_string(), t.partitions.to_vec()))
        .collect();
    assert_eq!(parts, [("a".into(), vec![0, 1]), ("b".into(), vec![1])]);
}

#[test]
fn add_partitions_v4_batches_adds_and_verifications() {
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    let q = init(&mut s, "ty");
    for version in [4, 5] {
        let req = AddPartitionsToTxnRequest {
            transactions: vec![
                txn_entry("tx", p, false, &[("a", 0)]),
                txn_entry("ty", q, true, &[("a", 0)]),
                txn_entry("tx", (p.0, p.1 + 1), true, &[("a", 0)]),
            ],
            ..Default::default()
        };
        let r = match s.call(PRODUCER, version, RequestBody::AddPartitionsToTxn(req)) {
            ResponseBody::AddPartitionsToTxn(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(r.error_code, 0);
        let got: Vec<_> = r
            .results_by_transaction
            .iter()
            .map(|t| (t.transactional_id.to_string(), flat(&t.topic_results)))
            .collect();
        let one = |id: &str, code: i16| (id.to_string(), vec![("a".to_string(), 0, code)]);
        // Not in the transaction: TRANSACTION_ABORTABLE from v5, before it
        // INVALID_TXN_STATE (as Kafka's coordinator answers a verification).
        let not_added = if version >= 5 { ABORTABLE } else { BAD_STATE };
        assert_eq!(
            got,
            [one("tx", 0), one("ty", not_added), one("tx", FENCED)],
            "v{version}"
        );
    }
    // A verification of a partition in the transaction passes; it adds nothing.
    let req = AddPartitionsToTxnRequest {
        transactions: vec![txn_entry("tx", p, true, &[("a", 0), ("a", 1)])],
        ..Default::default()
    };
    match s.call(PRODUCER, 5, RequestBody::AddPartitionsToTxn(req)) {
        ResponseBody::AddPartitionsToTxn(r) => assert_eq!(
            flat(&r.results_by_transaction[0].topic_results),
            [("a".to_string(), 0, 0), ("a".to_string(), 1, ABORTABLE)]
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(describe(&mut s, "tx").topics.len(), 1);
    assert_eq!(state(&mut s, "ty"), "Empty");
}

#[test]
fn transactional_produce_is_verified_up_to_v11() {
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    for v in [9, 10, 11] {
        let r = produce(&mut s, v, Some("tx"), "a", 0, txn_batch(p, 0, 2, "x"));
        // v11 clients know TRANSACTION_ABORTABLE; older ones get INVALID_TXN_STATE.
        let want = if v >= 11 { ABORTABLE } else { BAD_STATE };
        assert_eq!(r.error_code, want, "v{v}: a-0 was never added");
    }
    let r = produce(&mut s, 9, None, "a", 0, txn_batch(p, 0, 2, "x"));
    assert_eq!(
        r.error_code,
        ErrorCode::INVALID_REQUEST.0,
        "no transactional id"
    );
    let r = produce(&mut s, 9, Some(""), "a", 0, txn_batch(p, 0, 2, "x"));
    assert_eq!(r.error_code, ErrorCode::INVALID_REQUEST.0, "an empty one");
    assert_eq!(s.broker.storage_end("a", 0), 0, "nothing appended");
    add(&mut s, "tx", p, &[("a", 0)]);
    let mut seq = 0;
    for v in [9, 10, 11] {
        let r = produce(&mut s, v, Some("tx"), "a", 0, txn_batch(p, seq, 2, "x"));
        assert_eq!((r.error_code, r.base_offset), (0, i64::from(seq)), "v{v}");
        seq += 2;
    }
    // A retry of a batch already appended is a duplicate, not an error.
    let r = produce(&mut s, 11, Some("tx"), "a", 0, txn_batch(p, 4, 2, "x"));
    assert_eq!((r.error_code, r.base_offset), (0, 4));
    // Partition a-1 is not in the transaction; another id's producer is not this one.
    let r = produce(&mut s, 11, Some("tx"), "a", 1, txn_batch(p, 0, 1, "x"));
    assert_eq!(r.error_code, ABORTABLE);
    let r = produce(&mut s, 11, Some("ty"), "a", 0, txn_batch(p, 6, 1, "x"));
    assert_eq!(
        r.error_code,
        ErrorCode::INVALID_PRODUCER_ID_MAPPING.0,
        "ty is unknown to the coordinator: Kafka passes its error on"
    );
    // A fenced producer.
    let p2 = init(&mut s, "tx");
    let r = produce(&mut s, 9, Some("tx"), "a", 0, txn_batch(p, 6, 1, "x"));
    assert_eq!(r.error_code, BAD_EPOCH);
    // The new epoch has nothing open: its partitions must be added again.
    let r = produce(&mut s, 9, Some("tx"), "a", 0, txn_batch(p2, 0, 1, "x"));
    assert_eq!(r.error_code, BAD_STATE);
}

#[test]
fn produce_v12_adds_its_partition() {
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    let r = produce(&mut s, 12, Some("tx"), "a", 1, txn_batch(p, 0, 2, "x"));
    assert_eq!(r.error_code, 0, "{r:?}");
    let d = describe(&mut s, "tx");
    assert_eq!(d.transaction_state, "Ongoing");
    assert_eq!(d.topics.len(), 1);
    assert_eq!(
        (d.topics[0].topic.as_ref(), d.topics[0].partitions.to_vec()),
        ("a", vec![1])
    );
    let r = produce(&mut s, 12, Some("tx"), "b", 0, txn_batch(p, 0, 1, "y"));
    assert_eq!(r.error_code, 0);
    assert_eq!(describe(&mut s, "tx").topics.len(), 2);
    // A stale epoch is still refused.
    let r = produce(
        &mut s,
        12,
        Some("tx"),
        "b",
        1,
        txn_batch((p.0, p.1 + 1), 0, 1, "z"),
    );
    assert_eq!(r.error_code, BAD_EPOCH);
    assert_eq!(describe(&mut s, "tx").topics.len(), 2);
}

/// The log end offset of a partition, through the broker's storage.
trait StorageEnd {
    fn storage_end(&self, topic: &str, partition: i32) -> i64;
}

impl<S: spate_core::storage::Storage> StorageEnd for spate_core::broker::Broker<S> {
    fn storage_end(&self, topic: &str, partition: i32) -> i64 {
        self.storage().end_offset(&tp(topic, partition))
    }
}
