//! Committed offsets: commits checked against member and generation,
//! offsets and members kept across a restart, and the offsets of an empty
//! group expiring after retention.

use spate_core::protocol::messages::leave_group_request::LeaveGroupRequest;
use spate_core::protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::storage::{Storage, TopicPartition};

use crate::sim::Sim;
use crate::util::*;

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
