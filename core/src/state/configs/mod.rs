//! Topic configs, typed and checked once.
//!
//! A topic's configs live in the metadata log as ConfigRecords: the values
//! set on the topic, as text (`retention.ms = "60000"`). When a record is
//! applied to the image, the topic's [`TopicConfig`] is worked out again:
//! every value the broker acts on, parsed, with the broker's default where
//! the topic sets none (Kafka's `LogConfig`). Produce, Fetch, retention and
//! the log cleaner read those fields; nothing parses a config on the way.
//!
//! Values are checked where they enter, before any record is written:
//! CreateTopics, AlterConfigs and IncrementalAlterConfigs answer
//! INVALID_CONFIG with Kafka's message ([`topic::validate_set`]). A value
//! that still does not parse (a log written by another tool) falls back to
//! the default.
//!
//! - [`topic`]: every topic config Kafka defines: type, default, range,
//!   broker synonyms, description; the checks.
//! - [`broker`]: the broker configs DescribeConfigs reports, and synonym
//!   chains.
//! - [`dynamic`]: the broker configs AlterConfigs may change at run time,
//!   their checks, and the settings they make.

pub(crate) mod broker;
mod defs;
pub(crate) mod dynamic;
pub(crate) mod topic;

use crate::collections::Map;

use crate::records::{CompressionTarget, TimestampType};
use crate::state::Config;

/// ConfigResource types.
pub(crate) const RESOURCE_TOPIC: i8 = 2;
pub(crate) const RESOURCE_BROKER: i8 = 4;
pub(crate) const RESOURCE_BROKER_LOGGER: i8 = 8;
pub(crate) const RESOURCE_CLIENT_METRICS: i8 = 16;
pub(crate) const RESOURCE_GROUP: i8 = 32;

/// DescribeConfigs ConfigSource values.
pub(crate) const SOURCE_TOPIC: i8 = 1;
pub(crate) const SOURCE_DYNAMIC_BROKER: i8 = 2;
pub(crate) const SOURCE_DYNAMIC_DEFAULT: i8 = 3;
pub(crate) const SOURCE_STATIC_BROKER: i8 = 4;
pub(crate) const SOURCE_DEFAULT: i8 = 5;

/// DescribeConfigs ConfigType values.
pub(crate) const BOOLEAN: i8 = 1;
pub(crate) const STRING: i8 = 2;
pub(crate) const INT: i8 = 3;
pub(crate) const SHORT: i8 = 4;
pub(crate) const LONG: i8 = 5;
pub(crate) const DOUBLE: i8 = 6;
pub(crate) const LIST: i8 = 7;

/// `cleanup.policy`: `delete`, `compact`, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CleanupPolicy {
    /// Retention deletes old segments.
    pub delete: bool,
    /// The log cleaner keeps the latest record per key.
    pub compact: bool,
}

impl CleanupPolicy {
    fn parse(value: &str) -> CleanupPolicy {
        let mut p = CleanupPolicy::default();
        for item in value.split(',') {
            match item.trim() {
                "delete" => p.delete = true,
                "compact" => p.compact = true,
                _ => {}
            }
        }
        p
    }
}

/// The configs of one topic the broker acts on, parsed (Kafka's
/// `LogConfig`): the topic's own value where it sets one, the broker's
/// default otherwise.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TopicConfig {
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `compression.type`.
    pub compression: CompressionTarget,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `max.message.bytes`: the largest batch a produce may append.
    pub max_message_bytes: usize,
    /// `message.timestamp.before.max.ms`.
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`.
    pub timestamp_after_max_ms: i64,
    /// `retention.ms` (-1: keep forever).
    pub retention_ms: i64,
    /// `retention.bytes` (-1: no size limit).
    pub retention_bytes: i64,
    /// `segment.bytes`.
    pub segment_bytes: i64,
    /// `min.cleanable.dirty.ratio`.
    pub min_cleanable_dirty_ratio: f64,
    /// `delete.retention.ms`: how long tombstones outlive their first cleaning.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`.
    pub max_compaction_lag_ms: i64,
    /// `min.insync.replicas`: the in-sync replicas an acks=all produce
    /// needs.
    pub min_insync_replicas: i64,
}

impl TopicConfig {
    /// The config of a topic that sets nothing, on a broker with `config`.
    pub fn defaults(config: &Config) -> TopicConfig {
        TopicConfig::resolve(config, &Map::new())
    }

    /// The config of a topic that sets `explicit`, on a broker with `config`.
    pub fn resolve(config: &Config, explicit: &Map<String, String>) -> TopicConfig {
        let text = |name: &str| topic::value(config, name, explicit.get(name).map(String::as_str));
        let long = |name: &str, fallback: i64| {
            text(name)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(fallback)
        };
        TopicConfig {
            cleanup_policy: CleanupPolicy::parse(&text("cleanup.policy").unwrap_or_default()),
            compression: text("compression.type")
                .and_then(|v| CompressionTarget::from_config(&v))
                .unwrap_or_default(),
            timestamp_type: if text("message.timestamp.type").as_deref() == Some("LogAppendTime") {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            max_message_bytes: text("max.message.bytes")
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(config.message_max_bytes.max(0) as usize),
            timestamp_before_max_ms: long("message.timestamp.before.max.ms", i64::MAX),
            timestamp_after_max_ms: long("message.timestamp.after.max.ms", i64::MAX),
            retention_ms: long("retention.ms", -1),
            retention_bytes: long("retention.bytes", -1),
            segment_bytes: long("segment.bytes", config.log_segment_bytes),
            min_cleanable_dirty_ratio: text("min.cleanable.dirty.ratio")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.5),
            delete_retention_ms: long("delete.retention.ms", 86_400_000),
            min_compaction_lag_ms: long("min.compaction.lag.ms", 0),
            max_compaction_lag_ms: long("max.compaction.lag.ms", i64::MAX),
            min_insync_replicas: long("min.insync.replicas", 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Compression;

    #[test]
    fn explicit_values_win_and_bad_ones_fall_back() {
        let c = Config::default();
        let d = TopicConfig::defaults(&c);
        assert_eq!(
            d.cleanup_policy,
            CleanupPolicy {
                delete: true,
                compact: false
            }
        );
        assert_eq!(d.retention_ms, c.log_retention_ms);
        assert_eq!(d.max_message_bytes, c.message_max_bytes as usize);
        let set: Map<String, String> = [
            ("cleanup.policy", "compact, delete"),
            ("compression.type", "zstd"),
            ("message.timestamp.type", "LogAppendTime"),
            ("retention.ms", "not a number"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let t = TopicConfig::resolve(&c, &set);
        assert!(t.cleanup_policy.compact && t.cleanup_policy.delete);
        assert_eq!(t.compression, CompressionTarget::Codec(Compression::Zstd));
        assert_eq!(t.timestamp_type, TimestampType::LogAppendTime);
        assert_eq!(t.retention_ms, -1, "what the broker did with a bad value");
    }
}
