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
//! [`crate::broker::producers`]: a retried batch is answered with its
//! original offsets and not appended again; an old epoch gets
//! INVALID_PRODUCER_EPOCH and a sequence gap OUT_OF_ORDER_SEQUENCE_NUMBER,
//! with no error message (Kafka sends none for them).

use crate::broker::producers::{BatchMetadata, Verdict};
use crate::broker::{Broker, Now};
use crate::protocol::messages::produce_request::{PartitionProduceData, ProduceRequest};
use crate::protocol::messages::produce_response::{
    PartitionProduceResponse, ProduceResponse, TopicProduceResponse,
};
use crate::protocol::{ErrorCode, Records, ResponseBody};
use crate::records::validate::{validate_and_assign, AppendContext, CompressionTarget};
use crate::records::TimestampType;
use crate::storage::{BatchMeta, Storage, TopicPartition};

use super::{Ctx, Reply};

pub(crate) fn handle<S: Storage>(b: &mut Broker<S>, ctx: &Ctx, req: ProduceRequest) -> Reply {
    let v = ctx.version;
    let acks_ok = matches!(req.acks, -1..=1);
    let mut appended = false;
    let responses = req
        .topic_data
        .iter()
        .map(|t| {
            let name = if v >= 13 {
                b.cluster.by_id.get(&t.topic_id).cloned()
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
                            let r = append(b, n, p, v, ctx.now);
                            appended |= r.error_code == 0;
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
    if appended {
        b.wake_parked(ctx.now);
    }
    if req.acks == 0 {
        return Reply::NoResponse;
    }
    Reply::Response(ResponseBody::Produce(ProduceResponse {
        responses,
        throttle_time_ms: 0,
        ..Default::default()
    }))
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
    b: &mut Broker<S>,
    topic: &str,
    p: &PartitionProduceData,
    version: i16,
    now: Now,
) -> PartitionProduceResponse {
    let Some(t) = b.cluster.topics.get(topic) else {
        return error(p.index, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None);
    };
    if p.index < 0 || p.index as usize >= t.partitions.len() {
        return error(p.index, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None);
    }
    let leader_epoch = t.partitions[p.index as usize];
    let producer_key = (t.id, p.index);
    let tp = TopicPartition::new(topic, p.index);
    let log_append =
        b.topic_config(topic, "message.timestamp.type").as_deref() == Some("LogAppendTime");
    let max_message_bytes = b
        .topic_config(topic, "max.message.bytes")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(b.config.message_max_bytes.max(0) as usize);
    let set = p
        .records
        .as_ref()
        .map(Records::to_bytes)
        .unwrap_or_default();
    let long = |name: &str| {
        b.topic_config(topic, name)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(i64::MAX)
    };
    let actx = AppendContext {
        next_offset: b.storage.end_offset(&tp),
        leader_epoch,
        now_ms: now,
        timestamp_type: if log_append {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        },
        max_message_bytes,
        produce_version: version,
        compression: b
            .topic_config(topic, "compression.type")
            .and_then(|v| CompressionTarget::from_config(&v))
            .unwrap_or_default(),
        timestamp_before_max_ms: long("message.timestamp.before.max.ms"),
        timestamp_after_max_ms: long("message.timestamp.after.max.ms"),
        compacted: b
            .topic_config(topic, "cleanup.policy")
            .is_some_and(|p| p.contains("compact")),
        ..AppendContext::default()
    };
    let out = match validate_and_assign(&set, &actx) {
        Ok(out) => out,
        Err(e) => return error(p.index, ErrorCode(e.error_code()), Some(e.to_string())),
    };
    // Idempotence is checked after validation and before the append, as Kafka does.
    let update = match b.producers.check(producer_key, &out.batches) {
        Verdict::Append(update) => update,
        Verdict::Duplicate(d) => return duplicate(p.index, &d, b.storage.start_offset(&tp)),
        Verdict::Reject(code) => return error(p.index, code, None),
    };
    for batch in &out.batches {
        let meta = BatchMeta {
            base_offset: batch.base_offset,
            last_offset: batch.last_offset,
            max_timestamp: batch.max_timestamp,
        };
        if b.storage.append(&tp, batch.bytes.clone(), meta).is_err() {
            return error(p.index, ErrorCode::KAFKA_STORAGE_ERROR, None);
        }
    }
    b.producers.commit(producer_key, update);
    PartitionProduceResponse {
        index: p.index,
        error_code: 0,
        base_offset: out.base_offset,
        log_append_time_ms: if log_append { now } else { -1 },
        log_start_offset: b.storage.start_offset(&tp),
        ..Default::default()
    }
}
