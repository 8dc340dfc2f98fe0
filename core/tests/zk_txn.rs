//! The transaction coordinator in a ZooKeeper cluster: two brokers in
//! virtual time ([`sim::pair::Pair`]). `__transaction_state` is created
//! through the driver, FindCoordinator names the leader of a
//! transactional id's partition, every other broker answers
//! NOT_COORDINATOR, and a new leader loads the ids its follower copied,
//! finishing a prepared transaction and aborting an Ongoing one when its
//! timeout passes. Markers for partitions led by the other broker go to
//! it as WriteTxnMarkers, and to the new leader when it moved; a marker
//! counts (here, or in a WriteTxnMarkers answer) only once the
//! partition's followers in the ISR have it.

mod sim;
#[path = "transactions/util.rs"]
#[allow(dead_code)]
mod util;

use sim::coordinator::{asks_to_create, created_once};
use sim::pair::Pair;
use sim::Sim;
use spate_core::protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnTopic,
};
use spate_core::protocol::messages::end_txn_request::EndTxnRequest;
use spate_core::protocol::messages::find_coordinator_response::FindCoordinatorResponse;
use spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use spate_core::protocol::messages::list_transactions_request::ListTransactionsRequest;
use spate_core::protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::storage::Storage;
use util::{
    add, add_v3, committed_values, describe, end, fetch, init, init_with, state, txn_batch,
};

const TXNS: &str = "__transaction_state";
const TXNS_ID: Uuid = Uuid([5; 16]);
const T_ID: Uuid = Uuid([9; 16]);
const CLIENT: u64 = 1;
const TXN: &str = "tx";
const NOT: i16 = ErrorCode::NOT_COORDINATOR.code();
/// The coordinator's backoff before it sends a marker again.
const RETRY_MS: i64 = 500;

/// Two brokers with `__transaction_state` of two partitions, two replicas.
fn pair() -> Pair {
    Pair::with(|c| {
        c.transactions.state_log_partitions = 2;
        c.transactions.state_log_replication_factor = 2;
    })
}

/// FindCoordinator v3 for transactional id `TXN`.
fn find(s: &mut Sim) -> FindCoordinatorResponse {
    sim::coordinator::find_coordinator(s, CLIENT, TXN, 1)
}

/// The transactional ids ListTransactions names.
fn listed(s: &mut Sim) -> Vec<String> {
    let req = ListTransactionsRequest::default();
    match s.call(CLIENT, 0, RequestBody::ListTransactions(req)) {
        ResponseBody::ListTransactions(r) => r
            .transaction_states
            .iter()
            .map(|t| t.transactional_id.to_string())
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// The controller makes `leader` lead both partitions of
/// `__transaction_state` at `epoch`, telling both brokers. The ISR is the
/// leader alone, so the coordinator's answers do not wait for the
/// follower to copy its writes (that wait has its own test); the
/// follower copies all the same.
fn elect_txns(c: &mut Pair, leader: i32, epoch: i32) {
    c.elect((TXNS, TXNS_ID), &[0, 1], (leader, epoch), &[leader]);
}

/// The controller makes `leader` lead both partitions of `t` at `epoch`.
fn elect_t(c: &mut Pair, leader: i32, epoch: i32) {
    c.elect(("t", T_ID), &[0, 1], (leader, epoch), &[1, 2]);
}

/// A transactional produce (v9, acks=1: no wait for the follower) of
/// `n` records `"tx-{i}"` from sequence `seq` to `t`-`p`; its error.
fn produce(s: &mut Sim, producer: (i64, i16), seq: i32, p: i32, n: i32) -> i16 {
    let mut req = sim::produce_request("t", p, txn_batch(producer, seq, n, TXN), 1);
    if let RequestBody::Produce(r) = &mut req {
        r.transactional_id = Some(TXN.into());
    }
    match s.call(CLIENT, 9, req) {
        ResponseBody::Produce(r) => r.responses[0].partition_responses[0].error_code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn find_coordinator_creates_the_transaction_state_topic_once_through_the_driver() {
    let mut c = pair();
    let s = c.sim(1);
    let r = find(s);
    let configs = [
        ("cleanup.policy", "compact"),
        ("compression.type", "uncompressed"),
        ("segment.bytes", "104857600"),
        ("min.insync.replicas", "2"),
        ("unclean.leader.election.enable", "false"),
    ];
    let (request, _) = asks_to_create(s, r, TXNS, &configs);
    assert!(
        s.broker.storage().logs().iter().all(|tp| tp.topic != TXNS),
        "nothing created locally"
    );
    created_once(s, find, request, TXNS);
    // Written, but not led yet: no coordinator.
    let (code, _, _) = {
        let req = spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest {
            transactional_id: Some(TXN.into()),
            transaction_timeout_ms: 60_000,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        match s.call(CLIENT, 4, RequestBody::InitProducerId(req)) {
            ResponseBody::InitProducerId(r) => (r.error_code, r.producer_id, r.producer_epoch),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(code, NOT);

    // Too few live brokers for `transaction.state.log.replication.factor`
    // (Kafka's 3 by default): nothing is created.
    let mut c = Pair::new();
    let s = c.sim(2);
    assert_eq!(
        find(s).error_code,
        ErrorCode::COORDINATOR_NOT_AVAILABLE.code()
    );
    assert!(s.creating.is_empty());
}

#[test]
fn the_leader_coordinates_and_a_new_leader_loads_the_open_transaction() {
    let mut c = pair();
    elect_txns(&mut c, 1, 1);
    elect_t(&mut c, 1, 1);
    for id in 1..=2 {
        let r = find(c.sim(id));
        assert_eq!(r.error_code, 0, "broker {id}");
        assert_eq!((r.node_id, &*r.host, r.port), (1, "b1.example", 9091));
    }
    // The follower coordinates nothing.
    assert_eq!(init_with(c.sim(2), 4, TXN, 60_000, (-1, -1)).0, NOT);
    let producer = init(c.sim(1), TXN);
    assert_eq!(add_v3(c.sim(2), 3, TXN, producer, &[("t", 0)])[0].2, NOT);
    add(c.sim(1), TXN, producer, &[("t", 0)]);
    assert_eq!(produce(c.sim(1), producer, 0, 0, 2), 0);
    assert_eq!(end(c.sim(2), TXN, producer, true), NOT);
    assert_eq!(end(c.sim(1), TXN, producer, true), 0);
    // Complete once broker 2 (in t-0's ISR) has the marker.
    c.run_until(10_000, |c| state(c.sim(1), TXN) == "CompleteCommit");
    // A second transaction stays open.
    add(c.sim(1), TXN, producer, &[("t", 0)]);
    assert_eq!(produce(c.sim(1), producer, 2, 0, 1), 0);
    assert_eq!(state(c.sim(1), TXN), "Ongoing");
    assert_eq!(describe(c.sim(2), TXN).error_code, NOT);
    assert_eq!(listed(c.sim(1)), [TXN]);
    assert!(listed(c.sim(2)).is_empty());

    // The follower copies both logs; then broker 2 is elected.
    c.run_until(10_000, |c| c.copied(1, TXNS, 2) && c.copied(1, "t", 2));
    elect_txns(&mut c, 2, 2);
    elect_t(&mut c, 2, 2);
    assert_eq!(describe(c.sim(1), TXN).error_code, NOT);
    assert!(listed(c.sim(1)).is_empty());
    assert_eq!(end(c.sim(1), TXN, producer, false), NOT);
    let d = describe(c.sim(2), TXN);
    assert_eq!(d.error_code, 0, "loaded from the copied log");
    assert_eq!(&*d.transaction_state, "Ongoing");
    assert_eq!((d.producer_id, d.producer_epoch), producer);
    assert_eq!(listed(c.sim(2)), [TXN]);
    for id in 1..=2 {
        let r = find(c.sim(id));
        assert_eq!((r.error_code, r.node_id), (0, 2), "broker {id}");
    }
    // The new coordinator ends it: an abort marker in t-0, led here now,
    // complete once broker 1 copied it; read_committed sees the commit
    // only.
    assert_eq!(end(c.sim(2), TXN, producer, false), 0);
    c.run_until(10_000, |c| state(c.sim(2), TXN) == "CompleteAbort");
    assert!(c.copied(2, "t", 2));
    c.advance(1_000);
    let p = fetch(c.sim(2), "t", 0, 0, true);
    assert_eq!(committed_values(&p), ["tx-0", "tx-1"]);
}

#[test]
fn a_new_leader_finishes_a_prepared_commit_it_loads() {
    let mut c = pair();
    elect_txns(&mut c, 1, 1);
    elect_t(&mut c, 2, 1);
    let producer = init(c.sim(1), TXN);
    add(c.sim(1), TXN, producer, &[("t", 1)]);
    // Broker 2 leads t-1 and takes the batch without asking broker 1.
    assert_eq!(produce(c.sim(2), producer, 0, 1, 3), 0);
    // Answered once PrepareCommit is written; the marker for t-1 is
    // broker 2's to write, and its request is lost here.
    assert_eq!(end(c.sim(1), TXN, producer, true), 0);
    assert_eq!(c.sim(1).markers.len(), 1);
    c.sim(1).markers.clear();
    assert_eq!(state(c.sim(1), TXN), "PrepareCommit");
    c.run_until(10_000, |c| c.copied(1, TXNS, 2));
    // Broker 2 becomes the coordinator, loads the prepared commit and
    // finishes it at once: the marker goes to t-1, led there.
    elect_txns(&mut c, 2, 2);
    c.run_until(10_000, |c| state(c.sim(2), TXN) == "CompleteCommit");
    c.advance(1_000);
    let p = fetch(c.sim(2), "t", 1, 0, true);
    assert_eq!(committed_values(&p), ["tx-0", "tx-1", "tx-2"]);
    assert_eq!(describe(c.sim(1), TXN).error_code, NOT);
}

/// The controller makes `leader` lead `t`-`p` at `epoch`.
fn elect_tp(c: &mut Pair, p: i32, leader: i32, epoch: i32) {
    c.elect(("t", T_ID), &[p], (leader, epoch), &[1, 2]);
}

#[test]
fn markers_for_a_partition_led_elsewhere_go_to_its_leader() {
    let mut c = pair();
    elect_txns(&mut c, 1, 1);
    elect_tp(&mut c, 0, 1, 1);
    elect_tp(&mut c, 1, 2, 1);
    let producer = init(c.sim(1), TXN);
    add(c.sim(1), TXN, producer, &[("t", 0), ("t", 1)]);
    assert_eq!(produce(c.sim(1), producer, 0, 0, 2), 0);
    assert_eq!(produce(c.sim(2), producer, 0, 1, 3), 0);
    assert_eq!(end(c.sim(1), TXN, producer, true), 0);
    // t-0's marker is written here; t-1's waits on broker 2.
    assert_eq!(state(c.sim(1), TXN), "PrepareCommit");
    let (to, host, port, _) = c.sim(1).markers[0].clone();
    assert_eq!((to, &*host, port), (2, "b2.example", 9092));
    // Meanwhile the id is busy, as with Kafka.
    assert_eq!(
        init_with(c.sim(1), 4, TXN, 60_000, (-1, -1)).0,
        ErrorCode::CONCURRENT_TRANSACTIONS.code()
    );
    c.deliver();
    assert_eq!(state(c.sim(1), TXN), "CompleteCommit");
    c.advance(1_000);
    assert_eq!(
        committed_values(&fetch(c.sim(1), "t", 0, 0, true)),
        ["tx-0", "tx-1"]
    );
    assert_eq!(
        committed_values(&fetch(c.sim(2), "t", 1, 0, true)),
        ["tx-0", "tx-1", "tx-2"]
    );

    // An open transaction on both is aborted by InitProducerId:
    // CONCURRENT_TRANSACTIONS until broker 2 wrote its marker, then a new
    // epoch.
    let producer = init(c.sim(1), TXN);
    add(c.sim(1), TXN, producer, &[("t", 0), ("t", 1)]);
    assert_eq!(produce(c.sim(2), producer, 0, 1, 1), 0);
    let busy = ErrorCode::CONCURRENT_TRANSACTIONS.code();
    assert_eq!(init_with(c.sim(1), 4, TXN, 60_000, (-1, -1)).0, busy);
    c.deliver();
    assert_eq!(state(c.sim(1), TXN), "CompleteAbort");
    let (code, _, epoch) = init_with(c.sim(1), 4, TXN, 60_000, (-1, -1));
    assert_eq!(code, 0);
    assert!(epoch > producer.1 + 1, "fenced, then bumped");
    c.advance(1_000);
    assert_eq!(
        committed_values(&fetch(c.sim(2), "t", 1, 0, true)),
        ["tx-0", "tx-1", "tx-2"]
    );
}

#[test]
fn a_marker_refused_by_a_former_leader_goes_to_the_new_one() {
    let mut c = pair();
    elect_txns(&mut c, 1, 1);
    elect_tp(&mut c, 1, 2, 1);
    let producer = init(c.sim(1), TXN);
    add(c.sim(1), TXN, producer, &[("t", 1)]);
    assert_eq!(produce(c.sim(2), producer, 0, 1, 2), 0);
    c.run_until(10_000, |c| {
        c.end_offset(1, "t", 1) == c.end_offset(2, "t", 1)
    });
    assert_eq!(end(c.sim(1), TXN, producer, true), 0);
    // Before the request arrives, broker 1 becomes t-1's leader: broker 2
    // answers NOT_LEADER_OR_FOLLOWER and the marker is written here.
    let held = std::mem::take(&mut c.sim(1).markers);
    elect_tp(&mut c, 1, 1, 2);
    c.sim(1).markers = held;
    c.deliver();
    assert_eq!(state(c.sim(1), TXN), "PrepareCommit");
    c.run_until(10_000, |c| state(c.sim(1), TXN) == "CompleteCommit");
    c.advance(1_000);
    assert_eq!(
        committed_values(&fetch(c.sim(1), "t", 1, 0, true)),
        ["tx-0", "tx-1"]
    );
}

#[test]
fn an_ongoing_transaction_loaded_by_a_new_leader_is_aborted_at_its_timeout() {
    let mut c = pair();
    elect_txns(&mut c, 1, 1);
    elect_t(&mut c, 1, 1);
    let (code, pid, epoch) = init_with(c.sim(1), 4, TXN, 5_000, (-1, -1));
    assert_eq!(code, 0);
    add(c.sim(1), TXN, (pid, epoch), &[("t", 0)]);
    assert_eq!(produce(c.sim(1), (pid, epoch), 0, 0, 1), 0);
    c.run_until(1_000, |c| c.copied(1, TXNS, 2) && c.copied(1, "t", 2));
    elect_txns(&mut c, 2, 2);
    elect_t(&mut c, 2, 2);
    assert_eq!(state(c.sim(2), TXN), "Ongoing");
    c.run_until(10_000, |c| state(c.sim(2), TXN) == "CompleteAbort");
    let d = describe(c.sim(2), TXN);
    assert!(d.producer_epoch > epoch, "the producer is fenced");
    assert!(committed_values(&fetch(c.sim(2), "t", 0, 0, true)).is_empty());
}

#[test]
fn metadata_for_the_missing_transaction_state_topic_creates_it_as_find_coordinator_does() {
    let mut c = pair();
    let s = c.sim(2);
    for _ in 0..2 {
        assert_eq!(
            sim::coordinator::auto_create_error(s, CLIENT, TXNS),
            ErrorCode::LEADER_NOT_AVAILABLE.code()
        );
    }
    assert_eq!(s.creating.len(), 1, "created once");
    assert_eq!(s.creating[0].1[0].name, TXNS);
    assert_eq!(
        find(s).error_code,
        ErrorCode::COORDINATOR_NOT_AVAILABLE.code()
    );
    assert_eq!(s.creating.len(), 1, "still the one creation");
}

/// Sends `body` at `version` to broker 1 on `CLIENT`, checks it is not
/// answered before the follower copies, then runs the pair until it is.
fn waits_for_the_follower(c: &mut Pair, version: i16, body: RequestBody) -> ResponseBody {
    let s = c.sim(1);
    s.send(CLIENT, version, body);
    assert!(!s.events.contains_key(&CLIENT), "answered before the copy");
    c.run_until(10_000, |c| c.sim(1).events.contains_key(&CLIENT));
    c.sim(1).one(CLIENT)
}

#[test]
fn end_txn_is_answered_and_markers_sent_once_the_follower_has_the_prepared_state() {
    let mut c = pair();
    c.elect((TXNS, TXNS_ID), &[0, 1], (1, 1), &[1, 2]);
    elect_tp(&mut c, 0, 1, 1);
    elect_tp(&mut c, 1, 2, 1);
    c.deliver();
    let init = InitProducerIdRequest {
        transactional_id: Some(TXN.into()),
        transaction_timeout_ms: 60_000,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    };
    let producer = match waits_for_the_follower(&mut c, 4, RequestBody::InitProducerId(init)) {
        ResponseBody::InitProducerId(r) => {
            assert_eq!(r.error_code, 0);
            (r.producer_id, r.producer_epoch)
        }
        other => panic!("{other:?}"),
    };
    let add = AddPartitionsToTxnRequest {
        v3_and_below_transactional_id: TXN.into(),
        v3_and_below_producer_id: producer.0,
        v3_and_below_producer_epoch: producer.1,
        v3_and_below_topics: vec![AddPartitionsToTxnTopic {
            name: "t".into(),
            partitions: vec![0, 1].into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    match waits_for_the_follower(&mut c, 3, RequestBody::AddPartitionsToTxn(add)) {
        ResponseBody::AddPartitionsToTxn(r) => {
            let codes: Vec<i16> = r.results_by_topic_v3_and_below[0]
                .results_by_partition
                .iter()
                .map(|p| p.partition_error_code)
                .collect();
            assert_eq!(codes, [0, 0]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(produce(c.sim(1), producer, 0, 0, 1), 0);
    assert_eq!(produce(c.sim(2), producer, 0, 1, 1), 0);

    // EndTxn: the prepared state is written but not copied, so no answer
    // and no marker anywhere yet (t-0 is led here, t-1 by broker 2).
    let t0 = c.end_offset(1, "t", 0);
    let end = EndTxnRequest {
        transactional_id: TXN.into(),
        producer_id: producer.0,
        producer_epoch: producer.1,
        committed: true,
        ..Default::default()
    };
    c.sim(1).send(CLIENT, 3, RequestBody::EndTxn(end));
    assert!(!c.sim(1).events.contains_key(&CLIENT), "EndTxn waits");
    assert!(c.sim(1).markers.is_empty(), "no marker sent before");
    let now = c.sim(1).now;
    assert!(
        c.sim(1).broker.poll_timeout().is_some_and(|at| at > now),
        "no deadline left in the past while the markers wait"
    );
    assert_eq!(c.end_offset(1, "t", 0), t0, "no marker written before");
    // The follower copies it: the answer comes, then the markers.
    c.run_until(10_000, |c| c.sim(1).events.contains_key(&CLIENT));
    match c.sim(1).one(CLIENT) {
        ResponseBody::EndTxn(r) => assert_eq!(r.error_code, 0),
        other => panic!("{other:?}"),
    }
    c.run_until(10_000, |c| state(c.sim(1), TXN) == "CompleteCommit");
    assert!(c.end_offset(1, "t", 0) > t0, "the marker in t-0");
}

/// The transactional ids ListTransactions names in state `state`.
fn listed_in(s: &mut Sim, state: &str) -> Vec<String> {
    let req = ListTransactionsRequest {
        state_filters: vec![state.into()],
        ..Default::default()
    };
    match s.call(CLIENT, 0, RequestBody::ListTransactions(req)) {
        ResponseBody::ListTransactions(r) => r
            .transaction_states
            .iter()
            .map(|t| t.transactional_id.to_string())
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// Broker 1 coordinates `TXN` and leads `t`-0, broker 2 following it in
/// the ISR; an open transaction wrote two records to `t`-0 and broker 2
/// copied them and the coordinator's state: (producer, `t`-0's end offset).
fn open_here(c: &mut Pair) -> ((i64, i16), i64) {
    elect_txns(c, 1, 1);
    elect_tp(c, 0, 1, 1);
    let producer = init(c.sim(1), TXN);
    add(c.sim(1), TXN, producer, &[("t", 0)]);
    assert_eq!(produce(c.sim(1), producer, 0, 0, 2), 0);
    c.run_until(10_000, |c| c.copied(1, "t", 2) && c.copied(1, TXNS, 2));
    (producer, c.end_offset(1, "t", 0))
}

#[test]
fn a_transaction_completes_only_once_the_follower_has_the_marker_of_a_partition_led_here() {
    let mut c = pair();
    let (producer, t0) = open_here(&mut c);

    // EndTxn is answered once PrepareCommit is written (the ISR of the
    // id's partition is the coordinator alone); the marker is in t-0 here.
    assert_eq!(end(c.sim(1), TXN, producer, true), 0);
    assert_eq!(c.end_offset(1, "t", 0), t0 + 1, "the marker, here");
    // Broker 2 fetches nothing for 5 s (less than replica.lag.time.max.ms,
    // so it stays in the ISR): the transaction stays prepared.
    c.sim(1).advance(5_000);
    assert_eq!(c.end_offset(2, "t", 0), t0, "not on the follower");
    assert_eq!(state(c.sim(1), TXN), "PrepareCommit");
    assert_eq!(listed_in(c.sim(1), "PrepareCommit"), [TXN]);
    assert!(listed_in(c.sim(1), "CompleteCommit").is_empty());
    assert_eq!(
        init_with(c.sim(1), 4, TXN, 60_000, (-1, -1)).0,
        ErrorCode::CONCURRENT_TRANSACTIONS.code(),
        "the id is busy meanwhile"
    );
    assert_eq!(c.end_offset(1, "t", 0), t0 + 1, "written once");

    // The follower fetches the marker: the commit completes.
    c.run_until(10_000, |c| state(c.sim(1), TXN) == "CompleteCommit");
    assert_eq!(c.end_offset(2, "t", 0), t0 + 1);
    assert_eq!(listed_in(c.sim(1), "CompleteCommit"), [TXN]);
    c.advance(1_000);
    assert_eq!(
        committed_values(&fetch(c.sim(1), "t", 0, 0, true)),
        ["tx-0", "tx-1"]
    );
}

/// WriteTxnMarkers v1: a COMMIT marker of producer 7000 (epoch 0, no
/// transaction open anywhere) for `t` partitions `partitions`.
fn write_markers(partitions: &[i32]) -> RequestBody {
    RequestBody::WriteTxnMarkers(WriteTxnMarkersRequest {
        markers: vec![WritableTxnMarker {
            producer_id: 7000,
            producer_epoch: 0,
            transaction_result: true,
            topics: vec![WritableTxnMarkerTopic {
                name: "t".into(),
                partition_indexes: partitions.to_vec().into(),
                ..Default::default()
            }],
            coordinator_epoch: 1,
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// Each partition's error in a WriteTxnMarkers answer.
fn marker_codes(r: ResponseBody) -> Vec<(i32, i16)> {
    match r {
        ResponseBody::WriteTxnMarkers(r) => r.markers[0].topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.error_code))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn write_txn_markers_is_answered_once_the_follower_has_the_marker_or_at_its_timeout() {
    let mut c = Pair::with(|c| c.transactions.request_timeout_ms = 5_000);
    elect_tp(&mut c, 0, 1, 1);
    elect_tp(&mut c, 1, 2, 1);
    c.run_until(10_000, |c| c.copied(1, "t", 2));
    let t0 = c.end_offset(1, "t", 0);

    // t-0 is led here with broker 2 in its ISR, t-1 by broker 2.
    c.sim(1).send(CLIENT, 1, write_markers(&[0, 1]));
    assert_eq!(c.end_offset(1, "t", 0), t0 + 1, "appended at once");
    c.sim(1).advance(4_000);
    assert!(
        !c.sim(1).events.contains_key(&CLIENT),
        "not answered while the follower lacks the marker"
    );
    c.run_until(10_000, |c| c.sim(1).events.contains_key(&CLIENT));
    assert_eq!(c.end_offset(2, "t", 0), t0 + 1);
    let nlf = ErrorCode::NOT_LEADER_OR_FOLLOWER.code();
    assert_eq!(marker_codes(c.sim(1).one(CLIENT)), [(0, 0), (1, nlf)]);

    // The follower never fetches it: REQUEST_TIMED_OUT at
    // request.timeout.ms, the marker left in the leader's log.
    c.sim(1).send(CLIENT, 1, write_markers(&[0]));
    c.sim(1).advance(4_999);
    assert!(!c.sim(1).events.contains_key(&CLIENT));
    c.sim(1).advance(1);
    let timed_out = ErrorCode::REQUEST_TIMED_OUT.code();
    assert_eq!(marker_codes(c.sim(1).one(CLIENT)), [(0, timed_out)]);
    assert_eq!(c.end_offset(1, "t", 0), t0 + 2);

    // Fewer replicas in sync than min.insync.replicas: nothing appended.
    c.run_until(10_000, |c| c.copied(1, "t", 2));
    for to in 1..=2 {
        c.lead_partitions(to, ("t", T_ID), &[0], (1, 2), &[1]);
    }
    let now = c.sim(1).now;
    let min_isr = vec![("min.insync.replicas".to_string(), "2".to_string())];
    c.sim(1).broker.handle_topic_configs("t", min_isr, now);
    let r = c.sim(1).call(CLIENT, 1, write_markers(&[0]));
    let few = ErrorCode::NOT_ENOUGH_REPLICAS.code();
    assert_eq!(marker_codes(r), [(0, few)]);
    assert_eq!(c.end_offset(1, "t", 0), t0 + 2);
}

#[test]
fn a_marker_written_here_whose_partition_moves_before_the_follower_has_it_goes_to_the_new_leader() {
    let mut c = pair();
    let (producer, t0) = open_here(&mut c);
    assert_eq!(end(c.sim(1), TXN, producer, true), 0);
    assert_eq!(c.end_offset(1, "t", 0), t0 + 1);
    // Broker 2 becomes t-0's leader without the marker: the one written
    // here no longer counts (NOT_LEADER_OR_FOLLOWER), so it goes to
    // broker 2 as WriteTxnMarkers, which answers once broker 1, its
    // follower now, has it.
    elect_tp(&mut c, 0, 2, 2);
    assert_eq!(state(c.sim(1), TXN), "PrepareCommit");
    c.sim(1).advance(RETRY_MS);
    assert_eq!(state(c.sim(1), TXN), "PrepareCommit");
    let (to, _, _, _) = c.sim(1).markers[0].clone();
    assert_eq!(to, 2, "to the new leader");
    c.run_until(10_000, |c| state(c.sim(1), TXN) == "CompleteCommit");
    assert_eq!(c.end_offset(2, "t", 0), t0 + 1, "written by broker 2");
    c.run_until(10_000, |c| c.copied(2, "t", 2));
    c.advance(1_000);
    assert_eq!(
        committed_values(&fetch(c.sim(2), "t", 0, 0, true)),
        ["tx-0", "tx-1"]
    );
}
