use std::fs;

use spate_core::records::BatchInfo;
use spate_core::storage::{Storage, TopicPartition};

use super::*;
use crate::storage::files::read_checkpoint;
use crate::storage::index::{parse_offsets, parse_times};

#[test]
fn append_read_and_reopen_are_byte_identical() {
    let dir = TempDir::new("roundtrip");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 40, 3, 50, 1_000, 10);
    let all = concat(&batches);
    let read = s.read(&tp, 0, usize::MAX).unwrap();
    assert_eq!(read.len(), 1, "one segment, one chunk");
    assert_eq!(read[0], all);
    assert_eq!(s.end_offset(&tp), 120);
    let (b, m) = batch(7, 1, 1, 0);
    let err = s.append(&tp, b.clone(), m).unwrap_err();
    assert_eq!(
        err.to_string(),
        "append to orders.eu-west-3 at offset 7, but the log ends at 120"
    );
    let other = TopicPartition::new("nope", 0);
    assert!(s.append(&other, b, m).is_err());
    assert!(s.read(&other, 0, 1).is_err());
    s.close().unwrap();
    assert!(dir.path().join(".kafka_cleanshutdown").exists());

    let s = open(&dir, &o);
    assert!(!dir.path().join(".kafka_cleanshutdown").exists());
    assert_eq!(s.logs(), vec![tp.clone()]);
    assert_eq!(s.end_offset(&tp), 120);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), all);
    let file = fs::read(log_dir(&dir).join("00000000000000000000.log")).unwrap();
    assert_eq!(file, all);
    drop(s); // no close: the next open recovers, and finds every batch intact
    let s = open(&dir, &o);
    assert_eq!(s.end_offset(&tp), 120);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), all);
}

#[test]
fn index_lookups_land_on_the_batch_holding_each_offset() {
    let dir = TempDir::new("lookup");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 300, 2, 40, 0, 1);
    let index = fs::read(log_dir(&dir).join("00000000000000000000.index")).unwrap();
    let size: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let entries = parse_offsets(&index, size).unwrap();
    assert!(entries.len() > 5, "{} entries", entries.len());
    for check in [&s, &open(&dir, &o)] {
        for offset in 0..600 {
            let got = check.read(&tp, offset, 1).unwrap();
            assert_eq!(
                got,
                vec![batches[offset as usize / 2].clone()],
                "offset {offset}"
            );
        }
        assert!(check.read(&tp, 600, 1).unwrap().is_empty());
    }
    // An indexed entry maps a batch's last offset to its position.
    let (rel, pos) = entries[0];
    let info = BatchInfo::peek(&concat(&batches)[pos as usize..]).unwrap();
    assert_eq!(info.last_offset, i64::from(rel));
}

#[test]
fn segments_roll_by_size_and_reads_return_one_chunk_per_segment() {
    let dir = TempDir::new("roll");
    let o = opts(1000);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 30, 1, 100, 0, 1);
    let per = 1000 / batches[0].len();
    let bases = s.segment_bases(&tp);
    assert_eq!(bases.len(), 30usize.div_ceil(per));
    assert_eq!(bases[1], per as i64);
    let mut names: Vec<String> = fs::read_dir(log_dir(&dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    names.sort();
    let want: Vec<String> = bases.iter().map(|b| format!("{b:020}.log")).collect();
    assert_eq!(names, want);
    for b in &bases {
        assert!(log_dir(&dir).join(format!("{b:020}.index")).exists());
        assert!(log_dir(&dir).join(format!("{b:020}.timeindex")).exists());
    }
    let all = s.read(&tp, 0, usize::MAX).unwrap();
    assert_eq!(all.len(), bases.len());
    assert_eq!(concat(&all), concat(&batches));
    // A budget of two and a half batches from the middle of a segment.
    let b = batches[0].len();
    let got = s.read(&tp, 3, 2 * b + b / 2).unwrap();
    assert_eq!(concat(&got), concat(&batches[3..5]));
    // Crossing a segment boundary: one chunk each side.
    let got = s.read(&tp, per as i64 - 1, 2 * b).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(concat(&got), concat(&batches[per - 1..per + 1]));
    // Each non-last segment's time index ends with its largest timestamp.
    let t = fs::read(log_dir(&dir).join(format!("{:020}.timeindex", bases[0]))).unwrap();
    let times = parse_times(&t).unwrap();
    assert_eq!(times.last().unwrap().0, per as i64 - 1);
}

#[test]
fn segments_roll_by_time() {
    let dir = TempDir::new("rolltime");
    let o = Options {
        segment_ms: 1000,
        ..opts(1 << 20)
    };
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    for ts in [0, 400, 1000, 1001, 1500] {
        let (b, m) = batch(s.end_offset(&tp), 1, 10, ts);
        s.append(&tp, b, m).unwrap();
    }
    assert_eq!(s.segment_bases(&tp), vec![0, 3]);
    s.tick(2001).unwrap();
    assert_eq!(s.segment_bases(&tp), vec![0, 3]);
    s.tick(2002).unwrap();
    assert_eq!(s.segment_bases(&tp), vec![0, 3, 5]);
    s.tick(99_999).unwrap(); // the new segment is empty
    assert_eq!(s.segment_bases(&tp), vec![0, 3, 5]);
}

#[test]
fn delete_before_removes_whole_segments_and_the_start_survives_reopen() {
    let dir = TempDir::new("delete");
    let o = opts(1000);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    let batches = fill(&mut s, &tp, 30, 1, 100, 0, 1);
    let bases = s.segment_bases(&tp);
    let cut = bases[2] + 1;
    s.delete_before(&tp, cut).unwrap();
    assert_eq!(s.start_offset(&tp), cut);
    assert_eq!(s.segment_bases(&tp), bases[2..].to_vec());
    assert!(!log_dir(&dir).join("00000000000000000000.log").exists());
    assert!(!log_dir(&dir).join("00000000000000000000.index").exists());
    let from_start = concat(&batches[cut as usize..]);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), from_start);
    let cp = read_checkpoint(&dir.path().join("log-start-offset-checkpoint"))
        .unwrap()
        .unwrap();
    assert_eq!(cp.get(&tp), Some(&cut));
    let size = s.size(&tp);
    drop(s); // unclean
    let s = open(&dir, &o);
    assert_eq!(s.start_offset(&tp), cut);
    assert_eq!(s.size(&tp), size);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), from_start);
    s.close().unwrap();
    let mut s = open(&dir, &o);
    assert_eq!(s.start_offset(&tp), cut);
    // Up to the end: every segment goes, an empty one starts at the end.
    s.delete_before(&tp, 1_000).unwrap();
    assert_eq!((s.start_offset(&tp), s.end_offset(&tp)), (30, 30));
    assert_eq!(s.segment_bases(&tp), vec![30]);
    assert_eq!(s.size(&tp), 0);
    assert!(s.read(&tp, 0, usize::MAX).unwrap().is_empty());
    fill(&mut s, &tp, 2, 1, 10, 0, 1);
    s.close().unwrap();
    let s = open(&dir, &o);
    assert_eq!((s.start_offset(&tp), s.end_offset(&tp)), (30, 32));
}

#[test]
fn meta_properties_is_written_then_kept() {
    let dir = TempDir::new("meta");
    let o = Options {
        node_id: 7,
        ..opts(1 << 20)
    };
    let s = open(&dir, &o);
    let text = fs::read_to_string(dir.path().join("meta.properties")).unwrap();
    let dir_id = s.meta().directory_id.unwrap().to_string();
    assert!(text.contains("version=1\n"), "{text}");
    assert!(text.contains("node.id=7\n"));
    assert!(text.contains("cluster.id=spate-test-cluster-id0\n"));
    assert!(text.contains(&format!("directory.id={dir_id}\n")));
    assert_eq!(dir_id.len(), 22);
    s.close().unwrap();
    // A file Kafka wrote is kept as it is.
    let kafka = "#\n#Thu Oct 10 10:00:00 UTC 2024\nnode.id=7\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n";
    fs::write(dir.path().join("meta.properties"), kafka).unwrap();
    let s = open(&dir, &o);
    assert_eq!(s.meta().cluster_id, "MkU3OEVBNTcwNTJENDM2Qk");
    assert_eq!(
        s.meta().directory_id.unwrap().to_string(),
        "J8aAPcfLQt2bqs1JT_rMgQ"
    );
    drop(s);
    let text = fs::read_to_string(dir.path().join("meta.properties")).unwrap();
    assert_eq!(text, kafka);
    let other = Options { node_id: 8, ..o };
    assert!(FileStorage::open(dir.path(), other).is_err());
}

#[test]
fn partition_metadata_holds_the_topic_id() {
    let dir = TempDir::new("pmeta");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    let id = crate::storage::files::parse_uuid("J8aAPcfLQt2bqs1JT_rMgQ").unwrap();
    s.create_log(&tp, id).unwrap();
    let text = fs::read_to_string(log_dir(&dir).join("partition.metadata")).unwrap();
    assert_eq!(text, "version: 0\ntopic_id: J8aAPcfLQt2bqs1JT_rMgQ\n");
    drop(s);
    let s = open(&dir, &o);
    assert_eq!(s.topic_id(&tp), Some(id));
}

#[test]
fn create_log_records_the_topic_id() {
    let dir = TempDir::new("untagged");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    assert!(s.untagged_logs().is_empty(), "a new log has its id at once");
    // Kafka's metadata log has a fixed topic id.
    let meta = TopicPartition::new("__cluster_metadata", 0);
    s.create_log(&meta, spate_core::broker::METADATA_TOPIC_ID)
        .unwrap();
    let text = fs::read_to_string(dir.path().join("__cluster_metadata-0/partition.metadata"));
    assert_eq!(
        text.unwrap(),
        "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n"
    );
    // A log found without one (written before Spate kept the file) gets
    // its topic's id when the broker names the log at start.
    drop(s);
    fs::remove_file(log_dir(&dir).join("partition.metadata")).unwrap();
    let mut s = open(&dir, &o);
    assert_eq!(s.untagged_logs(), vec![tp.clone()]);
    assert_eq!(s.read(&tp, 0, 100).unwrap().len(), 0);
    let id = crate::storage::files::parse_uuid("J8aAPcfLQt2bqs1JT_rMgQ").unwrap();
    s.create_log(&tp, id).unwrap();
    assert!(s.untagged_logs().is_empty());
    drop(s);
    let mut s = open(&dir, &o);
    assert_eq!(s.topic_id(&tp), Some(id), "kept across a restart");
    // A log deleted and created again carries the new topic's id.
    s.delete_log(&tp).unwrap();
    s.create_log(&tp, TOPIC_ID).unwrap();
    assert_eq!(s.topic_id(&tp), Some(TOPIC_ID));
}

#[test]
fn offset_for_timestamp_uses_the_time_index() {
    let dir = TempDir::new("time");
    let o = Options {
        index_interval_bytes: 500,
        ..opts(8000)
    };
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    // Batches of 2 records, timestamps 100, 110, ... with a dip every 7th.
    for i in 0..200i64 {
        let ts = if i % 7 == 3 { 5 } else { 100 + 10 * i };
        let (b, m) = batch(s.end_offset(&tp), 2, 30, ts);
        s.append(&tp, b, m).unwrap();
    }
    assert!(s.segment_bases(&tp).len() > 2);
    let expect = |ts: i64| {
        (0..200i64)
            .find(|i| (if i % 7 == 3 { 5 } else { 100 + 10 * i }) + 1 >= ts)
            .map(|i| 2 * i)
    };
    for check in [&s, &open(&dir, &o)] {
        for ts in (0..2200).step_by(3) {
            assert_eq!(
                check.offset_for_timestamp(&tp, ts).unwrap(),
                expect(ts),
                "ts {ts}"
            );
        }
    }
    let t = fs::read(log_dir(&dir).join("00000000000000000000.timeindex")).unwrap();
    assert!(parse_times(&t).unwrap().len() > 2);
    s.delete_before(&tp, 301).unwrap();
    assert_eq!(s.offset_for_timestamp(&tp, 0).unwrap(), Some(301));
}

#[test]
fn layout_is_kafkas_and_logs_reopen_by_directory_name() {
    let dir = TempDir::new("layout");
    let o = opts(1 << 20);
    let mut s = open(&dir, &o);
    let tps = [
        TopicPartition::new("a-b-c", 0),
        TopicPartition::new("x.y", 12),
        TopicPartition::new("__consumer_offsets", 49),
    ];
    for tp in &tps {
        s.create_log(tp, TOPIC_ID).unwrap();
        fill(&mut s, tp, 1, 1, 1, 0, 1);
    }
    s.close().unwrap();
    for name in ["a-b-c-0", "x.y-12", "__consumer_offsets-49"] {
        for f in ["log", "index", "timeindex"] {
            assert!(dir
                .path()
                .join(name)
                .join(format!("00000000000000000000.{f}"))
                .exists());
        }
    }
    for f in [
        "meta.properties",
        "recovery-point-offset-checkpoint",
        "log-start-offset-checkpoint",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let rp = fs::read_to_string(dir.path().join("recovery-point-offset-checkpoint")).unwrap();
    assert_eq!(rp, "0\n3\n__consumer_offsets 49 1\na-b-c 0 1\nx.y 12 1\n");
    fs::create_dir(dir.path().join("gone-3.0123abcd-delete")).unwrap();
    fs::create_dir(dir.path().join("not a log")).unwrap();
    let mut s = open(&dir, &o);
    let mut want = tps.to_vec();
    want.sort();
    assert_eq!(s.logs(), want);
    s.delete_log(&tps[0]).unwrap();
    assert!(!dir.path().join("a-b-c-0").exists());
    s.create_log(&tps[0], TOPIC_ID).unwrap();
    assert_eq!(s.end_offset(&tps[0]), 0);
}
