//! WriteTxnMarkers (key 27): write COMMIT or ABORT markers to partitions.
//!
//! Kafka's transaction coordinator sends it to partition leaders; Spate's
//! coordinator writes the markers of partitions led here directly and,
//! in a ZooKeeper cluster, sends the others to their leaders with this
//! request (`broker::markers`). It is also served for tools
//! (`kafka-transactions.sh abort`, `spate transactions abort`) that end
//! a hanging transaction by hand.
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
//! KAFKA_STORAGE_ERROR when the append fails, NONE when written. A marker
//! in `__consumer_offsets` also settles the offsets the transaction
//! committed there.

use crate::coordinator::group::GroupCoordinator;
use crate::protocol::messages::write_txn_markers_request::WriteTxnMarkersRequest;
use crate::protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
    WriteTxnMarkersResponse,
};
use crate::protocol::ErrorCode;
use crate::state::cluster::Cluster;
use crate::state::producers::{Marker, Producers};
use crate::state::Now;
use crate::storage::{Storage, TopicPartition};

use super::txn::write_marker;

/// Runs a WriteTxnMarkers request.
pub(crate) fn handle<S: Storage>(
    now: Now,
    storage: &mut S,
    cluster: &Cluster,
    producers: &mut Producers,
    groups: &mut GroupCoordinator,
    req: WriteTxnMarkersRequest,
    appended: &mut Vec<TopicPartition>,
) -> WriteTxnMarkersResponse {
    let markers = req
        .markers
        .iter()
        .map(|m| {
            let marker = Marker {
                producer_id: m.producer_id,
                producer_epoch: m.producer_epoch,
                coordinator_epoch: m.coordinator_epoch,
                commit: m.transaction_result,
            };
            let topics = m
                .topics
                .iter()
                .map(|t| WritableTxnMarkerTopicResult {
                    name: t.name.clone(),
                    partitions: t
                        .partition_indexes
                        .iter()
                        .map(|i| {
                            let tp = TopicPartition::new(&*t.name, i);
                            let r = write_marker(
                                storage, cluster, producers, groups, &tp, &marker, now,
                            );
                            if r.is_ok() {
                                appended.push(tp);
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
    WriteTxnMarkersResponse {
        markers,
        ..Default::default()
    }
}
