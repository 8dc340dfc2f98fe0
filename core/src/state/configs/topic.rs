//! Every topic config Kafka defines: its type, the broker configs it falls
//! back to, its default on this broker and a short description, and the
//! checks Kafka's `LogConfig` makes of a value, with Kafka's messages.

use super::{BOOLEAN, DOUBLE, INT, LIST, LONG, SHORT, STRING};
use crate::state::Config;

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

/// Every topic config name, in order.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    TOPIC_DEFS.iter().map(|d| d.0)
}

fn def(name: &str) -> Option<&'static TopicDef> {
    TOPIC_DEFS.iter().find(|d| d.0 == name)
}

/// The ConfigType of a topic config (0: unknown).
pub(crate) fn config_type(name: &str) -> i8 {
    def(name).map_or(0, |d| d.1)
}

/// A short description of a topic config.
pub(crate) fn doc(name: &str) -> Option<String> {
    def(name).map(|d| d.3.to_string())
}

/// The broker configs a topic config falls back to, the primary one first.
pub(crate) fn broker_synonyms(name: &str) -> &'static [&'static str] {
    def(name).map_or(&[], |d| d.2)
}

/// The topic config a broker config is the default of, with its description.
pub(crate) fn of_broker_config(broker_name: &str) -> Option<(&'static str, &'static str)> {
    TOPIC_DEFS
        .iter()
        .find(|t| t.2.contains(&broker_name))
        .map(|t| (t.0, t.3))
}

/// Whether a topic config holds a comma-separated list (APPEND and SUBTRACT apply).
pub(crate) fn is_list(name: &str) -> bool {
    config_type(name) == LIST
}

/// The effective value of a topic config given the topic's own value.
pub(crate) fn value(config: &Config, name: &str, set: Option<&str>) -> Option<String> {
    set.map(str::to_string).or_else(|| default(config, name))
}

/// The default of a topic config on this broker.
pub(crate) fn default(config: &Config, name: &str) -> Option<String> {
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

/// Checks a topic config value; `Err` holds the message for INVALID_CONFIG.
fn check_name_and_kind(name: &str, value: &str) -> Result<(), String> {
    if def(name).is_none() {
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

/// Checks one topic config value as Kafka's LogConfig does: the name, the
/// type, then the range. `Err` is the INVALID_CONFIG message.
pub(crate) fn validate(name: &str, value: &str) -> Result<(), String> {
    check_name_and_kind(name, value)?;
    let invalid = |why: &str| {
        Err(format!(
            "Invalid value {value} for configuration {name}: {why}"
        ))
    };
    let v = value.trim();
    let ty = config_type(name);
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
pub(crate) fn validate_set<'a>(
    configs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<(), String> {
    for (k, v) in configs.clone() {
        validate(k, v)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_config_has_a_default_and_known_synonyms() {
        let c = Config::default();
        for name in names() {
            assert!(default(&c, name).is_some(), "{name}");
            for b in broker_synonyms(name) {
                assert!(super::super::defs::config_type(b) != 0, "{b}");
            }
        }
    }

    #[test]
    fn values_are_checked_by_type_and_range() {
        assert!(validate("retention.ms", "-1").is_ok());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("preallocate", "yes").is_err());
        assert!(validate("min.cleanable.dirty.ratio", "1.5").is_err());
        assert!(validate("compression.gzip.level", "-1").is_ok());
        assert!(validate("leader.replication.throttled.replicas", "0:1,1:1").is_ok());
        assert!(validate("leader.replication.throttled.replicas", "x").is_err());
        assert!(validate_set([
            ("min.compaction.lag.ms", "10"),
            ("max.compaction.lag.ms", "5")
        ])
        .is_err());
    }
}
