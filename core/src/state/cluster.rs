//! The metadata image: topics, partitions and their configs, kept in the
//! internal `__cluster_metadata` log as KRaft metadata records
//! (TopicRecord, PartitionRecord, ConfigRecord, RemoveTopicRecord) and
//! rebuilt from it when a broker starts over storage that already holds
//! logs. [`Cluster::apply`] is the only way the image changes: the
//! controller ([`super::controller`]) writes a record, then applies it;
//! applying a ConfigRecord parses the topic's configs again
//! ([`super::configs::TopicConfig`]). A ConfigRecord of type BROKER (a
//! dynamic broker config, [`super::configs::dynamic`]) changes the
//! settings the image resolves every topic's configs with.
//!
//! # Format
//!
//! Each record of the log has a null key and a value framed as Kafka's
//! metadata serde writes it:
//!
//! ```text
//! frame version uvarint (1) | api key uvarint (record type) | version uvarint | record body
//! ```

use crate::collections::Map;

use bytes::Bytes;

use super::configs::dynamic::{self, Dynamic};
use super::configs::{TopicConfig, RESOURCE_BROKER, RESOURCE_TOPIC};
use super::leadership::{Lead, Leadership};
use super::Config;
use crate::protocol::messages::metadata::{
    config_record::ConfigRecord, partition_record::PartitionRecord,
    producer_ids_record::ProducerIdsRecord, remove_topic_record::RemoveTopicRecord,
    topic_record::TopicRecord,
};
use crate::protocol::wire::{put_uvarint, Reader, Writer};
use crate::protocol::{EncodeError, ErrorCode, Message, Uuid, Wire};
use crate::records::{batches, BatchView, SetEntry};
use crate::storage::{Storage, TopicPartition};

/// The internal log holding the cluster's metadata.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// The internal topic that holds groups and committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The transaction coordinator's internal topic: transactional ids and the
/// state of their transactions.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// The topic id Kafka gives its metadata log (`Topic.CLUSTER_METADATA_TOPIC_ID`).
pub const METADATA_TOPIC_ID: Uuid = Uuid([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/// One topic as the broker knows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Topic {
    pub name: String,
    pub id: Uuid,
    /// Leader epoch of each partition, by index.
    pub partitions: Vec<i32>,
    /// Topic configs set explicitly, as the metadata log holds them
    /// (defaults are not stored).
    pub configs: Map<String, String>,
    /// The effective configs, parsed when a ConfigRecord is applied.
    pub config: TopicConfig,
    /// Learned from the controller in ZooKeeper mode, in memory only (not
    /// in `__cluster_metadata`); see [`super::leadership`].
    pub learned: bool,
}

impl Topic {
    /// Whether the topic is one of Kafka's internal topics.
    pub fn is_internal(&self) -> bool {
        is_internal(&self.name)
    }

    /// Whether partition `p` exists.
    pub fn has_partition(&self, p: i32) -> bool {
        usize::try_from(p).is_ok_and(|i| i < self.partitions.len())
    }

    /// The leader epoch of partition `p`.
    pub fn epoch(&self, p: i32) -> Option<i32> {
        usize::try_from(p)
            .ok()
            .and_then(|i| self.partitions.get(i))
            .copied()
    }
}

/// Whether `name` is one of Kafka's internal topics (clients see them, but
/// may not write them or delete their records).
pub(crate) fn is_internal(name: &str) -> bool {
    name == OFFSETS_TOPIC || name == TRANSACTION_STATE_TOPIC
}

/// Every topic, by name and by id: the metadata image.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub topics: Map<String, Topic>,
    pub by_id: Map<Uuid, String>,
    /// The controller's partition states and the partitions hosted here
    /// (ZooKeeper mode; empty otherwise).
    pub leadership: Leadership,
    /// Topic configs as the cluster's coordination service holds them
    /// (ZooKeeper's `/config/topics/<topic>`), by topic: learned topics
    /// take theirs from here, whether they arrive before or after the
    /// topic is learned.
    stored_configs: Map<String, Map<String, String>>,
    /// Config sets of learned topics for the driver to write to the
    /// coordination service (ZooKeeper mode), in request order.
    config_writes: Vec<(String, Map<String, String>)>,
    /// Dynamic broker config sets for the driver to write to the
    /// coordination service (ZooKeeper mode): this broker's (its id) or
    /// the cluster default's (`None`), in request order.
    broker_config_writes: Vec<(Option<i32>, Map<String, String>)>,
    /// The broker's settings with its dynamic configs applied, for the
    /// configs a topic does not set.
    config: Config,
    /// The broker's settings as it was started with.
    static_config: Config,
    /// The dynamic broker configs of the metadata log (BROKER
    /// ConfigRecords for this node and for the cluster default).
    dynamic: Dynamic,
}

/// A change to the cluster, as the record that states it.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Topic(TopicRecord),
    Partition(PartitionRecord),
    Config(ConfigRecord),
    RemoveTopic(RemoveTopicRecord),
    /// A block of producer ids taken (kept by the producer state, not the cluster).
    ProducerIds(ProducerIdsRecord),
}

impl Change {
    fn api_key_version(&self) -> (u64, i16) {
        match self {
            Change::Topic(_) => (2, 0),
            Change::Partition(_) => (3, 0),
            Change::Config(_) => (4, 0),
            Change::RemoveTopic(_) => (9, 0),
            Change::ProducerIds(_) => (15, 0),
        }
    }

    /// The record value: frame version, api key, version, body.
    pub(crate) fn encode(&self) -> Result<Bytes, EncodeError> {
        let (key, version) = self.api_key_version();
        let mut w = Writer::new();
        put_uvarint(&mut w, 1);
        put_uvarint(&mut w, key);
        put_uvarint(&mut w, version as u64);
        match self {
            Change::Topic(m) => m.encode(&mut w, version),
            Change::Partition(m) => m.encode(&mut w, version),
            Change::Config(m) => m.encode(&mut w, version),
            Change::RemoveTopic(m) => m.encode(&mut w, version),
            Change::ProducerIds(m) => m.encode(&mut w, version),
        }?;
        Ok(w.freeze())
    }

    /// Reads a record value; records of other types are skipped (`None`).
    pub(crate) fn decode(value: &Bytes) -> Option<Change> {
        let mut r = Reader::new(value);
        let _frame = r.uvarint().ok()?;
        let key = r.uvarint().ok()?;
        let version = r.uvarint().ok()? as i16;
        let rest = value.slice(r.pos()..);
        Some(match key {
            2 => Change::Topic(TopicRecord::decode_bytes(&rest, version).ok()?),
            3 => Change::Partition(PartitionRecord::decode_bytes(&rest, version).ok()?),
            4 => Change::Config(ConfigRecord::decode_bytes(&rest, version).ok()?),
            9 => Change::RemoveTopic(RemoveTopicRecord::decode_bytes(&rest, version).ok()?),
            15 => Change::ProducerIds(ProducerIdsRecord::decode_bytes(&rest, version).ok()?),
            _ => return None,
        })
    }
}

impl Cluster {
    /// Whether fewer than `min_isr` replicas of `tp` are in sync (a
    /// partition without followers has this broker alone in sync): acks=all
    /// appends are refused then (Kafka's `appendRecordsToLeader`).
    pub(crate) fn below_min_isr(&self, tp: &TopicPartition, min_isr: i64) -> bool {
        let in_sync = self
            .leadership
            .leader_log(tp)
            .map_or(1, |l| l.isr().len() as i64);
        in_sync < min_isr
    }

    /// Whether records appended to `tp` up to `required` (one past the last)
    /// are acknowledged with acks=all, or `None` while followers in the ISR
    /// lack them (Kafka's `Partition.checkEnoughReplicasReachOffset`): a
    /// partition no longer led here is NOT_LEADER_OR_FOLLOWER, one whose high
    /// watermark passed `required` is done, NOT_ENOUGH_REPLICAS_AFTER_APPEND
    /// when the ISR shrank below `min.insync.replicas` meanwhile.
    pub(crate) fn acks_all<S: Storage>(
        &self,
        storage: &S,
        tp: &TopicPartition,
        required: i64,
    ) -> Option<ErrorCode> {
        if !matches!(self.lead(&tp.topic, tp.partition), Lead::Here(_)) {
            return Some(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        }
        let Some(log) = self.leadership.leader_log(tp) else {
            // No followers: the log end is the high watermark.
            return Some(ErrorCode::NONE);
        };
        if log.high_watermark(storage.end_offset(tp)) < required {
            return None;
        }
        let min_isr = self
            .topics
            .get(&tp.topic)
            .map_or(1, |t| t.config.min_insync_replicas);
        Some(if self.below_min_isr(tp, min_isr) {
            ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
        } else {
            ErrorCode::NONE
        })
    }

    /// The high watermark of `tp`: what consumers may read and what
    /// acks=all waits for. A partition led here with followers answers from
    /// its [`LeaderLog`](super::replication::LeaderLog); any other from its
    /// log end offset.
    pub fn high_watermark<S: Storage + ?Sized>(&self, storage: &S, tp: &TopicPartition) -> i64 {
        let end = storage.end_offset(tp);
        self.leadership
            .leader_log(tp)
            .map_or(end, |l| l.high_watermark(end))
    }

    /// An empty image on a broker with `config`.
    pub fn new(config: &Config) -> Cluster {
        Cluster {
            topics: Map::new(),
            by_id: Map::new(),
            leadership: Leadership::new(config.node_id),
            stored_configs: Map::new(),
            config_writes: Vec::new(),
            broker_config_writes: Vec::new(),
            config: config.clone(),
            static_config: config.clone(),
            dynamic: Dynamic::default(),
        }
    }

    /// The configs the coordination service holds for `topic` (ZooKeeper
    /// mode): they become a learned topic's configs now, or when it is
    /// learned. Topics of the image's own log keep the log's configs.
    pub fn set_stored_configs(&mut self, topic: &str, configs: Map<String, String>) {
        if let Some(t) = self.topics.get_mut(topic).filter(|t| t.learned) {
            t.config = TopicConfig::resolve(&self.config, &configs);
            t.configs = configs.clone();
        }
        self.stored_configs.insert(topic.to_string(), configs);
    }

    /// Asks for `configs` to become topic `topic`'s whole config set in
    /// the coordination service (ZooKeeper mode, a learned topic). The
    /// image changes only when the change notification comes back, as on
    /// every other broker.
    pub fn write_configs(&mut self, topic: &str, configs: Map<String, String>) {
        self.config_writes.push((topic.to_string(), configs));
    }

    /// The config sets asked for since the last call.
    pub fn take_config_writes(&mut self) -> Vec<(String, Map<String, String>)> {
        std::mem::take(&mut self.config_writes)
    }

    /// Asks for `configs` to become the whole set of dynamic configs of
    /// broker `broker` (`None`: the cluster default) in the coordination
    /// service (ZooKeeper mode). The image changes only when the change
    /// notification comes back ([`Cluster::set_stored_broker_configs`]).
    pub fn write_broker_configs(&mut self, broker: Option<i32>, configs: Map<String, String>) {
        self.broker_config_writes.push((broker, configs));
    }

    /// The dynamic broker config sets asked for since the last call.
    pub fn take_broker_config_writes(&mut self) -> Vec<(Option<i32>, Map<String, String>)> {
        std::mem::take(&mut self.broker_config_writes)
    }

    /// The dynamic configs the coordination service holds for broker
    /// `broker` (`None`: the cluster default; ZooKeeper mode): they
    /// replace that level's, and every topic's effective configs are
    /// worked out again. Another broker's are not this broker's business.
    pub fn set_stored_broker_configs(&mut self, broker: Option<i32>, configs: Map<String, String>) {
        match broker {
            None => self.dynamic.default = configs,
            Some(id) if id == self.static_config.node_id => self.dynamic.node = configs,
            Some(_) => return,
        }
        self.refresh_config();
    }

    /// Whether dynamic broker configs live in the coordination service
    /// (ZooKeeper mode) rather than in the metadata log.
    pub fn broker_configs_stored_elsewhere(&self) -> bool {
        self.static_config.zk_mode
    }

    /// The broker's settings the image resolves topic configs with: its
    /// static settings with the dynamic broker configs applied.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The dynamic broker configs: this node's and the cluster default.
    pub fn dynamic(&self) -> &Dynamic {
        &self.dynamic
    }

    /// Applies one BROKER ConfigRecord: one for this node or the cluster
    /// default (an empty name) changes the settings, and every topic's
    /// effective configs are worked out again; one for another broker is
    /// not this broker's business.
    fn apply_broker_config(&mut self, cfg: &ConfigRecord) {
        let level = if cfg.resource_name.is_empty() {
            &mut self.dynamic.default
        } else if cfg.resource_name.parse::<i32>() == Ok(self.static_config.node_id) {
            &mut self.dynamic.node
        } else {
            return;
        };
        match &cfg.value {
            Some(v) => level.insert(cfg.name.to_string(), v.to_string()),
            None => level.remove(&*cfg.name),
        };
        self.refresh_config();
    }

    /// Works the settings out again from the dynamic configs, and every
    /// topic's effective configs when they changed.
    fn refresh_config(&mut self) {
        let config = dynamic::effective(&self.static_config, &self.dynamic);
        if config == self.config {
            return;
        }
        self.config = config;
        for t in self.topics.values_mut() {
            t.config = TopicConfig::resolve(&self.config, &t.configs);
        }
    }

    /// A topic clients may see (the metadata log is not one).
    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.get(name).filter(|t| t.name != METADATA_TOPIC)
    }

    /// The topic named by `id`.
    pub fn topic_by_id(&self, id: &Uuid) -> Option<&Topic> {
        self.by_id.get(id).and_then(|n| self.topics.get(n))
    }

    /// The image's leader epoch of a partition of a topic clients may see
    /// (`None`: no such topic or partition). Requests that need the
    /// partition's leader ask [`Cluster::lead`] instead.
    pub fn partition_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        self.topic(topic)?.epoch(partition)
    }

    /// Who serves requests that need the leader of a partition of a topic
    /// clients may see. A single broker leads every partition it knows,
    /// at the image's leader epoch; in ZooKeeper mode the hosted
    /// partitions and the controller's states decide first (see
    /// [`super::leadership`]).
    pub fn lead(&self, topic: &str, partition: i32) -> Lead {
        match self.topic(topic) {
            Some(t) => self.lead_in(t, partition),
            None => Lead::Unknown,
        }
    }

    /// [`Cluster::lead`] for partition `partition` of `t`, a topic of the
    /// image found by the caller.
    pub fn lead_in(&self, t: &Topic, partition: i32) -> Lead {
        let topic = t.name.as_str();
        let Some(epoch) = t.epoch(partition) else {
            return Lead::Unknown;
        };
        if !self.config.zk() {
            return Lead::Here(epoch);
        }
        match self.leadership.lead(&TopicPartition::new(topic, partition)) {
            Some(lead) => lead,
            None if !t.learned => Lead::Here(epoch),
            None => Lead::Unknown,
        }
    }

    /// Makes partition `partition` of `topic` known to the image, as the
    /// controller named it (ZooKeeper mode): a topic the image lacks is
    /// added in memory only, with the configs the coordination service
    /// holds for it ([`Cluster::set_stored_configs`]; the defaults until
    /// they are known); a known topic grows to
    /// hold the partition, and takes the controller's topic id when it
    /// names one. `leader_epoch` becomes the partition's image epoch.
    pub fn learn(&mut self, topic: &str, id: Uuid, partition: i32, leader_epoch: i32) {
        if !(0..MAX_PARTITIONS).contains(&partition) {
            return;
        }
        let stored = self.stored_configs.get(topic);
        let t = self
            .topics
            .entry(topic.to_string())
            .or_insert_with(|| Topic {
                name: topic.to_string(),
                id: Uuid::ZERO,
                partitions: Vec::new(),
                configs: stored.cloned().unwrap_or_default(),
                config: stored.map_or_else(
                    || TopicConfig::defaults(&self.config),
                    |c| TopicConfig::resolve(&self.config, c),
                ),
                learned: true,
            });
        if id != Uuid::ZERO && id != t.id {
            if self.by_id.get(&t.id).is_some_and(|n| n == topic) {
                self.by_id.remove(&t.id);
            }
            t.id = id;
            self.by_id.insert(id, topic.to_string());
        }
        let i = partition as usize;
        if t.partitions.len() <= i {
            t.partitions.resize(i + 1, 0);
        }
        t.partitions[i] = leader_epoch;
    }

    /// Drops a learned topic that neither the controller's states nor the
    /// hosted partitions mention any more (its last partition was
    /// deleted). Topics of the image's own log stay.
    pub fn forget_if_unused(&mut self, topic: &str) {
        let learned = self.topics.get(topic).is_some_and(|t| t.learned);
        if learned && !self.leadership.mentions(topic) {
            if let Some(t) = self.topics.remove(topic) {
                if self.by_id.get(&t.id).is_some_and(|n| n == topic) {
                    self.by_id.remove(&t.id);
                }
            }
        }
    }

    /// Applies one change to the in-memory state.
    pub fn apply(&mut self, c: &Change) {
        match c {
            Change::Topic(t) => {
                let name = t.name.to_string();
                self.by_id.insert(t.topic_id, name.clone());
                self.topics.insert(
                    name.clone(),
                    Topic {
                        name,
                        id: t.topic_id,
                        partitions: Vec::new(),
                        configs: Map::new(),
                        config: TopicConfig::defaults(&self.config),
                        learned: false,
                    },
                );
            }
            Change::Partition(p) => {
                if let Some(t) = self
                    .by_id
                    .get(&p.topic_id)
                    .and_then(|n| self.topics.get_mut(n))
                {
                    let i = p.partition_id.max(0) as usize;
                    if t.partitions.len() <= i {
                        t.partitions.resize(i + 1, 0);
                    }
                    t.partitions[i] = p.leader_epoch;
                }
            }
            Change::Config(cfg) if cfg.resource_type == RESOURCE_BROKER => {
                self.apply_broker_config(cfg);
            }
            Change::Config(cfg) => {
                if cfg.resource_type == RESOURCE_TOPIC {
                    if let Some(t) = self.topics.get_mut(&*cfg.resource_name) {
                        match &cfg.value {
                            Some(v) => t.configs.insert(cfg.name.to_string(), v.to_string()),
                            None => t.configs.remove(&*cfg.name),
                        };
                        t.config = TopicConfig::resolve(&self.config, &t.configs);
                    }
                }
            }
            Change::RemoveTopic(r) => {
                if let Some(name) = self.by_id.remove(&r.topic_id) {
                    self.topics.remove(&name);
                }
            }
            // Producer id blocks belong to the producer state (producers.rs).
            Change::ProducerIds(_) => {}
        }
    }

    /// Rebuilds the state from the metadata log (an empty state when there is none).
    pub fn replay<S: Storage>(storage: &S, config: &Config) -> Cluster {
        let mut cluster = Cluster::new(config);
        for_each_batch(storage, &metadata_tp(), |view, bytes| {
            if view.header.is_control() {
                // Raft control records (leader change, snapshot markers).
                return;
            }
            for rec in view.records().flatten() {
                if let Some(c) = rec.value.and_then(|v| Change::decode(&bytes.slice_ref(v))) {
                    cluster.apply(&c);
                }
            }
        });
        cluster
    }
}

/// Calls `f` on every v2 batch of a log, in offset order, with the bytes
/// the view borrows from. A chunk may hold many batches (a whole segment on
/// disk); a batch that does not parse ends the walk.
pub(crate) fn for_each_batch<S: Storage>(
    storage: &S,
    tp: &TopicPartition,
    mut f: impl FnMut(&BatchView<'_>, &Bytes),
) {
    let mut offset = storage.start_offset(tp);
    let end = storage.end_offset(tp);
    while offset < end {
        let from = offset;
        let Ok(chunks) = storage.read(tp, offset, 1 << 20) else {
            return;
        };
        for chunk in &chunks {
            for entry in batches(chunk) {
                let Ok(SetEntry::Batch(raw)) = entry else {
                    break;
                };
                if raw.info.last_offset < from {
                    continue;
                }
                offset = offset.max(raw.info.next_offset());
                if raw.info.magic != 2 {
                    continue;
                }
                match BatchView::parse(&raw.bytes, 0) {
                    Ok(view) => f(&view, &raw.bytes),
                    Err(_) => return,
                }
            }
        }
        if offset == from {
            // Nothing readable past this point.
            return;
        }
    }
}

/// `__cluster_metadata-0`.
pub(crate) fn metadata_tp() -> TopicPartition {
    TopicPartition::new(METADATA_TOPIC, 0)
}

/// Most partitions one request may create (Kafka's controller caps the
/// records of one operation at 10,000).
pub(crate) const MAX_PARTITIONS: i32 = 10_000;

/// Kafka's rule for topic names: 1-249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub(crate) fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-')
}

/// Kafka's message for a topic name it rejects (INVALID_TOPIC_EXCEPTION).
pub(crate) fn topic_name_error(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("Topic name is illegal, it can't be empty".into())
    } else if name == "." || name == ".." {
        Some("Topic name cannot be \".\" or \"..\"".into())
    } else if name.len() > 249 {
        Some(format!(
            "Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"
        ))
    } else if !valid_topic_name(name) {
        Some(format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"))
    } else {
        None
    }
}
