//! What the log cleaner knows of transactions while it walks a log from
//! its start (Kafka's `CleanedTransactionMetadata`):
//!
//! - a data batch of an aborted transaction (the aborted index names its
//!   producer and offsets) is discarded;
//! - an ABORT marker may go once none of its transaction's batches is left
//!   in the log; a COMMIT marker once none of its transaction's batches was
//!   seen since the producer's previous marker. Such a marker first gets a
//!   delete horizon (now + `delete.retention.ms`), and a cleaning after
//!   that moment removes it, so a consumer that read up to it within that
//!   time has seen how the transaction ended.

use std::collections::VecDeque;

use crate::collections::{Map, Set};

use bytes::Bytes;

use crate::records::{BatchHeader, BatchView, ControlRecord, ControlRecordType};
use crate::storage::AbortedTxn;

/// The transactions seen so far in one cleaning round.
#[derive(Debug, Default)]
pub(super) struct TxnTracker {
    /// Aborted transactions not reached yet, by first offset.
    pending: VecDeque<AbortedTxn>,
    /// Producers in an aborted transaction, with whether a batch of it was
    /// seen this round.
    aborted: Map<i64, bool>,
    /// Producers with a batch seen in a transaction that is not aborted.
    committed: Set<i64>,
}

impl TxnTracker {
    /// A tracker over the partition's aborted index, for a walk from
    /// `start`: transactions whose ABORT marker lies before it are over
    /// and left out (Kafka's `collectAbortedTransactions`), or the walk
    /// would never see their marker and take the producer's later batches
    /// for aborted ones.
    pub fn new(aborted: &[AbortedTxn], start: i64) -> TxnTracker {
        let mut pending: Vec<AbortedTxn> = aborted
            .iter()
            .filter(|a| a.last_offset >= start)
            .copied()
            .collect();
        pending.sort_by_key(|a| a.first_offset);
        TxnTracker {
            pending: pending.into(),
            ..TxnTracker::default()
        }
    }

    /// Aborted transactions that start at or before `offset` are open.
    fn reach(&mut self, offset: i64) {
        while self
            .pending
            .front()
            .is_some_and(|a| a.first_offset <= offset)
        {
            if let Some(a) = self.pending.pop_front() {
                self.aborted.entry(a.producer_id).or_insert(false);
            }
        }
    }

    /// A data batch: whether it belongs to an aborted transaction (and so
    /// can be discarded).
    pub fn data(&mut self, h: &BatchHeader) -> bool {
        self.reach(h.last_offset());
        if !h.is_transactional() {
            return false;
        }
        match self.aborted.get_mut(&h.producer_id) {
            Some(seen) => {
                *seen = true;
                true
            }
            None => {
                self.committed.insert(h.producer_id);
                false
            }
        }
    }

    /// A control batch (`bytes` holds it): whether it is a marker that may
    /// be removed (see the module docs).
    pub fn control(&mut self, h: &BatchHeader, bytes: &Bytes) -> bool {
        self.reach(h.last_offset());
        let Ok(view) = BatchView::parse(bytes, 0) else {
            return false;
        };
        let Some(Ok(rec)) = view.records().next() else {
            // An empty control batch was cleaned before: it may go.
            return true;
        };
        let Some(key) = rec.key else {
            return false;
        };
        let Ok(c) = ControlRecord::decode(&bytes.slice_ref(key)) else {
            return false;
        };
        match c.kind {
            ControlRecordType::Abort => !self.aborted.remove(&h.producer_id).unwrap_or(false),
            ControlRecordType::Commit => !self.committed.remove(&h.producer_id),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Record, RecordBatch, RecordBatchBuilder};

    fn data(pid: i64, offset: i64) -> BatchHeader {
        let b = RecordBatchBuilder::new(offset, 0)
            .producer(pid, 0, 0)
            .transactional(true)
            .record(Record::new(0, 0, None, Some(Bytes::from_static(b"v"))))
            .build()
            .expect("batch");
        RecordBatch::decode(&b).expect("decodes").header
    }

    #[test]
    fn an_abort_that_ended_before_the_walk_does_not_taint_later_batches() {
        let aborted = [AbortedTxn {
            producer_id: 7,
            first_offset: 2,
            last_offset: 3,
            last_stable_offset: 4,
        }];
        // Walking from offset 10 (the log start moved past the abort).
        let mut t = TxnTracker::new(&aborted, 10);
        assert!(!t.data(&data(7, 10)), "a later transaction of the producer");
        // Walking from the start, its batch is aborted.
        let mut t = TxnTracker::new(&aborted, 0);
        assert!(t.data(&data(7, 2)));
    }
}
