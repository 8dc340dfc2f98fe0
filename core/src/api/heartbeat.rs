//! Heartbeat (key 12): a member of a classic group says it is alive, and
//! learns whether a rebalance is under way (REBALANCE_IN_PROGRESS: rejoin).
//!
//! Errors as Kafka's: UNKNOWN_MEMBER_ID for a member (or group) the
//! coordinator does not know, ILLEGAL_GENERATION for a stale generation,
//! FENCED_INSTANCE_ID for a static member replaced by a newer instance (v3+
//! carry `group_instance_id`).

use crate::coordinator::group::GroupCoordinator;
use crate::protocol::messages::heartbeat_request::HeartbeatRequest;
use crate::protocol::messages::heartbeat_response::HeartbeatResponse;
use crate::protocol::{ErrorCode, ResponseBody};
use crate::storage::Storage;

use super::{Ctx, Handled, Reply};

/// Runs a Heartbeat request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    groups: &mut GroupCoordinator,
    storage: &mut S,
    req: HeartbeatRequest,
) -> Handled {
    let respond = |code: ErrorCode| {
        Reply::Response(ResponseBody::Heartbeat(HeartbeatResponse {
            throttle_time_ms: 0,
            error_code: code.code(),
            ..Default::default()
        }))
    };
    if req.group_id.is_empty() {
        return Handled::reply(respond(ErrorCode::INVALID_GROUP_ID));
    }
    let instance = if ctx.version >= 3 {
        req.group_instance_id.as_deref()
    } else {
        None
    };
    let d = groups.heartbeat(
        ctx.now,
        &req.group_id,
        &req.member_id,
        instance,
        req.generation_id,
    );
    let s = groups.write(d, storage, ctx.now);
    Handled::group(s, |r| respond(r.unwrap_or_else(|code| code)))
}
