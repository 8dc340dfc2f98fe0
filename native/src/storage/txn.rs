//! A segment's transaction index (`.txnindex`), in Kafka's format, and how
//! it is rebuilt from the log.
//!
//! # Format
//!
//! ```text
//! <base>.txnindex   entries of 34 bytes: version int16 (0), producerId int64,
//!                   firstOffset int64, lastOffset int64, lastStableOffset int64
//! ```
//!
//! All big-endian. One entry per aborted transaction whose ABORT marker
//! (at `lastOffset`) lies in the segment, in marker order; `firstOffset` is
//! the transaction's first record (possibly in an earlier segment) and
//! `lastStableOffset` the partition's last stable offset once the marker
//! was written. As in Kafka, the file is created with its first entry: a
//! missing file is an empty index, and most segments have none.
//!
//! # Rebuilding
//!
//! [`Rebuild`] replays a log's batches in order, as Kafka's producer state
//! does during recovery: a producer's first transactional data batch opens
//! its transaction at the batch's base offset, a control batch whose record
//! key is an ABORT or COMMIT (`version int16, type int16`, types 0 and 1)
//! ends it, and an ABORT that ends an open transaction gives an entry whose
//! last stable offset is the first offset of the earliest transaction still
//! open, or the marker's offset + 1 when none is.

use std::collections::BTreeMap;

use bytes::Bytes;
use spate_core::records::{BatchView, ControlRecord, ControlRecordType};
use spate_core::storage::AbortedTxn;

/// Bytes of a transaction index entry.
pub(crate) const TXN_ENTRY: usize = 34;

/// The entry's bytes.
pub(crate) fn encode_txn(t: &AbortedTxn) -> [u8; TXN_ENTRY] {
    let mut b = [0; TXN_ENTRY];
    // b[..2] is the version, 0.
    b[2..10].copy_from_slice(&t.producer_id.to_be_bytes());
    b[10..18].copy_from_slice(&t.first_offset.to_be_bytes());
    b[18..26].copy_from_slice(&t.last_offset.to_be_bytes());
    b[26..].copy_from_slice(&t.last_stable_offset.to_be_bytes());
    b
}

/// The bytes of a transaction index holding `txns`.
pub(crate) fn txn_bytes(txns: &[AbortedTxn]) -> Vec<u8> {
    txns.iter().flat_map(encode_txn).collect()
}

/// Parses the transaction index of the segment at `base`; `None` if it
/// fails Kafka's checks or ours: whole entries of version 0, marker
/// offsets at or above the base and strictly increasing.
pub(crate) fn parse_txns(b: &[u8], base: i64) -> Option<Vec<AbortedTxn>> {
    if b.len() % TXN_ENTRY != 0 {
        return None;
    }
    let be8 = |c: &[u8], at: usize| {
        let mut x = [0; 8];
        x.copy_from_slice(&c[at..at + 8]);
        i64::from_be_bytes(x)
    };
    let mut out: Vec<AbortedTxn> = Vec::with_capacity(b.len() / TXN_ENTRY);
    for c in b.chunks_exact(TXN_ENTRY) {
        let t = AbortedTxn {
            producer_id: be8(c, 2),
            first_offset: be8(c, 10),
            last_offset: be8(c, 18),
            last_stable_offset: be8(c, 26),
        };
        let after = out.last().map_or(base, |p| p.last_offset + 1);
        if c[..2] != [0, 0] || t.last_offset < after {
            return None;
        }
        out.push(t);
    }
    Some(out)
}

/// Open transactions while a log is replayed (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Rebuild {
    /// Producer id to the first offset of its open transaction.
    open: BTreeMap<i64, i64>,
}

/// What the rebuild needs to know of a batch before reading its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Nothing to do (no producer id, not transactional, not v2).
    Other,
    /// A transactional data batch of this producer.
    Data(i64),
    /// A control batch with a producer id: its records are needed.
    Control,
}

impl Rebuild {
    /// Classifies a batch from its v2 header (at least 61 bytes).
    pub fn kind(head: &[u8]) -> Kind {
        const TRANSACTIONAL: i16 = 0x10;
        const CONTROL: i16 = 0x20;
        if head.get(16) != Some(&2) || head.len() < 51 {
            return Kind::Other;
        }
        let attrs = i16::from_be_bytes([head[21], head[22]]);
        let mut pid = [0; 8];
        pid.copy_from_slice(&head[43..51]);
        let pid = i64::from_be_bytes(pid);
        if pid < 0 {
            Kind::Other
        } else if attrs & CONTROL != 0 {
            Kind::Control
        } else if attrs & TRANSACTIONAL != 0 {
            Kind::Data(pid)
        } else {
            Kind::Other
        }
    }

    /// A transactional data batch at `base`: opens the producer's
    /// transaction unless one is open.
    pub fn on_data(&mut self, producer_id: i64, base: i64) {
        self.open.entry(producer_id).or_insert(base);
    }

    /// A whole control batch; returns the entry when it is an ABORT that
    /// ends an open transaction (the marker's offset is the batch's base
    /// offset, as the broker reads it).
    pub fn on_control(&mut self, batch: &[u8]) -> Option<AbortedTxn> {
        let view = BatchView::parse(batch, 0).ok()?;
        let pid = view.header.producer_id;
        let rec = view.records().next()?.ok()?;
        let key = Bytes::copy_from_slice(rec.key?);
        let abort = match ControlRecord::decode(&key).ok()?.kind {
            ControlRecordType::Abort => true,
            ControlRecordType::Commit => false,
            _ => return None,
        };
        let first = self.open.remove(&pid)?;
        let last = view.header.base_offset;
        abort.then(|| AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: self.open.values().min().map_or(last + 1, |&o| o),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_kafkas_34_bytes() {
        let t = AbortedTxn {
            producer_id: 0x0102_0304_0506_0708,
            first_offset: 5,
            last_offset: 0x1_0000_0000,
            last_stable_offset: -1,
        };
        let b = encode_txn(&t);
        let want: [u8; TXN_ENTRY] = [
            0, 0, // version
            1, 2, 3, 4, 5, 6, 7, 8, // producer id
            0, 0, 0, 0, 0, 0, 0, 5, // first offset
            0, 0, 0, 1, 0, 0, 0, 0, // last offset
            255, 255, 255, 255, 255, 255, 255, 255, // last stable offset
        ];
        assert_eq!(b, want);
        assert_eq!(parse_txns(&b, 5), Some(vec![t]));
        assert_eq!(parse_txns(&b, 0x1_0000_0001), None, "below the base");
        assert_eq!(parse_txns(&b[..33], 0), None, "a partial entry");
        assert_eq!(parse_txns(&[b, b].concat(), 0), None, "not increasing");
        let mut v1 = b;
        v1[1] = 1;
        assert_eq!(parse_txns(&v1, 0), None, "an unknown version");
        assert_eq!(parse_txns(&[], 0), Some(vec![]));
    }
}
