//! Broker settings. Names follow Kafka's `server.properties` keys where
//! one exists; defaults are Kafka's, except where a single broker needs
//! otherwise (replication factor 1).

/// Everything a [`Broker`](crate::broker::Broker) needs to know about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `node.id`.
    pub node_id: i32,
    /// The cluster id reported in Metadata and DescribeCluster.
    pub cluster_id: String,
    /// Host advertised to clients (`advertised.listeners`).
    pub advertised_host: String,
    /// Port advertised to clients.
    pub advertised_port: i32,
    /// `broker.rack`.
    pub rack: Option<String>,
    /// The log directory DescribeLogDirs names (`log.dirs`, as the driver
    /// resolved it; empty for a broker in memory).
    pub log_dir: String,
    /// The inter-broker listener (Kafka's default `PLAINTEXT`): in a
    /// cluster, the endpoint of each broker on it is where replicas fetch
    /// from; a connection whose [`PeerInfo::listener`] is empty is taken to
    /// have come in on it.
    ///
    /// [`PeerInfo::listener`]: crate::broker::PeerInfo::listener
    pub listener_name: String,
    /// Every advertised listener of this broker (`advertised.listeners`):
    /// a client is told the endpoint of the listener it connected to.
    /// Empty: one, [`Config::listener_name`] at `advertised_host` and
    /// `advertised_port`.
    pub advertised_listeners: Vec<Endpoint>,
    /// Whether the broker is one of a cluster coordinated by ZooKeeper, as
    /// Kafka 2.x ran (the driver sets it when `zookeeper.connect` is
    /// configured). Then the broker serves the controller's UpdateMetadata
    /// and learns the live brokers and the controller from it. Off (the
    /// default), the broker is a cluster of one: it refuses the
    /// inter-broker APIs, as Kafka refuses an API it does not serve, and
    /// names itself as the only broker and the controller. CreateTopics
    /// and Metadata auto-creation then go through ZooKeeper, written by
    /// the driver (`Output::CreateTopics`). Read through [`Config::zk`]:
    /// ignored when spate-core is built without its `cluster` feature.
    pub zk_mode: bool,
    /// `auto.create.topics.enable`.
    pub auto_create_topics: bool,
    /// `delete.topic.enable`: whether DeleteTopics may delete topics in
    /// ZooKeeper mode (TOPIC_DELETION_DISABLED otherwise). Kafka's
    /// default, true.
    pub delete_topic_enable: bool,
    /// `num.partitions`: partitions of an auto-created topic, and of a
    /// CreateTopics request asking for -1.
    pub default_partitions: i32,
    /// `default.replication.factor`: replicas of an auto-created topic,
    /// and of a CreateTopics request asking for -1, in ZooKeeper mode (a
    /// single broker has one replica of everything). Kafka's default, 1.
    pub default_replication_factor: i16,
    /// `message.max.bytes`: the largest record batch accepted.
    pub message_max_bytes: i32,
    /// `log.retention.ms` (-1: keep forever).
    pub log_retention_ms: i64,
    /// `log.retention.bytes` (-1: no size limit).
    pub log_retention_bytes: i64,
    /// `log.segment.bytes`, passed to storage as a hint.
    pub log_segment_bytes: i64,
    /// `log.retention.check.interval.ms`.
    pub retention_check_interval_ms: i64,
    /// How long an in-sync follower may go without catching up with its
    /// leader before the leader takes it out of the ISR
    /// (`replica.lag.time.max.ms`; ZooKeeper mode).
    pub replica_lag_time_max_ms: i64,
    /// `log.cleaner.enable`: compact topics whose `cleanup.policy`
    /// includes `compact`.
    pub log_cleaner_enable: bool,
    /// `log.cleaner.backoff.ms`: how long the cleaner sleeps when no log
    /// needs cleaning.
    pub log_cleaner_backoff_ms: i64,
    /// `replica.fetch.max.bytes`-like cap on a Fetch response when the
    /// request asks for more (`fetch.max.bytes`).
    pub fetch_max_bytes: i32,
    /// `max.incremental.fetch.session.cache.slots`.
    pub fetch_session_cache_slots: usize,
    /// `replica.fetch.wait.max.ms`: how long a follower's Fetch may wait
    /// at the leader for data (ZooKeeper mode).
    pub replica_fetch_wait_max_ms: i32,
    /// `replica.fetch.max.bytes`: what a follower asks per partition.
    pub replica_fetch_max_bytes: i32,
    /// `replica.fetch.response.max.bytes`: what a follower asks per Fetch.
    pub replica_fetch_response_max_bytes: i32,
    /// `replica.fetch.backoff.ms`: how long a follower waits after a
    /// failed connection or a partition's error before trying again.
    pub replica_fetch_backoff_ms: i64,
    /// The group coordinator's settings (`group.*`, `offsets.*`).
    pub groups: GroupConfig,
    /// The transaction coordinator's settings (`transaction.*`).
    pub transactions: TxnConfig,
    /// Seed for topic ids, producer ids and fetch session ids (the core has
    /// no randomness of its own).
    pub seed: u64,
    /// Listeners' security protocols and SASL mechanisms, the authorizer,
    /// super users, re-authentication.
    pub security: crate::security::SecurityConfig,
}

/// One advertised listener: where its clients reach the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The listener's name (`PLAINTEXT`, `SSL`, `INTERNAL`).
    pub listener: String,
    /// The advertised host.
    pub host: String,
    /// The advertised port.
    pub port: i32,
    /// Its security protocol.
    pub protocol: crate::security::SecurityProtocol,
}

impl Config {
    /// This broker's advertised listeners ([`Config::advertised_listeners`],
    /// or the one the advertised host and port describe).
    pub fn endpoints(&self) -> Vec<Endpoint> {
        if !self.advertised_listeners.is_empty() {
            return self.advertised_listeners.clone();
        }
        vec![Endpoint {
            listener: self.listener_name.clone(),
            host: self.advertised_host.clone(),
            port: self.advertised_port,
            protocol: self.security.protocol(&self.listener_name),
        }]
    }
}

impl Config {
    /// Whether the broker runs in a ZooKeeper-coordinated cluster:
    /// [`Config::zk_mode`] when spate-core is built with its `cluster`
    /// feature (the default). Without it (the playground's WebAssembly,
    /// which has no ZooKeeper and no network peers) the broker is always a
    /// cluster of one and `zk_mode` is ignored: every cluster path hangs
    /// off this one switch, so the compiler drops their code.
    pub fn zk(&self) -> bool {
        cfg!(feature = "cluster") && self.zk_mode
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node_id: 1,
            cluster_id: "spate-cluster-0000000000".into(),
            advertised_host: "127.0.0.1".into(),
            advertised_port: 9092,
            rack: None,
            log_dir: String::new(),
            listener_name: "PLAINTEXT".into(),
            advertised_listeners: Vec::new(),
            zk_mode: false,
            auto_create_topics: true,
            delete_topic_enable: true,
            default_partitions: 1,
            default_replication_factor: 1,
            message_max_bytes: 1_048_588,
            log_retention_ms: 7 * 24 * 60 * 60 * 1000,
            log_retention_bytes: -1,
            log_segment_bytes: 1 << 30,
            retention_check_interval_ms: 5 * 60 * 1000,
            replica_lag_time_max_ms: 30_000,
            log_cleaner_enable: true,
            log_cleaner_backoff_ms: 15_000,
            fetch_max_bytes: 55 * 1024 * 1024,
            fetch_session_cache_slots: 1000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_max_bytes: 1024 * 1024,
            replica_fetch_response_max_bytes: 10 * 1024 * 1024,
            replica_fetch_backoff_ms: 1000,
            groups: GroupConfig::default(),
            transactions: TxnConfig::default(),
            seed: 0x5eed_5eed,
            security: crate::security::SecurityConfig::default(),
        }
    }
}

/// The group coordinator's settings (Kafka's broker keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of
    /// an empty group waits for more members (Kafka: 3000).
    pub initial_rebalance_delay_ms: i64,
    /// `group.min.session.timeout.ms` (Kafka: 6000).
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (Kafka: 1800000).
    pub max_session_timeout_ms: i32,
    /// `group.max.size` (Kafka: unbounded).
    pub max_size: usize,
    /// `offsets.topic.num.partitions` (Kafka: 50).
    pub offsets_partitions: i32,
    /// `offsets.topic.replication.factor` (Kafka: 3): the replicas of
    /// `__consumer_offsets` in ZooKeeper mode, which is not created while
    /// fewer brokers are live.
    pub offsets_replication_factor: i16,
    /// `offsets.retention.minutes`, in ms (Kafka: 7 days).
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (Kafka: 600000).
    pub offsets_retention_check_interval_ms: i64,
    /// `offset.metadata.max.bytes` (Kafka: 4096).
    pub offset_metadata_max_bytes: usize,
    /// `offsets.commit.timeout.ms` (Kafka: 5000): how long an offset
    /// commit waits for the followers of its `__consumer_offsets`
    /// partition before it is answered COORDINATOR_NOT_AVAILABLE.
    pub offsets_commit_timeout_ms: i64,
    /// `group.consumer.session.timeout.ms`: KIP-848 members (Kafka: 45000).
    pub consumer_session_timeout_ms: i64,
    /// `group.consumer.heartbeat.interval.ms`: KIP-848 members (Kafka: 5000).
    pub consumer_heartbeat_interval_ms: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3000,
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
            max_size: usize::MAX,
            offsets_partitions: 50,
            offsets_replication_factor: 3,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            offsets_commit_timeout_ms: 5000,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5_000,
        }
    }
}

/// The transaction coordinator's settings (Kafka's broker keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnConfig {
    /// `transaction.state.log.num.partitions` (Kafka: 50).
    pub state_log_partitions: i32,
    /// `transaction.state.log.replication.factor` (Kafka: 3): the replicas
    /// of `__transaction_state` in ZooKeeper mode, which is not created
    /// while fewer brokers are live.
    pub state_log_replication_factor: i16,
    /// `transaction.state.log.min.isr` (Kafka: 2): the
    /// `min.insync.replicas` `__transaction_state` is created with in
    /// ZooKeeper mode.
    pub state_log_min_isr: i32,
    /// `transaction.max.timeout.ms`: the longest `transaction.timeout.ms` a
    /// producer may ask for (Kafka: 900000).
    pub max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: an id whose transactions are all
    /// ended and that has not changed for this long is forgotten (a
    /// tombstone in `__transaction_state`); Kafka: 7 days.
    pub id_expiration_ms: i64,
    /// `request.timeout.ms` (Kafka: 30000): how long the coordinator's
    /// answer waits for the followers of its `__transaction_state`
    /// partition before it is answered COORDINATOR_NOT_AVAILABLE.
    pub request_timeout_ms: i64,
    // Kafka's `transaction.abort.timed.out.transaction.cleanup.interval.ms`
    // has no counterpart: the coordinator aborts a transaction at its
    // exact deadline (start + timeout), where Kafka finds it up to one
    // interval later.
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            state_log_partitions: 50,
            state_log_replication_factor: 3,
            state_log_min_isr: 2,
            max_timeout_ms: 900_000,
            id_expiration_ms: 7 * 24 * 60 * 60 * 1000,
            request_timeout_ms: 30_000,
        }
    }
}
