//! Creating and deleting topics, and their effective configs.

use super::{write_changes, Broker, Change, Config, Now};
use crate::protocol::messages::metadata::{
    config_record::ConfigRecord, partition_record::PartitionRecord,
    remove_topic_record::RemoveTopicRecord, topic_record::TopicRecord,
};
use crate::protocol::{ErrorCode, Uuid};
use crate::storage::{Storage, TopicPartition};

use super::cluster::RESOURCE_TOPIC;

/// Every topic config Kafka defines, with the broker-level default it
/// falls back to (`None`: Kafka's fixed default, given as the second value).
pub(crate) const TOPIC_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.difference.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
];

/// The default of a topic config on this broker.
pub(crate) fn topic_default(config: &Config, name: &str) -> Option<String> {
    Some(match name {
        "cleanup.policy" => "delete".into(),
        "compression.type" => "producer".into(),
        "compression.gzip.level" => "-1".into(),
        "compression.lz4.level" => "9".into(),
        "compression.zstd.level" => "3".into(),
        "delete.retention.ms" => "86400000".into(),
        "file.delete.delay.ms" => "60000".into(),
        "flush.messages" | "flush.ms" | "max.compaction.lag.ms" => i64::MAX.to_string(),
        "follower.replication.throttled.replicas" | "leader.replication.throttled.replicas" => {
            String::new()
        }
        "index.interval.bytes" => "4096".into(),
        "local.retention.bytes" | "local.retention.ms" => "-2".into(),
        "max.message.bytes" => config.message_max_bytes.to_string(),
        "message.downconversion.enable" => "true".into(),
        "message.format.version" => "3.0-IV1".into(),
        "message.timestamp.after.max.ms"
        | "message.timestamp.before.max.ms"
        | "message.timestamp.difference.max.ms" => i64::MAX.to_string(),
        "message.timestamp.type" => "CreateTime".into(),
        "min.cleanable.dirty.ratio" => "0.5".into(),
        "min.compaction.lag.ms" => "0".into(),
        "min.insync.replicas" => "1".into(),
        "preallocate" | "remote.storage.enable" | "unclean.leader.election.enable" => {
            "false".into()
        }
        "retention.bytes" => config.log_retention_bytes.to_string(),
        "retention.ms" => config.log_retention_ms.to_string(),
        "segment.bytes" => config.log_segment_bytes.to_string(),
        "segment.index.bytes" => "10485760".into(),
        "segment.jitter.ms" => "0".into(),
        "segment.ms" => "604800000".into(),
        _ => return None,
    })
}

/// Most partitions one request may create (Kafka's controller caps the
/// records of one operation at 10,000).
pub(crate) const MAX_PARTITIONS: i32 = 10_000;

/// Kafka's rule for topic names: 1-249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub(crate) fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-')
}

/// Checks a topic config value; `Err` holds the message for INVALID_CONFIG.
pub(crate) fn check_config(name: &str, value: &str) -> Result<(), String> {
    if !TOPIC_CONFIGS.contains(&name) {
        return Err(format!("Unknown topic config name: {name}"));
    }
    let long = |v: &str| {
        v.parse::<i64>().map(|_| ()).map_err(|_| {
            format!("Invalid value {v} for configuration {name}: Not a number of type LONG")
        })
    };
    match name {
        "cleanup.policy" => {
            if value.split(',').all(|p| matches!(p.trim(), "delete" | "compact")) {
                Ok(())
            } else {
                Err(format!("Invalid value {value} for configuration cleanup.policy: String must be one of: compact, delete"))
            }
        }
        "compression.type" => match value {
            "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd" => Ok(()),
            _ => Err(format!("Invalid value {value} for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer")),
        },
        "message.timestamp.type" => match value {
            "CreateTime" | "LogAppendTime" => Ok(()),
            _ => Err(format!("Invalid value {value} for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime")),
        },
        "retention.ms" | "retention.bytes" | "segment.ms" | "delete.retention.ms" | "min.compaction.lag.ms" | "max.compaction.lag.ms" | "flush.ms" | "flush.messages" => long(value),
        "max.message.bytes" | "segment.bytes" | "min.insync.replicas" => value
            .parse::<i32>()
            .map(|_| ())
            .map_err(|_| format!("Invalid value {value} for configuration {name}: Not a number of type INT")),
        _ => Ok(()),
    }
}

impl<S: Storage> Broker<S> {
    /// Creates a topic with `partitions` partitions and explicit `configs`,
    /// writing it to the metadata log. Returns its id.
    pub(crate) fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        configs: &[(String, String)],
        now: Now,
    ) -> Result<Uuid, ErrorCode> {
        if !valid_topic_name(name) {
            return Err(ErrorCode::INVALID_TOPIC_EXCEPTION);
        }
        if name == super::METADATA_TOPIC {
            return Err(ErrorCode::INVALID_REQUEST);
        }
        if partitions > MAX_PARTITIONS {
            return Err(ErrorCode::POLICY_VIOLATION);
        }
        if self.cluster.topics.contains_key(name) {
            return Err(ErrorCode::TOPIC_ALREADY_EXISTS);
        }
        if partitions < 1 {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        let id = self.ids.uuid();
        let mut changes = vec![Change::Topic(TopicRecord {
            name: name.into(),
            topic_id: id,
            ..Default::default()
        })];
        for p in 0..partitions {
            changes.push(self.partition_record(id, p, 0));
        }
        for (k, v) in configs {
            changes.push(Change::Config(ConfigRecord {
                resource_type: RESOURCE_TOPIC,
                resource_name: name.into(),
                name: k.as_str().into(),
                value: Some(v.as_str().into()),
                ..Default::default()
            }));
        }
        self.commit(&changes, now)?;
        for p in 0..partitions {
            self.storage
                .create_log(&TopicPartition::new(name, p), id)
                .map_err(|_| ErrorCode::KAFKA_STORAGE_ERROR)?;
        }
        Ok(id)
    }

    /// A PartitionRecord naming this broker as leader and only replica.
    pub(crate) fn partition_record(
        &self,
        topic_id: Uuid,
        partition: i32,
        leader_epoch: i32,
    ) -> Change {
        let node = self.config.node_id;
        Change::Partition(PartitionRecord {
            partition_id: partition,
            topic_id,
            replicas: vec![node].into(),
            isr: vec![node].into(),
            leader: node,
            leader_epoch,
            partition_epoch: 0,
            ..Default::default()
        })
    }

    /// Deletes a topic and its logs.
    pub(crate) fn delete_topic(&mut self, name: &str, now: Now) -> Result<Uuid, ErrorCode> {
        let Some(t) = self.cluster.topics.get(name) else {
            return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        };
        let (id, n) = (t.id, t.partitions.len() as i32);
        self.commit(
            &[Change::RemoveTopic(RemoveTopicRecord {
                topic_id: id,
                ..Default::default()
            })],
            now,
        )?;
        for p in 0..n {
            let _ = self.storage.delete_log(&TopicPartition::new(name, p));
        }
        Ok(id)
    }

    /// Grows topic `name` to `count` partitions: a PartitionRecord (leader
    /// epoch 0) for each new partition, then its log.
    pub(crate) fn add_partitions(
        &mut self,
        name: &str,
        count: i32,
        now: Now,
    ) -> Result<(), ErrorCode> {
        let Some(t) = self.cluster.topics.get(name) else {
            return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        };
        let (id, from) = (t.id, t.partitions.len() as i32);
        if count <= from {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        let changes: Vec<Change> = (from..count)
            .map(|p| self.partition_record(id, p, 0))
            .collect();
        self.commit(&changes, now)?;
        for p in from..count {
            self.storage
                .create_log(&TopicPartition::new(name, p), id)
                .map_err(|_| ErrorCode::KAFKA_STORAGE_ERROR)?;
        }
        Ok(())
    }

    /// The leader epoch of a partition of a user-visible topic (`None`: no
    /// such topic or partition; the metadata log is not a topic).
    pub(crate) fn partition_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        if topic == super::METADATA_TOPIC {
            return None;
        }
        let t = self.cluster.topics.get(topic)?;
        usize::try_from(partition)
            .ok()
            .and_then(|i| t.partitions.get(i))
            .copied()
    }

    /// Writes changes to the metadata log, then applies them.
    pub(crate) fn commit(&mut self, changes: &[Change], now: Now) -> Result<(), ErrorCode> {
        write_changes(&mut self.storage, changes, now)
            .map_err(|_| ErrorCode::KAFKA_STORAGE_ERROR)?;
        for c in changes {
            self.cluster.apply(c);
        }
        Ok(())
    }

    /// A topic config's effective value: set on the topic, else the broker default.
    pub(crate) fn topic_config(&self, topic: &str, name: &str) -> Option<String> {
        self.cluster
            .topics
            .get(topic)
            .and_then(|t| t.configs.get(name).cloned())
            .or_else(|| topic_default(&self.config, name))
    }
}
