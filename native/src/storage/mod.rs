//! [`FileStorage`]: partition logs in files, laid out like a Kafka log
//! directory, so that Kafka's tools can read Spate's logs and Spate can
//! start from a directory Kafka wrote.
//!
//! # Layout
//!
//! ```text
//! <dir>/meta.properties                    node.id, cluster.id, directory.id (KRaft, version 1)
//! <dir>/log-start-offset-checkpoint        log start offsets (written when one moves)
//! <dir>/recovery-point-offset-checkpoint   offsets known to be on disk (written by flush)
//! <dir>/cleaner-offset-checkpoint          where the log cleaner stopped in each compacted log
//! <dir>/.kafka_cleanshutdown               present only while closed cleanly
//! <dir>/<topic>-<partition>/partition.metadata
//! <dir>/<topic>-<partition>/00000000000000000000.log        record batches, byte for byte
//! <dir>/<topic>-<partition>/00000000000000000000.index      sparse offset index
//! <dir>/<topic>-<partition>/00000000000000000000.timeindex  sparse time index
//! <dir>/<topic>-<partition>/00000000000000000000.txnindex   aborted transactions (if any)
//! ```
//!
//! File formats: [`index`] (the two sparse indexes), [`txn`] (the
//! transaction index) and [`files`] (the text files).
//!
//! # Aborted transactions
//!
//! [`Storage::index_aborted_txn`] appends Kafka's 34-byte entry to the
//! `.txnindex` of the segment holding the ABORT marker (the active one),
//! creating the file with its first entry, as Kafka does: a segment
//! without aborts has no file. The file goes with its segment (retention,
//! [`Storage::delete_before`], topic deletion); a compaction swap carries
//! the entries of the segments it replaces into the new segment's file.
//! [`FileStorage::aborted_txns`] reads them back. The broker keeps its own
//! index in memory, so the files are for Kafka and its tools.
//!
//! # Compaction
//!
//! [`Compaction::replace_segments`] swaps a compacted segment in for closed
//! ones the way Kafka does: `<base>.log.cleaned` (and its indexes) written
//! and fsynced, renamed to `.swap` (the commit point), the old segments
//! deleted, the `.swap` files renamed into place. [`FileStorage::open`]
//! rolls back a swap that never committed and finishes one that did
//! (see [`swap`]).
//!
//! # Durability
//!
//! [`Storage::append`] writes to the active segment and returns; nothing
//! is forced to disk until [`Storage::flush`], which fsyncs what was
//! written since the last flush (the driver calls it per pass or on a
//! timer, and answers producers afterwards). [`Storage::close`]
//! flushes and leaves the clean shutdown marker. Without the marker,
//! [`FileStorage::open`] checks every batch written after the recovery
//! point (CRC included), cuts each log at its first torn or corrupt batch
//! and rebuilds the indexes of what it checked; the transaction indexes of
//! those segments are rebuilt by replaying the log from its first segment
//! (a transaction may start in any earlier one). Since that always covers
//! the active segments, a flush fsyncs only their `.log` files (one fsync
//! per written log, not three or four); a segment's indexes are fsynced
//! when it is rolled and on close.
//!
//! [`FileStorage::begin_sync`] is the same flush split in two for a
//! driver that keeps appending while the disk works (`spate serve`'s
//! group commit): when only active segments' log files were written, it
//! hands out their fsyncs as a [`PendingSync`] to run on another thread,
//! and the driver answers the producers once that is done; anything more
//! (a rolled segment, a file created or removed, a recovery point to
//! move) is flushed on the spot, in order, as [`Storage::flush`] does.

// The serve driver is being wired to this module; until then the binary
// does not use all of it.

mod error;
mod files;
mod index;
mod log;
mod scan;
mod segment;
mod swap;
#[cfg(test)]
mod tests;
mod txn;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use spate_core::protocol::Uuid;
use spate_core::storage::{
    AbortedTxn, BatchMeta, Chunks, Compaction, SegmentInfo, Storage, TopicPartition,
};

pub use error::FileError;
pub use files::MetaProperties;
pub(crate) use files::{parse_uuid, random_uuid};

use error::At;
use files::{
    encode_checkpoint, encode_partition_metadata, parse_log_dir_name, read_checkpoint, sync_dir,
    write_atomic,
};
use log::Log;

/// Kafka's clean shutdown marker.
const CLEAN_SHUTDOWN: &str = ".kafka_cleanshutdown";
const LOG_START: &str = "log-start-offset-checkpoint";
const CLEANER: &str = "cleaner-offset-checkpoint";
const RECOVERY_POINT: &str = "recovery-point-offset-checkpoint";

/// How logs are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Roll the active segment before it would grow past this (Kafka's
    /// `log.segment.bytes`; at most `i32::MAX`). Default 1 GiB.
    pub segment_bytes: u64,
    /// Roll the active segment when a batch's timestamp (or `now` given
    /// to [`Storage::tick`]) is this much later than its first
    /// batch's (`log.roll.ms`). Default 7 days.
    pub segment_ms: i64,
    /// Bytes of log between offset index entries (`log.index.interval.bytes`).
    /// Default 4096.
    pub index_interval_bytes: u64,
    /// `node.id` for a new `meta.properties` (an existing one must match).
    pub node_id: i32,
    /// `cluster.id` for a new `meta.properties`; random if `None`.
    pub cluster_id: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            index_interval_bytes: 4096,
            node_id: 1,
            cluster_id: None,
        }
    }
}

/// Fsyncs of log files handed out by [`FileStorage::begin_sync`], to run
/// on another thread.
#[derive(Debug)]
pub struct PendingSync(Vec<(Arc<File>, PathBuf)>);

impl PendingSync {
    /// Forces the files to disk (their data; sizes included, as
    /// `fdatasync` does for a file that grew).
    pub fn run(self) -> Result<(), FileError> {
        for (f, p) in self.0 {
            f.sync_data().at(&p)?;
        }
        Ok(())
    }
}

/// Partition logs in a Kafka-style log directory.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    opts: Options,
    meta: MetaProperties,
    logs: BTreeMap<TopicPartition, Log>,
    /// Active segment bases when the recovery point checkpoint was last
    /// written: recovery checks whole segments, so the checkpoint only
    /// needs writing again when these change.
    checkpointed: Option<BTreeMap<TopicPartition, i64>>,
    /// A log directory was created since the last flush.
    dir_dirty: bool,
    /// Where the log cleaner stopped in each log (`cleaner-offset-checkpoint`).
    cleaner: BTreeMap<TopicPartition, i64>,
}

impl FileStorage {
    /// Opens (creating it if missing) a log directory and every
    /// `<topic>-<partition>` log in it, recovering after an unclean stop.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> io::Result<FileStorage> {
        Ok(FileStorage::open_dir(dir.as_ref(), options)?)
    }

    fn open_dir(dir: &Path, mut opts: Options) -> Result<FileStorage, FileError> {
        opts.segment_bytes = opts.segment_bytes.clamp(1, i32::MAX as u64);
        fs::create_dir_all(dir).at(dir)?;
        let meta = MetaProperties::load_or_create(dir, opts.node_id, opts.cluster_id.as_deref())?;
        let marker = dir.join(CLEAN_SHUTDOWN);
        let clean = marker.exists();
        let starts = read_checkpoint(&dir.join(LOG_START))?.unwrap_or_default();
        // Only a hint: an unreadable file means compacting from the start.
        let cleaner = read_checkpoint(&dir.join(CLEANER))
            .ok()
            .flatten()
            .unwrap_or_default();
        // Without a usable recovery point every segment is checked.
        let rps = read_checkpoint(&dir.join(RECOVERY_POINT))
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut logs = BTreeMap::new();
        for entry in fs::read_dir(dir).at(dir)? {
            let entry = entry.at(dir)?;
            let name = entry.file_name();
            let Some(tp) = name.to_str().and_then(parse_log_dir_name) else {
                continue;
            };
            if !entry.file_type().at(&entry.path())?.is_dir() {
                continue;
            }
            let rp = rps.get(&tp).copied().unwrap_or(0);
            let start = starts.get(&tp).copied();
            let log = Log::load(entry.path(), tp.clone(), &opts, clean, rp, start)?;
            logs.insert(tp, log);
        }
        let logs_present: Vec<TopicPartition> = logs.keys().cloned().collect();
        let mut s = FileStorage {
            dir: dir.to_path_buf(),
            opts,
            meta,
            logs,
            checkpointed: None,
            dir_dirty: false,
            cleaner: cleaner
                .into_iter()
                .filter(|(tp, _)| logs_present.contains(tp))
                .collect(),
        };
        // Recovered logs to disk, and a recovery point at every log end.
        s.flush_all(false)?;
        if clean {
            fs::remove_file(&marker).at(&marker)?;
            sync_dir(dir)?;
        }
        Ok(s)
    }

    /// What `meta.properties` says (as found, or as written by `open`):
    /// the broker serves under its cluster id.
    pub fn meta(&self) -> &MetaProperties {
        &self.meta
    }

    fn log(&self, tp: &TopicPartition) -> Result<&Log, FileError> {
        self.logs
            .get(tp)
            .ok_or_else(|| FileError::NoLog(tp.clone()))
    }

    fn log_mut(&mut self, tp: &TopicPartition) -> Result<&mut Log, FileError> {
        self.logs
            .get_mut(tp)
            .ok_or_else(|| FileError::NoLog(tp.clone()))
    }

    /// Records the log's topic id in its `partition.metadata` (written
    /// atomically, and only when it changes).
    fn write_topic_id(&mut self, tp: &TopicPartition, id: Uuid) -> Result<(), FileError> {
        let log = self.log_mut(tp)?;
        if log.topic_id != Some(id) {
            let path = log.dir.join("partition.metadata");
            write_atomic(&path, encode_partition_metadata(id).as_bytes())?;
            log.topic_id = Some(id);
        }
        Ok(())
    }

    /// Logs whose `partition.metadata` is still missing.
    #[cfg(test)]
    pub fn untagged_logs(&self) -> Vec<TopicPartition> {
        self.logs
            .iter()
            .filter(|(_, l)| l.topic_id.is_none())
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// The topic id in the log's `partition.metadata`, if any.
    #[cfg(test)]
    pub fn topic_id(&self, tp: &TopicPartition) -> Option<Uuid> {
        self.logs.get(tp).and_then(|l| l.topic_id)
    }

    /// Flushes every log; `full` includes the active segments' indexes,
    /// which a clean shutdown marker vouches for.
    fn flush_all(&mut self, full: bool) -> Result<(), FileError> {
        for log in self.logs.values_mut() {
            log.flush(full)?;
        }
        if self.dir_dirty {
            sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        let bases: BTreeMap<TopicPartition, i64> = self
            .logs
            .iter()
            .map(|(tp, l)| (tp.clone(), l.active_base()))
            .collect();
        // The data is on disk; an old recovery point only makes the next
        // recovery check more. A checkpoint that cannot be written (a full
        // disk) is written at a later flush.
        if self.checkpointed.as_ref() != Some(&bases) {
            match self.write_recovery_points() {
                Ok(()) => self.checkpointed = Some(bases),
                Err(e) => {
                    tracing::warn!(error = %e, "writing the recovery point checkpoint failed")
                }
            }
        }
        Ok(())
    }

    /// Starts a flush that the caller finishes on another thread: when
    /// only the active segments' log files were written since the last
    /// flush (and the recovery points stand), returns their fsyncs to
    /// run, or `None` when there is nothing to force; otherwise flushes
    /// here, as [`Storage::flush`] does, and returns `None`. The data is
    /// durable once the returned [`PendingSync`] ran; the caller starts
    /// no other flush (nor closes the store) before that.
    pub fn begin_sync(&mut self) -> Result<Option<PendingSync>, FileError> {
        let stands = self.checkpointed.as_ref().is_some_and(|c| {
            c.len() == self.logs.len()
                && self
                    .logs
                    .iter()
                    .all(|(tp, l)| c.get(tp) == Some(&l.active_base()))
        });
        if self.dir_dirty || !stands || !self.logs.values().all(Log::only_active_dirty) {
            self.flush_all(false)?;
            return Ok(None);
        }
        let files: Vec<_> = self.logs.values_mut().filter_map(Log::take_sync).collect();
        Ok((!files.is_empty()).then_some(PendingSync(files)))
    }

    fn write_recovery_points(&self) -> Result<(), FileError> {
        let rps = self
            .logs
            .iter()
            .map(|(tp, l)| (tp.clone(), l.end()))
            .collect();
        write_atomic(
            &self.dir.join(RECOVERY_POINT),
            encode_checkpoint(&rps).as_bytes(),
        )
    }

    fn write_cleaner_checkpoint(&self) -> Result<(), FileError> {
        write_atomic(
            &self.dir.join(CLEANER),
            encode_checkpoint(&self.cleaner).as_bytes(),
        )
    }

    fn write_log_starts(&self) -> Result<(), FileError> {
        let starts = self
            .logs
            .iter()
            .map(|(tp, l)| (tp.clone(), l.start))
            .collect();
        write_atomic(
            &self.dir.join(LOG_START),
            encode_checkpoint(&starts).as_bytes(),
        )
    }

    /// Checkpoints a truncation touched: the log start when it moved, the
    /// cleaner's position when it lay past the new end (as Kafka's
    /// `LogCleaner.maybeTruncateCheckpoint`), and the recovery points.
    fn after_truncation(
        &mut self,
        tp: &TopicPartition,
        end: i64,
        start_moved: bool,
    ) -> Result<(), FileError> {
        if start_moved {
            self.write_log_starts()?;
        }
        if self.cleaner.get(tp).is_some_and(|&c| c > end) {
            self.cleaner.insert(tp.clone(), end);
            self.write_cleaner_checkpoint()?;
        }
        // A recovery point past the new end is harmless (the segment
        // holding it, the active one, is checked after a crash); the next
        // flush writes the new one.
        self.checkpointed = None;
        Ok(())
    }

    /// The aborted transactions in the log's `.txnindex` files, in offset
    /// order (entries whose marker lies below the log start included, as
    /// long as their segment is kept).
    // For tests and tools: the broker keeps its own index.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn aborted_txns(&self, tp: &TopicPartition) -> Result<Vec<AbortedTxn>, FileError> {
        self.log(tp)?.aborted_txns()
    }

    /// Base offsets of a log's segments.
    #[cfg(test)]
    pub fn segment_bases(&self, tp: &TopicPartition) -> Vec<i64> {
        self.logs
            .get(tp)
            .map(Log::segment_bases)
            .unwrap_or_default()
    }
}

impl Storage for FileStorage {
    type Error = FileError;

    fn logs(&self) -> Vec<TopicPartition> {
        self.logs.keys().cloned().collect()
    }

    /// Creates `<dir>/<topic>-<partition>/` with its first segment, and
    /// writes the topic id to its `partition.metadata` (also for a log that
    /// exists without one, say from before Spate wrote the file), as Kafka
    /// writes it when it creates a log.
    fn create_log(&mut self, tp: &TopicPartition, topic_id: Uuid) -> Result<(), FileError> {
        if !self.logs.contains_key(tp) {
            let log = Log::create(self.dir.join(tp.to_string()), tp.clone(), &self.opts)?;
            self.logs.insert(tp.clone(), log);
            self.dir_dirty = true;
        }
        self.write_topic_id(tp, topic_id)
    }

    fn delete_log(&mut self, tp: &TopicPartition) -> Result<(), FileError> {
        let Some(log) = self.logs.remove(tp) else {
            return Ok(());
        };
        let dir = log.dir.clone();
        drop(log);
        if self.cleaner.remove(tp).is_some() {
            self.write_cleaner_checkpoint()?;
        }
        fs::remove_dir_all(&dir).at(&dir)?;
        // No stale offsets for a log of the same name created later.
        self.write_log_starts()?;
        self.write_recovery_points()?;
        self.checkpointed = None;
        sync_dir(&self.dir)
    }

    fn append(
        &mut self,
        tp: &TopicPartition,
        batch: Bytes,
        meta: BatchMeta,
    ) -> Result<(), FileError> {
        let opts = &self.opts;
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| FileError::NoLog(tp.clone()))?;
        log.append(&batch, meta, opts)
    }

    fn read(
        &self,
        tp: &TopicPartition,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Chunks, FileError> {
        self.log(tp)?.read(offset, max_bytes)
    }

    fn start_offset(&self, tp: &TopicPartition) -> i64 {
        self.logs.get(tp).map_or(0, |l| l.start)
    }

    fn end_offset(&self, tp: &TopicPartition) -> i64 {
        self.logs.get(tp).map_or(0, Log::end)
    }

    fn offset_for_timestamp(&self, tp: &TopicPartition, ts: i64) -> Result<Option<i64>, FileError> {
        self.log(tp)?.offset_for_timestamp(ts)
    }

    fn delete_before(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), FileError> {
        let opts = &self.opts;
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| FileError::NoLog(tp.clone()))?;
        if !log.advance_start(offset, opts)? {
            return Ok(());
        }
        // The new start is durable before any segment goes, so that no
        // crash brings deleted records back.
        self.write_log_starts()?;
        self.log_mut(tp)?.drop_below_start()
    }

    /// Deletes the segments above `offset` and cuts the one holding it,
    /// its indexes rebuilt; the cut is fsynced (file and directory) before
    /// this returns, so a crash cannot bring the tail back.
    fn truncate_to(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), FileError> {
        let opts = &self.opts;
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| FileError::NoLog(tp.clone()))?;
        let moved = log.truncate_to(offset, opts)?;
        let end = log.end();
        self.after_truncation(tp, end, moved)
    }

    fn truncate_fully_and_start_at(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), FileError> {
        let opts = &self.opts;
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| FileError::NoLog(tp.clone()))?;
        log.truncate_fully(offset, opts)?;
        self.after_truncation(tp, offset, true)
    }

    /// The segments on disk, the active one last.
    fn segments(&self, tp: &TopicPartition) -> Vec<SegmentInfo> {
        self.logs
            .get(tp)
            .map(Log::segment_infos)
            .unwrap_or_default()
    }

    fn size(&self, tp: &TopicPartition) -> u64 {
        self.logs.get(tp).map_or(0, Log::size)
    }

    /// Forces everything appended since the last flush to disk, then
    /// moves the recovery points.
    fn flush(&mut self) -> Result<(), FileError> {
        self.flush_all(false)
    }

    /// Rolls every active segment whose first batch is more than
    /// `segment_ms` older than `now` (milliseconds since the epoch).
    fn tick(&mut self, now: i64) -> Result<(), FileError> {
        for log in self.logs.values_mut() {
            log.roll_if_older(now, &self.opts)?;
        }
        Ok(())
    }

    /// Flushes, writes the checkpoints and the clean shutdown marker, so
    /// that the next `open` trusts the files.
    fn close(mut self) -> Result<(), FileError> {
        for log in self.logs.values_mut() {
            log.finish()?;
        }
        self.flush_all(true)?;
        self.write_recovery_points()?;
        self.write_log_starts()?;
        let marker = self.dir.join(CLEAN_SHUTDOWN);
        write_atomic(&marker, br#"{"version":0,"brokerEpoch":-1}"#)?;
        Ok(())
    }

    /// Appends the entry to the `.txnindex` of the segment holding the
    /// marker (the active one), created by its first entry. Fsynced with the
    /// segment's other indexes: see [`Storage::flush`].
    fn index_aborted_txn(
        &mut self,
        tp: &TopicPartition,
        txn: &AbortedTxn,
    ) -> Result<(), FileError> {
        self.log_mut(tp)?.index_aborted_txn(txn)
    }

    fn compaction(&mut self) -> Option<&mut dyn Compaction<Error = FileError>> {
        Some(self)
    }
}

impl Compaction for FileStorage {
    /// Writes the cleaned segment beside the old ones and swaps it in as
    /// Kafka does (`.cleaned`, then `.swap`, then renamed into place), so
    /// that [`FileStorage::open`] finishes or forgets a swap a crash
    /// interrupted.
    fn replace_segments(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        to: i64,
        batches: Vec<(Bytes, BatchMeta)>,
    ) -> Result<(), FileError> {
        let opts = &self.opts;
        let log = self
            .logs
            .get_mut(tp)
            .ok_or_else(|| FileError::NoLog(tp.clone()))?;
        log.replace(from, to, &batches, opts)
    }

    fn cleaner_checkpoint(&self, tp: &TopicPartition) -> Option<i64> {
        self.cleaner.get(tp).copied()
    }

    /// Kept in `cleaner-offset-checkpoint`, Kafka's file, written
    /// atomically.
    fn set_cleaner_checkpoint(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), FileError> {
        if !self.logs.contains_key(tp) {
            return Err(FileError::NoLog(tp.clone()));
        }
        if self.cleaner.insert(tp.clone(), offset) != Some(offset) {
            self.write_cleaner_checkpoint()?;
        }
        Ok(())
    }
}
