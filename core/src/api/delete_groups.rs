//! DeleteGroups (key 42): delete empty groups with their committed offsets.
//!
//! Per group, as Kafka: an empty id is INVALID_GROUP_ID, an unknown group
//! GROUP_ID_NOT_FOUND, a group with members NON_EMPTY_GROUP. Deleting
//! writes a tombstone for each offset and for the group to
//! `__consumer_offsets`.

use crate::broker::Broker;
use crate::protocol::messages::delete_groups_request::DeleteGroupsRequest;
use crate::protocol::messages::delete_groups_response::{
    DeletableGroupResult, DeleteGroupsResponse,
};
use crate::protocol::ErrorCode;
use crate::storage::Storage;

use super::Ctx;

/// Runs a DeleteGroups request.
pub(crate) fn handle<S: Storage>(
    b: &mut Broker<S>,
    ctx: &Ctx,
    req: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let results = req
        .groups_names
        .iter()
        .map(|id| {
            let code = if id.is_empty() {
                ErrorCode::INVALID_GROUP_ID
            } else {
                b.delete_group(id, ctx.now)
            };
            DeletableGroupResult {
                group_id: id.clone(),
                error_code: code.code(),
                ..Default::default()
            }
        })
        .collect();
    DeleteGroupsResponse {
        throttle_time_ms: 0,
        results,
        ..Default::default()
    }
}
