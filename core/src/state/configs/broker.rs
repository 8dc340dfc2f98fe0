//! The broker configs DescribeConfigs reports, and the synonym chain
//! Kafka shows for a value.
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

pub(crate) use super::defs::config_type;
use super::defs::{def, BROKER_DEFS};
use super::dynamic::{self, Dynamic};
use super::topic;
use super::{
    SOURCE_DEFAULT, SOURCE_DYNAMIC_BROKER, SOURCE_DYNAMIC_DEFAULT, SOURCE_STATIC_BROKER,
    SOURCE_TOPIC,
};
use crate::protocol::messages::describe_configs_response::DescribeConfigsSynonym;
use crate::state::Config;

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
pub(crate) fn static_value(config: &Config, name: &str) -> Option<String> {
    Some(match name {
        "node.id" | "broker.id" => config.node_id.to_string(),
        "advertised.listeners" => format!(
            "PLAINTEXT://{}:{}",
            config.advertised_host, config.advertised_port
        ),
        "broker.rack" => return config.rack.clone(),
        "auto.create.topics.enable" => config.auto_create_topics.to_string(),
        "num.partitions" => config.default_partitions.to_string(),
        "default.replication.factor" => config.default_replication_factor.to_string(),
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

/// A short description of a broker config.
pub(crate) fn doc(name: &str) -> Option<String> {
    let d = def(name)?;
    if !d.3.is_empty() {
        return Some(d.3.to_string());
    }
    let (topic, doc) = topic::of_broker_config(d.0)?;
    Some(format!("Broker default of the topic config {topic}: {doc}"))
}

/// Whether `name` is one of the broker configs [`names`] lists.
pub(crate) fn is_described(name: &str) -> bool {
    def(name).is_some()
}

/// Names of the broker configs this broker describes, in order.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    BROKER_DEFS.iter().map(|d| d.0)
}

/// A broker config's value: set in the settings, else Kafka's default.
pub(crate) fn value(config: &Config, name: &str) -> Option<String> {
    static_value(config, name).or_else(|| def(name).and_then(|d| d.2.map(str::to_string)))
}

fn synonym(name: &str, value: Option<String>, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym {
        name: name.into(),
        value: value.map(Into::into),
        source,
        ..Default::default()
    }
}

/// The broker part of a synonym chain, in Kafka's order: this broker's
/// dynamic values of `names`, the cluster's dynamic defaults of them,
/// their static values, then their Kafka defaults, starting at the first
/// entry named `first`.
fn broker_chain(
    config: &Config,
    dynamic: &Dynamic,
    first: &str,
    names: &[&str],
) -> Vec<DescribeConfigsSynonym> {
    let level = |map: &crate::collections::Map<String, String>, source: i8| {
        names
            .iter()
            .filter_map(|n| {
                let v = map.get(*n)?;
                let shown = (!dynamic::is_sensitive(n)).then(|| v.clone());
                Some(synonym(n, shown, source))
            })
            .collect::<Vec<_>>()
    };
    let node = level(&dynamic.node, SOURCE_DYNAMIC_BROKER);
    let default = level(&dynamic.default, SOURCE_DYNAMIC_DEFAULT);
    let statics = names
        .iter()
        .filter_map(|n| static_value(config, n).map(|v| synonym(n, Some(v), SOURCE_STATIC_BROKER)));
    let defaults = names.iter().filter_map(|n| {
        def(n)
            .and_then(|d| d.2)
            .map(|v| synonym(n, Some(v.to_string()), SOURCE_DEFAULT))
    });
    node.into_iter()
        .chain(default)
        .chain(statics)
        .chain(defaults)
        .skip_while(|s| &*s.name != first)
        .collect()
}

/// The synonym chain of a topic config; `set` is the topic's own value.
pub(crate) fn topic_synonyms(
    config: &Config,
    dynamic: &Dynamic,
    name: &str,
    set: Option<&str>,
) -> Vec<DescribeConfigsSynonym> {
    let mut out: Vec<_> = set
        .map(|v| synonym(name, Some(v.to_string()), SOURCE_TOPIC))
        .into_iter()
        .collect();
    if let Some(first) = topic::broker_synonyms(name).first() {
        let group = broker_group(first);
        let names: &[&str] = if group.is_empty() {
            std::slice::from_ref(first)
        } else {
            group
        };
        out.extend(broker_chain(config, dynamic, first, names));
    }
    out
}

/// The synonym chain of a broker config on this broker.
pub(crate) fn broker_synonyms(
    config: &Config,
    dynamic: &Dynamic,
    name: &str,
) -> Vec<DescribeConfigsSynonym> {
    let group = broker_group(name);
    let names: &[&str] = if group.is_empty() {
        std::slice::from_ref(&name)
    } else {
        group
    };
    broker_chain(config, dynamic, name, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_ms_chain_follows_kafka() {
        let c = Config::default();
        let none = Dynamic::default();
        let s = topic_synonyms(&c, &none, "retention.ms", Some("1000"));
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
        assert!(topic_synonyms(&c, &none, "segment.ms", None).is_empty());
        // Nothing named log.retention.minutes in the chain: Kafka shows none.
        assert!(broker_synonyms(&c, &none, "log.retention.minutes").is_empty());
        assert_eq!(broker_synonyms(&c, &none, "log.retention.hours").len(), 1);
    }

    #[test]
    fn dynamic_values_come_before_static_ones() {
        let c = Config::default();
        let mut d = Dynamic::default();
        d.default.insert("log.retention.ms".into(), "5000".into());
        d.node.insert("log.retention.hours".into(), "3".into());
        d.node.insert("message.max.bytes".into(), "64".into());
        d.default.insert("message.max.bytes".into(), "128".into());
        let m = broker_synonyms(&c, &d, "message.max.bytes");
        let sources: Vec<i8> = m.iter().map(|s| s.source).collect();
        assert_eq!(
            sources,
            [
                SOURCE_DYNAMIC_BROKER,
                SOURCE_DYNAMIC_DEFAULT,
                SOURCE_STATIC_BROKER,
                SOURCE_DEFAULT
            ]
        );
        let s = topic_synonyms(&c, &d, "retention.ms", None);
        let names: Vec<(&str, i8)> = s.iter().map(|s| (&*s.name, s.source)).collect();
        // As in Kafka, entries before the first `log.retention.ms` are
        // dropped, this broker's `log.retention.hours` too (the default's
        // `log.retention.ms` wins over it anyway).
        assert_eq!(
            names,
            [
                ("log.retention.ms", SOURCE_DYNAMIC_DEFAULT),
                ("log.retention.ms", SOURCE_STATIC_BROKER),
                ("log.retention.hours", SOURCE_DEFAULT)
            ]
        );
    }
}
