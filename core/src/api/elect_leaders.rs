//! ElectLeaders (key 43), ZooKeeper mode: elect the preferred replica (or,
//! election type 1, an unclean leader) of some partitions, or of all
//! (Kafka's `KafkaApis.handleElectReplicaLeader`).
//!
//! Like ControlledShutdown, the request is held ([`Reply::Hold`]) and
//! handed to the driver as a [`ControllerAsk`]: the controller machine
//! carries it out when this broker is the controller (clients send it to
//! the controller Metadata names), and every partition is answered
//! NOT_CONTROLLER elsewhere. Partitions whose election is not settled
//! within the request's `timeout_ms` are answered REQUEST_TIMED_OUT (the
//! election goes on), as Kafka's `DelayedElectLeader` expires. [`response`] builds the answer. Version 0
//! has no election type (preferred) and no top-level error.

use crate::collections::Map;

use bytestring::ByteString;

use super::{Handled, Reply};
use crate::coordinator::controller::ControllerAsk;
use crate::protocol::messages::elect_leaders_request::ElectLeadersRequest;
use crate::protocol::messages::elect_leaders_response::{
    ElectLeadersResponse, PartitionResult, ReplicaElectionResult,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::storage::TopicPartition;

/// Holds the request and asks the controller; an unknown election type
/// is answered at once (INVALID_REQUEST for every partition).
pub(crate) fn handle(req: ElectLeadersRequest) -> Handled {
    let partitions = req.topic_partitions.map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                let topic = t.topic.to_string();
                t.partitions
                    .iter()
                    .map(move |p| TopicPartition::new(topic.clone(), p))
            })
            .collect::<Vec<_>>()
    });
    let preferred = match req.election_type {
        0 => true,
        1 => false,
        _ => {
            let results = partitions
                .unwrap_or_default()
                .into_iter()
                .map(|tp| (tp, ErrorCode::INVALID_REQUEST))
                .collect();
            return Handled::respond(ResponseBody::ElectLeaders(response(results)));
        }
    };
    Handled {
        ask: Some(ControllerAsk::ElectLeaders {
            preferred,
            partitions,
            timeout_ms: req.timeout_ms,
        }),
        ..Handled::reply(Reply::Hold)
    }
}

/// The answer: each partition's outcome, grouped by topic.
pub(crate) fn response(results: Vec<(TopicPartition, ErrorCode)>) -> ElectLeadersResponse {
    let mut by_topic: Map<String, Vec<PartitionResult>> = Map::new();
    for (tp, code) in results {
        by_topic.entry(tp.topic).or_default().push(PartitionResult {
            partition_id: tp.partition,
            error_code: code.code(),
            error_message: (code != ErrorCode::NONE).then(|| ByteString::from(code.name())),
            ..PartitionResult::default()
        });
    }
    ElectLeadersResponse {
        replica_election_results: by_topic
            .into_iter()
            .map(|(topic, partition_result)| ReplicaElectionResult {
                topic: topic.into(),
                partition_result,
                ..ReplicaElectionResult::default()
            })
            .collect(),
        ..ElectLeadersResponse::default()
    }
}
