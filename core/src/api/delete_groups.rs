//! DeleteGroups (key 42): delete empty groups with their committed offsets.
//!
//! Per group, as Kafka: an empty id is INVALID_GROUP_ID, an unknown group
//! GROUP_ID_NOT_FOUND, a group with members NON_EMPTY_GROUP. Deleting
//! writes a tombstone for each offset and for the group to
//! `__consumer_offsets`; a group whose tombstones cannot be written is
//! NOT_COORDINATOR and stays. A group the caller may not DELETE is
//! GROUP_AUTHORIZATION_FAILED.

use crate::coordinator::group::GroupCoordinator;
use crate::protocol::messages::delete_groups_request::DeleteGroupsRequest;
use crate::protocol::messages::delete_groups_response::{
    DeletableGroupResult, DeleteGroupsResponse,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::storage::Storage;

use super::authz::Checks;
use super::{Ctx, Handled, Reply};
use crate::security::acl::{Authorizer, Operation};

/// Runs a DeleteGroups request: each group is deleted (and written) on its
/// own, so one that cannot be written leaves the others deleted.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    groups: &mut GroupCoordinator,
    storage: &mut S,
    az: &Authorizer<'_>,
    req: DeleteGroupsRequest,
) -> Handled {
    let mut handled = Handled::reply(Reply::NoResponse);
    let mut results = Vec::new();
    for id in &req.groups_names {
        let code = if !az.group(Operation::Delete, id) {
            ErrorCode::GROUP_AUTHORIZATION_FAILED
        } else if id.is_empty() {
            ErrorCode::INVALID_GROUP_ID
        } else {
            let d = groups.delete_group(ctx.now, id);
            let s = groups.write(d, storage, ctx.now);
            handled.answers.extend(s.answers);
            handled.group_deadline = Some(s.next_deadline);
            s.reply.unwrap_or_else(|code| code)
        };
        results.push(DeletableGroupResult {
            group_id: id.clone(),
            error_code: code.code(),
            ..Default::default()
        });
    }
    handled.reply = Reply::Response(ResponseBody::DeleteGroups(DeleteGroupsResponse {
        throttle_time_ms: 0,
        results,
        ..Default::default()
    }));
    handled
}
