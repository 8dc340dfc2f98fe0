//! Transactions as a partition sees them: which producers have one open
//! (and from which offset), the COMMIT and ABORT markers that end them, the
//! last stable offset, and the index of aborted transactions.
//!
//! Kafka's rules (`ProducerStateManager`, `UnifiedLog`):
//!
//! - A producer's first transactional batch in a partition opens its
//!   transaction there at the batch's base offset; later batches of the
//!   same transaction leave that offset alone.
//! - A marker (a control batch with one COMMIT or ABORT record) ends it.
//!   A marker with an epoch below the producer's is INVALID_PRODUCER_EPOCH;
//!   one from an older coordinator epoch TRANSACTION_COORDINATOR_FENCED. A
//!   marker for a producer with nothing open is still written (the
//!   coordinator writes one to every partition it added).
//! - The last stable offset (LSO) is the first offset of the earliest open
//!   transaction, or the high watermark when none is open: read_committed
//!   consumers read no further.
//! - An ABORT that ends an open transaction adds `(producer id, first
//!   offset, marker offset, LSO after it)` to the partition's aborted index
//!   (Kafka's `.txnindex`). A read_committed Fetch lists the aborted
//!   transactions that overlap the records it returns, so the consumer
//!   drops their records.

use bytes::Bytes;

use super::{PartitionKey, ProducerEntry, Producers};
use crate::protocol::messages::fetch_response::AbortedTransaction;
use crate::protocol::ErrorCode;
use crate::records::BatchView;
use crate::records::{ControlRecord, ControlRecordType, EndTxnMarker};
use crate::storage::AbortedTxn;

/// A transaction marker for one producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
    /// COMMIT (true) or ABORT.
    pub commit: bool,
}

/// What a stored control batch says, when it is a transaction marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredMarker {
    pub commit: bool,
    pub coordinator_epoch: i32,
}

/// Reads the marker of a control batch (`bytes` holds the batch `view`
/// was parsed from); `None` for other control records or a bad one.
pub(crate) fn marker_of(view: &BatchView<'_>, bytes: &Bytes) -> Option<StoredMarker> {
    let rec = view.records().next()?.ok()?;
    let key = bytes.slice_ref(rec.key?);
    let kind = ControlRecord::decode(&key).ok()?.kind;
    let commit = match kind {
        ControlRecordType::Commit => true,
        ControlRecordType::Abort => false,
        _ => return None,
    };
    let coordinator_epoch = rec
        .value
        .and_then(|v| EndTxnMarker::decode(&bytes.slice_ref(v)).ok())
        .map_or(-1, |m| m.coordinator_epoch);
    Some(StoredMarker {
        commit,
        coordinator_epoch,
    })
}

impl Producers {
    /// Whether `m` may be appended to `partition` (Kafka's
    /// `ProducerAppendInfo.appendEndTxnMarker` checks).
    pub fn check_marker(&self, partition: PartitionKey, m: &Marker) -> Result<(), ErrorCode> {
        let Some(e) = self
            .partitions
            .get(&partition)
            .and_then(|p| p.get(&m.producer_id))
        else {
            return Ok(());
        };
        if m.producer_epoch < e.epoch {
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if m.coordinator_epoch < e.coordinator_epoch {
            return Err(ErrorCode::TRANSACTION_COORDINATOR_FENCED);
        }
        Ok(())
    }

    /// Records a marker appended at `offset` (with timestamp `ts`): the
    /// producer's open transaction ends, and an abort of one goes into the
    /// aborted index, which is returned for the store's own index.
    pub fn apply_marker(
        &mut self,
        partition: PartitionKey,
        m: &Marker,
        offset: i64,
        ts: i64,
    ) -> Option<AbortedTxn> {
        let producers = self.partitions.entry(partition).or_default();
        let e = producers
            .entry(m.producer_id)
            .or_insert_with(|| ProducerEntry::new(-1));
        e.update_epoch(m.producer_epoch);
        e.coordinator_epoch = m.coordinator_epoch;
        e.last_timestamp = ts;
        let first = e.txn_start.take()?;
        if m.commit {
            return None;
        }
        let lso = producers
            .values()
            .filter_map(|e| e.txn_start)
            .min()
            .unwrap_or(offset + 1);
        let txn = AbortedTxn {
            producer_id: m.producer_id,
            first_offset: first,
            last_offset: offset,
            last_stable_offset: lso,
        };
        self.aborted.entry(partition).or_default().push(txn);
        Some(txn)
    }

    /// The first offset of the earliest open transaction of `partition`.
    pub fn first_unstable_offset(&self, partition: PartitionKey) -> Option<i64> {
        self.partitions
            .get(&partition)?
            .values()
            .filter_map(|e| e.txn_start)
            .min()
    }

    /// The last stable offset of `partition` whose high watermark is `hw`.
    pub fn last_stable_offset(&self, partition: PartitionKey, hw: i64) -> i64 {
        self.first_unstable_offset(partition)
            .map_or(hw, |first| first.min(hw))
    }

    /// The aborted transactions of `partition` that a read_committed Fetch
    /// returning offsets `from` up to (not including) `to` must report
    /// (Kafka's `collectAbortedTxns`): those whose marker is at or after
    /// `from` and whose first record is before `to`.
    pub fn aborted_between(
        &self,
        partition: PartitionKey,
        from: i64,
        to: i64,
    ) -> Vec<AbortedTransaction> {
        self.aborted
            .get(&partition)
            .into_iter()
            .flatten()
            .filter(|a| a.last_offset >= from && a.first_offset < to)
            .map(|a| AbortedTransaction {
                producer_id: a.producer_id,
                first_offset: a.first_offset,
                ..Default::default()
            })
            .collect()
    }

    /// Every aborted transaction of `partition` that the log still holds
    /// a part of (for the log cleaner).
    pub fn aborted(&self, partition: PartitionKey) -> &[AbortedTxn] {
        self.aborted.get(&partition).map_or(&[], Vec::as_slice)
    }

    /// Forgets aborted transactions wholly below their log's start offset
    /// (`start_of` a partition; `None` for one whose topic is gone, which
    /// loses them all), as Kafka drops `.txnindex` entries with their
    /// segments.
    pub fn trim_aborted(&mut self, start_of: impl Fn(PartitionKey) -> Option<i64>) {
        self.aborted.retain(|key, list| {
            let Some(start) = start_of(*key) else {
                return false;
            };
            list.retain(|a| a.last_offset >= start);
            !list.is_empty()
        });
    }

    /// The producers of `partition` (DescribeProducers' active producers).
    pub fn in_partition(&self, partition: PartitionKey) -> Vec<(i64, &ProducerEntry)> {
        self.partitions
            .get(&partition)
            .into_iter()
            .flatten()
            .map(|(id, e)| (*id, e))
            .collect()
    }

    /// Opens a transaction of `producer_id` in `partition` at `offset`
    /// unless one is open, for a transactional batch written outside
    /// Produce (the group coordinator's transactional offset commits).
    pub fn open_txn(&mut self, partition: PartitionKey, producer_id: i64, epoch: i16, offset: i64) {
        let e = self
            .partitions
            .entry(partition)
            .or_default()
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry::new(-1));
        e.update_epoch(epoch);
        if e.txn_start.is_none() {
            e.txn_start = Some(offset);
        }
    }
}
