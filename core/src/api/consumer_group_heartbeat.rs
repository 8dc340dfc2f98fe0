//! ConsumerGroupHeartbeat (key 68): the KIP-848 consumer protocol, where
//! the broker computes assignments and a member only heartbeats. See
//! [`crate::group::consumer`] for epochs and reconciliation.
//!
//! # Versions
//!
//! v0 lets the broker name a joining member (empty member id at epoch 0);
//! from v1 the member names itself and an empty id is INVALID_REQUEST. v1
//! also carries `subscribed_topic_regex`.
//!
//! # Checks (Kafka's)
//!
//! Empty group id, a join (epoch 0) without rebalance timeout, subscription
//! or owned partitions, or an epoch below -2: INVALID_REQUEST. A group
//! that is a classic group with members: GROUP_ID_NOT_FOUND ("not a
//! consumer group"), as Kafka answers when it does not convert groups
//! between protocols. An empty classic group (one holding only offsets)
//! becomes a consumer group. A heartbeat for a member the broker does not
//! know (say after a restart) is UNKNOWN_MEMBER_ID, which makes the client
//! join again.

use bytestring::ByteString;

use crate::broker::Broker;
use crate::group::consumer::{Assign, HeartbeatArgs, HeartbeatOutcome};
use crate::protocol::messages::consumer_group_heartbeat_request::ConsumerGroupHeartbeatRequest;
use crate::protocol::messages::consumer_group_heartbeat_response::{
    Assignment, ConsumerGroupHeartbeatResponse, TopicPartitions,
};
use crate::protocol::ErrorCode;
use crate::storage::Storage;

use super::Ctx;

/// Runs a ConsumerGroupHeartbeat request.
pub(crate) fn handle<S: Storage>(
    b: &mut Broker<S>,
    ctx: &Ctx,
    req: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let out = run(b, ctx, req);
    ConsumerGroupHeartbeatResponse {
        throttle_time_ms: 0,
        error_code: out.error.code(),
        error_message: out.message.map(Into::into),
        member_id: (out.error == ErrorCode::NONE).then_some(out.member_id),
        member_epoch: out.epoch,
        heartbeat_interval_ms: if out.error == ErrorCode::NONE {
            b.config.groups.consumer_heartbeat_interval_ms
        } else {
            0
        },
        assignment: out.assignment.map(|a| Assignment {
            topic_partitions: a
                .into_iter()
                .map(|(topic_id, ps)| TopicPartitions {
                    topic_id,
                    partitions: ps.into_iter().collect::<Vec<i32>>().into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn run<S: Storage>(
    b: &mut Broker<S>,
    ctx: &Ctx,
    req: ConsumerGroupHeartbeatRequest,
) -> HeartbeatOutcome {
    let invalid = |m: &str| HeartbeatOutcome::error(ErrorCode::INVALID_REQUEST, m);
    if req.group_id.is_empty() {
        return invalid("GroupId can't be empty.");
    }
    if req.member_epoch < -2 {
        return invalid("MemberEpoch is invalid.");
    }
    let mut member_id = req.member_id.clone();
    if member_id.is_empty() {
        if ctx.version >= 1 || req.member_epoch != 0 {
            return invalid("MemberId can't be empty.");
        }
        member_id = b.new_member_id();
    }
    if req.member_epoch == 0 {
        if req.rebalance_timeout_ms == -1 {
            return invalid("RebalanceTimeoutMs must be provided in first request.");
        }
        if req.topic_partitions.is_none() {
            return invalid("TopicPartitions must be empty when (re-)joining.");
        }
        if req.subscribed_topic_names.is_none() && req.subscribed_topic_regex.is_none() {
            return invalid(
                "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
            );
        }
    }
    if let Err(code) = b.ensure_offsets_topic(ctx.now) {
        return HeartbeatOutcome::error(code, "cannot create __consumer_offsets");
    }
    let owned = req.topic_partitions.as_ref().map(|tps| {
        let mut a = Assign::new();
        for tp in tps {
            a.entry(tp.topic_id)
                .or_default()
                .extend(tp.partitions.iter());
        }
        a.retain(|_, ps| !ps.is_empty());
        a
    });
    let client_host = b
        .peer(ctx.conn)
        .map(|p| super::join_group::client_host(&p.addr))
        .unwrap_or_default();
    let args = HeartbeatArgs {
        member_id,
        epoch: req.member_epoch,
        instance_id: req.instance_id,
        rack_id: req.rack_id,
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed: req.subscribed_topic_names,
        regex: if ctx.version >= 1 {
            req.subscribed_topic_regex
        } else {
            None
        },
        assignor: req.server_assignor,
        owned,
        client_id: ctx.client_id.clone(),
        client_host: ByteString::from(client_host),
    };
    b.consumer_heartbeat(&req.group_id, args, ctx.now)
}
