//! Dynamic broker configs: the broker configs AlterConfigs and
//! IncrementalAlterConfigs may change at run time, per broker (resource
//! name: the node id) or as cluster-wide defaults (an empty name), as
//! Kafka's `DynamicBrokerConfig` allows them.
//!
//! They are stored as ConfigRecords of resource type BROKER in the
//! metadata log, so they survive a restart (in ZooKeeper mode the driver
//! keeps them in `/config/brokers` instead, and hands each level back
//! whole: `Broker::handle_broker_configs`), and folded over the broker's
//! static settings in Kafka's order: this broker's value, then the
//! cluster default, then `server.properties`, then Kafka's default
//! ([`effective`]). The ones Spate acts on take effect at once:
//! `message.max.bytes`, `log.retention.ms` (or `.minutes`, `.hours`),
//! `log.retention.bytes`, `log.segment.bytes` for topics that set no
//! value of their own, and `log.cleaner.backoff.ms`; the native driver
//! reads `max.connections`, `max.connections.per.ip` and its overrides
//! through `Broker::dynamic_config`. The others are kept and described,
//! as Kafka keeps a config no component of this broker reads.
//!
//! # Checks, in Kafka's order (all INVALID_REQUEST)
//!
//! 1. A config Kafka defines but cannot change at run time: "Cannot
//!    update these configs dynamically".
//! 2. An `ssl.*` keystore or truststore config without a listener
//!    prefix: "These security configs can be dynamically updated only
//!    per-listener using the listener prefix".
//! 3. A value that is not of the config's type.
//! 4. At the cluster level, a per-broker config (listeners, SSL, SASL):
//!    "Cannot update these configs at default cluster level, broker id
//!    must be specified".
//!
//! A name Kafka does not define is kept as it is (Kafka allows custom
//! broker configs).

use crate::collections::Map;

use super::{topic, BOOLEAN, DOUBLE, INT, LONG};
use crate::state::Config;

/// The dynamic broker configs stored in the metadata log: this broker's
/// own (DYNAMIC_BROKER_CONFIG) and the cluster-wide defaults
/// (DYNAMIC_DEFAULT_BROKER_CONFIG).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Dynamic {
    /// Set for this broker (resource name: its node id).
    pub node: Map<String, String>,
    /// Set for every broker (an empty resource name).
    pub default: Map<String, String>,
}

impl Dynamic {
    /// A config's dynamic value: this broker's, else the cluster default.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.node
            .get(name)
            .or_else(|| self.default.get(name))
            .map(String::as_str)
    }

    /// The configs stored for resource `name` ("" or this node's id).
    pub fn level(&self, per_broker: bool) -> &Map<String, String> {
        if per_broker {
            &self.node
        } else {
            &self.default
        }
    }
}

/// Keystore and truststore configs: dynamic only behind a listener prefix.
const SECURITY: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.truststore.certificates",
];

/// Listener, SSL and SASL configs (Kafka's `DynamicListenerConfig`): per
/// broker only, except the three cluster-level ones below.
const LISTENER: &[&str] = &[
    "advertised.listeners",
    "listeners",
    "listener.security.protocol.map",
    "principal.builder.class",
    "ssl.protocol",
    "ssl.provider",
    "ssl.cipher.suites",
    "ssl.enabled.protocols",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.endpoint.identification.algorithm",
    "ssl.secure.random.implementation",
    "ssl.client.auth",
    "ssl.engine.factory.class",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.jaas.config",
    "sasl.enabled.mechanisms",
    "sasl.kerberos.service.name",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.principal.to.local.rules",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "max.connections",
    "max.connection.creation.rate",
    "num.network.threads",
];

/// Listener configs that may also be set for the whole cluster.
const CLUSTER_LEVEL_LISTENER: &[&str] = &[
    "max.connections",
    "max.connection.creation.rate",
    "num.network.threads",
];

/// The other dynamic configs, all cluster-wide: log cleaner, thread
/// pools, connection limits, producer state, remote log, quotas.
const CLUSTER_WIDE: &[&str] = &[
    "log.cleaner.threads",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.buffer.size",
    "log.cleaner.io.buffer.load.factor",
    "log.cleaner.backoff.ms",
    "num.io.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "background.threads",
    "metric.reporters",
    "max.connections.per.ip",
    "max.connections.per.ip.overrides",
    "producer.id.expiration.ms",
    "transaction.partition.verification.enable",
    "remote.log.index.file.cache.total.size.bytes",
    "remote.fetch.max.wait.ms",
    "remote.log.manager.copy.max.bytes.per.second",
    "remote.log.manager.fetch.max.bytes.per.second",
    "remote.list.offsets.request.timeout.ms",
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
];

/// Broker configs Kafka defines that never change at run time (those
/// Spate knows of; the dynamic ones are listed above and in the log
/// defaults of topic configs).
const STATIC: &[&str] = &[
    "auto.create.topics.enable",
    "auto.leader.rebalance.enable",
    "broker.id",
    "broker.rack",
    "controlled.shutdown.enable",
    "controlled.shutdown.max.retries",
    "controlled.shutdown.retry.backoff.ms",
    "default.replication.factor",
    "delete.topic.enable",
    "fetch.max.bytes",
    "group.initial.rebalance.delay.ms",
    "group.max.session.timeout.ms",
    "group.max.size",
    "group.min.session.timeout.ms",
    "inter.broker.listener.name",
    "log.cleaner.enable",
    "log.dir",
    "log.dirs",
    "log.message.format.version",
    "log.retention.check.interval.ms",
    "max.incremental.fetch.session.cache.slots",
    "node.id",
    "num.partitions",
    "offset.metadata.max.bytes",
    "offsets.commit.timeout.ms",
    "offsets.retention.check.interval.ms",
    "offsets.retention.minutes",
    "offsets.topic.num.partitions",
    "offsets.topic.replication.factor",
    "process.roles",
    "replica.fetch.backoff.ms",
    "replica.fetch.max.bytes",
    "replica.fetch.response.max.bytes",
    "replica.fetch.wait.max.ms",
    "replica.lag.time.max.ms",
    "request.timeout.ms",
    "socket.request.max.bytes",
    "transaction.state.log.min.isr",
    "transaction.state.log.num.partitions",
    "transaction.state.log.replication.factor",
    "zookeeper.connect",
    "zookeeper.connection.timeout.ms",
    "zookeeper.session.timeout.ms",
];

/// `listener.name.<listener>.<config>`: the config's name without the prefix.
fn listener_base(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("listener.name.")?;
    let dot = rest.find('.')?;
    rest.get(dot + 1..)
}

/// Whether `name` is a broker default of a topic config (`log.retention.ms`).
fn is_log_default(name: &str) -> bool {
    name != "log.message.format.version" && topic::of_broker_config(name).is_some()
}

/// Whether Kafka lets `name` change at run time.
pub(crate) fn is_dynamic(name: &str) -> bool {
    LISTENER.contains(&name)
        || CLUSTER_WIDE.contains(&name)
        || SECURITY.contains(&name)
        || is_log_default(name)
}

/// Whether `name` may only be set for one broker, not cluster-wide.
fn is_per_broker(name: &str) -> bool {
    if let Some(base) = listener_base(name) {
        return !CLUSTER_LEVEL_LISTENER.contains(&base);
    }
    (LISTENER.contains(&name) || SECURITY.contains(&name))
        && !CLUSTER_LEVEL_LISTENER.contains(&name)
}

/// Whether a value of `name` is a secret DescribeConfigs does not show.
pub(crate) fn is_sensitive(name: &str) -> bool {
    let base = listener_base(name).unwrap_or(name);
    base.ends_with(".password") || base.ends_with("sasl.jaas.config") || base == "ssl.keystore.key"
}

/// The type of a dynamic config Spate checks values of (0: not checked).
fn value_type(name: &str) -> i8 {
    match name {
        "log.cleaner.threads"
        | "log.cleaner.io.buffer.size"
        | "num.io.threads"
        | "num.replica.fetchers"
        | "num.recovery.threads.per.data.dir"
        | "background.threads"
        | "max.connections"
        | "max.connection.creation.rate"
        | "max.connections.per.ip"
        | "num.network.threads"
        | "sasl.login.refresh.min.period.seconds"
        | "sasl.login.refresh.buffer.seconds"
        | "remote.fetch.max.wait.ms" => INT,
        "log.cleaner.dedupe.buffer.size"
        | "log.cleaner.backoff.ms"
        | "producer.id.expiration.ms"
        | "sasl.kerberos.min.time.before.relogin"
        | "remote.log.index.file.cache.total.size.bytes"
        | "remote.log.manager.copy.max.bytes.per.second"
        | "remote.log.manager.fetch.max.bytes.per.second"
        | "remote.list.offsets.request.timeout.ms"
        | "leader.replication.throttled.rate"
        | "follower.replication.throttled.rate"
        | "replica.alter.log.dirs.io.max.bytes.per.second" => LONG,
        "log.cleaner.io.max.bytes.per.second"
        | "log.cleaner.io.buffer.load.factor"
        | "sasl.kerberos.ticket.renew.window.factor"
        | "sasl.kerberos.ticket.renew.jitter"
        | "sasl.login.refresh.window.factor"
        | "sasl.login.refresh.window.jitter" => DOUBLE,
        "transaction.partition.verification.enable" => BOOLEAN,
        n => super::defs::config_type(n),
    }
}

/// Kafka's message for a value that is not of its config's type.
fn check_type(name: &str, value: &str) -> Result<(), String> {
    let v = value.trim();
    let (ok, kind) = match value_type(name) {
        INT => (v.parse::<i32>().is_ok(), "INT"),
        LONG => (v.parse::<i64>().is_ok(), "LONG"),
        DOUBLE => (v.parse::<f64>().is_ok(), "DOUBLE"),
        BOOLEAN => (
            v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            "BOOLEAN",
        ),
        _ => (true, ""),
    };
    if ok {
        return Ok(());
    }
    Err(if value_type(name) == BOOLEAN {
        format!("Invalid value {value} for configuration {name}: Expected value to be either true or false")
    } else {
        format!("Invalid value {value} for configuration {name}: Not a number of type {kind}")
    })
}

/// Kafka's `Set(a, b)` rendering of a list of names.
fn set_of(names: &[&str]) -> String {
    format!("Set({})", names.join(", "))
}

/// The names of `configs` that `f` picks.
fn picked(configs: &Map<String, String>, f: fn(&str) -> bool) -> Vec<&str> {
    configs
        .keys()
        .map(String::as_str)
        .filter(|k| f(k))
        .collect()
}

/// Checks a resource's new dynamic configs (see the module docs);
/// `per_broker`: the resource names this node, not the cluster default.
/// `Err` holds the message for INVALID_REQUEST.
pub(crate) fn check(configs: &Map<String, String>, per_broker: bool) -> Result<(), String> {
    let pick = |f: fn(&str) -> bool| picked(configs, f);
    let fixed = pick(|k| STATIC.contains(&k) && !is_dynamic(k));
    if !fixed.is_empty() {
        return Err(format!(
            "Cannot update these configs dynamically: {}",
            set_of(&fixed)
        ));
    }
    let unprefixed = pick(|k| SECURITY.contains(&k));
    if !unprefixed.is_empty() {
        return Err(format!(
            "These security configs can be dynamically updated only per-listener using the listener prefix: {}",
            set_of(&unprefixed)
        ));
    }
    for (k, v) in configs {
        check_type(listener_base(k).unwrap_or(k), v)?;
    }
    if !per_broker {
        let per = pick(is_per_broker);
        if !per.is_empty() {
            return Err(format!(
                "Cannot update these configs at default cluster level, broker id must be specified: {}",
                set_of(&per)
            ));
        }
    }
    Ok(())
}

/// The broker's settings with its dynamic configs applied: `statics`
/// where neither this broker nor the cluster default sets a value the
/// broker acts on. A value that does not parse is ignored, as Kafka
/// ignores an invalid stored dynamic config.
pub(crate) fn effective(statics: &Config, dynamic: &Dynamic) -> Config {
    let mut c = statics.clone();
    let long = |name: &str| dynamic.get(name).and_then(|v| v.trim().parse::<i64>().ok());
    // Kafka reads the three retention names in this order, the levels
    // folded together first. The settings keep one retention value (in
    // ms), so a dynamic one of any unit replaces it.
    let retention = long("log.retention.ms")
        .or_else(|| long("log.retention.minutes").map(|m| m.saturating_mul(60_000)))
        .or_else(|| long("log.retention.hours").map(|h| h.saturating_mul(3_600_000)));
    if let Some(ms) = retention {
        c.log_retention_ms = ms;
    }
    if let Some(b) = long("log.retention.bytes") {
        c.log_retention_bytes = b;
    }
    if let Some(b) = long("log.segment.bytes") {
        c.log_segment_bytes = b;
    }
    if let Some(b) = long("message.max.bytes").and_then(|b| i32::try_from(b).ok()) {
        c.message_max_bytes = b;
    }
    if let Some(ms) = long("log.cleaner.backoff.ms") {
        c.log_cleaner_backoff_ms = ms;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Map<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kafkas_checks_in_kafkas_order() {
        let relogin = set(&[("sasl.kerberos.min.time.before.relogin", "60000")]);
        assert_eq!(check(&relogin, true), Ok(()));
        let e = check(&relogin, false).unwrap_err();
        assert!(
            e.starts_with("Cannot update these configs at default cluster level"),
            "{e}"
        );
        assert_eq!(check(&set(&[("log.retention.ms", "1000")]), false), Ok(()));
        let e = check(&set(&[("log.retention.ms", "soon")]), false).unwrap_err();
        assert_eq!(
            e,
            "Invalid value soon for configuration log.retention.ms: Not a number of type LONG"
        );
        let e = check(
            &set(&[("num.partitions", "3"), ("log.retention.ms", "x")]),
            true,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Cannot update these configs dynamically: Set(num.partitions)"
        );
        let e = check(&set(&[("ssl.keystore.location", "/k")]), true).unwrap_err();
        assert!(e.contains("per-listener"), "{e}");
        let prefixed = set(&[("listener.name.plaintext.ssl.keystore.location", "/k")]);
        assert_eq!(check(&prefixed, true), Ok(()));
        assert!(check(&prefixed, false).is_err());
        assert_eq!(check(&set(&[("max.connections", "10")]), false), Ok(()));
        assert_eq!(check(&set(&[("my.custom.config", "x")]), false), Ok(()));
    }

    #[test]
    fn this_broker_beats_the_default_which_beats_the_static_value() {
        let statics = Config::default();
        let mut d = Dynamic::default();
        d.default.insert("log.retention.hours".into(), "2".into());
        assert_eq!(effective(&statics, &d).log_retention_ms, 7_200_000);
        d.node.insert("log.retention.minutes".into(), "1".into());
        assert_eq!(effective(&statics, &d).log_retention_ms, 60_000);
        d.default.insert("log.retention.ms".into(), "5".into());
        assert_eq!(effective(&statics, &d).log_retention_ms, 5);
        assert_eq!(effective(&statics, &Dynamic::default()), statics);
    }
}
