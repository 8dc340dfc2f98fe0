//! ListOffsets (key 2): find offsets by time, or the log's first and last.
//!
//! # Wire
//!
//! Request: replica id, isolation level (v2+), topics with partitions
//! (index, current leader epoch (v4+), timestamp, max number of offsets
//! (v0 only)), timeout (v10+). Response: throttle time (v2+), and per
//! partition its index, error, old-style offsets (v0 only), timestamp and
//! offset (v1+), leader epoch (v4+).
//!
//! # Versions
//!
//! 0-10. The timestamp selects what is looked up:
//!
//! | timestamp | answer | from |
//! |---|---|---|
//! | -1 latest | the high watermark (read_committed: the last stable offset) | v0 |
//! | -2 earliest | the log start offset | v0 |
//! | -3 max timestamp | the first record with the largest timestamp | v7 |
//! | -4 earliest local | the log start offset (no tiered storage) | v8 |
//! | -5 latest tiered | offset -1, epoch -1 (no tiered storage) | v9 |
//! | t >= 0 | the first record at or after the log start with timestamp >= t | v0 |
//!
//! Any other negative timestamp, or one older than its version allows, is
//! UNSUPPORTED_VERSION for that partition (v0 allows only -1 and -2).
//! Nothing found is offset -1, timestamp -1, no error. From v1 a partition
//! named twice is INVALID_REQUEST; from v4 a current leader epoch other
//! than -1 is checked (older: FENCED_LEADER_EPOCH, newer:
//! UNKNOWN_LEADER_EPOCH).
//!
//! v0 answers with Kafka's legacy segment list, newest first: the log
//! seen as one segment (starting at the log start, last modified at its
//! newest batch's max timestamp) plus the log end stamped `now` when the
//! log holds data. -1 starts the list at the log end, -2 at the log start,
//! t at the last entry stamped at or before t; `max_num_offsets` caps it.
//!
//! Latest under read_committed (isolation level 1, v2+) is the last stable
//! offset: the first offset of the earliest open transaction, or the log
//! end when none is open. Lookups by timestamp are bounded the same way.
//!
//! # Leadership
//!
//! In ZooKeeper mode a partition this broker does not lead is
//! NOT_LEADER_OR_FOLLOWER ([`crate::state::cluster::Cluster::lead`]); a
//! single broker leads every partition it knows.
//!
//! With an authorizer a topic the caller may not DESCRIBE is
//! TOPIC_AUTHORIZATION_FAILED, as in Kafka.

use crate::collections::Map;

use crate::protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsRequest};
use crate::protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsResponse, ListOffsetsTopicResponse,
};
use crate::protocol::ErrorCode;
use crate::records::{
    decompress, BatchRecords, BatchView, Compression, RecordBatch, TimestampType,
};
use crate::state::cluster::Cluster;
use crate::state::isolation::last_stable_offset;
use crate::state::producers::Producers;
use crate::storage::{Storage, TopicPartition};

use super::authz::Checks;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// Latest offset.
const LATEST: i64 = -1;
/// Log start offset.
const EARLIEST: i64 = -2;
/// Offset of the record with the largest timestamp.
const MAX_TIMESTAMP: i64 = -3;
/// Local log start offset.
const EARLIEST_LOCAL: i64 = -4;
/// Highest offset in tiered storage.
const LATEST_TIERED: i64 = -5;
/// Bytes read from storage at a time while scanning batches.
const SCAN_BYTES: usize = 1 << 20;
/// Cap on a decompressed batch while scanning it.
const MAX_DECOMPRESSED: usize = 128 << 20;

/// A found record: (timestamp, offset, leader epoch or -1).
type Found = (i64, i64, i32);

/// Runs a ListOffsets request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    cluster: &Cluster,
    storage: &S,
    producers: &Producers,
    az: &Authorizer<'_>,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let v = ctx.version;
    let committed = v >= 2 && req.isolation_level == 1;
    let mut named: Map<(&str, i32), usize> = Map::new();
    for t in &req.topics {
        for p in &t.partitions {
            *named.entry((&*t.name, p.partition_index)).or_default() += 1;
        }
    }
    let topics = req
        .topics
        .iter()
        .map(|t| ListOffsetsTopicResponse {
            name: t.name.clone(),
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    // Kafka's check: DESCRIBE on the topic.
                    if !az.topic(Operation::Describe, &t.name) {
                        return error(p, ErrorCode::TOPIC_AUTHORIZATION_FAILED);
                    }
                    let twice = named
                        .get(&(&*t.name, p.partition_index))
                        .is_some_and(|n| *n > 1);
                    if v == 0 {
                        legacy(cluster, storage, &t.name, p, ctx.now)
                    } else if twice {
                        error(p, ErrorCode::INVALID_REQUEST)
                    } else {
                        let tp = TopicPartition::new(&*t.name, p.partition_index);
                        let end = if committed {
                            last_stable_offset(storage, cluster, producers, &tp)
                        } else {
                            cluster.high_watermark(storage, &tp)
                        };
                        lookup(cluster, storage, v, &t.name, p, end)
                    }
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    ListOffsetsResponse {
        throttle_time_ms: 0,
        topics,
        ..Default::default()
    }
}

/// A partition's answer carrying `code` and nothing found.
fn error(p: &ListOffsetsPartition, code: ErrorCode) -> ListOffsetsPartitionResponse {
    ListOffsetsPartitionResponse {
        partition_index: p.partition_index,
        error_code: code.code(),
        ..Default::default()
    }
}

/// The first version that knows a negative timestamp (`None`: no version does).
fn min_version(timestamp: i64) -> Option<i16> {
    match timestamp {
        LATEST | EARLIEST => Some(0),
        MAX_TIMESTAMP => Some(7),
        EARLIEST_LOCAL => Some(8),
        LATEST_TIERED => Some(9),
        _ => None,
    }
}

/// One partition, v1 and later.
fn lookup<S: Storage>(
    cluster: &Cluster,
    s: &S,
    v: i16,
    topic: &str,
    p: &ListOffsetsPartition,
    end: i64,
) -> ListOffsetsPartitionResponse {
    let ts = p.timestamp;
    if ts < 0 && min_version(ts).is_none_or(|min| v < min) {
        return error(p, ErrorCode::UNSUPPORTED_VERSION);
    }
    let epoch = match cluster.lead(topic, p.partition_index).here() {
        Ok(epoch) => epoch,
        Err(code) => return error(p, code),
    };
    // Absent before v4, where it decodes as -1.
    if p.current_leader_epoch != -1 && p.current_leader_epoch < epoch {
        return error(p, ErrorCode::FENCED_LEADER_EPOCH);
    }
    if p.current_leader_epoch > epoch {
        return error(p, ErrorCode::UNKNOWN_LEADER_EPOCH);
    }
    let tp = TopicPartition::new(topic, p.partition_index);
    let found: Result<Option<Found>, S::Error> = match ts {
        LATEST => Ok(Some((-1, end, epoch))),
        EARLIEST | EARLIEST_LOCAL => Ok(Some((-1, s.start_offset(&tp), epoch))),
        LATEST_TIERED => Ok(Some((-1, -1, -1))),
        MAX_TIMESTAMP => max_timestamp(s, &tp),
        _ => by_timestamp(s, &tp, ts).map(|f| f.filter(|f| f.1 < end)),
    };
    match found {
        Ok(Some((timestamp, offset, leader_epoch))) => ListOffsetsPartitionResponse {
            partition_index: p.partition_index,
            error_code: 0,
            timestamp,
            offset,
            leader_epoch: if v >= 4 { leader_epoch } else { -1 },
            ..Default::default()
        },
        Ok(None) => error(p, ErrorCode::NONE),
        Err(_) => error(p, ErrorCode::KAFKA_STORAGE_ERROR),
    }
}

/// One partition, v0: Kafka's legacy list of segment offsets.
fn legacy<S: Storage>(
    cluster: &Cluster,
    s: &S,
    topic: &str,
    p: &ListOffsetsPartition,
    now: i64,
) -> ListOffsetsPartitionResponse {
    if p.timestamp < EARLIEST {
        return error(p, ErrorCode::UNSUPPORTED_VERSION);
    }
    if let Err(code) = cluster.lead(topic, p.partition_index).here() {
        return error(p, code);
    }
    let tp = TopicPartition::new(topic, p.partition_index);
    let last_modified = s
        .segments(&tp)
        .iter()
        .filter(|sg| sg.bytes > 0)
        .map(|sg| sg.max_timestamp)
        .max()
        .unwrap_or(i64::MIN);
    let mut entries = vec![(s.start_offset(&tp), last_modified)];
    if s.size(&tp) > 0 {
        entries.push((s.end_offset(&tp), now));
    }
    // How many entries, from the oldest, the answer may draw on.
    let upto = match p.timestamp {
        LATEST => entries.len(),
        EARLIEST => 1,
        ts => entries
            .iter()
            .rposition(|&(_, at)| at <= ts)
            .map_or(0, |i| i + 1),
    };
    let offsets: Vec<i64> = entries
        .iter()
        .take(upto)
        .rev()
        .take(p.max_num_offsets.max(0) as usize)
        .map(|e| e.0)
        .collect();
    ListOffsetsPartitionResponse {
        partition_index: p.partition_index,
        error_code: 0,
        old_style_offsets: offsets.into(),
        ..Default::default()
    }
}

/// The first record whose timestamp equals the largest batch max
/// timestamp, in the first batch that has it.
fn max_timestamp<S: Storage>(s: &S, tp: &TopicPartition) -> Result<Option<Found>, S::Error> {
    // The segment holding the largest timestamp, from its first offset.
    let mut best: Option<(i64, i64)> = None;
    let start = s.start_offset(tp);
    for sg in s.segments(tp).iter().filter(|sg| sg.bytes > 0) {
        if best.is_none_or(|(_, max)| sg.max_timestamp > max) {
            best = Some((sg.base_offset.max(start), sg.max_timestamp));
        }
    }
    let Some((first, max)) = best else {
        return Ok(None);
    };
    scan(s, tp, first, |view| {
        if view.header.max_timestamp != max {
            return None;
        }
        let epoch = view.header.partition_leader_epoch.max(-1);
        record_times(view)
            .into_iter()
            .find(|&(_, t)| t == max)
            .map(|(o, t)| (t, o, epoch))
    })
}

/// The first record at or after the log start whose timestamp is at least `ts`.
fn by_timestamp<S: Storage>(
    s: &S,
    tp: &TopicPartition,
    ts: i64,
) -> Result<Option<Found>, S::Error> {
    let Some(from) = s.offset_for_timestamp(tp, ts)? else {
        return Ok(None);
    };
    let start = s.start_offset(tp);
    scan(s, tp, from, |view| {
        if view.header.max_timestamp < ts {
            return None;
        }
        let epoch = view.header.partition_leader_epoch.max(-1);
        record_times(view)
            .into_iter()
            .find(|&(o, t)| t >= ts && o >= start)
            .map(|(o, t)| (t, o, epoch))
    })
}

/// Walks the stored batches from the one holding `from` until `visit`
/// finds something (a batch that does not parse ends the walk).
fn scan<S: Storage, T>(
    s: &S,
    tp: &TopicPartition,
    from: i64,
    mut visit: impl FnMut(&BatchView<'_>) -> Option<T>,
) -> Result<Option<T>, S::Error> {
    let end = s.end_offset(tp);
    let mut at = from;
    while at < end {
        let chunks = s.read(tp, at, SCAN_BYTES)?;
        if chunks.is_empty() {
            break;
        }
        for chunk in &chunks {
            let Ok(view) = BatchView::parse(chunk, 0) else {
                return Ok(None);
            };
            let next = view.header.last_offset().saturating_add(1);
            if let Some(found) = visit(&view) {
                return Ok(Some(found));
            }
            if next <= at {
                return Ok(None);
            }
            at = next;
        }
    }
    Ok(None)
}

/// `(offset, timestamp)` of each record of a batch, decompressed if need be.
fn record_times(view: &BatchView<'_>) -> Vec<(i64, i64)> {
    if view.compression == Compression::None {
        return plain_record_times(view);
    }
    let Ok(records) = decompress(view.compression, view.payload, MAX_DECOMPRESSED) else {
        return Vec::new();
    };
    let mut header = view.header;
    header.attributes &= !7;
    let plain = RecordBatch {
        header,
        records: BatchRecords::Compressed {
            compression: Compression::None,
            payload: records,
        },
    };
    match plain.to_bytes() {
        Ok(bytes) => BatchView::parse(&bytes, 0)
            .map(|v| plain_record_times(&v))
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// `(offset, timestamp)` of each record of an uncompressed batch.
fn plain_record_times(view: &BatchView<'_>) -> Vec<(i64, i64)> {
    let h = &view.header;
    let log_append = h.timestamp_type() == TimestampType::LogAppendTime;
    view.records()
        .map_while(Result::ok)
        .map(|r| {
            let offset = h.base_offset.wrapping_add(i64::from(r.offset_delta));
            let ts = if log_append {
                h.max_timestamp
            } else {
                h.base_timestamp.wrapping_add(r.timestamp_delta)
            };
            (offset, ts)
        })
        .collect()
}
