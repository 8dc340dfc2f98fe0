//! The group coordinator in a ZooKeeper cluster: two brokers in virtual
//! time ([`sim::pair::Pair`]). `__consumer_offsets` is created through the
//! driver, FindCoordinator names the leader of a group's partition, every
//! other broker answers NOT_COORDINATOR, a new leader loads the groups
//! and offsets its follower copied, and an offset commit, or the
//! SyncGroup answers of a group whose metadata the leader's SyncGroup
//! stored, is answered once the follower has it.

mod sim;
#[path = "groups/util.rs"]
#[allow(dead_code)]
mod util;

use sim::coordinator::{asks_to_create, created_once};
use sim::pair::Pair;
use sim::Sim;
use spate_core::protocol::messages::find_coordinator_response::FindCoordinatorResponse;
use spate_core::protocol::messages::list_groups_request::ListGroupsRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};
use spate_core::storage::Storage;
use util::{
    commit, commit_req, describe, join_new, join_req, joins, offset_fetch_request, sync_req, syncs,
};

const OFFSETS: &str = "__consumer_offsets";
const OFFSETS_ID: Uuid = Uuid([7; 16]);
const T_ID: Uuid = Uuid([9; 16]);
const CLIENT: u64 = 1;
const GROUP: &str = "g";

/// Two brokers with `__consumer_offsets` of two partitions, two replicas.
fn pair() -> Pair {
    Pair::with(|c| {
        c.groups.offsets_partitions = 2;
        c.groups.offsets_replication_factor = 2;
        c.groups.initial_rebalance_delay_ms = 3000;
    })
}

/// FindCoordinator v3 for `GROUP`.
fn find(s: &mut Sim) -> FindCoordinatorResponse {
    sim::coordinator::find_coordinator(s, CLIENT, GROUP, 0)
}

/// OffsetFetch v8 of `GROUP`'s `t`-0: (group error, committed offset).
fn fetch(s: &mut Sim) -> (i16, i64) {
    let req = offset_fetch_request(GROUP, 8);
    match s.call(CLIENT, 8, RequestBody::OffsetFetch(req)) {
        ResponseBody::OffsetFetch(r) => {
            let g = &r.groups[0];
            (g.error_code, g.topics[0].partitions[0].committed_offset)
        }
        other => panic!("{other:?}"),
    }
}

fn listed(s: &mut Sim) -> Vec<String> {
    match s.call(
        CLIENT,
        4,
        RequestBody::ListGroups(ListGroupsRequest::default()),
    ) {
        ResponseBody::ListGroups(r) => r.groups.iter().map(|g| g.group_id.to_string()).collect(),
        other => panic!("{other:?}"),
    }
}

/// The controller makes `leader` lead both partitions of
/// `__consumer_offsets` (and `t`-0) at `epoch`, telling both brokers.
fn elect(c: &mut Pair, leader: i32, epoch: i32) {
    c.elect((OFFSETS, OFFSETS_ID), &[0, 1], (leader, epoch), &[1, 2]);
    c.elect(("t", T_ID), &[0], (leader, epoch), &[1, 2]);
}

/// Commits `offset` for `GROUP` (generation -1) at broker `id` and lets
/// the pair run until it is answered: the error code.
fn commit_at(c: &mut Pair, id: i32, offset: i64) -> i16 {
    c.sim(id).send(CLIENT, 8, commit_req(GROUP, -1, "", offset));
    c.run_until(10_000, |c| c.sim(id).events.contains_key(&CLIENT));
    commit_code(c.sim(id))
}

/// The one OffsetCommit answer on `CLIENT`: its error code.
fn commit_code(s: &mut Sim) -> i16 {
    match s.one(CLIENT) {
        ResponseBody::OffsetCommit(r) => r.topics[0].partitions[0].error_code,
        other => panic!("{other:?}"),
    }
}

/// The end offset of broker `id`'s `__consumer_offsets`-`p`.
fn end(c: &mut Pair, id: i32, p: i32) -> i64 {
    c.end_offset(id, OFFSETS, p)
}

#[test]
fn find_coordinator_creates_the_offsets_topic_once_through_the_driver() {
    let mut c = pair();
    let s = c.sim(1);
    let r = find(s);
    let configs = [
        ("cleanup.policy", "compact"),
        ("compression.type", "producer"),
        ("segment.bytes", "104857600"),
    ];
    let (request, topics) = asks_to_create(s, r, OFFSETS, &configs);
    assert_eq!(topics.len(), 1);
    created_once(s, find, request, OFFSETS);
    // Group requests meanwhile find no coordinator here.
    s.send(CLIENT, 5, join_req(GROUP, "", None));
    let j = joins(s, CLIENT);
    assert_ne!(j[0].error_code, 0);
}

#[test]
fn too_few_live_brokers_for_the_replication_factor_create_nothing() {
    let mut c = Pair::with(|c| c.groups.offsets_replication_factor = 3);
    let s = c.sim(2);
    let r = find(s);
    assert_eq!(r.error_code, ErrorCode::COORDINATOR_NOT_AVAILABLE.code());
    assert!(s.creating.is_empty());
    assert!(s
        .broker
        .storage()
        .logs()
        .iter()
        .all(|tp| tp.topic != OFFSETS));
}

#[test]
fn the_leader_of_the_groups_partition_coordinates_and_a_new_leader_loads_its_offsets() {
    let mut c = pair();
    elect(&mut c, 1, 1);
    for id in 1..=2 {
        let r = find(c.sim(id));
        assert_eq!(r.error_code, 0, "broker {id}");
        assert_eq!((r.node_id, &*r.host, r.port), (1, "b1.example", 9091));
    }
    assert!(c.sim(1).creating.is_empty() && c.sim(2).creating.is_empty());
    assert_eq!(commit_at(&mut c, 1, 42), 0);
    assert_eq!(fetch(c.sim(1)), (0, 42));
    assert_eq!(listed(c.sim(1)), [GROUP]);
    // The follower coordinates nothing.
    let not = ErrorCode::NOT_COORDINATOR.code();
    assert_eq!(commit(c.sim(2), CLIENT, GROUP, -1, "", 7), not);
    assert_eq!(fetch(c.sim(2)).0, not);
    c.sim(2).send(CLIENT, 5, join_req(GROUP, "", None));
    assert_eq!(joins(c.sim(2), CLIENT)[0].error_code, not);
    assert!(listed(c.sim(2)).is_empty());

    // A member joins at broker 1 and is held for the initial delay.
    let s = c.sim(1);
    s.send(CLIENT, 5, join_req(GROUP, "", None));
    let member = joins(s, CLIENT)[0].member_id.to_string();
    s.send(CLIENT, 5, join_req(GROUP, &member, None));
    assert!(joins(s, CLIENT).is_empty(), "held");

    // The follower copies the offsets log; then broker 2 is elected.
    c.run_until(10_000, |c| c.copied(1, OFFSETS, 2));
    assert!(end(&mut c, 2, 0) + end(&mut c, 2, 1) > 0);
    elect(&mut c, 2, 2);
    let held = joins(c.sim(1), CLIENT);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].error_code, not, "a held join leaves with the group");
    assert_eq!(fetch(c.sim(2)), (0, 42), "loaded from the copied log");
    assert_eq!(listed(c.sim(2)), [GROUP]);
    assert_eq!(fetch(c.sim(1)).0, not);
    assert_eq!(commit(c.sim(1), CLIENT, GROUP, -1, "", 7), not);
    assert!(listed(c.sim(1)).is_empty());
    for id in 1..=2 {
        let r = find(c.sim(id));
        assert_eq!(
            (r.error_code, r.node_id, r.port),
            (0, 2, 9092),
            "broker {id}"
        );
    }
    // The new coordinator takes commits.
    assert_eq!(commit_at(&mut c, 2, 43), 0);
    assert_eq!(fetch(c.sim(2)), (0, 43));
}

/// Metadata v9 for `__consumer_offsets`, auto-creation allowed: its error.
fn metadata_error(s: &mut Sim) -> i16 {
    sim::coordinator::auto_create_error(s, CLIENT, OFFSETS)
}

#[test]
fn metadata_for_the_missing_offsets_topic_creates_it_as_find_coordinator_does() {
    let mut c = pair();
    let s = c.sim(2);
    assert_eq!(metadata_error(s), ErrorCode::LEADER_NOT_AVAILABLE.code());
    assert_eq!(s.creating.len(), 1);
    assert_eq!(s.creating[0].1[0].name, OFFSETS);
    assert_eq!(metadata_error(s), ErrorCode::LEADER_NOT_AVAILABLE.code());
    let r = find(s);
    assert_eq!(r.error_code, ErrorCode::COORDINATOR_NOT_AVAILABLE.code());
    assert_eq!(s.creating.len(), 1, "still the one creation");

    let mut c = Pair::with(|c| c.groups.offsets_replication_factor = 3);
    let s = c.sim(1);
    assert_eq!(
        metadata_error(s),
        ErrorCode::INVALID_REPLICATION_FACTOR.code()
    );
    assert!(s.creating.is_empty());
}

#[test]
fn an_offset_commit_is_answered_once_the_follower_has_it() {
    let mut c = pair();
    elect(&mut c, 1, 1);
    let p = partition_of_group(&mut c);
    let before = end(&mut c, 2, p);
    c.sim(1).send(CLIENT, 8, commit_req(GROUP, -1, "", 42));
    assert!(
        !c.sim(1).events.contains_key(&CLIENT),
        "not answered before the follower fetched"
    );
    // The follower's parked fetch wakes on the append, copies the commit
    // and its next fetch moves the high watermark, which answers it.
    c.deliver();
    assert!(end(&mut c, 2, p) > before, "the follower has the commit");
    assert_eq!(commit_code(c.sim(1)), 0);
    assert_eq!(fetch(c.sim(1)), (0, 42));
}

#[test]
fn an_offset_commit_the_follower_never_copies_times_out_coordinator_not_available() {
    let mut c = pair();
    elect(&mut c, 1, 1);
    c.deliver();
    // Broker 2 hears nothing more: only broker 1's clock moves.
    let s = c.sim(1);
    s.send(CLIENT, 8, commit_req(GROUP, -1, "", 42));
    assert!(!s.events.contains_key(&CLIENT));
    s.replica.clear();
    s.now += 4_999;
    let now = s.now;
    s.broker.handle_timeout(now);
    s.drain();
    assert!(
        !s.events.contains_key(&CLIENT),
        "waits offsets.commit.timeout.ms"
    );
    s.now += 1;
    let now = s.now;
    s.broker.handle_timeout(now);
    s.drain();
    assert_eq!(commit_code(s), ErrorCode::COORDINATOR_NOT_AVAILABLE.code());
}

#[test]
fn an_offset_commit_waiting_when_leadership_moves_is_not_coordinator() {
    let mut c = pair();
    elect(&mut c, 1, 1);
    c.deliver();
    c.sim(1).send(CLIENT, 8, commit_req(GROUP, -1, "", 42));
    assert!(!c.sim(1).events.contains_key(&CLIENT));
    // Broker 2 is made leader before it copied the commit.
    c.sim(1).replica.clear();
    c.sim(2).replica.clear();
    elect(&mut c, 2, 2);
    assert_eq!(commit_code(c.sim(1)), ErrorCode::NOT_COORDINATOR.code());
}

/// The partition of `__consumer_offsets` holding `GROUP`: the one whose
/// log a commit at broker 1 grows.
fn partition_of_group(c: &mut Pair) -> i32 {
    let before: Vec<i64> = (0..2).map(|p| end(c, 1, p)).collect();
    assert_eq!(commit_at(c, 1, 1), 0);
    (0..2)
        .find(|&p| end(c, 1, p) > before[p as usize])
        .expect("a partition grew")
}

/// Members of the group in the SyncGroup tests: A leads, B syncs before
/// A, C after.
const A: u64 = 11;
const B: u64 = 12;
const C: u64 = 13;

/// Broker 1 leads `__consumer_offsets` (the follower caught up) and A, B
/// and C joined `GROUP` there: generation 1, A the leader. Their ids.
fn joined(c: &mut Pair) -> [String; 3] {
    joined_with_isr(c, &[1, 2])
}

/// [`joined`], with this ISR for `__consumer_offsets`.
fn joined_with_isr(c: &mut Pair, isr: &[i32]) -> [String; 3] {
    for to in 1..=2 {
        c.lead_partitions(to, (OFFSETS, OFFSETS_ID), &[0, 1], (1, 1), isr);
        c.lead_partitions(to, ("t", T_ID), &[0], (1, 1), &[1, 2]);
    }
    c.deliver();
    let ids = [A, B, C].map(|conn| join_new(c.sim(1), conn, GROUP));
    c.run_until(10_000, |c| {
        [A, B, C].iter().all(|k| c.sim(1).events.contains_key(k))
    });
    for conn in [A, B, C] {
        let j = joins(c.sim(1), conn);
        assert_eq!((j[0].error_code, j[0].generation_id), (0, 1));
        assert_eq!(j[0].leader, ids[0].as_str());
    }
    c.deliver();
    ids
}

/// B syncs (held for the leader), then the leader A, whose SyncGroup
/// stores the group's metadata at broker 1, then C.
fn sync_all(c: &mut Pair, [a, b, cc]: &[String; 3]) {
    let s = c.sim(1);
    s.send(B, 5, sync_req(GROUP, 1, b, &[]));
    let assign = [(a.as_str(), "for-a"), (b, "for-b"), (cc, "for-c")];
    s.send(A, 5, sync_req(GROUP, 1, a, &assign));
    s.send(C, 5, sync_req(GROUP, 1, cc, &[]));
}

#[test]
fn sync_group_answers_wait_until_the_follower_has_the_group_metadata() {
    let mut c = pair();
    let ids = joined(&mut c);
    sync_all(&mut c, &ids);
    assert!(!c.copied(1, OFFSETS, 2), "the metadata was stored");
    for conn in [A, B, C] {
        assert!(
            syncs(c.sim(1), conn).is_empty(),
            "{conn}: not answered before the follower fetched"
        );
    }
    // The follower's fetch copies the record, its next one moves the high
    // watermark: every answer goes, the late member's too.
    c.deliver();
    assert!(c.copied(1, OFFSETS, 2));
    for (conn, want) in [(A, "for-a"), (B, "for-b"), (C, "for-c")] {
        let r = syncs(c.sim(1), conn);
        assert_eq!(r.len(), 1, "{conn}");
        assert_eq!(r[0].error_code, 0, "{conn}");
        assert_eq!(&r[0].assignment[..], want.as_bytes(), "{conn}");
    }
    assert_eq!(describe(c.sim(1), GROUP).group_state, "Stable");
}

#[test]
fn sync_group_metadata_the_follower_never_copies_times_out_rebalance_in_progress() {
    let mut c = pair();
    let ids = joined(&mut c);
    sync_all(&mut c, &ids);
    // Broker 2 hears nothing more: only broker 1's clock moves, past
    // offsets.commit.timeout.ms.
    let s = c.sim(1);
    s.replica.clear();
    s.advance(5_000);
    for conn in [A, B, C] {
        let r = syncs(s, conn);
        assert_eq!(r.len(), 1, "{conn}");
        assert_eq!(
            r[0].error_code,
            ErrorCode::REBALANCE_IN_PROGRESS.code(),
            "{conn}"
        );
        assert!(r[0].assignment.is_empty(), "{conn}: no assignment");
        assert_eq!(r[0].protocol_name, None, "{conn}");
    }
    // As in Kafka, the assignment is void and the group rebalances.
    assert_eq!(describe(s, GROUP).group_state, "PreparingRebalance");
}

#[test]
fn sync_group_answers_waiting_when_leadership_moves_are_not_coordinator() {
    let mut c = pair();
    let ids = joined(&mut c);
    sync_all(&mut c, &ids);
    c.sim(1).replica.clear();
    c.sim(2).replica.clear();
    elect(&mut c, 2, 2);
    for conn in [A, B, C] {
        let r = syncs(c.sim(1), conn);
        assert_eq!(r.len(), 1, "{conn}");
        assert_eq!(r[0].error_code, ErrorCode::NOT_COORDINATOR.code(), "{conn}");
    }
}

#[test]
fn sync_group_metadata_stored_with_too_few_in_sync_replicas_is_coordinator_not_available() {
    let mut c = pair();
    let s = c.sim(1);
    let now = s.now;
    let min_isr = vec![("min.insync.replicas".to_string(), "2".to_string())];
    s.broker.handle_topic_configs(OFFSETS, min_isr, now);
    s.drain();
    let ids = joined_with_isr(&mut c, &[1]);
    sync_all(&mut c, &ids);
    // Answered at once: the append cannot be acknowledged by 2 replicas.
    // C, syncing after, finds the group rebalancing.
    let s = c.sim(1);
    let unavailable = ErrorCode::COORDINATOR_NOT_AVAILABLE.code();
    let rebalancing = ErrorCode::REBALANCE_IN_PROGRESS.code();
    for (conn, code) in [(A, unavailable), (B, unavailable), (C, rebalancing)] {
        let r = syncs(s, conn);
        assert_eq!(r.len(), 1, "{conn}");
        assert_eq!(r[0].error_code, code, "{conn}");
        assert!(r[0].assignment.is_empty(), "{conn}");
    }
    assert_eq!(describe(s, GROUP).group_state, "PreparingRebalance");
}
