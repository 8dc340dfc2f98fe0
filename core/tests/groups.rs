//! The classic group coordinator in virtual time: every transition of a
//! rebalance, session expiry to the millisecond, static membership, commit
//! checks, what a restart keeps, and the admin APIs (DescribeGroups,
//! ListGroups, DeleteGroups, OffsetDelete, FindCoordinator).

mod sim;

use bytes::Bytes;
use sim::{Event, Sim};
use spate_core::broker::Config;
use spate_core::protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use spate_core::protocol::messages::delete_groups_request::DeleteGroupsRequest;
use spate_core::protocol::messages::describe_groups_request::DescribeGroupsRequest;
use spate_core::protocol::messages::describe_groups_response::DescribedGroup;
use spate_core::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use spate_core::protocol::messages::heartbeat_request::HeartbeatRequest;
use spate_core::protocol::messages::join_group_request::{
    JoinGroupRequest, JoinGroupRequestProtocol,
};
use spate_core::protocol::messages::join_group_response::JoinGroupResponse;
use spate_core::protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use spate_core::protocol::messages::list_groups_request::ListGroupsRequest;
use spate_core::protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use spate_core::protocol::messages::offset_delete_request::{
    OffsetDeleteRequest, OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use spate_core::protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use spate_core::protocol::messages::sync_group_request::{
    SyncGroupRequest, SyncGroupRequestAssignment,
};
use spate_core::protocol::messages::sync_group_response::SyncGroupResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Wire, Writer};
use spate_core::storage::{Storage, TopicPartition};

const SESSION: i32 = 10_000;
const REBALANCE: i32 = 20_000;

fn config(initial_delay: i64) -> Config {
    let mut c = Config::default();
    c.groups.initial_rebalance_delay_ms = initial_delay;
    c
}

fn sim(initial_delay: i64) -> Sim {
    let mut s = Sim::with(config(initial_delay), Default::default());
    s.create_topic("t", 4);
    s
}

/// ConsumerProtocolSubscription v1 metadata for `topics`.
fn subscription(topics: &[&str]) -> Bytes {
    let mut w = Writer::new();
    w.extend_from_slice(&1i16.to_be_bytes());
    ConsumerProtocolSubscription {
        topics: topics.iter().map(|t| (*t).into()).collect(),
        ..Default::default()
    }
    .encode(&mut w, 1)
    .unwrap();
    w.freeze()
}

fn join_req(group: &str, member: &str, instance: Option<&str>) -> RequestBody {
    RequestBody::JoinGroup(JoinGroupRequest {
        group_id: group.into(),
        session_timeout_ms: SESSION,
        rebalance_timeout_ms: REBALANCE,
        member_id: member.into(),
        group_instance_id: instance.map(Into::into),
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupRequestProtocol {
            name: "range".into(),
            metadata: subscription(&["t"]),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// The JoinGroup responses `conn` received so far.
fn joins(s: &mut Sim, conn: u64) -> Vec<JoinGroupResponse> {
    s.take(conn)
        .into_iter()
        .map(|e| match e {
            Event::Response(_, ResponseBody::JoinGroup(r)) => r,
            other => panic!("expected a JoinGroup response, got {other:?}"),
        })
        .collect()
}

fn syncs(s: &mut Sim, conn: u64) -> Vec<SyncGroupResponse> {
    s.take(conn)
        .into_iter()
        .map(|e| match e {
            Event::Response(_, ResponseBody::SyncGroup(r)) => r,
            other => panic!("expected a SyncGroup response, got {other:?}"),
        })
        .collect()
}

/// v5 join of a new dynamic member: MEMBER_ID_REQUIRED, then the join is
/// sent again with the id and held. Returns the member id.
fn join_new(s: &mut Sim, conn: u64, group: &str) -> String {
    s.connect(conn);
    let r = match s.call(conn, 5, join_req(group, "", None)) {
        ResponseBody::JoinGroup(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.error_code, ErrorCode::MEMBER_ID_REQUIRED.code());
    assert!(r.member_id.starts_with("sim-"), "{}", r.member_id);
    s.send(conn, 5, join_req(group, &r.member_id, None));
    r.member_id.to_string()
}

fn sync_req(group: &str, generation: i32, member: &str, assign: &[(&str, &str)]) -> RequestBody {
    RequestBody::SyncGroup(SyncGroupRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member.into(),
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        assignments: assign
            .iter()
            .map(|(m, a)| SyncGroupRequestAssignment {
                member_id: (*m).into(),
                assignment: Bytes::copy_from_slice(a.as_bytes()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    })
}

fn heartbeat(s: &mut Sim, conn: u64, group: &str, generation: i32, member: &str) -> i16 {
    let req = RequestBody::Heartbeat(HeartbeatRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member.into(),
        ..Default::default()
    });
    match s.call(conn, 4, req) {
        ResponseBody::Heartbeat(r) => r.error_code,
        other => panic!("{other:?}"),
    }
}

fn describe(s: &mut Sim, group: &str) -> DescribedGroup {
    let req = RequestBody::DescribeGroups(DescribeGroupsRequest {
        groups: vec![group.into()],
        include_authorized_operations: true,
        ..Default::default()
    });
    match s.call(90, 6, req) {
        ResponseBody::DescribeGroups(mut r) => r.groups.remove(0),
        other => panic!("{other:?}"),
    }
}

fn commit(s: &mut Sim, conn: u64, group: &str, generation: i32, member: &str, offset: i64) -> i16 {
    let req = RequestBody::OffsetCommit(OffsetCommitRequest {
        group_id: group.into(),
        generation_id_or_member_epoch: generation,
        member_id: member.into(),
        topics: vec![OffsetCommitRequestTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitRequestPartition {
                partition_index: 0,
                committed_offset: offset,
                committed_leader_epoch: 0,
                committed_metadata: Some("meta".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    });
    match s.call(conn, 8, req) {
        ResponseBody::OffsetCommit(r) => r.topics[0].partitions[0].error_code,
        other => panic!("{other:?}"),
    }
}

fn fetch_offset(s: &mut Sim, group: &str, version: i16) -> (i64, String) {
    let req = if version >= 8 {
        OffsetFetchRequest {
            groups: vec![OffsetFetchRequestGroup {
                group_id: group.into(),
                topics: Some(vec![OffsetFetchRequestTopics {
                    name: "t".into(),
                    partition_indexes: vec![0].into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            ..Default::default()
        }
    } else {
        OffsetFetchRequest {
            group_id: group.into(),
            topics: Some(vec![OffsetFetchRequestTopic {
                name: "t".into(),
                partition_indexes: vec![0].into(),
                ..Default::default()
            }]),
            ..Default::default()
        }
    };
    match s.call(91, version, RequestBody::OffsetFetch(req)) {
        ResponseBody::OffsetFetch(r) if version >= 8 => {
            let p = &r.groups[0].topics[0].partitions[0];
            (
                p.committed_offset,
                p.metadata.clone().unwrap_or_default().to_string(),
            )
        }
        ResponseBody::OffsetFetch(r) => {
            let p = &r.topics[0].partitions[0];
            (
                p.committed_offset,
                p.metadata.clone().unwrap_or_default().to_string(),
            )
        }
        other => panic!("{other:?}"),
    }
}

/// Two members A (conn 1, leader) and B (conn 2) in a stable group of
/// generation 1; returns their ids.
fn stable_pair(s: &mut Sim, group: &str) -> (String, String) {
    let a = join_new(s, 1, group);
    let b = join_new(s, 2, group);
    // Initial delay 0: the first join completes once the timer fires.
    s.step(0);
    let ja = joins(s, 1);
    let jb = joins(s, 2);
    assert_eq!(ja.len(), 1, "A's join answered");
    assert_eq!(jb.len(), 1, "B's join answered");
    assert_eq!(ja[0].generation_id, 1);
    assert_eq!(ja[0].leader, a.as_str());
    assert_eq!(ja[0].members.len(), 2, "the leader learns both members");
    assert!(jb[0].members.is_empty(), "followers learn no members");
    s.send(2, 5, sync_req(group, 1, &b, &[]));
    assert!(s.take(2).is_empty(), "B's sync waits for the leader");
    s.send(
        1,
        5,
        sync_req(group, 1, &a, &[(&a, "for-a"), (&b, "for-b")]),
    );
    assert_eq!(&syncs(s, 1)[0].assignment[..], b"for-a");
    assert_eq!(&syncs(s, 2)[0].assignment[..], b"for-b");
    assert_eq!(describe(s, group).group_state, "Stable");
    (a, b)
}

#[test]
fn first_member_waits_out_the_initial_delay() {
    let mut s = sim(3000);
    let a = join_new(&mut s, 1, "g");
    assert_eq!(describe(&mut s, "g").group_state, "PreparingRebalance");
    s.advance(2999);
    assert!(s.take(1).is_empty(), "held during the initial delay");
    s.advance(1);
    let j = joins(&mut s, 1);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].error_code, 0);
    assert_eq!(j[0].generation_id, 1);
    assert_eq!(j[0].leader, a.as_str());
    assert_eq!(j[0].member_id, a.as_str());
    assert_eq!(j[0].protocol_name.as_deref(), Some("range"));
    assert_eq!(j[0].members.len(), 1);
    assert_eq!(describe(&mut s, "g").group_state, "CompletingRebalance");
    s.send(1, 5, sync_req("g", 1, &a, &[(&a, "all")]));
    let r = syncs(&mut s, 1);
    assert_eq!(r[0].error_code, 0);
    assert_eq!(&r[0].assignment[..], b"all");
}

#[test]
fn a_member_arriving_during_the_initial_delay_extends_it() {
    let mut s = sim(3000);
    join_new(&mut s, 1, "g");
    s.advance(2000);
    join_new(&mut s, 2, "g");
    s.advance(1000);
    // The delay is extended by another 3000 (the rebalance timeout allows it).
    assert!(s.take(1).is_empty() && s.take(2).is_empty());
    s.advance(3000);
    let (ja, jb) = (joins(&mut s, 1), joins(&mut s, 2));
    assert_eq!((ja.len(), jb.len()), (1, 1));
    assert_eq!(ja[0].members.len(), 2);
}

#[test]
fn second_member_triggers_a_rebalance_and_both_get_assignments() {
    let mut s = sim(0);
    let a = join_new(&mut s, 1, "g");
    s.step(0);
    joins(&mut s, 1);
    s.send(1, 5, sync_req("g", 1, &a, &[(&a, "p0-3")]));
    syncs(&mut s, 1);
    // B arrives: the stable group prepares a rebalance.
    let b = join_new(&mut s, 2, "g");
    assert_eq!(describe(&mut s, "g").group_state, "PreparingRebalance");
    assert_eq!(
        heartbeat(&mut s, 1, "g", 1, &a),
        ErrorCode::REBALANCE_IN_PROGRESS.code()
    );
    // A rejoins: everyone is in, the join completes at once.
    s.send(1, 5, join_req("g", &a, None));
    let (ja, jb) = (joins(&mut s, 1), joins(&mut s, 2));
    assert_eq!(ja[0].generation_id, 2);
    assert_eq!(jb[0].generation_id, 2);
    assert_eq!(ja[0].members.len(), 2);
    s.send(2, 5, sync_req("g", 2, &b, &[]));
    s.send(1, 5, sync_req("g", 2, &a, &[(&a, "p0-1"), (&b, "p2-3")]));
    assert_eq!(&syncs(&mut s, 1)[0].assignment[..], b"p0-1");
    assert_eq!(&syncs(&mut s, 2)[0].assignment[..], b"p2-3");
    assert_eq!(heartbeat(&mut s, 1, "g", 2, &a), 0);
    assert_eq!(heartbeat(&mut s, 2, "g", 2, &b), 0);
    assert_eq!(
        heartbeat(&mut s, 2, "g", 1, &b),
        ErrorCode::ILLEGAL_GENERATION.code()
    );
}

#[test]
fn a_silent_member_expires_exactly_at_its_session_timeout() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    let start = s.now;
    // B keeps heartbeating; A says nothing, and closes its connection: that
    // alone removes nobody.
    s.disconnect(1);
    let mut t = 0;
    while t + 3000 < SESSION as i64 {
        s.advance(3000);
        t += 3000;
        assert_eq!(heartbeat(&mut s, 2, "g", 1, &b), 0);
    }
    s.advance(start + SESSION as i64 - 1 - s.now);
    assert_eq!(
        describe(&mut s, "g").members.len(),
        2,
        "A is alive 1 ms before"
    );
    s.advance(1);
    let d = describe(&mut s, "g");
    assert_eq!(d.members.len(), 1, "A expired at its session timeout");
    assert_eq!(d.members[0].member_id, b.as_str());
    assert_eq!(
        heartbeat(&mut s, 2, "g", 1, &b),
        ErrorCode::REBALANCE_IN_PROGRESS.code()
    );
    s.send(2, 5, join_req("g", &b, None));
    let jb = joins(&mut s, 2);
    assert_eq!(jb[0].generation_id, 2);
    assert_eq!(jb[0].leader, b.as_str(), "B leads once A is gone");
    assert_eq!(
        heartbeat(&mut s, 3, "g", 2, &a),
        ErrorCode::UNKNOWN_MEMBER_ID.code(),
        "A is no longer a member"
    );
}

#[test]
fn members_that_do_not_rejoin_in_time_are_removed() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    // A rejoins (say its subscription changed); B keeps heartbeating (and
    // hears REBALANCE_IN_PROGRESS) but never rejoins.
    let start = s.now;
    s.send(1, 5, join_req("g", &a, None));
    assert!(s.take(1).is_empty());
    while s.now + 3000 < start + REBALANCE as i64 {
        s.advance(3000);
        assert_eq!(
            heartbeat(&mut s, 2, "g", 1, &b),
            ErrorCode::REBALANCE_IN_PROGRESS.code()
        );
    }
    s.advance(start + REBALANCE as i64 - 1 - s.now);
    assert!(s.take(1).is_empty());
    s.advance(1);
    let ja = joins(&mut s, 1);
    assert_eq!(ja[0].generation_id, 2);
    assert_eq!(
        ja[0].members.len(),
        1,
        "B was dropped at the rebalance timeout"
    );
    assert_eq!(
        heartbeat(&mut s, 2, "g", 1, &b),
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
}

#[test]
fn a_static_member_restarts_without_a_rebalance() {
    let mut s = sim(0);
    s.connect(1);
    s.connect(2);
    s.send(1, 5, join_req("g", "", Some("inst-a")));
    s.send(2, 5, join_req("g", "", Some("inst-b")));
    s.step(0);
    let ja = joins(&mut s, 1);
    let jb = joins(&mut s, 2);
    let (a, b) = (ja[0].member_id.to_string(), jb[0].member_id.to_string());
    assert!(a.starts_with("inst-a-"), "{a}");
    s.send(2, 5, sync_req("g", 1, &b, &[]));
    s.send(1, 5, sync_req("g", 1, &a, &[(&a, "for-a"), (&b, "for-b")]));
    syncs(&mut s, 1);
    syncs(&mut s, 2);
    // B's process restarts: a new connection, no member id, same instance id.
    s.disconnect(2);
    s.connect(3);
    let r = match s.call(3, 5, join_req("g", "", Some("inst-b"))) {
        ResponseBody::JoinGroup(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.error_code, 0);
    assert_eq!(r.generation_id, 1, "no new generation");
    assert_ne!(r.member_id, b.as_str(), "a new member id");
    let b2 = r.member_id.to_string();
    assert_eq!(heartbeat(&mut s, 1, "g", 1, &a), 0, "A sees no rebalance");
    s.send(3, 5, sync_req("g", 1, &b2, &[]));
    assert_eq!(
        &syncs(&mut s, 3)[0].assignment[..],
        b"for-b",
        "B keeps its share"
    );
    // The old id is fenced.
    let req = RequestBody::Heartbeat(HeartbeatRequest {
        group_id: "g".into(),
        generation_id: 1,
        member_id: b.as_str().into(),
        group_instance_id: Some("inst-b".into()),
        ..Default::default()
    });
    match s.call(4, 4, req) {
        ResponseBody::Heartbeat(r) => {
            assert_eq!(r.error_code, ErrorCode::FENCED_INSTANCE_ID.code())
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        describe(&mut s, "g").members[1]
            .group_instance_id
            .as_deref(),
        Some("inst-b")
    );
}

#[test]
fn commits_are_checked_against_member_and_generation() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    assert_eq!(commit(&mut s, 1, "g", 1, &a, 10), 0);
    assert_eq!(
        commit(&mut s, 1, "g", 0, &a, 11),
        ErrorCode::ILLEGAL_GENERATION.code()
    );
    assert_eq!(
        commit(&mut s, 1, "g", 1, "nobody", 11),
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
    assert_eq!(
        commit(&mut s, 5, "g", -1, "", 11),
        ErrorCode::UNKNOWN_MEMBER_ID.code(),
        "a non-empty group takes no commits from outsiders"
    );
    assert_eq!(fetch_offset(&mut s, "g", 7), (10, "meta".into()));
    // During the sync phase commits wait for the new generation.
    s.send(1, 5, join_req("g", &a, None));
    s.send(2, 5, join_req("g", &b, None));
    joins(&mut s, 1);
    joins(&mut s, 2);
    assert_eq!(
        commit(&mut s, 2, "g", 2, &b, 12),
        ErrorCode::REBALANCE_IN_PROGRESS.code()
    );
    // A group nobody joined takes commits with generation -1 ...
    assert_eq!(commit(&mut s, 5, "solo", -1, "", 7), 0);
    assert_eq!(fetch_offset(&mut s, "solo", 1), (7, "meta".into()));
    // ... and refuses a generation it never had.
    assert_eq!(
        commit(&mut s, 5, "nogroup", 3, "m", 7),
        ErrorCode::ILLEGAL_GENERATION.code()
    );
    // Unknown partitions are refused per partition.
    let req = RequestBody::OffsetCommit(OffsetCommitRequest {
        group_id: "solo".into(),
        generation_id_or_member_epoch: -1,
        topics: vec![OffsetCommitRequestTopic {
            name: "t".into(),
            partitions: vec![
                OffsetCommitRequestPartition {
                    partition_index: 9,
                    committed_offset: 1,
                    ..Default::default()
                },
                OffsetCommitRequestPartition {
                    partition_index: 1,
                    committed_offset: 1,
                    committed_metadata: Some("x".repeat(5000).into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    });
    match s.call(5, 9, req) {
        ResponseBody::OffsetCommit(r) => {
            let codes: Vec<i16> = r.topics[0]
                .partitions
                .iter()
                .map(|p| p.error_code)
                .collect();
            assert_eq!(
                codes,
                vec![
                    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code(),
                    ErrorCode::OFFSET_METADATA_TOO_LARGE.code()
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn offsets_and_members_survive_a_restart() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    assert_eq!(commit(&mut s, 1, "g", 1, &a, 42), 0);
    assert_eq!(commit(&mut s, 5, "solo", -1, "", 9), 0);
    // The records are in the partition Kafka would pick, in Kafka's format.
    let tp = TopicPartition::new("__consumer_offsets", partition_of("g"));
    assert!(
        s.broker.storage().end_offset(&tp) >= 2,
        "group and offset records"
    );
    let mut s2 = s.restart();
    assert_eq!(fetch_offset(&mut s2, "g", 8), (42, "meta".into()));
    assert_eq!(fetch_offset(&mut s2, "solo", 3), (9, "meta".into()));
    let d = describe(&mut s2, "g");
    assert_eq!(d.group_state, "Stable");
    assert_eq!(d.members.len(), 2);
    assert_eq!(&d.members[0].member_assignment[..], b"for-a");
    // The members carry on with the same generation ...
    assert_eq!(heartbeat(&mut s2, 1, "g", 1, &a), 0);
    // ... and B, silent since the restart, expires a session later, which
    // starts a rebalance A hears of.
    s2.advance(SESSION as i64 - 1);
    assert_eq!(heartbeat(&mut s2, 1, "g", 1, &a), 0);
    s2.advance(1);
    let d = describe(&mut s2, "g");
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].member_id, a.as_str(), "B expired, A stays");
    assert_eq!(
        heartbeat(&mut s2, 1, "g", 1, &a),
        ErrorCode::REBALANCE_IN_PROGRESS.code()
    );
    assert_eq!(
        heartbeat(&mut s2, 2, "g", 1, &b),
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
}

/// Java's `Math.abs(id.hashCode()) % 50`.
fn partition_of(id: &str) -> i32 {
    let h = id
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    h.wrapping_abs().max(0) % 50
}

#[test]
fn leave_group_batched_and_single() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    let req = RequestBody::LeaveGroup(LeaveGroupRequest {
        group_id: "g".into(),
        members: vec![
            MemberIdentity {
                member_id: b.as_str().into(),
                ..Default::default()
            },
            MemberIdentity {
                member_id: "ghost".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    match s.call(2, 4, req) {
        ResponseBody::LeaveGroup(r) => {
            assert_eq!(r.error_code, 0);
            let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
            assert_eq!(codes, vec![0, ErrorCode::UNKNOWN_MEMBER_ID.code()]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(describe(&mut s, "g").group_state, "PreparingRebalance");
    s.send(1, 5, join_req("g", &a, None));
    assert_eq!(joins(&mut s, 1)[0].members.len(), 1);
    let req = RequestBody::LeaveGroup(LeaveGroupRequest {
        group_id: "g".into(),
        member_id: a.as_str().into(),
        ..Default::default()
    });
    match s.call(1, 0, req) {
        ResponseBody::LeaveGroup(r) => assert_eq!(r.error_code, 0),
        other => panic!("{other:?}"),
    }
    assert_eq!(describe(&mut s, "g").group_state, "Empty");
}

#[test]
fn join_errors_are_kafkas() {
    let mut s = sim(0);
    s.connect(1);
    let mut bad = join_req("g", "", None);
    if let RequestBody::JoinGroup(r) = &mut bad {
        r.session_timeout_ms = 10;
    }
    let code = |r: ResponseBody| match r {
        ResponseBody::JoinGroup(r) => r.error_code,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(s.call(1, 5, bad)),
        ErrorCode::INVALID_SESSION_TIMEOUT.code()
    );
    assert_eq!(
        code(s.call(1, 5, join_req("", "", None))),
        ErrorCode::INVALID_GROUP_ID.code()
    );
    assert_eq!(
        code(s.call(1, 5, join_req("g", "made-up", None))),
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
    // v3 and older take a member without an id at once.
    s.send(1, 3, join_req("g", "", None));
    s.step(0);
    let j = joins(&mut s, 1);
    assert_eq!(j[0].error_code, 0);
    // Another protocol type cannot join.
    let mut other = join_req("g", "", None);
    if let RequestBody::JoinGroup(r) = &mut other {
        r.protocol_type = "connect".into();
    }
    assert_eq!(
        code(s.call(2, 5, other)),
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL.code()
    );
    // Nor a protocol the members do not share.
    let mut other = join_req("g", "", None);
    if let RequestBody::JoinGroup(r) = &mut other {
        r.protocols[0].name = "roundrobin".into();
    }
    assert_eq!(
        code(s.call(2, 5, other)),
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL.code()
    );
    // Sync and heartbeat of unknown groups.
    match s.call(3, 3, sync_req("nope", 1, "m", &[])) {
        ResponseBody::SyncGroup(r) => assert_eq!(r.error_code, ErrorCode::UNKNOWN_MEMBER_ID.code()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        heartbeat(&mut s, 3, "nope", 1, "m"),
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
}

#[test]
fn admin_apis_show_and_change_groups() {
    let mut s = sim(0);
    let (a, _b) = stable_pair(&mut s, "g");
    assert_eq!(commit(&mut s, 1, "g", 1, &a, 5), 0);
    assert_eq!(commit(&mut s, 5, "solo", -1, "", 9), 0);
    let d = describe(&mut s, "g");
    assert_eq!(d.protocol_type, "consumer");
    assert_eq!(d.protocol_data, "range");
    assert_eq!(d.members[0].client_id, "sim");
    assert_eq!(d.members[0].client_host, "/sim");
    assert_eq!(d.authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));
    let missing = describe(&mut s, "nope");
    assert_eq!(missing.error_code, ErrorCode::GROUP_ID_NOT_FOUND.code());
    assert_eq!(missing.group_state, "Dead");

    let list = |s: &mut Sim, states: &[&str]| -> Vec<(String, String)> {
        let req = RequestBody::ListGroups(ListGroupsRequest {
            states_filter: states.iter().map(|x| (*x).into()).collect(),
            ..Default::default()
        });
        match s.call(90, 5, req) {
            ResponseBody::ListGroups(r) => r
                .groups
                .iter()
                .map(|g| (g.group_id.to_string(), g.group_state.to_string()))
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        list(&mut s, &[]),
        vec![
            ("g".into(), "Stable".into()),
            ("solo".into(), "Empty".into())
        ]
    );
    assert_eq!(
        list(&mut s, &["empty"]),
        vec![("solo".into(), "Empty".into())]
    );

    // OffsetDelete: refused while members subscribe to the topic.
    let od = |s: &mut Sim, group: &str| -> (i16, Vec<i16>) {
        let req = RequestBody::OffsetDelete(OffsetDeleteRequest {
            group_id: group.into(),
            topics: vec![OffsetDeleteRequestTopic {
                name: "t".into(),
                partitions: vec![OffsetDeleteRequestPartition {
                    partition_index: 0,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        match s.call(90, 0, req) {
            ResponseBody::OffsetDelete(r) => (
                r.error_code,
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
                    .collect(),
            ),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        od(&mut s, "g"),
        (0, vec![ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC.code()])
    );
    assert_eq!(od(&mut s, "solo"), (0, vec![0]));
    assert_eq!(fetch_offset(&mut s, "solo", 5).0, -1);
    assert_eq!(od(&mut s, "nope").0, ErrorCode::GROUP_ID_NOT_FOUND.code());

    let delete = |s: &mut Sim, ids: &[&str]| -> Vec<i16> {
        let req = RequestBody::DeleteGroups(DeleteGroupsRequest {
            groups_names: ids.iter().map(|x| (*x).into()).collect(),
            ..Default::default()
        });
        match s.call(90, 2, req) {
            ResponseBody::DeleteGroups(r) => r.results.iter().map(|x| x.error_code).collect(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        delete(&mut s, &["g", "solo", "nope"]),
        vec![
            ErrorCode::NON_EMPTY_GROUP.code(),
            0,
            ErrorCode::GROUP_ID_NOT_FOUND.code()
        ]
    );
    assert_eq!(list(&mut s, &[]).len(), 1);
    // Deletion is written: a restart does not bring the group back.
    let mut s2 = s.restart();
    assert_eq!(list(&mut s2, &[]), vec![("g".into(), "Stable".into())]);
}

#[test]
fn find_coordinator_single_and_batched() {
    let mut s = sim(0);
    match s.call(
        1,
        0,
        RequestBody::FindCoordinator(FindCoordinatorRequest {
            key: "g".into(),
            ..Default::default()
        }),
    ) {
        ResponseBody::FindCoordinator(r) => {
            assert_eq!(r.error_code, 0);
            assert_eq!((r.node_id, r.host.as_ref(), r.port), (1, "127.0.0.1", 9092));
        }
        other => panic!("{other:?}"),
    }
    let req = FindCoordinatorRequest {
        key_type: 0,
        coordinator_keys: vec!["a".into(), "b".into()],
        ..Default::default()
    };
    match s.call(1, 5, RequestBody::FindCoordinator(req)) {
        ResponseBody::FindCoordinator(r) => {
            assert_eq!(r.coordinators.len(), 2);
            assert!(r
                .coordinators
                .iter()
                .all(|c| c.error_code == 0 && c.node_id == 1));
        }
        other => panic!("{other:?}"),
    }
    let req = FindCoordinatorRequest {
        key: "txn".into(),
        key_type: 1,
        ..Default::default()
    };
    match s.call(1, 3, RequestBody::FindCoordinator(req)) {
        ResponseBody::FindCoordinator(r) => {
            assert_eq!(r.error_code, ErrorCode::COORDINATOR_NOT_AVAILABLE.code())
        }
        other => panic!("{other:?}"),
    }
    // __consumer_offsets now exists, compacted, with 50 partitions.
    let logs = s.broker.storage().logs();
    let n = logs
        .iter()
        .filter(|tp| tp.topic == "__consumer_offsets")
        .count();
    assert_eq!(n, 50);
}

#[test]
fn offsets_of_an_empty_group_expire_after_retention() {
    let mut c = config(0);
    c.groups.offsets_retention_ms = 60_000;
    c.groups.offsets_retention_check_interval_ms = 1_000;
    let mut s = Sim::with(c, Default::default());
    s.create_topic("t", 1);
    let a = join_new(&mut s, 1, "g");
    s.step(0);
    joins(&mut s, 1);
    s.send(1, 5, sync_req("g", 1, &a, &[(&a, "x")]));
    syncs(&mut s, 1);
    assert_eq!(commit(&mut s, 1, "g", 1, &a, 3), 0);
    // While the member is there, its subscribed offsets stay.
    for _ in 0..20 {
        s.advance(4_000);
        assert_eq!(heartbeat(&mut s, 1, "g", 1, &a), 0);
    }
    assert_eq!(fetch_offset(&mut s, "g", 6).0, 3);
    let req = RequestBody::LeaveGroup(LeaveGroupRequest {
        group_id: "g".into(),
        member_id: a.as_str().into(),
        ..Default::default()
    });
    s.call(1, 1, req);
    assert_eq!(describe(&mut s, "g").group_state, "Empty");
    s.advance(59_000);
    assert_eq!(
        fetch_offset(&mut s, "g", 6).0,
        3,
        "kept until retention passes"
    );
    s.advance(2_000);
    assert_eq!(fetch_offset(&mut s, "g", 6).0, -1, "expired");
    assert_eq!(
        describe(&mut s, "g").error_code,
        ErrorCode::GROUP_ID_NOT_FOUND.code()
    );
    let mut s2 = s.restart();
    assert_eq!(
        fetch_offset(&mut s2, "g", 6).0,
        -1,
        "the expiry was written"
    );
}

#[test]
fn a_held_join_on_a_closed_connection_does_not_stall_others() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    // Both rejoin, but A's connection closes while its join is held.
    s.send(1, 5, join_req("g", &a, None));
    s.disconnect(1);
    s.send(2, 5, join_req("g", &b, None));
    let jb = joins(&mut s, 2);
    assert_eq!(jb[0].generation_id, 2);
    // A is still a member (Kafka keeps it until its session times out).
    assert_eq!(describe(&mut s, "g").members.len(), 2);
    // A never heartbeats or syncs: at its session timeout the group moves on
    // without it.
    s.send(2, 5, sync_req("g", 2, &b, &[]));
    s.advance(SESSION as i64);
    let r = syncs(&mut s, 2);
    assert_eq!(r[0].error_code, ErrorCode::REBALANCE_IN_PROGRESS.code());
    s.send(2, 5, join_req("g", &b, None));
    let jb = joins(&mut s, 2);
    assert_eq!(jb[0].generation_id, 3);
    assert_eq!(jb[0].members.len(), 1);
}
