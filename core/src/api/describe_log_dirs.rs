//! DescribeLogDirs (key 35): the partitions in the broker's log directory,
//! with the size of each on disk.
//!
//! # Wire
//!
//! Request: the topics and partitions asked about (null: all). Response:
//! throttle time, error code (v3+), and per log directory its error, path,
//! topics with partitions (index, size in bytes, offset lag, whether it is
//! a future replica of an ALTER_REPLICA_LOG_DIRS move), and the volume's
//! total and usable bytes (v4+).
//!
//! # Versions
//!
//! 0-4. One log directory: the one the driver names in
//! [`Config::log_dir`] (a broker in memory names none, empty). Sizes are the
//! storage's segment bytes ([`Storage::size`]). The offset lag is Kafka's
//! for a current log: the high watermark above the log end, never negative
//! (0 on a leader). `__cluster_metadata` is not listed: as in KRaft, it is
//! the metadata log, not a partition log. Spate never moves logs between directories, so no
//! partition is a future one. The volume's sizes are -1 (unknown: the core
//! does no I/O), as Kafka's schema defaults them. Kafka's check: DESCRIBE
//! on the cluster; without it the answer is CLUSTER_AUTHORIZATION_FAILED
//! (v3+) with no directories, and below v3 no directories at all.

use crate::collections::Map;

use crate::protocol::messages::describe_log_dirs_request::DescribeLogDirsRequest;
use crate::protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResponse, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use crate::protocol::ErrorCode;
use crate::security::acl::{Authorizer, Operation};
use crate::state::cluster::{Cluster, METADATA_TOPIC};
use crate::state::Config;
use crate::storage::{Storage, TopicPartition};

use super::authz::Checks;

/// Runs a DescribeLogDirs request.
pub(crate) fn handle<S: Storage + ?Sized>(
    version: i16,
    config: &Config,
    cluster: &Cluster,
    storage: &S,
    az: &Authorizer<'_>,
    req: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    if !az.cluster(Operation::Describe) {
        return DescribeLogDirsResponse {
            error_code: if version >= 3 {
                ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code()
            } else {
                0
            },
            ..Default::default()
        };
    }
    let wanted = |tp: &TopicPartition| match &req.topics {
        None => true,
        Some(topics) => topics
            .iter()
            .any(|t| *t.topic == *tp.topic && t.partitions.iter().any(|p| p == tp.partition)),
    };
    let mut by_topic: Map<String, Vec<DescribeLogDirsPartition>> = Map::new();
    let mut logs = storage.logs();
    logs.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    // The metadata log is KRaft's own, not one of the broker's logs.
    for tp in logs
        .into_iter()
        .filter(|tp| tp.topic != METADATA_TOPIC && wanted(tp))
    {
        let end = storage.end_offset(&tp);
        let lag = (cluster.high_watermark(storage, &tp) - end).max(0);
        let partition = DescribeLogDirsPartition {
            partition_index: tp.partition,
            partition_size: i64::try_from(storage.size(&tp)).unwrap_or(i64::MAX),
            offset_lag: lag,
            is_future_key: false,
            ..Default::default()
        };
        by_topic.entry(tp.topic).or_default().push(partition);
    }
    DescribeLogDirsResponse {
        throttle_time_ms: 0,
        error_code: 0,
        results: vec![DescribeLogDirsResult {
            error_code: 0,
            log_dir: config.log_dir.as_str().into(),
            topics: by_topic
                .into_iter()
                .map(|(name, partitions)| DescribeLogDirsTopic {
                    name: name.into(),
                    partitions,
                    ..Default::default()
                })
                .collect(),
            total_bytes: -1,
            usable_bytes: -1,
            ..Default::default()
        }],
        ..Default::default()
    }
}
