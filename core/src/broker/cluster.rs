//! Topics, partitions and their configs, kept in the internal
//! `__cluster_metadata` log as KRaft metadata records (TopicRecord,
//! PartitionRecord, ConfigRecord, RemoveTopicRecord) and rebuilt from it
//! when a broker starts over storage that already holds logs.
//!
//! # Format
//!
//! Each record of the log has a null key and a value framed as Kafka's
//! metadata serde writes it:
//!
//! ```text
//! frame version uvarint (1) | api key uvarint (record type) | version uvarint | record body
//! ```

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::protocol::messages::metadata::{
    config_record::ConfigRecord, partition_record::PartitionRecord,
    producer_ids_record::ProducerIdsRecord, remove_topic_record::RemoveTopicRecord,
    topic_record::TopicRecord,
};
use crate::protocol::wire::{put_uvarint, Reader, Writer};
use crate::protocol::{Message, Uuid, Wire};
use crate::records::{batches, BatchView, Record, RecordBatchBuilder, SetEntry};
use crate::storage::{BatchMeta, Storage, TopicPartition};

/// The internal log holding the cluster's metadata.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// The topic id Kafka gives its metadata log (`Topic.CLUSTER_METADATA_TOPIC_ID`).
pub const METADATA_TOPIC_ID: Uuid = Uuid([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/// ConfigRecord resource type of a topic.
pub(crate) const RESOURCE_TOPIC: i8 = 2;

/// One topic as the broker knows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Topic {
    pub name: String,
    pub id: Uuid,
    /// Leader epoch of each partition, by index.
    pub partitions: Vec<i32>,
    /// Topic configs set explicitly (defaults are not stored).
    pub configs: BTreeMap<String, String>,
}

impl Topic {
    /// Whether the topic is one of Kafka's internal topics.
    pub fn is_internal(&self) -> bool {
        self.name == "__consumer_offsets" || self.name == "__transaction_state"
    }
}

/// Every topic, by name and by id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cluster {
    pub topics: BTreeMap<String, Topic>,
    pub by_id: BTreeMap<Uuid, String>,
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
    fn encode(&self) -> Bytes {
        let (key, version) = self.api_key_version();
        let mut w = Writer::new();
        put_uvarint(&mut w, 1);
        put_uvarint(&mut w, key);
        put_uvarint(&mut w, version as u64);
        // Encoding a record the broker built cannot fail at a version it supports.
        let _ = match self {
            Change::Topic(m) => m.encode(&mut w, version),
            Change::Partition(m) => m.encode(&mut w, version),
            Change::Config(m) => m.encode(&mut w, version),
            Change::RemoveTopic(m) => m.encode(&mut w, version),
            Change::ProducerIds(m) => m.encode(&mut w, version),
        };
        w.freeze()
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
                        configs: BTreeMap::new(),
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
            Change::Config(cfg) => {
                if cfg.resource_type == RESOURCE_TOPIC {
                    if let Some(t) = self.topics.get_mut(&*cfg.resource_name) {
                        match &cfg.value {
                            Some(v) => t.configs.insert(cfg.name.to_string(), v.to_string()),
                            None => t.configs.remove(&*cfg.name),
                        };
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
    pub fn replay<S: Storage>(storage: &S) -> Cluster {
        let mut cluster = Cluster::default();
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

/// Writes `changes` to the metadata log as one batch.
pub(crate) fn write_changes<S: Storage>(
    storage: &mut S,
    changes: &[Change],
    now: i64,
) -> Result<(), S::Error> {
    let tp = metadata_tp();
    storage.create_log(&tp, METADATA_TOPIC_ID)?;
    let base = storage.end_offset(&tp);
    let mut b = RecordBatchBuilder::new(base, now);
    for (i, c) in changes.iter().enumerate() {
        b = b.record(Record::new(i as i32, 0, None, Some(c.encode())));
    }
    let Ok(bytes) = b.build() else { return Ok(()) };
    let meta = BatchMeta {
        base_offset: base,
        last_offset: base + changes.len() as i64 - 1,
        max_timestamp: now,
    };
    storage.append(&tp, bytes, meta)
}
