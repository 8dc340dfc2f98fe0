//! The group APIs under the authorizer.

use spate_core::protocol::messages::describe_groups_request::DescribeGroupsRequest;
use spate_core::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use spate_core::protocol::messages::join_group_request::{
    JoinGroupRequest, JoinGroupRequestProtocol,
};
use spate_core::protocol::messages::list_groups_request::ListGroupsRequest;
use spate_core::protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::acl::{Operation, ResourceType};

use super::{allow, sim, ALICE};
use crate::sim as simh;

const GROUP_DENIED: i16 = ErrorCode::GROUP_AUTHORIZATION_FAILED.code();

fn join(s: &mut simh::Sim, group: &str) -> i16 {
    let req = JoinGroupRequest {
        group_id: group.into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupRequestProtocol {
            name: "range".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    match s.call(ALICE, 5, RequestBody::JoinGroup(req)) {
        ResponseBody::JoinGroup(r) => r.error_code,
        other => panic!("{other:?}"),
    }
}

fn commit(s: &mut simh::Sim, group: &str, topic: &str) -> i16 {
    let req = OffsetCommitRequest {
        group_id: group.into(),
        generation_id_or_member_epoch: -1,
        retention_time_ms: -1,
        topics: vec![OffsetCommitRequestTopic {
            name: topic.into(),
            partitions: vec![OffsetCommitRequestPartition {
                partition_index: 0,
                committed_offset: 1,
                committed_leader_epoch: -1,
                commit_timestamp: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match s.call(ALICE, 8, RequestBody::OffsetCommit(req)) {
        ResponseBody::OffsetCommit(r) => r.topics[0].partitions[0].error_code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn group_apis_need_read_on_the_group() {
    let mut s = sim();
    s.create_topic("t", 1);
    assert_eq!(join(&mut s, "g"), GROUP_DENIED);
    assert_eq!(commit(&mut s, "g", "t"), GROUP_DENIED);
    allow(&mut s, ResourceType::Group, "g", Operation::Read);
    // READ on the group, not on the topic.
    assert_eq!(
        commit(&mut s, "g", "t"),
        ErrorCode::TOPIC_AUTHORIZATION_FAILED.code()
    );
    allow(&mut s, ResourceType::Topic, "t", Operation::Read);
    assert_eq!(commit(&mut s, "g", "t"), 0);
    assert_ne!(join(&mut s, "g"), GROUP_DENIED);
}

#[test]
fn find_coordinator_needs_describe_and_groups_are_listed_by_it() {
    let mut s = sim();
    s.create_topic("t", 1);
    allow(&mut s, ResourceType::Topic, "t", Operation::Read);
    let find = |s: &mut simh::Sim, key: &str| {
        let req = FindCoordinatorRequest {
            key: key.into(),
            ..Default::default()
        };
        match s.call(ALICE, 3, RequestBody::FindCoordinator(req)) {
            ResponseBody::FindCoordinator(r) => r.error_code,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(find(&mut s, "g"), GROUP_DENIED);
    allow(&mut s, ResourceType::Group, "g", Operation::Read);
    allow(&mut s, ResourceType::Group, "h", Operation::Read);
    assert_eq!(find(&mut s, "g"), 0);
    assert_eq!(commit(&mut s, "g", "t"), 0);
    assert_eq!(commit(&mut s, "h", "t"), 0);
    // Another principal's group: alice may describe only g and h.
    s.broker.insert_acl(spate_core::security::acl::AclBinding {
        principal: "User:ANONYMOUS".into(),
        ..super::acl(
            ResourceType::Group,
            "other",
            spate_core::security::acl::PatternType::Literal,
            Operation::Read,
            spate_core::security::acl::Permission::Allow,
        )
    });
    let mut listed = match s.call(
        ALICE,
        4,
        RequestBody::ListGroups(ListGroupsRequest::default()),
    ) {
        ResponseBody::ListGroups(r) => r
            .groups
            .iter()
            .map(|g| g.group_id.to_string())
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    listed.sort();
    assert_eq!(listed, vec!["g", "h"]);
    // DescribeGroups: GROUP_AUTHORIZATION_FAILED for "x", operations for "g".
    let req = DescribeGroupsRequest {
        groups: vec!["g".into(), "x".into()],
        include_authorized_operations: true,
        ..Default::default()
    };
    match s.call(ALICE, 5, RequestBody::DescribeGroups(req)) {
        ResponseBody::DescribeGroups(r) => {
            assert_eq!(r.groups[0].error_code, 0);
            let bits = 1 << Operation::Read as i32 | 1 << Operation::Describe as i32;
            assert_eq!(r.groups[0].authorized_operations, bits);
            assert_eq!(r.groups[1].error_code, GROUP_DENIED);
        }
        other => panic!("{other:?}"),
    }
}
