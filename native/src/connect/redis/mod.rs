//! The Redis connectors: a sink that writes Kafka records into Redis
//! exactly once, and a source that moves a Redis stream or list into a
//! topic without losing an entry.
//!
//! - [`sink`]: `RedisSinkConnector` — per record a SET (latest value per
//!   key; a tombstone DELs it), an HSET into a hash per topic, an XADD into
//!   a stream per topic or an RPUSH into a list per topic. Each `put`
//!   batch is one MULTI/EXEC that also stores the batch's Kafka offsets
//!   in a hash beside the data, and `open` resumes from there: a restart
//!   neither skips nor re-applies a batch.
//! - [`source`]: `RedisSourceConnector` — a stream read with XREADGROUP
//!   as a consumer group ([`stream`]), or a list drained with BLMOVE into
//!   a processing list ([`list`]). An entry is acknowledged (XACK, LREM)
//!   only in `commit_record`, once the broker has it; after a crash the
//!   unacknowledged entries are delivered again first.
//! - [`config`]: their properties; [`render`]: Connect values as Redis
//!   bytes; [`conn`]: the connection and which errors are worth a retry.

use anyhow::Context as _;

use super::task::{Plugin, Props};

pub(crate) mod config;
pub(crate) mod conn;
pub(crate) mod list;
pub(crate) mod render;
pub(crate) mod sink;
pub(crate) mod source;
pub(crate) mod stream;

#[cfg(test)]
mod tests;

/// The sink connector's class.
pub(crate) const SINK_CLASS: &str = "io.spate.connect.redis.RedisSinkConnector";
/// The source connector's class.
pub(crate) const SOURCE_CLASS: &str = "io.spate.connect.redis.RedisSourceConnector";

/// The connector `class` names, if it is one of the Redis connectors: the
/// full class name, or as Kafka Connect allows, its simple name with or
/// without the `Connector` suffix (`RedisSinkConnector`, `RedisSink`).
pub(crate) fn plugin(class: &str) -> Option<Plugin> {
    match class {
        SINK_CLASS | "RedisSinkConnector" | "RedisSink" => Some(Plugin::Sink {
            task_configs: sink_task_configs,
            task: || Box::new(sink::RedisSinkTask::default()),
        }),
        SOURCE_CLASS | "RedisSourceConnector" | "RedisSource" => Some(Plugin::Source {
            task_configs: source_task_configs,
            task: || Box::new(source::RedisSourceTask::default()),
        }),
        _ => None,
    }
}

/// The sink's task configs: the connector's own, checked, once per task
/// (the consumer group shares the partitions out among them).
fn sink_task_configs(props: &Props, max: usize) -> anyhow::Result<Vec<Props>> {
    config::SinkConfig::parse(props).context("the Redis sink's configuration")?;
    Ok(vec![props.clone(); max.max(1)])
}

/// The source's task configs: one per task, each with a consumer name of
/// its own (a stream) or a processing list of its own (a list).
fn source_task_configs(props: &Props, max: usize) -> anyhow::Result<Vec<Props>> {
    config::SourceConfig::parse(props).context("the Redis source's configuration")?;
    Ok((0..max.max(1))
        .map(|i| config::SourceConfig::task_props(props, i))
        .collect())
}
