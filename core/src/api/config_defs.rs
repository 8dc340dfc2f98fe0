//! What the config APIs (DescribeConfigs, AlterConfigs,
//! IncrementalAlterConfigs) know about configs: each topic config's type,
//! range and broker synonyms, the broker configs this broker reports, and
//! the synonym chain Kafka shows for a value.
//!
//! # Synonyms
//!
//! A topic config falls back to a broker config of another name
//! (`retention.ms` to `log.retention.ms`, then `log.retention.minutes`,
//! then `log.retention.hours`). As in Kafka, the chain lists the topic's
//! own value (TOPIC_CONFIG), then each broker name set in the broker's
//! settings (STATIC_BROKER_CONFIG: the fields of [`Config`]), then each
//! broker name with a Kafka default (DEFAULT_CONFIG), dropping entries
//! before the first broker name: so an unset `retention.ms` on a broker
//! whose `log.retention.ms` is unset in Kafka shows no synonyms at all.

use crate::broker::{check_config, topic_default, Config, TOPIC_CONFIGS};
use crate::protocol::messages::describe_configs_response::DescribeConfigsSynonym;

/// ConfigResource types.
pub(crate) const RESOURCE_TOPIC: i8 = 2;
pub(crate) const RESOURCE_BROKER: i8 = 4;
pub(crate) const RESOURCE_BROKER_LOGGER: i8 = 8;
pub(crate) const RESOURCE_CLIENT_METRICS: i8 = 16;
pub(crate) const RESOURCE_GROUP: i8 = 32;

/// DescribeConfigs ConfigSource values.
pub(crate) const SOURCE_TOPIC: i8 = 1;
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

/// A topic config: type, broker synonyms (first is the primary one), description.
struct TopicDef(&'static str, i8, &'static [&'static str], &'static str);

#[rustfmt::skip]
const TOPIC_DEFS: &[TopicDef] = &[
    TopicDef("cleanup.policy", LIST, &["log.cleanup.policy"], "What happens to old segments: `delete` them, `compact` to the latest value per key, or both."),
    TopicDef("compression.gzip.level", INT, &["compression.gzip.level"], "Level used when the broker compresses with gzip."),
    TopicDef("compression.lz4.level", INT, &["compression.lz4.level"], "Level used when the broker compresses with lz4."),
    TopicDef("compression.type", STRING, &["compression.type"], "Codec batches are stored with; `producer` keeps the producer's own."),
    TopicDef("compression.zstd.level", INT, &["compression.zstd.level"], "Level used when the broker compresses with zstd."),
    TopicDef("delete.retention.ms", LONG, &["log.cleaner.delete.retention.ms"], "How long tombstones stay in a compacted log."),
    TopicDef("file.delete.delay.ms", LONG, &["log.segment.delete.delay.ms"], "Delay before a deleted segment's files are removed."),
    TopicDef("flush.messages", LONG, &["log.flush.interval.messages"], "Messages written between forced flushes to disk."),
    TopicDef("flush.ms", LONG, &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"], "Milliseconds between forced flushes to disk."),
    TopicDef("follower.replication.throttled.replicas", LIST, &[], "Replicas whose follower-side replication is throttled."),
    TopicDef("index.interval.bytes", INT, &["log.index.interval.bytes"], "Bytes of log between offset index entries."),
    TopicDef("leader.replication.throttled.replicas", LIST, &[], "Replicas whose leader-side replication is throttled."),
    TopicDef("local.retention.bytes", LONG, &["log.local.retention.bytes"], "Bytes kept locally when tiered storage is on (-2: use retention.bytes)."),
    TopicDef("local.retention.ms", LONG, &["log.local.retention.ms"], "Time data is kept locally when tiered storage is on (-2: use retention.ms)."),
    TopicDef("max.compaction.lag.ms", LONG, &["log.cleaner.max.compaction.lag.ms"], "Longest a record may stay uncompacted."),
    TopicDef("max.message.bytes", INT, &["message.max.bytes"], "Largest record batch the topic accepts."),
    TopicDef("message.downconversion.enable", BOOLEAN, &["log.message.downconversion.enable"], "Whether old fetchers get batches converted to their format."),
    TopicDef("message.format.version", STRING, &["log.message.format.version"], "Legacy record format version (ignored by current brokers)."),
    TopicDef("message.timestamp.after.max.ms", LONG, &["log.message.timestamp.after.max.ms"], "How far in the future a CreateTime timestamp may be."),
    TopicDef("message.timestamp.before.max.ms", LONG, &["log.message.timestamp.before.max.ms"], "How far in the past a CreateTime timestamp may be."),
    TopicDef("message.timestamp.difference.max.ms", LONG, &["log.message.timestamp.difference.max.ms"], "Deprecated bound on timestamp skew, in both directions."),
    TopicDef("message.timestamp.type", STRING, &["log.message.timestamp.type"], "`CreateTime` keeps the producer's timestamp, `LogAppendTime` stamps the broker's."),
    TopicDef("min.cleanable.dirty.ratio", DOUBLE, &["log.cleaner.min.cleanable.ratio"], "Share of uncompacted log that triggers compaction."),
    TopicDef("min.compaction.lag.ms", LONG, &["log.cleaner.min.compaction.lag.ms"], "Shortest time a record stays uncompacted."),
    TopicDef("min.insync.replicas", INT, &["min.insync.replicas"], "Replicas that must acknowledge an acks=all write."),
    TopicDef("preallocate", BOOLEAN, &["log.preallocate"], "Whether segment files are allocated in full when created."),
    TopicDef("remote.storage.enable", BOOLEAN, &[], "Whether the topic uses tiered storage."),
    TopicDef("retention.bytes", LONG, &["log.retention.bytes"], "Largest size of a partition before old segments go (-1: no limit)."),
    TopicDef("retention.ms", LONG, &["log.retention.ms", "log.retention.minutes", "log.retention.hours"], "Age after which old segments go (-1: keep forever)."),
    TopicDef("segment.bytes", INT, &["log.segment.bytes"], "Size of one log segment file."),
    TopicDef("segment.index.bytes", INT, &["log.index.size.max.bytes"], "Size of a segment's offset index."),
    TopicDef("segment.jitter.ms", LONG, &["log.roll.jitter.ms", "log.roll.jitter.hours"], "Random jitter taken off segment.ms."),
    TopicDef("segment.ms", LONG, &["log.roll.ms", "log.roll.hours"], "Age after which a segment is rolled even if not full."),
    TopicDef("unclean.leader.election.enable", BOOLEAN, &["unclean.leader.election.enable"], "Whether an out-of-sync replica may become leader."),
];

/// A broker config: name, type, Kafka's default, description (`""`: the
/// broker default of the topic config it is a synonym of).
struct BrokerDef(&'static str, i8, Option<&'static str>, &'static str);

const MAX: &str = "9223372036854775807";

#[rustfmt::skip]
const BROKER_DEFS: &[BrokerDef] = &[
    BrokerDef("advertised.listeners", STRING, None, "Addresses clients are told to connect to."),
    BrokerDef("auto.create.topics.enable", BOOLEAN, Some("true"), "Whether Metadata and Produce create unknown topics."),
    BrokerDef("broker.id", INT, Some("-1"), "This broker's id (the same as node.id)."),
    BrokerDef("broker.rack", STRING, None, "Rack of this broker, for rack-aware clients."),
    BrokerDef("compression.gzip.level", INT, Some("-1"), ""),
    BrokerDef("compression.lz4.level", INT, Some("9"), ""),
    BrokerDef("compression.type", STRING, Some("producer"), ""),
    BrokerDef("compression.zstd.level", INT, Some("3"), ""),
    BrokerDef("fetch.max.bytes", INT, Some("57671680"), "Most bytes one Fetch response carries."),
    BrokerDef("log.cleaner.backoff.ms", LONG, Some("15000"), "How long the log cleaner sleeps when no log needs compacting."),
    BrokerDef("log.cleaner.delete.retention.ms", LONG, Some("86400000"), ""),
    BrokerDef("log.cleaner.enable", BOOLEAN, Some("true"), "Whether topics with cleanup.policy=compact are compacted."),
    BrokerDef("log.cleaner.max.compaction.lag.ms", LONG, Some(MAX), ""),
    BrokerDef("log.cleaner.min.cleanable.ratio", DOUBLE, Some("0.5"), ""),
    BrokerDef("log.cleaner.min.compaction.lag.ms", LONG, Some("0"), ""),
    BrokerDef("log.cleanup.policy", LIST, Some("delete"), ""),
    BrokerDef("log.flush.interval.messages", LONG, Some(MAX), ""),
    BrokerDef("log.flush.interval.ms", LONG, None, ""),
    BrokerDef("log.flush.scheduler.interval.ms", LONG, Some(MAX), ""),
    BrokerDef("log.index.interval.bytes", INT, Some("4096"), ""),
    BrokerDef("log.index.size.max.bytes", INT, Some("10485760"), ""),
    BrokerDef("log.local.retention.bytes", LONG, Some("-2"), ""),
    BrokerDef("log.local.retention.ms", LONG, Some("-2"), ""),
    BrokerDef("log.message.downconversion.enable", BOOLEAN, Some("true"), ""),
    BrokerDef("log.message.format.version", STRING, Some("3.0-IV1"), ""),
    BrokerDef("log.message.timestamp.after.max.ms", LONG, Some(MAX), ""),
    BrokerDef("log.message.timestamp.before.max.ms", LONG, Some(MAX), ""),
    BrokerDef("log.message.timestamp.difference.max.ms", LONG, Some(MAX), ""),
    BrokerDef("log.message.timestamp.type", STRING, Some("CreateTime"), ""),
    BrokerDef("log.preallocate", BOOLEAN, Some("false"), ""),
    BrokerDef("log.retention.bytes", LONG, Some("-1"), ""),
    BrokerDef("log.retention.check.interval.ms", LONG, Some("300000"), "How often retention runs."),
    BrokerDef("log.retention.hours", INT, Some("168"), "Default retention in hours, used when log.retention.ms and log.retention.minutes are unset."),
    BrokerDef("log.retention.minutes", INT, None, "Default retention in minutes, used when log.retention.ms is unset."),
    BrokerDef("log.retention.ms", LONG, None, ""),
    BrokerDef("log.roll.hours", INT, Some("168"), "Default segment age in hours, used when log.roll.ms is unset."),
    BrokerDef("log.roll.jitter.hours", INT, Some("0"), "Default segment jitter in hours, used when log.roll.jitter.ms is unset."),
    BrokerDef("log.roll.jitter.ms", LONG, None, ""),
    BrokerDef("log.roll.ms", LONG, None, ""),
    BrokerDef("log.segment.bytes", INT, Some("1073741824"), ""),
    BrokerDef("log.segment.delete.delay.ms", LONG, Some("60000"), ""),
    BrokerDef("max.incremental.fetch.session.cache.slots", INT, Some("1000"), "Incremental fetch sessions the broker keeps."),
    BrokerDef("message.max.bytes", INT, Some("1048588"), ""),
    BrokerDef("min.insync.replicas", INT, Some("1"), ""),
    BrokerDef("node.id", INT, None, "This node's id in the cluster."),
    BrokerDef("num.partitions", INT, Some("1"), "Partitions of a topic created without a count."),
    BrokerDef("unclean.leader.election.enable", BOOLEAN, Some("false"), ""),
];

/// Broker configs a name falls back through, as Kafka groups them.
fn broker_group(name: &str) -> &'static [&'static str] {
    const GROUPS: &[&[&str]] = &[
        &["log.roll.ms", "log.roll.hours"],
        &["log.roll.jitter.ms", "log.roll.jitter.hours"],
        &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        &[
            "log.retention.ms",
            "log.retention.minutes",
            "log.retention.hours",
        ],
    ];
    GROUPS
        .iter()
        .copied()
        .find(|g| g.contains(&name))
        .unwrap_or(&[])
}

/// The value of a broker config set in the broker's settings (a static config).
pub(crate) fn broker_static(config: &Config, name: &str) -> Option<String> {
    Some(match name {
        "node.id" | "broker.id" => config.node_id.to_string(),
        "advertised.listeners" => format!(
            "PLAINTEXT://{}:{}",
            config.advertised_host, config.advertised_port
        ),
        "broker.rack" => return config.rack.clone(),
        "auto.create.topics.enable" => config.auto_create_topics.to_string(),
        "num.partitions" => config.default_partitions.to_string(),
        "message.max.bytes" => config.message_max_bytes.to_string(),
        "log.retention.ms" => config.log_retention_ms.to_string(),
        "log.retention.bytes" => config.log_retention_bytes.to_string(),
        "log.segment.bytes" => config.log_segment_bytes.to_string(),
        "log.retention.check.interval.ms" => config.retention_check_interval_ms.to_string(),
        "log.cleaner.enable" => config.log_cleaner_enable.to_string(),
        "log.cleaner.backoff.ms" => config.log_cleaner_backoff_ms.to_string(),
        "fetch.max.bytes" => config.fetch_max_bytes.to_string(),
        "max.incremental.fetch.session.cache.slots" => config.fetch_session_cache_slots.to_string(),
        _ => return None,
    })
}

fn topic_def(name: &str) -> Option<&'static TopicDef> {
    TOPIC_DEFS.iter().find(|d| d.0 == name)
}

fn broker_def(name: &str) -> Option<&'static BrokerDef> {
    BROKER_DEFS.iter().find(|d| d.0 == name)
}

/// The ConfigType of a topic config (0: unknown).
pub(crate) fn topic_type(name: &str) -> i8 {
    topic_def(name).map_or(0, |d| d.1)
}

/// The ConfigType of a broker config (0: unknown).
pub(crate) fn broker_type(name: &str) -> i8 {
    broker_def(name).map_or(0, |d| d.1)
}

/// A short description of a topic config.
pub(crate) fn topic_doc(name: &str) -> Option<String> {
    topic_def(name).map(|d| d.3.to_string())
}

/// A short description of a broker config.
pub(crate) fn broker_doc(name: &str) -> Option<String> {
    let d = broker_def(name)?;
    if !d.3.is_empty() {
        return Some(d.3.to_string());
    }
    let topic = TOPIC_DEFS.iter().find(|t| t.2.contains(&d.0))?;
    Some(format!(
        "Broker default of the topic config {}: {}",
        topic.0, topic.3
    ))
}

/// Names of the broker configs this broker describes, in order.
pub(crate) fn broker_names() -> impl Iterator<Item = &'static str> {
    BROKER_DEFS.iter().map(|d| d.0)
}

/// A broker config's value: set in the settings, else Kafka's default.
pub(crate) fn broker_value(config: &Config, name: &str) -> Option<String> {
    broker_static(config, name).or_else(|| broker_def(name).and_then(|d| d.2.map(str::to_string)))
}

fn synonym(name: &str, value: Option<String>, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym {
        name: name.into(),
        value: value.map(Into::into),
        source,
        ..Default::default()
    }
}

/// The broker part of a synonym chain: static values of `names`, then
/// Kafka defaults of `names`, starting at the first entry named `first`.
fn broker_chain(config: &Config, first: &str, names: &[&str]) -> Vec<DescribeConfigsSynonym> {
    let statics = names.iter().filter_map(|n| {
        broker_static(config, n).map(|v| synonym(n, Some(v), SOURCE_STATIC_BROKER))
    });
    let defaults = names.iter().filter_map(|n| {
        broker_def(n)
            .and_then(|d| d.2)
            .map(|v| synonym(n, Some(v.to_string()), SOURCE_DEFAULT))
    });
    statics
        .chain(defaults)
        .skip_while(|s| &*s.name != first)
        .collect()
}

/// The synonym chain of a topic config; `set` is the topic's own value.
pub(crate) fn topic_synonyms(
    config: &Config,
    name: &str,
    set: Option<&str>,
) -> Vec<DescribeConfigsSynonym> {
    let mut out: Vec<_> = set
        .map(|v| synonym(name, Some(v.to_string()), SOURCE_TOPIC))
        .into_iter()
        .collect();
    if let Some(first) = topic_def(name).and_then(|d| d.2.first()) {
        let group = broker_group(first);
        let names: &[&str] = if group.is_empty() {
            std::slice::from_ref(first)
        } else {
            group
        };
        out.extend(broker_chain(config, first, names));
    }
    out
}

/// The synonym chain of a broker config on this broker.
pub(crate) fn broker_synonyms(config: &Config, name: &str) -> Vec<DescribeConfigsSynonym> {
    let group = broker_group(name);
    let names: &[&str] = if group.is_empty() {
        std::slice::from_ref(&name)
    } else {
        group
    };
    broker_chain(config, name, names)
}

/// The effective value of a topic config given the topic's own value.
pub(crate) fn topic_value(config: &Config, name: &str, set: Option<&str>) -> Option<String> {
    set.map(str::to_string)
        .or_else(|| topic_default(config, name))
}

/// Whether a topic config holds a comma-separated list (APPEND and SUBTRACT apply).
pub(crate) fn is_list(name: &str) -> bool {
    topic_type(name) == LIST
}

/// Every topic config name, in order.
pub(crate) fn topic_names() -> &'static [&'static str] {
    TOPIC_CONFIGS
}

/// Checks one topic config value as Kafka's LogConfig does: the name, the
/// type, then the range. `Err` is the INVALID_CONFIG message.
pub(crate) fn validate_topic_config(name: &str, value: &str) -> Result<(), String> {
    check_config(name, value)?;
    let invalid = |why: &str| {
        Err(format!(
            "Invalid value {value} for configuration {name}: {why}"
        ))
    };
    let v = value.trim();
    let ty = topic_type(name);
    let number = match ty {
        BOOLEAN if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") => {
            return invalid("Expected value to be either true or false");
        }
        INT | SHORT | LONG => {
            let parsed = match ty {
                INT => v.parse::<i32>().ok().map(f64::from),
                SHORT => v.parse::<i16>().ok().map(f64::from),
                _ => v.parse::<i64>().ok().map(|n| n as f64),
            };
            let Some(n) = parsed else {
                let t = match ty {
                    INT => "INT",
                    SHORT => "SHORT",
                    _ => "LONG",
                };
                return invalid(&format!("Not a number of type {t}"));
            };
            Some(n)
        }
        DOUBLE => match v.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => return invalid("Not a number of type DOUBLE"),
        },
        _ => None,
    };
    if let Some(n) = number {
        if let Some((lo, hi)) = range(name) {
            if n < lo && !(name == "compression.gzip.level" && n == -1.0) {
                return invalid(&format!("Value must be at least {lo}"));
            }
            if n > hi {
                return invalid(&format!("Value must be no more than {hi}"));
            }
        }
    }
    if name.ends_with(".replication.throttled.replicas") && !throttled_list_ok(v) {
        return invalid("must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...");
    }
    Ok(())
}

/// Kafka's bounds for numeric topic configs.
fn range(name: &str) -> Option<(f64, f64)> {
    let max = f64::MAX;
    Some(match name {
        "segment.bytes" => (14.0, max),
        "segment.ms" | "flush.messages" | "max.compaction.lag.ms" | "min.insync.replicas" => {
            (1.0, max)
        }
        "segment.index.bytes" => (4.0, max),
        "retention.ms" => (-1.0, max),
        "local.retention.ms" | "local.retention.bytes" => (-2.0, max),
        "min.cleanable.dirty.ratio" => (0.0, 1.0),
        "compression.gzip.level" => (1.0, 9.0),
        "compression.lz4.level" => (1.0, 17.0),
        "compression.zstd.level" => (-131072.0, 22.0),
        "segment.jitter.ms"
        | "flush.ms"
        | "max.message.bytes"
        | "index.interval.bytes"
        | "delete.retention.ms"
        | "min.compaction.lag.ms"
        | "file.delete.delay.ms"
        | "message.timestamp.after.max.ms"
        | "message.timestamp.before.max.ms"
        | "message.timestamp.difference.max.ms" => (0.0, max),
        _ => return None,
    })
}

fn throttled_list_ok(v: &str) -> bool {
    v.is_empty()
        || v == "*"
        || v.split(',').all(|item| {
            let mut parts = item.trim().split(':');
            matches!((parts.next(), parts.next(), parts.next()), (Some(p), Some(b), None)
                if p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok())
        })
}

/// Checks a topic's whole set of configs, each value and the rules that
/// tie two together. `Err` is the INVALID_CONFIG message.
pub(crate) fn validate_topic_set<'a>(
    configs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<(), String> {
    for (k, v) in configs.clone() {
        validate_topic_config(k, v)?;
    }
    let get = |name: &str| {
        configs
            .clone()
            .into_iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.trim().parse::<i64>().ok())
    };
    if let (Some(min), Some(max)) = (get("min.compaction.lag.ms"), get("max.compaction.lag.ms")) {
        if min > max {
            return Err(format!("conflict topic config setting min.compaction.lag.ms ({min}) > max.compaction.lag.ms ({max})"));
        }
    }
    Ok(())
}

/// Kafka's message for a topic name it rejects (INVALID_TOPIC_EXCEPTION).
pub(crate) fn topic_name_error(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("Topic name is illegal, it can't be empty".into())
    } else if name == "." || name == ".." {
        Some("Topic name cannot be \".\" or \"..\"".into())
    } else if name.len() > 249 {
        Some(format!(
            "Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"
        ))
    } else if !crate::broker::valid_topic_name(name) {
        Some(format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_config_has_a_definition() {
        for name in TOPIC_CONFIGS {
            assert!(topic_def(name).is_some(), "{name}");
            for b in topic_def(name).map(|d| d.2).unwrap_or(&[]) {
                assert!(broker_def(b).is_some(), "{b}");
            }
        }
    }

    #[test]
    fn retention_ms_chain_follows_kafka() {
        let c = Config::default();
        let s = topic_synonyms(&c, "retention.ms", Some("1000"));
        let names: Vec<(&str, i8)> = s.iter().map(|s| (&*s.name, s.source)).collect();
        assert_eq!(
            names,
            [
                ("retention.ms", SOURCE_TOPIC),
                ("log.retention.ms", SOURCE_STATIC_BROKER),
                ("log.retention.hours", SOURCE_DEFAULT)
            ]
        );
        // segment.ms: log.roll.ms has no default, so the chain is empty.
        assert!(topic_synonyms(&c, "segment.ms", None).is_empty());
        // Nothing named log.retention.minutes in the chain: Kafka shows none.
        assert!(broker_synonyms(&c, "log.retention.minutes").is_empty());
        assert_eq!(broker_synonyms(&c, "log.retention.hours").len(), 1);
    }

    #[test]
    fn values_are_checked_by_type_and_range() {
        assert!(validate_topic_config("retention.ms", "-1").is_ok());
        assert!(validate_topic_config("retention.ms", "-2").is_err());
        assert!(validate_topic_config("preallocate", "yes").is_err());
        assert!(validate_topic_config("min.cleanable.dirty.ratio", "1.5").is_err());
        assert!(validate_topic_config("compression.gzip.level", "-1").is_ok());
        assert!(validate_topic_config("leader.replication.throttled.replicas", "0:1,1:1").is_ok());
        assert!(validate_topic_config("leader.replication.throttled.replicas", "x").is_err());
        assert!(validate_topic_set([
            ("min.compaction.lag.ms", "10"),
            ("max.compaction.lag.ms", "5")
        ])
        .is_err());
    }
}
