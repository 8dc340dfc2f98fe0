//! Native file storage opening a log directory whose files the fuzzer wrote
//! (`spate_fuzz::LogDirInput`): checkpoints, `meta.properties`, segments,
//! their indexes and the leftovers of a compaction swap, with or without the
//! clean shutdown marker. Opening answers an error or recovers, never
//! panics; a recovered store reads every log from start to end, takes an
//! append, and after a clean close reopens to the same log ends.
#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use spate_core::records::{batches, Record, RecordBatchBuilder, SetEntry};
use spate_core::storage::{BatchMeta, Storage};
use spate_fuzz::storage::{FileStorage, Options};
use spate_fuzz::{LogDirInput, STORAGE_FILES};

/// One directory per process, emptied before every input; in memory
/// (`/dev/shm`) where there is one, since opening fsyncs.
fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        base.join(format!("spate-fuzz-storage-{}", std::process::id()))
    })
}

fn options() -> Options {
    Options {
        segment_bytes: 4096,
        index_interval_bytes: 64,
        cluster_id: Some("fuzz-cluster-000000000".into()),
        ..Options::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let input = LogDirInput::parse(data);
    let dir = root().join("log");
    let _ = fs::remove_dir_all(&dir);
    for sub in ["t-0", "t-1"] {
        fs::create_dir_all(dir.join(sub)).expect("creates the log directories");
    }
    if input.clean {
        fs::write(dir.join(".kafka_cleanshutdown"), b"").expect("writes the marker");
    }
    for (file, bytes) in &input.writes {
        let path = dir.join(STORAGE_FILES[usize::from(*file)]);
        let mut all = fs::read(&path).unwrap_or_default();
        all.extend_from_slice(bytes);
        fs::write(&path, all).expect("writes a file");
    }
    let Ok(mut s) = FileStorage::open(&dir, options()) else {
        return;
    };
    let logs = s.logs();
    for tp in &logs {
        let (start, end) = (s.start_offset(tp), s.end_offset(tp));
        assert!(start <= end, "{tp}: log start {start} past log end {end}");
        // Read the log through. After a clean shutdown the files are
        // trusted as Kafka trusts them (not checked), so only a recovered
        // log must hold whole batches that move forward.
        let mut at = start;
        'read: while at < end {
            let Ok(chunks) = s.read(tp, at, 1 << 20) else {
                break;
            };
            let before = at;
            for chunk in &chunks {
                for entry in batches(chunk) {
                    match entry {
                        Ok(SetEntry::Batch(raw)) => at = at.max(raw.info.next_offset()),
                        _ if input.clean => break 'read,
                        other => panic!("{tp}: recovered log holds {other:?} at {at}"),
                    }
                }
            }
            // Offsets with no batch are possible: a segment cut to nothing
            // by recovery keeps the base of the next one (as in Kafka,
            // which recovers a segment whose index is missing on load
            // without deleting the segments after it).
            if at == before {
                break;
            }
        }
        let _ = s.offset_for_timestamp(tp, 0);
        let _ = s.aborted_txns(tp);
        let base = s.end_offset(tp);
        let mut b = RecordBatchBuilder::new(base, 1_700_000_000_000);
        b.push(Record::new(0, 0, None, Some(Bytes::from_static(b"v"))));
        let batch = b.build().expect("builds");
        let meta = BatchMeta {
            base_offset: base,
            last_offset: base,
            max_timestamp: 1_700_000_000_000,
        };
        if s.append(tp, batch, meta).is_ok() {
            assert_eq!(s.end_offset(tp), base + 1, "{tp}: append moved the end");
        }
    }
    let ends: Vec<i64> = logs.iter().map(|tp| s.end_offset(tp)).collect();
    if s.close().is_err() {
        return;
    }
    let s = FileStorage::open(&dir, options()).expect("a cleanly closed directory opens");
    let again: Vec<i64> = logs.iter().map(|tp| s.end_offset(tp)).collect();
    assert_eq!(again, ends, "log ends changed across a clean close");
});
