//! Decoding requests and encoding responses of the APIs a broker serves
//! only.
//!
//! [`RequestBody::decode`] and [`ResponseBody::encode`] each `match` over
//! every API Kafka has, so a program that calls them links every
//! message's decoder and encoder, some 30 APIs of them never used by a
//! broker (KRaft's quorum and controller APIs, share groups, quotas,
//! delegation tokens). The broker calls these instead: the same codec,
//! reached only for the APIs in [`served!`]'s list, which is what
//! [`supported`](super::supported) answers for a ZooKeeper-mode broker (a
//! test keeps the two equal). That keeps about 100 KB out of the
//! playground's WebAssembly. The controller's inter-broker APIs are listed
//! with the `cluster` feature only (see [`Config::zk`](crate::state::Config::zk)).

use crate::protocol::codec::Wire;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::messages::*;
use crate::protocol::wire::{Reader, Writer};
use crate::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

/// `served!(Key module::Request, ...)`: the functions below for these APIs.
macro_rules! served {
    ($($(#[$m:meta])* $key:ident $req:path,)*) => {
        /// The APIs decoded and encoded here.
        #[cfg(test)]
        pub(crate) const SERVED: &[ApiKey] = &[$($(#[$m])* ApiKey::$key),*];

        /// The body of a request of `key` at `version`, or `None` when the
        /// broker serves no such API.
        pub(crate) fn decode_request(
            key: ApiKey,
            r: &mut Reader<'_>,
            version: i16,
        ) -> Option<Result<RequestBody, DecodeError>> {
            Some(match key {
                $($(#[$m])* ApiKey::$key => {
                    <$req as Wire>::decode(r, version).map(RequestBody::$key)
                })*
                _ => return None,
            })
        }

        /// Appends a response body at `version`; an API the broker does
        /// not serve cannot be encoded here.
        pub(crate) fn encode_response(
            body: &ResponseBody,
            w: &mut Writer,
            version: i16,
        ) -> Result<(), EncodeError> {
            match body {
                $($(#[$m])* ResponseBody::$key(m) => m.encode(w, version),)*
                other => Err(EncodeError::UnsupportedVersion {
                    message: other.api_key().name(),
                    version,
                }),
            }
        }

        /// The first error code in a response, as
        /// [`first_error`](crate::protocol::first_error) finds it, walking
        /// only the served APIs' types (`ResponseBody`'s own `Serialize`
        /// would link every response's).
        pub(crate) fn first_error(body: &ResponseBody) -> Option<ErrorCode> {
            match body {
                $($(#[$m])* ResponseBody::$key(m) => crate::protocol::first_error(m),)*
                _ => None,
            }
        }
    };
}

served! {
    #[cfg(feature = "cluster")]
    UpdateMetadata update_metadata_request::UpdateMetadataRequest,
    #[cfg(feature = "cluster")]
    LeaderAndIsr leader_and_isr_request::LeaderAndIsrRequest,
    #[cfg(feature = "cluster")]
    StopReplica stop_replica_request::StopReplicaRequest,
    #[cfg(feature = "cluster")]
    ControlledShutdown controlled_shutdown_request::ControlledShutdownRequest,
    #[cfg(feature = "cluster")]
    ElectLeaders elect_leaders_request::ElectLeadersRequest,
    #[cfg(feature = "cluster")]
    AlterPartitionReassignments alter_partition_reassignments_request::AlterPartitionReassignmentsRequest,
    #[cfg(feature = "cluster")]
    ListPartitionReassignments list_partition_reassignments_request::ListPartitionReassignmentsRequest,
    CreateAcls create_acls_request::CreateAclsRequest,
    DescribeAcls describe_acls_request::DescribeAclsRequest,
    DeleteAcls delete_acls_request::DeleteAclsRequest,
    DescribeUserScramCredentials describe_user_scram_credentials_request::DescribeUserScramCredentialsRequest,
    AlterUserScramCredentials alter_user_scram_credentials_request::AlterUserScramCredentialsRequest,
    Produce produce_request::ProduceRequest,
    Fetch fetch_request::FetchRequest,
    Metadata metadata_request::MetadataRequest,
    ApiVersions api_versions_request::ApiVersionsRequest,
    CreateTopics create_topics_request::CreateTopicsRequest,
    DeleteTopics delete_topics_request::DeleteTopicsRequest,
    CreatePartitions create_partitions_request::CreatePartitionsRequest,
    DeleteRecords delete_records_request::DeleteRecordsRequest,
    ListOffsets list_offsets_request::ListOffsetsRequest,
    OffsetForLeaderEpoch offset_for_leader_epoch_request::OffsetForLeaderEpochRequest,
    DescribeCluster describe_cluster_request::DescribeClusterRequest,
    DescribeLogDirs describe_log_dirs_request::DescribeLogDirsRequest,
    DescribeTopicPartitions describe_topic_partitions_request::DescribeTopicPartitionsRequest,
    InitProducerId init_producer_id_request::InitProducerIdRequest,
    DescribeConfigs describe_configs_request::DescribeConfigsRequest,
    AlterConfigs alter_configs_request::AlterConfigsRequest,
    IncrementalAlterConfigs incremental_alter_configs_request::IncrementalAlterConfigsRequest,
    GetTelemetrySubscriptions get_telemetry_subscriptions_request::GetTelemetrySubscriptionsRequest,
    PushTelemetry push_telemetry_request::PushTelemetryRequest,
    FindCoordinator find_coordinator_request::FindCoordinatorRequest,
    JoinGroup join_group_request::JoinGroupRequest,
    SyncGroup sync_group_request::SyncGroupRequest,
    Heartbeat heartbeat_request::HeartbeatRequest,
    LeaveGroup leave_group_request::LeaveGroupRequest,
    OffsetCommit offset_commit_request::OffsetCommitRequest,
    OffsetFetch offset_fetch_request::OffsetFetchRequest,
    DescribeGroups describe_groups_request::DescribeGroupsRequest,
    ListGroups list_groups_request::ListGroupsRequest,
    DeleteGroups delete_groups_request::DeleteGroupsRequest,
    OffsetDelete offset_delete_request::OffsetDeleteRequest,
    ConsumerGroupHeartbeat consumer_group_heartbeat_request::ConsumerGroupHeartbeatRequest,
    ConsumerGroupDescribe consumer_group_describe_request::ConsumerGroupDescribeRequest,
    AddPartitionsToTxn add_partitions_to_txn_request::AddPartitionsToTxnRequest,
    AddOffsetsToTxn add_offsets_to_txn_request::AddOffsetsToTxnRequest,
    EndTxn end_txn_request::EndTxnRequest,
    WriteTxnMarkers write_txn_markers_request::WriteTxnMarkersRequest,
    TxnOffsetCommit txn_offset_commit_request::TxnOffsetCommitRequest,
    DescribeProducers describe_producers_request::DescribeProducersRequest,
    DescribeTransactions describe_transactions_request::DescribeTransactionsRequest,
    ListTransactions list_transactions_request::ListTransactionsRequest,
    SaslHandshake sasl_handshake_request::SaslHandshakeRequest,
    SaslAuthenticate sasl_authenticate_request::SaslAuthenticateRequest,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Config;

    #[test]
    fn serves_what_api_versions_advertises() {
        // ZooKeeper mode serves the most APIs (when built with `cluster`).
        let config = Config {
            zk_mode: true,
            ..Config::default()
        };
        for &key in ApiKey::ALL {
            let advertised = !super::super::supported(&config, key).is_empty();
            assert_eq!(advertised, SERVED.contains(&key), "{}", key.name());
        }
    }
}
