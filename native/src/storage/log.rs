//! One partition log: a directory of segments, the last one active.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use spate_core::protocol::Uuid;
use spate_core::storage::{AbortedTxn, BatchMeta, Chunks, SegmentInfo, TopicPartition};

use super::error::{At, FileError};
use super::files::{read_partition_metadata, sync_dir};
use super::scan::Hdr;
use super::segment::{remove_files, Segment};
use super::swap;
use super::txn::Rebuild;
use super::Options;

/// A partition log on disk.
#[derive(Debug)]
pub(crate) struct Log {
    tp: TopicPartition,
    pub dir: PathBuf,
    /// In offset order, never empty; the last is the active segment.
    segments: Vec<Segment>,
    /// The log start offset (may lie inside the first segment).
    pub start: i64,
    /// From `partition.metadata`.
    pub topic_id: Option<Uuid>,
    /// A segment file was created or removed since the last flush.
    dir_dirty: bool,
}

/// Base offsets of the `<20 digits>.log` files in `dir`, sorted.
fn segment_bases(dir: &Path) -> Result<Vec<i64>, FileError> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).at(dir)? {
        let name = entry.at(dir)?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(base) = stem.parse() {
                bases.push(base);
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

impl Log {
    /// A new empty log with one segment at offset 0.
    pub fn create(dir: PathBuf, tp: TopicPartition, opts: &Options) -> Result<Log, FileError> {
        fs::create_dir_all(&dir).at(&dir)?;
        let seg = Segment::create(&dir, 0, opts.index_interval_bytes)?;
        Ok(Log {
            tp,
            dir,
            segments: vec![seg],
            start: 0,
            topic_id: None,
            dir_dirty: true,
        })
    }

    /// Opens a log directory. After an unclean stop (`!clean`) every
    /// segment from the one holding the recovery point `rp` on is checked
    /// batch by batch; the first bad batch and everything after it go.
    /// The transaction indexes of the segments checked (and of those after
    /// them) are rebuilt from the log.
    pub fn load(
        dir: PathBuf,
        tp: TopicPartition,
        opts: &Options,
        clean: bool,
        rp: i64,
        start: Option<i64>,
    ) -> Result<Log, FileError> {
        let interval = opts.index_interval_bytes;
        let topic_id = read_partition_metadata(&dir.join("partition.metadata"))?;
        // A compaction interrupted by a crash is rolled back or finished.
        let swapped = swap::finish(&dir, &segment_bases(&dir)?)?;
        let bases = segment_bases(&dir)?;
        let mut log = Log {
            tp,
            segments: Vec::with_capacity(bases.len().max(1)),
            start: 0,
            topic_id,
            dir_dirty: swapped,
            dir,
        };
        let from = bases.partition_point(|&b| b <= rp).saturating_sub(1);
        for (i, &base) in bases.iter().enumerate() {
            let last = i + 1 == bases.len();
            let recover = !clean && i >= from;
            let (seg, cut) = Segment::load(&log.dir, base, interval, last, recover)?;
            log.segments.push(seg);
            if cut && recover && !last {
                // Nothing after a torn batch can be trusted.
                for &b in &bases[i + 1..] {
                    remove_files(&log.dir, b)?;
                }
                log.dir_dirty = true;
                break;
            }
        }
        if log.segments.is_empty() {
            let base = start.unwrap_or(0).max(0);
            log.segments
                .push(Segment::create(&log.dir, base, interval)?);
            log.dir_dirty = true;
        }
        let n = log.segments.len();
        for i in 1..n {
            let next_base = log.segments[i].base;
            log.segments[i - 1].next = next_base;
        }
        if let Some(i) = log.segments.iter().position(|s| s.recovered) {
            log.rebuild_txns(i)?;
        }
        let first = log.segments[0].base;
        log.start = start.unwrap_or(first).max(first).min(log.end());
        // A crash between writing the log start checkpoint and deleting
        // the segments below it leaves them behind.
        log.drop_below_start()?;
        Ok(log)
    }

    /// Rewrites the transaction indexes of the segments from the `from`th
    /// on, replaying the log from its first segment (a transaction aborted
    /// in one segment may have started in any earlier one).
    fn rebuild_txns(&mut self, from: usize) -> Result<(), FileError> {
        let mut rb = Rebuild::default();
        for (i, seg) in self.segments.iter_mut().enumerate() {
            let mut found = Vec::new();
            seg.scan_txns(&mut rb, &mut found)?;
            if i >= from {
                seg.rewrite_txns(&found)?;
            }
        }
        self.dir_dirty = true;
        Ok(())
    }

    /// Adds an aborted transaction to the transaction index of the segment
    /// that holds its marker (the active one, when the marker was just
    /// appended).
    pub fn index_aborted_txn(&mut self, t: &AbortedTxn) -> Result<(), FileError> {
        let i = self.segments.partition_point(|s| s.base <= t.last_offset);
        match i.checked_sub(1).map(|i| &mut self.segments[i]) {
            Some(seg) if t.last_offset < seg.next => seg.append_txn(t),
            _ => Err(super::error::invalid(
                &self.dir,
                format!("no segment holds the marker at {}", t.last_offset),
            )),
        }
    }

    /// The entries of every segment's transaction index, in offset order.
    // For tests and tools: the broker keeps its own index.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn aborted_txns(&self) -> Result<Vec<AbortedTxn>, FileError> {
        let mut out = Vec::new();
        for seg in &self.segments {
            out.extend(seg.txns()?);
        }
        Ok(out)
    }

    /// One past the last offset.
    pub fn end(&self) -> i64 {
        self.active().next
    }

    fn active(&self) -> &Segment {
        self.segments.last().expect("a log has a segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("a log has a segment")
    }

    /// Starts a new active segment at the end offset (unless the active
    /// one is empty).
    pub fn roll(&mut self, opts: &Options) -> Result<(), FileError> {
        let end = self.end();
        let active = self.active_mut();
        if active.size == 0 {
            return Ok(());
        }
        active.finish()?;
        active.deactivate();
        let seg = Segment::create(&self.dir, end, opts.index_interval_bytes)?;
        self.segments.push(seg);
        self.dir_dirty = true;
        Ok(())
    }

    /// Rolls if the active segment's first batch is more than
    /// `segment_ms` older than `now`.
    pub fn roll_if_older(&mut self, now: i64, opts: &Options) -> Result<(), FileError> {
        let a = self.active();
        if a.size > 0 && a.rolling_ts >= 0 && now - a.rolling_ts > opts.segment_ms {
            self.roll(opts)?;
        }
        Ok(())
    }

    /// Appends a batch, rolling first when the active segment would grow
    /// past `segment_bytes`, is older than `segment_ms` by the batch's
    /// timestamp, or could not index the batch's offsets.
    pub fn append(
        &mut self,
        batch: &[u8],
        meta: BatchMeta,
        opts: &Options,
    ) -> Result<(), FileError> {
        let end = self.end();
        if meta.base_offset < end {
            return Err(FileError::OutOfOrder {
                tp: self.tp.clone(),
                end,
                base: meta.base_offset,
            });
        }
        let len = batch.len() as u64;
        let a = self.active();
        let full = a.size + len > opts.segment_bytes;
        let old = a.rolling_ts >= 0 && meta.max_timestamp - a.rolling_ts > opts.segment_ms;
        let far = meta.last_offset - a.base > i64::from(i32::MAX);
        if a.size > 0 && (full || old || far) {
            self.roll(opts)?;
        }
        let h = Hdr {
            base: meta.base_offset,
            last: meta.last_offset,
            max_ts: meta.max_timestamp,
            size: len,
        };
        self.active_mut().append(batch, h)
    }

    /// Whole batches from the one holding `offset` (or the log start),
    /// up to about `max_bytes` (at least one batch): one chunk per
    /// segment touched.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Chunks, FileError> {
        let offset = offset.max(self.start);
        let mut out: Chunks = Vec::new();
        if offset >= self.end() {
            return Ok(out);
        }
        let mut left = max_bytes;
        let first = self.segments.partition_point(|s| s.base <= offset);
        for seg in &self.segments[first.saturating_sub(1)..] {
            let pos = if out.is_empty() {
                match seg.find(offset)? {
                    Some(p) => p,
                    None => continue,
                }
            } else {
                0
            };
            let Some((bytes, to_end)) = seg.read_from(pos, left, out.is_empty())? else {
                if out.is_empty() {
                    continue;
                }
                break;
            };
            left = left.saturating_sub(bytes.len());
            out.push(bytes);
            if !to_end {
                break;
            }
        }
        Ok(out)
    }

    /// The first offset at or after the log start of the first batch whose
    /// largest timestamp is at least `ts`.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<i64>, FileError> {
        for seg in &self.segments {
            if seg.next <= self.start || seg.max_ts() < ts {
                continue;
            }
            if let Some(o) = seg.find_time(ts, self.start)? {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// Moves the log start to `offset` (at most the end); when it reaches
    /// the end, the active segment is rolled so that it can go too.
    /// Returns whether the start moved.
    pub fn advance_start(&mut self, offset: i64, opts: &Options) -> Result<bool, FileError> {
        let offset = offset.min(self.end());
        if offset <= self.start {
            return Ok(false);
        }
        if offset == self.end() {
            self.roll(opts)?;
        }
        self.start = offset;
        Ok(true)
    }

    /// Deletes the segments wholly below the log start.
    pub fn drop_below_start(&mut self) -> Result<(), FileError> {
        let n = self
            .segments
            .windows(2)
            .take_while(|w| w[1].base <= self.start)
            .count();
        for seg in self.segments.drain(..n) {
            seg.remove()?;
            self.dir_dirty = true;
        }
        Ok(())
    }

    /// Cuts the log so that it ends at `offset` or, when a batch straddles
    /// `offset`, at that batch's base (Kafka's `Log.truncateTo`): segments
    /// based above `offset` are deleted, the one holding it is cut and
    /// becomes the active segment. Below the first segment the log is
    /// emptied and starts at `offset`. Returns whether the log start
    /// moved (the caller writes the checkpoint).
    pub fn truncate_to(&mut self, offset: i64, opts: &Options) -> Result<bool, FileError> {
        if self.end() <= offset {
            return Ok(false);
        }
        if offset < self.start || offset < self.segments[0].base {
            self.truncate_fully(offset, opts)?;
            return Ok(true);
        }
        while self.segments.len() > 1 && self.segments.last().is_some_and(|s| s.base > offset) {
            let seg = self.segments.pop().expect("more than one");
            seg.remove()?;
            self.dir_dirty = true;
        }
        let interval = opts.index_interval_bytes;
        let active = self.active_mut();
        match active.find(offset)? {
            Some(pos) => active.truncate(pos, offset, interval)?,
            // A closed segment whose batches all end below `offset` (a
            // compacted one's gap): it now ends at `offset`.
            None => active.next = offset,
        }
        // A batch straddling the log start went whole: nothing is left at
        // or past the start, which stays where it was.
        if self.end() < self.start {
            let start = self.start;
            self.truncate_fully(start, opts)?;
        }
        if self.dir_dirty {
            sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        Ok(false)
    }

    /// Deletes every segment and starts afresh with an empty one at
    /// `offset`, which becomes the log start (Kafka's
    /// `truncateFullyAndStartAt`).
    pub fn truncate_fully(&mut self, offset: i64, opts: &Options) -> Result<(), FileError> {
        for seg in self.segments.drain(..) {
            seg.remove()?;
        }
        let seg = Segment::create(&self.dir, offset, opts.index_interval_bytes)?;
        self.segments.push(seg);
        self.start = offset;
        sync_dir(&self.dir)?;
        self.dir_dirty = false;
        Ok(())
    }

    /// Bytes in the segment files.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }

    /// Every segment, the active one last.
    pub fn segment_infos(&self) -> Vec<SegmentInfo> {
        self.segments
            .iter()
            .map(|s| SegmentInfo {
                base_offset: s.base,
                next_offset: s.next,
                bytes: s.size,
                max_timestamp: s.max_ts(),
            })
            .collect()
    }

    /// Swaps `batches` in for the closed segments from the one based at
    /// `from` to the one holding `to - 1` (see [`swap`] for how a crash
    /// is survived). The new segment keeps the name `from` and covers the
    /// old range.
    pub fn replace(
        &mut self,
        from: i64,
        to: i64,
        batches: &[(Bytes, BatchMeta)],
        opts: &Options,
    ) -> Result<(), FileError> {
        let bad = |what: String| super::error::invalid(&self.dir, what);
        let n = self.segments.len();
        let i = self
            .segments
            .iter()
            .position(|s| s.base == from)
            .ok_or_else(|| bad(format!("no segment starts at {from}")))?;
        let j = self
            .segments
            .partition_point(|s| s.base < to)
            .saturating_sub(1);
        if j < i || j + 1 >= n || to > self.segments[j].next {
            return Err(bad(format!(
                "offsets {from}..{to} are not whole closed segments"
            )));
        }
        if let Some((_, m)) = batches
            .iter()
            .find(|(_, m)| m.base_offset < from || m.last_offset >= to)
        {
            return Err(bad(format!(
                "a batch at {}..={} outside {from}..{to}",
                m.base_offset, m.last_offset
            )));
        }
        let next = self.segments[j].next;
        let old: Vec<i64> = self.segments[i..=j].iter().map(|s| s.base).collect();
        // The markers stay (the cleaner keeps them), and so do the entries.
        let mut txns = Vec::new();
        for seg in &self.segments[i..=j] {
            txns.extend(seg.txns()?);
        }
        swap::write_swap(&self.dir, from, batches, &txns, opts.index_interval_bytes)?;
        swap::complete(&self.dir, from, next, &old)?;
        let (mut seg, _) = Segment::load(&self.dir, from, opts.index_interval_bytes, false, false)?;
        seg.next = next;
        self.segments.splice(i..=j, [seg]);
        Ok(())
    }

    /// Base offset of the active segment.
    pub fn active_base(&self) -> i64 {
        self.active().base
    }

    /// Fsyncs every segment written since the last flush (the active
    /// segment's indexes only when `full`: see [`Segment::sync`]), and the
    /// directory if segment files came or went.
    pub fn flush(&mut self, full: bool) -> Result<(), FileError> {
        let n = self.segments.len();
        for (i, seg) in self.segments.iter_mut().enumerate() {
            let active = i + 1 == n;
            if seg.needs_sync(active, full) {
                seg.sync(active, full)?;
            }
        }
        if self.dir_dirty {
            sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Whether a flush needs only the active segment's log file forced
    /// to disk (no segment rolled or removed since the last flush, no
    /// file created or removed): that fsync can then run elsewhere
    /// ([`Log::take_sync`]).
    pub fn only_active_dirty(&self) -> bool {
        let n = self.segments.len();
        !self.dir_dirty
            && self.segments[..n - 1]
                .iter()
                .all(|s| !s.needs_sync(false, false))
    }

    /// The active segment's pending fsync (see [`Segment::take_log_sync`]).
    pub fn take_sync(&mut self) -> Option<(Arc<File>, PathBuf)> {
        self.active_mut().take_log_sync()
    }

    /// Gives the active segment's time index its largest timestamp, as
    /// Kafka does when a segment is closed.
    pub fn finish(&mut self) -> Result<(), FileError> {
        self.active_mut().finish()
    }

    /// Base offsets of the segments.
    #[cfg(test)]
    pub fn segment_bases(&self) -> Vec<i64> {
        self.segments.iter().map(|s| s.base).collect()
    }
}
