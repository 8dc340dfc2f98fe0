//! SyncGroup (key 14): members of a classic group collect their share of
//! the assignment the leader sends. See [`crate::coordinator::group::classic`].
//!
//! # Versions
//!
//! v3+ carry `group_instance_id`; v5+ name the protocol type and name, which
//! must match the group's (INCONSISTENT_GROUP_PROTOCOL otherwise), and the
//! response names them too. Answers are held until the leader's SyncGroup
//! arrives; the leader's assignment is written to `__consumer_offsets`
//! before anyone gets it, and when it cannot be, every member waiting gets
//! NOT_COORDINATOR and the group is as it was.

use crate::coordinator::group::classic::{SyncArgs, SyncResult};
use crate::coordinator::group::GroupCoordinator;
use crate::coordinator::Waiter;
use crate::protocol::messages::sync_group_request::SyncGroupRequest;
use crate::protocol::{ErrorCode, ResponseBody};
use crate::storage::Storage;

use super::{Ctx, Handled, Reply};

/// Runs a SyncGroup request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    groups: &mut GroupCoordinator,
    storage: &mut S,
    req: SyncGroupRequest,
) -> Handled {
    let v = ctx.version;
    let respond = move |r: SyncResult| Reply::Response(ResponseBody::SyncGroup(r.response(v)));
    if req.group_id.is_empty() {
        return Handled::reply(respond(SyncResult::error(ErrorCode::INVALID_GROUP_ID)));
    }
    let waiter = Waiter {
        conn: ctx.conn,
        version: v,
    };
    let (protocol_type, protocol_name) = if v >= 5 {
        (req.protocol_type, req.protocol_name)
    } else {
        (None, None)
    };
    let args = SyncArgs {
        member_id: req.member_id,
        instance_id: if v >= 3 { req.group_instance_id } else { None },
        generation: req.generation_id,
        protocol_type,
        protocol_name,
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id, a.assignment))
            .collect(),
    };
    let d = groups.sync(ctx.now, &req.group_id, args, waiter);
    let s = groups.write(d, storage, ctx.now);
    Handled::group(s, |r| match r {
        Ok(Some(r)) => respond(r),
        Ok(None) => Reply::Hold,
        Err(code) => respond(SyncResult::error(code)),
    })
}
