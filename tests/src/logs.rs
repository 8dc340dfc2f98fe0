//! A broker's partition logs read straight from its data directory
//! (`<dir>/<topic>-<partition>/<base offset>.log`, Kafka's segment
//! format: record batches byte for byte), for checks that compare
//! replicas without asking any broker.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use spate_core::records::{batches, AnyBatch, RawBatch, SetEntry};

/// One batch as a replica stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// First offset.
    pub base_offset: i64,
    /// Last offset.
    pub last_offset: i64,
    /// The epoch of the leader that appended it.
    pub leader_epoch: i32,
    /// The CRC stored in its header.
    pub crc: u32,
    /// Producer id and first sequence (-1 without idempotence).
    pub producer: (i64, i32),
    /// The values of its records, with their offsets; empty when the
    /// batch was only peeked at (see [`read_partition`]).
    pub values: Vec<(i64, Option<Bytes>)>,
}

/// The header fields [`Batch`] keeps, from a v2 batch's first 61 bytes.
fn header(raw: &RawBatch) -> Option<Batch> {
    let b = &raw.bytes;
    if raw.info.magic != 2 || b.len() < 61 {
        return None;
    }
    let i32_at = |at: usize| i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    Some(Batch {
        base_offset: raw.info.base_offset,
        last_offset: raw.info.last_offset,
        leader_epoch: i32_at(12),
        crc: u32::from_be_bytes(b[17..21].try_into().expect("4 bytes")),
        producer: (
            i64::from_be_bytes(b[43..51].try_into().expect("8 bytes")),
            i32_at(53),
        ),
        values: Vec::new(),
    })
}

/// The batches of partition `partition` of `topic` in data directory
/// `dir`, in offset order over all its segments; `None` when the broker
/// has no such directory. With `decode`, every batch is decoded (its CRC
/// checked, a failure is an `Err`) and its values kept; without it,
/// only headers are read and a torn tail (a batch being written while
/// the files are read) is left out, so a running broker's files can be
/// sampled.
pub fn read_partition(
    dir: &Path,
    topic: &str,
    partition: i32,
    decode: bool,
) -> Option<Result<Vec<Batch>, String>> {
    let pdir = dir.join(format!("{topic}-{partition}"));
    let entries = std::fs::read_dir(&pdir).ok()?;
    let mut segments: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    let mut out = Vec::new();
    for seg in segments {
        let Ok(bytes) = std::fs::read(&seg) else {
            continue;
        };
        let bytes = Bytes::from(bytes);
        for entry in batches(&bytes) {
            let raw = match entry {
                Ok(SetEntry::Batch(raw)) => raw,
                Ok(SetEntry::Partial { .. }) if !decode => break,
                Ok(other) => return Some(Err(format!("{}: {other:?} at the end", seg.display()))),
                Err(e) if !decode => {
                    let _ = e;
                    break;
                }
                Err(e) => return Some(Err(format!("{}: {e}", seg.display()))),
            };
            let Some(mut batch) = header(&raw) else {
                return Some(Err(format!(
                    "{}: a batch of magic {} at offset {}",
                    seg.display(),
                    raw.info.magic,
                    raw.info.base_offset
                )));
            };
            if decode {
                let decoded = match raw.decode() {
                    Ok(AnyBatch::V2(b)) => b,
                    Ok(AnyBatch::Legacy(_)) => unreachable!("magic 2 checked"),
                    Err(e) => {
                        return Some(Err(format!(
                            "{}: batch at offset {}: {e}",
                            seg.display(),
                            batch.base_offset
                        )))
                    }
                };
                let Some(records) = decoded.records() else {
                    return Some(Err(format!(
                        "{}: batch at offset {} is compressed",
                        seg.display(),
                        batch.base_offset
                    )));
                };
                batch.values = records
                    .iter()
                    .map(|r| (batch.base_offset + r.offset_delta as i64, r.value.clone()))
                    .collect();
            }
            out.push(batch);
        }
    }
    Some(Ok(out))
}

/// Reads the partition logs of running brokers as they grow: each call
/// of [`Tail::new_batches`] reads only what was appended to a segment
/// since the last call (re-reading a segment from its start when its
/// last batch seen changed, i.e. the log was truncated), so sampling a
/// long run stays cheap.
#[derive(Debug, Default)]
pub struct Tail {
    read: BTreeMap<std::path::PathBuf, Segment>,
}

/// How far [`Tail`] read a segment file: the bytes of whole batches, and
/// the header of the last batch read with where it starts.
type Segment = (u64, Option<(u64, Vec<u8>)>);

impl Tail {
    /// The batches (headers only) appended to partition `partition` of
    /// `topic` in `dir` since the last call, or all of it after a
    /// truncation; a torn tail is left for the next call.
    pub fn new_batches(&mut self, dir: &Path, topic: &str, partition: i32) -> Vec<Batch> {
        use std::io::{Read, Seek, SeekFrom};
        let pdir = dir.join(format!("{topic}-{partition}"));
        let Ok(entries) = std::fs::read_dir(&pdir) else {
            return Vec::new();
        };
        let mut segments: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        segments.sort();
        let mut out = Vec::new();
        for seg in segments {
            let Ok(mut f) = std::fs::File::open(&seg) else {
                continue;
            };
            let (mut from, last) = self.read.get(&seg).cloned().unwrap_or((0, None));
            if let Some((at, head)) = &last {
                let mut now = vec![0; head.len()];
                let same = f.seek(SeekFrom::Start(*at)).is_ok()
                    && f.read_exact(&mut now).is_ok()
                    && now == *head;
                if !same {
                    from = 0;
                }
            }
            let mut rest = Vec::new();
            if f.seek(SeekFrom::Start(from)).is_err() || f.read_to_end(&mut rest).is_err() {
                continue;
            }
            let rest = Bytes::from(rest);
            let mut last = if from == 0 { None } else { last };
            let mut whole = from;
            for entry in batches(&rest) {
                let Ok(SetEntry::Batch(raw)) = entry else {
                    break;
                };
                let Some(b) = header(&raw) else {
                    break;
                };
                last = Some((from + raw.start as u64, raw.bytes[..61].to_vec()));
                whole = from + (raw.start + raw.bytes.len()) as u64;
                out.push(b);
            }
            self.read.insert(seg, (whole, last));
        }
        out
    }
}

/// Two different batches seen under one (partition, leader epoch, base
/// offset): the partition, then each batch with the broker it was seen on.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// The partition.
    pub partition: i32,
    /// The batch seen first, and where.
    pub first: (Batch, i32),
    /// The other batch, and where.
    pub then: (Batch, i32),
}

/// Every (partition, leader epoch, base offset) seen in any replica's
/// log at any time, with the batch seen there first. A leader appends
/// a given offset at most once in its epoch and followers copy it byte
/// for byte, so a second, different batch under the same key means two
/// brokers accepted writes as leader of one partition in one epoch (or a
/// follower stored something its leader never wrote).
#[derive(Debug, Default)]
pub struct EpochLedger {
    seen: BTreeMap<(i32, i32, i64), (Batch, i32)>,
    /// Conflicts found (the first 20).
    pub conflicts: Vec<Conflict>,
    /// How many batch observations were compared.
    pub observations: u64,
}

impl EpochLedger {
    /// Records what `broker` stores for `partition` now.
    pub fn observe(&mut self, broker: i32, partition: i32, log: &[Batch]) {
        for b in log {
            self.observations += 1;
            let key = (partition, b.leader_epoch, b.base_offset);
            let mut plain = b.clone();
            plain.values.clear();
            match self.seen.get(&key) {
                None => {
                    self.seen.insert(key, (plain, broker));
                }
                Some((first, _)) if *first == plain => {}
                Some(first) => {
                    if self.conflicts.len() < 20 {
                        self.conflicts.push(Conflict {
                            partition,
                            first: first.clone(),
                            then: (plain, broker),
                        });
                    }
                }
            }
        }
    }

    /// How many distinct (partition, epoch, offset) batches were seen.
    pub fn distinct(&self) -> usize {
        self.seen.len()
    }

    /// How many distinct (partition, epoch) pairs were seen.
    pub fn epochs(&self) -> usize {
        let mut e: Vec<(i32, i32)> = self.seen.keys().map(|(p, e, _)| (*p, *e)).collect();
        e.dedup();
        e.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(epoch: i32, base: i64, crc: u32) -> Batch {
        Batch {
            base_offset: base,
            last_offset: base,
            leader_epoch: epoch,
            crc,
            producer: (7, 0),
            values: Vec::new(),
        }
    }

    #[test]
    fn the_ledger_flags_two_batches_under_one_epoch_and_offset() {
        let mut l = EpochLedger::default();
        l.observe(1, 0, &[batch(3, 0, 11), batch(3, 1, 12)]);
        // A follower's copy, and later a new epoch over a truncated tail.
        l.observe(2, 0, &[batch(3, 0, 11)]);
        l.observe(2, 0, &[batch(3, 0, 11), batch(4, 1, 13)]);
        assert!(l.conflicts.is_empty(), "{:?}", l.conflicts);
        // Another broker wrote offset 1 in epoch 3 as well.
        l.observe(3, 0, &[batch(3, 0, 11), batch(3, 1, 99)]);
        assert_eq!(l.conflicts.len(), 1);
        assert_eq!((l.distinct(), l.epochs()), (3, 2));
    }
}
