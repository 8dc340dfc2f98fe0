//! The Redis connectors' properties (the README's "Redis connectors"
//! section lists them with their defaults).

use anyhow::{anyhow, bail, Context as _};

use crate::connect::task::Props;

/// `redis.uri` when none is given.
pub(crate) const DEFAULT_URI: &str = "redis://127.0.0.1:6379";
/// What `${topic}` in a hash, stream or list name stands for.
const TOPIC: &str = "${topic}";

/// What the sink does with each record (`redis.command`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SinkCommand {
    /// `SET prefix+key value` (a tombstone: `DEL prefix+key`).
    Set,
    /// `HSET hash key value` into a hash per topic (a tombstone: `HDEL`).
    Hset,
    /// `XADD stream * field value...` into a stream per topic.
    Xadd,
    /// `RPUSH list value` onto a list per topic.
    Rpush,
}

impl SinkCommand {
    /// The command's name, as `redis.command` spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SinkCommand::Set => "SET",
            SinkCommand::Hset => "HSET",
            SinkCommand::Xadd => "XADD",
            SinkCommand::Rpush => "RPUSH",
        }
    }

    /// The Redis type of the key a command writes (`TYPE`'s answer).
    pub(crate) fn redis_type(self) -> &'static str {
        match self {
            SinkCommand::Set => "string",
            SinkCommand::Hset => "hash",
            SinkCommand::Xadd => "stream",
            SinkCommand::Rpush => "list",
        }
    }
}

/// The sink's configuration.
#[derive(Debug, Clone)]
pub(crate) struct SinkConfig {
    /// `redis.uri`.
    pub(crate) uri: String,
    /// `redis.command`.
    pub(crate) command: SinkCommand,
    /// `redis.key.prefix`: put before each record key (SET).
    pub(crate) key_prefix: String,
    /// The hash, stream or list name, with `${topic}` in it
    /// (`redis.hash.name`, `redis.stream.name`, `redis.list.name`).
    pub(crate) collection: String,
    /// `redis.stream.maxlen`: XADD trims the stream to about this many.
    pub(crate) stream_maxlen: Option<u64>,
    /// `redis.ttl.seconds`: each written key expires after this long.
    pub(crate) ttl_seconds: Option<u64>,
    /// `redis.offsets.key`: the hash that holds the Kafka offsets.
    pub(crate) offsets_key: String,
    /// `errors.tolerance=all`: refused records are passed to the worker
    /// and the rest of the batch is written; with `none` nothing of a
    /// batch with a refused record is written.
    pub(crate) tolerate_all: bool,
}

impl SinkConfig {
    /// Reads and checks the sink's properties.
    pub(crate) fn parse(props: &Props) -> anyhow::Result<SinkConfig> {
        let name = required(props, "name")?;
        let command = match get(props, "redis.command")
            .unwrap_or("SET")
            .to_ascii_uppercase()
            .as_str()
        {
            "SET" => SinkCommand::Set,
            "HSET" => SinkCommand::Hset,
            "XADD" => SinkCommand::Xadd,
            "RPUSH" => SinkCommand::Rpush,
            other => bail!("redis.command={other}: expected SET, HSET, XADD or RPUSH"),
        };
        let collection_key = match command {
            SinkCommand::Set | SinkCommand::Hset => "redis.hash.name",
            SinkCommand::Xadd => "redis.stream.name",
            SinkCommand::Rpush => "redis.list.name",
        };
        let collection = get(props, collection_key).unwrap_or(TOPIC).to_string();
        if collection.is_empty() {
            bail!("{collection_key} is empty");
        }
        let ttl_seconds = match number(props, "redis.ttl.seconds")? {
            Some(0) | None => None,
            some => some,
        };
        Ok(SinkConfig {
            uri: get(props, "redis.uri").unwrap_or(DEFAULT_URI).to_string(),
            command,
            key_prefix: get(props, "redis.key.prefix").unwrap_or("").to_string(),
            collection,
            stream_maxlen: number(props, "redis.stream.maxlen")?,
            ttl_seconds,
            offsets_key: get(props, "redis.offsets.key")
                .map(str::to_string)
                .unwrap_or_else(|| format!("__spate_connect_offsets:{name}")),
            tolerate_all: tolerance(props)?,
        })
    }

    /// The hash, stream or list that `topic`'s records go to.
    pub(crate) fn collection_for(&self, topic: &str) -> String {
        self.collection.replace(TOPIC, topic)
    }
}

/// Where the source reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceKind {
    /// `redis.stream`, read as a member of a consumer group.
    Stream {
        /// The stream's key.
        stream: String,
        /// `redis.group`.
        group: String,
        /// `redis.consumer`: this task's consumer name.
        consumer: String,
        /// `redis.stream.start.id`: where a new group starts.
        start_id: String,
        /// `redis.stream.key.field`: the field a record key comes from
        /// (the entry id when unset or absent).
        key_field: Option<String>,
    },
    /// `redis.list`, drained into a processing list.
    List {
        /// The list's key.
        list: String,
        /// `redis.processing.list`: this task's processing list.
        processing: String,
    },
}

/// The source's configuration.
#[derive(Debug, Clone)]
pub(crate) struct SourceConfig {
    /// `redis.uri`.
    pub(crate) uri: String,
    /// `topic`: the Kafka topic records are produced to.
    pub(crate) topic: String,
    /// `redis.batch.size`: at most this many entries a poll.
    pub(crate) batch: usize,
    /// What is read.
    pub(crate) kind: SourceKind,
}

impl SourceConfig {
    /// Reads and checks the source's (or one task's) properties. A task's
    /// consumer name and processing list are those of task 0 when
    /// [`SourceConfig::task_props`] did not set them.
    pub(crate) fn parse(props: &Props) -> anyhow::Result<SourceConfig> {
        let name = required(props, "name")?;
        let topic = required(props, "topic")?.to_string();
        let batch = number(props, "redis.batch.size")?.unwrap_or(500);
        if batch == 0 {
            bail!("redis.batch.size must be at least 1");
        }
        let kind = match (get(props, "redis.stream"), get(props, "redis.list")) {
            (Some(stream), None) => SourceKind::Stream {
                stream: stream.to_string(),
                group: get(props, "redis.group")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("connect-{name}")),
                consumer: get(props, "redis.consumer")
                    .map(str::to_string)
                    .unwrap_or_else(|| consumer_name(props, name, 0)),
                start_id: get(props, "redis.stream.start.id")
                    .unwrap_or("0")
                    .to_string(),
                key_field: get(props, "redis.stream.key.field").map(str::to_string),
            },
            (None, Some(list)) => SourceKind::List {
                list: list.to_string(),
                processing: get(props, "redis.processing.list")
                    .map(str::to_string)
                    .unwrap_or_else(|| processing_name(props, name, list, 0)),
            },
            (Some(_), Some(_)) => bail!("set one of redis.stream and redis.list, not both"),
            (None, None) => bail!("redis.stream or redis.list is required"),
        };
        Ok(SourceConfig {
            uri: get(props, "redis.uri").unwrap_or(DEFAULT_URI).to_string(),
            topic,
            batch: usize::try_from(batch).context("redis.batch.size")?,
            kind,
        })
    }

    /// Task `index`'s properties: the connector's, with its own consumer
    /// name (`PREFIX-INDEX`) and processing list (`PREFIX:INDEX`).
    pub(crate) fn task_props(props: &Props, index: usize) -> Props {
        let mut task = props.clone();
        let name = get(props, "name").unwrap_or("redis-source");
        if let Some(list) = get(props, "redis.list") {
            task.insert(
                "redis.processing.list".into(),
                processing_name(props, name, list, index),
            );
        } else {
            task.insert("redis.consumer".into(), consumer_name(props, name, index));
        }
        task
    }
}

/// Task `index`'s consumer name: `redis.consumer.prefix` (the connector's
/// name by default), `-`, the index.
fn consumer_name(props: &Props, name: &str, index: usize) -> String {
    let prefix = get(props, "redis.consumer.prefix").unwrap_or(name);
    format!("{prefix}-{index}")
}

/// Task `index`'s processing list: `redis.processing.list.prefix`
/// (`LIST:processing:NAME` by default), `:`, the index.
fn processing_name(props: &Props, name: &str, list: &str, index: usize) -> String {
    match get(props, "redis.processing.list.prefix") {
        Some(prefix) => format!("{prefix}:{index}"),
        None => format!("{list}:processing:{name}:{index}"),
    }
}

/// `errors.tolerance`: `none` (the default) or `all`.
fn tolerance(props: &Props) -> anyhow::Result<bool> {
    match get(props, "errors.tolerance").unwrap_or("none") {
        "none" => Ok(false),
        "all" => Ok(true),
        other => bail!("errors.tolerance={other}: expected none or all"),
    }
}

/// A property, trimmed; `None` when unset or blank.
fn get<'a>(props: &'a Props, key: &str) -> Option<&'a str> {
    props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A property that must be set.
fn required<'a>(props: &'a Props, key: &str) -> anyhow::Result<&'a str> {
    get(props, key).ok_or_else(|| anyhow!("{key} is required"))
}

/// A whole number property.
fn number(props: &Props, key: &str) -> anyhow::Result<Option<u64>> {
    get(props, key)
        .map(|v| {
            v.parse::<u64>()
                .with_context(|| format!("{key}={v}: expected a whole number"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sink_defaults_and_names() {
        let c = SinkConfig::parse(&props(&[("name", "cache"), ("redis.command", "hset")]))
            .expect("valid");
        assert_eq!(c.command, SinkCommand::Hset);
        assert_eq!(c.uri, DEFAULT_URI);
        assert_eq!(c.collection_for("orders"), "orders");
        assert_eq!(c.offsets_key, "__spate_connect_offsets:cache");
        assert_eq!(c.ttl_seconds, None);
        assert!(!c.tolerate_all);
        let c = SinkConfig::parse(&props(&[
            ("name", "s"),
            ("redis.command", "XADD"),
            ("redis.stream.name", "events:${topic}"),
            ("redis.ttl.seconds", "60"),
            ("errors.tolerance", "all"),
        ]))
        .expect("valid");
        assert_eq!(c.collection_for("orders"), "events:orders");
        assert_eq!(c.ttl_seconds, Some(60));
        assert!(c.tolerate_all);
    }

    #[test]
    fn sink_refuses_bad_properties() {
        for bad in [
            props(&[("redis.command", "SET")]),
            props(&[("name", "s"), ("redis.command", "LPUSH")]),
            props(&[("name", "s"), ("redis.ttl.seconds", "soon")]),
            props(&[("name", "s"), ("errors.tolerance", "some")]),
        ] {
            assert!(SinkConfig::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn source_tasks_get_their_own_consumer_or_processing_list() {
        let p = props(&[("name", "src"), ("topic", "t"), ("redis.stream", "s")]);
        let c = SourceConfig::parse(&SourceConfig::task_props(&p, 2)).expect("valid");
        match c.kind {
            SourceKind::Stream {
                group, consumer, ..
            } => {
                assert_eq!(group, "connect-src");
                assert_eq!(consumer, "src-2");
            }
            other => panic!("{other:?}"),
        }
        let p = props(&[("name", "src"), ("topic", "t"), ("redis.list", "jobs")]);
        let c = SourceConfig::parse(&SourceConfig::task_props(&p, 1)).expect("valid");
        assert_eq!(
            c.kind,
            SourceKind::List {
                list: "jobs".into(),
                processing: "jobs:processing:src:1".into()
            }
        );
        let both = props(&[
            ("name", "src"),
            ("topic", "t"),
            ("redis.list", "l"),
            ("redis.stream", "s"),
        ]);
        assert!(SourceConfig::parse(&both).is_err());
        assert!(SourceConfig::parse(&props(&[("name", "src"), ("redis.list", "l")])).is_err());
    }
}
