//! The authorizer's checks that answer a whole request, made before its
//! handler runs, in the order Kafka's `KafkaApis` makes them: the
//! inter-broker APIs need CLUSTER_ACTION on the cluster
//! (CLUSTER_AUTHORIZATION_FAILED), ElectLeaders and the reassignment APIs
//! ALTER / DESCRIBE on the cluster, the classic group APIs READ on their
//! group (GROUP_AUTHORIZATION_FAILED), the transactional APIs WRITE on
//! their transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and then
//! READ on their group, InitProducerId without a transactional id
//! IDEMPOTENT_WRITE on the cluster or WRITE on some topic, and a
//! transactional Produce WRITE on its transactional id. Checks on single
//! topics, groups or ids within a request are made by the handlers, which
//! take the request's [`Authorizer`].

use crate::protocol::messages::{
    add_offsets_to_txn_response::AddOffsetsToTxnResponse,
    add_partitions_to_txn_response::AddPartitionsToTxnResponse,
    alter_partition_reassignments_response::AlterPartitionReassignmentsResponse,
    consumer_group_heartbeat_response::ConsumerGroupHeartbeatResponse,
    controlled_shutdown_response::ControlledShutdownResponse,
    elect_leaders_response::{ElectLeadersResponse, PartitionResult, ReplicaElectionResult},
    end_txn_response::EndTxnResponse,
    heartbeat_response::HeartbeatResponse,
    init_producer_id_response::InitProducerIdResponse,
    join_group_response::JoinGroupResponse,
    leader_and_isr_response::LeaderAndIsrResponse,
    leave_group_response::LeaveGroupResponse,
    list_partition_reassignments_response::ListPartitionReassignmentsResponse,
    offset_commit_response::{
        OffsetCommitResponse, OffsetCommitResponsePartition, OffsetCommitResponseTopic,
    },
    offset_delete_response::OffsetDeleteResponse,
    stop_replica_response::StopReplicaResponse,
    sync_group_response::SyncGroupResponse,
    txn_offset_commit_response::{
        TxnOffsetCommitResponse, TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
    },
    update_metadata_response::UpdateMetadataResponse,
    write_txn_markers_response::{
        WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
        WriteTxnMarkersResponse,
    },
};
use crate::protocol::{ErrorCode, RequestBody, ResponseBody};
use crate::security::acl::{Authorizer, Operation, ResourceType, CLUSTER_NAME};

/// The checks handlers make, by resource type.
pub(crate) trait Checks {
    /// `op` on the topic `name`.
    fn topic(&self, op: Operation, name: &str) -> bool;
    /// `op` on the group `name`.
    fn group(&self, op: Operation, name: &str) -> bool;
    /// `op` on the transactional id `name`.
    fn txn_id(&self, op: Operation, name: &str) -> bool;
    /// `op` on the cluster.
    fn cluster(&self, op: Operation) -> bool;
}

impl Checks for Authorizer<'_> {
    fn topic(&self, op: Operation, name: &str) -> bool {
        self.allows(op, ResourceType::Topic, name)
    }
    fn group(&self, op: Operation, name: &str) -> bool {
        self.allows(op, ResourceType::Group, name)
    }
    fn txn_id(&self, op: Operation, name: &str) -> bool {
        self.allows(op, ResourceType::TransactionalId, name)
    }
    fn cluster(&self, op: Operation) -> bool {
        self.allows(op, ResourceType::Cluster, CLUSTER_NAME)
    }
}

/// The answer to `body` when the principal may not make it at all, as
/// Kafka answers it; `None` when its handler is to run.
pub(crate) fn gate(az: &Authorizer<'_>, version: i16, body: &RequestBody) -> Option<ResponseBody> {
    use Operation::*;
    use RequestBody as Q;
    use ResponseBody as R;
    let cluster = ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code();
    let group = ErrorCode::GROUP_AUTHORIZATION_FAILED.code();
    let txn = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code();
    match body {
        Q::LeaderAndIsr(_) if !az.cluster(ClusterAction) => {
            Some(R::LeaderAndIsr(LeaderAndIsrResponse {
                error_code: cluster,
                ..Default::default()
            }))
        }
        Q::UpdateMetadata(_) if !az.cluster(ClusterAction) => {
            Some(R::UpdateMetadata(UpdateMetadataResponse {
                error_code: cluster,
                ..Default::default()
            }))
        }
        Q::StopReplica(_) if !az.cluster(ClusterAction) => {
            Some(R::StopReplica(StopReplicaResponse {
                error_code: cluster,
                ..Default::default()
            }))
        }
        Q::ControlledShutdown(_) if !az.cluster(ClusterAction) => {
            Some(R::ControlledShutdown(ControlledShutdownResponse {
                error_code: cluster,
                ..Default::default()
            }))
        }
        Q::WriteTxnMarkers(req) if !az.cluster(ClusterAction) => {
            Some(R::WriteTxnMarkers(WriteTxnMarkersResponse {
                markers: req
                    .markers
                    .iter()
                    .map(|m| WritableTxnMarkerResult {
                        producer_id: m.producer_id,
                        topics: m
                            .topics
                            .iter()
                            .map(|t| WritableTxnMarkerTopicResult {
                                name: t.name.clone(),
                                partitions: t
                                    .partition_indexes
                                    .iter()
                                    .map(|p| WritableTxnMarkerPartitionResult {
                                        partition_index: p,
                                        error_code: cluster,
                                        ..Default::default()
                                    })
                                    .collect(),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }))
        }
        Q::ElectLeaders(req) if !az.cluster(Alter) => Some(R::ElectLeaders(ElectLeadersResponse {
            error_code: cluster,
            replica_election_results: req
                .topic_partitions
                .iter()
                .flatten()
                .map(|t| ReplicaElectionResult {
                    topic: t.topic.clone(),
                    partition_result: t
                        .partitions
                        .iter()
                        .map(|p| PartitionResult {
                            partition_id: p,
                            error_code: cluster,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })),
        Q::AlterPartitionReassignments(_) if !az.cluster(Alter) => Some(
            R::AlterPartitionReassignments(AlterPartitionReassignmentsResponse {
                error_code: cluster,
                ..Default::default()
            }),
        ),
        Q::ListPartitionReassignments(_) if !az.cluster(Describe) => Some(
            R::ListPartitionReassignments(ListPartitionReassignmentsResponse {
                error_code: cluster,
                ..Default::default()
            }),
        ),
        Q::JoinGroup(req) if !az.group(Read, &req.group_id) => {
            Some(R::JoinGroup(JoinGroupResponse {
                error_code: group,
                ..Default::default()
            }))
        }
        Q::SyncGroup(req) if !az.group(Read, &req.group_id) => {
            Some(R::SyncGroup(SyncGroupResponse {
                error_code: group,
                ..Default::default()
            }))
        }
        Q::Heartbeat(req) if !az.group(Read, &req.group_id) => {
            Some(R::Heartbeat(HeartbeatResponse {
                error_code: group,
                ..Default::default()
            }))
        }
        Q::LeaveGroup(req) if !az.group(Read, &req.group_id) => {
            Some(R::LeaveGroup(LeaveGroupResponse {
                error_code: group,
                ..Default::default()
            }))
        }
        Q::ConsumerGroupHeartbeat(req) => {
            // Kafka 4: READ on the group, then DESCRIBE on every topic
            // subscribed to by name.
            let code = if !az.group(Read, &req.group_id) {
                group
            } else if req
                .subscribed_topic_names
                .iter()
                .flatten()
                .any(|t| !az.topic(Describe, t))
            {
                ErrorCode::TOPIC_AUTHORIZATION_FAILED.code()
            } else {
                return None;
            };
            Some(R::ConsumerGroupHeartbeat(ConsumerGroupHeartbeatResponse {
                error_code: code,
                ..Default::default()
            }))
        }
        Q::OffsetDelete(req) if !az.group(Delete, &req.group_id) => {
            Some(R::OffsetDelete(OffsetDeleteResponse {
                error_code: group,
                ..Default::default()
            }))
        }
        Q::OffsetCommit(req) if !az.group(Read, &req.group_id) => {
            Some(R::OffsetCommit(OffsetCommitResponse {
                topics: req
                    .topics
                    .iter()
                    .map(|t| OffsetCommitResponseTopic {
                        name: t.name.clone(),
                        topic_id: t.topic_id,
                        partitions: t
                            .partitions
                            .iter()
                            .map(|p| OffsetCommitResponsePartition {
                                partition_index: p.partition_index,
                                error_code: group,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }))
        }
        Q::TxnOffsetCommit(req) => {
            let code = if !az.txn_id(Write, &req.transactional_id) {
                txn
            } else if !az.group(Read, &req.group_id) {
                group
            } else {
                return None;
            };
            Some(R::TxnOffsetCommit(TxnOffsetCommitResponse {
                topics: req
                    .topics
                    .iter()
                    .map(|t| TxnOffsetCommitResponseTopic {
                        name: t.name.clone(),
                        partitions: t
                            .partitions
                            .iter()
                            .map(|p| TxnOffsetCommitResponsePartition {
                                partition_index: p.partition_index,
                                error_code: code,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }))
        }
        Q::InitProducerId(req) => {
            let code = match &req.transactional_id {
                Some(id) if !az.txn_id(Write, id) => txn,
                None if !az.cluster(IdempotentWrite)
                    && !az.allows_some(Write, ResourceType::Topic) =>
                {
                    cluster
                }
                _ => return None,
            };
            Some(R::InitProducerId(InitProducerIdResponse {
                error_code: code,
                ..Default::default()
            }))
        }
        Q::EndTxn(req) if !az.txn_id(Write, &req.transactional_id) => {
            Some(R::EndTxn(EndTxnResponse {
                error_code: txn,
                ..Default::default()
            }))
        }
        Q::AddOffsetsToTxn(req) => {
            let code = if !az.txn_id(Write, &req.transactional_id) {
                txn
            } else if !az.group(Read, &req.group_id) {
                group
            } else {
                return None;
            };
            Some(R::AddOffsetsToTxn(AddOffsetsToTxnResponse {
                error_code: code,
                ..Default::default()
            }))
        }
        Q::AddPartitionsToTxn(_) if version >= 4 && !az.cluster(ClusterAction) => {
            Some(R::AddPartitionsToTxn(AddPartitionsToTxnResponse {
                error_code: cluster,
                ..Default::default()
            }))
        }
        Q::Produce(req) => match &req.transactional_id {
            Some(id) if !az.txn_id(Write, id) => {
                Some(R::Produce(super::injected::produce_failed(req, txn)))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Whether the caller may create the topic `name`: CREATE on the cluster
/// or on the topic (Kafka's CreateTopics and Metadata auto-creation).
pub(crate) fn may_create(az: &Authorizer<'_>, name: &str) -> bool {
    az.cluster(Operation::Create) || az.topic(Operation::Create, name)
}

/// A created topic's answer for a caller that may not DESCRIBE_CONFIGS
/// it: TOPIC_AUTHORIZATION_FAILED as its config error, and neither its
/// configs nor its partition count and replication factor, as Kafka.
pub(crate) fn hide_configs(
    az: &Authorizer<'_>,
    r: &mut crate::protocol::messages::create_topics_response::CreatableTopicResult,
) {
    if r.error_code == 0 && !az.topic(Operation::DescribeConfigs, &r.name) {
        r.topic_config_error_code = ErrorCode::TOPIC_AUTHORIZATION_FAILED.code();
        r.configs = None;
        r.num_partitions = -1;
        r.replication_factor = -1;
    }
}

/// The refusal of `op` on a config resource (DescribeConfigs,
/// AlterConfigs, IncrementalAlterConfigs), as Kafka's `ConfigHelper` and
/// `KafkaApis` refuse it: a topic needs `op` on the topic
/// (TOPIC_AUTHORIZATION_FAILED), a broker, a broker logger or client
/// metrics `op` on the cluster (CLUSTER_AUTHORIZATION_FAILED), a group
/// `op` on the group (GROUP_AUTHORIZATION_FAILED); `None` when allowed.
pub(crate) fn config_refusal(
    az: &Authorizer<'_>,
    op: Operation,
    resource_type: i8,
    name: &str,
) -> Option<(ErrorCode, String)> {
    use crate::state::configs::{RESOURCE_GROUP, RESOURCE_TOPIC};
    let (allowed, code, message) = match resource_type {
        RESOURCE_TOPIC => (
            az.topic(op, name),
            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            "Topic authorization failed.",
        ),
        RESOURCE_GROUP => (
            az.group(op, name),
            ErrorCode::GROUP_AUTHORIZATION_FAILED,
            "Group authorization failed.",
        ),
        _ => (
            az.cluster(op),
            ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
            "Cluster authorization failed.",
        ),
    };
    (!allowed).then(|| (code, message.to_string()))
}
