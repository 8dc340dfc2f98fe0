//! Transaction isolation for Fetch and ListOffsets: how far a
//! read_committed reader may read, and which aborted transactions it is
//! told about.
//!
//! Kafka's rules (`UnifiedLog.read` with `FetchIsolation.TXN_COMMITTED`):
//! read_committed reads up to the last stable offset (LSO) instead of the
//! high watermark, and its answer carries the aborted transactions that
//! overlap the records returned: a list, empty when there are none or
//! when no records were returned. read_uncommitted gets a null list. Every
//! answer reports the LSO, whatever the isolation level. The partition's
//! producer state ([`crate::state::producers`]) knows the open
//! transactions and keeps the aborted index.

use super::cluster::Cluster;
use super::producers::Producers;
use crate::protocol::messages::fetch_response::AbortedTransaction;
use crate::storage::{Storage, TopicPartition};

/// The last stable offset of `tp`: the first offset of its earliest open
/// transaction, or the high watermark ([`high_watermark`]: a single
/// broker's log end offset) when none is open, so never above it; never below the log start offset (DeleteRecords may
/// move it past an open transaction's start), as Kafka's
/// `maybeIncrementFirstUnstableOffset` bounds it.
pub(crate) fn last_stable_offset<S: Storage + ?Sized>(
    storage: &S,
    cluster: &Cluster,
    producers: &Producers,
    tp: &TopicPartition,
) -> i64 {
    let hw = cluster.high_watermark(storage, tp);
    match cluster.topics.get(&tp.topic) {
        Some(t) => producers
            .last_stable_offset((t.id, tp.partition), hw)
            .max(storage.start_offset(tp).min(hw)),
        None => hw,
    }
}

/// The aborted transactions of `tp` that a read_committed fetcher must
/// skip among the records it was sent, `from` (the fetch offset) up to
/// `to` (one past the last offset sent): each producer id with the first
/// offset of its aborted transaction.
pub(crate) fn aborted_transactions(
    cluster: &Cluster,
    producers: &Producers,
    tp: &TopicPartition,
    from: i64,
    to: i64,
) -> Vec<AbortedTransaction> {
    match cluster.topics.get(&tp.topic) {
        Some(t) => producers.aborted_between((t.id, tp.partition), from, to),
        None => Vec::new(),
    }
}
