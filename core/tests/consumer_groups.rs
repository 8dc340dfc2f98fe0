//! KIP-848 consumer groups in virtual time: server-side assignment, member
//! epochs, revocation before reassignment, session expiry, offset commits
//! checked against member epochs, and the describe and list views.

mod sim;

use std::collections::BTreeSet;

use sim::Sim;
use spate_core::broker::Config;
use spate_core::protocol::messages::consumer_group_describe_request::ConsumerGroupDescribeRequest;
use spate_core::protocol::messages::consumer_group_heartbeat_request::{
    ConsumerGroupHeartbeatRequest, TopicPartitions,
};
use spate_core::protocol::messages::consumer_group_heartbeat_response::ConsumerGroupHeartbeatResponse;
use spate_core::protocol::messages::join_group_request::{
    JoinGroupRequest, JoinGroupRequestProtocol,
};
use spate_core::protocol::messages::list_groups_request::ListGroupsRequest;
use spate_core::protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody, Uuid};

fn sim() -> (Sim, Uuid) {
    let mut s = Sim::with(Config::default(), Default::default());
    let id = s.create_topic("t", 4);
    (s, id)
}

/// One heartbeat (v1) from `member`; `owned` is what it reports owning.
fn hb(
    s: &mut Sim,
    member: &str,
    epoch: i32,
    topic: Uuid,
    owned: Option<&[i32]>,
) -> ConsumerGroupHeartbeatResponse {
    let req = ConsumerGroupHeartbeatRequest {
        group_id: "cg".into(),
        member_id: member.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: (epoch == 0).then(|| vec!["t".into()]),
        topic_partitions: owned.map(|ps| {
            if ps.is_empty() {
                Vec::new()
            } else {
                vec![TopicPartitions {
                    topic_id: topic,
                    partitions: ps.to_vec().into(),
                    ..Default::default()
                }]
            }
        }),
        ..Default::default()
    };
    match s.call(1, 1, RequestBody::ConsumerGroupHeartbeat(req)) {
        ResponseBody::ConsumerGroupHeartbeat(r) => r,
        other => panic!("{other:?}"),
    }
}

fn parts(r: &ConsumerGroupHeartbeatResponse) -> Option<BTreeSet<i32>> {
    r.assignment.as_ref().map(|a| {
        a.topic_partitions
            .iter()
            .flat_map(|tp| tp.partitions.iter())
            .collect()
    })
}

fn set(ps: &[i32]) -> Option<BTreeSet<i32>> {
    Some(ps.iter().copied().collect())
}

#[test]
fn partitions_move_only_after_they_are_revoked() {
    let (mut s, t) = sim();
    let a = hb(&mut s, "A", 0, t, Some(&[]));
    assert_eq!(a.error_code, 0, "{a:?}");
    assert_eq!(a.member_epoch, 1);
    assert_eq!(a.heartbeat_interval_ms, 5000);
    assert_eq!(parts(&a), set(&[0, 1, 2, 3]));
    // B joins: epoch 2, but A still owns everything, so B gets nothing yet.
    let b = hb(&mut s, "B", 0, t, Some(&[]));
    assert_eq!(b.member_epoch, 2);
    assert_eq!(parts(&b), set(&[]));
    // A is asked to give up two partitions and stays at epoch 1 until it does.
    let a = hb(&mut s, "A", 1, t, Some(&[0, 1, 2, 3]));
    assert_eq!(a.member_epoch, 1);
    let kept = parts(&a).expect("a smaller assignment");
    assert_eq!(kept.len(), 2);
    let a2 = hb(&mut s, "A", 1, t, None);
    assert_eq!(a2.member_epoch, 1, "not until it reports the revocation");
    let owned: Vec<i32> = kept.iter().copied().collect();
    let a = hb(&mut s, "A", 1, t, Some(&owned));
    assert_eq!(a.member_epoch, 2);
    // Now B receives the released partitions.
    let b = hb(&mut s, "B", 2, t, Some(&[]));
    let theirs = parts(&b).expect("B's partitions");
    assert_eq!(theirs.len(), 2);
    assert!(theirs.is_disjoint(&kept));
    // A heartbeat with nothing new carries no assignment.
    let b_owned: Vec<i32> = theirs.iter().copied().collect();
    let b = hb(&mut s, "B", 2, t, Some(&b_owned));
    assert_eq!(b.assignment, None);

    // Wrong epochs are fenced; unknown members are told so.
    assert_eq!(
        hb(&mut s, "B", 7, t, None).error_code,
        ErrorCode::FENCED_MEMBER_EPOCH.code()
    );
    assert_eq!(
        hb(&mut s, "Z", 2, t, None).error_code,
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );

    // Commits carry the member epoch.
    let commit = |s: &mut Sim, member: &str, epoch: i32| -> i16 {
        let req = RequestBody::OffsetCommit(OffsetCommitRequest {
            group_id: "cg".into(),
            generation_id_or_member_epoch: epoch,
            member_id: member.into(),
            topics: vec![OffsetCommitRequestTopic {
                name: "t".into(),
                partitions: vec![OffsetCommitRequestPartition {
                    partition_index: 0,
                    committed_offset: 5,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        match s.call(2, 9, req) {
            ResponseBody::OffsetCommit(r) => r.topics[0].partitions[0].error_code,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(commit(&mut s, "A", 2), 0);
    assert_eq!(commit(&mut s, "A", 1), ErrorCode::STALE_MEMBER_EPOCH.code());
    assert_eq!(commit(&mut s, "", -1), ErrorCode::UNKNOWN_MEMBER_ID.code());

    // Describe and list.
    let req = ConsumerGroupDescribeRequest {
        group_ids: vec!["cg".into(), "nope".into()],
        ..Default::default()
    };
    match s.call(2, 1, RequestBody::ConsumerGroupDescribe(req)) {
        ResponseBody::ConsumerGroupDescribe(r) => {
            let g = &r.groups[0];
            assert_eq!(g.error_code, 0);
            assert_eq!(g.group_state, "Stable");
            assert_eq!((g.group_epoch, g.assignment_epoch), (2, 2));
            assert_eq!(g.assignor_name, "uniform");
            assert_eq!(g.members.len(), 2);
            assert_eq!(g.members[0].assignment.topic_partitions[0].topic_name, "t");
            assert_eq!(r.groups[1].error_code, ErrorCode::GROUP_ID_NOT_FOUND.code());
        }
        other => panic!("{other:?}"),
    }
    match s.call(2, 5, RequestBody::ListGroups(ListGroupsRequest::default())) {
        ResponseBody::ListGroups(r) => {
            assert_eq!(r.groups[0].group_type, "consumer");
            assert_eq!(r.groups[0].protocol_type, "consumer");
        }
        other => panic!("{other:?}"),
    }

    // A classic member cannot join a consumer group with members.
    let req = RequestBody::JoinGroup(JoinGroupRequest {
        group_id: "cg".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupRequestProtocol {
            name: "range".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    match s.call(3, 3, req) {
        ResponseBody::JoinGroup(r) => {
            assert_eq!(r.error_code, ErrorCode::INCONSISTENT_GROUP_PROTOCOL.code())
        }
        other => panic!("{other:?}"),
    }

    // B goes silent: at the session timeout (45 s) it is removed, and A
    // gets everything at the next epoch.
    for _ in 0..8 {
        s.advance(5_000);
        assert_eq!(hb(&mut s, "A", 2, t, None).error_code, 0);
    }
    s.advance(5_000);
    let a = hb(&mut s, "A", 2, t, None);
    assert_eq!(a.member_epoch, 3);
    assert_eq!(parts(&a), set(&[0, 1, 2, 3]));
    // Leaving.
    let a = hb(&mut s, "A", -1, t, None);
    assert_eq!((a.error_code, a.member_epoch), (0, -1));
}

#[test]
fn bad_heartbeats_are_refused_as_kafka_refuses_them() {
    let (mut s, t) = sim();
    let mut req = ConsumerGroupHeartbeatRequest {
        group_id: "cg".into(),
        member_epoch: 0,
        rebalance_timeout_ms: 1000,
        subscribed_topic_names: Some(vec!["t".into()]),
        topic_partitions: Some(vec![]),
        ..Default::default()
    };
    let code = |s: &mut Sim, v: i16, r: &ConsumerGroupHeartbeatRequest| match s.call(
        1,
        v,
        RequestBody::ConsumerGroupHeartbeat(r.clone()),
    ) {
        ResponseBody::ConsumerGroupHeartbeat(r) => r.error_code,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(&mut s, 1, &req),
        ErrorCode::INVALID_REQUEST.code(),
        "v1 needs a member id"
    );
    // v0 lets the broker name the member.
    assert_eq!(code(&mut s, 0, &req), 0);
    req.member_id = "M".into();
    req.server_assignor = Some("sticky".into());
    assert_eq!(
        code(&mut s, 1, &req),
        ErrorCode::UNSUPPORTED_ASSIGNOR.code()
    );
    req.server_assignor = None;
    req.subscribed_topic_regex = Some("t(".into());
    req.subscribed_topic_names = None;
    assert_eq!(
        code(&mut s, 1, &req),
        ErrorCode::INVALID_REGULAR_EXPRESSION.code()
    );
    req.subscribed_topic_regex = Some("t.*".into());
    assert_eq!(code(&mut s, 1, &req), 0, "a regex subscription");
    req.topic_partitions = None;
    assert_eq!(code(&mut s, 1, &req), ErrorCode::INVALID_REQUEST.code());
    let _ = t;
}

#[test]
fn a_restart_keeps_members_epochs_and_assignments() {
    let (mut s, t) = sim();
    hb(&mut s, "A", 0, t, Some(&[]));
    let b = hb(&mut s, "B", 0, t, Some(&[]));
    assert_eq!(b.member_epoch, 2);
    let a = hb(&mut s, "A", 1, t, Some(&[0, 1, 2, 3]));
    let kept: Vec<i32> = parts(&a).unwrap().into_iter().collect();
    hb(&mut s, "A", 1, t, Some(&kept));
    let b = hb(&mut s, "B", 2, t, Some(&[]));
    let theirs: Vec<i32> = parts(&b).unwrap().into_iter().collect();
    let mut s2 = s.restart();
    // The members carry on at their epochs, with their partitions.
    let a = hb(&mut s2, "A", 2, t, Some(&kept));
    assert_eq!((a.error_code, a.member_epoch), (0, 2));
    assert_eq!(parts(&a), Some(kept.iter().copied().collect()));
    let b = hb(&mut s2, "B", 2, t, Some(&theirs));
    assert_eq!((b.error_code, b.member_epoch), (0, 2));
    let req = ConsumerGroupDescribeRequest {
        group_ids: vec!["cg".into()],
        ..Default::default()
    };
    match s2.call(2, 0, RequestBody::ConsumerGroupDescribe(req)) {
        ResponseBody::ConsumerGroupDescribe(r) => {
            assert_eq!(r.groups[0].group_state, "Stable");
            assert_eq!(r.groups[0].members.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    // Leaving is written too: after another restart only A remains.
    hb(&mut s2, "B", -1, t, None);
    let mut s3 = s2.restart();
    assert_eq!(
        hb(&mut s3, "B", 2, t, None).error_code,
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
    let a = hb(&mut s3, "A", 2, t, Some(&kept));
    assert_eq!(
        (a.error_code, a.member_epoch),
        (0, 3),
        "B's leaving bumped the epoch"
    );
    assert_eq!(parts(&a), set(&[0, 1, 2, 3]));
}
