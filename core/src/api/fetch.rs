//! Fetch (key 1): read record batches from partitions, waiting up to
//! `max_wait_ms` for at least `min_bytes`.
//!
//! # Wire
//!
//! Request: replica id (-1 for consumers), max wait, min bytes, max bytes
//! (v3+), isolation level (v4+), fetch session id and epoch (v7+), topics by
//! name (v0-12) or id (v13+) with partitions (fetch offset, log start
//! offset (v5+), partition max bytes), forgotten topics (v7+), rack id (v11+).
//! Response per partition: error, high watermark, last stable offset (v4+),
//! log start offset (v5+), aborted transactions (v4+), preferred read
//! replica (v11+, always -1 here), records.
//!
//! # Versions
//!
//! 0-18. Records are whole stored batches, starting with the batch that
//! holds the fetch offset. `max_bytes` and each partition's max bytes are
//! honoured, except that the first batch found is always returned whole so
//! that a consumer can make progress (KIP-74). When fewer than `min_bytes`
//! are available the request parks until a produce brings data or
//! `max_wait_ms` passes. Record data goes out as the chunks storage
//! handed over, never copied into the response.

use bytes::Bytes;

use crate::broker::Broker;
use crate::protocol::messages::fetch_request::FetchRequest;
use crate::protocol::messages::fetch_response::{
    FetchResponse, FetchableTopicResponse, PartitionData,
};
use crate::protocol::{ErrorCode, Records, RequestBody, ResponseBody};
use crate::storage::{Storage, TopicPartition};

use super::{Ctx, Reply};

pub(crate) fn handle<S: Storage>(b: &mut Broker<S>, ctx: &Ctx<'_>, req: FetchRequest) -> Reply {
    let v = ctx.version;
    let max_bytes = if v >= 3 {
        req.max_bytes.max(0) as usize
    } else {
        usize::MAX
    }
    .min(b.config.fetch_max_bytes.max(0) as usize);
    let mut total = 0usize;
    let mut errors = false;
    let mut responses = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let name = if v >= 13 {
            b.cluster.by_id.get(&t.topic_id).cloned()
        } else {
            Some(t.topic.to_string())
        };
        let topic = name.as_ref().and_then(|n| b.cluster.topics.get(n));
        let partitions = t
            .partitions
            .iter()
            .map(|p| {
                let mut out = PartitionData {
                    partition_index: p.partition,
                    high_watermark: -1,
                    last_stable_offset: -1,
                    log_start_offset: -1,
                    preferred_read_replica: -1,
                    records: Some(Records::new()),
                    ..Default::default()
                };
                let exists = topic.is_some_and(|t| {
                    p.partition >= 0 && (p.partition as usize) < t.partitions.len()
                });
                if !exists {
                    errors = true;
                    out.error_code = if v >= 13 && topic.is_none() {
                        ErrorCode::UNKNOWN_TOPIC_ID
                    } else {
                        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                    }
                    .code();
                    return out;
                }
                let tp = TopicPartition::new(name.clone().unwrap_or_default(), p.partition);
                let start = b.storage.start_offset(&tp);
                let end = b.storage.end_offset(&tp);
                out.high_watermark = end;
                out.last_stable_offset = end;
                out.log_start_offset = start;
                if p.fetch_offset < start || p.fetch_offset > end {
                    errors = true;
                    out.error_code = ErrorCode::OFFSET_OUT_OF_RANGE.code();
                    return out;
                }
                let room = max_bytes.saturating_sub(total);
                let part_max = (p.partition_max_bytes.max(0) as usize).min(room);
                // KIP-74: the first batch of the response is returned whole.
                let want = if total == 0 {
                    part_max.max(1)
                } else {
                    part_max
                };
                if want == 0 || p.fetch_offset == end {
                    return out;
                }
                match b.storage.read(&tp, p.fetch_offset, want) {
                    Ok(chunks) => {
                        let chunks = if total == 0 {
                            chunks
                        } else {
                            fit(chunks, part_max)
                        };
                        let n: usize = chunks.iter().map(Bytes::len).sum();
                        total += n;
                        out.records = Some(Records::from_chunks(chunks));
                    }
                    Err(_) => out.error_code = ErrorCode::KAFKA_STORAGE_ERROR.code(),
                }
                out
            })
            .collect();
        responses.push(FetchableTopicResponse {
            topic: t.topic.clone(),
            topic_id: t.topic_id,
            partitions,
            ..Default::default()
        });
    }
    let enough = errors || total >= req.min_bytes.max(0) as usize;
    if !enough && req.max_wait_ms > 0 && !ctx.deadline_passed {
        let deadline = ctx.deadline.unwrap_or(ctx.now + i64::from(req.max_wait_ms));
        if ctx.now < deadline {
            return Reply::Park {
                body: RequestBody::Fetch(req),
                deadline,
            };
        }
    }
    Reply::Response(ResponseBody::Fetch(FetchResponse {
        throttle_time_ms: 0,
        error_code: 0,
        session_id: 0,
        responses,
        ..Default::default()
    }))
}

/// The leading chunks whose total stays within `max` bytes.
fn fit(chunks: Vec<Bytes>, max: usize) -> Vec<Bytes> {
    let mut total = 0;
    chunks
        .into_iter()
        .take_while(|c| {
            total += c.len();
            total <= max
        })
        .collect()
}
