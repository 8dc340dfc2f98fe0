//! Which API versions a broker serves: the one list ApiVersions answers
//! with and every request is checked against.

use crate::protocol::schema::Versions;
use crate::protocol::ApiKey;
use crate::state::Config;

/// The versions of `key` a broker with `config` serves (empty: not
/// served).
pub(crate) fn supported(config: &Config, key: ApiKey) -> Versions {
    match key {
        // The controller's inter-broker API, in a ZooKeeper-coordinated
        // cluster only.
        ApiKey::UpdateMetadata
        | ApiKey::LeaderAndIsr
        | ApiKey::StopReplica
        | ApiKey::ControlledShutdown
        | ApiKey::ElectLeaders
        | ApiKey::AlterPartitionReassignments
        | ApiKey::ListPartitionReassignments
            if config.zk() =>
        {
            key.versions()
        }
        // ACLs and SCRAM credentials: in `__cluster_metadata` on a single
        // broker, in ZooKeeper in a cluster (`zk_security`).
        ApiKey::CreateAcls
        | ApiKey::DescribeAcls
        | ApiKey::DeleteAcls
        | ApiKey::DescribeUserScramCredentials
        | ApiKey::AlterUserScramCredentials
        | ApiKey::Produce
        | ApiKey::Fetch
        | ApiKey::Metadata
        | ApiKey::ApiVersions
        | ApiKey::CreateTopics
        | ApiKey::DeleteTopics
        | ApiKey::CreatePartitions
        | ApiKey::DeleteRecords
        | ApiKey::ListOffsets
        | ApiKey::OffsetForLeaderEpoch
        | ApiKey::DescribeCluster
        | ApiKey::DescribeLogDirs
        | ApiKey::DescribeTopicPartitions
        | ApiKey::InitProducerId
        | ApiKey::DescribeConfigs
        | ApiKey::AlterConfigs
        | ApiKey::IncrementalAlterConfigs
        | ApiKey::GetTelemetrySubscriptions
        | ApiKey::PushTelemetry
        | ApiKey::FindCoordinator
        | ApiKey::JoinGroup
        | ApiKey::SyncGroup
        | ApiKey::Heartbeat
        | ApiKey::LeaveGroup
        | ApiKey::OffsetCommit
        | ApiKey::OffsetFetch
        | ApiKey::DescribeGroups
        | ApiKey::ListGroups
        | ApiKey::DeleteGroups
        | ApiKey::OffsetDelete
        | ApiKey::ConsumerGroupHeartbeat
        | ApiKey::ConsumerGroupDescribe
        | ApiKey::AddPartitionsToTxn
        | ApiKey::AddOffsetsToTxn
        | ApiKey::EndTxn
        | ApiKey::WriteTxnMarkers
        | ApiKey::TxnOffsetCommit
        | ApiKey::DescribeProducers
        | ApiKey::DescribeTransactions
        | ApiKey::ListTransactions
        // Answered by the broker's authentication (module `broker::auth`).
        | ApiKey::SaslHandshake
        | ApiKey::SaslAuthenticate => key.versions(),
        _ => Versions::NONE,
    }
}
