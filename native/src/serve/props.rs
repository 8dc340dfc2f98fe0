//! Kafka `server.properties`: the keys Spate understands.

use anyhow::{bail, Context as _, Result};
use spate_core::broker::Config;

/// What a properties file said beyond [`Config`].
#[derive(Debug, Default)]
pub(crate) struct Props {
    /// `listeners`, as written (`NAME://host:port,...`).
    pub listeners: Option<String>,
    /// `advertised.listeners`, as written.
    pub advertised: Option<String>,
    /// The security settings (protocol map, inter-broker listener, `ssl.*`,
    /// `sasl.*`, ACL settings), each as written, for
    /// [`super::listeners::plan`].
    pub security: super::listeners::Settings,
    /// `log.dirs` / `log.dir`.
    pub log_dir: Option<String>,
    /// `socket.request.max.bytes`.
    pub socket_request_max_bytes: Option<usize>,
    /// `connections.max.idle.ms`.
    pub connections_max_idle_ms: Option<u64>,
    /// `zookeeper.connect`: `host:port[,host:port...][/chroot]`.
    pub zookeeper_connect: Option<String>,
    /// `zookeeper.session.timeout.ms`.
    pub zookeeper_session_timeout_ms: Option<u64>,
    /// `zookeeper.connection.timeout.ms`.
    pub zookeeper_connection_timeout_ms: Option<u64>,
    /// `controlled.shutdown.enable`, `.max.retries`, `.retry.backoff.ms`.
    pub controlled_shutdown: crate::cluster::shutdown::ShutdownConfig,
    /// `auto.leader.rebalance.enable`, `leader.imbalance.*`.
    pub rebalance: crate::cluster::rebalance::RebalanceConfig,
    /// `metrics.listener`: where `/metrics` is served (`HOST:PORT`).
    pub metrics_listener: Option<String>,
    /// `max.connections`, `max.connections.per.ip` and its overrides.
    pub connections: super::quota::Written,
    /// Keys Spate does not use, in file order.
    pub unknown: Vec<String>,
}

/// Reads `key=value` lines (`#`/`!` comments, `:` separators and `\`
/// continuations as Java properties allow) into `config`.
pub(crate) fn apply(text: &str, config: &mut Config) -> Result<Props> {
    let mut p = Props::default();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            logical.push_str(cont);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        let (k, v) = match entry.find(['=', ':']) {
            Some(i) => (entry[..i].trim(), entry[i + 1..].trim()),
            None => (entry.trim(), ""),
        };
        set(k, v, config, &mut p).with_context(|| format!("server.properties: {k}={v}"))?;
    }
    Ok(p)
}

fn set(k: &str, v: &str, c: &mut Config, p: &mut Props) -> Result<()> {
    let ms_from =
        |v: &str, unit: i64| -> Result<i64> { Ok(v.parse::<i64>()?.saturating_mul(unit)) };
    match k {
        "listeners" => p.listeners = Some(v.to_string()),
        "advertised.listeners" => p.advertised = Some(v.to_string()),
        "metrics.listener" => p.metrics_listener = Some(v.to_string()),
        k if super::listeners::is_security_key(k) => {
            p.security.0.insert(k.to_string(), v.to_string());
        }
        "node.id" | "broker.id" => c.node_id = v.parse()?,
        "num.partitions" => c.default_partitions = v.parse()?,
        "default.replication.factor" => c.default_replication_factor = v.parse()?,
        "auto.create.topics.enable" => c.auto_create_topics = v.parse()?,
        "delete.topic.enable" => c.delete_topic_enable = v.parse()?,
        "message.max.bytes" => c.message_max_bytes = v.parse()?,
        "log.retention.ms" => c.log_retention_ms = v.parse()?,
        "log.retention.minutes" => c.log_retention_ms = ms_from(v, 60_000)?,
        "log.retention.hours" => c.log_retention_ms = ms_from(v, 3_600_000)?,
        "log.retention.bytes" => c.log_retention_bytes = v.parse()?,
        "log.segment.bytes" => c.log_segment_bytes = v.parse()?,
        "log.retention.check.interval.ms" => c.retention_check_interval_ms = v.parse()?,
        "replica.lag.time.max.ms" => c.replica_lag_time_max_ms = v.parse()?,
        "log.cleaner.enable" => c.log_cleaner_enable = v.parse()?,
        "log.cleaner.backoff.ms" => c.log_cleaner_backoff_ms = v.parse()?,
        "socket.request.max.bytes" => p.socket_request_max_bytes = Some(v.parse()?),
        "connections.max.idle.ms" => p.connections_max_idle_ms = Some(v.parse()?),
        "max.connections" => p.connections.max = Some(v.to_string()),
        "max.connections.per.ip" => p.connections.per_ip = Some(v.to_string()),
        "max.connections.per.ip.overrides" => p.connections.overrides = Some(v.to_string()),
        // The ensemble is the ZooKeeper driver's business; to the core it
        // means the broker is one of a coordinated cluster.
        "zookeeper.connect" => {
            p.zookeeper_connect = Some(v.to_string()).filter(|v| !v.is_empty());
            c.zk_mode = p.zookeeper_connect.is_some();
        }
        "zookeeper.session.timeout.ms" => p.zookeeper_session_timeout_ms = Some(v.parse()?),
        "auto.leader.rebalance.enable" => p.rebalance.enable = v.parse()?,
        "leader.imbalance.check.interval.seconds" => {
            p.rebalance.interval = std::time::Duration::from_secs(v.parse()?)
        }
        "leader.imbalance.per.broker.percentage" => p.rebalance.percentage = v.parse()?,
        "controlled.shutdown.enable" => p.controlled_shutdown.enable = v.parse()?,
        "controlled.shutdown.max.retries" => p.controlled_shutdown.max_retries = v.parse()?,
        "controlled.shutdown.retry.backoff.ms" => {
            p.controlled_shutdown.backoff = std::time::Duration::from_millis(v.parse()?)
        }
        "zookeeper.connection.timeout.ms" => p.zookeeper_connection_timeout_ms = Some(v.parse()?),
        "log.dirs" | "log.dir" => p.log_dir = v.split(',').next().map(|s| s.trim().to_string()),
        "broker.rack" => c.rack = Some(v.to_string()),
        "fetch.max.bytes" => c.fetch_max_bytes = v.parse()?,
        "replica.fetch.wait.max.ms" => c.replica_fetch_wait_max_ms = v.parse()?,
        "replica.fetch.max.bytes" => c.replica_fetch_max_bytes = v.parse()?,
        "replica.fetch.response.max.bytes" => c.replica_fetch_response_max_bytes = v.parse()?,
        "replica.fetch.backoff.ms" => c.replica_fetch_backoff_ms = v.parse()?,
        "max.incremental.fetch.session.cache.slots" => c.fetch_session_cache_slots = v.parse()?,
        "group.initial.rebalance.delay.ms" => c.groups.initial_rebalance_delay_ms = v.parse()?,
        "group.min.session.timeout.ms" => c.groups.min_session_timeout_ms = v.parse()?,
        "group.max.session.timeout.ms" => c.groups.max_session_timeout_ms = v.parse()?,
        "group.max.size" => c.groups.max_size = v.parse()?,
        "offsets.topic.num.partitions" => c.groups.offsets_partitions = v.parse()?,
        "offsets.topic.replication.factor" => c.groups.offsets_replication_factor = v.parse()?,
        "offsets.retention.minutes" => c.groups.offsets_retention_ms = ms_from(v, 60_000)?,
        "offsets.retention.check.interval.ms" => {
            c.groups.offsets_retention_check_interval_ms = v.parse()?
        }
        "offset.metadata.max.bytes" => c.groups.offset_metadata_max_bytes = v.parse()?,
        "offsets.commit.timeout.ms" => c.groups.offsets_commit_timeout_ms = v.parse()?,
        "request.timeout.ms" => c.transactions.request_timeout_ms = v.parse()?,
        "group.consumer.session.timeout.ms" => c.groups.consumer_session_timeout_ms = v.parse()?,
        "group.consumer.heartbeat.interval.ms" => {
            c.groups.consumer_heartbeat_interval_ms = v.parse()?
        }
        "transaction.state.log.num.partitions" => {
            c.transactions.state_log_partitions = v.parse()?
        }
        "transaction.state.log.replication.factor" => {
            c.transactions.state_log_replication_factor = v.parse()?
        }
        "transaction.state.log.min.isr" => c.transactions.state_log_min_isr = v.parse()?,
        "transaction.max.timeout.ms" => c.transactions.max_timeout_ms = v.parse()?,
        "transactional.id.expiration.ms" => c.transactions.id_expiration_ms = v.parse()?,
        "" => bail!("a line with no key"),
        other => p.unknown.push(other.to_string()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_spate_knows_and_lists_the_rest() {
        let text = "# comment\nprocess.roles=broker,controller\nnode.id=3\nlisteners=PLAINTEXT://127.0.0.1:9093,CONTROLLER://:9094\nadvertised.listeners=PLAINTEXT://kafka.example:9093\nlog.dirs=/tmp/k1,/tmp/k2\nlog.retention.hours=2\nnum.partitions = 4\nauto.create.topics.enable=false\nsocket.request.max.bytes=1000\ngroup.initial.rebalance.delay.ms=0\nzookeeper.connect=zk1:2181,zk2:2181/spate\nzookeeper.session.timeout.ms=6000\noffsets.retention.minutes=2\noffsets.topic.num.partitions=3\noffsets.topic.replication.factor=2\ntransaction.state.log.num.partitions=5\ntransaction.state.log.replication.factor=2\ntransaction.state.log.min.isr=1\ntransaction.max.timeout.ms=60000\nlog.cleaner.enable=false\nlog.cleaner.backoff.ms=200\ndefault.replication.factor=3\nconnections.max.idle.ms=1500\n";
        let mut c = Config::default();
        let p = apply(text, &mut c).unwrap();
        assert_eq!(c.node_id, 3);
        assert_eq!(c.default_partitions, 4);
        assert_eq!(c.default_replication_factor, 3);
        assert!(!c.auto_create_topics);
        assert!(!c.log_cleaner_enable);
        assert_eq!(c.log_cleaner_backoff_ms, 200);
        assert_eq!(c.log_retention_ms, 7_200_000);
        assert_eq!(
            p.listeners.as_deref(),
            Some("PLAINTEXT://127.0.0.1:9093,CONTROLLER://:9094")
        );
        assert_eq!(
            p.advertised.as_deref(),
            Some("PLAINTEXT://kafka.example:9093")
        );
        assert_eq!(p.log_dir.as_deref(), Some("/tmp/k1"));
        assert_eq!(p.socket_request_max_bytes, Some(1000));
        assert_eq!(p.connections_max_idle_ms, Some(1500));
        assert_eq!(
            p.zookeeper_connect.as_deref(),
            Some("zk1:2181,zk2:2181/spate")
        );
        assert_eq!(p.zookeeper_session_timeout_ms, Some(6000));
        assert_eq!(p.zookeeper_connection_timeout_ms, None);
        assert_eq!(p.unknown, vec!["process.roles"]);
        assert_eq!(c.groups.initial_rebalance_delay_ms, 0);
        assert_eq!(c.groups.offsets_retention_ms, 120_000);
        assert_eq!(c.groups.offsets_partitions, 3);
        assert_eq!(c.groups.offsets_replication_factor, 2);
        assert_eq!(c.transactions.state_log_partitions, 5);
        assert_eq!(c.transactions.state_log_replication_factor, 2);
        assert_eq!(c.transactions.state_log_min_isr, 1);
        assert_eq!(c.transactions.max_timeout_ms, 60_000);
        assert!(apply("node.id=x\n", &mut c).is_err());
    }

    #[test]
    fn zookeeper_connect_turns_on_cluster_mode_and_security_keys_are_kept() {
        let mut c = Config::default();
        apply("broker.id=2\n", &mut c).unwrap();
        assert!(!c.zk_mode);
        let text = "zookeeper.connect=localhost:2181/kafka\nlisteners=INTERNAL://:9093\nlistener.security.protocol.map=INTERNAL:PLAINTEXT\nlistener.name.internal.ssl.client.auth=required\nssl.cipher.suites=x\n";
        let p = apply(text, &mut c).unwrap();
        assert!(c.zk_mode);
        assert_eq!(
            p.security.global("listener.security.protocol.map"),
            Some("INTERNAL:PLAINTEXT")
        );
        assert_eq!(
            p.security.get("INTERNAL", "ssl.client.auth"),
            Some("required")
        );
        assert_eq!(p.unknown, vec!["ssl.cipher.suites"]);
    }
}
