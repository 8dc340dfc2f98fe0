//! Transaction isolation for Fetch: how far a read_committed fetcher may
//! read, and which aborted transactions it is told about.
//!
//! Kafka's rules (`UnifiedLog.read` with `FetchIsolation.TXN_COMMITTED`):
//! read_committed reads up to the last stable offset (LSO) instead of the
//! high watermark, and its answer carries the aborted transactions that
//! overlap the records returned: a list, empty when there are none or
//! when no records were returned. read_uncommitted gets a null list. Every
//! answer reports the LSO, whatever the isolation level.
//!
//! Transactions are not tracked yet, so the LSO is the high watermark and
//! no transaction is ever aborted; these two functions are where the
//! transaction coordinator's state will answer.

use crate::protocol::messages::fetch_response::AbortedTransaction;
use crate::storage::{Storage, TopicPartition};

/// The last stable offset of `tp`: the first offset of its earliest open
/// transaction, or the high watermark when none is open. With no
/// transactions, the high watermark (a single broker's log end offset).
pub(crate) fn last_stable_offset<S: Storage + ?Sized>(storage: &S, tp: &TopicPartition) -> i64 {
    storage.end_offset(tp)
}

/// The aborted transactions of `tp` that a read_committed fetcher must
/// skip among the records it was sent, `from` (the fetch offset) up to
/// `to` (one past the last offset sent): each producer id with the first
/// offset of its aborted transaction. None while transactions are not
/// tracked.
pub(crate) fn aborted_transactions<S: Storage + ?Sized>(
    storage: &S,
    tp: &TopicPartition,
    from: i64,
    to: i64,
) -> Vec<AbortedTransaction> {
    let _ = (storage, tp, from, to);
    Vec::new()
}
