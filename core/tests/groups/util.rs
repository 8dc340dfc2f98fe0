//! Requests and steps shared by the group tests: joins, syncs,
//! heartbeats, commits and offset fetches, and a stable two-member group.

use bytes::Bytes;
use spate_core::broker::Config;
use spate_core::protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use spate_core::protocol::messages::describe_groups_request::DescribeGroupsRequest;
use spate_core::protocol::messages::describe_groups_response::DescribedGroup;
use spate_core::protocol::messages::heartbeat_request::HeartbeatRequest;
use spate_core::protocol::messages::join_group_request::{
    JoinGroupRequest, JoinGroupRequestProtocol,
};
use spate_core::protocol::messages::join_group_response::JoinGroupResponse;
use spate_core::protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use spate_core::protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use spate_core::protocol::messages::sync_group_request::{
    SyncGroupRequest, SyncGroupRequestAssignment,
};
use spate_core::protocol::messages::sync_group_response::SyncGroupResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Wire, Writer};

use spate_core::storage::Storage;

use crate::sim::{Event, Sim};

pub(crate) const SESSION: i32 = 10_000;
pub(crate) const REBALANCE: i32 = 20_000;

pub(crate) fn config(initial_delay: i64) -> Config {
    let mut c = Config::default();
    c.groups.initial_rebalance_delay_ms = initial_delay;
    c
}

pub(crate) fn sim(initial_delay: i64) -> Sim {
    let mut s = Sim::with(config(initial_delay), Default::default());
    s.create_topic("t", 4);
    s
}

/// ConsumerProtocolSubscription v1 metadata for `topics`.
pub(crate) fn subscription(topics: &[&str]) -> Bytes {
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

pub(crate) fn join_req(group: &str, member: &str, instance: Option<&str>) -> RequestBody {
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
pub(crate) fn joins<S: Storage>(s: &mut Sim<S>, conn: u64) -> Vec<JoinGroupResponse> {
    s.take(conn)
        .into_iter()
        .map(|e| match e {
            Event::Response(_, ResponseBody::JoinGroup(r)) => r,
            other => panic!("expected a JoinGroup response, got {other:?}"),
        })
        .collect()
}

pub(crate) fn syncs<S: Storage>(s: &mut Sim<S>, conn: u64) -> Vec<SyncGroupResponse> {
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
pub(crate) fn join_new<S: Storage>(s: &mut Sim<S>, conn: u64, group: &str) -> String {
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

pub(crate) fn sync_req(
    group: &str,
    generation: i32,
    member: &str,
    assign: &[(&str, &str)],
) -> RequestBody {
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

pub(crate) fn heartbeat<S: Storage>(
    s: &mut Sim<S>,
    conn: u64,
    group: &str,
    generation: i32,
    member: &str,
) -> i16 {
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

pub(crate) fn describe<S: Storage>(s: &mut Sim<S>, group: &str) -> DescribedGroup {
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

pub(crate) fn commit<S: Storage>(
    s: &mut Sim<S>,
    conn: u64,
    group: &str,
    generation: i32,
    member: &str,
    offset: i64,
) -> i16 {
    match s.call(conn, 8, commit_req(group, generation, member, offset)) {
        ResponseBody::OffsetCommit(r) => r.topics[0].partitions[0].error_code,
        other => panic!("{other:?}"),
    }
}

/// OffsetCommit of `offset` (metadata "meta") for `t`-0.
pub(crate) fn commit_req(group: &str, generation: i32, member: &str, offset: i64) -> RequestBody {
    RequestBody::OffsetCommit(OffsetCommitRequest {
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
    })
}

/// OffsetFetch of `group`'s `t`-0 at `version`: v8+ batches groups.
pub(crate) fn offset_fetch_request(group: &str, version: i16) -> OffsetFetchRequest {
    if version >= 8 {
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
    }
}

pub(crate) fn fetch_offset<S: Storage>(s: &mut Sim<S>, group: &str, version: i16) -> (i64, String) {
    let req = offset_fetch_request(group, version);
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
pub(crate) fn stable_pair<S: Storage>(s: &mut Sim<S>, group: &str) -> (String, String) {
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
