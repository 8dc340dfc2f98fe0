//! DescribeTopicPartitions (key 75): topics and their partitions, paged.
//!
//! # Wire
//!
//! Request: topic names (empty: every topic), the most partitions to
//! return, and a nullable cursor (topic name, partition index) to continue
//! from. Response: throttle time, topics (error, name, id, internal flag,
//! partitions with leader, epoch, replicas, ISR, eligible leader replicas,
//! last known ELR, offline replicas; authorized operations), and a
//! nullable next cursor.
//!
//! # Versions
//!
//! 0 only. As in Kafka: names are deduplicated and sorted; names before
//! the cursor's topic are skipped and the cursor's topic starts at its
//! partition. The limit is clamped to 1..=2000. When the limit is reached
//! inside a topic, the next cursor names that topic and the first partition
//! left out; when it is reached exactly at a topic's end, the cursor names
//! the next topic at partition 0. An unknown requested topic is
//! UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an illegal name)
//! and uses no part of the limit. A cursor whose topic is not among the
//! requested names, or whose partition is negative, fails the request:
//! INVALID_REQUEST for every requested topic.

use crate::collections::Set;

use crate::protocol::messages::describe_topic_partitions_request::DescribeTopicPartitionsRequest;
use crate::protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponse, DescribeTopicPartitionsResponsePartition,
    DescribeTopicPartitionsResponseTopic,
};
use crate::protocol::{ErrorCode, PrimArray, Uuid};
use crate::state::brokers::Membership;
use crate::state::cluster::{is_internal, valid_topic_name, Cluster, Topic, METADATA_TOPIC};
use crate::state::Config;

use super::authz::Checks;
use super::metadata::{answer, Listing};
use crate::security::acl::{Authorizer, Operation, ResourceType};

/// Kafka's `max.request.partition.size.limit` default.
const MAX_PARTITIONS: i32 = 2000;
/// Every topic operation: READ (3), WRITE (4), CREATE (5), DELETE (6),
/// ALTER (7), DESCRIBE (8), DESCRIBE_CONFIGS (10), ALTER_CONFIGS (11).
const ALL_TOPIC_OPS: i32 = 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 10 | 1 << 11;

/// Runs a DescribeTopicPartitions request.
pub(crate) fn handle(
    config: &Config,
    members: &Membership,
    cluster: &Cluster,
    az: &Authorizer<'_>,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let all = req.topics.is_empty();
    let (cursor_topic, cursor_partition) = match &req.cursor {
        Some(c) => (c.topic_name.to_string(), c.partition_index),
        None => (String::new(), 0),
    };
    let names: Set<String> = if all {
        cluster
            .topics
            .keys()
            .filter(|n| n.as_str() != METADATA_TOPIC)
            .cloned()
            .collect()
    } else {
        req.topics.iter().map(|t| t.name.to_string()).collect()
    };
    let names: Vec<String> = names.into_iter().filter(|n| *n >= cursor_topic).collect();
    let bad_cursor =
        req.cursor.is_some() && ((!all && !names.contains(&cursor_topic)) || cursor_partition < 0);
    if bad_cursor {
        return DescribeTopicPartitionsResponse {
            topics: req
                .topics
                .iter()
                .map(|t| DescribeTopicPartitionsResponseTopic {
                    error_code: ErrorCode::INVALID_REQUEST.code(),
                    name: Some(t.name.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
    }
    let mut remaining = req.response_partition_limit.clamp(1, MAX_PARTITIONS) as usize;
    let mut topics = Vec::new();
    let mut next_cursor = None;
    for name in &names {
        if remaining == 0 {
            next_cursor = Some(cursor(name, 0));
            break;
        }
        // Kafka's check: DESCRIBE on the topic; a topic that may not be
        // described is left out of a request for all of them.
        if !az.topic(Operation::Describe, name) {
            if !all {
                let code = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
                topics.push(topic(name, Uuid::ZERO, code, Vec::new()));
            }
            continue;
        }
        let Some(t) = cluster.topics.get(name).filter(|_| name != METADATA_TOPIC) else {
            if !all {
                let code = if valid_topic_name(name) {
                    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                } else {
                    ErrorCode::INVALID_TOPIC_EXCEPTION
                };
                topics.push(topic(name, Uuid::ZERO, code, Vec::new()));
            }
            continue;
        };
        let start = if *name == cursor_topic {
            cursor_partition.max(0) as usize
        } else {
            0
        };
        let upper = t.partitions.len().min(start.saturating_add(remaining));
        let partitions = describe(config, members, cluster, t, start, upper);
        let taken = partitions.len();
        let mut answer = topic(name, t.id, ErrorCode::NONE, partitions);
        answer.topic_authorized_operations = az.authorized_operations(ResourceType::Topic, name);
        topics.push(answer);
        if upper < t.partitions.len() {
            next_cursor = Some(cursor(name, upper as i32));
            break;
        }
        remaining = remaining.saturating_sub(taken);
    }
    DescribeTopicPartitionsResponse {
        throttle_time_ms: 0,
        topics,
        next_cursor,
        ..Default::default()
    }
}

/// A cursor at a topic's partition.
fn cursor(topic: &str, partition: i32) -> Cursor {
    Cursor {
        topic_name: topic.into(),
        partition_index: partition,
        ..Default::default()
    }
}

/// A topic's answer.
fn topic(
    name: &str,
    id: Uuid,
    code: ErrorCode,
    partitions: Vec<DescribeTopicPartitionsResponsePartition>,
) -> DescribeTopicPartitionsResponseTopic {
    DescribeTopicPartitionsResponseTopic {
        error_code: code.code(),
        name: Some(name.into()),
        topic_id: id,
        is_internal: is_internal(name),
        partitions,
        topic_authorized_operations: ALL_TOPIC_OPS,
        ..Default::default()
    }
}

/// Partitions `start..upper` of a topic, as Metadata describes them
/// ([`super::metadata::answer`]).
fn describe(
    config: &Config,
    members: &Membership,
    cluster: &Cluster,
    t: &Topic,
    start: usize,
    upper: usize,
) -> Vec<DescribeTopicPartitionsResponsePartition> {
    (start..upper.min(t.partitions.len()))
        .map(|i| {
            let listing = Listing {
                listener: None,
                only_live: false,
                no_endpoint: ErrorCode::LEADER_NOT_AVAILABLE,
            };
            let a = answer(config, members, cluster, t, i as i32, listing);
            DescribeTopicPartitionsResponsePartition {
                error_code: a.error.code(),
                partition_index: i as i32,
                leader_id: a.leader,
                leader_epoch: a.leader_epoch,
                replica_nodes: a.replicas.into(),
                isr_nodes: a.isr.into(),
                eligible_leader_replicas: Some(PrimArray::new()),
                last_known_elr: Some(PrimArray::new()),
                offline_replicas: a.offline.into(),
                ..Default::default()
            }
        })
        .collect()
}
