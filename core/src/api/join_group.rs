//! JoinGroup (key 11): a member joins a classic group, or rejoins it for a
//! rebalance. See [`crate::coordinator::group::classic`] for the protocol.
//!
//! # Versions
//!
//! - v0 has no rebalance timeout (the session timeout serves as both).
//! - v4+: a member without an id is given one with MEMBER_ID_REQUIRED and
//!   must ask again with it.
//! - v5+: static membership (`group_instance_id`).
//! - v7+: the response names the protocol type, and the protocol may be null.
//! - v8+: the request carries a reason (kept for logs; Spate ignores it).
//! - v9+: `skip_assignment` for a static leader rejoining a stable group.
//!
//! The answer is held until the rebalance completes, except for errors and
//! for rejoins the coordinator can answer at once. When the records of a
//! decision cannot be written, the request gets Kafka's error for that
//! (NOT_COORDINATOR) and the group is as it was.

use crate::coordinator::group::classic::{JoinArgs, JoinResult};
use crate::coordinator::group::GroupCoordinator;
use crate::coordinator::Waiter;
use crate::protocol::messages::join_group_request::JoinGroupRequest;
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::controller::Controller;
use crate::storage::Storage;

use super::{Ctx, Handled, Reply};

/// Runs a JoinGroup request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    groups: &mut GroupCoordinator,
    mut ctl: Controller<'_, S>,
    req: JoinGroupRequest,
) -> Handled {
    let v = ctx.version;
    let respond = |r: JoinResult| Handled::respond(ResponseBody::JoinGroup(r.response(v)));
    if req.group_id.is_empty() {
        return respond(JoinResult::error(
            ErrorCode::INVALID_GROUP_ID,
            req.member_id,
        ));
    }
    if let Err(code) = ctl.ensure_offsets_topic(ctx.now) {
        return respond(JoinResult::error(code, req.member_id));
    }
    let cfg = groups.config();
    if req.session_timeout_ms < cfg.min_session_timeout_ms
        || req.session_timeout_ms > cfg.max_session_timeout_ms
    {
        return respond(JoinResult::error(
            ErrorCode::INVALID_SESSION_TIMEOUT,
            req.member_id,
        ));
    }
    let member_id = req.member_id.clone();
    let args = JoinArgs {
        member_id: req.member_id,
        instance_id: if v >= 5 { req.group_instance_id } else { None },
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if v == 0 {
            req.session_timeout_ms
        } else {
            req.rebalance_timeout_ms
        },
        protocol_type: req.protocol_type,
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name, p.metadata))
            .collect(),
        require_known_member_id: v >= 4,
        version: v,
    };
    let waiter = Waiter {
        conn: ctx.conn,
        version: v,
    };
    let d = groups.join(ctx.now, &req.group_id, args, waiter, ctl.ids);
    let s = groups.write(d, ctl.storage, ctx.now);
    Handled::group(s, |r| match r {
        Ok(Some(r)) => Reply::Response(ResponseBody::JoinGroup(r.response(v))),
        Ok(None) => Reply::Hold,
        Err(code) => Reply::Response(ResponseBody::JoinGroup(
            JoinResult::error(code, member_id).response(v),
        )),
    })
}
