//! FileStorage tests, on real directories under the system temp dir.

mod basic;
mod cleaner;
mod compaction;
mod full;
mod mem;
mod recovery;
mod truncate;
mod txn;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use spate_core::records::{Record, RecordBatchBuilder};
use spate_core::storage::{BatchMeta, Storage, TopicPartition};

use super::{FileStorage, Options};

/// The topic id the tests' logs belong to.
pub(super) const TOPIC_ID: spate_core::protocol::Uuid = spate_core::protocol::Uuid([7; 16]);

/// A fresh directory, removed when dropped.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("spate-storage-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A v2 batch at `base` of `n` records with `len`-byte values, the
/// records' timestamps `ts`, `ts + 1`, ...
pub(super) fn batch(base: i64, n: i32, len: usize, ts: i64) -> (Bytes, BatchMeta) {
    let mut b = RecordBatchBuilder::new(base, ts);
    for i in 0..n {
        let value = Bytes::from(vec![b'a' + (i % 26) as u8; len]);
        b.push(Record::new(i, i64::from(i), None, Some(value)));
    }
    let bytes = b.build().unwrap();
    let meta = BatchMeta {
        base_offset: base,
        last_offset: base + i64::from(n) - 1,
        max_timestamp: ts + i64::from(n) - 1,
    };
    (bytes, meta)
}

/// Appends `count` batches of `n` records, timestamps rising from `ts0`
/// by `step` per batch; returns the batches.
pub(super) fn fill<S: Storage>(
    s: &mut S,
    tp: &TopicPartition,
    count: usize,
    n: i32,
    len: usize,
    ts0: i64,
    step: i64,
) -> Vec<Bytes>
where
    S::Error: std::fmt::Debug,
{
    let mut out = Vec::new();
    for i in 0..count {
        let (b, m) = batch(s.end_offset(tp), n, len, ts0 + step * i as i64);
        s.append(tp, b.clone(), m).unwrap();
        out.push(b);
    }
    out
}

pub(super) fn opts(segment_bytes: u64) -> Options {
    Options {
        segment_bytes,
        cluster_id: Some("spate-test-cluster-id0".into()),
        ..Options::default()
    }
}

pub(super) fn open(dir: &TempDir, o: &Options) -> FileStorage {
    FileStorage::open(dir.path(), o.clone()).unwrap()
}

pub(super) fn concat(chunks: &[Bytes]) -> Vec<u8> {
    chunks.concat()
}

pub(super) fn tp() -> TopicPartition {
    TopicPartition::new("orders.eu-west", 3)
}

pub(super) fn log_dir(dir: &TempDir) -> PathBuf {
    dir.path().join("orders.eu-west-3")
}
