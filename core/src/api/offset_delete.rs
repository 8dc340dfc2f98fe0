//! OffsetDelete (key 47): delete some committed offsets of a group.
//!
//! As Kafka: an unknown group is GROUP_ID_NOT_FOUND; a group with members
//! that is not a consumer group is NON_EMPTY_GROUP; per partition, an
//! unknown topic is UNKNOWN_TOPIC_OR_PARTITION and a topic some member of
//! the group subscribes to is GROUP_SUBSCRIBED_TO_TOPIC. The others are
//! deleted with tombstones in `__consumer_offsets`.

use crate::broker::Broker;
use crate::group::{Effects, State};
use crate::protocol::messages::offset_delete_request::OffsetDeleteRequest;
use crate::protocol::messages::offset_delete_response::{
    OffsetDeleteResponse, OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use crate::protocol::ErrorCode;
use crate::storage::Storage;

use super::Ctx;

/// Runs an OffsetDelete request.
pub(crate) fn handle<S: Storage>(
    b: &mut Broker<S>,
    ctx: &Ctx,
    req: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let top = |code: ErrorCode| OffsetDeleteResponse {
        error_code: code.code(),
        ..Default::default()
    };
    if req.group_id.is_empty() {
        return top(ErrorCode::INVALID_GROUP_ID);
    }
    let Some(g) = b
        .groups
        .groups
        .get(&req.group_id)
        .filter(|g| g.state != State::Dead)
    else {
        return top(ErrorCode::GROUP_ID_NOT_FOUND);
    };
    let active = g.state != State::Empty;
    if active && g.protocol_type.as_deref() != Some("consumer") {
        return top(ErrorCode::NON_EMPTY_GROUP);
    }
    let mut fx = Effects::default();
    let mut deleted = Vec::new();
    let topics = req
        .topics
        .iter()
        .map(|t| OffsetDeleteResponseTopic {
            name: t.name.clone(),
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    let code = if b.partition_epoch(&t.name, p.partition_index).is_none() {
                        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                    } else if active && g.subscribed(&t.name) {
                        ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC
                    } else {
                        if g.offsets.contains_key(&(t.name.clone(), p.partition_index)) {
                            fx.offset(&req.group_id, &t.name, p.partition_index, None);
                            deleted.push((t.name.clone(), p.partition_index));
                        }
                        ErrorCode::NONE
                    };
                    OffsetDeleteResponsePartition {
                        partition_index: p.partition_index,
                        error_code: code.code(),
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    b.groups.absorb(&req.group_id, fx);
    if let Err(code) = b.flush_group_writes(ctx.now) {
        return top(code);
    }
    if let Some(g) = b.groups.groups.get_mut(&req.group_id) {
        for k in deleted {
            g.offsets.remove(&k);
        }
    }
    OffsetDeleteResponse {
        error_code: 0,
        throttle_time_ms: 0,
        topics,
        ..Default::default()
    }
}
