//! WriteTxnMarkers (key 27): write COMMIT or ABORT markers to partitions.
//!
//! Kafka's transaction coordinator sends it to partition leaders; Spate's
//! coordinator writes the markers of partitions led here itself and, in a
//! ZooKeeper cluster, sends the others to their leaders with this request
//! (`broker::markers`). It is also served for tools
//! (`kafka-transactions.sh abort`, `spate transactions abort`) that end a
//! hanging transaction by hand.
//!
//! # Versions
//!
//! 0-1, flexible from v1.
//!
//! # Behaviour (Kafka's)
//!
//! Per partition: UNKNOWN_TOPIC_OR_PARTITION for one that does not exist,
//! NOT_LEADER_OR_FOLLOWER for one led by another broker,
//! INVALID_PRODUCER_EPOCH for a marker older than the producer's epoch,
//! TRANSACTION_COORDINATOR_FENCED for one from an older coordinator epoch,
//! KAFKA_STORAGE_ERROR when the append fails. A marker in
//! `__consumer_offsets` also settles the offsets the transaction committed
//! there.
//!
//! Kafka appends markers with acks=-1 for at most `request.timeout.ms`, so
//! in a ZooKeeper cluster a partition is NONE only once its marker is in
//! every ISR replica: the answer is parked
//! ([`super::replicated::answer_when_replicated`]) until every
//! partition's wait ended, each with its own error: NOT_ENOUGH_REPLICAS
//! (fewer replicas in sync than `min.insync.replicas`: nothing appended),
//! NOT_ENOUGH_REPLICAS_AFTER_APPEND (the ISR shrank below it meanwhile),
//! NOT_LEADER_OR_FOLLOWER (leadership moved meanwhile), REQUEST_TIMED_OUT.
//! On a single broker, or for a partition without followers, the high
//! watermark is the log end and the answer goes at once.

use crate::coordinator::group::GroupCoordinator;
use crate::protocol::messages::write_txn_markers_request::WriteTxnMarkersRequest;
use crate::protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
    WriteTxnMarkersResponse,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::cluster::Cluster;
use crate::state::producers::{Marker, Producers};
use crate::state::Now;
use crate::storage::{Storage, TopicPartition};

use super::replicated::{answer_when_replicated, Wait};
use super::txn::write_marker_acks_all;
use super::{Answering, Handled};

/// Runs a WriteTxnMarkers request: the markers are appended now, the
/// answer sent once they are replicated or `timeout_ms` passed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn handle<S: Storage>(
    now: Now,
    answering: Answering,
    timeout_ms: i64,
    storage: &mut S,
    cluster: &Cluster,
    producers: &mut Producers,
    groups: &mut GroupCoordinator,
    req: WriteTxnMarkersRequest,
) -> Handled {
    let mut appended = Vec::new();
    let mut waits = Vec::new();
    let markers = req
        .markers
        .iter()
        .enumerate()
        .map(|(mi, m)| {
            let marker = Marker {
                producer_id: m.producer_id,
                producer_epoch: m.producer_epoch,
                coordinator_epoch: m.coordinator_epoch,
                commit: m.transaction_result,
            };
            let topics = m
                .topics
                .iter()
                .enumerate()
                .map(|(ti, t)| WritableTxnMarkerTopicResult {
                    name: t.name.clone(),
                    partitions: t
                        .partition_indexes
                        .iter()
                        .enumerate()
                        .map(|(pi, i)| {
                            let tp = TopicPartition::new(&*t.name, i);
                            let r = write_marker_acks_all(
                                storage, cluster, producers, groups, &tp, &marker, now,
                            );
                            if let Ok(end) = r {
                                appended.push(tp.clone());
                                waits.push(Wait {
                                    tp,
                                    required: end,
                                    place: Some([mi, ti, pi]),
                                });
                            }
                            WritableTxnMarkerPartitionResult {
                                partition_index: i,
                                error_code: r.err().unwrap_or(ErrorCode::NONE).code(),
                                ..Default::default()
                            }
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect();
            WritableTxnMarkerResult {
                producer_id: m.producer_id,
                topics,
                ..Default::default()
            }
        })
        .collect();
    let body = ResponseBody::WriteTxnMarkers(WriteTxnMarkersResponse {
        markers,
        ..Default::default()
    });
    let reply = answer_when_replicated(cluster, &*storage, answering, now, timeout_ms, waits, body);
    Handled {
        appended,
        ..Handled::reply(reply)
    }
}
