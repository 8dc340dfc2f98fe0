//! Ending transactions: EndTxn commit and abort with their markers in the
//! log, the last stable offset for read_committed Fetch and ListOffsets,
//! the aborted transactions a fetch lists, retries and misuse, and
//! transaction version 2 (EndTxn v5) bumping the epoch.

use spate_core::protocol::messages::fetch_response::AbortedTransaction;
use spate_core::protocol::ErrorCode;

use crate::util::*;

const FENCED: i16 = ErrorCode::PRODUCER_FENCED.0;
const BAD_STATE: i16 = ErrorCode::INVALID_TXN_STATE.0;

fn aborted(producer_id: i64, first_offset: i64) -> AbortedTransaction {
    AbortedTransaction {
        producer_id,
        first_offset,
        ..Default::default()
    }
}

#[test]
fn read_committed_stops_at_the_first_open_transaction() {
    let mut s = two_topics();
    s.produce_ok(9, "a", 0, crate::sim::batch(2, "plain"));
    let p = init(&mut s, "tx");
    add(&mut s, "tx", p, &[("a", 0)]);
    assert_eq!(produce_ok(&mut s, "tx", p, 0, ("a", 0), 3), 2);
    s.produce_ok(9, "a", 0, crate::sim::batch(1, "after"));
    let q = init(&mut s, "ty");
    add(&mut s, "ty", q, &[("a", 0)]);
    assert_eq!(produce_ok(&mut s, "ty", q, 0, ("a", 0), 1), 6);

    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (7, 2));
    let got = entries(&rc);
    assert_eq!(got.len(), 1, "only the batch before the LSO: {got:?}");
    assert!(matches!(&got[0], Entry::Data(0, -1, false, _)));
    assert_eq!(rc.aborted_transactions, Some(vec![]));
    // At or past the LSO, nothing.
    for from in [2, 4, 6] {
        let rc = fetch(&mut s, "a", 0, from, true);
        assert!(batches(&rc).is_empty(), "from {from}");
    }
    assert_eq!(
        latest(&mut s, "a", 0, 1),
        2,
        "ListOffsets read_committed: the LSO"
    );
    assert_eq!(
        latest(&mut s, "a", 0, 0),
        7,
        "read_uncommitted: the high watermark"
    );

    let ru = fetch(&mut s, "a", 0, 0, false);
    assert_eq!(ru.last_stable_offset, 2, "reported to read_uncommitted too");
    assert_eq!(ru.aborted_transactions, None);
    assert_eq!(batches(&ru).len(), 4, "read_uncommitted sees everything");

    // tx commits: the LSO moves to ty's first offset.
    assert_eq!(end(&mut s, "tx", p, true), 0);
    assert_eq!(latest(&mut s, "a", 0, 1), 6);
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(
        committed_values(&rc),
        ["plain-0", "plain-1", "tx-0", "tx-1", "tx-2", "after-0"]
    );
    // ty aborts: everything is stable, and ty's batch listed as aborted.
    assert_eq!(end(&mut s, "ty", q, false), 0);
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (9, 9));
    assert_eq!(rc.aborted_transactions, Some(vec![aborted(q.0, 6)]));
    assert_eq!(
        entries(&rc)[3..],
        [
            Entry::Data(6, q.0, true, vec!["ty-0".into()]),
            Entry::Marker(7, p.0, true, 0),
            Entry::Marker(8, q.0, false, 0),
        ]
    );
    assert_eq!(
        committed_values(&rc),
        ["plain-0", "plain-1", "tx-0", "tx-1", "tx-2", "after-0"]
    );
    // A fetch past the aborted batch but before its marker still lists it;
    // one past the marker does not.
    assert_eq!(
        fetch(&mut s, "a", 0, 7, true).aborted_transactions,
        Some(vec![aborted(q.0, 6)])
    );
    let past = fetch(&mut s, "a", 0, 9, true);
    assert_eq!(past.aborted_transactions, Some(vec![]));
    assert_eq!(fetch(&mut s, "a", 0, 0, false).aborted_transactions, None);
}

#[test]
fn end_txn_writes_a_marker_to_every_partition() {
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    add(&mut s, "tx", p, &[("a", 0), ("a", 1), ("b", 0)]);
    produce_ok(&mut s, "tx", p, 0, ("a", 0), 2);
    produce_ok(&mut s, "tx", p, 0, ("b", 0), 1);
    // a-1 was added and got nothing: it gets a marker all the same.
    assert_eq!(end(&mut s, "tx", p, true), 0);
    assert_eq!(state(&mut s, "tx"), "CompleteCommit");
    let a0 = fetch(&mut s, "a", 0, 0, false);
    assert_eq!(entries(&a0)[1..], [Entry::Marker(2, p.0, true, 0)]);
    let marker = &batches(&a0)[1].header;
    assert_eq!((marker.producer_epoch, marker.base_sequence), (p.1, -1));
    assert_eq!(
        entries(&fetch(&mut s, "a", 1, 0, false)),
        [Entry::Marker(0, p.0, true, 0)]
    );
    assert_eq!(
        entries(&fetch(&mut s, "b", 0, 0, false))[1..],
        [Entry::Marker(1, p.0, true, 0)]
    );
    assert!(entries(&fetch(&mut s, "b", 1, 0, false)).is_empty());
    // A retried commit is answered again and writes nothing.
    assert_eq!(end(&mut s, "tx", p, true), 0);
    assert_eq!(end(&mut s, "tx", p, false), BAD_STATE, "it committed");
    assert_eq!(batches(&fetch(&mut s, "a", 0, 0, false)).len(), 2);

    // The next transaction (same epoch: transaction version 1) aborts.
    add(&mut s, "tx", p, &[("a", 0)]);
    assert_eq!(state(&mut s, "tx"), "Ongoing");
    assert_eq!(produce_ok(&mut s, "tx", p, 2, ("a", 0), 2), 3);
    assert_eq!(end(&mut s, "tx", p, false), 0);
    assert_eq!(state(&mut s, "tx"), "CompleteAbort");
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(entries(&rc)[3..], [Entry::Marker(5, p.0, false, 0)]);
    assert_eq!(rc.aborted_transactions, Some(vec![aborted(p.0, 3)]));
    assert_eq!(committed_values(&rc), ["tx-0", "tx-1"]);
    assert_eq!(end(&mut s, "tx", p, false), 0, "a retried abort");
    assert_eq!(end(&mut s, "tx", p, true), BAD_STATE, "it aborted");
    assert_eq!(batches(&fetch(&mut s, "a", 0, 0, false)).len(), 4);
}

#[test]
fn end_txn_misuse() {
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    // Nothing open.
    assert_eq!(end(&mut s, "tx", p, true), BAD_STATE);
    assert_eq!(end(&mut s, "tx", p, false), BAD_STATE);
    assert_eq!(
        end(&mut s, "nobody", p, true),
        ErrorCode::INVALID_PRODUCER_ID_MAPPING.0
    );
    assert_eq!(end(&mut s, "", p, true), ErrorCode::INVALID_REQUEST.0);
    add(&mut s, "tx", p, &[("a", 0)]);
    assert_eq!(
        end(&mut s, "tx", (p.0 + 1, p.1), true),
        ErrorCode::INVALID_PRODUCER_ID_MAPPING.0
    );
    assert_eq!(end(&mut s, "tx", (p.0, p.1 + 1), true), FENCED);
    assert_eq!(
        end_with(&mut s, 1, "tx", (p.0, p.1 + 1), true).error_code,
        ErrorCode::INVALID_PRODUCER_EPOCH.0,
        "v1 knows no PRODUCER_FENCED"
    );
    assert_eq!(state(&mut s, "tx"), "Ongoing", "misuse changes nothing");
    assert_eq!(end(&mut s, "tx", p, true), 0);
    // A fresh epoch has nothing open again.
    let p2 = init(&mut s, "tx");
    assert_eq!(end(&mut s, "tx", p2, true), BAD_STATE);
}

#[test]
fn end_txn_v5_bumps_the_epoch_and_answers_retries() {
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    let r = produce(&mut s, 12, Some("tx"), "a", 0, txn_batch(p, 0, 2, "one"));
    assert_eq!(r.error_code, 0);
    let e = end_with(&mut s, 5, "tx", p, true);
    assert_eq!(
        (e.error_code, e.producer_id, e.producer_epoch),
        (0, p.0, p.1 + 1)
    );
    assert_eq!(describe(&mut s, "tx").producer_epoch, p.1 + 1);
    // The marker carries the new epoch.
    let all = fetch(&mut s, "a", 0, 0, false);
    assert_eq!(entries(&all)[1..], [Entry::Marker(2, p.0, true, 0)]);
    assert_eq!(batches(&all)[1].header.producer_epoch, p.1 + 1);
    // A retry with the old epoch gets the same answer; the other outcome does not.
    let again = end_with(&mut s, 5, "tx", p, true);
    assert_eq!((again.error_code, again.producer_epoch), (0, p.1 + 1));
    assert_eq!(end_with(&mut s, 5, "tx", p, false).error_code, BAD_STATE);
    assert_eq!(batches(&fetch(&mut s, "a", 0, 0, false)).len(), 2);
    // The old epoch cannot produce; the new one starts the next transaction.
    let r = produce(&mut s, 12, Some("tx"), "a", 0, txn_batch(p, 2, 1, "late"));
    assert_eq!(r.error_code, ErrorCode::INVALID_PRODUCER_EPOCH.0);
    let p2 = (p.0, p.1 + 1);
    let r = produce(&mut s, 12, Some("tx"), "a", 0, txn_batch(p2, 0, 1, "two"));
    assert_eq!((r.error_code, r.base_offset), (0, 3));
    let e = end_with(&mut s, 5, "tx", p2, false);
    assert_eq!((e.error_code, e.producer_epoch), (0, p.1 + 2));
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(committed_values(&rc), ["one-0", "one-1"]);
    assert_eq!(rc.aborted_transactions, Some(vec![aborted(p.0, 3)]));
    // Version 2 may abort with nothing open, to bump the epoch.
    let p3 = (p.0, p.1 + 2);
    let e = end_with(&mut s, 5, "tx", p3, false);
    assert_eq!((e.error_code, e.producer_epoch), (0, p.1 + 3));
    assert_eq!(
        end_with(&mut s, 5, "tx", (p.0, p.1 + 3), true).error_code,
        BAD_STATE
    );
}

#[test]
fn a_deleted_topic_does_not_block_the_end_of_a_transaction() {
    use spate_core::protocol::messages::delete_topics_request::DeleteTopicsRequest;
    use spate_core::protocol::{RequestBody, ResponseBody};
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    add(&mut s, "tx", p, &[("a", 0), ("b", 0)]);
    produce_ok(&mut s, "tx", p, 0, ("a", 0), 1);
    produce_ok(&mut s, "tx", p, 0, ("b", 0), 1);
    let req = DeleteTopicsRequest {
        topic_names: vec!["a".into()],
        timeout_ms: 1000,
        ..Default::default()
    };
    match s.call(99, 5, RequestBody::DeleteTopics(req)) {
        ResponseBody::DeleteTopics(r) => assert_eq!(r.responses[0].error_code, 0),
        other => panic!("{other:?}"),
    }
    assert_eq!(end(&mut s, "tx", p, true), 0);
    assert_eq!(state(&mut s, "tx"), "CompleteCommit");
    assert_eq!(committed_values(&fetch(&mut s, "b", 0, 0, true)), ["tx-0"]);
}

#[test]
fn the_lso_is_never_below_the_log_start() {
    use spate_core::protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic,
    };
    use spate_core::protocol::{RequestBody, ResponseBody};
    let mut s = two_topics();
    let p = init(&mut s, "tx");
    add(&mut s, "tx", p, &[("a", 0)]);
    produce_ok(&mut s, "tx", p, 0, ("a", 0), 2);
    s.produce_ok(9, "a", 0, crate::sim::batch(3, "plain"));
    let req = DeleteRecordsRequest {
        topics: vec![DeleteRecordsTopic {
            name: "a".into(),
            partitions: vec![DeleteRecordsPartition {
                partition_index: 0,
                offset: 2,
                ..Default::default()
            }],
            ..Default::default()
        }],
        timeout_ms: 1000,
        ..Default::default()
    };
    match s.call(99, 2, RequestBody::DeleteRecords(req)) {
        ResponseBody::DeleteRecords(r) => assert_eq!(r.topics[0].partitions[0].error_code, 0),
        other => panic!("{other:?}"),
    }
    // DeleteRecords moved the log start past the open transaction's first
    // offset: the LSO is the log start (Kafka bounds it so), not below.
    let rc = fetch(&mut s, "a", 0, 2, true);
    assert_eq!((rc.error_code, rc.log_start_offset), (0, 2));
    assert_eq!((rc.last_stable_offset, rc.high_watermark), (2, 5));
    assert!(batches(&rc).is_empty(), "the transaction is still open");
    assert_eq!(latest(&mut s, "a", 0, 1), 2);
    assert_eq!(end(&mut s, "tx", p, false), 0);
    let rc = fetch(&mut s, "a", 0, 2, true);
    assert_eq!(rc.last_stable_offset, 6);
    assert_eq!(committed_values(&rc), ["plain-0", "plain-1", "plain-2"]);
}
