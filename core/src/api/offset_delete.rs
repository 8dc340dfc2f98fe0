//! OffsetDelete (key 47): delete some committed offsets of a group.
//!
//! As Kafka: an unknown group is GROUP_ID_NOT_FOUND; a group with members
//! that is not a consumer group is NON_EMPTY_GROUP; per partition, an
//! unknown topic is UNKNOWN_TOPIC_OR_PARTITION and a topic some member of
//! the group subscribes to is GROUP_SUBSCRIBED_TO_TOPIC. The others are
//! deleted with tombstones in `__consumer_offsets` (NOT_COORDINATOR, and
//! nothing deleted, when they cannot be written). A consumer group
//! (KIP-848) keeps the offsets of topics a member subscribes to, as Kafka's
//! does.

use bytestring::ByteString;

use crate::coordinator::group::GroupCoordinator;
use crate::protocol::messages::offset_delete_request::OffsetDeleteRequest;
use crate::protocol::messages::offset_delete_response::{
    OffsetDeleteResponse, OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::cluster::Cluster;
use crate::storage::Storage;

use super::authz::Checks;
use super::{Ctx, Handled, Reply};
use crate::security::acl::{Authorizer, Operation};

/// Runs an OffsetDelete request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    groups: &mut GroupCoordinator,
    cluster: &Cluster,
    storage: &mut S,
    az: &Authorizer<'_>,
    req: OffsetDeleteRequest,
) -> Handled {
    let top = |code: ErrorCode| {
        Reply::Response(ResponseBody::OffsetDelete(OffsetDeleteResponse {
            error_code: code.code(),
            ..Default::default()
        }))
    };
    // Kafka's checks: DELETE on the group (in `authz::gate`), READ on each
    // topic; a topic that may not be read is left alone.
    let readable = |t: &str| az.topic(Operation::Read, t);
    if req.group_id.is_empty() {
        return Handled::reply(top(ErrorCode::INVALID_GROUP_ID));
    }
    let partitions: Vec<(ByteString, i32)> = req
        .topics
        .iter()
        .filter(|t| readable(&t.name))
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.clone(), p.partition_index))
        })
        .collect();
    let exists = |t: &str, p: i32| cluster.partition_epoch(t, p).is_some();
    let d = groups.delete_offsets(&req.group_id, &partitions, &exists);
    let s = groups.write(d, storage, ctx.now);
    Handled::group(s, |r| match r {
        Err(code) | Ok(Err(code)) => top(code),
        Ok(Ok(codes)) => {
            let mut codes = codes.into_iter();
            let topics = req
                .topics
                .iter()
                .map(|t| OffsetDeleteResponseTopic {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| OffsetDeleteResponsePartition {
                            partition_index: p.partition_index,
                            error_code: if readable(&t.name) {
                                codes.next().unwrap_or_default().code()
                            } else {
                                ErrorCode::TOPIC_AUTHORIZATION_FAILED.code()
                            },
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect();
            Reply::Response(ResponseBody::OffsetDelete(OffsetDeleteResponse {
                error_code: 0,
                throttle_time_ms: 0,
                topics,
                ..Default::default()
            }))
        }
    })
}
