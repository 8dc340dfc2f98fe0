//! Replication, follower side, in ZooKeeper mode: two brokers over
//! MemStorage in virtual time, no sockets ([`sim::pair::Pair`]).

mod sim;
#[path = "transactions/util.rs"]
#[allow(dead_code)]
mod txn_util;

use bytes::Bytes;
use sim::pair::{leader_and_isr, stop_replica, zk_config, Pair, CONTROLLER};
use sim::{batch, produce_request, Event, Sim};
use spate_core::broker::Config;
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::leader_and_isr_request::LeaderAndIsrRequest;
use spate_core::protocol::messages::produce_response::PartitionProduceResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::records::{batches, BatchView, SetEntry};
use spate_core::storage::{MemStorage, Storage, TopicPartition};

const CLIENT: u64 = 1;
const TOPIC_ID: Uuid = Uuid([9; 16]);

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

impl Pair {
    /// LeaderAndIsr v7 to broker `to`: `leader` leads `t`-0 at `epoch`,
    /// replicas 1 and 2, this ISR.
    fn lead(&mut self, to: i32, leader: i32, epoch: i32, isr: &[i32]) {
        self.lead_partitions(to, ("t", TOPIC_ID), &[0], (leader, epoch), isr);
    }

    fn log(&mut self, id: i32) -> Vec<Bytes> {
        let s = self.sim(id).broker.storage();
        s.read(&tp(), 0, usize::MAX).unwrap()
    }

    fn end(&mut self, id: i32) -> i64 {
        self.sim(id).broker.storage().end_offset(&tp())
    }
}

fn send_produce(s: &mut Sim, n: i32, prefix: &str, acks: i16) {
    s.send(CLIENT, 9, produce_request("t", 0, batch(n, prefix), acks));
}

fn produce_answer(s: &mut Sim) -> Option<PartitionProduceResponse> {
    match s.take(CLIENT).as_slice() {
        [] => None,
        [Event::Response(_, ResponseBody::Produce(r))] => {
            Some(r.responses[0].partition_responses[0].clone())
        }
        other => panic!("{other:?}"),
    }
}

/// A consumer's Fetch v12 of `t`-0 from 0, answered at once: (error,
/// high watermark).
fn consumer_fetch(s: &mut Sim) -> (i16, i64) {
    let req = RequestBody::Fetch(FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 1 << 20,
        topics: vec![FetchTopic {
            topic: "t".into(),
            partitions: vec![FetchPartition {
                partition: 0,
                current_leader_epoch: -1,
                fetch_offset: 0,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    });
    match s.call(CLIENT + 1, 12, req) {
        ResponseBody::Fetch(r) => {
            let p = &r.responses[0].partitions[0];
            (p.error_code, p.high_watermark)
        }
        other => panic!("{other:?}"),
    }
}

/// (base offset, last offset, partition leader epoch) of every batch.
fn shape(log: &[Bytes]) -> Vec<(i64, i64, i32)> {
    let mut out = Vec::new();
    for chunk in log {
        for e in batches(chunk) {
            let Ok(SetEntry::Batch(raw)) = e else {
                panic!("whole batches")
            };
            let v = BatchView::parse(&raw.bytes, 0).unwrap();
            out.push((
                raw.info.base_offset,
                raw.info.last_offset,
                v.header.partition_leader_epoch,
            ));
        }
    }
    out
}

// ---------------------------------------------------------------- tests

#[test]
fn a_follower_copies_the_leaders_log_and_acks_all_completes() {
    let mut c = Pair::new();
    c.lead(1, 1, 1, &[1, 2]);
    c.lead(2, 1, 1, &[1, 2]);
    // The follower's log is empty and has no epoch: it fetches at once.
    assert_eq!(c.sim(2).replica.len(), 1);
    send_produce(c.sim(1), 3, "a", -1);
    assert_eq!(produce_answer(c.sim(1)), None, "waits for follower 2");
    c.run_until(5_000, |c| {
        !c.sim(1).events.get(&CLIENT).is_none_or(Vec::is_empty)
    });
    let r = produce_answer(c.sim(1)).expect("answered");
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    assert_eq!(c.end(2), 3);
    assert_eq!(c.log(2), c.log(1), "identical batches");
    assert_eq!(
        shape(&c.log(2)),
        vec![(0, 2, 1)],
        "stamped with the leader's epoch"
    );
    assert_eq!(consumer_fetch(c.sim(1)), (0, 3));
    // The follower serves no clients.
    let (error, _) = consumer_fetch(c.sim(2));
    assert_eq!(error, ErrorCode::NOT_LEADER_OR_FOLLOWER.code());
    // More records: the parked replica fetch is woken and copies them;
    // the follower learns the high watermark on its next fetch.
    send_produce(c.sim(1), 2, "b", 1);
    assert!(produce_answer(c.sim(1)).is_some());
    c.run_until(5_000, |c| {
        c.sim(2).broker.replica_high_watermark(&tp()) == Some(5)
    });
    assert_eq!(c.log(2), c.log(1));
    assert_eq!(shape(&c.log(2)), vec![(0, 2, 1), (3, 4, 1)]);
    // With nothing to copy, the follower's fetch waits at the leader
    // (replica.fetch.wait.max.ms) and comes back; nothing changes.
    c.advance(2_000);
    assert_eq!(c.log(2), c.log(1));
    assert_eq!(
        c.sim(2).replica.len() + c.sim(1).raw.len(),
        0,
        "all delivered"
    );
}

#[test]
fn an_old_leader_truncates_its_unreplicated_tail_and_copies_the_new_leaders_log() {
    let mut c = Pair::new();
    c.lead(1, 1, 1, &[1, 2]);
    c.lead(2, 1, 1, &[1, 2]);
    send_produce(c.sim(1), 2, "a", -1);
    c.run_until(5_000, |c| {
        c.sim(1).events.get(&CLIENT).is_some_and(|e| !e.is_empty())
    });
    assert_eq!(produce_answer(c.sim(1)).unwrap().error_code, 0);
    // Broker 2 loses its connection: broker 1 takes two batches alone.
    c.sim(2).replica.clear();
    c.sim(1).raw.clear();
    let now = c.sim(2).now;
    c.sim(2).broker.handle_replica_failure(1, now);
    c.sim(2).replica.clear();
    send_produce(c.sim(1), 3, "tail", 1);
    assert_eq!(produce_answer(c.sim(1)).map(|r| r.error_code), Some(0));
    send_produce(c.sim(1), 1, "tail2", 1);
    assert_eq!(produce_answer(c.sim(1)).map(|r| r.error_code), Some(0));
    assert_eq!((c.end(1), c.end(2)), (6, 2));
    // The controller makes broker 2 leader at epoch 2; it writes other data.
    c.lead(2, 2, 2, &[2]);
    send_produce(c.sim(2), 4, "new", 1);
    assert_eq!(produce_answer(c.sim(2)).unwrap().base_offset, 2);
    send_produce(c.sim(2), 1, "new2", 1);
    assert_eq!(produce_answer(c.sim(2)).unwrap().base_offset, 6);
    // Broker 1 becomes follower: it asks where epoch 1 ends (offset 2 at
    // broker 2), cuts its tail there and copies broker 2's batches.
    c.lead(1, 2, 2, &[2]);
    c.run_until(5_000, |c| c.end(1) == 7 && c.log(1) == c.log(2));
    assert_eq!(shape(&c.log(1)), vec![(0, 1, 1), (2, 5, 2), (6, 6, 2)]);
    assert_eq!(c.log(1), c.log(2), "identical bytes");
    c.run_until(5_000, |c| {
        c.sim(1).broker.replica_high_watermark(&tp()) == Some(7)
    });
    // Broker 1 no longer answers for the partition; broker 2 does.
    assert_eq!(
        consumer_fetch(c.sim(1)).0,
        ErrorCode::NOT_LEADER_OR_FOLLOWER.code()
    );
    assert_eq!(consumer_fetch(c.sim(2)), (0, 7));
}

/// DeleteRecords v2 of `t`-0 below `offset` at `s`: the new low watermark.
fn delete_records(s: &mut Sim, offset: i64) -> i64 {
    use spate_core::protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic,
    };
    let req = DeleteRecordsRequest {
        topics: vec![DeleteRecordsTopic {
            name: "t".into(),
            partitions: vec![DeleteRecordsPartition {
                partition_index: 0,
                offset,
                ..Default::default()
            }],
            ..Default::default()
        }],
        timeout_ms: 1000,
        ..Default::default()
    };
    match s.call(CLIENT, 2, RequestBody::DeleteRecords(req)) {
        ResponseBody::DeleteRecords(r) => {
            let p = &r.topics[0].partitions[0];
            assert_eq!(p.error_code, 0);
            p.low_watermark
        }
        other => panic!("{other:?}"),
    }
}

/// Broker 2 loses its connection to leader 1: what was in flight is gone.
fn cut_off(c: &mut Pair) {
    c.sim(2).replica.clear();
    c.sim(1).raw.clear();
    let now = c.sim(2).now;
    c.sim(2).broker.handle_replica_failure(1, now);
}

#[test]
fn a_follower_behind_the_leaders_log_start_restarts_there_after_backing_off() {
    let mut c = Pair::new();
    // Follower 2 is out of the ISR: the leader's high watermark is its end.
    c.lead(1, 1, 1, &[1]);
    c.lead(2, 1, 1, &[1]);
    cut_off(&mut c);
    assert!(c.sim(2).replica.is_empty());
    let t = c.sim(2).now;
    // Nothing is asked of leader 1 for replica.fetch.backoff.ms (other
    // timers, the ISR check's, may fire meanwhile).
    c.sim(2).broker.handle_timeout(t + 999);
    c.sim(2).drain();
    assert!(c.sim(2).replica.is_empty(), "replica.fetch.backoff.ms");
    c.sim(2).broker.handle_timeout(t + 1_000);
    c.sim(2).drain();
    assert_eq!(c.sim(2).replica.len(), 1, "asked again after the backoff");
    c.sim(2).replica.clear();
    c.sim(2).broker.handle_replica_failure(1, t + 1_000);
    for prefix in ["a", "b", "c"] {
        send_produce(c.sim(1), 3, prefix, 1);
        assert_eq!(produce_answer(c.sim(1)).unwrap().error_code, 0);
    }
    // The leader's log now starts inside its last batch (6..=8).
    assert_eq!(delete_records(c.sim(1), 7), 7);
    c.run_until(5_000, |c| c.end(2) == 9);
    assert!(c.sim(2).now >= t + 1_000, "no request during the backoff");
    let s = c.sim(2).broker.storage();
    assert_eq!(s.start_offset(&tp()), 7, "the leader's log start");
    assert_eq!(c.log(2), c.log(1));
    assert_eq!(shape(&c.log(2)), vec![(6, 8, 1)]);
}

#[test]
fn a_fenced_follower_stops_until_the_next_leader_and_isr() {
    let mut c = Pair::new();
    c.lead(1, 1, 1, &[1, 2]);
    c.lead(2, 1, 1, &[1, 2]);
    send_produce(c.sim(1), 2, "a", 1);
    assert!(produce_answer(c.sim(1)).is_some());
    c.run_until(5_000, |c| c.end(2) == 2);
    // The leader moves to epoch 2; the follower still fetches at epoch 1.
    c.lead(1, 1, 2, &[1, 2]);
    send_produce(c.sim(1), 3, "b", 1);
    assert!(produce_answer(c.sim(1)).is_some());
    c.advance(1_000);
    let carried = c.carried;
    c.advance(5_000);
    assert_eq!(c.end(2), 2, "fenced: nothing copied");
    assert_eq!(c.carried, carried, "and nothing asked");
    c.lead(2, 1, 2, &[1, 2]);
    c.run_until(5_000, |c| c.end(2) == 5);
    assert_eq!(c.log(2), c.log(1));
    assert_eq!(shape(&c.log(2)), vec![(0, 1, 1), (2, 4, 2)]);
}

#[test]
fn a_follower_told_before_its_leader_retries_until_the_leader_knows() {
    let mut c = Pair::new();
    c.lead(1, 1, 1, &[1, 2]);
    c.lead(2, 1, 1, &[1, 2]);
    send_produce(c.sim(1), 2, "a", 1);
    assert!(produce_answer(c.sim(1)).is_some());
    c.run_until(5_000, |c| c.end(2) == 2);
    // The follower hears of epoch 2 first: the leader answers
    // UNKNOWN_LEADER_EPOCH, and the follower keeps trying.
    c.lead(2, 1, 2, &[1, 2]);
    c.advance(3_000);
    assert_eq!(c.end(2), 2);
    c.lead(1, 1, 2, &[1, 2]);
    send_produce(c.sim(1), 3, "b", 1);
    assert!(produce_answer(c.sim(1)).is_some());
    c.run_until(5_000, |c| c.end(2) == 5);
    assert_eq!(c.log(2), c.log(1));
}

#[test]
fn a_promoted_follower_knows_the_idempotent_producers_it_copied() {
    let mut c = Pair::new();
    c.lead(1, 1, 1, &[1, 2]);
    c.lead(2, 1, 1, &[1, 2]);
    let idempotent = |n: i32| {
        let mut b = spate_core::records::RecordBatchBuilder::new(0, sim::T0).producer(4242, 0, 0);
        for i in 0..n {
            b.push(spate_core::records::Record::new(
                i,
                i64::from(i),
                None,
                Some(Bytes::from("v")),
            ));
        }
        b.build().unwrap()
    };
    c.sim(1)
        .send(CLIENT, 9, produce_request("t", 0, idempotent(3), -1));
    c.run_until(5_000, |c| {
        c.sim(1).events.get(&CLIENT).is_some_and(|e| !e.is_empty())
    });
    assert_eq!(produce_answer(c.sim(1)).unwrap().error_code, 0);
    assert_eq!(c.end(2), 3);
    c.run_until(5_000, |c| {
        c.sim(2).broker.replica_high_watermark(&tp()) == Some(3)
    });
    // Broker 2 leads now. Broker 1 has not fetched from it, yet its high
    // watermark starts where broker 2 knew it as follower.
    c.lead(2, 2, 2, &[1, 2]);
    assert_eq!(consumer_fetch(c.sim(2)), (0, 3));
    // The producer retries its batch there.
    c.lead(1, 2, 2, &[1, 2]);
    c.run_until(5_000, |c| {
        c.sim(1).broker.replica_high_watermark(&tp()).is_some()
    });
    c.sim(2)
        .send(CLIENT, 9, produce_request("t", 0, idempotent(3), 1));
    let r = produce_answer(c.sim(2)).unwrap();
    assert_eq!(
        (r.error_code, r.base_offset),
        (0, 0),
        "a duplicate of the copied batch"
    );
    assert_eq!(c.end(2), 3, "not appended again");
    // The new leader sends no replica requests; the old one follows it.
    c.deliver();
    assert!(c.sim(2).replica.is_empty());
    assert_eq!(c.log(1), c.log(2));
}

#[test]
fn leader_and_isr_live_leaders_tell_where_to_fetch_before_update_metadata() {
    use spate_core::protocol::messages::leader_and_isr_request::LeaderAndIsrLiveLeader;
    let mut s = Sim::with(
        Config {
            node_id: 2,
            ..zk_config()
        },
        MemStorage::new(),
    );
    let req = LeaderAndIsrRequest {
        live_leaders: vec![LeaderAndIsrLiveLeader {
            broker_id: 1,
            host_name: "leader.example".into(),
            port: 19092,
            ..Default::default()
        }],
        ..leader_and_isr(1, ("t", TOPIC_ID), &[0], (1, 1), &[1, 2], &[1, 2])
    };
    match s.call(CONTROLLER, 7, RequestBody::LeaderAndIsr(req)) {
        ResponseBody::LeaderAndIsr(r) => assert_eq!(r.error_code, 0),
        other => panic!("{other:?}"),
    }
    let sent: Vec<(i32, String, i32)> = s
        .replica
        .iter()
        .map(|(l, h, p, _)| (*l, h.clone(), *p))
        .collect();
    assert_eq!(sent, vec![(1, "leader.example".to_string(), 19092)]);
}

#[test]
fn stop_replica_stops_fetching_until_the_next_leader_and_isr() {
    let mut c = Pair::new();
    c.lead(1, 1, 1, &[1, 2]);
    c.lead(2, 1, 1, &[1, 2]);
    send_produce(c.sim(1), 2, "a", 1);
    assert!(produce_answer(c.sim(1)).is_some());
    c.run_until(5_000, |c| c.end(2) == 2);
    let req = stop_replica("t", 0, 1, false);
    match c.sim(2).call(CONTROLLER, 3, RequestBody::StopReplica(req)) {
        ResponseBody::StopReplica(r) => assert_eq!(r.partition_errors[0].error_code, 0),
        other => panic!("{other:?}"),
    }
    send_produce(c.sim(1), 3, "b", 1);
    assert!(produce_answer(c.sim(1)).is_some());
    // The fetch in flight may still land; after it nothing is asked.
    c.advance(1_000);
    let carried = c.carried;
    c.advance(5_000);
    assert_eq!(c.carried, carried, "stopped: nothing asked");
    assert_eq!(c.end(2), 2, "and the log kept");
    c.lead(2, 1, 2, &[1, 2]);
    c.lead(1, 1, 2, &[1, 2]);
    c.run_until(5_000, |c| c.end(2) == 5);
    assert_eq!(c.log(2), c.log(1));
}

#[test]
fn a_promoted_follower_knows_the_aborted_and_open_transactions_it_copied() {
    let mut c = Pair::new();
    // The leader alone in the ISR: its acks=all produces finish at once.
    c.lead(1, 1, 1, &[1]);
    c.lead(2, 1, 1, &[1]);
    // Broker 1 coordinates the transactions: it leads `__transaction_state`.
    let all: Vec<i32> = (0..50).collect();
    for to in 1..=2 {
        let txns = ("__transaction_state", Uuid([5; 16]));
        c.lead_partitions(to, txns, &all, (1, 1), &[1]);
    }
    let aborted = txn_util::init(c.sim(1), "tx");
    txn_util::add(c.sim(1), "tx", aborted, &[("t", 0)]);
    assert_eq!(
        txn_util::produce_ok(c.sim(1), "tx", aborted, 0, ("t", 0), 3),
        0
    );
    assert_eq!(txn_util::end(c.sim(1), "tx", aborted, false), 0);
    let open = txn_util::init(c.sim(1), "tx2");
    txn_util::add(c.sim(1), "tx2", open, &[("t", 0)]);
    assert_eq!(
        txn_util::produce_ok(c.sim(1), "tx2", open, 0, ("t", 0), 2),
        4
    );
    let end = c.end(1);
    c.run_until(5_000, |c| c.end(2) == end);
    assert_eq!(c.log(2), c.log(1));
    // Broker 2 leads: read_committed readers stop at the open transaction
    // and are told of the aborted one.
    c.lead(2, 2, 2, &[2]);
    assert_eq!(
        txn_util::latest(c.sim(2), "t", 0, 1),
        4,
        "the last stable offset"
    );
    let p = txn_util::fetch(c.sim(2), "t", 0, 0, true);
    let aborted_list: Vec<(i64, i64)> = p
        .aborted_transactions
        .unwrap_or_default()
        .iter()
        .map(|a| (a.producer_id, a.first_offset))
        .collect();
    assert_eq!(aborted_list, vec![(aborted.0, 0)]);
}

#[test]
fn a_promoted_follower_answers_consumers_by_topic_id_at_its_new_epoch() {
    let mut c = Pair::new();
    c.lead(1, 1, 0, &[1, 2]);
    c.lead(2, 1, 0, &[1, 2]);
    send_produce(c.sim(1), 3, "a", -1);
    c.run_until(5_000, |c| {
        c.sim(1).events.get(&CLIENT).is_some_and(|e| !e.is_empty())
    });
    assert_eq!(produce_answer(c.sim(1)).unwrap().error_code, 0);
    c.lead(2, 2, 1, &[2]);
    for epoch in [-1, 0, 1, 2] {
        let req = RequestBody::Fetch(FetchRequest {
            replica_id: -1,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: 1 << 20,
            topics: vec![FetchTopic {
                topic_id: TOPIC_ID,
                partitions: vec![FetchPartition {
                    partition: 0,
                    current_leader_epoch: epoch,
                    fetch_offset: 0,
                    last_fetched_epoch: -1,
                    log_start_offset: -1,
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        let got = match c.sim(2).call(CLIENT + 1, 16, req) {
            ResponseBody::Fetch(r) => r.responses[0].partitions[0].error_code,
            other => panic!("{other:?}"),
        };
        // No epoch, or the new one: served. The old one: fenced (the
        // client must look for the leader again); a newer one: unknown.
        let want = match epoch {
            -1 | 1 => ErrorCode::NONE,
            0 => ErrorCode::FENCED_LEADER_EPOCH,
            _ => ErrorCode::UNKNOWN_LEADER_EPOCH,
        };
        assert_eq!(got, want.code(), "current leader epoch {epoch}");
    }
    // acks=all at the new leader (ISR of itself): answered at once.
    send_produce(c.sim(2), 2, "b", -1);
    c.deliver();
    assert_eq!(produce_answer(c.sim(2)).unwrap().error_code, 0);
}

#[test]
fn acks_all_is_answered_as_soon_as_the_follower_has_copied_without_waiting_out_a_fetch() {
    let mut c = Pair::new();
    c.lead(1, 1, 1, &[1, 2]);
    c.lead(2, 1, 1, &[1, 2]);
    c.run_until(5_000, |c| {
        c.sim(2).broker.replica_high_watermark(&tp()).is_some()
    });
    // The follower waits at the leader's log end; time stands still from
    // here: every produce must be answered by message passing alone.
    c.deliver();
    let t = c.sim(1).now;
    for i in 0..5 {
        send_produce(c.sim(1), 2, &format!("p{i}"), -1);
        c.deliver();
        let answer = produce_answer(c.sim(1));
        assert_eq!(answer.map(|a| a.error_code), Some(0), "produce {i}");
        assert_eq!(c.sim(1).now, t, "no time passed");
    }
    assert_eq!(c.end(2), 10);
}

#[test]
fn pipelined_acks_all_produces_do_not_wait_out_the_followers_fetch() {
    let mut c = Pair::new();
    c.lead(1, 1, 1, &[1, 2]);
    c.lead(2, 1, 1, &[1, 2]);
    c.run_until(5_000, |c| {
        c.sim(2).broker.replica_high_watermark(&tp()).is_some()
    });
    c.deliver();
    let t = c.sim(1).now;
    // Three produces on one connection at once, as a pipelining client
    // sends them: the second runs when the first is answered, inside the
    // follower's fetch that moved the high watermark.
    for i in 0..3 {
        send_produce(c.sim(1), 2, &format!("q{i}"), -1);
    }
    c.deliver();
    let answers = c.sim(1).take(CLIENT);
    assert_eq!(answers.len(), 3, "all answered: {answers:?}");
    assert_eq!(c.sim(1).now, t, "no time passed");
    assert_eq!(c.end(2), 6);
}
