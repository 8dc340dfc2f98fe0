//! Idempotent and transactional producer state: producer ids and epochs,
//! and per-partition sequence numbers of the latest batches.
//!
//! # Producer ids
//!
//! Ids are handed out in blocks of [`PRODUCER_ID_BLOCK_SIZE`], as Kafka's
//! KRaft controller hands them to brokers: taking a block writes a
//! `ProducerIdsRecord` (metadata record type 15) whose `next_producer_id`
//! is the first id after the block to `__cluster_metadata`. A fresh
//! cluster's first id is 0. After a restart the next id is past the last
//! block taken and past every producer id in any partition log, so ids
//! never repeat (and, as in Kafka, a restart skips the rest of a block).
//!
//! In a ZooKeeper cluster every broker hands out ids, so each takes them
//! from a range of its own: broker N's start at `N << 40`
//! ([`id_range`]), and only ids in that range count when it looks for the
//! last one taken (its logs hold the other brokers' producers too, copied
//! from their leaders). Kafka 2.x instead takes blocks from one counter in
//! ZooKeeper (`/latest_producer_id_block`); the ranges give the same
//! guarantee (no two brokers hand out one id) without a round trip.
//!
//! # Sequence checks
//!
//! Per partition and producer id, the broker keeps the producer epoch and
//! the metadata of the last [`BATCHES_TO_RETAIN`] batches (Kafka's
//! `ProducerStateEntry`). A produced batch with a producer id (>= 0) is
//! checked after validation and before it is appended, the way Kafka's
//! `UnifiedLog.analyzeAndValidateProducerState` and `ProducerAppendInfo`
//! check a client's batch:
//!
//! | the batch | outcome |
//! |---|---|
//! | same epoch and the same first and last sequence as a kept batch | a duplicate: not appended, answered NONE with the kept batch's offsets |
//! | an epoch below the producer's | INVALID_PRODUCER_EPOCH (47) |
//! | an epoch above the producer's, first sequence not 0 | OUT_OF_ORDER_SEQUENCE_NUMBER (45) |
//! | the current epoch, first sequence not last + 1 (`i32::MAX` wraps to 0) | OUT_OF_ORDER_SEQUENCE_NUMBER (45) |
//! | a producer unknown to the partition, any sequence | appended (Kafka 4.1 no longer answers UNKNOWN_PRODUCER_ID) |
//!
//! A higher epoch clears the kept batches. Batches without a producer id
//! skip all of this.
//!
//! # Restart
//!
//! [`Producers::load`] rebuilds the table from the batch headers of every
//! partition log, as Kafka rebuilds it from a log with no snapshot.
//!
//! # Transactional ids
//!
//! For InitProducerId with a transactional id the broker keeps, per id, the
//! producer id and epoch as Kafka's transaction coordinator does for a
//! transactional id with no transaction in progress: each call bumps the
//! epoch (fencing the older one), an exhausted epoch moves to a new
//! producer id. This is held in memory only until transactions write
//! `__transaction_state`; after a restart an id starts over with a new
//! producer id.

use std::collections::VecDeque;

use crate::collections::Map;

use bytes::Bytes;

use super::cluster::{for_each_batch, Change, Cluster, METADATA_TOPIC};
use super::controller::write_changes;
use crate::protocol::messages::metadata::producer_ids_record::ProducerIdsRecord;
use crate::protocol::{ErrorCode, Uuid};
use crate::records::validate::last_sequence;
use crate::records::validate::AppendedBatch;
use crate::records::BatchHeader;
use crate::records::BatchView;
use crate::storage::{AbortedTxn, Storage, TopicPartition};

/// Batches kept per producer and partition for duplicate detection
/// (Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub(crate) const BATCHES_TO_RETAIN: usize = 5;

/// Producer ids taken at a time (Kafka's `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`).
pub(crate) const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// A partition, named by its topic's id: a topic deleted and created again
/// under the same name starts with no producer state.
pub(crate) type PartitionKey = (Uuid, i32);

/// What is kept of an appended batch (Kafka's `BatchMetadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMetadata {
    /// Sequence of its first record.
    pub first_seq: i32,
    /// Sequence of its last record.
    pub last_seq: i32,
    /// Offset of its first record.
    pub first_offset: i64,
    /// Offset of its last record.
    pub last_offset: i64,
    /// Its max timestamp as stored (the append time under LogAppendTime).
    pub timestamp: i64,
}

impl BatchMetadata {
    fn of(b: &AppendedBatch) -> BatchMetadata {
        BatchMetadata {
            first_seq: b.base_sequence,
            last_seq: b.last_sequence,
            first_offset: b.base_offset,
            last_offset: b.last_offset,
            timestamp: b.max_timestamp,
        }
    }

    fn of_header(h: &BatchHeader) -> BatchMetadata {
        BatchMetadata {
            first_seq: h.base_sequence,
            last_seq: last_sequence(h.base_sequence, h.last_offset_delta),
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
            timestamp: h.max_timestamp,
        }
    }
}

/// One producer in one partition (Kafka's `ProducerStateEntry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProducerEntry {
    /// Its epoch, -1 before any batch.
    pub epoch: i16,
    /// Its latest batches, oldest first, at most [`BATCHES_TO_RETAIN`].
    pub batches: VecDeque<BatchMetadata>,
    /// Offset of the first record of its open transaction in this
    /// partition (Kafka's `currentTxnFirstOffset`), if one is open.
    pub txn_start: Option<i64>,
    /// The coordinator epoch of the last marker written for it, -1 if none.
    pub coordinator_epoch: i32,
    /// Timestamp of its last batch or marker, -1 if none.
    pub last_timestamp: i64,
}

impl ProducerEntry {
    /// No epoch, no batches.
    fn new(epoch: i16) -> ProducerEntry {
        ProducerEntry {
            epoch,
            batches: VecDeque::new(),
            txn_start: None,
            coordinator_epoch: -1,
            last_timestamp: -1,
        }
    }

    /// Sequence of the last record of the latest batch, -1 if none (for
    /// DescribeProducers).
    pub fn last_sequence(&self) -> i32 {
        self.last_seq()
    }

    /// Sequence of the last record of the latest batch, -1 if none.
    fn last_seq(&self) -> i32 {
        self.batches.back().map_or(-1, |b| b.last_seq)
    }

    /// Moves to `epoch`; a different epoch forgets the batches.
    fn update_epoch(&mut self, epoch: i16) {
        if self.epoch != epoch {
            self.batches.clear();
            self.epoch = epoch;
        }
    }

    fn add(&mut self, epoch: i16, batch: BatchMetadata) {
        self.update_epoch(epoch);
        self.last_timestamp = batch.timestamp;
        self.batches.push_back(batch);
        while self.batches.len() > BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
    }

    /// The kept batch `b` repeats, if any (same epoch, same sequence range).
    fn duplicate_of(&self, b: &AppendedBatch) -> Option<BatchMetadata> {
        if b.producer_epoch != self.epoch {
            return None;
        }
        self.batches
            .iter()
            .find(|m| m.first_seq == b.base_sequence && m.last_seq == b.last_sequence)
            .copied()
    }
}

/// What to do with one partition's batches.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Append them, then pass the update to [`Producers::commit`].
    Append(Update),
    /// A retry of a batch already in the log: append nothing, answer NONE
    /// with the kept batch's offsets.
    Duplicate(BatchMetadata),
    /// Refuse them with this error.
    Reject(ErrorCode),
}

/// Producer state to record once a partition's batches are appended.
#[derive(Debug, Default)]
pub(crate) struct Update(Map<i64, ProducerEntry>);

/// Every producer the broker knows of.
#[derive(Debug, Default)]
pub(crate) struct Producers {
    /// The next producer id to hand out.
    next_id: i64,
    /// The ids this broker hands out, in a ZooKeeper cluster ([`id_range`]).
    range: Option<(i64, i64)>,
    /// End (exclusive) of the block `next_id` is in; `next_id == block_end`
    /// means a new block must be taken first.
    block_end: i64,
    partitions: Map<PartitionKey, Map<i64, ProducerEntry>>,
    /// Each partition's aborted transactions, by the offset of their
    /// ABORT marker (the index read_committed fetches consult).
    aborted: Map<PartitionKey, Vec<AbortedTxn>>,
}

/// `next` follows `last` (Kafka's `ProducerAppendInfo.inSequence`).
fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// The producer ids broker `node_id` hands out in a ZooKeeper cluster
/// (`None`: a single broker, which hands out every id from 0): `[start,
/// end)`, 2^40 ids from `node_id << 40`.
pub(crate) fn id_range(zk_mode: bool, node_id: i32) -> Option<(i64, i64)> {
    if !zk_mode {
        return None;
    }
    let start = i64::from(node_id.max(0)).checked_shl(40)?;
    Some((start, start.saturating_add(1 << 40)))
}

impl Producers {
    /// Rebuilds the state from storage: the next producer id from the
    /// `ProducerIdsRecord`s of the metadata log and the producer ids of every
    /// partition log, and each partition's producers from its batch headers.
    pub fn load<S: Storage>(storage: &S, cluster: &Cluster) -> Producers {
        let range = id_range(cluster.config().zk(), cluster.config().node_id);
        let mut p = Producers {
            range,
            ..Producers::default()
        };
        let mine = |id: i64| range.is_none_or(|(start, end)| (start..end).contains(&id));
        let mut max_seen = -1i64;
        for tp in storage.logs() {
            if tp.topic == METADATA_TOPIC {
                for_each_batch(storage, &tp, |view, chunk| {
                    for rec in view.records().flatten() {
                        if let Some(next) = rec
                            .value
                            .and_then(|v| producer_ids_next(&chunk.slice_ref(v)))
                        {
                            p.next_id = p.next_id.max(next);
                        }
                    }
                });
                continue;
            }
            let Some(topic_id) = cluster.topics.get(&tp.topic).map(|t| t.id) else {
                continue;
            };
            let key = (topic_id, tp.partition);
            for_each_batch(storage, &tp, |view, chunk| {
                if mine(view.header.producer_id) {
                    max_seen = max_seen.max(view.header.producer_id);
                }
                p.replay(key, view, chunk);
            });
        }
        p.next_id = p.next_id.max(max_seen.saturating_add(1));
        if let Some((start, _)) = range {
            p.next_id = p.next_id.max(start);
        }
        p.block_end = p.next_id;
        p
    }

    /// Takes in one batch found in (or copied into) the log of
    /// `partition`: its producer's sequence state, the transaction it
    /// opens, or the transaction its marker ends. Returns the aborted
    /// transaction a marker ended, for the store's index. What a start
    /// does for every batch, and a follower for every batch it copies, so
    /// that it can dedupe retries and knows open transactions if it
    /// becomes leader.
    pub fn replay(
        &mut self,
        key: PartitionKey,
        view: &BatchView<'_>,
        chunk: &Bytes,
    ) -> Option<AbortedTxn> {
        let h = view.header;
        if h.producer_id < 0 {
            return None;
        }
        if self
            .range
            .is_none_or(|(start, end)| (start..end).contains(&h.producer_id))
        {
            self.next_id = self.next_id.max(h.producer_id.saturating_add(1));
            self.block_end = self.block_end.max(self.next_id);
        }
        if h.is_control() {
            let marker = txns::marker_of(view, chunk)?;
            let m = txns::Marker {
                producer_id: h.producer_id,
                producer_epoch: h.producer_epoch,
                coordinator_epoch: marker.coordinator_epoch,
                commit: marker.commit,
            };
            return self.apply_marker(key, &m, h.base_offset, h.max_timestamp);
        }
        let e = self
            .partitions
            .entry(key)
            .or_default()
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry::new(-1));
        e.add(h.producer_epoch, BatchMetadata::of_header(&h));
        if h.is_transactional() && e.txn_start.is_none() {
            e.txn_start = Some(h.base_offset);
        }
        None
    }

    /// Rebuilds the producers and aborted transactions of one partition
    /// from its log (after a follower truncated it, as Kafka reloads its
    /// producer state from the log on truncation).
    pub fn reload<S: Storage>(&mut self, storage: &S, tp: &TopicPartition, key: PartitionKey) {
        self.partitions.remove(&key);
        self.aborted.remove(&key);
        for_each_batch(storage, tp, |view, chunk| {
            self.replay(key, view, chunk);
        });
    }

    /// A new producer id, taking a new block (recorded in the metadata log)
    /// when the current one is used up; `None` if the block cannot be
    /// recorded or ids ran out.
    pub fn allocate<S: Storage>(&mut self, storage: &mut S, node_id: i32, now: i64) -> Option<i64> {
        if self.next_id >= self.block_end {
            let end = self.next_id.checked_add(PRODUCER_ID_BLOCK_SIZE)?;
            write_block(storage, node_id, end, now).ok()?;
            self.block_end = end;
        }
        let id = self.next_id;
        self.next_id += 1;
        Some(id)
    }

    /// Last offsets of the latest batch of each producer in a partition
    /// (Kafka's `lastRecordsOfActiveProducers`): the log cleaner keeps
    /// those batches, emptied if need be, so the sequence state survives.
    pub fn last_offsets(&self, partition: PartitionKey) -> Map<i64, i64> {
        self.partitions
            .get(&partition)
            .map(|m| {
                m.iter()
                    .filter_map(|(id, e)| e.batches.back().map(|b| (*id, b.last_offset)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks one partition's validated batches (offsets assigned, not yet
    /// appended) against its producers; see the module docs.
    pub fn check(&self, partition: PartitionKey, batches: &[AppendedBatch]) -> Verdict {
        let current = self.partitions.get(&partition);
        let mut update = Update::default();
        for b in batches.iter().filter(|b| b.producer_id >= 0) {
            let committed = current.and_then(|m| m.get(&b.producer_id));
            if let Some(dup) = committed.and_then(|e| e.duplicate_of(b)) {
                return Verdict::Duplicate(dup);
            }
            let committed_epoch = committed.map_or(-1, |e| e.epoch);
            // Like Kafka's `updatedEntry`: the committed epoch, no batches yet.
            let working = update.0.entry(b.producer_id).or_insert_with(|| {
                let mut e = ProducerEntry::new(committed_epoch);
                e.txn_start = committed.and_then(|c| c.txn_start);
                e
            });
            let epoch = b.producer_epoch;
            if epoch < working.epoch {
                return Verdict::Reject(ErrorCode::INVALID_PRODUCER_EPOCH);
            }
            if epoch != working.epoch {
                if b.base_sequence != 0 && working.epoch != -1 {
                    return Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
                }
            } else {
                let last = if !working.batches.is_empty() {
                    working.last_seq()
                } else {
                    committed
                        .filter(|e| e.epoch == epoch)
                        .map_or(-1, ProducerEntry::last_seq)
                };
                // A producer with no epoch (none of its batches left) may start anywhere.
                if committed_epoch != -1 && !in_sequence(last, b.base_sequence) {
                    return Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
                }
            }
            // A producer in a transaction writes only transactional batches
            // until its marker (Kafka's `ProducerAppendInfo.checkProducerEpoch`).
            if !b.is_transactional && working.txn_start.is_some() && epoch == working.epoch {
                return Verdict::Reject(ErrorCode::INVALID_TXN_STATE);
            }
            working.add(epoch, BatchMetadata::of(b));
            if b.is_transactional && working.txn_start.is_none() {
                working.txn_start = Some(b.base_offset);
            }
        }
        Verdict::Append(update)
    }

    /// Records batches that [`Producers::check`] passed and that are now in the log.
    pub fn commit(&mut self, partition: PartitionKey, update: Update) {
        if update.0.is_empty() {
            return;
        }
        let producers = self.partitions.entry(partition).or_default();
        for (id, next) in update.0 {
            let entry = producers
                .entry(id)
                .or_insert_with(|| ProducerEntry::new(-1));
            entry.update_epoch(next.epoch);
            for b in next.batches {
                entry.add(next.epoch, b);
            }
            entry.txn_start = next.txn_start;
        }
    }
}

/// The `next_producer_id` of a metadata record value holding a `ProducerIdsRecord`.
fn producer_ids_next(value: &Bytes) -> Option<i64> {
    match Change::decode(value)? {
        Change::ProducerIds(rec) => Some(rec.next_producer_id),
        _ => None,
    }
}

/// Appends a `ProducerIdsRecord` taking the block that ends at `next` to the metadata log.
fn write_block<S: Storage>(storage: &mut S, node_id: i32, next: i64, now: i64) -> Result<(), ()> {
    let rec = ProducerIdsRecord {
        broker_id: node_id,
        broker_epoch: -1,
        next_producer_id: next,
        ..Default::default()
    };
    write_changes(storage, &[Change::ProducerIds(rec)], now).map_err(|_| ())
}

mod txns;

pub(crate) use txns::{marker_of, Marker};

#[cfg(test)]
mod tests;
