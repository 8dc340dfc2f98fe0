//! Truncation on real files: a follower cutting its divergent tail, or
//! restarting its log at the leader's start.

use std::fs;

use spate_core::storage::{AbortedTxn, Storage};

use super::*;
use crate::storage::files::read_checkpoint;
use crate::storage::index::{parse_offsets, parse_times};
use crate::storage::segment::file_name;

/// Names of the segment files in the log directory, sorted.
fn files(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(log_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with("index") || n.ends_with(".log"))
        .collect();
    names.sort();
    names
}

#[test]
fn truncate_to_deletes_later_segments_and_cuts_the_one_holding_the_offset() {
    let dir = TempDir::new("truncate");
    let o = Options {
        index_interval_bytes: 100,
        ..opts(1000)
    };
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    // 40 batches of 2 records (offsets 2i, 2i + 1), several segments.
    let batches = fill(&mut s, &tp, 40, 2, 60, 1_000, 10);
    let bases = s.segment_bases(&tp);
    assert!(bases.len() >= 4, "{bases:?}");
    // An offset inside the second segment's third batch: it goes whole.
    let cut = bases[1] + 5;
    assert_eq!(cut % 2, 1, "straddles a batch");
    s.truncate_to(&tp, cut).unwrap();
    let end = cut - 1;
    assert_eq!(s.end_offset(&tp), end);
    assert_eq!(s.segment_bases(&tp), bases[..2].to_vec());
    let expect = concat(&batches[..end as usize / 2]);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), expect);
    for &b in &bases[2..] {
        for ext in ["log", "index", "timeindex"] {
            assert!(!log_dir(&dir).join(file_name(b, ext)).exists(), "{b}.{ext}");
        }
    }
    // The cut segment's index entries point only below the new end.
    let seg = log_dir(&dir).join(file_name(bases[1], "log"));
    let len = fs::metadata(&seg).unwrap().len();
    let index = fs::read(log_dir(&dir).join(file_name(bases[1], "index"))).unwrap();
    let entries = parse_offsets(&index, len).unwrap();
    assert!(!entries.is_empty());
    assert!(entries
        .iter()
        .all(|&(rel, pos)| bases[1] + i64::from(rel) < end && u64::from(pos) < len));
    let times = fs::read(log_dir(&dir).join(file_name(bases[1], "timeindex"))).unwrap();
    let last_ts = 1_000 + 10 * (end / 2 - 1) + 1;
    assert!(parse_times(&times)
        .unwrap()
        .iter()
        .all(|&(ts, rel)| ts <= last_ts && bases[1] + i64::from(rel) < end));
    assert_eq!(s.offset_for_timestamp(&tp, last_ts + 1).unwrap(), None);
    // Appends go on at the new end, in the cut segment.
    let (b, m) = batch(end, 3, 10, 5_000);
    s.append(&tp, b.clone(), m).unwrap();
    assert_eq!(s.segment_bases(&tp), bases[..2].to_vec());
    let mut after = expect.clone();
    after.extend_from_slice(&b);
    // Past the end, nothing happens.
    s.truncate_to(&tp, 1_000).unwrap();
    assert_eq!(s.end_offset(&tp), end + 3);
    // A crash (no close) and a clean close bring back exactly the same.
    drop(s);
    let s = open(&dir, &o);
    assert_eq!(s.end_offset(&tp), end + 3);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), after);
    s.close().unwrap();
    let mut s = open(&dir, &o);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), after);
    // At a segment's base: the segment is emptied, its files stay.
    s.truncate_to(&tp, bases[1]).unwrap();
    assert_eq!(s.end_offset(&tp), bases[1]);
    assert_eq!(s.segment_bases(&tp), bases[..2].to_vec());
    assert_eq!(fs::metadata(&seg).unwrap().len(), 0);
    assert_eq!(
        concat(&s.read(&tp, 0, usize::MAX).unwrap()),
        concat(&batches[..bases[1] as usize / 2])
    );
    assert_eq!(s.start_offset(&tp), 0);
}

#[test]
fn truncation_drops_aborted_transactions_past_the_cut() {
    let dir = TempDir::new("truncate-txn");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    fill(&mut s, &tp, 10, 1, 10, 0, 1);
    let txn = |last| AbortedTxn {
        producer_id: 1,
        first_offset: 0,
        last_offset: last,
        last_stable_offset: last,
    };
    s.index_aborted_txn(&tp, &txn(3)).unwrap();
    s.index_aborted_txn(&tp, &txn(7)).unwrap();
    s.truncate_to(&tp, 5).unwrap();
    assert_eq!(s.aborted_txns(&tp).unwrap(), vec![txn(3)]);
    s.truncate_to(&tp, 2).unwrap();
    assert_eq!(s.aborted_txns(&tp).unwrap(), vec![]);
    assert!(!log_dir(&dir).join(file_name(0, "txnindex")).exists());
}

#[test]
fn truncate_fully_and_start_at_restarts_the_log_and_survives_reopen() {
    let dir = TempDir::new("truncate-fully");
    let o = opts(1000);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    fill(&mut s, &tp, 30, 1, 100, 0, 1);
    assert!(s.segment_bases(&tp).len() > 2);
    s.truncate_fully_and_start_at(&tp, 500).unwrap();
    assert_eq!((s.start_offset(&tp), s.end_offset(&tp)), (500, 500));
    assert_eq!(s.segment_bases(&tp), vec![500]);
    assert_eq!(
        files(&dir),
        [
            "00000000000000000500.index",
            "00000000000000000500.log",
            "00000000000000000500.timeindex"
        ]
    );
    let cp = read_checkpoint(&dir.path().join("log-start-offset-checkpoint"))
        .unwrap()
        .unwrap();
    assert_eq!(cp.get(&tp), Some(&500));
    let (b, m) = batch(500, 2, 10, 0);
    s.append(&tp, b.clone(), m).unwrap();
    drop(s); // unclean
    let mut s = open(&dir, &o);
    assert_eq!((s.start_offset(&tp), s.end_offset(&tp)), (500, 502));
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), b.to_vec());
    // Below the log start, truncate_to empties the log the same way.
    s.truncate_to(&tp, 100).unwrap();
    assert_eq!((s.start_offset(&tp), s.end_offset(&tp)), (100, 100));
    assert_eq!(s.segment_bases(&tp), vec![100]);
    s.close().unwrap();
    let s = open(&dir, &o);
    assert_eq!((s.start_offset(&tp), s.end_offset(&tp)), (100, 100));
}

#[test]
fn a_follower_may_append_past_the_end_keeping_a_compacted_leaders_gaps() {
    let dir = TempDir::new("gaps");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let (a, ma) = batch(0, 2, 10, 0);
    let (b, mb) = batch(5, 2, 10, 1);
    s.append(&tp, a.clone(), ma).unwrap();
    s.append(&tp, b.clone(), mb).unwrap();
    assert_eq!(s.end_offset(&tp), 7);
    let (c, mc) = batch(6, 1, 10, 2);
    assert!(s.append(&tp, c, mc).is_err(), "below the end");
    assert_eq!(s.read(&tp, 3, 1).unwrap(), vec![b.clone()]);
    drop(s); // unclean: recovery accepts the gap
    let s = open(&dir, &o);
    assert_eq!(s.end_offset(&tp), 7);
    assert_eq!(
        concat(&s.read(&tp, 0, usize::MAX).unwrap()),
        [a, b].concat()
    );
}
