//! A segment's sparse indexes, in Kafka's formats.
//!
//! # Format
//!
//! ```text
//! <base>.index       entries of 8 bytes:  relativeOffset int32, position int32
//! <base>.timeindex   entries of 12 bytes: timestamp int64, relativeOffset int32
//! ```
//!
//! All big-endian; relative offsets count from the segment's base offset.
//! An offset entry maps a batch's last offset to the file position where
//! the batch starts, written when more than `index.interval.bytes` of log
//! lie between that batch and the previous entry. A time entry, written
//! at the same moments, holds the largest timestamp seen so far in the
//! segment (strictly increasing) and the last offset of the batch that
//! carried it. A segment that stops being active gets one last time entry
//! for its largest timestamp, so the last entry is the segment's maximum.

/// Bytes of an offset index entry.
pub(crate) const OFFSET_ENTRY: usize = 8;
/// Bytes of a time index entry.
pub(crate) const TIME_ENTRY: usize = 12;

/// The indexes of one segment, and the running state that places entries.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    base: i64,
    interval: u64,
    /// (relative last offset, position) entries.
    pub offsets: Vec<(i32, u32)>,
    /// (timestamp, relative offset) entries.
    pub times: Vec<(i64, i32)>,
    /// Position of the batch of the last offset entry (0 if none).
    last_entry_pos: u64,
    /// Largest timestamp in the segment (-1: none).
    pub max_ts: i64,
    /// Last offset of the batch that carries `max_ts`.
    pub offset_of_max: i64,
}

/// A [`Tracker`]'s running state at one point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    offsets: usize,
    times: usize,
    last_entry_pos: u64,
    max_ts: i64,
    offset_of_max: i64,
}

/// Entries to add to the index files after a batch.
#[derive(Debug, Default)]
pub(crate) struct NewEntries {
    pub offset: Option<[u8; OFFSET_ENTRY]>,
    pub time: Option<[u8; TIME_ENTRY]>,
}

impl Tracker {
    /// No entries yet, for a segment at `base`.
    pub fn new(base: i64, interval: u64) -> Self {
        Tracker {
            base,
            interval,
            offsets: Vec::new(),
            times: Vec::new(),
            last_entry_pos: 0,
            max_ts: -1,
            offset_of_max: base,
        }
    }

    /// Indexes read from files, trusted; `max_ts` starts from the last
    /// time entry and batches after the last offset entry are to be fed
    /// through [`Tracker::on_batch`].
    pub fn from_entries(
        base: i64,
        interval: u64,
        offsets: Vec<(i32, u32)>,
        times: Vec<(i64, i32)>,
    ) -> Self {
        let mut t = Tracker::new(base, interval);
        if let Some(&(ts, rel)) = times.last() {
            t.max_ts = ts;
            t.offset_of_max = base + i64::from(rel);
        }
        t.last_entry_pos = offsets.last().map_or(0, |e| u64::from(e.1));
        t.offsets = offsets;
        t.times = times;
        t
    }

    /// Where to start reading when looking for the batch that holds `offset`:
    /// the position of the last entry at or below it.
    pub fn position_for(&self, offset: i64) -> u64 {
        let rel = offset.saturating_sub(self.base);
        let i = self.offsets.partition_point(|e| i64::from(e.0) <= rel);
        i.checked_sub(1).map_or(0, |i| u64::from(self.offsets[i].1))
    }

    /// An offset to start a timestamp search from: batches up to it all
    /// have timestamps below `ts` (none if the search starts at the segment start).
    pub fn offset_before_time(&self, ts: i64) -> Option<i64> {
        let i = self.times.partition_point(|e| e.0 < ts);
        i.checked_sub(1)
            .map(|i| self.base + i64::from(self.times[i].1))
    }

    /// Where the batch ending at `last` with largest timestamp `max_ts`
    /// was written; returns the entries to append to the files.
    /// The running state before a batch, for [`Tracker::undo`].
    pub fn mark(&self) -> Mark {
        Mark {
            offsets: self.offsets.len(),
            times: self.times.len(),
            last_entry_pos: self.last_entry_pos,
            max_ts: self.max_ts,
            offset_of_max: self.offset_of_max,
        }
    }

    /// Forgets the batches fed since `m` was taken (their append failed).
    pub fn undo(&mut self, m: Mark) {
        self.offsets.truncate(m.offsets);
        self.times.truncate(m.times);
        self.last_entry_pos = m.last_entry_pos;
        self.max_ts = m.max_ts;
        self.offset_of_max = m.offset_of_max;
    }

    pub fn on_batch(&mut self, pos: u64, last: i64, max_ts: i64) -> NewEntries {
        if max_ts > self.max_ts {
            self.max_ts = max_ts;
            self.offset_of_max = last;
        }
        let mut out = NewEntries::default();
        if pos - self.last_entry_pos > self.interval {
            let rel = (last - self.base) as i32;
            self.offsets.push((rel, pos as u32));
            out.offset = Some(encode_offset(rel, pos as u32));
            self.last_entry_pos = pos;
            out.time = self.time_entry();
        }
        out
    }

    /// A time entry for the largest timestamp so far, if it is newer than
    /// the last entry (Kafka's `maybeAppend`).
    pub fn time_entry(&mut self) -> Option<[u8; TIME_ENTRY]> {
        let last = self.times.last().map_or(-1, |e| e.0);
        if self.max_ts <= last {
            return None;
        }
        let rel = (self.offset_of_max - self.base) as i32;
        self.times.push((self.max_ts, rel));
        Some(encode_time(self.max_ts, rel))
    }

    /// The offset index file's bytes.
    pub fn offset_bytes(&self) -> Vec<u8> {
        self.offsets
            .iter()
            .flat_map(|&(r, p)| encode_offset(r, p))
            .collect()
    }

    /// The time index file's bytes.
    pub fn time_bytes(&self) -> Vec<u8> {
        self.times
            .iter()
            .flat_map(|&(t, r)| encode_time(t, r))
            .collect()
    }
}

fn encode_offset(rel: i32, pos: u32) -> [u8; OFFSET_ENTRY] {
    let mut b = [0; OFFSET_ENTRY];
    b[..4].copy_from_slice(&rel.to_be_bytes());
    b[4..].copy_from_slice(&pos.to_be_bytes());
    b
}

fn encode_time(ts: i64, rel: i32) -> [u8; TIME_ENTRY] {
    let mut b = [0; TIME_ENTRY];
    b[..8].copy_from_slice(&ts.to_be_bytes());
    b[8..].copy_from_slice(&rel.to_be_bytes());
    b
}

/// Parses an offset index, `None` if it fails Kafka's sanity checks or
/// ours: whole entries, offsets and positions strictly increasing,
/// positions inside the log of `log_len` bytes.
pub(crate) fn parse_offsets(b: &[u8], log_len: u64) -> Option<Vec<(i32, u32)>> {
    if b.len() % OFFSET_ENTRY != 0 {
        return None;
    }
    let entries: Vec<(i32, u32)> = b
        .chunks_exact(OFFSET_ENTRY)
        .map(|c| {
            let rel = i32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            let pos = u32::from_be_bytes([c[4], c[5], c[6], c[7]]);
            (rel, pos)
        })
        .collect();
    let increasing = entries
        .windows(2)
        .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1);
    let in_range = entries
        .iter()
        .all(|&(rel, pos)| rel >= 0 && u64::from(pos) < log_len);
    (increasing && in_range).then_some(entries)
}

/// Parses a time index, `None` if it is not whole entries with strictly
/// increasing timestamps and non-decreasing, non-negative offsets.
pub(crate) fn parse_times(b: &[u8]) -> Option<Vec<(i64, i32)>> {
    if b.len() % TIME_ENTRY != 0 {
        return None;
    }
    let entries: Vec<(i64, i32)> = b
        .chunks_exact(TIME_ENTRY)
        .map(|c| {
            let mut ts = [0; 8];
            ts.copy_from_slice(&c[..8]);
            let rel = i32::from_be_bytes([c[8], c[9], c[10], c[11]]);
            (i64::from_be_bytes(ts), rel)
        })
        .collect();
    let increasing = entries
        .windows(2)
        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
    let in_range = entries.iter().all(|&(_, rel)| rel >= 0);
    (increasing && in_range).then_some(entries)
}
