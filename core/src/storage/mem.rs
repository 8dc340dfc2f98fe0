//! [`MemStorage`]: partition logs in memory. The playground persists it to
//! IndexedDB; tests use it directly.
//!
//! Every batch is a segment: retention deletes batches, the last batch is
//! the active segment, and a compacted log's batches leave gaps between
//! their offsets. It has the log cleaner's extension ([`Compaction`]).

use crate::collections::Map;
use std::fmt;

use bytes::Bytes;

use super::{BatchMeta, Chunks, Compaction, SegmentInfo, Storage, TopicPartition};
use crate::protocol::Uuid;

/// One stored batch.
#[derive(Debug, Clone)]
struct Entry {
    meta: BatchMeta,
    bytes: Bytes,
}

#[derive(Debug, Clone, Default)]
struct Log {
    start: i64,
    end: i64,
    batches: Vec<Entry>,
    size: u64,
}

/// Logs held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    logs: Map<TopicPartition, Log>,
}

/// A [`MemStorage`] error: the log does not exist, or an append would break
/// the offset order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemError {
    /// No such log.
    NoLog(TopicPartition),
    /// An append whose base offset is below the log end offset.
    OutOfOrder {
        /// The log.
        tp: TopicPartition,
        /// Its end offset.
        end: i64,
        /// The batch's base offset.
        base: i64,
    },
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemError::NoLog(tp) => write!(f, "no log {tp}"),
            MemError::OutOfOrder { tp, end, base } => {
                write!(
                    f,
                    "append to {tp} at offset {base}, but the log ends at {end}"
                )
            }
        }
    }
}

impl std::error::Error for MemError {}

impl MemStorage {
    /// Empty storage.
    pub fn new() -> Self {
        MemStorage::default()
    }

    fn log(&self, tp: &TopicPartition) -> Result<&Log, MemError> {
        self.logs.get(tp).ok_or_else(|| MemError::NoLog(tp.clone()))
    }

    /// Puts back a log as a snapshot of it held it: its start and end
    /// offsets and its batches in offset order (the playground reloading
    /// from IndexedDB). Replaces any log of that name. The batches are
    /// trusted as they were stored; nothing is re-validated.
    pub fn restore(
        &mut self,
        tp: TopicPartition,
        start: i64,
        end: i64,
        batches: impl IntoIterator<Item = (BatchMeta, Bytes)>,
    ) {
        let batches: Vec<Entry> = batches
            .into_iter()
            .map(|(meta, bytes)| Entry { meta, bytes })
            .collect();
        let size = batches.iter().map(|e| e.bytes.len() as u64).sum();
        self.logs.insert(
            tp,
            Log {
                start,
                end,
                batches,
                size,
            },
        );
    }

    /// Every batch of every log, for persisting a snapshot (the playground).
    /// After compaction the offsets of consecutive batches may have gaps.
    pub fn batches(&self) -> impl Iterator<Item = (&TopicPartition, &Bytes)> {
        self.logs
            .iter()
            .flat_map(|(tp, l)| l.batches.iter().map(move |e| (tp, &e.bytes)))
    }
}

impl Storage for MemStorage {
    type Error = MemError;

    fn logs(&self) -> Vec<TopicPartition> {
        self.logs.keys().cloned().collect()
    }

    /// Topic ids are not kept: nothing here outlives the process.
    fn create_log(&mut self, tp: &TopicPartition, _topic_id: Uuid) -> Result<(), MemError> {
        self.logs.entry(tp.clone()).or_default();
        Ok(())
    }

    fn delete_log(&mut self, tp: &TopicPartition) -> Result<(), MemError> {
        self.logs.remove(tp);
        Ok(())
    }

    fn append(
        &mut self,
        tp: &TopicPartition,
        batch: Bytes,
        meta: BatchMeta,
    ) -> Result<(), MemError> {
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| MemError::NoLog(tp.clone()))?;
        if meta.base_offset < log.end {
            return Err(MemError::OutOfOrder {
                tp: tp.clone(),
                end: log.end,
                base: meta.base_offset,
            });
        }
        log.end = meta.last_offset + 1;
        log.size += batch.len() as u64;
        log.batches.push(Entry { meta, bytes: batch });
        Ok(())
    }

    fn read(&self, tp: &TopicPartition, offset: i64, max_bytes: usize) -> Result<Chunks, MemError> {
        let log = self.log(tp)?;
        let first = log.batches.partition_point(|e| e.meta.last_offset < offset);
        let mut out = Vec::new();
        let mut total = 0usize;
        for e in &log.batches[first..] {
            if !out.is_empty() && total + e.bytes.len() > max_bytes {
                break;
            }
            total += e.bytes.len();
            out.push(e.bytes.clone());
        }
        Ok(out)
    }

    fn start_offset(&self, tp: &TopicPartition) -> i64 {
        self.logs.get(tp).map_or(0, |l| l.start)
    }

    fn end_offset(&self, tp: &TopicPartition) -> i64 {
        self.logs.get(tp).map_or(0, |l| l.end)
    }

    fn offset_for_timestamp(&self, tp: &TopicPartition, ts: i64) -> Result<Option<i64>, MemError> {
        let log = self.log(tp)?;
        Ok(log
            .batches
            .iter()
            .find(|e| e.meta.max_timestamp >= ts)
            .map(|e| e.meta.base_offset.max(log.start)))
    }

    fn delete_before(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), MemError> {
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| MemError::NoLog(tp.clone()))?;
        let offset = offset.min(log.end);
        if offset <= log.start {
            return Ok(());
        }
        let keep_from = log.batches.partition_point(|e| e.meta.last_offset < offset);
        let dropped: u64 = log.batches[..keep_from]
            .iter()
            .map(|e| e.bytes.len() as u64)
            .sum();
        log.batches.drain(..keep_from);
        log.size -= dropped;
        log.start = offset;
        Ok(())
    }

    fn truncate_to(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), MemError> {
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| MemError::NoLog(tp.clone()))?;
        if log.end <= offset {
            return Ok(());
        }
        if offset < log.start {
            return self.truncate_fully_and_start_at(tp, offset);
        }
        let keep = log.batches.partition_point(|e| e.meta.last_offset < offset);
        let cut = log.batches.get(keep).map_or(offset, |e| e.meta.base_offset);
        log.batches.truncate(keep);
        log.size = log.batches.iter().map(|e| e.bytes.len() as u64).sum();
        // A straddling batch goes whole: the log ends where it began (never
        // below the start).
        log.end = cut.min(offset).max(log.start);
        Ok(())
    }

    fn truncate_fully_and_start_at(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), MemError> {
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| MemError::NoLog(tp.clone()))?;
        *log = Log {
            start: offset,
            end: offset,
            ..Log::default()
        };
        Ok(())
    }

    fn size(&self, tp: &TopicPartition) -> u64 {
        self.logs.get(tp).map_or(0, |l| l.size)
    }

    /// One segment per batch, the first starting at the log start.
    fn segments(&self, tp: &TopicPartition) -> Vec<SegmentInfo> {
        let Some(l) = self.logs.get(tp) else {
            return Vec::new();
        };
        let mut base = l.start;
        l.batches
            .iter()
            .map(|e| {
                let next = e.meta.last_offset + 1;
                let seg = SegmentInfo {
                    base_offset: base,
                    next_offset: next,
                    bytes: e.bytes.len() as u64,
                    max_timestamp: e.meta.max_timestamp,
                };
                base = next;
                seg
            })
            .collect()
    }

    fn compaction(&mut self) -> Option<&mut dyn Compaction<Error = MemError>> {
        Some(self)
    }
}

impl Compaction for MemStorage {
    /// Batches are segments here: the
    /// batches whose last offset is in `[from, to)` give way to `batches`.
    fn replace_segments(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        to: i64,
        batches: Vec<(Bytes, BatchMeta)>,
    ) -> Result<(), MemError> {
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| MemError::NoLog(tp.clone()))?;
        let lo = log.batches.partition_point(|e| e.meta.last_offset < from);
        let hi = log.batches.partition_point(|e| e.meta.last_offset < to);
        let new: Vec<Entry> = batches
            .into_iter()
            .map(|(bytes, meta)| Entry { meta, bytes })
            .collect();
        log.batches.splice(lo..hi, new);
        log.size = log.batches.iter().map(|e| e.bytes.len() as u64).sum();
        Ok(())
    }
}

#[cfg(test)]
impl MemStorage {
    /// Appends one batch of `n` records (value `v`) stamped with leader
    /// epoch `epoch` at the log end of `tp`: for unit tests of what reads
    /// the epochs back.
    pub(crate) fn append_stamped(&mut self, tp: &TopicPartition, epoch: i32, n: i32) {
        use crate::records::{Record, RecordBatchBuilder};
        let base = self.end_offset(tp);
        let mut b = RecordBatchBuilder::new(base, 0).partition_leader_epoch(epoch);
        for i in 0..n {
            b.push(Record::new(
                i,
                i64::from(i),
                None,
                Some(Bytes::from_static(b"v")),
            ));
        }
        let meta = BatchMeta {
            base_offset: base,
            last_offset: base + i64::from(n) - 1,
            max_timestamp: 0,
        };
        self.append(tp, b.build().expect("a batch"), meta)
            .expect("an append");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(base: i64, last: i64, ts: i64) -> BatchMeta {
        BatchMeta {
            base_offset: base,
            last_offset: last,
            max_timestamp: ts,
        }
    }

    #[test]
    fn appends_reads_and_deletes_whole_batches() {
        let tp = TopicPartition::new("t", 0);
        let mut s = MemStorage::new();
        s.create_log(&tp, Uuid::ZERO).unwrap();
        s.append(&tp, Bytes::from_static(b"aaaa"), meta(0, 1, 10))
            .unwrap();
        s.append(&tp, Bytes::from_static(b"bbbb"), meta(2, 4, 20))
            .unwrap();
        assert!(s
            .append(&tp, Bytes::from_static(b"c"), meta(4, 4, 30))
            .is_err());
        assert_eq!(s.end_offset(&tp), 5);
        assert_eq!(
            s.read(&tp, 3, 1).unwrap(),
            vec![Bytes::from_static(b"bbbb")]
        );
        assert_eq!(s.read(&tp, 0, 100).unwrap().len(), 2);
        assert_eq!(s.offset_for_timestamp(&tp, 15).unwrap(), Some(2));
        assert_eq!(s.offset_for_timestamp(&tp, 25).unwrap(), None);
        s.delete_before(&tp, 3).unwrap();
        assert_eq!(s.start_offset(&tp), 3);
        assert_eq!(s.size(&tp), 4);
        assert_eq!(
            s.read(&tp, 0, 100).unwrap(),
            vec![Bytes::from_static(b"bbbb")]
        );
    }

    #[test]
    fn truncation_removes_straddling_batches_whole() {
        let tp = TopicPartition::new("t", 0);
        let mut s = MemStorage::new();
        s.create_log(&tp, Uuid::ZERO).unwrap();
        for (i, (base, last)) in [(0, 1), (2, 4), (5, 5), (6, 9)].into_iter().enumerate() {
            let bytes = Bytes::from(vec![b'a' + i as u8; 4]);
            s.append(&tp, bytes, meta(base, last, 10)).unwrap();
        }
        s.truncate_to(&tp, 20).unwrap();
        assert_eq!(s.end_offset(&tp), 10, "past the end: nothing to do");
        s.truncate_to(&tp, 6).unwrap();
        assert_eq!(s.end_offset(&tp), 6, "at a batch boundary");
        assert_eq!(s.read(&tp, 0, 100).unwrap().len(), 3);
        s.truncate_to(&tp, 3).unwrap();
        assert_eq!(s.end_offset(&tp), 2, "the batch 2..=4 straddles 3");
        assert_eq!(s.size(&tp), 4);
        assert_eq!(
            s.read(&tp, 0, 100).unwrap(),
            vec![Bytes::from_static(b"aaaa")]
        );
        s.append(&tp, Bytes::from_static(b"x"), meta(2, 2, 11))
            .unwrap();
        // Below the start: emptied, starting there.
        s.delete_before(&tp, 2).unwrap();
        s.truncate_to(&tp, 1).unwrap();
        assert_eq!((s.start_offset(&tp), s.end_offset(&tp)), (1, 1));
        assert!(s.read(&tp, 0, 100).unwrap().is_empty());
        s.truncate_fully_and_start_at(&tp, 40).unwrap();
        assert_eq!(
            (s.start_offset(&tp), s.end_offset(&tp), s.size(&tp)),
            (40, 40, 0)
        );
        s.append(&tp, Bytes::from_static(b"y"), meta(40, 41, 12))
            .unwrap();
        assert_eq!(s.segments(&tp)[0].base_offset, 40);
    }

    #[test]
    fn restore_gives_back_the_same_log() {
        let tp = TopicPartition::new("t", 0);
        let mut s = MemStorage::new();
        s.create_log(&tp, Uuid::ZERO).unwrap();
        s.append(&tp, Bytes::from_static(b"aaaa"), meta(0, 1, 10))
            .unwrap();
        s.append(&tp, Bytes::from_static(b"bbbb"), meta(2, 4, 20))
            .unwrap();
        s.delete_before(&tp, 3).unwrap();
        let mut r = MemStorage::new();
        r.restore(
            tp.clone(),
            3,
            5,
            [(meta(2, 4, 20), Bytes::from_static(b"bbbb"))],
        );
        assert_eq!(r.start_offset(&tp), s.start_offset(&tp));
        assert_eq!(r.end_offset(&tp), s.end_offset(&tp));
        assert_eq!(r.size(&tp), s.size(&tp));
        assert_eq!(r.read(&tp, 0, 100).unwrap(), s.read(&tp, 0, 100).unwrap());
        assert_eq!(r.segments(&tp), s.segments(&tp));
        r.append(&tp, Bytes::from_static(b"c"), meta(5, 5, 30))
            .unwrap();
    }
}
