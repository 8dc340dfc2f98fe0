//! ListGroups (key 16): every group this broker coordinates.
//!
//! v4+ filter by state and v5+ by type (case-insensitive, as Kafka);
//! empty filters take all. Groups that only hold offsets (committed by
//! consumers outside any rebalance) are listed too, with an empty protocol
//! type. Types are `classic` and `consumer` (KIP-848); a consumer group's
//! states are Empty, Assigning, Reconciling and Stable. With an
//! authorizer only the groups the caller may DESCRIBE are listed, or all
//! with DESCRIBE on the cluster, as Kafka lists them.

use crate::coordinator::group::GroupCoordinator;
use crate::protocol::messages::list_groups_request::ListGroupsRequest;
use crate::protocol::messages::list_groups_response::{ListGroupsResponse, ListedGroup};

use super::authz::Checks;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// Runs a ListGroups request.
pub(crate) fn handle(
    ctx: &Ctx,
    groups: &GroupCoordinator,
    az: &Authorizer<'_>,
    req: ListGroupsRequest,
) -> ListGroupsResponse {
    let v = ctx.version;
    let wanted = |filter: &[bytestring::ByteString], value: &str| {
        filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(value))
    };
    // Kafka lists every group to a principal that may DESCRIBE the
    // cluster, else those it may DESCRIBE.
    let all = az.cluster(Operation::Describe);
    let listed = groups
        .groups()
        .filter(|(id, _)| all || az.group(Operation::Describe, id))
        .filter(|(_, g)| v < 4 || wanted(&req.states_filter, g.state_name()))
        .filter(|(_, g)| v < 5 || wanted(&req.types_filter, g.type_name()))
        .map(|(id, g)| ListedGroup {
            group_id: id.clone(),
            protocol_type: g.protocol_type().cloned().unwrap_or_default(),
            group_state: if v >= 4 {
                g.state_name().into()
            } else {
                "".into()
            },
            group_type: if v >= 5 {
                g.type_name().into()
            } else {
                "".into()
            },
            ..Default::default()
        })
        .collect();
    ListGroupsResponse {
        throttle_time_ms: 0,
        error_code: 0,
        groups: listed,
        ..Default::default()
    }
}
