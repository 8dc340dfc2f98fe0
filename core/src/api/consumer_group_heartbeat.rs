//! ConsumerGroupHeartbeat (key 68): the KIP-848 consumer protocol, where
//! the broker computes assignments and a member only heartbeats. See
//! [`crate::coordinator::group::consumer`] for epochs and reconciliation.
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
//! join again. When the group's records cannot be written, the heartbeat
//! is NOT_COORDINATOR and the group is as it was before it.

use bytestring::ByteString;

use crate::coordinator::group::consumer::{Assign, HeartbeatArgs, HeartbeatOutcome, TopicMeta};
use crate::coordinator::group::GroupCoordinator;
use crate::protocol::messages::consumer_group_heartbeat_request::ConsumerGroupHeartbeatRequest;
use crate::protocol::messages::consumer_group_heartbeat_response::{
    Assignment, ConsumerGroupHeartbeatResponse, TopicPartitions,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::controller::Controller;
use crate::storage::Storage;

use super::{Ctx, Handled, Reply};

/// Runs a ConsumerGroupHeartbeat request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    groups: &mut GroupCoordinator,
    mut ctl: Controller<'_, S>,
    req: ConsumerGroupHeartbeatRequest,
) -> Handled {
    let interval = groups.config().consumer_heartbeat_interval_ms;
    let respond = move |out: HeartbeatOutcome| {
        Reply::Response(ResponseBody::ConsumerGroupHeartbeat(response(
            out, interval,
        )))
    };
    let (group_id, args) = match check(ctx, &mut ctl, req) {
        Ok(checked) => checked,
        Err(out) => return Handled::reply(respond(out)),
    };
    let cluster = &*ctl.cluster;
    let topics = || -> Vec<TopicMeta> {
        cluster
            .topics
            .values()
            .map(|t| (t.name.as_str().into(), t.id, t.partitions.len() as i32))
            .collect()
    };
    let d = groups.consumer_heartbeat(ctx.now, &group_id, args, &topics);
    let s = groups.write(d, ctl.storage, ctx.now);
    Handled::group(s, |r| {
        respond(r.unwrap_or_else(|code| {
            // Kafka's message for the exception a failed append becomes.
            HeartbeatOutcome::error(code, "This is not the correct coordinator.")
        }))
    })
}

fn response(out: HeartbeatOutcome, interval: i32) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse {
        throttle_time_ms: 0,
        error_code: out.error.code(),
        error_message: out.message.map(Into::into),
        member_id: (out.error == ErrorCode::NONE).then_some(out.member_id),
        member_epoch: out.epoch,
        heartbeat_interval_ms: if out.error == ErrorCode::NONE {
            interval
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

/// Kafka's checks of the request, then what the group is asked.
fn check<S: Storage>(
    ctx: &Ctx,
    ctl: &mut Controller<'_, S>,
    req: ConsumerGroupHeartbeatRequest,
) -> Result<(ByteString, HeartbeatArgs), HeartbeatOutcome> {
    let invalid = |m: &str| HeartbeatOutcome::error(ErrorCode::INVALID_REQUEST, m);
    if req.group_id.is_empty() {
        return Err(invalid("GroupId can't be empty."));
    }
    if req.member_epoch < -2 {
        return Err(invalid("MemberEpoch is invalid."));
    }
    let mut member_id = req.member_id.clone();
    if member_id.is_empty() {
        if ctx.version >= 1 || req.member_epoch != 0 {
            return Err(invalid("MemberId can't be empty."));
        }
        member_id = ctl.ids.uuid_text().into();
    }
    if req.member_epoch == 0 {
        if req.rebalance_timeout_ms == -1 {
            return Err(invalid(
                "RebalanceTimeoutMs must be provided in first request.",
            ));
        }
        if req.topic_partitions.is_none() {
            return Err(invalid("TopicPartitions must be empty when (re-)joining."));
        }
        if req.subscribed_topic_names.is_none() && req.subscribed_topic_regex.is_none() {
            return Err(invalid(
                "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
            ));
        }
    }
    if let Err(code) = ctl.ensure_offsets_topic(ctx.now) {
        return Err(HeartbeatOutcome::error(
            code,
            "cannot create __consumer_offsets",
        ));
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
        client_host: ctx.client_host(),
    };
    Ok((req.group_id, args))
}
