//! Swapping compacted segments in, crash-safely, the way Kafka's
//! `replaceSegments` and its recovery do.
//!
//! Replacing segments `[from, to)` (the first one's base is `from`) with
//! cleaned batches goes:
//!
//! 1. write `<from>.log.cleaned`, `.index.cleaned`, `.timeindex.cleaned`
//!    and, when the old segments' transaction indexes hold entries,
//!    `.txnindex.cleaned` with all of them (their markers are kept), and
//!    fsync them;
//! 2. rename them to `.swap` (the indexes first, the log last) and fsync
//!    the directory. The `.log.swap` file is the commit point;
//! 3. delete the other old segments' files (bases above `from`, below `to`);
//! 4. rename the `.swap` files over `<from>.index`, `.timeindex`,
//!    `.txnindex` and, last, `<from>.log`, and fsync the directory. (With
//!    no entries there is no `.txnindex.swap`, and no old `<from>.txnindex`
//!    with any entry either.)
//!
//! [`finish`] runs when a log directory is opened, before its segments are
//! listed: `.cleaned` files are the leftovers of a cleaning that never
//! committed and are deleted (the old segments are intact); a `.log.swap`
//! means the cleaning committed, so steps 3 and 4 are done again, taking
//! the range from the swap file's last batch (the cleaner always keeps the
//! last batch of a range, empty if need be, so the range is exact); index
//! `.swap` files without a `.log.swap` belong to an uncommitted cleaning
//! and are deleted. Each step is idempotent, so a crash during recovery is
//! recovered the same way.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use spate_core::storage::{AbortedTxn, BatchMeta};

use super::error::{At, FileError};
use super::files::sync_dir;
use super::index::Tracker;
use super::scan::parse_header;
use super::segment::{file_name, remove_files};
use super::txn::txn_bytes;

/// Index files first: the log file's rename is the commit point.
const EXTS: [&str; 4] = ["index", "timeindex", "txnindex", "log"];

fn with_suffix(dir: &Path, base: i64, ext: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{}.{suffix}", file_name(base, ext)))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut f = File::create(path).at(path)?;
    f.write_all(bytes).at(path)?;
    f.sync_all().at(path)
}

/// Steps 1 and 2: the cleaned segment at `from` written and committed as
/// `.swap` files, its transaction index holding `txns`.
pub(crate) fn write_swap(
    dir: &Path,
    from: i64,
    batches: &[(Bytes, BatchMeta)],
    txns: &[AbortedTxn],
    interval: u64,
) -> Result<(), FileError> {
    let mut log = Vec::with_capacity(batches.iter().map(|(b, _)| b.len()).sum());
    let mut track = Tracker::new(from, interval);
    for (bytes, meta) in batches {
        track.on_batch(log.len() as u64, meta.last_offset, meta.max_timestamp);
        log.extend_from_slice(bytes);
    }
    // A closed segment's last time entry holds its largest timestamp.
    track.time_entry();
    let contents = [
        track.offset_bytes(),
        track.time_bytes(),
        txn_bytes(txns),
        log,
    ];
    let mut written = Vec::new();
    for (ext, bytes) in EXTS.iter().zip(&contents) {
        // Kafka writes no transaction index without an entry.
        if *ext != "txnindex" || !bytes.is_empty() {
            write_synced(&with_suffix(dir, from, ext, "cleaned"), bytes)?;
            written.push(*ext);
        }
    }
    for ext in written {
        let cleaned = with_suffix(dir, from, ext, "cleaned");
        fs::rename(&cleaned, with_suffix(dir, from, ext, "swap")).at(&cleaned)?;
    }
    sync_dir(dir)
}

/// Steps 3 and 4: the old segments with bases in `(from, to)` deleted and
/// the `.swap` files at `from` renamed into place.
pub(crate) fn complete(dir: &Path, from: i64, to: i64, old_bases: &[i64]) -> Result<(), FileError> {
    for &b in old_bases.iter().filter(|&&b| b > from && b < to) {
        remove_files(dir, b)?;
    }
    for ext in EXTS {
        let swap = with_suffix(dir, from, ext, "swap");
        if swap.exists() {
            fs::rename(&swap, dir.join(file_name(from, ext))).at(&swap)?;
        }
    }
    sync_dir(dir)
}

/// One past the last offset of the batches in a swap file (`from` if it
/// holds none).
fn swap_end(path: &Path, from: i64) -> Result<i64, FileError> {
    let bytes = fs::read(path).at(path)?;
    let mut pos = 0usize;
    let mut end = from;
    while let Some(h) = bytes.get(pos..).and_then(parse_header) {
        if pos as u64 + h.size > bytes.len() as u64 {
            break;
        }
        end = h.last + 1;
        pos += h.size as usize;
    }
    Ok(end)
}

/// Recovery of interrupted swaps in a log directory (see the module docs).
/// `bases` lists the directory's `<base>.log` files. Returns whether
/// anything was changed.
pub(crate) fn finish(dir: &Path, bases: &[i64]) -> Result<bool, FileError> {
    let mut changed = false;
    let mut swaps = Vec::new();
    let mut strays = Vec::new();
    for entry in fs::read_dir(dir).at(dir)? {
        let name = entry.at(dir)?.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".cleaned") {
            strays.push(dir.join(name));
        } else if let Some(stem) = name.strip_suffix(".log.swap") {
            if let Ok(base) = stem.parse::<i64>() {
                swaps.push(base);
            }
        }
    }
    // Index swap files whose log swap never got written.
    for entry in fs::read_dir(dir).at(dir)? {
        let name = entry.at(dir)?.file_name();
        let Some(name) = name.to_str() else { continue };
        let stem = name
            .strip_suffix(".index.swap")
            .or_else(|| name.strip_suffix(".timeindex.swap"))
            .or_else(|| name.strip_suffix(".txnindex.swap"));
        if let Some(base) = stem.and_then(|s| s.parse::<i64>().ok()) {
            if !swaps.contains(&base) {
                strays.push(dir.join(name));
            }
        }
    }
    for p in strays {
        fs::remove_file(&p).at(&p)?;
        changed = true;
    }
    swaps.sort_unstable();
    for from in swaps {
        let to = swap_end(&with_suffix(dir, from, "log", "swap"), from)?;
        complete(dir, from, to, bases)?;
        changed = true;
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(changed)
}
