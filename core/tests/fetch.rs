//! Fetch in virtual time: incremental fetch sessions (KIP-227), isolation
//! levels, down-conversion for v0-3, topic ids, followers.

mod sim;

use bytes::Bytes;
use sim::{batch, Sim};
use spate_core::broker::Config;
use spate_core::protocol::messages::delete_topics_request::DeleteTopicsRequest;
use spate_core::protocol::messages::fetch_request::{
    FetchPartition, FetchRequest, FetchTopic, ForgottenTopic, ReplicaState,
};
use spate_core::protocol::messages::fetch_response::{FetchResponse, PartitionData};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::records::{decode_message_set, encode_message_set, BatchView, LegacyMessage};
use spate_core::storage::MemStorage;

const NONE: i16 = 0;

fn produce(sim: &mut Sim, topic: &str, partition: i32, n: i32) {
    sim.produce_ok(9, topic, partition, batch(n, topic));
}

/// A fetch request: `parts` are (topic, partition, fetch offset).
fn req(session_id: i32, epoch: i32, parts: &[(&str, i32, i64)]) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for &(t, p, offset) in parts {
        let part = FetchPartition {
            partition: p,
            fetch_offset: offset,
            partition_max_bytes: 1 << 20,
            current_leader_epoch: -1,
            last_fetched_epoch: -1,
            log_start_offset: -1,
            ..Default::default()
        };
        match topics.last_mut() {
            Some(last) if last.topic == t => last.partitions.push(part),
            _ => topics.push(FetchTopic {
                topic: t.into(),
                partitions: vec![part],
                ..Default::default()
            }),
        }
    }
    FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 1 << 24,
        session_id,
        session_epoch: epoch,
        topics,
        ..Default::default()
    }
}

fn fetch(sim: &mut Sim, version: i16, r: FetchRequest) -> FetchResponse {
    match sim.call(1, version, RequestBody::Fetch(r)) {
        ResponseBody::Fetch(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (topic, partition) of every partition in a response, in order.
fn listed(r: &FetchResponse) -> Vec<(String, i32)> {
    r.responses
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.topic.to_string(), p.partition_index))
        })
        .collect()
}

fn part<'a>(r: &'a FetchResponse, topic: &str, partition: i32) -> &'a PartitionData {
    r.responses
        .iter()
        .filter(|t| t.topic == topic)
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .expect("partition in response")
}

/// (offset, key, value) of every record of a v2 record set.
fn records(p: &PartitionData) -> Vec<(i64, String, String)> {
    let set = p.records.as_ref().map(|r| r.to_bytes()).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    while at < set.len() {
        let view = BatchView::parse(&set[at..], at).expect("batch");
        assert_eq!(view.header.magic, 2);
        for r in view.records() {
            let r = r.expect("record");
            let s = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            out.push((
                view.header.base_offset + i64::from(r.offset_delta),
                s(r.key),
                s(r.value),
            ));
        }
        at += view.size;
    }
    out
}

/// (offset, magic, key, value) of every message of a legacy message set.
fn legacy(p: &PartitionData) -> Vec<(i64, i8, String, String)> {
    let set = p.records.as_ref().map(|r| r.to_bytes()).unwrap_or_default();
    let s =
        |b: &Option<Bytes>| String::from_utf8_lossy(b.as_deref().unwrap_or_default()).into_owned();
    decode_message_set(&set)
        .expect("legacy message set")
        .iter()
        .map(|m| (m.offset, m.magic, s(&m.key), s(&m.value)))
        .collect()
}

fn two_topics() -> Sim {
    let mut sim = Sim::new();
    sim.create_topic("a", 2);
    sim.create_topic("b", 1);
    produce(&mut sim, "a", 0, 3);
    sim
}

#[test]
fn a_full_fetch_at_epoch_zero_creates_a_session() {
    let mut sim = two_topics();
    let r = fetch(
        &mut sim,
        12,
        req(0, 0, &[("a", 0, 0), ("a", 1, 0), ("b", 0, 0)]),
    );
    assert_eq!(r.error_code, NONE);
    assert!(r.session_id > 0, "a positive session id");
    assert_eq!(
        listed(&r),
        [("a".into(), 0), ("a".into(), 1), ("b".into(), 0)]
    );
    assert_eq!(records(part(&r, "a", 0)).len(), 3);
    // A sessionless full fetch (epoch -1) gets no session.
    let r = fetch(&mut sim, 12, req(0, -1, &[("a", 0, 0)]));
    assert_eq!((r.error_code, r.session_id), (NONE, 0));
    // v0-6 carry no session fields at all.
    let r = fetch(&mut sim, 6, req(0, 0, &[("a", 0, 0)]));
    assert_eq!(r.session_id, 0);
}

#[test]
fn incremental_fetches_return_only_partitions_that_changed() {
    let mut sim = two_topics();
    let full = fetch(
        &mut sim,
        12,
        req(0, 0, &[("a", 0, 0), ("a", 1, 0), ("b", 0, 0)]),
    );
    let id = full.session_id;
    // The session keeps a-0 at offset 0: its records are sent again until
    // the consumer says it has moved on.
    let r = fetch(&mut sim, 12, req(id, 1, &[]));
    assert_eq!((r.error_code, r.session_id), (NONE, id));
    assert_eq!(listed(&r), [("a".into(), 0)]);
    // Moved on, nothing new, high watermarks unchanged: an empty answer.
    let r = fetch(&mut sim, 12, req(id, 2, &[("a", 0, 3)]));
    assert_eq!((r.error_code, r.session_id), (NONE, id));
    assert!(listed(&r).is_empty(), "{r:?}");
    // New data on a-1: only a-1 answers.
    produce(&mut sim, "a", 1, 2);
    let r = fetch(&mut sim, 12, req(id, 3, &[]));
    assert_eq!(listed(&r), [("a".into(), 1)]);
    let p = part(&r, "a", 1);
    assert_eq!(p.high_watermark, 2);
    assert_eq!(records(p).iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1]);
    let r = fetch(&mut sim, 12, req(id, 4, &[("a", 1, 2)]));
    assert!(listed(&r).is_empty(), "{r:?}");
    // A partition with an error is always answered.
    let r = fetch(&mut sim, 12, req(id, 5, &[("a", 0, 99)]));
    assert_eq!(listed(&r), [("a".into(), 0)]);
    assert_eq!(
        part(&r, "a", 0).error_code,
        ErrorCode::OFFSET_OUT_OF_RANGE.0
    );
    let r = fetch(&mut sim, 12, req(id, 6, &[]));
    assert_eq!(listed(&r), [("a".into(), 0)], "still in error");
    let r = fetch(&mut sim, 12, req(id, 7, &[("a", 0, 3)]));
    assert_eq!(
        listed(&r),
        [("a".into(), 0)],
        "sent again once the error clears"
    );
    assert_eq!(part(&r, "a", 0).error_code, NONE);
}

#[test]
fn forgotten_partitions_leave_the_session() {
    let mut sim = two_topics();
    let id = fetch(&mut sim, 12, req(0, 0, &[("a", 0, 3), ("b", 0, 0)])).session_id;
    let mut forget = req(id, 1, &[]);
    forget.forgotten_topics_data = vec![ForgottenTopic {
        topic: "b".into(),
        partitions: vec![0].into(),
        ..Default::default()
    }];
    assert!(listed(&fetch(&mut sim, 12, forget)).is_empty());
    produce(&mut sim, "b", 0, 1);
    produce(&mut sim, "a", 0, 1);
    let r = fetch(&mut sim, 12, req(id, 2, &[]));
    assert_eq!(listed(&r), [("a".into(), 0)], "b-0 is no longer fetched");
    // Forgetting every partition closes the session.
    let mut all = req(id, 3, &[]);
    all.forgotten_topics_data = vec![ForgottenTopic {
        topic: "a".into(),
        partitions: vec![0].into(),
        ..Default::default()
    }];
    assert_eq!(fetch(&mut sim, 12, all).session_id, 0);
    let r = fetch(&mut sim, 12, req(id, 4, &[]));
    assert_eq!(r.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);
}

#[test]
fn a_wrong_epoch_or_unknown_session_is_a_top_level_error() {
    let mut sim = two_topics();
    let id = fetch(&mut sim, 12, req(0, 0, &[("a", 0, 0)])).session_id;
    let r = fetch(&mut sim, 12, req(id, 5, &[("a", 0, 0)]));
    assert_eq!(r.error_code, ErrorCode::INVALID_FETCH_SESSION_EPOCH.0);
    assert_eq!(r.session_id, 0);
    assert!(r.responses.is_empty());
    // The session is intact: the right epoch still works.
    assert_eq!(fetch(&mut sim, 12, req(id, 1, &[])).error_code, NONE);
    // Replaying epoch 1 is a wrong epoch now.
    let r = fetch(&mut sim, 12, req(id, 1, &[]));
    assert_eq!(r.error_code, ErrorCode::INVALID_FETCH_SESSION_EPOCH.0);
    let r = fetch(&mut sim, 12, req(id.wrapping_add(1), 1, &[("a", 0, 0)]));
    assert_eq!(r.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);
    assert!(r.responses.is_empty());
}

#[test]
fn a_full_cache_answers_without_a_session() {
    let config = Config {
        fetch_session_cache_slots: 1,
        ..Config::default()
    };
    let mut sim = Sim::with(config, MemStorage::new());
    sim.create_topic("a", 2);
    produce(&mut sim, "a", 0, 2);
    let first = fetch(&mut sim, 12, req(0, 0, &[("a", 0, 0)]));
    assert!(first.session_id > 0);
    // Same size, and the first is young: no room.
    let second = fetch(&mut sim, 12, req(0, 0, &[("a", 1, 0)]));
    assert_eq!((second.error_code, second.session_id), (NONE, 0));
    assert_eq!(listed(&second), [("a".into(), 1)], "still a full answer");
    // Once the first has gone unused for two minutes, it gives way.
    sim.advance(120_001);
    let third = fetch(&mut sim, 12, req(0, 0, &[("a", 1, 0)]));
    assert!(third.session_id > 0 && third.session_id != first.session_id);
    let r = fetch(&mut sim, 12, req(first.session_id, 1, &[]));
    assert_eq!(r.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);
}

#[test]
fn epoch_minus_one_closes_the_session_and_answers_in_full() {
    let mut sim = two_topics();
    let id = fetch(&mut sim, 12, req(0, 0, &[("a", 0, 0)])).session_id;
    let r = fetch(&mut sim, 12, req(id, -1, &[("a", 0, 0)]));
    assert_eq!((r.error_code, r.session_id), (NONE, 0));
    assert_eq!(records(part(&r, "a", 0)).len(), 3);
    let r = fetch(&mut sim, 12, req(id, 1, &[]));
    assert_eq!(r.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);
    // Epoch 0 with an id closes that session and opens a new one.
    let id = fetch(&mut sim, 12, req(0, 0, &[("a", 0, 0)])).session_id;
    let again = fetch(&mut sim, 12, req(id, 0, &[("a", 0, 0)])).session_id;
    assert!(again > 0 && again != id);
    let r = fetch(&mut sim, 12, req(id, 1, &[]));
    assert_eq!(r.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);
}

#[test]
fn read_committed_reads_to_the_last_stable_offset_with_an_aborted_list() {
    let mut sim = two_topics();
    let a = sim.topic_id("a");
    let at = |v: i16| {
        if v >= 13 {
            req_ids(0, -1, &[(a, 0, 0)])
        } else {
            req(0, -1, &[("a", 0, 0)])
        }
    };
    for v in [4, 11, 16] {
        let mut r = at(v);
        r.isolation_level = 1;
        let resp = fetch(&mut sim, v, r);
        let p = part(&resp, if v >= 13 { "" } else { "a" }, 0);
        assert_eq!((p.high_watermark, p.last_stable_offset), (3, 3));
        assert_eq!(p.aborted_transactions, Some(vec![]), "v{v}");
        assert_eq!(records(p).len(), 3);
        let resp = fetch(&mut sim, v, at(v));
        let p = part(&resp, if v >= 13 { "" } else { "a" }, 0);
        assert_eq!(p.last_stable_offset, 3, "reported to read_uncommitted too");
        assert_eq!(
            p.aborted_transactions, None,
            "null for read_uncommitted, v{v}"
        );
    }
}

#[test]
fn legacy_produce_is_fetched_down_converted_and_as_batches() {
    let mut sim = Sim::new();
    sim.create_topic("old", 1);
    let msg = |ts: Option<i64>, k: &str, v: &str| {
        LegacyMessage::new(
            0,
            ts,
            Some(Bytes::from(k.to_owned())),
            Some(Bytes::from(v.to_owned())),
        )
    };
    let v0 = encode_message_set(&[msg(None, "k0", "v0"), msg(None, "k1", "v1")]).unwrap();
    sim.produce_ok(0, "old", 0, v0);
    let v1 = encode_message_set(&[msg(Some(sim::T0), "k2", "v2")]).unwrap();
    sim.produce_ok(2, "old", 0, v1);
    let want = [(0, "k0", "v0"), (1, "k1", "v1"), (2, "k2", "v2")];
    for (version, magic) in [(0, 0), (1, 0), (2, 1), (3, 1)] {
        let r = fetch(&mut sim, version, req(0, -1, &[("old", 0, 0)]));
        let got = legacy(part(&r, "old", 0));
        let expect: Vec<_> = want
            .iter()
            .map(|&(o, k, v)| (o, magic, k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(got, expect, "fetch v{version}");
        // From an offset inside the first batch: earlier messages left out.
        let r = fetch(&mut sim, version, req(0, -1, &[("old", 0, 1)]));
        let got: Vec<i64> = legacy(part(&r, "old", 0)).iter().map(|m| m.0).collect();
        assert_eq!(got, [1, 2]);
    }
    let r = fetch(&mut sim, 16, req(0, -1, &[]));
    assert!(r.responses.is_empty());
    let mut by_id = req(0, -1, &[]);
    by_id.topics = vec![FetchTopic {
        topic_id: sim.topic_id("old"),
        partitions: req(0, -1, &[("old", 0, 0)]).topics[0].partitions.clone(),
        ..Default::default()
    }];
    let r = fetch(&mut sim, 16, by_id);
    let got = records(part(&r, "", 0));
    let expect: Vec<_> = want
        .iter()
        .map(|&(o, k, v)| (o, k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(got, expect);
}

/// A v13+ request for `parts` given as (topic id, partition, offset).
fn req_ids(session_id: i32, epoch: i32, parts: &[(Uuid, i32, i64)]) -> FetchRequest {
    let mut r = req(session_id, epoch, &[]);
    for &(id, p, offset) in parts {
        let mut t = req(0, 0, &[("", p, offset)]).topics.remove(0);
        t.topic_id = id;
        r.topics.push(t);
    }
    r
}

#[test]
fn v13_fetches_by_topic_id_and_answers_by_id() {
    let mut sim = two_topics();
    let a = sim.topic_id("a");
    let unknown = Uuid([7; 16]);
    let r = fetch(&mut sim, 13, req_ids(0, -1, &[(unknown, 0, 0), (a, 0, 0)]));
    // Partitions read come first, then those that could not be.
    assert_eq!(r.responses.len(), 2);
    assert_eq!(
        (r.responses[0].topic.as_ref(), r.responses[0].topic_id),
        ("", a)
    );
    assert_eq!(records(&r.responses[0].partitions[0]).len(), 3);
    assert_eq!(r.responses[1].topic_id, unknown);
    let p = &r.responses[1].partitions[0];
    assert_eq!(p.error_code, ErrorCode::UNKNOWN_TOPIC_ID.0);
    assert_eq!(p.high_watermark, -1);
    // Sessions of v13+ name partitions by id; a v12 request on one is refused.
    let id = fetch(&mut sim, 13, req_ids(0, 0, &[(a, 0, 3), (unknown, 0, 0)])).session_id;
    assert!(id > 0);
    let r = fetch(&mut sim, 13, req_ids(id, 1, &[]));
    assert_eq!(
        listed(&r),
        [(String::new(), 0)],
        "the unknown id is an error every time"
    );
    assert_eq!(r.responses[0].topic_id, unknown);
    let r = fetch(&mut sim, 12, req(id, 2, &[]));
    assert_eq!(r.error_code, ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR.0);
    // Forgetting by id.
    let mut forget = req_ids(id, 2, &[]);
    forget.forgotten_topics_data = vec![ForgottenTopic {
        topic_id: unknown,
        partitions: vec![0].into(),
        ..Default::default()
    }];
    assert!(listed(&fetch(&mut sim, 13, forget)).is_empty());
    // The topic is deleted and created again under its name: the session's
    // partition has the old id.
    let del = DeleteTopicsRequest {
        topic_names: vec!["a".into()],
        timeout_ms: 1000,
        ..Default::default()
    };
    sim.call(99, 5, RequestBody::DeleteTopics(del));
    sim.create_topic("a", 2);
    let r = fetch(&mut sim, 13, req_ids(id, 3, &[]));
    assert_eq!(r.responses[0].topic_id, a);
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        ErrorCode::INCONSISTENT_TOPIC_ID.0
    );
    // A by-name session refuses v13.
    let named = fetch(&mut sim, 12, req(0, 0, &[("b", 0, 0)])).session_id;
    let r = fetch(&mut sim, 13, req_ids(named, 1, &[]));
    assert_eq!(r.error_code, ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR.0);
}

#[test]
fn a_parked_incremental_fetch_advances_its_session_once() {
    let mut sim = two_topics();
    let id = fetch(&mut sim, 12, req(0, 0, &[("a", 0, 3), ("b", 0, 0)])).session_id;
    let mut wait = req(id, 1, &[]);
    wait.min_bytes = 1;
    wait.max_wait_ms = 500;
    sim.send(1, 12, RequestBody::Fetch(wait.clone()));
    assert!(sim.take(1).is_empty(), "parked");
    // Unrelated data elsewhere wakes it, but it has nothing yet.
    sim.create_topic("c", 1);
    produce(&mut sim, "c", 0, 1);
    assert!(sim.take(1).is_empty(), "still parked");
    produce(&mut sim, "b", 0, 2);
    let r = match sim.one(1) {
        ResponseBody::Fetch(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!((r.error_code, r.session_id), (NONE, id));
    assert_eq!(listed(&r), [("b".into(), 0)]);
    // The session is at epoch 2, not further.
    wait.session_epoch = 2;
    wait.topics = req(0, 0, &[("b", 0, 2)]).topics;
    sim.send(1, 12, RequestBody::Fetch(wait.clone()));
    assert!(sim.take(1).is_empty(), "parked again");
    sim.advance(500);
    let r = match sim.one(1) {
        ResponseBody::Fetch(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!((r.error_code, r.session_id), (NONE, id));
    assert!(listed(&r).is_empty(), "timed out with nothing new");
    assert_eq!(fetch(&mut sim, 12, req(id, 3, &[])).error_code, NONE);
}

#[test]
fn a_follower_fetch_is_not_served() {
    let mut sim = two_topics();
    let mut r = req(0, -1, &[("a", 0, 0)]);
    r.replica_id = 1;
    let p = part(&fetch(&mut sim, 12, r.clone()), "a", 0).clone();
    assert_eq!(p.error_code, ErrorCode::NOT_LEADER_OR_FOLLOWER.0);
    assert_eq!((p.high_watermark, p.log_start_offset), (-1, -1));
    // v15+ carry the replica id in the replica state; v16+ say who leads.
    let mut r = req_ids(0, -1, &[(sim.topic_id("a"), 0, 0)]);
    r.replica_state = ReplicaState {
        replica_id: 2,
        replica_epoch: 1,
        ..Default::default()
    };
    let resp = fetch(&mut sim, 16, r);
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, ErrorCode::NOT_LEADER_OR_FOLLOWER.0);
    assert_eq!(p.current_leader.leader_id, 1);
    assert_eq!(resp.node_endpoints.len(), 1);
    assert_eq!(resp.node_endpoints[0].node_id, 1);
    // Consumers are served; preferred read replica is -1.
    let resp = fetch(&mut sim, 11, req(0, -1, &[("a", 0, 0)]));
    let p = part(&resp, "a", 0);
    assert_eq!((p.error_code, p.preferred_read_replica), (NONE, -1));
}

#[test]
fn partitions_that_returned_records_go_to_the_back_of_the_session() {
    let mut sim = Sim::new();
    sim.create_topic("a", 2);
    for _ in 0..3 {
        produce(&mut sim, "a", 0, 1);
    }
    produce(&mut sim, "a", 1, 1);
    // One byte per request: only the first batch found (KIP-74).
    let tiny = |mut r: FetchRequest| {
        r.max_bytes = 1;
        r
    };
    let full = fetch(&mut sim, 12, tiny(req(0, 0, &[("a", 0, 0), ("a", 1, 0)])));
    let id = full.session_id;
    assert_eq!(records(part(&full, "a", 0)).len(), 1);
    assert!(records(part(&full, "a", 1)).is_empty());
    // a-0 is read first and returns records: it moves behind a-1.
    let r = fetch(&mut sim, 12, tiny(req(id, 1, &[("a", 0, 1)])));
    assert_eq!(listed(&r), [("a".into(), 0)]);
    assert_eq!(records(part(&r, "a", 0))[0].0, 1);
    // Now a-1 is read first and gets the byte budget.
    let r = fetch(&mut sim, 12, tiny(req(id, 2, &[("a", 0, 2)])));
    assert_eq!(listed(&r), [("a".into(), 1)]);
    assert_eq!(records(part(&r, "a", 1)).len(), 1);
}
