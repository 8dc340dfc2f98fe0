//! Produce v0-2: legacy messages (magic 0 and 1, compressed wrappers
//! included) converted to one v2 batch.

use bytes::Bytes;

use super::super::batch::ATTR_LOG_APPEND_TIME;
use super::super::compression::decompress;
use super::super::legacy::LegacyMessage;
use super::super::set::RawBatch;
use super::super::{BatchHeader, Compression, Record, TimestampType};
use super::{
    build_batch, check_record, corrupt, from_codec, invalid, put, refused, seal, AppendContext,
    AppendError, AppendedBatch, CompressionTarget,
};
use crate::protocol::wire::Reader;

/// One message of a legacy set, flattened out of its wrapper.
struct LegacyRecord {
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    /// The message (or its wrapper) says LogAppendTime.
    log_append: bool,
}

/// The messages inside a compressed legacy wrapper, in order.
pub(crate) fn unwrap_legacy(
    wrapper: &LegacyMessage,
    max_out: usize,
) -> Result<Vec<LegacyMessage>, AppendError> {
    let codec = wrapper
        .compression()
        .ok_or_else(|| corrupt("undefined codec"))?;
    let value = wrapper
        .value
        .as_ref()
        .ok_or_else(|| invalid(None, "compressed message has a null value"))?;
    let inner = decompress(codec, value, max_out).map_err(from_codec)?;
    let mut r = Reader::new(&inner);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let m = LegacyMessage::read(&mut r).map_err(|e| corrupt(format!("inner message: {e}")))?;
        let i = out.len();
        if m.magic != wrapper.magic {
            return Err(invalid(
                Some(i),
                "inner message magic differs from its wrapper's",
            ));
        }
        if m.is_compressed() {
            return Err(invalid(
                Some(i),
                "compressed message nested in a compressed message",
            ));
        }
        out.push(m);
    }
    Ok(out)
}

pub(super) fn append_legacy(
    entries: &[RawBatch],
    ctx: &AppendContext,
) -> Result<AppendedBatch, AppendError> {
    let mut records: Vec<LegacyRecord> = Vec::new();
    let mut source = Compression::None;
    for raw in entries {
        let mut r = Reader::new(&raw.bytes);
        let m = LegacyMessage::read(&mut r).map_err(corrupt)?;
        let flat = |m: LegacyMessage, log_append: bool, ts: Option<i64>| LegacyRecord {
            timestamp: ts.or(m.timestamp).unwrap_or(-1),
            key: m.key,
            value: m.value,
            log_append,
        };
        let lat = m.timestamp_type() == TimestampType::LogAppendTime;
        if m.is_compressed() {
            source = m.compression().unwrap_or(Compression::None);
            // Under a LogAppendTime wrapper, every inner message reads as
            // the wrapper's timestamp (as Kafka's deep iterator does).
            let ts = if lat { m.timestamp } else { None };
            for inner in unwrap_legacy(&m, ctx.max_decompressed_bytes)? {
                records.push(flat(inner, lat, ts));
            }
        } else {
            records.push(flat(m, lat, None));
        }
    }
    if records.is_empty() {
        return Err(invalid(None, "compressed message holds no messages"));
    }
    let mut max = (-1i64, 0usize);
    let mut errors = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if r.timestamp > max.0 {
            max = (r.timestamp, i);
        }
        errors.extend(check_record(
            ctx,
            i,
            r.key.is_some(),
            r.timestamp,
            r.log_append,
        ));
    }
    refused(errors)?;
    let codec = match ctx.compression {
        CompressionTarget::Producer => source,
        CompressionTarget::Codec(c) => c,
    };
    let lat = ctx.timestamp_type == TimestampType::LogAppendTime;
    let base_timestamp = records.first().map_or(-1, |r| r.timestamp);
    let n = i32::try_from(records.len()).map_err(|_| invalid(None, "too many records"))?;
    let v2: Vec<Record> = records
        .into_iter()
        .zip(0..n)
        .map(|(r, i)| Record::new(i, r.timestamp.wrapping_sub(base_timestamp), r.key, r.value))
        .collect();
    let header = BatchHeader {
        base_offset: ctx.next_offset,
        batch_length: 0,
        partition_leader_epoch: ctx.leader_epoch,
        magic: 2,
        crc: 0,
        attributes: i16::from(codec.id()) | if lat { ATTR_LOG_APPEND_TIME } else { 0 },
        last_offset_delta: 0,
        base_timestamp,
        max_timestamp: 0,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        records_count: 0,
    };
    let mut bytes = build_batch(&header, &v2, codec)?;
    let max_timestamp = if lat { ctx.now_ms } else { max.0 };
    if lat {
        put(&mut bytes, 35, &max_timestamp.to_be_bytes());
        seal(&mut bytes)?;
    }
    if bytes.len() > ctx.max_message_bytes {
        return Err(AppendError::TooLarge {
            size: bytes.len(),
            max: ctx.max_message_bytes,
        });
    }
    let offset_of_max_timestamp = if lat {
        ctx.next_offset
    } else if max_timestamp == -1 {
        -1
    } else {
        ctx.next_offset.saturating_add(max.1 as i64)
    };
    Ok(AppendedBatch {
        bytes: Bytes::from(bytes),
        base_offset: ctx.next_offset,
        last_offset: ctx.next_offset.saturating_add(i64::from(n) - 1),
        max_timestamp,
        offset_of_max_timestamp,
        record_count: n,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        last_sequence: -1,
        is_transactional: false,
    })
}
