//! DescribeGroups (key 15): state, protocol and members of groups.
//!
//! As Kafka: members' metadata and assignments are shown only when the
//! group is Stable (otherwise just who they are), and so is the protocol.
//! An unknown group is reported as state `Dead` with no error before v6,
//! and with GROUP_ID_NOT_FOUND from v6. v3+ may ask for the operations the
//! caller may perform on each group. A group the caller may not DESCRIBE
//! is GROUP_AUTHORIZATION_FAILED (and nothing more), as in Kafka.

use crate::coordinator::group::classic::State;
use crate::coordinator::group::{Group, GroupCoordinator};
use crate::protocol::messages::describe_groups_request::DescribeGroupsRequest;
use crate::protocol::messages::describe_groups_response::{
    DescribeGroupsResponse, DescribedGroup, DescribedGroupMember,
};
use crate::protocol::ErrorCode;

use super::authz::Checks;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation, ResourceType};

/// Runs a DescribeGroups request.
pub(crate) fn handle(
    ctx: &Ctx,
    groups: &GroupCoordinator,
    az: &Authorizer<'_>,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let v = ctx.version;
    let groups = req
        .groups
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
            if v >= 3 && req.include_authorized_operations {
                d.authorized_operations = az.authorized_operations(ResourceType::Group, id);
            }
            if let (false, Err(code)) = (id.is_empty(), groups.coordinates(id)) {
                d.error_code = code.code();
                return d;
            }
            let g = groups.group(id);
            let Some(g) = g.filter(|_| !id.is_empty()) else {
                d.group_state = "Dead".into();
                if id.is_empty() {
                    d.error_code = ErrorCode::INVALID_GROUP_ID.code();
                } else if v >= 6 {
                    d.error_code = ErrorCode::GROUP_ID_NOT_FOUND.code();
                    d.error_message = Some(format!("Group {id} not found.").into());
                }
                return d;
            };
            let Group::Classic(g) = g else {
                // Kafka describes consumer-protocol groups with
                // ConsumerGroupDescribe only.
                d.group_state = "Dead".into();
                d.error_code = ErrorCode::GROUP_ID_NOT_FOUND.code();
                if v >= 6 {
                    d.error_message = Some(format!("Group {id} is not a classic group.").into());
                }
                return d;
            };
            let stable = matches!(g.state, State::Stable { .. });
            d.group_state = g.state.name().into();
            d.protocol_type = g.protocol_type.clone().unwrap_or_default();
            d.protocol_data = if stable {
                g.protocol.clone().unwrap_or_default()
            } else {
                "".into()
            };
            d.members = g
                .members
                .iter()
                .map(|m| DescribedGroupMember {
                    member_id: m.id.clone(),
                    group_instance_id: if v >= 4 { m.instance_id.clone() } else { None },
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    member_metadata: if stable {
                        g.protocol
                            .as_ref()
                            .and_then(|p| m.metadata_for(p))
                            .cloned()
                            .unwrap_or_default()
                    } else {
                        Default::default()
                    },
                    member_assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Default::default()
                    },
                    ..Default::default()
                })
                .collect();
            d
        })
        .collect();
    DescribeGroupsResponse {
        throttle_time_ms: 0,
        groups,
        ..Default::default()
    }
}
