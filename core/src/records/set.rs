//! Record sets: several batches back to back, as Produce requests, Fetch
//! responses and log segments hold them. Cheap header reads, iteration
//! with a partial tail, and in-place offset rewriting.

use bytes::Bytes;

use super::batch::{RecordBatch, CRC_START};
use super::legacy::{LegacyMessage, V0_MIN, V1_MIN};
use super::{Compression, RecordsError, LOG_OVERHEAD, MAGIC_OFFSET, V2_HEADER_LEN};
use crate::protocol::error::DecodeError;
use crate::protocol::wire::Reader;

/// What a batch's first bytes say, read without decoding its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchInfo {
    /// 0, 1 or 2.
    pub magic: i8,
    /// First offset (v2: baseOffset; legacy: the entry's offset, which for a
    /// compressed wrapper is really the last inner offset).
    pub base_offset: i64,
    /// Last offset (v2: baseOffset + lastOffsetDelta; legacy: the entry's offset).
    pub last_offset: i64,
    /// Records in the batch: v2 recordsCount, 1 for an uncompressed legacy
    /// message, `None` for a compressed legacy wrapper (unknown until decompressed).
    pub record_count: Option<i32>,
    /// The codec, `None` if the attribute bits are undefined.
    pub compression: Option<Compression>,
    /// Whole size of the batch in bytes, offset and length fields included.
    pub size: usize,
}

impl BatchInfo {
    /// Reads the header of the batch at the start of `batch`, which may be
    /// cut short after the header. Error offsets count from its start.
    pub fn peek(batch: &[u8]) -> Result<BatchInfo, RecordsError> {
        peek_at(batch, 0)
    }

    /// Offset after the last record (`last_offset + 1`, wrapping).
    pub fn next_offset(&self) -> i64 {
        self.last_offset.wrapping_add(1)
    }
}

fn be<const N: usize>(src: &[u8], at: usize, base: usize) -> Result<[u8; N], DecodeError> {
    src.get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(DecodeError::Truncated {
            at: base.saturating_add(at),
            needed: N,
            remaining: src.len().saturating_sub(at),
        })
}

/// [`BatchInfo::peek`] with error offsets shifted by `base`.
fn peek_at(src: &[u8], base: usize) -> Result<BatchInfo, RecordsError> {
    let offset = i64::from_be_bytes(be(src, 0, base)?);
    let len = i32::from_be_bytes(be(src, 8, base)?);
    let magic = i8::from_be_bytes(be(src, MAGIC_OFFSET, base)?);
    let min = match magic {
        2 => V2_HEADER_LEN - LOG_OVERHEAD,
        1 => V1_MIN,
        0 => V0_MIN,
        _ => {
            return Err(DecodeError::Invalid {
                at: base + MAGIC_OFFSET,
                what: "magic byte must be 0, 1 or 2",
            }
            .into())
        }
    };
    let body =
        usize::try_from(len)
            .ok()
            .filter(|n| *n >= min)
            .ok_or(DecodeError::InvalidLength {
                at: base + 8,
                len: i64::from(len),
            })?;
    let size = body.saturating_add(LOG_OVERHEAD);
    if magic == 2 {
        let attributes = i16::from_be_bytes(be(src, CRC_START, base)?);
        let delta = i32::from_be_bytes(be(src, 23, base)?);
        let count = i32::from_be_bytes(be(src, 57, base)?);
        Ok(BatchInfo {
            magic,
            base_offset: offset,
            last_offset: offset.wrapping_add(i64::from(delta)),
            record_count: Some(count),
            compression: Compression::from_id((attributes & 7) as u8),
            size,
        })
    } else {
        let attributes = i8::from_be_bytes(be(src, 17, base)?);
        let codec = (attributes & 7) as u8;
        Ok(BatchInfo {
            magic,
            base_offset: offset,
            last_offset: offset,
            record_count: if codec == 0 { Some(1) } else { None },
            compression: Compression::from_id(codec),
            size,
        })
    }
}

/// One whole batch of a record set, not yet decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBatch {
    /// Offset of its first byte in the record set.
    pub start: usize,
    /// Its bytes (a zero-copy slice of the set).
    pub bytes: Bytes,
    /// Its header.
    pub info: BatchInfo,
}

/// A decoded batch of either format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyBatch {
    /// Magic 2.
    V2(RecordBatch),
    /// Magic 0 or 1.
    Legacy(LegacyMessage),
}

impl RawBatch {
    /// Decodes the batch (CRC checked). Error offsets count from the start
    /// of [`RawBatch::bytes`].
    pub fn decode(&self) -> Result<AnyBatch, RecordsError> {
        let mut r = Reader::new(&self.bytes);
        let out = if self.info.magic == 2 {
            AnyBatch::V2(RecordBatch::read(&mut r)?)
        } else {
            AnyBatch::Legacy(LegacyMessage::read(&mut r)?)
        };
        r.finish()?;
        Ok(out)
    }
}

/// An item of a record set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetEntry {
    /// A whole batch.
    Batch(RawBatch),
    /// The rest of the set, too short for the batch it starts: a Fetch
    /// response may end like this (a Produce request must not).
    Partial {
        /// Offset of its first byte in the record set.
        start: usize,
        /// The bytes.
        bytes: Bytes,
    },
}

/// Iterator over the batches of a record set; see [`batches`].
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    src: &'a Bytes,
    pos: usize,
    done: bool,
}

/// Walks the batches of `set`. Yields each whole batch, then possibly one
/// [`SetEntry::Partial`] tail; stops after the first error (a negative or
/// too-small length, an unknown magic byte).
pub fn batches(set: &Bytes) -> Batches<'_> {
    Batches {
        src: set,
        pos: 0,
        done: false,
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<SetEntry, RecordsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.src.len() {
            return None;
        }
        let start = self.pos;
        let rest = self.src.get(start..).unwrap_or_default();
        let partial = || {
            Some(Ok(SetEntry::Partial {
                start,
                bytes: self.src.slice(start..),
            }))
        };
        if rest.len() < LOG_OVERHEAD {
            self.done = true;
            return partial();
        }
        // A batch whose length runs past the end is a partial tail, even
        // when its header is cut too short to read anything else.
        if let Ok(len) = be::<4>(rest, 8, start).map(i32::from_be_bytes) {
            let fits = usize::try_from(len).map(|n| n.saturating_add(LOG_OVERHEAD) <= rest.len());
            if fits == Ok(false) {
                self.done = true;
                return partial();
            }
        }
        match peek_at(rest, start) {
            Ok(info) => {
                let end = start.saturating_add(info.size);
                self.pos = end;
                Some(Ok(SetEntry::Batch(RawBatch {
                    start,
                    bytes: self.src.slice(start..end),
                    info,
                })))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn require_v2(batch: &[u8]) -> Result<(), RecordsError> {
    let magic = i8::from_be_bytes(be(batch, MAGIC_OFFSET, 0)?);
    if magic != 2 {
        return Err(DecodeError::Invalid {
            at: MAGIC_OFFSET,
            what: "only a v2 record batch can be rewritten in place",
        }
        .into());
    }
    Ok(())
}

/// Rewrites the baseOffset of the v2 batch at the start of `batch`. The
/// CRC does not cover it, so the batch stays valid.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) -> Result<(), RecordsError> {
    require_v2(batch)?;
    if let Some(f) = batch.get_mut(0..8) {
        f.copy_from_slice(&base_offset.to_be_bytes());
    }
    Ok(())
}

/// Rewrites the partitionLeaderEpoch of the v2 batch at the start of
/// `batch` (not covered by the CRC either).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) -> Result<(), RecordsError> {
    require_v2(batch)?;
    if let Some(f) = batch.get_mut(12..16) {
        f.copy_from_slice(&epoch.to_be_bytes());
    }
    Ok(())
}

/// Gives the v2 batches of `set` consecutive offsets from `first_offset`
/// and stamps them with `leader_epoch`, as a leader does on append.
/// Returns the next offset. The set must hold whole v2 batches only; on
/// error some batches may already be rewritten.
pub fn assign_offsets(
    set: &mut [u8],
    first_offset: i64,
    leader_epoch: i32,
) -> Result<i64, RecordsError> {
    let mut pos = 0usize;
    let mut next = first_offset;
    while pos < set.len() {
        let rest = set.get_mut(pos..).unwrap_or_default();
        let info = peek_at(rest, pos)?;
        if info.magic != 2 {
            return Err(DecodeError::Invalid {
                at: pos + MAGIC_OFFSET,
                what: "only v2 record batches get offsets assigned in place",
            }
            .into());
        }
        if info.size > rest.len() {
            return Err(DecodeError::Truncated {
                at: pos,
                needed: info.size,
                remaining: rest.len(),
            }
            .into());
        }
        set_base_offset(rest, next)?;
        set_partition_leader_epoch(rest, leader_epoch)?;
        let delta = info.last_offset.wrapping_sub(info.base_offset);
        next = next
            .checked_add(delta)
            .and_then(|n| n.checked_add(1))
            .filter(|_| delta >= 0)
            .ok_or(DecodeError::Invalid {
                at: pos + 23,
                what: "lastOffsetDelta is negative or overflows the offset",
            })?;
        pos += info.size;
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Record, RecordBatchBuilder};

    fn batch(n: i32) -> Bytes {
        let mut b = RecordBatchBuilder::new(0, 10);
        for i in 0..n {
            b.push(Record::new(
                i,
                0,
                None,
                Some(Bytes::from(vec![b'a'; i as usize])),
            ));
        }
        b.build().unwrap()
    }

    #[test]
    fn iterates_batches_then_partial_tail() {
        let (a, b) = (batch(2), batch(3));
        let set: Bytes = [&a[..], &b[..], &a[..20]].concat().into();
        let items: Vec<_> = batches(&set).collect::<Result<_, _>>().unwrap();
        assert_eq!(items.len(), 3);
        let SetEntry::Batch(first) = &items[0] else {
            panic!()
        };
        assert_eq!(first.info.record_count, Some(2));
        assert_eq!(first.info.last_offset, 1);
        assert!(matches!(first.decode(), Ok(AnyBatch::V2(_))));
        let SetEntry::Batch(second) = &items[1] else {
            panic!()
        };
        assert_eq!(second.start, a.len());
        assert_eq!(
            items[2],
            SetEntry::Partial {
                start: a.len() + b.len(),
                bytes: a.slice(..20)
            }
        );
    }

    #[test]
    fn assigns_offsets_without_breaking_crc() {
        let (a, b) = (batch(2), batch(3));
        let mut set = [&a[..], &b[..]].concat();
        assert_eq!(assign_offsets(&mut set, 40, 7), Ok(45));
        let set = Bytes::from(set);
        let infos: Vec<_> = batches(&set)
            .map(|e| match e.unwrap() {
                SetEntry::Batch(b) => {
                    let AnyBatch::V2(d) = b.decode().unwrap() else {
                        panic!()
                    };
                    assert_eq!(d.header.partition_leader_epoch, 7);
                    (b.info.base_offset, b.info.last_offset)
                }
                SetEntry::Partial { .. } => panic!(),
            })
            .collect();
        assert_eq!(infos, vec![(40, 41), (42, 44)]);
    }

    #[test]
    fn bad_header_is_an_error() {
        let mut a = batch(1).to_vec();
        a[16] = 9;
        let a = Bytes::from(a);
        assert!(matches!(
            batches(&a).next(),
            Some(Err(RecordsError::Decode(DecodeError::Invalid {
                at: 16,
                ..
            })))
        ));
        assert!(set_base_offset(&mut a.to_vec(), 1).is_err());
    }
}
