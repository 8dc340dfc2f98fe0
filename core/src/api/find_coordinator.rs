//! FindCoordinator (key 10): which broker coordinates a group (or a
//! transactional id).
//!
//! # Wire
//!
//! v0-3 ask for one key (v0 always a group; v1 adds the key type) and answer
//! with one node; v4+ ask for many keys at once and answer per key.
//!
//! # Behaviour
//!
//! Spate is its own coordinator for every group and every transactional
//! id: the answer is this broker's node id and advertised address. Asking
//! creates `__consumer_offsets` (a group, key type 0) or
//! `__transaction_state` (a transactional id, key type 1), as Kafka does on
//! first use; other key types (share groups, 2) get INVALID_REQUEST.

use bytestring::ByteString;

use crate::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use crate::protocol::messages::find_coordinator_response::{Coordinator, FindCoordinatorResponse};
use crate::protocol::ErrorCode;
use crate::state::controller::Controller;
use crate::state::Config;
use crate::storage::Storage;

use super::Ctx;

/// Key type of a consumer group.
const GROUP: i8 = 0;
/// Key type of a transactional id.
const TRANSACTION: i8 = 1;

/// Runs a FindCoordinator request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    mut ctl: Controller<'_, S>,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    if ctx.version >= 4 {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| find(config, &mut ctl, ctx, k.clone(), req.key_type))
            .collect();
        return FindCoordinatorResponse {
            coordinators,
            ..Default::default()
        };
    }
    let c = find(config, &mut ctl, ctx, req.key.clone(), req.key_type);
    FindCoordinatorResponse {
        throttle_time_ms: 0,
        error_code: c.error_code,
        error_message: if ctx.version >= 1 {
            c.error_message
        } else {
            None
        },
        node_id: c.node_id,
        host: c.host,
        port: c.port,
        ..Default::default()
    }
}

fn find<S: Storage>(
    config: &Config,
    ctl: &mut Controller<'_, S>,
    ctx: &Ctx,
    key: ByteString,
    key_type: i8,
) -> Coordinator {
    let fail = |key: ByteString, code: ErrorCode, message: &str| Coordinator {
        key,
        node_id: -1,
        host: ByteString::new(),
        port: -1,
        error_code: code.code(),
        error_message: Some(message.into()),
        ..Default::default()
    };
    match key_type {
        GROUP => {}
        TRANSACTION => {
            if let Err(code) = ctl.ensure_transaction_topic(ctx.now) {
                return fail(key, code, "cannot create __transaction_state");
            }
            return Coordinator {
                key,
                node_id: config.node_id,
                host: config.advertised_host.as_str().into(),
                port: config.advertised_port,
                error_code: 0,
                error_message: None,
                ..Default::default()
            };
        }
        other => {
            return fail(
                key,
                ErrorCode::INVALID_REQUEST,
                &format!("unknown coordinator key type {other}"),
            )
        }
    }
    if let Err(code) = ctl.ensure_offsets_topic(ctx.now) {
        return fail(key, code, "cannot create __consumer_offsets");
    }
    Coordinator {
        key,
        node_id: config.node_id,
        host: config.advertised_host.as_str().into(),
        port: config.advertised_port,
        error_code: 0,
        error_message: None,
        ..Default::default()
    }
}
