//! The worker's and the connectors' property files, read as Kafka
//! Connect reads them (Java properties; names and defaults are Kafka's).
//!
//! Worker keys read: `bootstrap.servers`, `key.converter`,
//! `value.converter` (and their `key.converter.*` / `value.converter.*`
//! settings such as `schemas.enable`), `offset.storage.file.filename`,
//! `offset.flush.interval.ms`, `rest.port`, `rest.host.name`, and the
//! client security keys (`security.protocol`, `sasl.*`, `ssl.*`), which
//! `producer.` and `consumer.` prefixed keys override for the producer and
//! the sink's consumer. `plugin.path` is accepted and ignored: the
//! connectors are built in. Other keys are ignored, as Kafka ignores keys
//! it does not know.
//!
//! Connector keys read by the worker: `name`, `connector.class` (Kafka's
//! full class name or its alias), `tasks.max`, `key.converter` /
//! `value.converter` overrides, `errors.tolerance`,
//! `errors.deadletterqueue.topic.name`,
//! `errors.deadletterqueue.topic.replication.factor`,
//! `errors.deadletterqueue.context.headers.enable`; the rest (`file`,
//! `topic`, `topics`, ...) is the connector's own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};

use super::task::Props;
use crate::client::security::props::parse_properties;

/// A converter as configured: its class and its own settings (the keys
/// after `key.converter.` or `value.converter.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConverterSpec {
    /// The class name as written.
    pub(crate) class: String,
    /// Its settings, prefix removed (`schemas.enable`, ...).
    pub(crate) props: Props,
}

/// The worker file.
#[derive(Debug, Clone)]
pub(crate) struct WorkerConfig {
    /// `bootstrap.servers`, comma-separated.
    pub(crate) bootstrap: String,
    /// `key.converter` and its settings.
    pub(crate) key_converter: ConverterSpec,
    /// `value.converter` and its settings.
    pub(crate) value_converter: ConverterSpec,
    /// `offset.storage.file.filename`.
    pub(crate) offset_file: PathBuf,
    /// `offset.flush.interval.ms` (Kafka's default: 60 s).
    pub(crate) offset_flush_interval: Duration,
    /// `rest.host.name` (default: every interface) and `rest.port`
    /// (default 8083).
    pub(crate) rest_addr: String,
    /// `rest.advertised.host.name` (and `rest.advertised.port`): the
    /// worker's id in statuses.
    pub(crate) rest_advertised_host: Option<String>,
    /// `rest.advertised.port`.
    pub(crate) rest_advertised_port: Option<u16>,
    /// The producer's client properties (security, with `producer.`
    /// overrides applied).
    pub(crate) producer_client: Vec<(String, String)>,
    /// The sink consumer's client properties.
    pub(crate) consumer_client: Vec<(String, String)>,
}

/// How records a converter or a sink refuses are handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorsConfig {
    /// `errors.tolerance=all`: skip (and report) refused records;
    /// `none` (the default): fail the task.
    pub(crate) tolerate_all: bool,
    /// `errors.deadletterqueue.topic.name` (sink connectors only).
    pub(crate) dlq_topic: Option<String>,
    /// `errors.deadletterqueue.topic.replication.factor` (default 3).
    pub(crate) dlq_replication: i16,
    /// `errors.deadletterqueue.context.headers.enable` (default false).
    pub(crate) dlq_headers: bool,
}

/// One connector file.
#[derive(Debug, Clone)]
pub(crate) struct ConnectorConfig {
    /// `name`.
    pub(crate) name: String,
    /// `connector.class`, as written.
    pub(crate) class: String,
    /// `tasks.max` (default 1).
    pub(crate) tasks_max: usize,
    /// `key.converter` override.
    pub(crate) key_converter: Option<ConverterSpec>,
    /// `value.converter` override.
    pub(crate) value_converter: Option<ConverterSpec>,
    /// The `errors.*` settings.
    pub(crate) errors: ErrorsConfig,
    /// Every property of the file, for the connector.
    pub(crate) props: Props,
}

/// Reads a Java properties file into a map, later keys winning.
pub(crate) fn read_props(path: &Path) -> anyhow::Result<Props> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let pairs = parse_properties(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(pairs.into_iter().collect())
}

/// Whether `key` is a client security property the client reads.
fn is_security_key(key: &str) -> bool {
    key == "security.protocol" || key.starts_with("sasl.") || key.starts_with("ssl.")
}

/// The settings under `prefix` (`key.converter.`), prefix removed.
fn prefixed(props: &Props, prefix: &str) -> Props {
    props
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
        .collect()
}

/// The converter named by `key` (`key.converter`) in `props`, if set.
fn converter(props: &Props, key: &str) -> Option<ConverterSpec> {
    let class = props.get(key)?.trim().to_string();
    Some(ConverterSpec {
        class,
        props: prefixed(props, &format!("{key}.")),
    })
}

/// A non-negative integer setting.
fn number<T: std::str::FromStr>(props: &Props, key: &str, default: T) -> anyhow::Result<T> {
    match props.get(key) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow!("{key} `{v}` is not a valid number")),
    }
}

/// A boolean setting, as Kafka's `ConfigDef` reads one.
fn boolean(props: &Props, key: &str, default: bool) -> anyhow::Result<bool> {
    match props.get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => bail!("{key} `{v}`: expected true or false"),
    }
}

impl WorkerConfig {
    /// Reads the worker's properties.
    pub(crate) fn from_props(props: &Props) -> anyhow::Result<WorkerConfig> {
        let bootstrap = props
            .get("bootstrap.servers")
            .cloned()
            .unwrap_or_else(|| "localhost:9092".to_string());
        let key_converter = converter(props, "key.converter")
            .ok_or_else(|| anyhow!("the worker file sets no key.converter"))?;
        let value_converter = converter(props, "value.converter")
            .ok_or_else(|| anyhow!("the worker file sets no value.converter"))?;
        let offset_file = props
            .get("offset.storage.file.filename")
            .map(PathBuf::from)
            .ok_or_else(|| anyhow!("the worker file sets no offset.storage.file.filename"))?;
        let flush_ms: u64 = number(props, "offset.flush.interval.ms", 60_000)?;
        let port: u16 = number(props, "rest.port", 8083)?;
        let host = props
            .get("rest.host.name")
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "0.0.0.0".to_string());
        if let Some(listeners) = props.get("listeners") {
            tracing::warn!("listeners `{listeners}` is not read: use rest.host.name and rest.port");
        }
        if props.contains_key("plugin.path") {
            tracing::info!("plugin.path is ignored: the connectors are built into spate");
        }
        let client = |prefix: &str| {
            let mut pairs: Vec<(String, String)> = props
                .iter()
                .filter(|(k, _)| is_security_key(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            pairs.extend(
                prefixed(props, prefix)
                    .into_iter()
                    .filter(|(k, _)| is_security_key(k)),
            );
            pairs
        };
        Ok(WorkerConfig {
            bootstrap,
            key_converter,
            value_converter,
            offset_file,
            offset_flush_interval: Duration::from_millis(flush_ms.max(1)),
            rest_addr: format!("{host}:{port}"),
            rest_advertised_host: props
                .get("rest.advertised.host.name")
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
            rest_advertised_port: props
                .get("rest.advertised.port")
                .map(|_| number(props, "rest.advertised.port", 0))
                .transpose()?,
            producer_client: client("producer."),
            consumer_client: client("consumer."),
        })
    }
}

impl ConnectorConfig {
    /// Reads one connector's properties.
    pub(crate) fn from_props(props: Props) -> anyhow::Result<ConnectorConfig> {
        let name = props
            .get("name")
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| anyhow!("a connector file sets no name"))?;
        let class = props
            .get("connector.class")
            .map(|c| c.trim().to_string())
            .ok_or_else(|| anyhow!("connector `{name}` sets no connector.class"))?;
        let tasks_max: usize = number(&props, "tasks.max", 1)?;
        if tasks_max == 0 {
            bail!("connector `{name}`: tasks.max must be at least 1");
        }
        let tolerate_all = match props
            .get("errors.tolerance")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("none") => false,
            Some("all") => true,
            Some(v) => bail!("connector `{name}`: errors.tolerance `{v}`: expected none or all"),
        };
        let errors = ErrorsConfig {
            tolerate_all,
            dlq_topic: props
                .get("errors.deadletterqueue.topic.name")
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            dlq_replication: number(&props, "errors.deadletterqueue.topic.replication.factor", 3)?,
            dlq_headers: boolean(
                &props,
                "errors.deadletterqueue.context.headers.enable",
                false,
            )?,
        };
        Ok(ConnectorConfig {
            key_converter: converter(&props, "key.converter"),
            value_converter: converter(&props, "value.converter"),
            name,
            class,
            tasks_max,
            errors,
            props,
        })
    }

    /// The topics of a sink: `topics`, comma-separated (Kafka also has
    /// `topics.regex`, which is not read).
    pub(crate) fn sink_topics(&self) -> anyhow::Result<Vec<String>> {
        if self.props.contains_key("topics.regex") {
            bail!(
                "connector `{}`: topics.regex is not supported; list the topics in `topics`",
                self.name
            );
        }
        let topics: Vec<String> = self
            .props
            .get("topics")
            .map(|t| {
                t.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if topics.is_empty() {
            bail!("sink connector `{}` sets no topics", self.name);
        }
        Ok(topics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> Props {
        parse_properties(text).unwrap().into_iter().collect()
    }

    #[test]
    fn kafkas_standalone_worker_file() {
        let w = WorkerConfig::from_props(&props(
            "bootstrap.servers=localhost:9092\n\
             key.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             key.converter.schemas.enable=true\n\
             value.converter.schemas.enable=false\n\
             offset.storage.file.filename=/tmp/connect.offsets\n\
             offset.flush.interval.ms=10000\n\
             plugin.path=libs/connect-file-3.7.0.jar\n\
             security.protocol=SASL_PLAINTEXT\n\
             sasl.mechanism=PLAIN\n\
             producer.sasl.mechanism=SCRAM-SHA-256\n\
             consumer.max.poll.records=10\n",
        ))
        .unwrap();
        assert_eq!(w.bootstrap, "localhost:9092");
        assert_eq!(
            w.value_converter.class,
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert_eq!(w.key_converter.props["schemas.enable"], "true");
        assert_eq!(w.value_converter.props["schemas.enable"], "false");
        assert_eq!(w.offset_file, PathBuf::from("/tmp/connect.offsets"));
        assert_eq!(w.offset_flush_interval, Duration::from_secs(10));
        assert_eq!(w.rest_addr, "0.0.0.0:8083");
        // The producer's override comes after the worker's key, so wins.
        let last = |pairs: &[(String, String)], k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            last(&w.producer_client, "sasl.mechanism").as_deref(),
            Some("SCRAM-SHA-256")
        );
        assert_eq!(
            last(&w.consumer_client, "sasl.mechanism").as_deref(),
            Some("PLAIN")
        );
        assert!(w
            .consumer_client
            .iter()
            .all(|(k, _)| k != "max.poll.records"));
    }

    #[test]
    fn worker_file_needs_converters_and_offset_file() {
        let e = WorkerConfig::from_props(&props("bootstrap.servers=a:1\n")).unwrap_err();
        assert!(e.to_string().contains("key.converter"), "{e}");
        let e = WorkerConfig::from_props(&props(
            "key.converter=StringConverter\nvalue.converter=StringConverter\n",
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("offset.storage.file.filename"),
            "{e}"
        );
    }

    #[test]
    fn kafkas_connector_files() {
        let c = ConnectorConfig::from_props(props(
            "name=local-file-sink\nconnector.class=FileStreamSink\ntasks.max=1\n\
             file=test.sink.txt\ntopics=connect-test, other\n",
        ))
        .unwrap();
        assert_eq!(c.name, "local-file-sink");
        assert_eq!(c.class, "FileStreamSink");
        assert_eq!(c.tasks_max, 1);
        assert_eq!(c.sink_topics().unwrap(), ["connect-test", "other"]);
        assert!(!c.errors.tolerate_all);
        assert_eq!(c.props["file"], "test.sink.txt");

        let c = ConnectorConfig::from_props(props(
            "name=s\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\n\
             topics=t\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter.encoding=UTF-8\nerrors.tolerance=all\n\
             errors.deadletterqueue.topic.name=dlq\n\
             errors.deadletterqueue.topic.replication.factor=1\n\
             errors.deadletterqueue.context.headers.enable=true\n",
        ))
        .unwrap();
        assert_eq!(c.tasks_max, 1);
        let v = c.value_converter.unwrap();
        assert_eq!(v.class, "org.apache.kafka.connect.storage.StringConverter");
        assert_eq!(v.props["encoding"], "UTF-8");
        assert!(c.key_converter.is_none());
        assert_eq!(
            c.errors,
            ErrorsConfig {
                tolerate_all: true,
                dlq_topic: Some("dlq".into()),
                dlq_replication: 1,
                dlq_headers: true
            }
        );
    }

    #[test]
    fn bad_connector_files() {
        for (text, why) in [
            ("connector.class=FileStreamSink\n", "no name"),
            ("name=a\n", "connector.class"),
            ("name=a\nconnector.class=X\ntasks.max=0\n", "tasks.max"),
            ("name=a\nconnector.class=X\ntasks.max=two\n", "tasks.max"),
            (
                "name=a\nconnector.class=X\nerrors.tolerance=some\n",
                "errors.tolerance",
            ),
        ] {
            let e = ConnectorConfig::from_props(props(text)).unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
        let c = ConnectorConfig::from_props(props("name=a\nconnector.class=X\n")).unwrap();
        assert!(c.sink_topics().is_err());
    }
}
