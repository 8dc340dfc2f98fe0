//! Storage: a set of partition logs holding record batches.
//!
//! The trait is deliberately small and synchronous (no `Send` bound, no
//! waiting): the broker core decides everything and storage only keeps
//! bytes. Offsets are assigned by the core before [`Storage::append`];
//! [`Storage::read`] hands back whole batches as shared [`Bytes`] chunks so
//! that a Fetch response can be written with vectored I/O and record bytes
//! are never re-encoded.

mod mem;

use std::fmt;

use bytes::Bytes;

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

/// A unit of a log that retention deletes whole: a batch or a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The offset after its last record.
    pub next_offset: i64,
    /// The largest timestamp in it.
    pub max_timestamp: i64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Bytes of whole batches, in offset order.
pub type Chunks = Vec<Bytes>;

/// A store of partition logs.
pub trait Storage {
    /// Why an operation failed (becomes KAFKA_STORAGE_ERROR for that partition).
    type Error: std::error::Error;

    /// Every log, in any order.
    fn logs(&self) -> Vec<TopicPartition>;
    /// Creates an empty log (no-op if it exists).
    fn create_log(&mut self, tp: &TopicPartition) -> Result<(), Self::Error>;
    /// Deletes a log and its data.
    fn delete_log(&mut self, tp: &TopicPartition) -> Result<(), Self::Error>;
    /// Appends one batch whose offsets the core has already assigned;
    /// `meta.base_offset` equals the log's end offset.
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
    /// Drops whole batches below `offset` and makes `offset` the log start
    /// (the batch holding it stays, as Kafka keeps its segment).
    fn delete_before(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), Self::Error>;
    /// Bytes stored in the log (for retention.bytes).
    fn size(&self, tp: &TopicPartition) -> u64;
    /// The units retention can delete (batches in memory, segments on
    /// disk), oldest first, for retention and for ListOffsets.
    fn spans(&self, tp: &TopicPartition) -> Vec<Span>;
}
