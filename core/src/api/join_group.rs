//! JoinGroup (key 11): a member joins a classic group, or rejoins it for a
//! rebalance. See [`crate::group::classic`] for the protocol.
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
//! for rejoins the coordinator can answer at once.

use crate::broker::Broker;
use crate::group::classic::JoinArgs;
use crate::group::{JoinResult, Waiter};
use crate::protocol::messages::join_group_request::JoinGroupRequest;
use crate::protocol::messages::join_group_response::JoinGroupResponse;
use crate::protocol::{ErrorCode, ResponseBody};
use crate::storage::Storage;

use super::{Ctx, Reply};

/// Runs a JoinGroup request.
pub(crate) fn handle<S: Storage>(b: &mut Broker<S>, ctx: &Ctx, req: JoinGroupRequest) -> Reply {
    let v = ctx.version;
    let fail = |code: ErrorCode, member_id| {
        Reply::Response(ResponseBody::JoinGroup(response(
            v,
            JoinResult::error(code, member_id),
        )))
    };
    if req.group_id.is_empty() {
        return fail(ErrorCode::INVALID_GROUP_ID, req.member_id);
    }
    if let Err(code) = b.ensure_offsets_topic(ctx.now) {
        return fail(code, req.member_id);
    }
    let cfg = &b.config.groups;
    if req.session_timeout_ms < cfg.min_session_timeout_ms
        || req.session_timeout_ms > cfg.max_session_timeout_ms
    {
        return fail(ErrorCode::INVALID_SESSION_TIMEOUT, req.member_id);
    }
    let client_host = b
        .peer(ctx.conn)
        .map(|p| client_host(&p.addr))
        .unwrap_or_default();
    let args = JoinArgs {
        member_id: req.member_id,
        instance_id: if v >= 5 { req.group_instance_id } else { None },
        client_id: ctx.client_id.clone(),
        client_host: client_host.into(),
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
    match b.group_join(&req.group_id, args, waiter, ctx.now) {
        Some(result) => Reply::Response(ResponseBody::JoinGroup(response(v, result))),
        None => Reply::Hold,
    }
}

/// Kafka's form of a client address: `/` and the IP, without the port.
pub(crate) fn client_host(addr: &str) -> String {
    let ip = match addr.rsplit_once(':') {
        Some((ip, _)) => ip.trim_start_matches('[').trim_end_matches(']'),
        None => addr,
    };
    format!("/{ip}")
}

/// The response to a JoinGroup of version `v`.
pub(crate) fn response(v: i16, r: JoinResult) -> JoinGroupResponse {
    let members = r
        .members
        .into_iter()
        .map(|mut m| {
            if v < 5 {
                m.group_instance_id = None;
            }
            m
        })
        .collect();
    JoinGroupResponse {
        throttle_time_ms: 0,
        error_code: r.error.code(),
        generation_id: r.generation,
        protocol_type: if v >= 7 { r.protocol_type } else { None },
        protocol_name: match r.protocol_name {
            Some(n) => Some(n),
            None if v >= 7 => None,
            None => Some("".into()),
        },
        leader: r.leader,
        skip_assignment: v >= 9 && r.skip_assignment,
        member_id: r.member_id,
        members,
        ..Default::default()
    }
}
