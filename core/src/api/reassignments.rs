//! AlterPartitionReassignments (key 45) and ListPartitionReassignments
//! (key 46), ZooKeeper mode: move partitions' replicas to other brokers,
//! and list the moves in progress (KIP-455; Kafka's
//! `KafkaApis.handleAlterPartitionReassignmentsRequest` and
//! `handleListPartitionReassignmentsRequest`).
//!
//! Like ElectLeaders, both are held ([`Reply::Hold`]) and handed to the
//! driver as a [`ControllerAsk`]: the controller machine carries them out
//! when this broker is the controller (clients send them to the
//! controller Metadata names, and `coordinator::controller` describes
//! the moves); elsewhere the top-level error is NOT_CONTROLLER.
//! [`altered`] and [`listed`] build the answers.
//!
//! Version 1 of AlterPartitionReassignments (KIP-860) carries
//! `allow_replication_factor_change`: when false, a target whose length
//! differs from the partition's replica count is refused with
//! INVALID_REPLICATION_FACTOR (version 0 always allows it). The
//! request's `timeout_ms` is not used: as in Kafka's ZooKeeper
//! controller, the answer comes once the moves are started, which takes
//! one ZooKeeper write per topic.

use crate::collections::Map;

use bytestring::ByteString;

use super::{Handled, Reply};
use crate::coordinator::controller::{ControllerAsk, Listed, Outcome};
use crate::protocol::messages::alter_partition_reassignments_request::AlterPartitionReassignmentsRequest;
use crate::protocol::messages::alter_partition_reassignments_response::{
    AlterPartitionReassignmentsResponse, ReassignablePartitionResponse, ReassignableTopicResponse,
};
use crate::protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsRequest;
use crate::protocol::messages::list_partition_reassignments_response::{
    ListPartitionReassignmentsResponse, OngoingPartitionReassignment, OngoingTopicReassignment,
};
use crate::protocol::{ErrorCode, PrimArray};
use crate::storage::TopicPartition;

/// Holds AlterPartitionReassignments and asks the controller.
pub(crate) fn alter(req: AlterPartitionReassignmentsRequest, version: i16) -> Handled {
    let partitions = req
        .topics
        .iter()
        .flat_map(|t| {
            let topic = t.name.to_string();
            t.partitions.iter().map(move |p| {
                (
                    TopicPartition::new(topic.clone(), p.partition_index),
                    p.replicas.as_ref().map(|r| r.iter().collect::<Vec<i32>>()),
                )
            })
        })
        .collect();
    Handled {
        ask: Some(ControllerAsk::AlterReassignments {
            partitions,
            allow_rf_change: version < 1 || req.allow_replication_factor_change,
        }),
        ..Handled::reply(Reply::Hold)
    }
}

/// Holds ListPartitionReassignments and asks the controller.
pub(crate) fn list(req: ListPartitionReassignmentsRequest) -> Handled {
    let partitions = req.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                let topic = t.name.to_string();
                t.partition_indexes
                    .iter()
                    .map(move |p| TopicPartition::new(topic.clone(), p))
            })
            .collect::<Vec<_>>()
    });
    Handled {
        ask: Some(ControllerAsk::ListReassignments { partitions }),
        ..Handled::reply(Reply::Hold)
    }
}

/// The answer to AlterPartitionReassignments: a top-level error
/// (NOT_CONTROLLER), or each partition's outcome grouped by topic.
pub(crate) fn altered(
    result: Result<Vec<Outcome>, ErrorCode>,
    allow_rf_change: bool,
) -> AlterPartitionReassignmentsResponse {
    let (error, results) = match result {
        Ok(r) => (ErrorCode::NONE, r),
        Err(e) => (e, Vec::new()),
    };
    let mut by_topic: Map<String, Vec<ReassignablePartitionResponse>> = Map::new();
    for (tp, code, message) in results {
        by_topic
            .entry(tp.topic)
            .or_default()
            .push(ReassignablePartitionResponse {
                partition_index: tp.partition,
                error_code: code.code(),
                error_message: message.map(ByteString::from),
                ..ReassignablePartitionResponse::default()
            });
    }
    AlterPartitionReassignmentsResponse {
        allow_replication_factor_change: allow_rf_change,
        error_code: error.code(),
        error_message: (error != ErrorCode::NONE).then(|| ByteString::from(error.name())),
        responses: by_topic
            .into_iter()
            .map(|(name, partitions)| ReassignableTopicResponse {
                name: name.into(),
                partitions,
                ..ReassignableTopicResponse::default()
            })
            .collect(),
        ..AlterPartitionReassignmentsResponse::default()
    }
}

/// The answer to ListPartitionReassignments: a top-level error
/// (NOT_CONTROLLER), or the moves in progress grouped by topic.
pub(crate) fn listed(result: Result<Vec<Listed>, ErrorCode>) -> ListPartitionReassignmentsResponse {
    let (error, moves) = match result {
        Ok(m) => (ErrorCode::NONE, m),
        Err(e) => (e, Vec::new()),
    };
    let mut by_topic: Map<String, Vec<OngoingPartitionReassignment>> = Map::new();
    for m in moves {
        by_topic
            .entry(m.tp.topic)
            .or_default()
            .push(OngoingPartitionReassignment {
                partition_index: m.tp.partition,
                replicas: PrimArray::from(m.replicas),
                adding_replicas: PrimArray::from(m.adding),
                removing_replicas: PrimArray::from(m.removing),
                ..OngoingPartitionReassignment::default()
            });
    }
    ListPartitionReassignmentsResponse {
        error_code: error.code(),
        error_message: (error != ErrorCode::NONE).then(|| ByteString::from(error.name())),
        topics: by_topic
            .into_iter()
            .map(|(name, partitions)| OngoingTopicReassignment {
                name: name.into(),
                partitions,
                ..OngoingTopicReassignment::default()
            })
            .collect(),
        ..ListPartitionReassignmentsResponse::default()
    }
}
