//! LeaveGroup (key 13): members leave a classic group, which starts a
//! rebalance for the rest.
//!
//! v0-2 name one member; v3+ name several (by member id and/or
//! `group_instance_id`) and answer per member, with the top-level error
//! set only when the whole request failed. An unknown group is
//! UNKNOWN_MEMBER_ID (v0-2) or, per member, the same (v3+).

use crate::broker::Broker;
use crate::protocol::messages::leave_group_request::LeaveGroupRequest;
use crate::protocol::messages::leave_group_response::{LeaveGroupResponse, MemberResponse};
use crate::protocol::ErrorCode;
use crate::storage::Storage;

use super::Ctx;

/// Runs a LeaveGroup request.
pub(crate) fn handle<S: Storage>(
    b: &mut Broker<S>,
    ctx: &Ctx,
    req: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let now = ctx.now;
    let leaving: Vec<(bytestring::ByteString, Option<bytestring::ByteString>)> = if ctx.version >= 3
    {
        req.members
            .iter()
            .map(|m| (m.member_id.clone(), m.group_instance_id.clone()))
            .collect()
    } else {
        vec![(req.member_id.clone(), None)]
    };
    if req.group_id.is_empty() {
        return LeaveGroupResponse {
            error_code: ErrorCode::INVALID_GROUP_ID.code(),
            ..Default::default()
        };
    }
    let codes: Vec<ErrorCode> = b
        .with_group(&req.group_id, |g, cfg, fx| {
            leaving
                .iter()
                .map(|(id, inst)| g.leave(id, inst.as_deref(), now, cfg, fx))
                .collect()
        })
        .unwrap_or_else(|| vec![ErrorCode::UNKNOWN_MEMBER_ID; leaving.len()]);
    if ctx.version < 3 {
        return LeaveGroupResponse {
            error_code: codes.first().copied().unwrap_or_default().code(),
            ..Default::default()
        };
    }
    LeaveGroupResponse {
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
    }
}
