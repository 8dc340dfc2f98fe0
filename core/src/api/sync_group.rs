//! SyncGroup (key 14): members of a classic group collect their share of
//! the assignment the leader sends. See [`crate::group::classic`].
//!
//! # Versions
//!
//! v3+ carry `group_instance_id`; v5+ name the protocol type and name, which
//! must match the group's (INCONSISTENT_GROUP_PROTOCOL otherwise), and the
//! response names them too. Answers are held until the leader's SyncGroup
//! arrives.

use crate::broker::Broker;
use crate::group::{SyncResult, Waiter};
use crate::protocol::messages::sync_group_request::SyncGroupRequest;
use crate::protocol::messages::sync_group_response::SyncGroupResponse;
use crate::protocol::{ErrorCode, ResponseBody};
use crate::storage::Storage;

use super::{Ctx, Reply};

/// Runs a SyncGroup request.
pub(crate) fn handle<S: Storage>(b: &mut Broker<S>, ctx: &Ctx, req: SyncGroupRequest) -> Reply {
    let v = ctx.version;
    let waiter = Waiter {
        conn: ctx.conn,
        version: v,
    };
    let instance = if v >= 3 {
        req.group_instance_id.as_deref()
    } else {
        None
    };
    let (ptype, pname) = if v >= 5 {
        (req.protocol_type.as_deref(), req.protocol_name.as_deref())
    } else {
        (None, None)
    };
    let assignments = req
        .assignments
        .iter()
        .map(|a| (a.member_id.clone(), a.assignment.clone()))
        .collect();
    let now = ctx.now;
    let result = if req.group_id.is_empty() {
        Some(SyncResult::error(ErrorCode::INVALID_GROUP_ID))
    } else {
        b.with_group(&req.group_id, |g, _, fx| {
            g.sync(
                &req.member_id,
                instance,
                req.generation_id,
                ptype,
                pname,
                assignments,
                waiter,
                now,
                fx,
            )
        })
        .unwrap_or_else(|| Some(SyncResult::error(ErrorCode::UNKNOWN_MEMBER_ID)))
    };
    match result {
        Some(r) => Reply::Response(ResponseBody::SyncGroup(response(v, r))),
        None => Reply::Hold,
    }
}

/// The response to a SyncGroup of version `v`.
pub(crate) fn response(v: i16, r: SyncResult) -> SyncGroupResponse {
    SyncGroupResponse {
        throttle_time_ms: 0,
        error_code: r.error.code(),
        protocol_type: if v >= 5 { r.protocol_type } else { None },
        protocol_name: if v >= 5 { r.protocol_name } else { None },
        assignment: r.assignment,
        ..Default::default()
    }
}
