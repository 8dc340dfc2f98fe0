//! Down-conversion: stored v2 batches as a legacy MessageSet, for Fetch
//! v0-3 (whose clients read magic 0 or 1 only).

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::super::compression::decompress;
use super::super::legacy::LegacyMessage;
use super::super::set::{batches, AnyBatch, SetEntry};
use super::super::{BatchView, Compression, TimestampType};
use super::{plain_batch, unwrap_legacy};

/// Most bytes one stored batch may decompress to during down-conversion.
const MAX_DECOMPRESSED: usize = 128 << 20;

/// Why stored batches could not be down-converted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConvertError {
    /// UNSUPPORTED_FOR_MESSAGE_FORMAT: the target magic is not 0 or 1.
    UnsupportedMagic(i8),
    /// CORRUPT_MESSAGE: a stored batch does not decode.
    Corrupt(String),
}

impl ConvertError {
    /// The Kafka error code for the Fetch response.
    pub fn error_code(&self) -> i16 {
        match self {
            ConvertError::UnsupportedMagic(_) => 43,
            ConvertError::Corrupt(_) => 2,
        }
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::UnsupportedMagic(m) => {
                write!(f, "cannot down-convert to magic {m}: only 0 and 1")
            }
            ConvertError::Corrupt(e) => write!(f, "stored batch is corrupt: {e}"),
        }
    }
}

impl std::error::Error for ConvertError {}

fn corrupt(e: impl fmt::Display) -> ConvertError {
    ConvertError::Corrupt(e.to_string())
}

/// Rewrites `batches` (whole v2 batches, one or more per chunk, as storage
/// hands them out) as a legacy message set of `magic` 0 or 1: one
/// uncompressed message per record, at its absolute offset. Control batches
/// are skipped, headers dropped; magic 0 drops timestamps; under
/// LogAppendTime every message of magic 1 carries the batch's
/// maxTimestamp and the LogAppendTime attribute. A partial batch at the end
/// of a chunk is left out. Legacy entries are re-encoded at `magic`.
pub fn down_convert(batches_in: &[Bytes], magic: i8) -> Result<Bytes, ConvertError> {
    if !(0..=1).contains(&magic) {
        return Err(ConvertError::UnsupportedMagic(magic));
    }
    let mut w = BytesMut::new();
    let mut emit = |offset: i64, ts: i64, lat: bool, key, value| {
        let m = LegacyMessage {
            offset,
            crc: 0,
            magic,
            attributes: if magic == 1 && lat { 8 } else { 0 },
            timestamp: (magic == 1).then_some(ts),
            key,
            value,
        };
        m.encode(&mut w).map_err(corrupt)
    };
    for chunk in batches_in {
        for entry in batches(chunk) {
            let raw = match entry.map_err(corrupt)? {
                SetEntry::Batch(raw) => raw,
                SetEntry::Partial { .. } => break,
            };
            if raw.info.magic != 2 {
                let AnyBatch::Legacy(m) = raw.decode().map_err(corrupt)? else {
                    return Err(corrupt("legacy entry did not decode as legacy"));
                };
                let lat = m.timestamp_type() == TimestampType::LogAppendTime;
                let messages = if m.is_compressed() {
                    expand(&m)?
                } else {
                    vec![m.clone()]
                };
                for inner in messages {
                    let ts = if lat { m.timestamp } else { inner.timestamp };
                    emit(inner.offset, ts.unwrap_or(-1), lat, inner.key, inner.value)?;
                }
                continue;
            }
            let view = BatchView::parse(&raw.bytes, 0).map_err(corrupt)?;
            let h = view.header;
            if h.is_control() {
                continue;
            }
            let twin: Bytes;
            let (plain, pview) = if view.compression == Compression::None {
                (&raw.bytes, view)
            } else {
                let records = decompress(view.compression, view.payload, MAX_DECOMPRESSED)
                    .map_err(corrupt)?;
                twin = plain_batch(&h, records).map_err(corrupt)?;
                (&twin, BatchView::parse(&twin, 0).map_err(corrupt)?)
            };
            let lat = h.timestamp_type() == TimestampType::LogAppendTime;
            let owned = |s: &[u8]| {
                if s.is_empty() {
                    Bytes::new()
                } else {
                    plain.slice_ref(s)
                }
            };
            for r in pview.records() {
                let r = r.map_err(corrupt)?;
                let offset = h.base_offset.wrapping_add(i64::from(r.offset_delta));
                let ts = if lat {
                    h.max_timestamp
                } else {
                    h.base_timestamp.wrapping_add(r.timestamp_delta)
                };
                emit(offset, ts, lat, r.key.map(owned), r.value.map(owned))?;
            }
        }
    }
    Ok(w.freeze())
}

/// The inner messages of a stored compressed legacy wrapper, with absolute
/// offsets (magic 1 stores them relative to the wrapper's, which is the
/// last one's).
fn expand(wrapper: &LegacyMessage) -> Result<Vec<LegacyMessage>, ConvertError> {
    let mut inner = unwrap_legacy(wrapper, MAX_DECOMPRESSED).map_err(corrupt)?;
    if wrapper.magic == 1 {
        let last = inner.last().map_or(0, |m| m.offset);
        for m in &mut inner {
            m.offset = wrapper.offset.wrapping_sub(last).wrapping_add(m.offset);
        }
    }
    Ok(inner)
}
