//! `.txnindex` files: written where the marker lands, in Kafka's bytes,
//! removed with their segments, kept by a cleaner swap, rebuilt from the
//! log after a crash.

use std::collections::BTreeMap;
use std::fs;

use spate_core::records::{ControlRecord, ControlRecordType, EndTxnMarker};
use spate_core::storage::{AbortedTxn, Compaction, Storage};

use super::*;
use crate::storage::swap;

const SEGMENT: u64 = 600;

/// What is appended, in order.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A transactional batch of `n` records of this producer.
    Data(i64, i32),
    /// A batch of `n` records without a producer.
    Plain(i32),
    /// An ABORT marker of this producer.
    Abort(i64),
    /// A COMMIT marker of this producer.
    Commit(i64),
}

fn txn_batch(base: i64, pid: i64, n: i32) -> (Bytes, BatchMeta) {
    let mut b = RecordBatchBuilder::new(base, 1_000)
        .producer(pid, 0, 0)
        .transactional(true);
    for i in 0..n {
        b.push(Record::new(i, 0, None, Some(Bytes::from(vec![b'x'; 60]))));
    }
    let meta = BatchMeta {
        base_offset: base,
        last_offset: base + i64::from(n) - 1,
        max_timestamp: 1_000,
    };
    (b.build().unwrap(), meta)
}

fn marker(base: i64, pid: i64, kind: ControlRecordType) -> (Bytes, BatchMeta) {
    let key = ControlRecord { version: 0, kind }.to_bytes();
    let value = EndTxnMarker {
        version: 0,
        coordinator_epoch: 3,
    }
    .to_bytes();
    let bytes = RecordBatchBuilder::new(base, 1_000)
        .producer(pid, 0, -1)
        .transactional(true)
        .control(true)
        .record(Record::new(0, 0, Some(key), Some(value)))
        .build()
        .unwrap();
    let meta = BatchMeta {
        base_offset: base,
        last_offset: base,
        max_timestamp: 1_000,
    };
    (bytes, meta)
}

/// Appends `steps` and, as the broker does, indexes each ABORT that ends
/// an open transaction; returns the entries.
fn run(s: &mut FileStorage, tp: &TopicPartition, steps: &[Step]) -> Vec<AbortedTxn> {
    let mut open: BTreeMap<i64, i64> = BTreeMap::new();
    let mut out = Vec::new();
    for &step in steps {
        let at = s.end_offset(tp);
        let (b, m) = match step {
            Step::Data(pid, n) => {
                open.entry(pid).or_insert(at);
                txn_batch(at, pid, n)
            }
            Step::Plain(n) => batch(at, n, 60, 1_000),
            Step::Abort(pid) => marker(at, pid, ControlRecordType::Abort),
            Step::Commit(pid) => marker(at, pid, ControlRecordType::Commit),
        };
        s.append(tp, b, m).unwrap();
        let ended = match step {
            Step::Abort(pid) | Step::Commit(pid) => open.remove(&pid).map(|f| (pid, f)),
            _ => None,
        };
        if let (Step::Abort(_), Some((pid, first))) = (step, ended) {
            let t = AbortedTxn {
                producer_id: pid,
                first_offset: first,
                last_offset: at,
                last_stable_offset: open.values().min().copied().unwrap_or(at + 1),
            };
            s.index_aborted_txn(tp, &t).unwrap();
            out.push(t);
        }
    }
    out
}

use Step::*;

/// Transactions spanning segments, interleaved, committed and aborted.
const STEPS: &[Step] = &[
    Data(1, 2), // 0..=1: producer 1 opens at 0
    Data(2, 2), // 2..=3: producer 2 opens at 2
    Abort(1),   // 4: (1, 0, 4, lso 2)
    Plain(1),   // 5
    Data(2, 1), // 6
    Commit(2),  // 7: no entry
    Abort(9),   // 8: nothing open, no entry
    Data(3, 3), // 9..=11
    Plain(3),   // 12..=14
    Data(3, 2), // 15..=16
    Data(4, 1), // 17
    Abort(3),   // 18: (3, 9, 18, lso 17)
    Plain(2),   // 19..=20
    Abort(4),   // 21: (4, 17, 21, lso 22)
    Data(5, 1), // 22
    Plain(4),   // 23..=26
    Abort(5),   // 27: (5, 22, 27, lso 28), in the active segment
];

fn setup(dir: &TempDir) -> (FileStorage, Vec<AbortedTxn>) {
    let mut s = open(dir, &opts(SEGMENT));
    s.create_log(&tp(), TOPIC_ID).unwrap();
    let want = run(&mut s, &tp(), STEPS);
    let txn = |pid, first, last, lso| AbortedTxn {
        producer_id: pid,
        first_offset: first,
        last_offset: last,
        last_stable_offset: lso,
    };
    let by_hand = vec![
        txn(1, 0, 4, 2),
        txn(3, 9, 18, 17),
        txn(4, 17, 21, 22),
        txn(5, 22, 27, 28),
    ];
    assert_eq!(want, by_hand);
    (s, want)
}

fn txn_path(dir: &TempDir, base: i64) -> PathBuf {
    log_dir(dir).join(format!("{base:020}.txnindex"))
}

/// Every `.txnindex` file of the log: base to bytes.
fn txn_files(dir: &TempDir) -> BTreeMap<i64, Vec<u8>> {
    fs::read_dir(log_dir(dir))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let base = name.strip_suffix(".txnindex")?.parse().ok()?;
            Some((base, fs::read(log_dir(dir).join(&name)).unwrap()))
        })
        .collect()
}

/// The segment holding `offset`.
fn holder(bases: &[i64], offset: i64) -> i64 {
    *bases.iter().rev().find(|&&b| b <= offset).unwrap()
}

#[test]
fn entries_are_kafkas_bytes_in_the_file_of_the_markers_segment() {
    let dir = TempDir::new("txn-write");
    let (s, want) = setup(&dir);
    let tp = tp();
    let bases = s.segment_bases(&tp);
    assert!(bases.len() >= 4, "{bases:?}");
    assert_eq!(s.aborted_txns(&tp).unwrap(), want);
    let files = txn_files(&dir);
    // Only segments holding an ABORT have a file, with their entries.
    let mut expect: BTreeMap<i64, Vec<AbortedTxn>> = BTreeMap::new();
    for t in &want {
        expect
            .entry(holder(&bases, t.last_offset))
            .or_default()
            .push(*t);
    }
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        expect.keys().collect::<Vec<_>>()
    );
    for (base, txns) in &expect {
        assert_eq!(files[base].len(), 34 * txns.len());
    }
    // (producer 1, first 0, last 4, lso 2), by hand.
    let first = &files[&holder(&bases, 4)][..34];
    let hex: String = first.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        concat!(
            "0000",             // version
            "0000000000000001", // producer id
            "0000000000000000", // first offset
            "0000000000000004", // last offset
            "0000000000000002", // last stable offset
        )
    );
    // The same after a clean close, and appends carry on.
    s.close().unwrap();
    let mut s = open(&dir, &opts(SEGMENT));
    assert_eq!(txn_files(&dir), files);
    let more = run(&mut s, &tp, &[Data(6, 1), Abort(6)]);
    let all: Vec<AbortedTxn> = want.iter().chain(&more).copied().collect();
    assert_eq!(s.aborted_txns(&tp).unwrap(), all);
}

#[test]
fn a_marker_outside_the_log_is_refused() {
    let dir = TempDir::new("txn-bad");
    let (mut s, want) = setup(&dir);
    let tp = tp();
    let mut t = want[0];
    t.last_offset = s.end_offset(&tp);
    assert!(s.index_aborted_txn(&tp, &t).is_err());
    let other = TopicPartition::new("other", 0);
    assert!(s.index_aborted_txn(&other, &want[0]).is_err());
    assert_eq!(s.aborted_txns(&tp).unwrap(), want);
}

#[test]
fn txn_indexes_go_with_their_segments() {
    let dir = TempDir::new("txn-retention");
    let (mut s, want) = setup(&dir);
    let tp = tp();
    let bases = s.segment_bases(&tp);
    let gone = holder(&bases, 4);
    assert!(txn_path(&dir, gone).exists());
    // DeleteRecords (and retention) past the segment of the first marker.
    let next = bases[bases.iter().position(|&b| b == gone).unwrap() + 1];
    s.delete_before(&tp, next).unwrap();
    assert!(!txn_path(&dir, gone).exists());
    assert_eq!(s.aborted_txns(&tp).unwrap(), want[1..].to_vec());
    // Everything, the active segment included.
    let end = s.end_offset(&tp);
    s.delete_before(&tp, end).unwrap();
    assert!(txn_files(&dir).is_empty());
    assert_eq!(s.aborted_txns(&tp).unwrap(), vec![]);
    s.delete_log(&tp).unwrap();
    assert!(!log_dir(&dir).exists());
}

/// Replaces the closed segments below `to` by their own batches minus
/// the plain ones (the markers stay, as the cleaner keeps them).
fn cleaned(s: &FileStorage, to: i64) -> Vec<(Bytes, BatchMeta)> {
    let bytes = concat(&s.read(&tp(), 0, usize::MAX).unwrap());
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let h = crate::storage::scan::parse_header(&bytes[pos..]).unwrap();
        let b = Bytes::copy_from_slice(&bytes[pos..pos + h.size as usize]);
        pos += h.size as usize;
        let has_pid = i64::from_be_bytes(b[43..51].try_into().unwrap()) >= 0;
        if h.last < to && (has_pid || h.last == to - 1) {
            let meta = BatchMeta {
                base_offset: h.base,
                last_offset: h.last,
                max_timestamp: h.max_ts,
            };
            out.push((b, meta));
        }
    }
    out
}

#[test]
fn a_cleaner_swap_keeps_the_entries_of_the_segments_it_replaces() {
    let dir = TempDir::new("txn-swap");
    let (mut s, want) = setup(&dir);
    let tp = tp();
    let bases = s.segment_bases(&tp);
    // Up to the segment before the one holding offset 21's marker.
    let to = holder(&bases, 21);
    let replaced: Vec<AbortedTxn> = want
        .iter()
        .filter(|t| t.last_offset < to)
        .copied()
        .collect();
    assert!(replaced.len() >= 2, "{replaced:?} {bases:?}");
    let before = txn_files(&dir);
    s.replace_segments(&tp, 0, to, cleaned(&s, to)).unwrap();
    assert_eq!(s.aborted_txns(&tp).unwrap(), want);
    let files = txn_files(&dir);
    let mut expect: BTreeMap<i64, Vec<u8>> = before.into_iter().filter(|(b, _)| *b >= to).collect();
    expect.insert(0, crate::storage::txn::txn_bytes(&replaced));
    assert_eq!(files, expect);
    // Kept across a crash and a clean restart.
    s.flush().unwrap();
    drop(s);
    let s = open(&dir, &opts(SEGMENT));
    assert_eq!(s.aborted_txns(&tp).unwrap(), want);
    s.close().unwrap();
    let s = open(&dir, &opts(SEGMENT));
    assert_eq!(s.aborted_txns(&tp).unwrap(), want);
    assert_eq!(txn_files(&dir), files);
}

#[test]
fn a_crashed_swap_rolls_back_or_finishes_its_txn_index() {
    for commit in [false, true] {
        let dir = TempDir::new(&format!("txn-swap-crash-{commit}"));
        let (s, want) = setup(&dir);
        let tp = tp();
        let bases = s.segment_bases(&tp);
        let to = holder(&bases, 21);
        let before = txn_files(&dir);
        let replaced: Vec<AbortedTxn> = want
            .iter()
            .filter(|t| t.last_offset < to)
            .copied()
            .collect();
        let ld = log_dir(&dir);
        let k = cleaned(&s, to);
        swap::write_swap(&ld, 0, &k, &replaced, 4096).unwrap();
        let name = |ext: &str, suffix: &str| ld.join(format!("{:020}.{ext}.{suffix}", 0));
        assert!(name("txnindex", "swap").exists());
        if !commit {
            // The indexes renamed to .swap, the log not: not committed.
            fs::rename(name("log", "swap"), name("log", "cleaned")).unwrap();
        }
        drop(s); // the crash
        let s = open(&dir, &opts(SEGMENT));
        assert_eq!(s.aborted_txns(&tp).unwrap(), want, "commit {commit}");
        let files = txn_files(&dir);
        if commit {
            assert_eq!(s.segment_bases(&tp)[0], 0);
            assert_eq!(s.segment_bases(&tp)[1], to);
            assert_eq!(files[&0], crate::storage::txn::txn_bytes(&replaced));
        } else {
            assert_eq!(s.segment_bases(&tp), bases);
            assert_eq!(files, before);
        }
        let stray = fs::read_dir(&ld)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".swap") || n.ends_with(".cleaned"))
            .count();
        assert_eq!(stray, 0);
    }
}

/// A crash: the `.txnindex` files of the segments checked are rebuilt
/// from the log, byte for byte what was written live. First only the
/// active segment is checked, then (without a recovery point) all.
#[test]
fn txn_indexes_are_rebuilt_from_the_log_after_a_crash() {
    let dir = TempDir::new("txn-rebuild");
    let (mut s, want) = setup(&dir);
    let tp = tp();
    s.flush().unwrap();
    let files = txn_files(&dir);
    let active = *s.segment_bases(&tp).last().unwrap();
    drop(s); // the crash
    fs::remove_file(txn_path(&dir, active)).unwrap();
    let s = open(&dir, &opts(SEGMENT));
    assert_eq!(s.aborted_txns(&tp).unwrap(), want);
    assert_eq!(txn_files(&dir), files);
    drop(s);

    fs::remove_file(dir.path().join("recovery-point-offset-checkpoint")).unwrap();
    let bases: Vec<i64> = files.keys().copied().collect();
    fs::remove_file(txn_path(&dir, bases[0])).unwrap();
    fs::write(txn_path(&dir, bases[1]), [0, 1, 2]).unwrap();
    // A stale file where no ABORT is.
    let stale = holder(&open_bases(&dir), 12);
    assert!(!files.contains_key(&stale));
    fs::write(
        txn_path(&dir, stale),
        crate::storage::txn::txn_bytes(&want[..1]),
    )
    .unwrap();
    let s = open(&dir, &opts(SEGMENT));
    assert_eq!(s.aborted_txns(&tp).unwrap(), want);
    assert_eq!(txn_files(&dir), files);
}

/// The segment bases of the log as files on disk.
fn open_bases(dir: &TempDir) -> Vec<i64> {
    let mut b: Vec<i64> = fs::read_dir(log_dir(dir))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    b.sort_unstable();
    b
}

/// After a clean close, a txn index that fails the checks is rebuilt too.
#[test]
fn a_corrupt_txn_index_is_rebuilt_on_a_clean_start() {
    let dir = TempDir::new("txn-corrupt");
    let (s, want) = setup(&dir);
    s.close().unwrap();
    let files = txn_files(&dir);
    let (&base, bytes) = files.iter().nth(1).unwrap();
    let mut bad = bytes.clone();
    bad[1] = 7; // an unknown version
    fs::write(txn_path(&dir, base), &bad).unwrap();
    let s = open(&dir, &opts(SEGMENT));
    assert_eq!(s.aborted_txns(&tp()).unwrap(), want);
    assert_eq!(txn_files(&dir), files);
}

/// A torn last marker: the log is cut before it, and its entry goes too.
#[test]
fn cutting_a_torn_tail_drops_its_txn_entries() {
    let dir = TempDir::new("txn-torn");
    let (mut s, want) = setup(&dir);
    let tp = tp();
    s.flush().unwrap();
    let active = *s.segment_bases(&tp).last().unwrap();
    assert!(active > 21, "the last marker alone in the active segment");
    assert!(txn_path(&dir, active).exists());
    drop(s); // the crash
    let lp = log_dir(&dir).join(format!("{active:020}.log"));
    let bytes = fs::read(&lp).unwrap();
    fs::write(&lp, &bytes[..bytes.len() - 5]).unwrap();
    let mut s = open(&dir, &opts(SEGMENT));
    assert_eq!(s.end_offset(&tp), 27);
    assert_eq!(s.aborted_txns(&tp).unwrap(), want[..3].to_vec());
    assert!(!txn_path(&dir, active).exists());
    // Entries carry on in the active segment.
    let more = run(&mut s, &tp, &[Data(6, 1), Abort(6)]);
    let all: Vec<AbortedTxn> = want[..3].iter().chain(&more).copied().collect();
    assert_eq!(s.aborted_txns(&tp).unwrap(), all);
}
