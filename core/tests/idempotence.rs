//! Idempotent producers in virtual time: InitProducerId, duplicate and
//! out-of-order batches, fenced epochs, and producer state across a restart.

// sim::Event holds whole responses.
#![allow(clippy::large_enum_variant)]

mod sim;

use bytes::Bytes;
use sim::{batch, Sim, T0};
use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use spate_core::protocol::messages::init_producer_id_response::InitProducerIdResponse;
use spate_core::protocol::messages::produce_response::PartitionProduceResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::records::{BatchView, Record, RecordBatchBuilder};

const OUT_OF_ORDER: i16 = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0;
const BAD_EPOCH: i16 = ErrorCode::INVALID_PRODUCER_EPOCH.0;

fn create(sim: &mut Sim, name: &str) {
    let req = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.into(),
            num_partitions: 1,
            replication_factor: -1,
            ..Default::default()
        }],
        timeout_ms: 1000,
        ..Default::default()
    };
    let ResponseBody::CreateTopics(r) = sim.call(99, 7, RequestBody::CreateTopics(req)) else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0);
}

/// InitProducerId at `version`.
fn init(
    sim: &mut Sim,
    version: i16,
    txn: Option<&str>,
    id: i64,
    epoch: i16,
) -> InitProducerIdResponse {
    let req = InitProducerIdRequest {
        transactional_id: txn.map(Into::into),
        transaction_timeout_ms: 60_000,
        producer_id: id,
        producer_epoch: epoch,
        ..Default::default()
    };
    match sim.call(7, version, RequestBody::InitProducerId(req)) {
        ResponseBody::InitProducerId(r) => r,
        other => panic!("{other:?}"),
    }
}

/// `(error, producer id, epoch)` of an InitProducerId response.
fn triple(r: &InitProducerIdResponse) -> (i16, i64, i16) {
    (r.error_code, r.producer_id, r.producer_epoch)
}

/// A batch of `n` records (timestamps T0..T0+n-1) from producer `id` at `epoch`, first sequence `seq`.
fn idem(n: i32, prefix: &str, id: i64, epoch: i16, seq: i32) -> Bytes {
    let mut b = RecordBatchBuilder::new(0, T0).producer(id, epoch, seq);
    for i in 0..n {
        b = b.record(Record::new(
            i,
            i64::from(i),
            None,
            Some(Bytes::from(format!("{prefix}-{i}"))),
        ));
    }
    b.build().expect("batch")
}

fn produce(sim: &mut Sim, topic: &str, records: Bytes) -> PartitionProduceResponse {
    sim.produce_to(8, 9, topic, 0, records)
}

/// `(error, base offset)` of a produce.
fn sent(sim: &mut Sim, topic: &str, records: Bytes) -> (i16, i64) {
    let r = produce(sim, topic, records);
    (r.error_code, r.base_offset)
}

/// Every record value in the partition, with its offset.
fn log(sim: &mut Sim, topic: &str) -> Vec<(i64, String)> {
    let req = FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 1,
        max_bytes: 1 << 20,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: topic.into(),
            partitions: vec![FetchPartition {
                partition: 0,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                current_leader_epoch: -1,
                log_start_offset: -1,
                last_fetched_epoch: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::Fetch(r) = sim.call(9, 12, RequestBody::Fetch(req)) else {
        panic!()
    };
    let set: Bytes = r.responses[0].partitions[0]
        .records
        .as_ref()
        .map(|r| r.to_bytes())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    while at < set.len() {
        let view = BatchView::parse(&set[at..], at).expect("batch");
        for rec in view.records() {
            let rec = rec.expect("record");
            let value = String::from_utf8_lossy(rec.value.unwrap_or_default()).into_owned();
            out.push((view.header.base_offset + i64::from(rec.offset_delta), value));
        }
        at += view.size;
    }
    out
}

fn values(entries: &[(i64, &str)]) -> Vec<(i64, String)> {
    entries
        .iter()
        .map(|(o, v)| (*o, (*v).to_string()))
        .collect()
}

#[test]
fn init_producer_id_without_a_transactional_id_always_gives_a_new_id_at_epoch_0() {
    let mut sim = Sim::new();
    assert_eq!(
        triple(&init(&mut sim, 0, None, -1, -1)),
        (0, 0, 0),
        "a fresh cluster's first id is 0"
    );
    assert_eq!(triple(&init(&mut sim, 0, None, -1, -1)), (0, 1, 0));
    // KIP-360: an idempotent producer bumps its epoch itself; Kafka answers
    // its InitProducerId with a new id whatever id and epoch it names.
    assert_eq!(triple(&init(&mut sim, 5, None, 1, 0)), (0, 2, 0));
    assert_eq!(triple(&init(&mut sim, 5, None, 1, 7)), (0, 3, 0));
    // An id without an epoch (or the other way round) is malformed.
    let invalid = ErrorCode::INVALID_REQUEST.0;
    assert_eq!(triple(&init(&mut sim, 5, None, 1, -1)), (invalid, -1, -1));
    assert_eq!(triple(&init(&mut sim, 3, None, -1, 0)), (invalid, -1, -1));
}

#[test]
fn a_transactional_id_bumps_its_epoch_and_fences_older_ones() {
    let mut sim = Sim::new();
    // A transactional producer finds its coordinator first, which creates
    // __transaction_state; before that InitProducerId is NOT_COORDINATOR.
    assert_eq!(
        triple(&init(&mut sim, 0, Some("tx"), -1, -1)),
        (ErrorCode::NOT_COORDINATOR.0, -1, -1)
    );
    let r = sim::coordinator::find_coordinator(&mut sim, 7, "tx", 1);
    assert_eq!(r.error_code, 0);
    let (err, id, epoch) = triple(&init(&mut sim, 0, Some("tx"), -1, -1));
    assert_eq!((err, epoch), (0, 0));
    assert_eq!(
        triple(&init(&mut sim, 0, Some("tx"), -1, -1)),
        (0, id, 1),
        "each call bumps the epoch"
    );
    // KIP-360: the current producer recovering keeps its id, one epoch up.
    assert_eq!(triple(&init(&mut sim, 5, Some("tx"), id, 1)), (0, id, 2));
    // A retry of that call (its answer lost) gets the same answer.
    assert_eq!(triple(&init(&mut sim, 5, Some("tx"), id, 1)), (0, id, 2));
    // An older epoch is fenced: PRODUCER_FENCED from v4, INVALID_PRODUCER_EPOCH before.
    assert_eq!(
        triple(&init(&mut sim, 5, Some("tx"), id, 0)),
        (ErrorCode::PRODUCER_FENCED.0, -1, -1)
    );
    assert_eq!(
        triple(&init(&mut sim, 3, Some("tx"), id, 0)),
        (BAD_EPOCH, -1, -1)
    );
    assert_eq!(
        triple(&init(&mut sim, 4, Some("tx"), id + 100, 2)),
        (ErrorCode::PRODUCER_FENCED.0, -1, -1)
    );
    // Another transactional id has its own producer id.
    let (_, other, other_epoch) = triple(&init(&mut sim, 5, Some("other"), -1, -1));
    assert!(other > id);
    assert_eq!(other_epoch, 0);
    assert_eq!(
        triple(&init(&mut sim, 5, Some(""), -1, -1)),
        (ErrorCode::INVALID_REQUEST.0, -1, -1)
    );
    let req = InitProducerIdRequest {
        transactional_id: Some("tx".into()),
        transaction_timeout_ms: 900_001,
        ..Default::default()
    };
    let ResponseBody::InitProducerId(r) = sim.call(7, 4, RequestBody::InitProducerId(req)) else {
        panic!()
    };
    assert_eq!(r.error_code, ErrorCode::INVALID_TRANSACTION_TIMEOUT.0);
}

#[test]
fn a_retried_batch_gets_its_original_offsets_and_is_stored_once() {
    let mut sim = Sim::new();
    create(&mut sim, "t");
    let (_, pid, _) = triple(&init(&mut sim, 4, None, -1, -1));
    assert_eq!(sent(&mut sim, "t", batch(2, "plain")), (0, 0));
    assert_eq!(sent(&mut sim, "t", idem(3, "a", pid, 0, 0)), (0, 2));
    assert_eq!(sent(&mut sim, "t", idem(2, "b", pid, 0, 3)), (0, 5));
    // Both retried: answered with their first offsets, no error.
    let r = produce(&mut sim, "t", idem(3, "a", pid, 0, 0));
    assert_eq!((r.error_code, r.base_offset, r.log_start_offset), (0, 2, 0));
    // Kafka answers a duplicate with the stored batch's max timestamp as its append time.
    assert_eq!(r.log_append_time_ms, T0 + 2);
    assert_eq!(sent(&mut sim, "t", idem(2, "b", pid, 0, 3)), (0, 5));
    assert_eq!(sent(&mut sim, "t", idem(1, "c", pid, 0, 5)), (0, 7));
    let expected = values(&[
        (0, "plain-0"),
        (1, "plain-1"),
        (2, "a-0"),
        (3, "a-1"),
        (4, "a-2"),
        (5, "b-0"),
        (6, "b-1"),
        (7, "c-0"),
    ]);
    assert_eq!(log(&mut sim, "t"), expected);
}

#[test]
fn a_sequence_gap_is_out_of_order_and_appends_nothing() {
    let mut sim = Sim::new();
    create(&mut sim, "t");
    let (_, pid, _) = triple(&init(&mut sim, 4, None, -1, -1));
    assert_eq!(sent(&mut sim, "t", idem(3, "a", pid, 0, 0)), (0, 0));
    assert_eq!(
        sent(&mut sim, "t", idem(1, "gap", pid, 0, 4)),
        (OUT_OF_ORDER, -1)
    );
    // A batch overlapping the last one without repeating it is out of order too.
    assert_eq!(
        sent(&mut sim, "t", idem(2, "overlap", pid, 0, 2)),
        (OUT_OF_ORDER, -1)
    );
    assert_eq!(sent(&mut sim, "t", idem(1, "next", pid, 0, 3)), (0, 3));
    assert_eq!(
        log(&mut sim, "t"),
        values(&[(0, "a-0"), (1, "a-1"), (2, "a-2"), (3, "next-0")])
    );
}

#[test]
fn an_older_epoch_is_fenced_and_a_newer_one_starts_at_sequence_0() {
    let mut sim = Sim::new();
    create(&mut sim, "t");
    let pid = 42;
    assert_eq!(sent(&mut sim, "t", idem(2, "e0", pid, 0, 0)), (0, 0));
    // A new epoch must restart its sequences at 0.
    assert_eq!(
        sent(&mut sim, "t", idem(1, "e1-bad", pid, 1, 2)),
        (OUT_OF_ORDER, -1)
    );
    assert_eq!(sent(&mut sim, "t", idem(1, "e1", pid, 1, 0)), (0, 2));
    // The old epoch is fenced, even for a retry of its own batch.
    assert_eq!(
        sent(&mut sim, "t", idem(1, "e0-late", pid, 0, 2)),
        (BAD_EPOCH, -1)
    );
    assert_eq!(
        sent(&mut sim, "t", idem(2, "e0", pid, 0, 0)),
        (BAD_EPOCH, -1)
    );
    assert_eq!(sent(&mut sim, "t", idem(1, "e1", pid, 1, 1)), (0, 3));
    assert_eq!(
        log(&mut sim, "t"),
        values(&[(0, "e0-0"), (1, "e0-1"), (2, "e1-0"), (3, "e1-0")])
    );
}

#[test]
fn an_unknown_producer_may_start_at_any_sequence_and_sequences_wrap() {
    let mut sim = Sim::new();
    create(&mut sim, "t");
    // Kafka 4.1 accepts any first sequence from a producer the partition does
    // not know (its batches may have been removed by retention).
    assert_eq!(
        sent(&mut sim, "t", idem(2, "a", 9, 3, i32::MAX - 1)),
        (0, 0)
    );
    assert_eq!(
        sent(&mut sim, "t", idem(1, "b", 9, 3, 0)),
        (0, 2),
        "i32::MAX is followed by 0"
    );
    assert_eq!(
        sent(&mut sim, "t", idem(2, "a", 9, 3, i32::MAX - 1)),
        (0, 0),
        "still a duplicate across the wrap"
    );
}

#[test]
fn batches_without_a_producer_id_are_not_deduplicated() {
    let mut sim = Sim::new();
    create(&mut sim, "t");
    let same = batch(1, "x");
    assert_eq!(sent(&mut sim, "t", same.clone()), (0, 0));
    assert_eq!(sent(&mut sim, "t", same), (0, 1));
    assert_eq!(log(&mut sim, "t"), values(&[(0, "x-0"), (1, "x-0")]));
}

#[test]
fn producer_state_and_ids_survive_a_restart() {
    let mut sim = Sim::new();
    create(&mut sim, "t");
    let (_, pid, _) = triple(&init(&mut sim, 5, None, -1, -1));
    assert_eq!(sent(&mut sim, "t", idem(2, "a", pid, 0, 0)), (0, 0));
    assert_eq!(sent(&mut sim, "t", idem(2, "b", pid, 0, 2)), (0, 2));
    // A producer id the broker never handed out (another broker's) is in the log too.
    assert_eq!(sent(&mut sim, "t", idem(1, "far", 5000, 0, 0)), (0, 4));

    let mut again = sim.restart();
    assert_eq!(
        sent(&mut again, "t", idem(2, "b", pid, 0, 2)),
        (0, 2),
        "the retry is still a duplicate"
    );
    assert_eq!(
        sent(&mut again, "t", idem(2, "a", pid, 0, 0)),
        (0, 0),
        "so is an older one"
    );
    assert_eq!(
        sent(&mut again, "t", idem(1, "gap", pid, 0, 5)),
        (OUT_OF_ORDER, -1)
    );
    assert_eq!(sent(&mut again, "t", idem(1, "c", pid, 0, 4)), (0, 5));
    assert_eq!(sent(&mut again, "t", idem(1, "far", 5000, 0, 0)), (0, 4));
    let expected = values(&[
        (0, "a-0"),
        (1, "a-1"),
        (2, "b-0"),
        (3, "b-1"),
        (4, "far-0"),
        (5, "c-0"),
    ]);
    assert_eq!(log(&mut again, "t"), expected);
    // New ids exceed every id seen in the logs.
    let (err, next, epoch) = triple(&init(&mut again, 0, None, -1, -1));
    assert_eq!((err, epoch), (0, 0));
    assert!(next > 5000, "{next}");

    // Without the far id, a restart still moves to a new block, as Kafka does.
    let mut sim = Sim::new();
    let (_, first, _) = triple(&init(&mut sim, 0, None, -1, -1));
    let mut again = sim.restart();
    let (_, next, _) = triple(&init(&mut again, 0, None, -1, -1));
    assert_eq!((first, next), (0, 1000));
    let mut third = again.restart();
    assert_eq!(triple(&init(&mut third, 0, None, -1, -1)), (0, 2000, 0));
}

#[test]
fn brokers_of_a_zookeeper_cluster_hand_out_producer_ids_from_ranges_of_their_own() {
    use spate_core::broker::Config;
    use spate_core::storage::MemStorage;
    let zk = |node_id: i32, storage: MemStorage| {
        Sim::with(
            Config {
                zk_mode: true,
                node_id,
                ..Config::default()
            },
            storage,
        )
    };
    let mut two = zk(2, MemStorage::new());
    let mut three = zk(3, MemStorage::new());
    assert_eq!(triple(&init(&mut two, 4, None, -1, -1)), (0, 2 << 40, 0));
    assert_eq!(
        triple(&init(&mut two, 4, None, -1, -1)),
        (0, (2 << 40) + 1, 0)
    );
    assert_eq!(triple(&init(&mut three, 4, None, -1, -1)), (0, 3 << 40, 0));
    // A broker whose log holds batches of broker 3's producers (copied as
    // a follower) goes on in its own range, not past broker 3's producer.
    let mut single = Sim::new();
    single.create_topic("t", 1);
    let id3 = 3 << 40;
    single.send(
        9,
        9,
        sim::produce_request("t", 0, idem(2, "a", id3, 0, 0), 1),
    );
    let mut two = single.restart_with(Config {
        zk_mode: true,
        node_id: 2,
        ..Config::default()
    });
    assert_eq!(triple(&init(&mut two, 4, None, -1, -1)).1, 2 << 40);
    // A single broker starts at 0, as before.
    assert_eq!(triple(&init(&mut Sim::new(), 4, None, -1, -1)).1, 0);
}
