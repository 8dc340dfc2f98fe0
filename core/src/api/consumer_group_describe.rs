//! ConsumerGroupDescribe (key 69): members, epochs and assignments of
//! KIP-848 consumer groups.
//!
//! A group that does not exist, or is a classic group, is
//! GROUP_ID_NOT_FOUND (as Kafka). v1 adds each member's type (1: a
//! consumer-protocol member; Spate has no classic members in consumer
//! groups). A group the caller may not DESCRIBE is
//! GROUP_AUTHORIZATION_FAILED; authorized operations, when asked for, are
//! the caller's on the group.

use crate::collections::Map;

use crate::coordinator::group::consumer::Assign;
use crate::coordinator::group::{Group, GroupCoordinator};
use crate::protocol::messages::consumer_group_describe_request::ConsumerGroupDescribeRequest;
use crate::protocol::messages::consumer_group_describe_response::{
    Assignment, ConsumerGroupDescribeResponse, DescribedGroup, Member, TopicPartitions,
};
use crate::protocol::{ErrorCode, Uuid};
use crate::state::cluster::Cluster;

use super::authz::Checks;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation, ResourceType};

/// Runs a ConsumerGroupDescribe request.
pub(crate) fn handle(
    ctx: &Ctx,
    groups: &GroupCoordinator,
    cluster: &Cluster,
    az: &Authorizer<'_>,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let names: Map<Uuid, bytestring::ByteString> = cluster
        .by_id
        .iter()
        .map(|(id, n)| (*id, n.as_str().into()))
        .collect();
    let assignment = |a: &Assign| Assignment {
        topic_partitions: a
            .iter()
            .map(|(id, ps)| TopicPartitions {
                topic_id: *id,
                topic_name: names.get(id).cloned().unwrap_or_default(),
                partitions: ps.iter().copied().collect::<Vec<i32>>().into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let groups = req
        .group_ids
        .iter()
        .map(|id| {
            let mut d = DescribedGroup {
                group_id: id.clone(),
                ..Default::default()
            };
            if !az.group(Operation::Describe, id) {
                d.error_code = ErrorCode::GROUP_AUTHORIZATION_FAILED.code();
                return d;
            }
            if req.include_authorized_operations {
                d.authorized_operations = az.authorized_operations(ResourceType::Group, id);
            }
            if let Err(code) = groups.coordinates(id) {
                d.error_code = code.code();
                return d;
            }
            let Some(Group::Consumer(c)) = groups.group(id) else {
                d.error_code = ErrorCode::GROUP_ID_NOT_FOUND.code();
                d.error_message = Some(format!("Group {id} is not a consumer group.").into());
                d.group_state = "Dead".into();
                return d;
            };
            d.group_state = c.state_name().into();
            d.group_epoch = c.epoch;
            d.assignment_epoch = c.assignment_epoch;
            d.assignor_name = c.assignor.clone();
            d.members = c
                .members
                .values()
                .map(|m| Member {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    member_epoch: m.epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topic_names: m.subscribed.clone(),
                    subscribed_topic_regex: m.regex.clone(),
                    assignment: assignment(&m.assigned),
                    target_assignment: assignment(
                        &c.target.get(&m.id).cloned().unwrap_or_default(),
                    ),
                    member_type: if ctx.version >= 1 { 1 } else { -1 },
                    ..Default::default()
                })
                .collect();
            d
        })
        .collect();
    ConsumerGroupDescribeResponse {
        throttle_time_ms: 0,
        groups,
        ..Default::default()
    }
}
