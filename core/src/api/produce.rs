//! Produce (key 0): append record batches to partitions.
//!
//! # Wire
//!
//! Request: transactional id (v3+), acks, timeout, topics by name (v0-12)
//! or id (v13+), each partition's record set. Response per partition:
//! error, base offset, log append time (v2+), log start offset (v5+),
//! record errors and message (v8+).
//!
//! # Versions
//!
//! 0-13. v0-2 carry legacy message sets (magic 0/1), converted to v2
//! batches on append; v3+ carry v2 batches. Each batch is validated (sizes,
//! magic, CRC, record count, offsets) and gets its offsets by rewriting
//! base offset and leader epoch in place. acks=0 gets no response at all.
//!
//! Batches with a producer id then go through the idempotence checks of
//! [`crate::state::producers`]: a retried batch is answered with its
//! original offsets and not appended again; an old epoch gets
//! INVALID_PRODUCER_EPOCH and a sequence gap OUT_OF_ORDER_SEQUENCE_NUMBER,
//! with no error message (Kafka sends none for them).

use crate::protocol::messages::produce_request::{PartitionProduceData, ProduceRequest};
use crate::protocol::messages::produce_response::{
    PartitionProduceResponse, ProduceResponse, TopicProduceResponse,
};
use crate::protocol::{ErrorCode, Records, ResponseBody};
use crate::records::validate::{validate_and_assign, AppendContext};
use crate::records::TimestampType;
use crate::state::cluster::Cluster;
use crate::state::producers::{BatchMetadata, Producers, Verdict};
use crate::state::Now;
use crate::storage::{BatchMeta, Storage, TopicPartition};

use super::{Ctx, Handled, Reply};

/// Runs a Produce request; the partitions that got records are reported
/// so that fetches waiting on them are answered.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    cluster: &Cluster,
    storage: &mut S,
    producers: &mut Producers,
    req: ProduceRequest,
) -> Handled {
    let v = ctx.version;
    let acks_ok = matches!(req.acks, -1..=1);
    let mut appended = Vec::new();
    let responses = req
        .topic_data
        .iter()
        .map(|t| {
            let name = if v >= 13 {
                cluster.by_id.get(&t.topic_id).cloned()
            } else {
                Some(t.name.to_string())
            };
            let partitions = t
                .partition_data
                .iter()
                .map(|p| {
                    if !acks_ok {
                        return error(p.index, ErrorCode::INVALID_REQUIRED_ACKS, None);
                    }
                    match &name {
                        Some(n) => {
                            let r = append(cluster, storage, producers, n, p, v, ctx.now);
                            if r.error_code == 0 {
                                appended.push(TopicPartition::new(n.as_str(), p.index));
                            }
                            r
                        }
                        None => error(p.index, ErrorCode::UNKNOWN_TOPIC_ID, None),
                    }
                })
                .collect();
            TopicProduceResponse {
                name: t.name.clone(),
                topic_id: t.topic_id,
                partition_responses: partitions,
                ..Default::default()
            }
        })
        .collect();
    let reply = if req.acks == 0 {
        Reply::NoResponse
    } else {
        Reply::Response(ResponseBody::Produce(ProduceResponse {
            responses,
            throttle_time_ms: 0,
            ..Default::default()
        }))
    };
    Handled {
        appended,
        ..Handled::reply(reply)
    }
}

fn error(index: i32, code: ErrorCode, msg: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse {
        index,
        error_code: code.code(),
        base_offset: -1,
        log_append_time_ms: -1,
        log_start_offset: -1,
        error_message: msg.map(Into::into),
        ..Default::default()
    }
}

/// The answer to a retried batch already in the log: no error, its
/// original offsets, and (as Kafka answers a duplicate, whatever the
/// topic's timestamp type) its stored max timestamp as the append time.
fn duplicate(index: i32, d: &BatchMetadata, log_start_offset: i64) -> PartitionProduceResponse {
    PartitionProduceResponse {
        index,
        error_code: 0,
        base_offset: d.first_offset,
        log_append_time_ms: d.timestamp,
        log_start_offset,
        ..Default::default()
    }
}

/// Validates and appends one partition's record set.
fn append<S: Storage>(
    cluster: &Cluster,
    storage: &mut S,
    producers: &mut Producers,
    topic: &str,
    p: &PartitionProduceData,
    version: i16,
    now: Now,
) -> PartitionProduceResponse {
    let Some(t) = cluster.topics.get(topic) else {
        return error(p.index, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None);
    };
    if p.index < 0 || p.index as usize >= t.partitions.len() {
        return error(p.index, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None);
    }
    let leader_epoch = t.partitions[p.index as usize];
    let producer_key = (t.id, p.index);
    let tp = TopicPartition::new(topic, p.index);
    let config = &t.config;
    let log_append = config.timestamp_type == TimestampType::LogAppendTime;
    let set = p
        .records
        .as_ref()
        .map(Records::to_bytes)
        .unwrap_or_default();
    let actx = AppendContext {
        next_offset: storage.end_offset(&tp),
        leader_epoch,
        now_ms: now,
        timestamp_type: config.timestamp_type,
        max_message_bytes: config.max_message_bytes,
        produce_version: version,
        compression: config.compression,
        timestamp_before_max_ms: config.timestamp_before_max_ms,
        timestamp_after_max_ms: config.timestamp_after_max_ms,
        compacted: config.cleanup_policy.compact,
        ..AppendContext::default()
    };
    let out = match validate_and_assign(&set, &actx) {
        Ok(out) => out,
        Err(e) => return error(p.index, ErrorCode(e.error_code()), Some(e.to_string())),
    };
    // Idempotence is checked after validation and before the append, as Kafka does.
    let update = match producers.check(producer_key, &out.batches) {
        Verdict::Append(update) => update,
        Verdict::Duplicate(d) => return duplicate(p.index, &d, storage.start_offset(&tp)),
        Verdict::Reject(code) => return error(p.index, code, None),
    };
    for batch in &out.batches {
        let meta = BatchMeta {
            base_offset: batch.base_offset,
            last_offset: batch.last_offset,
            max_timestamp: batch.max_timestamp,
        };
        if storage.append(&tp, batch.bytes.clone(), meta).is_err() {
            return error(p.index, ErrorCode::KAFKA_STORAGE_ERROR, None);
        }
    }
    producers.commit(producer_key, update);
    PartitionProduceResponse {
        index: p.index,
        error_code: 0,
        base_offset: out.base_offset,
        log_append_time_ms: if log_append { now } else { -1 },
        log_start_offset: storage.start_offset(&tp),
        ..Default::default()
    }
}
