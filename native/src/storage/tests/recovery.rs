use std::fs::{self, OpenOptions};
use std::io::Write;

use spate_core::storage::Storage;

use super::*;

fn active_log(dir: &TempDir, base: i64) -> PathBuf {
    log_dir(dir).join(format!("{base:020}.log"))
}

#[test]
fn recovery_cuts_a_torn_last_batch() {
    let dir = TempDir::new("torn");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 10, 2, 30, 0, 1);
    s.flush().unwrap();
    drop(s); // a crash: no clean shutdown marker
    let (half, _) = batch(20, 2, 30, 0);
    let path = active_log(&dir, 0);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&half[..half.len() / 2]).unwrap();
    drop(f);
    let mut s = open(&dir, &o);
    assert_eq!(s.end_offset(&tp), 20);
    assert_eq!(fs::read(&path).unwrap(), concat(&batches));
    // Appends carry on where the valid log ends.
    let more = fill(&mut s, &tp, 1, 1, 5, 0, 1);
    assert_eq!(s.read(&tp, 20, 100).unwrap(), more);
}

#[test]
fn recovery_cuts_at_a_batch_with_a_bad_crc() {
    let dir = TempDir::new("crc");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 100, 2, 30, 0, 1);
    drop(s);
    let path = active_log(&dir, 0);
    let mut bytes = fs::read(&path).unwrap();
    let at: usize = batches[..60].iter().map(|b| b.len()).sum();
    bytes[at + 70] ^= 0x40; // a record byte of batch 60
    fs::write(&path, &bytes).unwrap();
    let s = open(&dir, &o);
    assert_eq!(s.end_offset(&tp), 120);
    assert_eq!(fs::read(&path).unwrap(), concat(&batches[..60]));
    assert_eq!(
        concat(&s.read(&tp, 0, usize::MAX).unwrap()),
        concat(&batches[..60])
    );
    assert_eq!(s.read(&tp, 119, 1).unwrap(), vec![batches[59].clone()]);
    // The rebuilt index has no entry past the cut.
    let index = fs::read(log_dir(&dir).join("00000000000000000000.index")).unwrap();
    let entries = crate::storage::index::parse_offsets(&index, at as u64).unwrap();
    assert!(!entries.is_empty());
}

#[test]
fn recovery_drops_segments_after_a_torn_one() {
    let dir = TempDir::new("tornmid");
    let o = opts(1000);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 30, 1, 100, 0, 1);
    let bases = s.segment_bases(&tp);
    drop(s); // no recovery point checkpoint: every segment is checked
    fs::remove_file(dir.path().join("recovery-point-offset-checkpoint")).unwrap();
    let path = active_log(&dir, bases[1]);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let s = open(&dir, &o);
    assert_eq!(s.segment_bases(&tp), bases[..2].to_vec());
    let last_whole = bases[2] as usize - 1;
    assert_eq!(s.end_offset(&tp), last_whole as i64);
    assert_eq!(
        concat(&s.read(&tp, 0, usize::MAX).unwrap()),
        concat(&batches[..last_whole])
    );
    assert!(!active_log(&dir, bases[2]).exists());
}

#[test]
fn missing_or_corrupt_indexes_are_rebuilt_identically() {
    let dir = TempDir::new("reindex");
    let o = opts(20_000);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 200, 2, 40, 0, 1);
    let bases = s.segment_bases(&tp);
    assert!(bases.len() > 1);
    s.close().unwrap();
    let files = |ext: &str| -> Vec<Vec<u8>> {
        bases
            .iter()
            .map(|b| fs::read(log_dir(&dir).join(format!("{b:020}.{ext}"))).unwrap())
            .collect()
    };
    let (index, time) = (files("index"), files("timeindex"));
    assert!(index.iter().all(|i| !i.is_empty()));
    for b in &bases {
        fs::remove_file(log_dir(&dir).join(format!("{b:020}.index"))).unwrap();
    }
    fs::write(
        log_dir(&dir).join(format!("{:020}.timeindex", bases[0])),
        [1, 2, 3],
    )
    .unwrap();
    let s = open(&dir, &o); // clean shutdown, indexes gone: rebuilt
    assert_eq!(files("index"), index);
    assert_eq!(files("timeindex"), time);
    for offset in (0..400).step_by(7) {
        let got = s.read(&tp, offset, 1).unwrap();
        assert_eq!(got, vec![batches[offset as usize / 2].clone()]);
    }
    assert_eq!(s.offset_for_timestamp(&tp, 150).unwrap(), Some(298));
}

/// A flush does not fsync the active segment's indexes (only its log), so
/// a crash may leave them short or stale: recovery rebuilds them from the
/// log, identical to what a clean close writes.
#[test]
fn active_indexes_lost_in_a_crash_are_rebuilt() {
    let o = opts(1 << 20);
    let tp = tp();
    let reference = TempDir::new("idx-clean");
    let mut s = open(&reference, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 300, 2, 40, 0, 1);
    s.close().unwrap();
    let want = |ext: &str, d: &TempDir| fs::read(log_dir(d).join(format!("{:020}.{ext}", 0)));
    let (index, time) = (
        want("index", &reference).unwrap(),
        want("timeindex", &reference).unwrap(),
    );
    assert!(index.len() > 40, "several index entries");

    let dir = TempDir::new("idx-crash");
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    fill(&mut s, &tp, 300, 2, 40, 0, 1);
    s.flush().unwrap();
    drop(s); // a crash after the flush
             // What the page cache may not have written: the index tails.
    let ip = log_dir(&dir).join(format!("{:020}.index", 0));
    fs::write(&ip, &index[..16]).unwrap();
    let tip = log_dir(&dir).join(format!("{:020}.timeindex", 0));
    fs::write(&tip, []).unwrap();
    let s = open(&dir, &o);
    for offset in (0..600).step_by(11) {
        let got = s.read(&tp, offset, 1).unwrap();
        assert_eq!(got, vec![batches[offset as usize / 2].clone()]);
    }
    assert_eq!(s.offset_for_timestamp(&tp, 150).unwrap(), Some(298));
    s.close().unwrap();
    assert_eq!(want("index", &dir).unwrap(), index);
    assert_eq!(want("timeindex", &dir).unwrap(), time);
}
