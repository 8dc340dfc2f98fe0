//! The broker configs Spate knows: name, type, Kafka's default and
//! description. Both the description of broker configs (`broker.rs`) and
//! the checks of dynamic ones (`dynamic.rs`) read it.

use super::{BOOLEAN, DOUBLE, INT, LIST, LONG, STRING};

/// A broker config: name, type, Kafka's default, description (`""`: the
/// broker default of the topic config it is a synonym of).
pub(super) struct BrokerDef(
    pub(super) &'static str,
    pub(super) i8,
    pub(super) Option<&'static str>,
    pub(super) &'static str,
);

const MAX: &str = "9223372036854775807";

#[rustfmt::skip]
pub(super) const BROKER_DEFS: &[BrokerDef] = &[
    BrokerDef("advertised.listeners", STRING, None, "Addresses clients are told to connect to."),
    BrokerDef("auto.create.topics.enable", BOOLEAN, Some("true"), "Whether Metadata and Produce create unknown topics."),
    BrokerDef("broker.id", INT, Some("-1"), "This broker's id (the same as node.id)."),
    BrokerDef("broker.rack", STRING, None, "Rack of this broker, for rack-aware clients."),
    BrokerDef("compression.gzip.level", INT, Some("-1"), ""),
    BrokerDef("compression.lz4.level", INT, Some("9"), ""),
    BrokerDef("compression.type", STRING, Some("producer"), ""),
    BrokerDef("compression.zstd.level", INT, Some("3"), ""),
    BrokerDef("default.replication.factor", INT, Some("1"), "Replicas of a topic created without a replication factor (ZooKeeper mode)."),
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
    BrokerDef("max.connections", INT, Some("2147483647"), "Connections of all listeners together; at the limit the broker accepts no more until one closes (enforced by the native driver)."),
    BrokerDef("max.connections.per.ip", INT, Some("2147483647"), "Connections from one address; one more is closed at once (enforced by the native driver)."),
    BrokerDef("max.connections.per.ip.overrides", STRING, Some(""), "Per-address exceptions to max.connections.per.ip, as host:count,..."),
    BrokerDef("max.incremental.fetch.session.cache.slots", INT, Some("1000"), "Incremental fetch sessions the broker keeps."),
    BrokerDef("message.max.bytes", INT, Some("1048588"), ""),
    BrokerDef("min.insync.replicas", INT, Some("1"), ""),
    BrokerDef("node.id", INT, None, "This node's id in the cluster."),
    BrokerDef("num.partitions", INT, Some("1"), "Partitions of a topic created without a count."),
    BrokerDef("unclean.leader.election.enable", BOOLEAN, Some("false"), ""),
];

pub(super) fn def(name: &str) -> Option<&'static BrokerDef> {
    BROKER_DEFS.iter().find(|d| d.0 == name)
}

/// The ConfigType of a broker config (0: unknown).
pub(crate) fn config_type(name: &str) -> i8 {
    def(name).map_or(0, |d| d.1)
}
