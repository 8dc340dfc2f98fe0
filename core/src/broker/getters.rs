//! The broker's getters: they take `&self` and change nothing.

use super::{Broker, GroupSummary, PeerInfo, TxnSummary};
use crate::protocol::Uuid;
use crate::state::Config;
use crate::state::ConnId;
use crate::storage::{Storage, TopicPartition};

impl<S: Storage> Broker<S> {
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A dynamic broker config in force for this broker: set for it, else
    /// as the cluster-wide default; `None` when it is not set dynamically
    /// (the static value holds). For drivers that enforce configs the
    /// core does not use, such as `max.connections`.
    pub fn dynamic_config(&self, name: &str) -> Option<&str> {
        self.cluster.dynamic().get(name)
    }

    /// Whether this broker serves `key` at all (what its ApiVersions
    /// advertises); a request of an API it does not serve closes the
    /// connection, as in Kafka.
    pub fn serves(&self, key: crate::protocol::ApiKey) -> bool {
        !crate::api::supported(&self.config, key).is_empty()
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage, mutably: for a driver that flushes or trims it. The
    /// broker assumes nobody else appends to the logs it serves.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Stops the broker and hands back its storage (to flush and close it).
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Every topic with its id and partition count, internal ones included.
    pub fn topics(&self) -> Vec<(String, Uuid, i32)> {
        self.cluster
            .topics
            .values()
            .map(|t| (t.name.clone(), t.id, t.partitions.len() as i32))
            .collect()
    }

    /// Names of every topic, internal ones included.
    pub fn topic_names(&self) -> Vec<String> {
        self.cluster.topics.keys().cloned().collect()
    }

    /// Every live group with its state, members and committed offsets.
    pub fn groups(&self) -> Vec<GroupSummary> {
        self.groups.summaries()
    }

    /// Every transactional id with its state and its transaction's
    /// partitions.
    pub fn transactions(&self) -> Vec<TxnSummary> {
        self.txns.summaries()
    }

    /// The last stable offset of `tp`: where read_committed consumers
    /// stop (the first offset of its earliest open transaction, or the
    /// high watermark).
    pub fn last_stable_offset(&self, tp: &TopicPartition) -> i64 {
        crate::state::isolation::last_stable_offset(
            &self.storage,
            &self.cluster,
            &self.producers,
            tp,
        )
    }

    /// This broker's epoch, as [`Broker::handle_registered`] last set it
    /// (-1: not registered).
    pub fn broker_epoch(&self) -> i64 {
        self.members.broker_epoch()
    }

    /// The controller's node id as this broker knows it: itself until a
    /// controller's UpdateMetadata names one (ZooKeeper mode); -1 when the
    /// controller said there is none.
    pub fn controller_id(&self) -> i32 {
        self.members.controller_id()
    }

    /// The high watermark this broker knows as follower of `tp`: its
    /// leader's, capped by its own log end (`None`: not a follower of it,
    /// or nothing heard from the leader yet).
    pub fn replica_high_watermark(&self, tp: &TopicPartition) -> Option<i64> {
        self.fetcher.high_watermark(tp)
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// The peer of a connection, for logs.
    pub fn peer(&self, conn: ConnId) -> Option<&PeerInfo> {
        self.conns.get(&conn).map(|c| &c.peer)
    }
}
