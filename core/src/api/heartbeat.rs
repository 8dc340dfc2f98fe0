//! Heartbeat (key 12): a member of a classic group says it is alive, and
//! learns whether a rebalance is under way (REBALANCE_IN_PROGRESS: rejoin).
//!
//! Errors as Kafka's: UNKNOWN_MEMBER_ID for a member (or group) the
//! coordinator does not know, ILLEGAL_GENERATION for a stale generation,
//! FENCED_INSTANCE_ID for a static member replaced by a newer instance (v3+
//! carry `group_instance_id`).

use crate::broker::Broker;
use crate::protocol::messages::heartbeat_request::HeartbeatRequest;
use crate::protocol::messages::heartbeat_response::HeartbeatResponse;
use crate::protocol::ErrorCode;
use crate::storage::Storage;

use super::Ctx;

/// Runs a Heartbeat request.
pub(crate) fn handle<S: Storage>(
    b: &mut Broker<S>,
    ctx: &Ctx,
    req: HeartbeatRequest,
) -> HeartbeatResponse {
    let instance = if ctx.version >= 3 {
        req.group_instance_id.as_deref()
    } else {
        None
    };
    let now = ctx.now;
    let code = if req.group_id.is_empty() {
        ErrorCode::INVALID_GROUP_ID
    } else {
        b.with_group(&req.group_id, |g, _, _| {
            g.heartbeat(&req.member_id, instance, req.generation_id, now)
        })
        .unwrap_or(ErrorCode::UNKNOWN_MEMBER_ID)
    };
    HeartbeatResponse {
        throttle_time_ms: 0,
        error_code: code.code(),
        ..Default::default()
    }
}
