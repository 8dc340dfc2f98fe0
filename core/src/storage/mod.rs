//! Storage: a set of partition logs holding record batches.
//!
//! The trait is deliberately small and synchronous (no `Send` bound, no
//! waiting): the broker core decides everything and storage only keeps
//! bytes. Offsets are assigned by the core before [`Storage::append`];
//! [`Storage::read`] hands back whole batches as shared [`Bytes`] chunks so
//! that a Fetch response can be written with vectored I/O and record bytes
//! are never re-encoded.
//!
//! # Two traits
//!
//! [`Storage`] is what every store implements: twelve methods over logs and
//! their segments, plus durability hooks with defaults (`flush`, `tick`,
//! `close`) that only a persistent store fills in. [`Compaction`] is the
//! optional extension for the log cleaner: a store that has it returns
//! itself from [`Storage::compaction`], and topics with
//! `cleanup.policy=compact` are compacted; over a store without it they
//! are kept whole.
//!
//! # Segments and compaction
//!
//! A log is a run of segments, the last one active (appends go there).
//! Retention deletes whole segments. The log cleaner reads closed segments
//! with [`Storage::read`], decides in the core what survives, and hands the
//! survivors back through [`Compaction::replace_segments`], which swaps
//! them in for whole closed segments. In [`MemStorage`] every batch is a
//! segment and the last batch is the active one.

mod mem;

use std::fmt;

use bytes::Bytes;

use crate::protocol::Uuid;

pub use mem::{MemError, MemStorage};

/// A topic partition: the name of a log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`-`partition`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// What the core knows about a batch it appends (so storage can index it
/// without decoding it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
}

/// One aborted transaction of a partition: an entry of Kafka's
/// `.txnindex` files, and what a read_committed Fetch reports so the
/// consumer can skip the transaction's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// The producer whose transaction was aborted.
    pub producer_id: i64,
    /// Offset of the transaction's first record in the partition.
    pub first_offset: i64,
    /// Offset of its ABORT marker.
    pub last_offset: i64,
    /// The partition's last stable offset once the marker was written.
    pub last_stable_offset: i64,
}

/// A segment of a log as the log cleaner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// No batch in it starts below this offset.
    pub base_offset: i64,
    /// One past the last offset it covers (the next segment's base).
    pub next_offset: i64,
    /// Its size in bytes.
    pub bytes: u64,
    /// The largest timestamp in it (-1: none).
    pub max_timestamp: i64,
}

/// Bytes of whole batches, in offset order.
pub type Chunks = Vec<Bytes>;

/// A store of partition logs: what the broker needs of any storage.
///
/// Ten methods are required; the rest have defaults that suit a store
/// kept in memory. Every method is synchronous and none waits: the
/// broker decides everything, storage keeps bytes.
pub trait Storage {
    /// Why an operation failed (becomes KAFKA_STORAGE_ERROR for that partition).
    type Error: std::error::Error;

    /// Every log, in any order.
    fn logs(&self) -> Vec<TopicPartition>;
    /// Creates an empty log for a partition of the topic `topic_id`, or,
    /// when the log exists, leaves its data alone. A persistent store
    /// records the topic id with the log (Kafka's `partition.metadata`);
    /// the broker calls this for every partition it knows when it starts,
    /// so a log found without an id gets its topic's.
    fn create_log(&mut self, tp: &TopicPartition, topic_id: Uuid) -> Result<(), Self::Error>;
    /// Deletes a log and its data.
    fn delete_log(&mut self, tp: &TopicPartition) -> Result<(), Self::Error>;
    /// Appends one batch whose offsets the core has already assigned.
    /// `meta.base_offset` is at least the log's end offset: it equals it
    /// for the broker's own appends, and lies past it when a follower
    /// copies a compacted leader's batches, which keep the leader's gaps
    /// (the log then ends after the batch). A base below the end is an
    /// error.
    fn append(
        &mut self,
        tp: &TopicPartition,
        batch: Bytes,
        meta: BatchMeta,
    ) -> Result<(), Self::Error>;
    /// Whole batches starting at the one that holds `offset`, up to about
    /// `max_bytes` (at least one batch when there is one).
    fn read(
        &self,
        tp: &TopicPartition,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Chunks, Self::Error>;
    /// The first offset still stored (the log start offset).
    fn start_offset(&self, tp: &TopicPartition) -> i64;
    /// One past the last offset stored (the log end offset).
    fn end_offset(&self, tp: &TopicPartition) -> i64;
    /// The first offset whose batch's max timestamp is at least `ts`.
    fn offset_for_timestamp(
        &self,
        tp: &TopicPartition,
        ts: i64,
    ) -> Result<Option<i64>, Self::Error>;
    /// Drops whole segments below `offset` and makes `offset` the log start
    /// (the segment holding it stays, as Kafka keeps it).
    fn delete_before(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), Self::Error>;
    /// Cuts the log's tail so that it ends at `offset` (Kafka's
    /// `Log.truncateTo`): every batch whose last offset is at least
    /// `offset` goes, so a batch straddling `offset` goes whole and the
    /// log then ends at that batch's base offset (below `offset`). A log
    /// that ends at or below `offset` is left alone. When `offset` lies
    /// below the log start, the log is emptied and starts (and ends) at
    /// `offset`. A follower does this when its tail diverges from its
    /// leader's; a persistent store must not bring the tail back after a
    /// crash once it returned.
    fn truncate_to(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), Self::Error>;
    /// Empties the log and makes `offset` both its start and its end
    /// (Kafka's `Log.truncateFullyAndStartAt`): a follower whose log ends
    /// below its leader's log start restarts there.
    fn truncate_fully_and_start_at(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), Self::Error>;
    /// The log's segments in offset order, the active one (where appends
    /// go) last: the units retention deletes whole. A store without files
    /// may make every batch a segment, as [`MemStorage`] does; the first
    /// starts at the log start offset.
    fn segments(&self, tp: &TopicPartition) -> Vec<SegmentInfo>;

    /// Bytes stored in the log (for `retention.bytes`): the sum of its
    /// segments.
    fn size(&self, tp: &TopicPartition) -> u64 {
        self.segments(tp).iter().map(|s| s.bytes).sum()
    }

    /// Makes everything appended so far durable. The broker never calls
    /// it: the driver does, before it sends the responses of appended
    /// data (or on a timer), as its durability policy says. The default
    /// has nothing to do.
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Upkeep with the driver's clock (a store of files rolls segments by
    /// age here); the driver calls it now and then. The default does
    /// nothing.
    fn tick(&mut self, now: i64) -> Result<(), Self::Error> {
        let _ = now;
        Ok(())
    }

    /// Flushes and closes the store, so that the next start finds it
    /// cleanly shut down. The default flushes.
    fn close(mut self) -> Result<(), Self::Error>
    where
        Self: Sized,
    {
        self.flush()
    }

    /// An ABORT marker was just appended to `tp` (at `txn.last_offset`),
    /// ending the transaction `txn`. A store that keeps Kafka's
    /// `.txnindex` files beside its segments writes the entry to the
    /// active segment's. The broker keeps its own index in memory either
    /// way (rebuilt from the markers in the log when it starts), so the
    /// default keeps nothing.
    fn index_aborted_txn(
        &mut self,
        tp: &TopicPartition,
        txn: &AbortedTxn,
    ) -> Result<(), Self::Error> {
        let _ = (tp, txn);
        Ok(())
    }

    /// The log cleaner's extension, when this store has it: logs whose
    /// `cleanup.policy` includes `compact` are compacted only then. The
    /// default has none.
    fn compaction(&mut self) -> Option<&mut dyn Compaction<Error = Self::Error>> {
        None
    }
}

/// What the log cleaner (`cleanup.policy=compact`) needs beyond
/// [`Storage`]: swapping rewritten segments in, and remembering where it
/// stopped. A store offers it through [`Storage::compaction`].
pub trait Compaction: Storage {
    /// Replaces the stored batches whose last offset lies in `[from, to)`
    /// with `batches`, the log cleaner's output. `from` is the base of a
    /// segment and `to` the next offset of a later one (or the same), both
    /// below the active segment, as [`Storage::segments`] reported them.
    /// `batches` are in offset order, keep their original offsets, lie
    /// within the range and never overlap; the last one ends at `to - 1`
    /// so the segment ends where it did. Readers see the old batches or the
    /// new ones, never a mix; a persistent store must also come back with
    /// one or the other after a crash at any point of the swap.
    fn replace_segments(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        to: i64,
        batches: Vec<(Bytes, BatchMeta)>,
    ) -> Result<(), Self::Error>;

    /// Where the log cleaner last stopped in this log (its first dirty
    /// offset), as kept by [`Compaction::set_cleaner_checkpoint`]. The
    /// default keeps nothing: after a restart the cleaner starts from the
    /// log start, which costs work but gives the same result.
    fn cleaner_checkpoint(&self, tp: &TopicPartition) -> Option<i64> {
        let _ = tp;
        None
    }

    /// Records where the log cleaner stopped (Kafka's
    /// `cleaner-offset-checkpoint`). The default keeps nothing.
    fn set_cleaner_checkpoint(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), Self::Error> {
        let _ = (tp, offset);
        Ok(())
    }
}
