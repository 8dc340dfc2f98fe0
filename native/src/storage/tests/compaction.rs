//! Compacted segments swapped in on real files: what is read afterwards,
//! the rebuilt indexes, and recovery after a crash at each step of a swap.

use std::fs;

use spate_core::storage::{Compaction, SegmentInfo, Storage};

use super::*;
use crate::storage::segment::remove_files;
use crate::storage::swap;

/// A log of 30 one-record batches in segments of 1000 bytes; returns the
/// storage, the batches and the segment bases.
fn setup(dir: &TempDir) -> (FileStorage, Vec<Bytes>, Vec<i64>) {
    let o = opts(1000);
    let mut s = open(dir, &o);
    s.create_log(&tp(), TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp(), 30, 1, 100, 1_000, 10);
    s.flush().unwrap();
    let bases = s.segment_bases(&tp());
    assert!(bases.len() >= 4, "{bases:?}");
    (s, batches, bases)
}

/// What the cleaner might keep of segments 0 and 1: the odd offsets and,
/// as the cleaner always does, the last batch of the range.
fn kept(batches: &[Bytes], bases: &[i64]) -> Vec<(Bytes, BatchMeta)> {
    let to = bases[2];
    (0..to)
        .filter(|o| o % 2 == 1 || *o == to - 1)
        .map(|o| {
            let (b, m) = batch(o, 1, 100, 1_000 + 10 * o);
            assert_eq!(b, batches[o as usize]);
            (b, m)
        })
        .collect()
}

/// Everything the log holds after the cleaning.
fn expected(batches: &[Bytes], bases: &[i64]) -> Vec<u8> {
    let mut want: Vec<Bytes> = kept(batches, bases).into_iter().map(|k| k.0).collect();
    want.extend_from_slice(&batches[bases[2] as usize..]);
    concat(&want)
}

fn names(dir: &TempDir) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(log_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    n.sort();
    n
}

fn no_leftovers(dir: &TempDir) {
    let stray: Vec<String> = names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".swap") || n.ends_with(".cleaned") || n.ends_with(".deleted"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn replaced_segments_read_with_gaps_and_reopen_the_same() {
    let dir = TempDir::new("compact");
    let (mut s, batches, bases) = setup(&dir);
    let tp = tp();
    let end = s.end_offset(&tp);
    s.replace_segments(&tp, 0, bases[2], kept(&batches, &bases))
        .unwrap();
    let want = expected(&batches, &bases);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), want);
    assert_eq!(s.end_offset(&tp), end);
    assert_eq!(s.start_offset(&tp), 0);
    // One segment now covers the old two.
    let segs: Vec<SegmentInfo> = s.segments(&tp);
    assert_eq!(segs[0].base_offset, 0);
    assert_eq!(segs[0].next_offset, bases[2]);
    assert_eq!(segs[1].base_offset, bases[2]);
    assert_eq!(s.segment_bases(&tp)[1..], bases[2..]);
    assert!(!names(&dir).contains(&format!("{:020}.log", bases[1])));
    no_leftovers(&dir);
    // A removed offset reads from the next batch, through the new index.
    let got = s.read(&tp, 2, 1).unwrap();
    assert_eq!(concat(&got), batches[3].to_vec());
    // The time index finds the first batch at or after a timestamp.
    assert_eq!(
        s.offset_for_timestamp(&tp, 1_000 + 10 * 4).unwrap(),
        Some(5)
    );
    // Appends carry on.
    let more = fill(&mut s, &tp, 1, 1, 10, 5_000, 1);
    assert_eq!(s.read(&tp, end, 1000).unwrap(), more);
    let want = [want, more[0].to_vec()].concat();

    // The same after a crash and after a clean close.
    s.flush().unwrap();
    drop(s);
    let s = open(&dir, &opts(1000));
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), want);
    s.close().unwrap();
    let s = open(&dir, &opts(1000));
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), want);
    drop(s);

    // The indexes written by the swap are the ones recovery would build.
    let idx = log_dir(&dir).join(format!("{:020}.index", 0));
    let tix = log_dir(&dir).join(format!("{:020}.timeindex", 0));
    let (i1, t1) = (fs::read(&idx).unwrap(), fs::read(&tix).unwrap());
    fs::remove_file(&idx).unwrap();
    fs::remove_file(&tix).unwrap();
    let s = open(&dir, &opts(1000));
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), want);
    drop(s);
    assert_eq!(fs::read(&idx).unwrap(), i1);
    assert_eq!(fs::read(&tix).unwrap(), t1);
}

#[test]
fn a_swap_must_cover_whole_closed_segments() {
    let dir = TempDir::new("compact-bad");
    let (mut s, batches, bases) = setup(&dir);
    let tp = tp();
    let k = kept(&batches, &bases);
    // Not a segment base.
    assert!(s.replace_segments(&tp, 1, bases[2], k.clone()).is_err());
    // The active segment.
    let active = *bases.last().unwrap();
    assert!(s
        .replace_segments(&tp, active, s.end_offset(&tp), Vec::new())
        .is_err());
    // A batch outside the range.
    assert!(s.replace_segments(&tp, 0, bases[1], k).is_err());
    assert_eq!(
        concat(&s.read(&tp, 0, usize::MAX).unwrap()),
        concat(&batches)
    );
    no_leftovers(&dir);
}

/// Where a crash interrupts a swap of segments 0 and 1.
#[derive(Debug, Clone, Copy)]
enum Crash {
    /// The `.cleaned` files written, nothing renamed.
    Cleaned,
    /// The index files renamed to `.swap`, the log not.
    IndexSwapped,
    /// All three renamed to `.swap` (committed).
    Committed,
    /// Committed, and the second old segment deleted.
    OldDeleted,
    /// Committed, old deleted, the offset index renamed into place.
    IndexInPlace,
}

fn crash_at(point: Crash) {
    let dir = TempDir::new(&format!("crash-{point:?}"));
    let (s, batches, bases) = setup(&dir);
    let tp = tp();
    let ld = log_dir(&dir);
    let k = kept(&batches, &bases);
    swap::write_swap(&ld, 0, &k, &[], Options::default().index_interval_bytes).unwrap();
    let name = |ext: &str, suffix: &str| ld.join(format!("{:020}.{ext}.{suffix}", 0));
    let unswap = |ext: &str| fs::rename(name(ext, "swap"), name(ext, "cleaned")).unwrap();
    match point {
        Crash::Cleaned => {
            for ext in ["index", "timeindex", "log"] {
                unswap(ext);
            }
        }
        Crash::IndexSwapped => unswap("log"),
        Crash::Committed => {}
        Crash::OldDeleted => remove_files(&ld, bases[1]).unwrap(),
        Crash::IndexInPlace => {
            remove_files(&ld, bases[1]).unwrap();
            fs::rename(name("index", "swap"), ld.join(format!("{:020}.index", 0))).unwrap();
        }
    }
    drop(s); // the crash
    let mut s = open(&dir, &opts(1000));
    let got = concat(&s.read(&tp, 0, usize::MAX).unwrap());
    match point {
        Crash::Cleaned | Crash::IndexSwapped => {
            assert_eq!(got, concat(&batches), "{point:?}: rolled back");
            assert_eq!(s.segment_bases(&tp), bases);
        }
        _ => {
            assert_eq!(got, expected(&batches, &bases), "{point:?}: finished");
            assert_eq!(s.segment_bases(&tp)[1..], bases[2..]);
            assert_eq!(concat(&s.read(&tp, 2, 1).unwrap()), batches[3].to_vec());
        }
    }
    no_leftovers(&dir);
    let end = s.end_offset(&tp);
    assert_eq!(end, 30);
    fill(&mut s, &tp, 1, 1, 10, 0, 1);
    assert_eq!(s.end_offset(&tp), 31);
}

#[test]
fn a_crash_before_the_log_swap_file_exists_rolls_the_cleaning_back() {
    crash_at(Crash::Cleaned);
    crash_at(Crash::IndexSwapped);
}

#[test]
fn a_crash_after_the_log_swap_file_exists_finishes_the_swap() {
    crash_at(Crash::Committed);
    crash_at(Crash::OldDeleted);
    crash_at(Crash::IndexInPlace);
}

#[test]
fn the_cleaner_checkpoint_is_kafkas_file_and_goes_with_its_log() {
    let dir = TempDir::new("cleaner-cp");
    let (mut s, _, bases) = setup(&dir);
    let tp = tp();
    assert_eq!(s.cleaner_checkpoint(&tp), None);
    s.set_cleaner_checkpoint(&tp, bases[2]).unwrap();
    let other = TopicPartition::new("other", 0);
    assert!(s.set_cleaner_checkpoint(&other, 5).is_err(), "no such log");
    let text = fs::read_to_string(dir.path().join("cleaner-offset-checkpoint")).unwrap();
    assert_eq!(text, format!("0\n1\norders.eu-west 3 {}\n", bases[2]));
    drop(s); // kept across a crash
    let mut s = open(&dir, &opts(1000));
    assert_eq!(s.cleaner_checkpoint(&tp), Some(bases[2]));
    s.delete_log(&tp).unwrap();
    s.create_log(&tp, TOPIC_ID).unwrap();
    assert_eq!(s.cleaner_checkpoint(&tp), None, "a new log starts dirty");
    s.close().unwrap();
    let s = open(&dir, &opts(1000));
    assert_eq!(s.cleaner_checkpoint(&tp), None);
}
