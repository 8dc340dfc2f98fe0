//! The one writer of Spate's internal logs: `__cluster_metadata` (the
//! records the metadata image is built from), `__consumer_offsets` (groups
//! and committed offsets) and, with transactions, `__transaction_state`.
//!
//! Records go in as key/value pairs and leave as one record batch appended
//! at the log end, every record stamped `now`. A failure never passes for
//! success: [`append`] says why it wrote nothing, and each caller answers
//! its client with the error Kafka gives for it (the controller
//! KAFKA_STORAGE_ERROR, the group coordinator NOT_COORDINATOR, ...).

use std::fmt;

use bytes::Bytes;

use super::Now;
use crate::records::{Record, RecordBatchBuilder};
use crate::storage::{BatchMeta, Storage, TopicPartition};

/// A record of an internal log: key (null in `__cluster_metadata`) and
/// value (null for a tombstone).
pub(crate) type InternalRecord = (Option<Bytes>, Option<Bytes>);

/// Why records were not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// They do not make a record batch (one too large to encode).
    Build(String),
    /// Storage refused the batch.
    Storage(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Build(why) => write!(f, "cannot build the batch: {why}"),
            WriteError::Storage(why) => write!(f, "storage: {why}"),
        }
    }
}

/// Appends `records` to `tp` as one batch, at the log's end offset. No
/// records: nothing is written.
pub(crate) fn append<S: Storage>(
    storage: &mut S,
    tp: &TopicPartition,
    records: &[InternalRecord],
    now: Now,
) -> Result<(), WriteError> {
    write(storage, tp, records, now, None)
}

/// Appends `records` as [`append`] does, in a transactional batch of the
/// producer `(id, epoch)` with no sequence, as Kafka writes a
/// TxnOffsetCommit's records.
pub(crate) fn append_transactional<S: Storage>(
    storage: &mut S,
    tp: &TopicPartition,
    records: &[InternalRecord],
    now: Now,
    producer: (i64, i16),
) -> Result<(), WriteError> {
    write(storage, tp, records, now, Some(producer))
}

fn write<S: Storage>(
    storage: &mut S,
    tp: &TopicPartition,
    records: &[InternalRecord],
    now: Now,
    producer: Option<(i64, i16)>,
) -> Result<(), WriteError> {
    if records.is_empty() {
        return Ok(());
    }
    let base = storage.end_offset(tp);
    let mut b = RecordBatchBuilder::new(base, now);
    if let Some((id, epoch)) = producer {
        b = b.producer(id, epoch, -1).transactional(true);
    }
    for (i, (k, v)) in records.iter().enumerate() {
        let delta = i32::try_from(i).map_err(|_| WriteError::Build("too many records".into()))?;
        b.push(Record::new(delta, 0, k.clone(), v.clone()));
    }
    let bytes = b.build().map_err(|e| WriteError::Build(e.to_string()))?;
    let meta = BatchMeta {
        base_offset: base,
        last_offset: base + records.len() as i64 - 1,
        max_timestamp: now,
    };
    storage
        .append(tp, bytes, meta)
        .map_err(|e| WriteError::Storage(e.to_string()))
}
