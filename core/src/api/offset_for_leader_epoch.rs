//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch, which
//! consumers use to detect log truncation after a leader change.
//!
//! # Wire
//!
//! Request: replica id (v3+, -1 for consumers), topics with partitions
//! (index, current leader epoch (v2+), the epoch asked about). Response:
//! throttle time (v2+), and per partition its error, index, leader epoch
//! (v1+) and end offset.
//!
//! # Versions
//!
//! 0-4. Answered from the partition's leader epoch history, read from
//! the `partition_leader_epoch` of its batches ([`crate::state::epochs`]),
//! as Kafka's epoch cache answers: the latest epoch ends at the log end;
//! an older one that the log holds ends where the next higher epoch
//! starts; an epoch the log does not hold gets the largest epoch below it
//! with that one's end (below every known epoch: itself, ending where the
//! first starts); a newer one, or -1, is undefined (epoch -1, offset -1,
//! no error). The epoch this broker leads at counts as begun at the log
//! end when no batch carries it yet. A current leader epoch other than -1
//! is checked first: older than the partition's is FENCED_LEADER_EPOCH,
//! newer UNKNOWN_LEADER_EPOCH. An unknown topic or partition is
//! UNKNOWN_TOPIC_OR_PARTITION. A follower asks with its replica id (v3+)
//! to find where its log diverges from the leader's.
//!
//! # Leadership
//!
//! In ZooKeeper mode a partition this broker does not lead is
//! NOT_LEADER_OR_FOLLOWER ([`crate::state::cluster::Cluster::lead`]); a
//! single broker leads every partition it knows.
//!
//! With an authorizer a caller without CLUSTER_ACTION on the cluster needs
//! DESCRIBE on each topic (TOPIC_AUTHORIZATION_FAILED), as in Kafka.

use super::authz::Checks;
use crate::protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderEpochRequest, OffsetForLeaderPartition,
};
use crate::protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderEpochResponse, OffsetForLeaderTopicResult,
};
use crate::protocol::ErrorCode;
use crate::security::acl::{Authorizer, Operation};
use crate::state::cluster::Cluster;
use crate::state::epochs::Epochs;
use crate::storage::{Storage, TopicPartition};

/// Runs an OffsetForLeaderEpoch request.
pub(crate) fn handle<S: Storage>(
    cluster: &Cluster,
    storage: &S,
    epochs: &mut Epochs,
    az: &Authorizer<'_>,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    // Kafka's checks: CLUSTER_ACTION on the cluster (a follower), else
    // DESCRIBE on each topic.
    let replica = az.cluster(Operation::ClusterAction);
    let denied = |t: &str| !replica && !az.topic(Operation::Describe, t);
    let topics = req
        .topics
        .iter()
        .map(|t| OffsetForLeaderTopicResult {
            topic: t.topic.clone(),
            partitions: t
                .partitions
                .iter()
                .map(|p| match denied(&t.topic) {
                    true => EpochEndOffset {
                        error_code: ErrorCode::TOPIC_AUTHORIZATION_FAILED.code(),
                        partition: p.partition,
                        leader_epoch: -1,
                        end_offset: -1,
                        ..Default::default()
                    },
                    false => end_offset(cluster, storage, epochs, &t.topic, p),
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    OffsetForLeaderEpochResponse {
        throttle_time_ms: 0,
        topics,
        ..Default::default()
    }
}

/// One partition's answer.
fn end_offset<S: Storage>(
    cluster: &Cluster,
    storage: &S,
    epochs: &mut Epochs,
    topic: &str,
    p: &OffsetForLeaderPartition,
) -> EpochEndOffset {
    let answer = |code: ErrorCode, leader_epoch: i32, end_offset: i64| EpochEndOffset {
        error_code: code.code(),
        partition: p.partition,
        leader_epoch,
        end_offset,
        ..Default::default()
    };
    let epoch = match cluster.lead(topic, p.partition).here() {
        Ok(epoch) => epoch,
        Err(code) => return answer(code, -1, -1),
    };
    // Absent before v2, where it decodes as -1.
    if p.current_leader_epoch != -1 && p.current_leader_epoch < epoch {
        return answer(ErrorCode::FENCED_LEADER_EPOCH, -1, -1);
    }
    if p.current_leader_epoch > epoch {
        return answer(ErrorCode::UNKNOWN_LEADER_EPOCH, -1, -1);
    }
    let tp = TopicPartition::new(topic, p.partition);
    epochs.catch_up(storage, &tp);
    let range = (storage.start_offset(&tp), storage.end_offset(&tp));
    let (leader_epoch, end) = epochs.end_offset_for(&tp, p.leader_epoch, range, Some(epoch));
    answer(ErrorCode::NONE, leader_epoch, end)
}
