//! One segment of a log: `<base>.log` holding batches byte for byte, its
//! `.index` and `.timeindex` (see [`super::index`]) and, once it holds an
//! ABORT marker, its `.txnindex` (see [`super::txn`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use spate_core::records::V2_HEADER_LEN;
use spate_core::storage::AbortedTxn;

use super::error::{invalid, At, FileError};
use super::index::{parse_offsets, parse_times, NewEntries, Tracker};
use super::scan::{parse_header, read_exact_at, read_vec_at, step, BlockReader, Hdr, Step};
use super::txn::{encode_txn, parse_txns, txn_bytes, Kind, Rebuild};

/// Reads while recovering or scanning a whole segment.
const BIG_BLOCK: usize = 1 << 20;
/// Reads while looking for one batch near an index entry.
const SMALL_BLOCK: usize = 16 << 10;

/// `00000000000000000042.log` and friends: Kafka's 20-digit names.
pub(crate) fn file_name(base: i64, ext: &str) -> String {
    format!("{base:020}.{ext}")
}

/// The append handles of the index files, and their lengths (kept
/// here so that appending an entry asks the file system nothing).
#[derive(Debug)]
struct Writers {
    index: File,
    time: File,
    lens: (u64, u64),
}

/// One segment, its files open.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Offset in the file name: no batch in it starts below.
    pub base: i64,
    /// One past the last offset it holds (the next segment's base for a
    /// segment that is not the last).
    pub next: i64,
    /// Bytes of the log file that hold whole batches.
    pub size: u64,
    /// Largest timestamp of the first batch (-1: none), for `segment.ms`.
    pub rolling_ts: i64,
    dir: PathBuf,
    /// Shared with an fsync running on another thread (see
    /// [`Segment::take_log_sync`]).
    log: Arc<File>,
    track: Tracker,
    writers: Option<Writers>,
    /// The `.txnindex` append handle, opened (and the file created) by
    /// the first entry.
    txn: Option<File>,
    /// Written since the last [`Segment::sync`].
    pub dirty: bool,
    /// An index file (the transaction index included) was written since
    /// the last [`Segment::sync`].
    index_dirty: bool,
    /// Checked batch by batch and its indexes rebuilt when loaded: its
    /// transaction index is to be rebuilt too (by the log, which knows the
    /// transactions open when the segment starts).
    pub recovered: bool,
}

impl Segment {
    fn path(&self, ext: &str) -> PathBuf {
        self.dir.join(file_name(self.base, ext))
    }

    /// A new empty segment (any old files of that name are emptied).
    pub fn create(dir: &Path, base: i64, interval: u64) -> Result<Segment, FileError> {
        let log_path = dir.join(file_name(base, "log"));
        File::create(&log_path).at(&log_path)?;
        let log = Arc::new(open_append(&log_path)?);
        let mut seg = Segment {
            base,
            next: base,
            size: 0,
            rolling_ts: -1,
            dir: dir.to_path_buf(),
            log,
            track: Tracker::new(base, interval),
            writers: None,
            txn: None,
            dirty: true,
            index_dirty: true,
            recovered: false,
        };
        seg.rewrite_indexes()?;
        seg.rewrite_txns(&[])?;
        Ok(seg)
    }

    /// Opens an existing segment. Unless `recover`, its indexes are
    /// trusted when they pass the sanity checks, and only the `last`
    /// segment is read (from its last index entry, to find the end).
    /// Otherwise, or when an index is missing or broken, every batch is
    /// checked (CRC included), the file is cut at the first bad one and
    /// the indexes are rebuilt. Returns whether bytes were cut.
    pub fn load(
        dir: &Path,
        base: i64,
        interval: u64,
        last: bool,
        recover: bool,
    ) -> Result<(Segment, bool), FileError> {
        let log_path = dir.join(file_name(base, "log"));
        let log = Arc::new(open_append(&log_path)?);
        let size = log.metadata().at(&log_path)?.len();
        let mut seg = Segment {
            base,
            next: base,
            size,
            rolling_ts: -1,
            dir: dir.to_path_buf(),
            log,
            track: Tracker::new(base, interval),
            writers: None,
            txn: None,
            dirty: false,
            index_dirty: false,
            recovered: false,
        };
        if !recover && seg.load_indexes(interval, last)? {
            return Ok((seg, false));
        }
        let cut = seg.recover(interval)?;
        Ok((seg, cut))
    }

    /// Reads the index files; `false` if one is missing (the transaction
    /// index may be) or fails the sanity checks (or, for the last segment,
    /// the batches after the last index entry do not read).
    fn load_indexes(&mut self, interval: u64, last: bool) -> Result<bool, FileError> {
        let (ip, tp) = (self.path("index"), self.path("timeindex"));
        let txns = read_opt(&self.path("txnindex"))?;
        if txns.is_some_and(|b| parse_txns(&b, self.base).is_none()) {
            return Ok(false);
        }
        let Some(offsets) = read_opt(&ip)?.and_then(|b| parse_offsets(&b, self.size)) else {
            return Ok(false);
        };
        let Some(times) = read_opt(&tp)?.and_then(|b| parse_times(&b)) else {
            return Ok(false);
        };
        self.track = Tracker::from_entries(self.base, interval, offsets, times);
        if !last {
            return Ok(true);
        }
        let lp = self.path("log");
        let mut r = BlockReader::new(&self.log, self.size, BIG_BLOCK);
        if self.size > 0 {
            match step(&mut r, 0, false).at(&lp)? {
                Step::Batch(h) => self.rolling_ts = h.max_ts,
                _ => return Ok(false),
            }
        }
        let mut pos = self.track.position_for(i64::MAX);
        let mut new = Vec::new();
        loop {
            match step(&mut r, pos, false).at(&lp)? {
                Step::Batch(h) => {
                    new.push(self.track.on_batch(pos, h.last, h.max_ts));
                    self.next = h.last + 1;
                    pos += h.size;
                }
                Step::End => break,
                Step::Bad => return Ok(false),
            }
        }
        for e in new {
            self.write_entries(e)?;
        }
        Ok(true)
    }

    /// Checks every batch from the start, cuts the file at the first bad
    /// one, rebuilds the indexes. Returns whether bytes were cut.
    fn recover(&mut self, interval: u64) -> Result<bool, FileError> {
        let mut track = Tracker::new(self.base, interval);
        let lp = self.path("log");
        let mut r = BlockReader::new(&self.log, self.size, BIG_BLOCK);
        let (mut pos, mut expect, mut first_ts) = (0u64, self.base, None);
        while let Step::Batch(h) = step(&mut r, pos, true).at(&lp)? {
            if h.base < expect || h.last - self.base > i64::from(i32::MAX) {
                break;
            }
            track.on_batch(pos, h.last, h.max_ts);
            first_ts.get_or_insert(h.max_ts);
            expect = h.last + 1;
            pos += h.size;
        }
        let cut = pos < self.size;
        if cut {
            self.log.set_len(pos).at(&lp)?;
            self.log.sync_all().at(&lp)?;
            self.size = pos;
        }
        // As a cleanly closed segment, the last time entry holds the maximum.
        track.time_entry();
        self.track = track;
        self.next = expect;
        self.rolling_ts = first_ts.unwrap_or(-1);
        self.rewrite_indexes()?;
        self.dirty = true;
        self.recovered = true;
        Ok(cut)
    }

    /// Writes both index files from memory.
    fn rewrite_indexes(&mut self) -> Result<(), FileError> {
        let (ip, tp) = (self.path("index"), self.path("timeindex"));
        let (offsets, times) = (self.track.offset_bytes(), self.track.time_bytes());
        let mut index = File::create(&ip).at(&ip)?;
        index.write_all(&offsets).at(&ip)?;
        let mut time = File::create(&tp).at(&tp)?;
        time.write_all(&times).at(&tp)?;
        let lens = (offsets.len() as u64, times.len() as u64);
        self.writers = Some(Writers { index, time, lens });
        self.index_dirty = true;
        Ok(())
    }

    fn writers(&mut self) -> Result<&mut Writers, FileError> {
        if self.writers.is_none() {
            let (ip, tp) = (self.path("index"), self.path("timeindex"));
            let (index, time) = (open_append(&ip)?, open_append(&tp)?);
            let lens = (
                index.metadata().at(&ip)?.len(),
                time.metadata().at(&tp)?.len(),
            );
            self.writers = Some(Writers { index, time, lens });
        }
        Ok(self.writers.as_mut().expect("just opened"))
    }

    /// Writes the entries; on a failure (a full disk) both index files
    /// are cut back to their lengths before, so no torn entry stays.
    fn write_entries(&mut self, e: NewEntries) -> Result<(), FileError> {
        if e.offset.is_none() && e.time.is_none() {
            return Ok(());
        }
        self.index_dirty = true;
        let (ip, tp) = (self.path("index"), self.path("timeindex"));
        let w = self.writers()?;
        let before = w.lens;
        let mut written = Ok(());
        if let Some(b) = e.offset {
            written = (&w.index).write_all(&b).at(&ip);
        }
        if let (Some(b), Ok(())) = (e.time, &written) {
            written = (&w.time).write_all(&b).at(&tp);
        }
        if written.is_err() {
            let _ = w.index.set_len(before.0);
            let _ = w.time.set_len(before.1);
        } else {
            w.lens.0 += e.offset.map_or(0, |b| b.len() as u64);
            w.lens.1 += e.time.map_or(0, |b| b.len() as u64);
        }
        written
    }

    /// Adds an aborted transaction whose marker this segment holds to its
    /// transaction index, creating the file with the first entry (on a
    /// failed write the file is cut back to whole entries).
    pub fn append_txn(&mut self, t: &AbortedTxn) -> Result<(), FileError> {
        let p = self.path("txnindex");
        if self.txn.is_none() {
            let f = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&p)
                .at(&p)?;
            self.txn = Some(f);
        }
        let f = self.txn.as_ref().expect("just opened");
        let len = f.metadata().at(&p)?.len();
        self.index_dirty = true;
        if let Err(e) = (&*f).write_all(&encode_txn(t)) {
            let _ = f.set_len(len);
            return Err(e).at(&p);
        }
        Ok(())
    }

    /// The entries of the transaction index (none if there is no file).
    pub fn txns(&self) -> Result<Vec<AbortedTxn>, FileError> {
        let p = self.path("txnindex");
        match read_opt(&p)? {
            None => Ok(Vec::new()),
            Some(b) => parse_txns(&b, self.base)
                .ok_or_else(|| invalid(&p, "not a transaction index of whole, ordered entries")),
        }
    }

    /// Replaces the transaction index with `txns`; with none, the file is
    /// removed, as Kafka writes none for a segment without aborts.
    pub fn rewrite_txns(&mut self, txns: &[AbortedTxn]) -> Result<(), FileError> {
        let p = self.path("txnindex");
        self.txn = None;
        if txns.is_empty() {
            return match fs::remove_file(&p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e).at(&p),
                _ => Ok(()),
            };
        }
        let mut f = File::create(&p).at(&p)?;
        f.write_all(&txn_bytes(txns)).at(&p)?;
        self.txn = Some(f);
        self.index_dirty = true;
        Ok(())
    }

    /// Replays the segment's batches into `rb`, adding the aborted
    /// transactions it finds to `out`.
    pub fn scan_txns(&self, rb: &mut Rebuild, out: &mut Vec<AbortedTxn>) -> Result<(), FileError> {
        let lp = self.path("log");
        let mut r = BlockReader::new(&self.log, self.size, BIG_BLOCK);
        let mut pos = 0;
        while let Step::Batch(h) = step(&mut r, pos, false).at(&lp)? {
            match Rebuild::kind(r.get(pos, V2_HEADER_LEN).at(&lp)?) {
                Kind::Data(pid) => rb.on_data(pid, h.base),
                Kind::Control => {
                    let batch = r.get(pos, h.size as usize).at(&lp)?;
                    out.extend(rb.on_control(batch));
                }
                Kind::Other => {}
            }
            pos += h.size;
        }
        Ok(())
    }

    /// The largest timestamp in the segment (-1: none).
    pub fn max_ts(&self) -> i64 {
        self.track.max_ts
    }

    /// Appends a batch at the end of the file. All or nothing: on a failed
    /// write of the batch or of its index entries (a full disk) the files
    /// are cut back and the segment is as it was, so the batch can be
    /// appended again once there is room.
    pub fn append(&mut self, batch: &[u8], h: Hdr) -> Result<(), FileError> {
        let pos = self.size;
        if let Err(e) = (&*self.log).write_all(batch) {
            let _ = self.log.set_len(pos);
            return Err(e).at(&self.path("log"));
        }
        let mark = self.track.mark();
        let e = self.track.on_batch(pos, h.last, h.max_ts);
        if let Err(e) = self.write_entries(e) {
            self.track.undo(mark);
            let _ = self.log.set_len(pos);
            return Err(e);
        }
        self.dirty = true;
        self.size += batch.len() as u64;
        self.next = h.last + 1;
        if pos == 0 {
            self.rolling_ts = h.max_ts;
        }
        Ok(())
    }

    /// The segment stops being active: its last time entry gets its
    /// largest timestamp (Kafka's `onBecomeInactiveSegment`, and `close`).
    pub fn finish(&mut self) -> Result<(), FileError> {
        let e = NewEntries {
            offset: None,
            time: self.track.time_entry(),
        };
        if e.time.is_some() {
            self.dirty = true;
        }
        self.write_entries(e)
    }

    /// Closes the index append handles (the segment is no longer active).
    pub fn deactivate(&mut self) {
        self.writers = None;
        self.txn = None;
    }

    /// Whether [`Segment::sync`] has anything to do.
    pub fn needs_sync(&self, active: bool, full: bool) -> bool {
        self.dirty || (self.index_dirty && (full || !active))
    }

    /// For the active segment: the fsync [`Segment::sync`] would do
    /// (its log file's; its indexes wait, as there), handed out to run on
    /// another thread while appends go on. The segment counts as synced
    /// from here: the caller holds back every answer that depends on it
    /// until that fsync is done, and starts no other flush meanwhile.
    pub fn take_log_sync(&mut self) -> Option<(Arc<File>, PathBuf)> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        Some((self.log.clone(), self.path("log")))
    }

    /// Forces the log file to disk, and the index files too unless the
    /// segment is still the active one (or `full`): recovery after an
    /// unclean stop checks the active segment batch by batch and rebuilds
    /// its indexes (the transaction index too) from the log, so their fsync
    /// would buy nothing while costing two or three more per flush. They
    /// are synced once the segment is rolled (before the recovery point
    /// passes it) and on a clean close. An inactive segment's index
    /// handles are closed afterwards.
    pub fn sync(&mut self, active: bool, full: bool) -> Result<(), FileError> {
        if self.dirty {
            self.log.sync_data().at(&self.path("log"))?;
        }
        if self.index_dirty && (full || !active) {
            for ext in ["index", "timeindex"] {
                let p = self.path(ext);
                let w = self.writers.as_ref();
                match w.map(|w| if ext == "index" { &w.index } else { &w.time }) {
                    Some(f) => f.sync_data().at(&p)?,
                    None => OpenOptions::new()
                        .write(true)
                        .open(&p)
                        .and_then(|f| f.sync_data())
                        .at(&p)?,
                }
            }
            let p = self.path("txnindex");
            match &self.txn {
                Some(f) => f.sync_data().at(&p)?,
                None => match OpenOptions::new().write(true).open(&p) {
                    Ok(f) => f.sync_data().at(&p)?,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e).at(&p),
                },
            }
            self.index_dirty = false;
        }
        if !active {
            self.writers = None;
            self.txn = None;
        }
        self.dirty = false;
        Ok(())
    }

    /// Position of the batch that holds `offset` or, if none does, of the
    /// first batch after it; `None` if every batch ends below `offset`.
    pub fn find(&self, offset: i64) -> Result<Option<u64>, FileError> {
        let mut pos = self.track.position_for(offset);
        let mut r = BlockReader::new(&self.log, self.size, SMALL_BLOCK);
        loop {
            match step(&mut r, pos, false).at(&self.path("log"))? {
                Step::Batch(h) if h.last >= offset => return Ok(Some(pos)),
                Step::Batch(h) => pos += h.size,
                Step::End | Step::Bad => return Ok(None),
            }
        }
    }

    /// Whole batches from `pos`, in one read, up to `budget` bytes (or the
    /// first batch, whatever its size, when `force`). Returns the bytes
    /// and whether they reach the end of the segment.
    pub fn read_from(
        &self,
        pos: u64,
        budget: usize,
        force: bool,
    ) -> Result<Option<(Bytes, bool)>, FileError> {
        let avail = self.size.saturating_sub(pos);
        if avail == 0 {
            return Ok(None);
        }
        let p = self.path("log");
        let mut head = vec![0; (avail as usize).min(V2_HEADER_LEN)];
        read_exact_at(&self.log, &mut head, pos).at(&p)?;
        let first = parse_header(&head)
            .filter(|h| h.size <= avail)
            .ok_or_else(|| invalid(&p, format!("no whole batch at position {pos}")))?;
        if first.size > budget as u64 && !force {
            return Ok(None);
        }
        let want = (budget as u64).max(first.size).min(avail) as usize;
        let mut buf = read_vec_at(&self.log, want, pos).at(&p)?;
        let mut cut = 0usize;
        while let Some(h) = buf.get(cut..).and_then(parse_header) {
            if cut as u64 + h.size > want as u64 {
                break;
            }
            cut += h.size as usize;
        }
        buf.truncate(cut);
        Ok(Some((Bytes::from(buf), pos + cut as u64 == self.size)))
    }

    /// The first offset at or after `start` of the first batch whose
    /// largest timestamp is at least `ts`.
    pub fn find_time(&self, ts: i64, start: i64) -> Result<Option<i64>, FileError> {
        let mut pos = self
            .track
            .offset_before_time(ts)
            .map_or(0, |o| self.track.position_for(o));
        let mut r = BlockReader::new(&self.log, self.size, SMALL_BLOCK);
        loop {
            match step(&mut r, pos, false).at(&self.path("log"))? {
                Step::Batch(h) if h.last >= start && h.max_ts >= ts => {
                    return Ok(Some(h.base.max(start)))
                }
                Step::Batch(h) => pos += h.size,
                Step::End | Step::Bad => return Ok(None),
            }
        }
    }

    /// Cuts the segment at byte `pos` (a batch boundary, where the first
    /// batch whose last offset is at least `offset` starts): the log file
    /// is shortened and forced to disk, the offset and time indexes are
    /// rebuilt from what stays, and transaction index entries whose marker
    /// lies at or past `offset` go (Kafka's `LogSegment.truncateTo`).
    pub fn truncate(&mut self, pos: u64, offset: i64, interval: u64) -> Result<(), FileError> {
        let lp = self.path("log");
        self.log.set_len(pos).at(&lp)?;
        self.log.sync_all().at(&lp)?;
        self.size = pos;
        let kept: Vec<AbortedTxn> = self
            .txns()?
            .into_iter()
            .filter(|t| t.last_offset < offset)
            .collect();
        self.rewrite_txns(&kept)?;
        // Scanning what stays gives the end offset, the first timestamp and
        // fresh index files.
        self.recover(interval)?;
        self.recovered = false;
        Ok(())
    }

    /// Deletes the segment's files.
    pub fn remove(self) -> Result<(), FileError> {
        remove_files(&self.dir, self.base)
    }
}

/// Deletes the files of the segment at `base`.
pub(crate) fn remove_files(dir: &Path, base: i64) -> Result<(), FileError> {
    for ext in ["log", "index", "timeindex", "txnindex"] {
        let p = dir.join(file_name(base, ext));
        match fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e).at(&p),
            _ => {}
        }
    }
    Ok(())
}

fn open_append(path: &Path) -> Result<File, FileError> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .at(path)
}

/// The file's bytes, `None` if it does not exist.
fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).at(path),
    }
}
