//! DescribeProducers (key 61, v0): the producers a partition knows.
//!
//! Per partition: UNKNOWN_TOPIC_OR_PARTITION for one that does not exist;
//! otherwise every producer whose batches or markers the partition holds
//! state for: its id and epoch, the sequence of its last record, the
//! timestamp of its last batch or marker, the coordinator epoch of its
//! last marker, and the first offset of its open transaction (-1 if none)
//! — what `kafka-transactions.sh find-hanging` reads.
//!
//! With an authorizer a topic the caller may not READ is
//! TOPIC_AUTHORIZATION_FAILED, as in Kafka.

use super::authz::Checks;
use crate::protocol::messages::describe_producers_request::DescribeProducersRequest;
use crate::protocol::messages::describe_producers_response::{
    DescribeProducersResponse, PartitionResponse, ProducerState, TopicResponse,
};
use crate::protocol::ErrorCode;
use crate::security::acl::{Authorizer, Operation};
use crate::state::cluster::Cluster;
use crate::state::producers::Producers;

/// Runs a DescribeProducers request.
pub(crate) fn handle(
    cluster: &Cluster,
    producers: &Producers,
    az: &Authorizer<'_>,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| TopicResponse {
            name: t.name.clone(),
            partitions: t
                .partition_indexes
                .iter()
                .map(|i| {
                    // Kafka's check: READ on the topic.
                    if !az.topic(Operation::Read, &t.name) {
                        return PartitionResponse {
                            partition_index: i,
                            error_code: ErrorCode::TOPIC_AUTHORIZATION_FAILED.code(),
                            ..Default::default()
                        };
                    }
                    let Some(topic) = cluster.topics.get(&*t.name).filter(|x| x.has_partition(i))
                    else {
                        return PartitionResponse {
                            partition_index: i,
                            error_code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code(),
                            ..Default::default()
                        };
                    };
                    PartitionResponse {
                        partition_index: i,
                        active_producers: producers
                            .in_partition((topic.id, i))
                            .into_iter()
                            .map(|(id, e)| ProducerState {
                                producer_id: id,
                                producer_epoch: i32::from(e.epoch),
                                last_sequence: e.last_sequence(),
                                last_timestamp: e.last_timestamp,
                                coordinator_epoch: e.coordinator_epoch,
                                current_txn_start_offset: e.txn_start.unwrap_or(-1),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    DescribeProducersResponse {
        topics,
        ..Default::default()
    }
}
