//! DeleteRecords (key 21): move partitions' log start offsets forward,
//! dropping the records below them.
//!
//! # Wire
//!
//! Request: topics with partitions (index, offset to delete before; -1
//! means the high watermark), timeout. Response: throttle time, and per
//! partition its index, the new low watermark (log start offset), error.
//!
//! # Versions
//!
//! 0-2, all alike (v2 is flexible). As in Kafka: an unknown topic or
//! partition is UNKNOWN_TOPIC_OR_PARTITION; an internal topic
//! (`__consumer_offsets`, `__transaction_state`) INVALID_TOPIC_EXCEPTION; a
//! topic whose `cleanup.policy` lacks `delete` POLICY_VIOLATION; an offset
//! below 0 or above the high watermark OFFSET_OUT_OF_RANGE. Errors carry a
//! low watermark of -1. An offset at or below the log start changes
//! nothing. Storage drops whole batches below the offset; the batch that
//! holds it stays, hidden below the new log start.
//!
//! # Leadership
//!
//! In ZooKeeper mode a partition this broker does not lead is
//! NOT_LEADER_OR_FOLLOWER ([`crate::state::cluster::Cluster::lead`]); a
//! single broker leads every partition it knows.
//!
//! With an authorizer a topic the caller may not DELETE is
//! TOPIC_AUTHORIZATION_FAILED and nothing is deleted from it, as in Kafka.

use super::authz::Checks;
use crate::protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsRequest,
};
use crate::protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsResponse, DeleteRecordsTopicResult,
};
use crate::protocol::ErrorCode;
use crate::security::acl::{Authorizer, Operation};
use crate::state::cluster::Cluster;
use crate::storage::{Storage, TopicPartition};

/// Runs a DeleteRecords request.
pub(crate) fn handle<S: Storage>(
    cluster: &Cluster,
    storage: &mut S,
    az: &Authorizer<'_>,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| DeleteRecordsTopicResult {
            name: t.name.clone(),
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    // Kafka's check: DELETE on the topic.
                    let deleted = if az.topic(Operation::Delete, &t.name) {
                        delete(cluster, storage, &t.name, p)
                    } else {
                        Err(ErrorCode::TOPIC_AUTHORIZATION_FAILED)
                    };
                    let (low_watermark, code) = match deleted {
                        Ok(low) => (low, ErrorCode::NONE),
                        Err(code) => (-1, code),
                    };
                    DeleteRecordsPartitionResult {
                        partition_index: p.partition_index,
                        low_watermark,
                        error_code: code.code(),
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    DeleteRecordsResponse {
        throttle_time_ms: 0,
        topics,
        ..Default::default()
    }
}

/// Deletes below one partition's requested offset; the new low watermark.
fn delete<S: Storage>(
    cluster: &Cluster,
    storage: &mut S,
    topic: &str,
    p: &DeleteRecordsPartition,
) -> Result<i64, ErrorCode> {
    let Some(t) = cluster
        .topic(topic)
        .filter(|t| t.has_partition(p.partition_index))
    else {
        return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    };
    if t.is_internal() {
        return Err(ErrorCode::INVALID_TOPIC_EXCEPTION);
    }
    cluster.lead_in(t, p.partition_index).here()?;
    if !t.config.cleanup_policy.delete {
        return Err(ErrorCode::POLICY_VIOLATION);
    }
    let tp = TopicPartition::new(topic, p.partition_index);
    // The log end, or below it while followers of a partition led here
    // have not caught up.
    let high_watermark = cluster.high_watermark(storage, &tp);
    let offset = if p.offset == -1 {
        high_watermark
    } else {
        p.offset
    };
    if offset < 0 || offset > high_watermark {
        return Err(ErrorCode::OFFSET_OUT_OF_RANGE);
    }
    if offset > storage.start_offset(&tp) {
        storage
            .delete_before(&tp, offset)
            .map_err(|_| ErrorCode::KAFKA_STORAGE_ERROR)?;
    }
    Ok(storage.start_offset(&tp))
}
