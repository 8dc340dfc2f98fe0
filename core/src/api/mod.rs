//! One module per Kafka API: decode is done by the broker, each module
//! applies a typed request to the broker's state and returns the typed
//! response (or parks the request, or answers nothing).
//!
//! Dispatch is the one `match` in [`dispatch`]; [`supported`] is the
//! table ApiVersions advertises, so the two cannot disagree: an API absent
//! from `supported` is refused before dispatch, as Kafka refuses an API its
//! listener does not serve (by closing the connection).

pub(crate) mod alter_configs;
pub(crate) mod api_versions;
pub(crate) mod config_defs;
pub(crate) mod consumer_group_describe;
pub(crate) mod consumer_group_heartbeat;
pub(crate) mod create_partitions;
pub(crate) mod create_topics;
pub(crate) mod delete_groups;
pub(crate) mod delete_records;
pub(crate) mod delete_topics;
pub(crate) mod describe_cluster;
pub(crate) mod describe_configs;
pub(crate) mod describe_groups;
pub(crate) mod describe_topic_partitions;
pub(crate) mod fetch;
pub(crate) mod find_coordinator;
pub(crate) mod get_telemetry_subscriptions;
pub(crate) mod heartbeat;
pub(crate) mod incremental_alter_configs;
pub(crate) mod init_producer_id;
pub(crate) mod join_group;
pub(crate) mod leave_group;
pub(crate) mod list_groups;
pub(crate) mod list_offsets;
pub(crate) mod metadata;
pub(crate) mod offset_commit;
pub(crate) mod offset_delete;
pub(crate) mod offset_fetch;
pub(crate) mod offset_for_leader_epoch;
pub(crate) mod produce;
pub(crate) mod push_telemetry;
pub(crate) mod retention;
pub(crate) mod sync_group;

use crate::broker::{Broker, Now};
use crate::protocol::schema::Versions;
use crate::protocol::{ApiKey, RequestBody, ResponseBody};
use crate::storage::Storage;

/// What a request is handled with.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Its API version.
    pub version: i16,
    /// The connection it came on.
    pub conn: crate::broker::ConnId,
    /// The client id of its header (empty when null).
    pub client_id: bytestring::ByteString,
    /// The time.
    pub now: Now,
    /// For a parked request run again: the deadline it was parked with.
    pub deadline: Option<Now>,
    /// For a parked request run again: whether its deadline has passed (answer now).
    pub deadline_passed: bool,
}

/// The outcome of handling a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Send this response.
    Response(ResponseBody),
    /// Send nothing (Produce with acks=0).
    NoResponse,
    /// Wait: run the request again when data arrives or at `deadline`.
    Park {
        /// The request, to run again.
        body: RequestBody,
        /// When to answer at the latest.
        deadline: Now,
    },
    /// Close the connection (a request the broker cannot serve).
    Close(String),
    /// Wait for the group coordinator, which answers it later (a JoinGroup
    /// or SyncGroup waiting for the other members).
    Hold,
}

/// The versions of `key` this broker serves (empty: not served).
pub(crate) fn supported(key: ApiKey) -> Versions {
    match key {
        ApiKey::Produce
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
        | ApiKey::ConsumerGroupDescribe => key.versions(),
        _ => Versions::NONE,
    }
}

/// Runs a request.
pub(crate) fn dispatch<S: Storage>(b: &mut Broker<S>, ctx: &Ctx, body: RequestBody) -> Reply {
    use RequestBody as Q;
    use ResponseBody as R;
    match body {
        Q::ApiVersions(req) => Reply::Response(R::ApiVersions(api_versions::handle(b, ctx, req))),
        Q::Metadata(req) => Reply::Response(R::Metadata(metadata::handle(b, ctx, req))),
        Q::DeleteTopics(req) => {
            Reply::Response(R::DeleteTopics(delete_topics::handle(b, ctx, req)))
        }
        Q::CreatePartitions(req) => {
            Reply::Response(R::CreatePartitions(create_partitions::handle(b, ctx, req)))
        }
        Q::DeleteRecords(req) => {
            Reply::Response(R::DeleteRecords(delete_records::handle(b, ctx, req)))
        }
        Q::ListOffsets(req) => Reply::Response(R::ListOffsets(list_offsets::handle(b, ctx, req))),
        Q::OffsetForLeaderEpoch(req) => Reply::Response(R::OffsetForLeaderEpoch(
            offset_for_leader_epoch::handle(b, ctx, req),
        )),
        Q::DescribeCluster(req) => {
            Reply::Response(R::DescribeCluster(describe_cluster::handle(b, ctx, req)))
        }
        Q::DescribeTopicPartitions(req) => Reply::Response(R::DescribeTopicPartitions(
            describe_topic_partitions::handle(b, ctx, req),
        )),
        Q::CreateTopics(req) => {
            Reply::Response(R::CreateTopics(create_topics::handle(b, ctx, req)))
        }
        Q::Produce(req) => produce::handle(b, ctx, req),
        Q::Fetch(req) => fetch::handle(b, ctx, req),
        Q::InitProducerId(req) => {
            Reply::Response(R::InitProducerId(init_producer_id::handle(b, ctx, req)))
        }
        Q::DescribeConfigs(req) => {
            Reply::Response(R::DescribeConfigs(describe_configs::handle(b, ctx, req)))
        }
        Q::AlterConfigs(req) => {
            Reply::Response(R::AlterConfigs(alter_configs::handle(b, ctx, req)))
        }
        Q::IncrementalAlterConfigs(req) => Reply::Response(R::IncrementalAlterConfigs(
            incremental_alter_configs::handle(b, ctx, req),
        )),
        Q::GetTelemetrySubscriptions(req) => Reply::Response(R::GetTelemetrySubscriptions(
            get_telemetry_subscriptions::handle(b, ctx, req),
        )),
        Q::PushTelemetry(req) => {
            Reply::Response(R::PushTelemetry(push_telemetry::handle(b, ctx, req)))
        }
        Q::FindCoordinator(req) => {
            Reply::Response(R::FindCoordinator(find_coordinator::handle(b, ctx, req)))
        }
        Q::JoinGroup(req) => join_group::handle(b, ctx, req),
        Q::SyncGroup(req) => sync_group::handle(b, ctx, req),
        Q::Heartbeat(req) => Reply::Response(R::Heartbeat(heartbeat::handle(b, ctx, req))),
        Q::LeaveGroup(req) => Reply::Response(R::LeaveGroup(leave_group::handle(b, ctx, req))),
        Q::OffsetCommit(req) => {
            Reply::Response(R::OffsetCommit(offset_commit::handle(b, ctx, req)))
        }
        Q::OffsetFetch(req) => Reply::Response(R::OffsetFetch(offset_fetch::handle(b, ctx, req))),
        Q::DescribeGroups(req) => {
            Reply::Response(R::DescribeGroups(describe_groups::handle(b, ctx, req)))
        }
        Q::ListGroups(req) => Reply::Response(R::ListGroups(list_groups::handle(b, ctx, req))),
        Q::DeleteGroups(req) => {
            Reply::Response(R::DeleteGroups(delete_groups::handle(b, ctx, req)))
        }
        Q::OffsetDelete(req) => {
            Reply::Response(R::OffsetDelete(offset_delete::handle(b, ctx, req)))
        }
        Q::ConsumerGroupHeartbeat(req) => Reply::Response(R::ConsumerGroupHeartbeat(
            consumer_group_heartbeat::handle(b, ctx, req),
        )),
        Q::ConsumerGroupDescribe(req) => Reply::Response(R::ConsumerGroupDescribe(
            consumer_group_describe::handle(b, ctx, req),
        )),
        // `supported` refuses every other API before dispatch; should the two
        // ever disagree, the connection is closed as for any unserved API.
        other => Reply::Close(format!("{} is not served", other.api_key().name())),
    }
}
