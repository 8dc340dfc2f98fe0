//! The log cleaner: compaction of every topic whose `cleanup.policy`
//! includes `compact` (`__consumer_offsets` among them), after Kafka's
//! `LogCleaner`.
//!
//! # What a log looks like to the cleaner
//!
//! ```text
//!  log start        first dirty          first uncleanable   active base      end
//!      |  clean (tail)  |  dirty, cleanable  |  too young         |  active (head) |
//!      [seg][seg][seg]  [seg][seg][seg]      [seg]                [active segment]
//! ```
//!
//! - The *active segment* (the last one, where appends go) is never
//!   touched. With [`MemStorage`](crate::storage::MemStorage) every batch
//!   is a segment, so the last batch is the active segment.
//! - The *dirty* section runs from the first dirty offset (where the last
//!   cleaning stopped; the log start at first) to the first uncleanable
//!   offset: the active segment's base, the last stable offset (open
//!   transactions are not compacted), or the base of the first closed
//!   segment holding a record younger than `min.compaction.lag.ms`.
//! - A log is cleaned when dirty bytes / (clean + dirty bytes) exceeds
//!   `min.cleanable.dirty.ratio`, or when its first dirty segment is older
//!   than `max.compaction.lag.ms` (judged by that segment's largest
//!   timestamp; Kafka uses its first batch's). Each run of the timer
//!   (`log.cleaner.backoff.ms` apart while nothing qualifies) cleans the
//!   filthiest log; right after a cleaning it looks again.
//!
//! # What a cleaning does
//!
//! 1. Every keyed record of the dirty section goes into a map from key to
//!    its latest offset.
//! 2. Every closed segment below the first uncleanable offset, clean part
//!    included, is rewritten in groups no bigger than the topic's
//!    `segment.bytes` (an offset span under 2^31). A record stays if it
//!    lies past the dirty section, or it is the latest for its key and it
//!    is not a tombstone whose delete horizon has passed. Keyless records
//!    go (the produce path refuses them for compacted topics).
//! 3. Records keep their offsets: consumers see gaps. A batch keeps its
//!    header fields and last offset (so producer sequence numbers stay
//!    right); one with nothing left goes, unless it is the latest batch of
//!    its producer (Kafka keeps it, empty, for the producer's sequence
//!    state) or the last batch of its group (kept empty so the rewritten
//!    segment still ends where it did; Kafka only keeps the last batch of
//!    the whole round).
//! 4. The first time a batch holding a tombstone is cleaned, its delete
//!    horizon is set to now + `delete.retention.ms` (the batch's
//!    delete-horizon attribute bit and base timestamp, as Kafka 2.8+ does).
//!    A later cleaning after that moment drops the tombstone; so a
//!    tombstone outlives its first cleaning by at least
//!    `delete.retention.ms`, and consumers that read the log within that
//!    time see the delete.
//! 5. [`Compaction::replace_segments`] swaps the new batches in for each
//!    group, and the first dirty offset moves to the first uncleanable one.
//!
//! Transactions ([`txns`]): the cleaner never passes the last stable
//! offset, so an open transaction is never compacted. Records of aborted
//! transactions are left out of the key map and dropped, as Kafka's
//! cleaner discards aborted data. A COMMIT or ABORT marker whose
//! transaction has no batch left in the log gets a delete horizon (now +
//! `delete.retention.ms`), and the first cleaning after it removes the
//! marker; a producer's latest entry stays (emptied) when it is a marker,
//! so its epoch survives. Other control batches are kept as they are.
//!
//! # Where Spate differs from Kafka
//!
//! - The first dirty offsets are kept by the storage where it can
//!   ([`Compaction::set_cleaner_checkpoint`]: `FileStorage` writes Kafka's
//!   `cleaner-offset-checkpoint`); over storage that keeps none, a restart
//!   makes each compacted log dirty from its start, so it is compacted
//!   again once (with the same result).
//! - Cleaning runs inside the broker's state machine, between requests,
//!   and a group of segments is held in memory while it is rewritten.
//! - The key map holds every key (Kafka's is a fixed-size hash table that
//!   may cover only part of the dirty section per round).
//! - A log whose batches cannot be read or rewritten is skipped until the
//!   broker restarts (Kafka marks it uncleanable the same way).

mod txns;

use crate::collections::{Map, Set};

use txns::TxnTracker;

use bytes::{Bytes, BytesMut};

use super::cluster::{Cluster, METADATA_TOPIC};
use super::configs::TopicConfig;
use super::isolation::last_stable_offset;
use super::producers::{PartitionKey, Producers};
use super::Now;
use crate::records::{
    batches, compress, decompress, BatchHeader, BatchRecords, Compression, Record, RecordBatch,
    SetEntry, ATTR_CONTROL, ATTR_DELETE_HORIZON, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL,
};
use crate::storage::{AbortedTxn, BatchMeta, Compaction, SegmentInfo, Storage, TopicPartition};

/// Most bytes one compressed batch may decompress to while cleaning (the
/// produce path's bound, so every stored batch fits).
const MAX_DECOMPRESSED: usize = 64 << 20;

/// Bytes asked of [`Storage::read`] at a time.
const READ_BYTES: usize = 1 << 20;

/// What the cleaner remembers between runs.
#[derive(Debug, Default)]
pub(crate) struct Cleaner {
    /// Where the dirty section of each log starts, by topic id so that a
    /// topic created again under the same name starts dirty (storage
    /// keeps the same by name across restarts, and forgets it when the
    /// log is deleted).
    first_dirty: Map<PartitionKey, i64>,
    /// Logs that failed to clean; skipped from then on.
    uncleanable: Set<PartitionKey>,
}

/// A topic's compaction settings.
#[derive(Debug, Clone, Copy)]
struct Settings {
    min_ratio: f64,
    delete_retention_ms: i64,
    min_lag_ms: i64,
    max_lag_ms: i64,
    segment_bytes: u64,
}

/// A log chosen for cleaning.
#[derive(Debug, Clone)]
struct ToClean {
    tp: TopicPartition,
    key: PartitionKey,
    first_dirty: i64,
    first_uncleanable: i64,
    ratio: f64,
    settings: Settings,
}

/// One run of the cleaner timer: cleans the filthiest log that qualifies.
/// Returns when to run next.
pub(crate) fn run<S: Storage>(
    storage: &mut S,
    cluster: &Cluster,
    producers: &Producers,
    cleaner: &mut Cleaner,
    now: Now,
) -> Now {
    let backoff = now + cluster.config().log_cleaner_backoff_ms.max(1);
    // A store without the extension keeps compacted topics whole.
    let Some(store) = storage.compaction() else {
        return backoff;
    };
    let Some(log) = filthiest(&*store, cluster, producers, cleaner, now) else {
        return backoff;
    };
    match clean(store, producers, &log, now) {
        Ok(()) => {
            cleaner.first_dirty.insert(log.key, log.first_uncleanable);
            // Kept by storage that can, so a restart does not clean again;
            // a failure here only costs that.
            let _ = store.set_cleaner_checkpoint(&log.tp, log.first_uncleanable);
            // Look again soon: another log may qualify too.
            now + 1
        }
        Err(_) => {
            cleaner.uncleanable.insert(log.key);
            backoff
        }
    }
}

fn settings(c: &TopicConfig) -> Settings {
    Settings {
        min_ratio: c.min_cleanable_dirty_ratio,
        delete_retention_ms: c.delete_retention_ms.max(0),
        min_lag_ms: c.min_compaction_lag_ms.max(0),
        max_lag_ms: c.max_compaction_lag_ms,
        segment_bytes: c.segment_bytes.clamp(1, i32::MAX.into()) as u64,
    }
}

/// The compacted log with the highest dirty ratio among those due.
fn filthiest<C: Compaction + ?Sized>(
    store: &C,
    cluster: &Cluster,
    producers: &Producers,
    cleaner: &Cleaner,
    now: Now,
) -> Option<ToClean> {
    let mut best: Option<ToClean> = None;
    for t in cluster.topics.values() {
        if t.name == METADATA_TOPIC || !t.config.cleanup_policy.compact {
            continue;
        }
        let settings = settings(&t.config);
        for p in 0..t.partitions.len() as i32 {
            let key = (t.id, p);
            if cleaner.uncleanable.contains(&key) {
                continue;
            }
            let tp = TopicPartition::new(t.name.clone(), p);
            let checkpoint = cleaner
                .first_dirty
                .get(&key)
                .copied()
                .or_else(|| store.cleaner_checkpoint(&tp));
            let lso = last_stable_offset(store, cluster, producers, &tp);
            let Some(c) = assess(store, tp, key, checkpoint, lso, now, settings) else {
                continue;
            };
            if best.as_ref().is_none_or(|x| c.ratio > x.ratio) {
                best = Some(c);
            }
        }
    }
    best
}

/// The log's dirty section, if it is due for cleaning (Kafka's
/// `cleanableOffsets` and the dirty ratio test).
fn assess<C: Compaction + ?Sized>(
    s: &C,
    tp: TopicPartition,
    key: PartitionKey,
    checkpoint: Option<i64>,
    lso: i64,
    now: Now,
    settings: Settings,
) -> Option<ToClean> {
    let segs = s.segments(&tp);
    let (active, closed) = segs.split_last()?;
    if closed.is_empty() {
        return None;
    }
    let start = s.start_offset(&tp);
    let end = s.end_offset(&tp);
    let first_dirty = match checkpoint {
        Some(o) if o >= start && o <= end => o,
        _ => start,
    };
    let mut first_uncleanable = active.base_offset.min(lso);
    if settings.min_lag_ms > 0 {
        let young = closed.iter().find(|sg| {
            sg.next_offset > first_dirty
                && sg.max_timestamp > now.saturating_sub(settings.min_lag_ms)
        });
        if let Some(sg) = young {
            first_uncleanable = first_uncleanable.min(sg.base_offset);
        }
    }
    let first_uncleanable = first_uncleanable.max(first_dirty);
    let overlaps = |sg: &SegmentInfo, lo: i64, hi: i64| sg.next_offset > lo && sg.base_offset < hi;
    let clean: u64 = closed
        .iter()
        .filter(|sg| overlaps(sg, start, first_dirty))
        .map(|sg| sg.bytes)
        .sum();
    let dirty_segs: Vec<&SegmentInfo> = closed
        .iter()
        .filter(|sg| overlaps(sg, first_dirty, first_uncleanable))
        .collect();
    let dirty: u64 = dirty_segs.iter().map(|sg| sg.bytes).sum();
    let total = clean + dirty;
    if total == 0 {
        return None;
    }
    let ratio = dirty as f64 / total as f64;
    let overdue = settings.max_lag_ms < i64::MAX
        && dirty_segs.first().is_some_and(|sg| {
            sg.max_timestamp >= 0 && now.saturating_sub(sg.max_timestamp) > settings.max_lag_ms
        });
    if !(ratio > settings.min_ratio || (overdue && dirty > 0)) {
        return None;
    }
    Some(ToClean {
        tp,
        key,
        first_dirty,
        first_uncleanable,
        ratio,
        settings,
    })
}

/// Why a cleaning stopped.
#[derive(Debug)]
pub(crate) struct CleanError(#[allow(dead_code)] String);

impl<E: std::fmt::Display> From<E> for CleanError {
    fn from(e: E) -> Self {
        CleanError(e.to_string())
    }
}

/// Every whole v2 batch of `tp` whose last offset lies in `[from, to)`,
/// in order.
fn read_range<C: Compaction + ?Sized>(
    s: &C,
    tp: &TopicPartition,
    from: i64,
    to: i64,
) -> Result<Vec<(BatchHeader, Bytes)>, CleanError> {
    let mut out = Vec::new();
    let mut offset = from;
    while offset < to {
        let chunks = s
            .read(tp, offset, READ_BYTES)
            .map_err(|e| CleanError(e.to_string()))?;
        let before = offset;
        'chunks: for chunk in &chunks {
            for entry in batches(chunk) {
                let SetEntry::Batch(raw) = entry? else {
                    return Err(CleanError(format!("a partial batch in {tp} at {offset}")));
                };
                if raw.info.last_offset < offset {
                    continue;
                }
                if raw.info.last_offset >= to {
                    offset = to;
                    break 'chunks;
                }
                let batch = RecordBatch::decode(&raw.bytes)?;
                offset = raw.info.last_offset + 1;
                out.push((batch.header, raw.bytes));
            }
        }
        if offset == before {
            break;
        }
    }
    Ok(out)
}

/// The records of a batch, decompressed.
fn records_of(bytes: &Bytes) -> Result<(BatchHeader, Vec<Record>), CleanError> {
    let batch = RecordBatch::decode(bytes)?;
    match batch.records {
        BatchRecords::Uncompressed(r) => Ok((batch.header, r)),
        BatchRecords::Compressed {
            compression,
            payload,
        } => {
            let plain = decompress(compression, &payload, MAX_DECOMPRESSED)?;
            let mut header = batch.header;
            header.attributes &= !7;
            let flat = RecordBatch {
                header,
                records: BatchRecords::Compressed {
                    compression: Compression::None,
                    payload: plain,
                },
            }
            .to_bytes()?;
            match RecordBatch::decode(&flat)?.records {
                BatchRecords::Uncompressed(r) => Ok((batch.header, r)),
                BatchRecords::Compressed { .. } => Err(CleanError("still compressed".into())),
            }
        }
    }
}

/// A batch under `header` (records count set here; every other field as
/// given) holding `records`, compressed with the header's codec.
fn encode(mut header: BatchHeader, records: &[Record]) -> Result<Bytes, CleanError> {
    header.records_count = i32::try_from(records.len())?;
    let codec = header.compression().unwrap_or(Compression::None);
    let records = if codec == Compression::None || records.is_empty() {
        header.attributes &= !7;
        BatchRecords::Uncompressed(records.to_vec())
    } else {
        let mut w = BytesMut::new();
        for r in records {
            r.put(&mut w)?;
        }
        BatchRecords::Compressed {
            compression: codec,
            payload: compress(codec, &w)?,
        }
    };
    Ok(RecordBatch { header, records }.to_bytes()?)
}

fn meta_of(h: &BatchHeader) -> BatchMeta {
    BatchMeta {
        base_offset: h.base_offset,
        last_offset: h.last_offset(),
        max_timestamp: h.max_timestamp,
    }
}

/// What the cleaning of one log needs to know while filtering.
struct Filter<'a> {
    /// Latest offset of each key in the dirty section.
    map: &'a Map<Bytes, i64>,
    /// Records from here on were not in the map: they all stay.
    map_end: i64,
    now: Now,
    delete_retention_ms: i64,
    /// Last offset of each producer's latest batch.
    producer_last: &'a Map<i64, i64>,
    /// Producers whose latest entry is a marker, with its epoch: that
    /// marker stays (emptied if need be) so the epoch survives.
    marker_last: &'a Map<i64, i16>,
    /// Transactions seen so far in this round.
    txns: TxnTracker,
}

/// Whether a data batch belongs to an aborted transaction.
fn is_aborted(aborted: &[AbortedTxn], h: &BatchHeader) -> bool {
    h.is_transactional()
        && !h.is_control()
        && aborted.iter().any(|a| {
            a.producer_id == h.producer_id
                && a.first_offset <= h.base_offset
                && h.base_offset < a.last_offset
        })
}

impl Filter<'_> {
    /// The batch as it is after cleaning: unchanged, rebuilt with fewer
    /// records, an empty header, or gone (`None`).
    fn batch(
        &mut self,
        h: &BatchHeader,
        bytes: &Bytes,
        last_of_group: bool,
    ) -> Result<Option<Bytes>, CleanError> {
        let horizon = h.has_delete_horizon().then_some(h.base_timestamp);
        if h.is_control() {
            return self.marker(h, bytes, horizon, last_of_group);
        }
        // An aborted transaction's batch keeps none of its records.
        let aborted_batch = self.txns.data(h);
        let records = if aborted_batch {
            Vec::new()
        } else {
            records_of(bytes)?.1
        };
        let mut kept = Vec::with_capacity(records.len());
        let mut tombstones = false;
        for r in &records {
            let offset = h.base_offset + i64::from(r.offset_delta);
            let keep = if offset >= self.map_end {
                true
            } else if let Some(k) = &r.key {
                let latest = self.map.get(k).copied().unwrap_or(-1);
                let expired = r.value.is_none() && horizon.is_some_and(|t| self.now >= t);
                offset >= latest && !expired
            } else {
                false
            };
            if keep {
                tombstones |= r.value.is_none();
                kept.push(r);
            }
        }
        let set_horizon = tombstones && horizon.is_none();
        if kept.len() == records.len() && !set_horizon && !aborted_batch {
            return Ok(Some(bytes.clone()));
        }
        let kept: Vec<Record> = kept.into_iter().cloned().collect();
        self.rebuild(h, kept, set_horizon, last_of_group)
    }

    /// A control batch: a transaction marker that may go (see
    /// [`txns`]) first gets a delete horizon, and goes once it has passed;
    /// every other control batch stays as it is.
    fn marker(
        &mut self,
        h: &BatchHeader,
        bytes: &Bytes,
        horizon: Option<Now>,
        last_of_group: bool,
    ) -> Result<Option<Bytes>, CleanError> {
        if !self.txns.control(h, bytes) {
            return Ok(Some(bytes.clone()));
        }
        match horizon {
            Some(t) if self.now >= t => self.rebuild(h, Vec::new(), false, last_of_group),
            Some(_) => Ok(Some(bytes.clone())),
            None => {
                let records = records_of(bytes)?.1;
                self.rebuild(h, records, true, last_of_group)
            }
        }
    }

    /// The batch rebuilt with `kept` (a delete horizon set first when
    /// `set_horizon`); with nothing kept, an empty header where the batch
    /// must stay, else nothing.
    fn rebuild(
        &self,
        h: &BatchHeader,
        kept: Vec<Record>,
        set_horizon: bool,
        last_of_group: bool,
    ) -> Result<Option<Bytes>, CleanError> {
        if kept.is_empty() {
            let last_of_producer = h.producer_id >= 0
                && if h.is_control() {
                    self.marker_last.get(&h.producer_id) == Some(&h.producer_epoch)
                } else {
                    self.producer_last.get(&h.producer_id) == Some(&h.last_offset())
                };
            if !(last_of_producer || last_of_group) {
                return Ok(None);
            }
            // Kafka's writeEmptyHeader: no records, no codec, the batch's
            // max timestamp as both timestamps.
            let mut e = *h;
            e.attributes &= ATTR_LOG_APPEND_TIME | ATTR_TRANSACTIONAL | ATTR_CONTROL;
            e.base_timestamp = h.max_timestamp;
            return Ok(Some(encode(e, &[])?));
        }
        let mut out = *h;
        let mut records = kept;
        if set_horizon {
            let t = self.now.saturating_add(self.delete_retention_ms);
            for r in &mut records {
                let ts = h.base_timestamp.wrapping_add(r.timestamp_delta);
                r.timestamp_delta = ts.wrapping_sub(t);
            }
            out.base_timestamp = t;
            out.attributes |= ATTR_DELETE_HORIZON;
        }
        if out.attributes & ATTR_LOG_APPEND_TIME == 0 {
            out.max_timestamp = records
                .iter()
                .map(|r| out.base_timestamp.wrapping_add(r.timestamp_delta))
                .max()
                .unwrap_or(h.max_timestamp);
        }
        Ok(Some(encode(out, &records)?))
    }
}

/// Cleans one log (see the module docs).
fn clean<C: Compaction + ?Sized>(
    store: &mut C,
    producers: &Producers,
    log: &ToClean,
    now: Now,
) -> Result<(), CleanError> {
    let tp = &log.tp;
    // 1. The key map of the dirty section.
    let aborted = producers.aborted(log.key);
    let mut map: Map<Bytes, i64> = Map::new();
    for (h, bytes) in read_range(&*store, tp, log.first_dirty, log.first_uncleanable)? {
        if h.is_control() || is_aborted(aborted, &h) {
            continue;
        }
        let (_, records) = records_of(&bytes)?;
        for r in records {
            if let Some(k) = r.key {
                let offset = h.base_offset + i64::from(r.offset_delta);
                // A copy: the map must not pin whole read buffers.
                map.insert(Bytes::copy_from_slice(&k), offset);
            }
        }
    }
    let producer_last = producers.last_offsets(log.key);
    let marker_last: Map<i64, i16> = producers
        .in_partition(log.key)
        .into_iter()
        .filter(|(_, e)| e.batches.is_empty())
        .map(|(id, e)| (id, e.epoch))
        .collect();
    let mut filter = Filter {
        map: &map,
        map_end: log.first_uncleanable,
        now,
        delete_retention_ms: log.settings.delete_retention_ms,
        producer_last: &producer_last,
        marker_last: &marker_last,
        txns: TxnTracker::new(aborted, store.start_offset(tp)),
    };
    // 2. The segments below the first uncleanable offset, in groups.
    let segs: Vec<SegmentInfo> = store
        .segments(tp)
        .into_iter()
        .filter(|sg| {
            sg.base_offset < log.first_uncleanable && sg.next_offset <= log.first_uncleanable
        })
        .collect();
    for group in group_segments(&segs, log.settings.segment_bytes) {
        let from = group.first().map_or(0, |sg| sg.base_offset);
        let upto = group.last().map_or(0, |sg| sg.next_offset);
        let originals = read_range(&*store, tp, from, upto)?;
        let Some((last_h, _)) = originals.last() else {
            continue;
        };
        let to = last_h.last_offset() + 1;
        let n = originals.len();
        let mut out = Vec::with_capacity(n);
        let mut changed = false;
        for (i, (h, bytes)) in originals.iter().enumerate() {
            match filter.batch(h, bytes, i + 1 == n)? {
                Some(nb) => {
                    changed |= nb != *bytes;
                    let meta = meta_of(&RecordBatch::decode(&nb)?.header);
                    out.push((nb, meta));
                }
                None => changed = true,
            }
        }
        if changed {
            store
                .replace_segments(tp, from, to, out)
                .map_err(|e| CleanError(e.to_string()))?;
        }
    }
    Ok(())
}

/// Consecutive segments in groups whose bytes add up to at most
/// `max_bytes` (a group has at least one segment) and whose offsets span
/// less than 2^31, as Kafka's `groupSegmentsBySize`.
fn group_segments(segs: &[SegmentInfo], max_bytes: u64) -> Vec<Vec<SegmentInfo>> {
    let mut groups: Vec<Vec<SegmentInfo>> = Vec::new();
    let mut cur: Vec<SegmentInfo> = Vec::new();
    let mut size = 0u64;
    for sg in segs {
        let fits = cur.first().is_some_and(|f| {
            size + sg.bytes <= max_bytes
                && sg.next_offset - 1 - f.base_offset <= i64::from(i32::MAX)
        });
        if !fits && !cur.is_empty() {
            groups.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += sg.bytes;
        cur.push(*sg);
    }
    if !cur.is_empty() {
        groups.push(cur);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(base: i64, next: i64, bytes: u64) -> SegmentInfo {
        SegmentInfo {
            base_offset: base,
            next_offset: next,
            bytes,
            max_timestamp: 0,
        }
    }

    #[test]
    fn groups_fill_up_to_segment_bytes() {
        let segs = [
            seg(0, 10, 60),
            seg(10, 20, 30),
            seg(20, 30, 20),
            seg(30, 40, 100),
        ];
        let g = group_segments(&segs, 100);
        let bases: Vec<Vec<i64>> = g
            .iter()
            .map(|g| g.iter().map(|s| s.base_offset).collect())
            .collect();
        assert_eq!(bases, vec![vec![0, 10], vec![20], vec![30]]);
    }
}
