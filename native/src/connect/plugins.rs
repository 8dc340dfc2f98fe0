//! The connector classes the worker knows, by Kafka's class name and by
//! alias (the class's simple name, and that name without `Connector`, as
//! Kafka's plugin aliases).

use super::task::Plugin;
use super::{file, redis};

/// Every class: its full name, and the plugin.
const CLASSES: [(&str, Plugin); 2] = [
    (
        "org.apache.kafka.connect.file.FileStreamSourceConnector",
        file::SOURCE,
    ),
    (
        "org.apache.kafka.connect.file.FileStreamSinkConnector",
        file::SINK,
    ),
];

/// The full class names, for error messages.
pub(crate) const NAMES: [&str; 4] = [
    CLASSES[0].0,
    CLASSES[1].0,
    redis::SINK_CLASS,
    redis::SOURCE_CLASS,
];

/// The plugin of `class` (full name or alias): Kafka's file connectors,
/// then Spate's Redis connectors ([`redis::plugin`]).
pub(crate) fn find(class: &str) -> Option<Plugin> {
    CLASSES
        .iter()
        .find_map(|&(full, plugin)| {
            let simple = full.rsplit('.').next().unwrap_or(full);
            let short = simple.strip_suffix("Connector").unwrap_or(simple);
            (class == full || class == simple || class == short).then_some(plugin)
        })
        .or_else(|| redis::plugin(class))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        for name in [
            "FileStreamSource",
            "FileStreamSourceConnector",
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
        ] {
            assert!(matches!(find(name), Some(Plugin::Source { .. })), "{name}");
        }
        assert!(matches!(find("FileStreamSink"), Some(Plugin::Sink { .. })));
        assert!(find("filestreamsink").is_none());
        assert!(find("io.confluent.connect.jdbc.JdbcSinkConnector").is_none());
        assert!(matches!(find("RedisSink"), Some(Plugin::Sink { .. })));
        assert!(matches!(
            find(redis::SOURCE_CLASS),
            Some(Plugin::Source { .. })
        ));
    }
}
