//! LeaveGroup (key 13): members leave a classic group, which starts a
//! rebalance for the rest.
//!
//! v0-2 name one member; v3+ name several (by member id and/or
//! `group_instance_id`) and answer per member, with the top-level error
//! set only when the whole request failed. An unknown group is
//! UNKNOWN_MEMBER_ID (v0-2) or, per member, the same (v3+).

use bytestring::ByteString;

use crate::coordinator::group::GroupCoordinator;
use crate::protocol::messages::leave_group_request::LeaveGroupRequest;
use crate::protocol::messages::leave_group_response::{LeaveGroupResponse, MemberResponse};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::storage::Storage;

use super::{Ctx, Handled, Reply};

/// Runs a LeaveGroup request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    groups: &mut GroupCoordinator,
    storage: &mut S,
    req: LeaveGroupRequest,
) -> Handled {
    let leaving: Vec<(ByteString, Option<ByteString>)> = if ctx.version >= 3 {
        req.members
            .iter()
            .map(|m| (m.member_id.clone(), m.group_instance_id.clone()))
            .collect()
    } else {
        vec![(req.member_id.clone(), None)]
    };
    let top = |code: ErrorCode| {
        Reply::Response(ResponseBody::LeaveGroup(LeaveGroupResponse {
            error_code: code.code(),
            ..Default::default()
        }))
    };
    if req.group_id.is_empty() {
        return Handled::reply(top(ErrorCode::INVALID_GROUP_ID));
    }
    let d = groups.leave(ctx.now, &req.group_id, &leaving);
    let s = groups.write(d, storage, ctx.now);
    let v = ctx.version;
    Handled::group(s, |r| match r {
        // The whole request failed.
        Err(code) => top(code),
        Ok(codes) if v < 3 => top(codes.first().copied().unwrap_or_default()),
        Ok(codes) => Reply::Response(ResponseBody::LeaveGroup(LeaveGroupResponse {
            throttle_time_ms: 0,
            error_code: 0,
            members: leaving
                .into_iter()
                .zip(codes)
                .map(|((member_id, group_instance_id), code)| MemberResponse {
                    member_id,
                    group_instance_id,
                    error_code: code.code(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })),
    })
}
