//! Reading one partition for a Fetch (Kafka's `ReplicaManager.readFromLog`
//! and `Partition.fetchRecords`), and shaping the answer for old versions.
//!
//! Consumers read up to the high watermark (read_committed: the last
//! stable offset); a follower of a partition led here reads up to the log
//! end, whatever its isolation level, and learns the high watermark from
//! the answer.

use bytes::Bytes;

use crate::protocol::messages::fetch_response::{LeaderIdAndEpoch, PartitionData};
use crate::protocol::{ErrorCode, Records, Uuid};
use crate::records::validate::down_convert;
use crate::records::{Compression, CompressionTarget, LOG_OVERHEAD};
use crate::state::cluster::Cluster;
use crate::state::fetch_sessions::CachedPartition;
use crate::state::isolation::{aborted_transactions, last_stable_offset};
use crate::state::leadership::Lead;
use crate::state::producers::Producers;
use crate::state::Config;
use crate::storage::{Storage, TopicPartition};

/// What the whole request asks of every partition read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Params {
    pub version: i16,
    /// The replica id is >= 0: a follower.
    pub follower: bool,
    /// The replica id (-1: a consumer).
    pub replica: i32,
    /// read_committed (v4+, isolation level 1).
    pub committed: bool,
}

/// The request's byte budget as partitions are read in order.
#[derive(Debug)]
pub(super) struct Limits {
    remaining: usize,
    read: usize,
    /// Until a partition returns records, its first batch is returned
    /// whole whatever the limits (KIP-74).
    min_one: bool,
}

impl Limits {
    pub fn new(max_bytes: usize) -> Self {
        Limits {
            remaining: max_bytes,
            read: 0,
            min_one: true,
        }
    }

    /// Record bytes read so far (before any down-conversion).
    pub fn bytes_read(&self) -> usize {
        self.read
    }
}

/// The topic name of a partition that can be read, or the error it is
/// answered with without reading (Kafka's "erroneous" partitions).
pub(super) fn check<'a>(
    cluster: &Cluster,
    want: &'a CachedPartition,
) -> Result<&'a str, ErrorCode> {
    let Some(name) = want.topic.as_deref() else {
        return Err(ErrorCode::UNKNOWN_TOPIC_ID);
    };
    let exists = cluster
        .topics
        .get(name)
        .is_some_and(|t| t.has_partition(want.partition));
    if exists {
        Ok(name)
    } else {
        Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
    }
}

/// The answer for a partition that was not read (Kafka's
/// `FetchResponse.partitionResponse`): the aborted-transactions list is
/// empty rather than null.
pub(super) fn unknown(partition: i32, code: ErrorCode) -> PartitionData {
    PartitionData {
        partition_index: partition,
        error_code: code.code(),
        high_watermark: -1,
        last_stable_offset: -1,
        log_start_offset: -1,
        aborted_transactions: Some(Vec::new()),
        preferred_read_replica: -1,
        records: Some(Records::new()),
        ..Default::default()
    }
}

/// The answer for a partition whose read failed: offsets unknown, no
/// aborted-transactions list.
fn failed(partition: i32, code: ErrorCode) -> PartitionData {
    PartitionData {
        aborted_transactions: None,
        ..unknown(partition, code)
    }
}

/// Reads `want` of `topic` (which exists) within `limits`.
pub(super) fn partition<S: Storage>(
    config: &Config,
    (cluster, storage, producers): (&Cluster, &S, &Producers),
    want: &CachedPartition,
    topic: &str,
    params: &Params,
    limits: &mut Limits,
) -> PartitionData {
    let p = want.partition;
    let Some(t) = cluster.topics.get(topic) else {
        return unknown(p, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    };
    let (leader, leader_epoch, hosted) = match cluster.lead_in(t, p) {
        Lead::Here(epoch) => (config.node_id, epoch, true),
        Lead::Elsewhere {
            leader,
            leader_epoch,
        } => {
            let tp = TopicPartition::new(topic, p);
            let hosted = cluster.leadership.hosted(&tp).is_some();
            (leader, leader_epoch, hosted)
        }
        Lead::Unknown => return unknown(p, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
    };
    // v16+ errors that send a client looking for the leader say who it is
    // (KIP-951).
    let not_leader = |code: ErrorCode| PartitionData {
        current_leader: if params.version >= 16 {
            LeaderIdAndEpoch {
                leader_id: leader,
                leader_epoch,
                ..Default::default()
            }
        } else {
            LeaderIdAndEpoch::default()
        },
        ..failed(p, code)
    };
    if want.topic_id != Uuid::ZERO && want.topic_id != t.id {
        // A session partition whose topic was deleted and created again.
        return failed(p, ErrorCode::INCONSISTENT_TOPIC_ID);
    }
    // A replica held here checks the client's epoch first; a partition
    // this broker holds no replica of is only "not here".
    if hosted && want.current_leader_epoch != -1 {
        if want.current_leader_epoch < leader_epoch {
            return not_leader(ErrorCode::FENCED_LEADER_EPOCH);
        }
        if want.current_leader_epoch > leader_epoch {
            return failed(p, ErrorCode::UNKNOWN_LEADER_EPOCH);
        }
    }
    if leader != config.node_id {
        return not_leader(ErrorCode::NOT_LEADER_OR_FOLLOWER);
    }
    let tp = TopicPartition::new(topic, p);
    let assigned = cluster
        .leadership
        .leader_log(&tp)
        .is_some_and(|l| l.is_follower(params.replica));
    if params.follower && !assigned {
        // Only the other replicas in the assignment of a partition led
        // here may fetch as followers (a single broker's partitions have
        // none). Kafka's `followerReplicaOrThrow`.
        return if want.current_leader_epoch != -1 {
            failed(p, ErrorCode::UNKNOWN_LEADER_EPOCH)
        } else {
            not_leader(ErrorCode::NOT_LEADER_OR_FOLLOWER)
        };
    }
    let start = storage.start_offset(&tp);
    let end = storage.end_offset(&tp);
    let hw = cluster.high_watermark(storage, &tp);
    let lso = last_stable_offset(storage, cluster, producers, &tp);
    if want.fetch_offset < start || want.fetch_offset > end {
        return failed(p, ErrorCode::OFFSET_OUT_OF_RANGE);
    }
    let mut out = PartitionData {
        partition_index: p,
        error_code: 0,
        high_watermark: hw,
        last_stable_offset: lso,
        log_start_offset: start,
        aborted_transactions: (params.committed && !params.follower).then(Vec::new),
        preferred_read_replica: -1,
        records: Some(Records::new()),
        ..Default::default()
    };
    // A follower copies the whole log; consumers read what is committed
    // (the high watermark), or stable (read_committed).
    let upto = if params.follower {
        end
    } else if params.committed {
        lso
    } else {
        hw
    };
    let room = limits.remaining.min(want.max_bytes.max(0) as usize);
    if want.fetch_offset >= upto || (room == 0 && !limits.min_one) {
        return out;
    }
    match storage.read(&tp, want.fetch_offset, room.max(1)) {
        Ok(chunks) => {
            let taken = take_batches(chunks, room, limits.min_one, upto);
            if taken.bytes > 0 {
                limits.min_one = false;
                limits.read += taken.bytes;
                limits.remaining = limits.remaining.saturating_sub(taken.bytes);
                if params.committed && !params.follower {
                    out.aborted_transactions = Some(aborted_transactions(
                        cluster,
                        producers,
                        &tp,
                        want.fetch_offset,
                        taken.next_offset,
                    ));
                }
            }
            out.records = Some(Records::from_chunks(taken.chunks));
            out
        }
        Err(_) => failed(
            p,
            if params.version <= 5 {
                // Clients before v6 do not retry KAFKA_STORAGE_ERROR.
                ErrorCode::NOT_LEADER_OR_FOLLOWER
            } else {
                ErrorCode::KAFKA_STORAGE_ERROR
            },
        ),
    }
}

/// Whole batches taken from what storage handed out.
#[derive(Debug, Default)]
struct Taken {
    chunks: Vec<Bytes>,
    bytes: usize,
    /// One past the last offset taken.
    next_offset: i64,
}

/// Whole batches from `chunks` (slices, not copies): stops before the first
/// batch that starts at or past `upto` and before the one that would go
/// past `max` bytes, except that with `first_whole` the first batch is
/// taken whatever its size. A partial batch ends the walk.
fn take_batches(chunks: Vec<Bytes>, max: usize, first_whole: bool, upto: i64) -> Taken {
    let mut out = Taken::default();
    for c in chunks {
        let mut at = 0;
        let mut stop = false;
        while let Some(head) = c.get(at..at + LOG_OVERHEAD) {
            let base = i64::from_be_bytes(head[..8].try_into().unwrap_or_default());
            let len = i32::from_be_bytes(head[8..12].try_into().unwrap_or_default());
            let size = LOG_OVERHEAD.saturating_add(len.max(0) as usize);
            let fits = out.bytes.saturating_add(size) <= max || (first_whole && out.bytes == 0);
            if at.saturating_add(size) > c.len() || base >= upto || !fits {
                stop = true;
                break;
            }
            out.next_offset = last_offset(&c[at..at + size], base) + 1;
            out.bytes += size;
            at += size;
        }
        if at > 0 {
            out.chunks.push(c.slice(..at));
        }
        if stop || at < c.len() {
            break;
        }
    }
    out
}

/// The last offset of one stored batch: base offset plus last offset delta
/// for a v2 batch; a legacy entry's offset is its last already.
fn last_offset(batch: &[u8], base: i64) -> i64 {
    const MAGIC: usize = 16;
    const LAST_DELTA: usize = 23;
    match (batch.get(MAGIC), batch.get(LAST_DELTA..LAST_DELTA + 4)) {
        (Some(2), Some(d)) => base.wrapping_add(i64::from(i32::from_be_bytes(
            d.try_into().unwrap_or_default(),
        ))),
        _ => base,
    }
}

/// Shapes an answer for clients of `version`, after the session has seen
/// it (as Kafka's `maybeConvertFetchedData` does): v0-9 are refused a
/// zstd topic; v0-3 get their records down-converted to magic 0 (v0-1)
/// or 1 (v2-3), starting at the fetch offset. Down-conversion builds a new
/// buffer: it is the one path where record data is copied.
pub(super) fn for_version(
    cluster: &Cluster,
    want: &CachedPartition,
    mut data: PartitionData,
    version: i16,
) -> PartitionData {
    let zstd = CompressionTarget::Codec(Compression::Zstd);
    let topic = want.topic.as_deref().and_then(|t| cluster.topics.get(t));
    if version < 10 && topic.is_some_and(|t| t.config.compression == zstd) {
        return unknown(
            data.partition_index,
            ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
        );
    }
    if version > 3 {
        return data;
    }
    let Some(records) = data.records.as_ref().filter(|r| !r.is_empty()) else {
        return data;
    };
    let chunks: Vec<Bytes> = records.chunks().cloned().collect();
    let magic = if version <= 1 { 0 } else { 1 };
    match down_convert(&chunks, magic) {
        Ok(set) => data.records = Some(Records::from(from_offset(set, want.fetch_offset))),
        Err(e) => {
            data.error_code = e.error_code();
            data.records = Some(Records::new());
        }
    }
    data
}

/// The legacy message set `set` without its leading messages below
/// `offset` (those of the first batch that precede the fetch offset), as
/// Kafka's down-conversion leaves them out.
fn from_offset(set: Bytes, offset: i64) -> Bytes {
    let mut at = 0;
    while let Some(head) = set.get(at..at + LOG_OVERHEAD) {
        let o = i64::from_be_bytes(head[..8].try_into().unwrap_or_default());
        if o >= offset {
            break;
        }
        let size = i32::from_be_bytes(head[8..12].try_into().unwrap_or_default());
        at = at.saturating_add(LOG_OVERHEAD.saturating_add(size.max(0) as usize));
    }
    set.slice(at.min(set.len())..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Record, RecordBatchBuilder};

    fn batch(base: i64, n: i32) -> Bytes {
        let mut b = RecordBatchBuilder::new(base, 0);
        for i in 0..n {
            b = b.record(Record::new(i, 0, None, Some(Bytes::from_static(b"v"))));
        }
        b.build().unwrap()
    }

    #[test]
    fn takes_whole_batches_within_limits() {
        let (a, b2, c) = (batch(0, 2), batch(2, 3), batch(5, 1));
        let joined: Bytes = [a.clone(), b2.clone()].concat().into();
        let chunks = vec![joined, c.clone()];
        let all = take_batches(chunks.clone(), usize::MAX, true, i64::MAX);
        assert_eq!(all.bytes, a.len() + b2.len() + c.len());
        assert_eq!(all.next_offset, 6);
        assert_eq!(all.chunks.len(), 2);
        // The first batch is whole even over the limit; then limits hold.
        let one = take_batches(chunks.clone(), 1, true, i64::MAX);
        assert_eq!((one.bytes, one.next_offset), (a.len(), 2));
        assert_eq!(take_batches(chunks.clone(), 1, false, i64::MAX).bytes, 0);
        // Nothing at or past `upto`.
        let below = take_batches(chunks, usize::MAX, true, 5);
        assert_eq!((below.bytes, below.next_offset), (a.len() + b2.len(), 5));
    }

    #[test]
    fn skips_legacy_messages_below_the_fetch_offset() {
        let set = down_convert(&[batch(10, 3)], 1).unwrap();
        let rest = from_offset(set.clone(), 11);
        let msgs = crate::records::decode_message_set(&rest).unwrap();
        assert_eq!(
            msgs.iter().map(|m| m.offset).collect::<Vec<_>>(),
            vec![11, 12]
        );
        assert!(from_offset(set, 99).is_empty());
    }
}
