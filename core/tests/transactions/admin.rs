//! The admin side: DescribeTransactions, ListTransactions with its
//! filters, DescribeProducers, and WriteTxnMarkers ending a hanging
//! transaction by hand.

use spate_core::protocol::messages::list_transactions_request::ListTransactionsRequest;
use spate_core::protocol::messages::list_transactions_response::ListTransactionsResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use crate::sim::Sim;
use crate::util::*;

#[test]
fn describe_transactions_follows_every_state() {
    let mut s = two_topics();
    let d = describe(&mut s, "nobody");
    assert_eq!(d.error_code, ErrorCode::TRANSACTIONAL_ID_NOT_FOUND.0);
    assert_eq!((d.producer_id, d.producer_epoch), (-1, -1));
    let (_, pid, epoch) = init_with(&mut s, 4, "tx", 30_000, (-1, -1));
    let p = (pid, epoch);
    let d = describe(&mut s, "tx");
    assert_eq!(
        (
            d.error_code,
            d.transaction_state.as_ref(),
            d.transaction_timeout_ms
        ),
        (0, "Empty", 30_000)
    );
    assert_eq!((d.producer_id, d.transaction_start_time_ms), (pid, -1));
    assert!(d.topics.is_empty());
    s.advance(7);
    add(&mut s, "tx", p, &[("b", 1), ("a", 1), ("a", 0)]);
    let d = describe(&mut s, "tx");
    assert_eq!(d.transaction_state, "Ongoing");
    assert_eq!(d.transaction_start_time_ms, crate::sim::T0 + 7);
    let parts: Vec<_> = d
        .topics
        .iter()
        .map(|t| (t.topic.to_string(), t.partitions.to_vec()))
        .collect();
    assert_eq!(parts, [("a".into(), vec![0, 1]), ("b".into(), vec![1])]);
    assert_eq!(end(&mut s, "tx", p, true), 0);
    let d = describe(&mut s, "tx");
    assert_eq!(d.transaction_state, "CompleteCommit");
    assert!(d.topics.is_empty());
    add(&mut s, "tx", p, &[("a", 0)]);
    assert_eq!(end(&mut s, "tx", p, false), 0);
    assert_eq!(state(&mut s, "tx"), "CompleteAbort");
}

fn list(s: &mut Sim, version: i16, req: ListTransactionsRequest) -> ListTransactionsResponse {
    match s.call(3, version, RequestBody::ListTransactions(req)) {
        ResponseBody::ListTransactions(r) => r,
        other => panic!("{other:?}"),
    }
}

fn ids(r: &ListTransactionsResponse) -> Vec<(String, String)> {
    let mut v: Vec<_> = r
        .transaction_states
        .iter()
        .map(|t| {
            (
                t.transactional_id.to_string(),
                t.transaction_state.to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn all() -> ListTransactionsRequest {
    ListTransactionsRequest {
        duration_filter: -1,
        ..Default::default()
    }
}

#[test]
fn list_transactions_filters() {
    let mut s = two_topics();
    let p = init(&mut s, "tx-1");
    let q = init(&mut s, "tx-2");
    init(&mut s, "other");
    add(&mut s, "tx-1", p, &[("a", 0)]);
    s.advance(5000);
    add(&mut s, "tx-2", q, &[("a", 1)]);
    s.advance(1000);
    let pair = |id: &str, st: &str| (id.to_string(), st.to_string());
    for v in [0, 1, 2] {
        let r = list(&mut s, v, all());
        assert_eq!(r.error_code, 0);
        assert_eq!(
            ids(&r),
            [
                pair("other", "Empty"),
                pair("tx-1", "Ongoing"),
                pair("tx-2", "Ongoing")
            ],
            "v{v}"
        );
    }
    let r = list(
        &mut s,
        0,
        ListTransactionsRequest {
            state_filters: vec!["Empty".into(), "Bogus".into()],
            ..all()
        },
    );
    assert_eq!(ids(&r), [pair("other", "Empty")]);
    assert_eq!(r.unknown_state_filters, ["Bogus"]);
    let r = list(
        &mut s,
        0,
        ListTransactionsRequest {
            state_filters: vec!["Bogus".into()],
            ..all()
        },
    );
    assert!(
        r.transaction_states.is_empty(),
        "an unknown state matches nothing"
    );
    let r = list(
        &mut s,
        0,
        ListTransactionsRequest {
            producer_id_filters: vec![q.0].into(),
            ..all()
        },
    );
    assert_eq!(ids(&r), [pair("tx-2", "Ongoing")]);
    assert_eq!(r.transaction_states[0].producer_id, q.0);
    // v1: running longer than 5 s: tx-1 (6 s), not tx-2 (1 s). As in
    // Kafka, the filter compares with the start time whatever the state,
    // so an Empty id (start -1) always passes it.
    let long = ListTransactionsRequest {
        duration_filter: 5000,
        ..all()
    };
    assert_eq!(
        ids(&list(&mut s, 1, long)),
        [pair("other", "Empty"), pair("tx-1", "Ongoing")]
    );
    let longer = ListTransactionsRequest {
        duration_filter: 6000,
        ..all()
    };
    assert_eq!(ids(&list(&mut s, 1, longer)), [pair("other", "Empty")]);
    // v2: a pattern over the whole id.
    let pattern = |p: &str| ListTransactionsRequest {
        transactional_id_pattern: Some(p.into()),
        ..all()
    };
    assert_eq!(ids(&list(&mut s, 2, pattern("tx-.*"))).len(), 2);
    assert_eq!(
        ids(&list(&mut s, 2, pattern("tx"))).len(),
        0,
        "the whole id"
    );
    assert_eq!(
        ids(&list(&mut s, 2, pattern("oth[e]r"))),
        [pair("other", "Empty")]
    );
    assert_eq!(
        list(&mut s, 2, pattern("(")).error_code,
        ErrorCode::INVALID_REQUEST.0
    );
    // Filters combine.
    let r = list(
        &mut s,
        2,
        ListTransactionsRequest {
            state_filters: vec!["Ongoing".into()],
            transactional_id_pattern: Some("tx-2|other".into()),
            ..all()
        },
    );
    assert_eq!(ids(&r), [pair("tx-2", "Ongoing")]);
}

#[test]
fn describe_producers_shows_the_open_transaction() {
    let mut s = two_topics();
    s.produce_ok(9, "a", 0, crate::sim::batch(2, "plain"));
    let p = init(&mut s, "tx");
    add(&mut s, "tx", p, &[("a", 0)]);
    produce_ok(&mut s, "tx", p, 0, ("a", 0), 3);
    produce_ok(&mut s, "tx", p, 3, ("a", 0), 1);
    let ps = producers(&mut s, "a", 0);
    assert_eq!(ps.len(), 1);
    let e = &ps[0];
    assert_eq!((e.producer_id, e.producer_epoch), (p.0, i32::from(p.1)));
    assert_eq!((e.last_sequence, e.current_txn_start_offset), (3, 2));
    assert_eq!(end(&mut s, "tx", p, true), 0);
    let e = &producers(&mut s, "a", 0)[0];
    assert_eq!(e.current_txn_start_offset, -1);
    assert_eq!(e.coordinator_epoch, 0);
}

#[test]
fn write_txn_markers_ends_a_hanging_transaction() {
    let mut s = two_topics();
    let (_, pid, epoch) = init_with(&mut s, 4, "tx", 900_000, (-1, -1));
    let p = (pid, epoch);
    add(&mut s, "tx", p, &[("a", 0)]);
    produce_ok(&mut s, "tx", p, 0, ("a", 0), 2);
    s.produce_ok(9, "a", 0, crate::sim::batch(1, "plain"));
    assert_eq!(latest(&mut s, "a", 0, 1), 0);
    // An operator aborts it in the partition (kafka-transactions.sh abort).
    let r = write_markers(&mut s, p, false, 0, &[("a", 0), ("nope", 0)]);
    assert_eq!(
        r,
        [
            ("a".to_string(), 0, 0),
            (
                "nope".to_string(),
                0,
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0
            )
        ]
    );
    assert_eq!(latest(&mut s, "a", 0, 1), 4);
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(committed_values(&rc), ["plain-0"]);
    assert_eq!(rc.aborted_transactions.map(|a| a.len()), Some(1));
    assert_eq!(producers(&mut s, "a", 0)[0].current_txn_start_offset, -1);
    // Stale markers are refused.
    let r = write_markers(&mut s, (pid, epoch - 1), true, 0, &[("a", 0)]);
    assert_eq!(r[0].2, ErrorCode::INVALID_PRODUCER_EPOCH.0);
    let r = write_markers(&mut s, p, true, -1, &[("a", 0)]);
    assert_eq!(r[0].2, ErrorCode::TRANSACTION_COORDINATOR_FENCED.0);
    // The coordinator's own commit later finds nothing open there.
    assert_eq!(end(&mut s, "tx", p, true), 0);
    let rc = fetch(&mut s, "a", 0, 0, true);
    assert_eq!(committed_values(&rc), ["plain-0"], "the abort stands");
}
