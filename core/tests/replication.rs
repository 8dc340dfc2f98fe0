//! Replication, leader side, in ZooKeeper mode: followers fetch as
//! replicas, the leader keeps their positions and the high watermark
//! (the slowest in-sync follower's log end, never falling), consumers
//! read up to it, and acks=all produces wait for it, checking
//! `min.insync.replicas` before and after the append. Virtual time, no
//! sockets: broker 1 leads `t`-0, and the tests play its followers.

mod sim;

use sim::pair::{leader_and_isr, zk_broker};
use sim::{batch, produce_request, Event, Sim};
use spate_core::broker::{IsrOutcome, Output};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::fetch_response::PartitionData;
use spate_core::protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use spate_core::protocol::messages::produce_response::PartitionProduceResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::storage::{Storage, TopicPartition};

const CONTROLLER: u64 = 50;
const TOPIC_ID: Uuid = Uuid([9; 16]);
/// The connection each follower fetches on: 100 + its id.
const FOLLOWERS: u64 = 100;

/// LeaderAndIsr v7: `leader` leads `topic`-0 (id `id`) at `epoch` with
/// `replicas` and `isr`; the partition's error.
fn lead(
    sim: &mut Sim,
    topic: &str,
    id: Uuid,
    leader: i32,
    epoch: i32,
    replicas: &[i32],
    isr: &[i32],
) -> i16 {
    let req = leader_and_isr(2, (topic, id), &[0], (leader, epoch), replicas, isr);
    match sim.call(CONTROLLER, 7, RequestBody::LeaderAndIsr(req)) {
        ResponseBody::LeaderAndIsr(r) => {
            assert_eq!(r.error_code, 0);
            r.topics[0].partition_errors[0].error_code
        }
        other => panic!("{other:?}"),
    }
}

/// A Fetch v12 (the replica id in the header field: v15+ moves it into
/// the replica state) of `t`-0 by `replica` (-1: a consumer) from `offset` at
/// leader epoch `epoch`, waiting up to `max_wait` ms for a byte.
fn fetch_request(replica: i32, offset: i64, epoch: i32, max_wait: i32) -> RequestBody {
    RequestBody::Fetch(FetchRequest {
        replica_id: replica,
        max_wait_ms: max_wait,
        min_bytes: 1,
        max_bytes: 1 << 20,
        topics: vec![FetchTopic {
            topic: "t".into(),
            topic_id: TOPIC_ID,
            partitions: vec![FetchPartition {
                partition: 0,
                current_leader_epoch: epoch,
                fetch_offset: offset,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn partition_of(body: ResponseBody) -> PartitionData {
    match body {
        ResponseBody::Fetch(mut r) => r.responses.remove(0).partitions.remove(0),
        other => panic!("{other:?}"),
    }
}

/// A fetch answered at once (max wait 0).
fn fetch(sim: &mut Sim, replica: i32, offset: i64, epoch: i32) -> PartitionData {
    let conn = if replica >= 0 {
        FOLLOWERS + replica as u64
    } else {
        1
    };
    partition_of(sim.call(conn, 12, fetch_request(replica, offset, epoch, 0)))
}

/// The high watermark a consumer is told.
fn hw(sim: &mut Sim) -> i64 {
    fetch(sim, -1, 0, -1).high_watermark
}

fn records_len(p: &PartitionData) -> usize {
    p.records.as_ref().map_or(0, |r| r.to_bytes().len())
}

/// ListOffsets v7 latest of `t`-0.
fn latest(sim: &mut Sim) -> i64 {
    let req = ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: "t".into(),
            partitions: vec![ListOffsetsPartition {
                partition_index: 0,
                current_leader_epoch: -1,
                timestamp: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match sim.call(1, 7, RequestBody::ListOffsets(req)) {
        ResponseBody::ListOffsets(r) => r.topics[0].partitions[0].offset,
        other => panic!("{other:?}"),
    }
}

/// Sends a Produce v9 of `n` records to `topic`-0 with `acks` on `conn`.
fn send_produce(sim: &mut Sim, conn: u64, topic: &str, n: i32, acks: i16) {
    sim.send(conn, 9, produce_request(topic, 0, batch(n, "r"), acks));
}

/// The produce answer `conn` got, if any.
fn produce_answer(sim: &mut Sim, conn: u64) -> Option<PartitionProduceResponse> {
    match sim.take(conn).as_slice() {
        [] => None,
        [Event::Response(_, ResponseBody::Produce(r))] => {
            Some(r.responses[0].partition_responses[0].clone())
        }
        other => panic!("{other:?}"),
    }
}

fn end_offset(sim: &Sim, topic: &str) -> i64 {
    sim.broker
        .storage()
        .end_offset(&TopicPartition::new(topic, 0))
}

// ---------------------------------------------------------------- tests

#[test]
fn the_high_watermark_is_the_slowest_in_sync_followers_log_end() {
    let mut sim = zk_broker();
    assert_eq!(
        lead(&mut sim, "t", TOPIC_ID, 1, 5, &[1, 2, 3], &[1, 2, 3]),
        0
    );
    send_produce(&mut sim, 9, "t", 3, 1);
    assert_eq!(produce_answer(&mut sim, 9).unwrap().error_code, 0);
    // Nothing is committed yet: consumers see nothing.
    let c = fetch(&mut sim, -1, 0, 5);
    assert_eq!((c.error_code, c.high_watermark, records_len(&c)), (0, 0, 0));
    assert_eq!(c.last_stable_offset, 0);
    assert_eq!(latest(&mut sim), 0);
    // A follower reads up to the log end.
    let f2 = fetch(&mut sim, 2, 0, 5);
    assert_eq!(f2.error_code, 0);
    assert!(records_len(&f2) > 0);
    // Follower 2 has it all; follower 3 has not fetched: no progress.
    fetch(&mut sim, 2, 3, 5);
    assert_eq!(hw(&mut sim), 0);
    fetch(&mut sim, 3, 1, 5);
    assert_eq!(hw(&mut sim), 1);
    // A follower's answer carries the high watermark as it was when its
    // fetch was read (Kafka's order): it learns of its own progress on
    // the next fetch.
    assert_eq!(fetch(&mut sim, 3, 3, 5).high_watermark, 1);
    assert_eq!(fetch(&mut sim, 3, 3, 5).high_watermark, 3);
    let c = fetch(&mut sim, -1, 0, 5);
    assert_eq!((c.high_watermark, c.last_stable_offset), (3, 3));
    assert!(records_len(&c) > 0);
    assert_eq!(latest(&mut sim), 3);
    // A follower going back does not move the high watermark back.
    fetch(&mut sim, 2, 1, 5);
    assert_eq!(fetch(&mut sim, -1, 0, 5).high_watermark, 3);
}

#[test]
fn a_follower_catching_up_wakes_a_waiting_consumer() {
    let mut sim = zk_broker();
    lead(&mut sim, "t", TOPIC_ID, 1, 5, &[1, 2], &[1, 2]);
    // The consumer waits: nothing committed.
    sim.send(1, 12, fetch_request(-1, 0, 5, 5_000));
    send_produce(&mut sim, 9, "t", 2, 1);
    assert!(sim.take(1).is_empty());
    fetch(&mut sim, 2, 2, 5);
    let c = partition_of(sim.one(1));
    assert_eq!(c.high_watermark, 2);
    assert!(records_len(&c) > 0);
}

#[test]
fn acks_all_waits_for_the_in_sync_followers() {
    let mut sim = zk_broker();
    lead(&mut sim, "t", TOPIC_ID, 1, 5, &[1, 2, 3], &[1, 2, 3]);
    send_produce(&mut sim, 9, "t", 2, -1);
    assert_eq!(produce_answer(&mut sim, 9), None, "parked");
    assert_eq!(end_offset(&sim, "t"), 2, "appended before waiting");
    fetch(&mut sim, 2, 2, 5);
    assert_eq!(
        produce_answer(&mut sim, 9),
        None,
        "follower 3 has not got it"
    );
    fetch(&mut sim, 3, 2, 5);
    let p = produce_answer(&mut sim, 9).expect("answered once the ISR has it");
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    // acks=1 never waits.
    send_produce(&mut sim, 9, "t", 1, 1);
    assert_eq!(produce_answer(&mut sim, 9).unwrap().base_offset, 2);
}

#[test]
fn acks_all_times_out_when_a_follower_stays_behind() {
    let mut sim = zk_broker();
    lead(&mut sim, "t", TOPIC_ID, 1, 5, &[1, 2], &[1, 2]);
    send_produce(&mut sim, 9, "t", 2, -1);
    // A later request on the connection waits its turn.
    sim.send(9, 12, fetch_request(-1, 0, 5, 0));
    fetch(&mut sim, 2, 1, 5);
    sim.advance(999);
    assert!(sim.take(9).is_empty());
    sim.advance(1);
    let events = sim.take(9);
    let [Event::Response(_, ResponseBody::Produce(r)), Event::Response(_, ResponseBody::Fetch(_))] =
        events.as_slice()
    else {
        panic!("{events:?}")
    };
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(
        (p.error_code, p.base_offset),
        (ErrorCode::REQUEST_TIMED_OUT.code(), 0),
        "the records stay appended"
    );
}

#[test]
fn min_insync_replicas_refuses_acks_all_before_and_after_the_append() {
    // A topic with a config of its own: created by the broker alone (its
    // own log keeps the config), before it joined a ZooKeeper cluster.
    let mut single = Sim::new();
    let id = single
        .create_topic_with("m", 1, &[("min.insync.replicas", "2")])
        .topic_id;
    let mut sim = single.restart_with(zk_broker().broker.config().clone());
    assert_eq!(lead(&mut sim, "m", id, 1, 1, &[1, 2], &[1]), 0);
    send_produce(&mut sim, 9, "m", 1, -1);
    let p = produce_answer(&mut sim, 9).unwrap();
    assert_eq!(p.error_code, ErrorCode::NOT_ENOUGH_REPLICAS.code());
    assert_eq!(end_offset(&sim, "m"), 0, "nothing appended");
    send_produce(&mut sim, 9, "m", 1, 1);
    assert_eq!(produce_answer(&mut sim, 9).unwrap().error_code, 0);
    // In sync again, then the controller shrinks the ISR while a produce
    // waits: appended, but not acknowledged by enough replicas.
    assert_eq!(lead(&mut sim, "m", id, 1, 2, &[1, 2], &[1, 2]), 0);
    send_produce(&mut sim, 9, "m", 1, -1);
    assert_eq!(produce_answer(&mut sim, 9), None);
    assert_eq!(lead(&mut sim, "m", id, 1, 3, &[1, 2], &[1]), 0);
    let p = produce_answer(&mut sim, 9).unwrap();
    assert_eq!(
        (p.error_code, p.base_offset),
        (ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND.code(), 1)
    );
}

#[test]
fn a_learned_topic_takes_the_configs_the_cluster_stores_before_or_after_it_is_learned() {
    let mut sim = zk_broker();
    // Before: the configs arrive, then the controller names the topic.
    sim.broker.handle_topic_configs(
        "early",
        vec![("min.insync.replicas".into(), "2".into())],
        sim.now,
    );
    assert_eq!(
        lead(&mut sim, "early", Uuid([3; 16]), 1, 1, &[1, 2], &[1]),
        0
    );
    send_produce(&mut sim, 9, "early", 1, -1);
    let p = produce_answer(&mut sim, 9).unwrap();
    assert_eq!(p.error_code, ErrorCode::NOT_ENOUGH_REPLICAS.code());
    // After: led with the defaults (min.insync.replicas=1), then told.
    assert_eq!(
        lead(&mut sim, "late", Uuid([4; 16]), 1, 1, &[1, 2], &[1]),
        0
    );
    send_produce(&mut sim, 9, "late", 1, -1);
    assert_eq!(produce_answer(&mut sim, 9).unwrap().error_code, 0);
    sim.broker.handle_topic_configs(
        "late",
        vec![("min.insync.replicas".into(), "2".into())],
        sim.now,
    );
    send_produce(&mut sim, 9, "late", 1, -1);
    let p = produce_answer(&mut sim, 9).unwrap();
    assert_eq!(p.error_code, ErrorCode::NOT_ENOUGH_REPLICAS.code());
}

/// The ISR writes the broker asked for since the last call.
fn isr_writes(sim: &mut Sim) -> Vec<(Vec<i32>, i32, i32)> {
    sim.drain();
    std::mem::take(&mut sim.asked)
        .into_iter()
        .map(|o| match o {
            Output::WriteIsr {
                tp,
                leader,
                leader_epoch,
                isr,
                controller_epoch,
                version,
            } => {
                assert_eq!((tp.partition, leader, controller_epoch), (0, 1, 1));
                (isr, leader_epoch, version)
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_stuck_follower_leaves_the_isr_once_written_and_acks_all_goes_on() {
    let mut sim = zk_broker();
    assert_eq!(
        lead(&mut sim, "t", TOPIC_ID, 1, 3, &[1, 2, 3], &[1, 2, 3]),
        0
    );
    let _ = fetch(&mut sim, 2, 0, 3);
    let _ = fetch(&mut sim, 3, 0, 3);
    // Follower 2 keeps fetching; 3 is stuck. 30 s later the leader asks
    // to write the ISR without 3, at the version LeaderAndIsr gave (3).
    let start = sim.now;
    while sim.now < start + 29_000 {
        sim.now += 1_000;
        let end = end_offset(&sim, "t");
        let _ = fetch(&mut sim, 2, end, 3);
        sim.broker.handle_timeout(sim.now);
    }
    assert_eq!(isr_writes(&mut sim), [], "not yet");
    sim.now += 500;
    send_produce(&mut sim, 9, "t", 2, -1);
    let end = end_offset(&sim, "t");
    let _ = fetch(&mut sim, 2, end, 3);
    assert_eq!(produce_answer(&mut sim, 9), None, "2 has it; waits for 3");
    sim.now += 600;
    sim.broker.handle_timeout(sim.now);
    assert_eq!(isr_writes(&mut sim), [(vec![1, 2], 3, 3)]);
    assert_eq!(
        produce_answer(&mut sim, 9),
        None,
        "not before it is written"
    );
    sim.broker.handle_isr_written(
        &TopicPartition::new("t", 0),
        3,
        IsrOutcome::Done(4),
        sim.now,
    );
    sim.drain();
    let p = produce_answer(&mut sim, 9).expect("answered once 3 is out");
    assert_eq!(p.error_code, 0);
    // 3 comes back and catches up: it rejoins, at the znode's new version.
    let end = end_offset(&sim, "t");
    let _ = fetch(&mut sim, 3, end, 3);
    sim.now += 500;
    sim.broker.handle_timeout(sim.now);
    assert_eq!(isr_writes(&mut sim), [(vec![1, 2, 3], 3, 4)]);
}

#[test]
fn a_leader_whose_isr_write_is_refused_acknowledges_no_acks_all_write() {
    let mut sim = zk_broker();
    assert_eq!(lead(&mut sim, "t", TOPIC_ID, 1, 5, &[1, 2], &[1, 2]), 0);
    // Follower 2 went to a new leader; this one does not know yet.
    send_produce(&mut sim, 9, "t", 1, -1);
    sim.now += 31_000;
    sim.broker.handle_timeout(sim.now);
    assert_eq!(isr_writes(&mut sim), [(vec![1], 5, 5)]);
    // The controller moved the partition on: the znode is not at 5.
    sim.broker.handle_isr_written(
        &TopicPartition::new("t", 0),
        5,
        IsrOutcome::Conflict,
        sim.now,
    );
    sim.now += 60_000;
    sim.broker.handle_timeout(sim.now);
    assert_eq!(isr_writes(&mut sim), [], "it proposes nothing more");
    let p = produce_answer(&mut sim, 9).expect("timed out");
    assert_eq!(p.error_code, ErrorCode::REQUEST_TIMED_OUT.code());
}

#[test]
fn a_waiting_produce_whose_leader_moves_is_not_leader() {
    let mut sim = zk_broker();
    lead(&mut sim, "t", TOPIC_ID, 1, 5, &[1, 2], &[1, 2]);
    send_produce(&mut sim, 9, "t", 1, -1);
    assert_eq!(produce_answer(&mut sim, 9), None);
    assert_eq!(lead(&mut sim, "t", TOPIC_ID, 2, 6, &[1, 2], &[2, 1]), 0);
    let p = produce_answer(&mut sim, 9).unwrap();
    assert_eq!(p.error_code, ErrorCode::NOT_LEADER_OR_FOLLOWER.code());
}

#[test]
fn replica_fetches_are_checked() {
    let mut sim = zk_broker();
    lead(&mut sim, "t", TOPIC_ID, 1, 5, &[1, 2], &[1, 2]);
    send_produce(&mut sim, 9, "t", 1, 1);
    let code = |p: PartitionData| p.error_code;
    // Not a replica of the partition.
    assert_eq!(
        code(fetch(&mut sim, 7, 0, 5)),
        ErrorCode::UNKNOWN_LEADER_EPOCH.code()
    );
    assert_eq!(
        code(fetch(&mut sim, 7, 0, -1)),
        ErrorCode::NOT_LEADER_OR_FOLLOWER.code()
    );
    // Epochs as for consumers.
    assert_eq!(
        code(fetch(&mut sim, 2, 0, 4)),
        ErrorCode::FENCED_LEADER_EPOCH.code()
    );
    assert_eq!(
        code(fetch(&mut sim, 2, 0, 6)),
        ErrorCode::UNKNOWN_LEADER_EPOCH.code()
    );
    // Past the log end: out of range, and the position is not recorded.
    assert_eq!(
        code(fetch(&mut sim, 2, 9, 5)),
        ErrorCode::OFFSET_OUT_OF_RANGE.code()
    );
    assert_eq!(hw(&mut sim), 0);
    fetch(&mut sim, 2, 1, 5);
    assert_eq!(hw(&mut sim), 1);
}

#[test]
fn a_single_broker_is_unchanged() {
    let mut sim = Sim::new();
    sim.create_topic("t", 1);
    send_produce(&mut sim, 9, "t", 2, -1);
    assert_eq!(produce_answer(&mut sim, 9).unwrap().error_code, 0);
    let c = fetch(&mut sim, -1, 0, -1);
    assert_eq!(c.high_watermark, 2);
    // No replica may fetch from a single broker.
    let f = fetch(&mut sim, 2, 0, -1);
    assert_eq!(f.error_code, ErrorCode::NOT_LEADER_OR_FOLLOWER.code());
}
