//! The write path of one partition: a Produce request's record set checked
//! the way Kafka's `LogValidator` checks it, given offsets and the leader
//! epoch, and turned into the v2 batches the log stores. Pure functions:
//! the clock and the topic's settings come in as [`AppendContext`].
//!
//! What is checked, in Kafka's order, and the error each failure gets:
//!
//! | check | error |
//! |---|---|
//! | a batch cut short, a bad length or magic byte, a CRC mismatch, a payload that does not decompress | CORRUPT_MESSAGE (2) |
//! | a batch bigger than `max.message.bytes` (before or after conversion), or decompressing past [`AppendContext::max_decompressed_bytes`] | MESSAGE_TOO_LARGE (10) |
//! | Produce v3+: no batch, more than one, or magic 0/1; any version: more than one v2 batch or compressed legacy wrapper, mixed magic bytes | INVALID_RECORD (87) |
//! | v2: baseOffset not 0, lastOffsetDelta + 1 not the records count, count < 1, records that do not fill the batch exactly, a control batch, a producer id without a sequence | INVALID_RECORD (87) |
//! | a null key on a compacted topic, a nested wrapper inside a compressed legacy message | INVALID_RECORD (87) |
//! | codec bits 5-7, zstd before Produce v7 or in a legacy message | UNSUPPORTED_COMPRESSION_TYPE (76) |
//! | CreateTime outside `message.timestamp.before/after.max.ms`, a producer-set LogAppendTime | INVALID_TIMESTAMP (32) |
//!
//! Then, like Kafka: a v2 batch is kept byte for byte (baseOffset, epoch,
//! and maxTimestamp/timestamp type rewritten in place, CRC recomputed when
//! the CRC-covered part changed) unless its records' offset deltas are not
//! 0..n-1 or the topic asks for another codec, in which case it is rebuilt
//! with sequential deltas and recompressed. Legacy messages (Produce v0-2)
//! are converted to one v2 batch, compressed with the wrapper's codec.
//!
//! [`down_convert`] goes the other way for Fetch v0-3.
//!
//! # Where Spate differs from Kafka
//!
//! - A partial batch at the end of the set is CORRUPT_MESSAGE; Kafka trims
//!   it silently and appends the whole batches before it.
//! - An uncompressed v2 batch whose offset deltas are not 0..n-1 is rebuilt
//!   like a compressed one; Kafka stores it as sent.
//! - Codec bits 5-7 are UNSUPPORTED_COMPRESSION_TYPE; Kafka fails with
//!   UNKNOWN_SERVER_ERROR. zstd at Produce v0-2 is refused too (Kafka only
//!   checks v3-v6).
//! - Decompression is bounded ([`AppendContext::max_decompressed_bytes`]);
//!   past it the batch is MESSAGE_TOO_LARGE, which makes Java producers
//!   split the batch and retry.

use bytes::{Bytes, BytesMut};

use super::batch::{ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL, CRC_START};
use super::compression::{compress, decompress};
use super::set::{batches, RawBatch, SetEntry};
use super::{
    encode_records, BatchHeader, BatchRecords, BatchView, Compression, Record, RecordBatch,
    RecordsError, TimestampType, LOG_OVERHEAD, V2_HEADER_LEN,
};
use crate::protocol::error::DecodeError;

mod convert;
mod error;
mod legacy;
#[cfg(test)]
mod tests;

pub use convert::{down_convert, ConvertError};
use error::{corrupt, from_codec, invalid};
pub use error::{AppendError, RecordError};
use legacy::{append_legacy, unwrap_legacy};

/// What the topic's `compression.type` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompressionTarget {
    /// `producer`: keep the codec the producer used.
    #[default]
    Producer,
    /// Store with this codec (`uncompressed` is `Codec(Compression::None)`).
    Codec(Compression),
}

impl CompressionTarget {
    /// Parses a `compression.type` value: `producer`, `uncompressed` (or
    /// `none`), `gzip`, `snappy`, `lz4`, `zstd`.
    pub fn from_config(value: &str) -> Option<CompressionTarget> {
        Some(match value {
            "producer" => CompressionTarget::Producer,
            "uncompressed" | "none" => CompressionTarget::Codec(Compression::None),
            "gzip" => CompressionTarget::Codec(Compression::Gzip),
            "snappy" => CompressionTarget::Codec(Compression::Snappy),
            "lz4" => CompressionTarget::Codec(Compression::Lz4),
            "zstd" => CompressionTarget::Codec(Compression::Zstd),
            _ => return None,
        })
    }
}

/// Where and how a record set is appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendContext {
    /// The log end offset: the first record gets this offset.
    pub next_offset: i64,
    /// The leader epoch stamped on every stored batch.
    pub leader_epoch: i32,
    /// Now, in milliseconds since the epoch (LogAppendTime, timestamp bounds).
    pub now_ms: i64,
    /// The topic's `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// The topic's `max.message.bytes`: the largest batch, whole, in bytes.
    pub max_message_bytes: usize,
    /// Version of the Produce request that carried the set.
    pub produce_version: i16,
    /// The topic's `compression.type`.
    pub compression: CompressionTarget,
    /// `message.timestamp.before.max.ms`: how far in the past a CreateTime may be.
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`: how far in the future a CreateTime may be.
    pub timestamp_after_max_ms: i64,
    /// `cleanup.policy` includes `compact`: every record needs a key.
    pub compacted: bool,
    /// Most bytes one compressed batch may decompress to (a bomb guard).
    pub max_decompressed_bytes: usize,
}

impl Default for AppendContext {
    /// Offset 0, epoch 0, time 0, CreateTime, Kafka's default
    /// `message.max.bytes` (1048588), Produce v13, `producer` compression,
    /// no timestamp bounds, not compacted, 64 MiB decompressed at most.
    fn default() -> Self {
        AppendContext {
            next_offset: 0,
            leader_epoch: 0,
            now_ms: 0,
            timestamp_type: TimestampType::CreateTime,
            max_message_bytes: 1_048_588,
            produce_version: 13,
            compression: CompressionTarget::Producer,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
            compacted: false,
            max_decompressed_bytes: 64 << 20,
        }
    }
}

/// One batch to store, with what the log and the producer-state table
/// need to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendedBatch {
    /// The v2 batch, offsets assigned and CRC valid.
    pub bytes: Bytes,
    /// Offset of its first record.
    pub base_offset: i64,
    /// Offset of its last record.
    pub last_offset: i64,
    /// Its maxTimestamp field (the append time under LogAppendTime, -1 when
    /// no record has a timestamp).
    pub max_timestamp: i64,
    /// Offset of the first record holding `max_timestamp` (-1 if none).
    pub offset_of_max_timestamp: i64,
    /// Records in the batch.
    pub record_count: i32,
    /// Idempotent producer id, -1 for none.
    pub producer_id: i64,
    /// Producer epoch, -1 for none.
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 for none.
    pub base_sequence: i32,
    /// Sequence of the last record (wrapping past `i32::MAX` to 0), -1 for none.
    pub last_sequence: i32,
    /// Part of a transaction.
    pub is_transactional: bool,
}

/// The outcome of a successful append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The batches to store, in order (empty for an empty set at Produce v0-2).
    pub batches: Vec<AppendedBatch>,
    /// Offset of the first record (-1 when nothing was appended, as Kafka answers).
    pub base_offset: i64,
    /// Offset of the last record (-1 when nothing was appended).
    pub last_offset: i64,
    /// Largest timestamp over all batches (-1 if none).
    pub max_timestamp: i64,
    /// Offset of the first record holding it (-1 if none).
    pub offset_of_max_timestamp: i64,
    /// Records appended.
    pub record_count: i64,
    /// The append time for the Produce response under LogAppendTime, else -1.
    pub log_append_time_ms: i64,
}

/// Validates one partition's record set from a Produce request and
/// assigns it offsets from `ctx.next_offset`; see the module docs.
pub fn validate_and_assign(set: &Bytes, ctx: &AppendContext) -> Result<Appended, AppendError> {
    let mut entries = Vec::new();
    for entry in batches(set) {
        match entry.map_err(corrupt)? {
            SetEntry::Batch(b) => entries.push(b),
            SetEntry::Partial { start, bytes } => {
                return Err(corrupt(format!(
                    "record set ends with a partial batch of {} bytes at byte {start}",
                    bytes.len()
                )))
            }
        }
    }
    let v = ctx.produce_version;
    if v >= 3 {
        match entries.as_slice() {
            [] => {
                return Err(invalid(
                    None,
                    format!("Produce v{v} needs one record batch"),
                ))
            }
            [b] if b.info.magic != 2 => {
                return Err(invalid(
                    None,
                    format!("Produce v{v} allows magic 2 batches only"),
                ))
            }
            [_] => {}
            _ => {
                return Err(invalid(
                    None,
                    format!("Produce v{v} allows one batch per partition"),
                ))
            }
        }
    }
    let Some(first) = entries.first() else {
        return Ok(Appended {
            batches: Vec::new(),
            base_offset: -1,
            last_offset: -1,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            record_count: 0,
            log_append_time_ms: -1,
        });
    };
    for b in &entries {
        match b.info.compression {
            None => {
                let reason = "compression codec bits hold 5-7, which Kafka does not define";
                return Err(AppendError::UnsupportedCompression {
                    reason: reason.into(),
                });
            }
            Some(Compression::Zstd) if v < 7 || b.info.magic < 2 => {
                let reason = "zstd needs magic 2 and Produce v7 or later";
                return Err(AppendError::UnsupportedCompression {
                    reason: reason.into(),
                });
            }
            _ => {}
        }
        if b.info.magic == 2 && b.info.base_offset != 0 {
            let reason = format!("batch baseOffset must be 0, not {}", b.info.base_offset);
            return Err(invalid(None, reason));
        }
        if b.info.size > ctx.max_message_bytes {
            return Err(AppendError::TooLarge {
                size: b.info.size,
                max: ctx.max_message_bytes,
            });
        }
        if b.info.magic != first.info.magic {
            let reason = "batches of one partition must share one magic byte";
            return Err(invalid(None, reason));
        }
    }
    let compressed = entries
        .iter()
        .any(|b| b.info.compression != Some(Compression::None));
    if entries.len() > 1 && (first.info.magic == 2 || compressed) {
        let reason = "a v2 or compressed record set must hold exactly one batch";
        return Err(invalid(None, reason));
    }
    let batch = if first.info.magic == 2 {
        append_v2(first, ctx)?
    } else {
        append_legacy(&entries, ctx)?
    };
    Ok(Appended {
        base_offset: batch.base_offset,
        last_offset: batch.last_offset,
        max_timestamp: batch.max_timestamp,
        offset_of_max_timestamp: batch.offset_of_max_timestamp,
        record_count: i64::from(batch.record_count),
        log_append_time_ms: match ctx.timestamp_type {
            TimestampType::LogAppendTime => ctx.now_ms,
            TimestampType::CreateTime => -1,
        },
        batches: vec![batch],
    })
}

/// Maps a v2 batch decode error to the code Kafka gives it.
fn from_batch_error(e: RecordsError, start: usize) -> AppendError {
    match e {
        RecordsError::Decode(DecodeError::InvalidLength { at, len }) if at == start + 57 => {
            invalid(None, format!("invalid records count {len}"))
        }
        e => corrupt(e),
    }
}

/// What checking the records of a batch found.
struct Scan {
    /// Offset deltas are 0, 1, 2...
    sequential: bool,
    /// Largest timestamp and the index of its first record (-1, 0 if none).
    max_timestamp: (i64, usize),
}

/// Checks one record's key and then its timestamp, as Kafka's
/// `validateRecord` does: the first problem found, if any.
fn check_record(
    ctx: &AppendContext,
    index: usize,
    has_key: bool,
    timestamp: i64,
    producer_log_append: bool,
) -> Option<RecordError> {
    let refuse = |timestamp: bool, message: String| {
        Some(RecordError {
            index,
            timestamp,
            message,
        })
    };
    if ctx.compacted && !has_key {
        return refuse(
            false,
            "a compacted topic needs a key on every record".into(),
        );
    }
    if ctx.timestamp_type == TimestampType::CreateTime && timestamp != -1 {
        let diff = i128::from(ctx.now_ms) - i128::from(timestamp);
        if diff > i128::from(ctx.timestamp_before_max_ms)
            || -diff > i128::from(ctx.timestamp_after_max_ms)
        {
            return refuse(
                true,
                format!(
                    "timestamp {timestamp} of record {index} is out of range [now - {}, now + {}]",
                    ctx.timestamp_before_max_ms, ctx.timestamp_after_max_ms
                ),
            );
        }
    } else if producer_log_append {
        return refuse(
            true,
            "producers must not set the LogAppendTime timestamp type".into(),
        );
    }
    None
}

/// The refusal for the records that `check_record` refused, if any:
/// like Kafka, every record is checked before the batch is refused, so
/// that the producer learns all of them at once.
pub(super) fn refused(errors: Vec<RecordError>) -> Result<(), AppendError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppendError::Records { errors })
    }
}

/// Walks the records of an uncompressed view, checking each.
fn scan(view: &BatchView<'_>, ctx: &AppendContext) -> Result<Scan, AppendError> {
    let h = &view.header;
    let lat = h.timestamp_type() == TimestampType::LogAppendTime;
    let mut s = Scan {
        sequential: true,
        max_timestamp: (-1, 0),
    };
    let mut errors = Vec::new();
    for (i, r) in view.records().enumerate() {
        let r = r.map_err(|e| invalid(Some(i), format!("invalid record structure: {e}")))?;
        s.sequential &= i64::from(r.offset_delta) == i as i64;
        let ts = h.base_timestamp.wrapping_add(r.timestamp_delta);
        if ts > s.max_timestamp.0 {
            s.max_timestamp = (ts, i);
        }
        errors.extend(check_record(ctx, i, r.key.is_some(), ts, lat));
    }
    refused(errors).map(|()| s)
}

/// An uncompressed batch with `header`'s fields (codec bits cleared) and
/// `records` as its payload; length and CRC computed.
fn plain_batch(header: &BatchHeader, records: Bytes) -> Result<Bytes, AppendError> {
    let mut header = *header;
    header.attributes &= !7;
    let payload = BatchRecords::Compressed {
        compression: Compression::None,
        payload: records,
    };
    RecordBatch {
        header,
        records: payload,
    }
    .to_bytes()
    .map_err(corrupt)
}

fn put(w: &mut [u8], at: usize, v: &[u8]) {
    if let Some(f) = w.get_mut(at..at + v.len()) {
        f.copy_from_slice(v);
    }
}

/// Fills in batchLength and the CRC of the v2 batch in `w`.
fn seal(w: &mut [u8]) -> Result<(), AppendError> {
    let len = w.len().saturating_sub(LOG_OVERHEAD);
    let len = i32::try_from(len).map_err(|_| corrupt("batch longer than 2 GiB"))?;
    put(w, 8, &len.to_be_bytes());
    let crc = crc32c::crc32c(w.get(CRC_START..).unwrap_or_default());
    put(w, 17, &crc.to_be_bytes());
    Ok(())
}

/// Kafka's `DefaultRecordBatch.incrementSequence`: the sequence `delta`
/// after `base`, wrapping past `i32::MAX` to 0 (-1 stays -1: no producer).
pub(crate) fn last_sequence(base: i32, delta: i32) -> i32 {
    if base < 0 {
        return -1;
    }
    if base > i32::MAX - delta {
        delta - (i32::MAX - base) - 1
    } else {
        base + delta
    }
}

fn append_v2(raw: &RawBatch, ctx: &AppendContext) -> Result<AppendedBatch, AppendError> {
    let view =
        BatchView::parse(&raw.bytes, raw.start).map_err(|e| from_batch_error(e, raw.start))?;
    let h = view.header;
    let count = h.records_count;
    if count < 1 {
        return Err(invalid(None, format!("invalid records count {count}")));
    }
    if i64::from(h.last_offset_delta) + 1 != i64::from(count) {
        let reason = format!(
            "lastOffsetDelta {} disagrees with records count {count}",
            h.last_offset_delta
        );
        return Err(invalid(None, reason));
    }
    if h.is_control() {
        return Err(invalid(None, "clients must not write control batches"));
    }
    if h.producer_id >= 0 && h.base_sequence < 0 {
        let reason = format!("producer id {} without a sequence number", h.producer_id);
        return Err(invalid(None, reason));
    }
    let source = view.compression;
    let target = match ctx.compression {
        CompressionTarget::Producer => source,
        CompressionTarget::Codec(c) => c,
    };
    // The records, uncompressed: the batch itself, or a twin of it.
    let twin: Bytes;
    let (plain, pview) = if source == Compression::None {
        (&raw.bytes, view)
    } else {
        let records =
            decompress(source, view.payload, ctx.max_decompressed_bytes).map_err(from_codec)?;
        twin = plain_batch(&h, records)?;
        let twin_view = BatchView::parse(&twin, 0).map_err(|e| from_batch_error(e, 0))?;
        (&twin, twin_view)
    };
    let s = scan(&pview, ctx)?;
    let lat = ctx.timestamp_type == TimestampType::LogAppendTime;
    let mut attributes = h.attributes & !ATTR_LOG_APPEND_TIME;
    let max_timestamp = if lat {
        attributes |= ATTR_LOG_APPEND_TIME;
        ctx.now_ms
    } else {
        s.max_timestamp.0
    };
    let mut bytes = if s.sequential && target == source {
        raw.bytes.to_vec()
    } else {
        attributes = (attributes & !7) | i16::from(target.id());
        rebuild(plain, &pview, target)?
    };
    put(&mut bytes, 0, &ctx.next_offset.to_be_bytes());
    put(&mut bytes, 12, &ctx.leader_epoch.to_be_bytes());
    if bytes.get(21..23) != Some(&attributes.to_be_bytes()[..])
        || bytes.get(35..43) != Some(&max_timestamp.to_be_bytes()[..])
    {
        put(&mut bytes, 21, &attributes.to_be_bytes());
        put(&mut bytes, 35, &max_timestamp.to_be_bytes());
        seal(&mut bytes)?;
    }
    if bytes.len() > ctx.max_message_bytes {
        return Err(AppendError::TooLarge {
            size: bytes.len(),
            max: ctx.max_message_bytes,
        });
    }
    let offset_of_max = |idx: usize| -> i64 {
        if lat {
            ctx.next_offset
        } else if max_timestamp == -1 {
            -1
        } else {
            ctx.next_offset.saturating_add(idx as i64)
        }
    };
    Ok(AppendedBatch {
        bytes: Bytes::from(bytes),
        base_offset: ctx.next_offset,
        last_offset: ctx.next_offset.saturating_add(i64::from(count) - 1),
        max_timestamp,
        offset_of_max_timestamp: offset_of_max(s.max_timestamp.1),
        record_count: count,
        producer_id: h.producer_id,
        producer_epoch: h.producer_epoch,
        base_sequence: h.base_sequence,
        last_sequence: last_sequence(h.base_sequence, count - 1),
        is_transactional: h.attributes & ATTR_TRANSACTIONAL != 0,
    })
}

/// The records of `view` (an uncompressed batch in `plain`) renumbered
/// 0..n-1 and encoded with `codec`; header fields other than the codec
/// bits kept. Length and CRC are computed by the caller's seal.
fn rebuild(
    plain: &Bytes,
    view: &BatchView<'_>,
    codec: Compression,
) -> Result<Vec<u8>, AppendError> {
    let mut records = Vec::new();
    for (i, r) in view.records().enumerate() {
        let r = r.map_err(|e| invalid(Some(i), e.to_string()))?;
        let mut rec = Record::from_view(plain, &r);
        rec.offset_delta = i32::try_from(i).map_err(|_| invalid(Some(i), "too many records"))?;
        records.push(rec);
    }
    let mut header = view.header;
    header.attributes = (header.attributes & !7) | i16::from(codec.id());
    build_batch(&header, &records, codec)
}

/// Encodes `records` under `header` (count, deltas and max timestamp
/// computed from the records) with `codec`, sealed.
fn build_batch(
    header: &BatchHeader,
    records: &[Record],
    codec: Compression,
) -> Result<Vec<u8>, AppendError> {
    let mut w = BytesMut::new();
    encode_records(header, records, &mut w).map_err(corrupt)?;
    let mut out = if codec == Compression::None {
        w.to_vec()
    } else {
        let body = compress(codec, w.get(V2_HEADER_LEN..).unwrap_or_default()).map_err(corrupt)?;
        let mut out = w.get(..V2_HEADER_LEN).unwrap_or_default().to_vec();
        out.extend_from_slice(&body);
        out
    };
    seal(&mut out)?;
    Ok(out)
}
