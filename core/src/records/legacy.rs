//! The legacy MessageSet (magic 0 and 1): decode (CRC-32 checked) and encode.
//!
//! A compressed message (codec bits set) is a wrapper whose value is a
//! whole nested message set, compressed; it is kept as bytes here.

use bytes::{BufMut, Bytes, BytesMut};

use super::{Compression, RecordsError, TimestampType, LOG_OVERHEAD};
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::wire::Reader;

/// Smallest message (after offset and size) of magic 0: crc, magic,
/// attributes, key and value lengths.
pub(crate) const V0_MIN: usize = 4 + 1 + 1 + 4 + 4;
/// Smallest message of magic 1: v0 plus the timestamp.
pub(crate) const V1_MIN: usize = V0_MIN + 8;

/// One entry of a legacy message set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyMessage {
    /// The offset (for a compressed wrapper, that of its last inner message).
    pub offset: i64,
    /// CRC-32 as stored (recomputed when encoding).
    pub crc: u32,
    /// 0 or 1.
    pub magic: i8,
    /// Codec bits 0-2, timestamp type bit 3 (v1).
    pub attributes: i8,
    /// The timestamp; `None` in v0.
    pub timestamp: Option<i64>,
    /// The key, `None` for null.
    pub key: Option<Bytes>,
    /// The value, `None` for null; a compressed message set in a wrapper.
    pub value: Option<Bytes>,
}

impl LegacyMessage {
    /// An uncompressed message: v1 when `timestamp` is given, else v0.
    pub fn new(
        offset: i64,
        timestamp: Option<i64>,
        key: Option<Bytes>,
        value: Option<Bytes>,
    ) -> Self {
        LegacyMessage {
            offset,
            crc: 0,
            magic: if timestamp.is_some() { 1 } else { 0 },
            attributes: 0,
            timestamp,
            key,
            value,
        }
    }

    /// The codec in attribute bits 0-2, `None` if undefined.
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_id((self.attributes & 0x7) as u8)
    }

    /// The timestamp type (attribute bit 3; always CreateTime in v0).
    pub fn timestamp_type(&self) -> TimestampType {
        if self.magic >= 1 && self.attributes & 0x8 != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Whether this is a wrapper holding a compressed message set.
    pub fn is_compressed(&self) -> bool {
        self.attributes & 0x7 != 0
    }

    /// Decodes one message at `r`'s position and moves past it; checks the
    /// size, magic and CRC. Error offsets are absolute.
    pub fn read(r: &mut Reader<'_>) -> Result<LegacyMessage, RecordsError> {
        let offset = r.i64()?;
        let size_at = r.pos();
        let size = r.i32()?;
        let size = usize::try_from(size).ok().filter(|n| *n >= V0_MIN).ok_or(
            DecodeError::InvalidLength {
                at: size_at,
                len: i64::from(size),
            },
        )?;
        if size > r.remaining() {
            return Err(DecodeError::Truncated {
                at: r.pos(),
                needed: size,
                remaining: r.remaining(),
            }
            .into());
        }
        let end = r.pos() + size;
        let mut m = Reader::with_range(r.source(), r.pos(), end);
        let crc_at = m.pos();
        let crc = m.u32()?;
        let computed = crc32fast::hash(r.source().get(m.pos()..end).unwrap_or_default());
        let magic_at = m.pos();
        let magic = m.i8()?;
        let min = match magic {
            0 => V0_MIN,
            1 => V1_MIN,
            _ => {
                return Err(DecodeError::Invalid {
                    at: magic_at,
                    what: "magic byte of a legacy message must be 0 or 1",
                }
                .into())
            }
        };
        if size < min {
            return Err(DecodeError::InvalidLength {
                at: size_at,
                len: size as i64,
            }
            .into());
        }
        if crc != computed {
            return Err(RecordsError::CrcMismatch {
                at: crc_at,
                expected: crc,
                computed,
            });
        }
        let attributes = m.i8()?;
        let timestamp = if magic == 1 { Some(m.i64()?) } else { None };
        let key = m.nullable_bytes(false)?;
        let value = m.nullable_bytes(false)?;
        m.finish()?;
        r.skip(size)?;
        Ok(LegacyMessage {
            offset,
            crc,
            magic,
            attributes,
            timestamp,
            key,
            value,
        })
    }

    /// Appends the message; the size and CRC are computed, the timestamp is
    /// written only for magic 1 (0 if absent).
    pub fn encode(&self, w: &mut BytesMut) -> Result<(), EncodeError> {
        let start = w.len();
        w.put_i64(self.offset);
        w.put_i32(0);
        w.put_u32(0);
        w.put_i8(self.magic);
        w.put_i8(self.attributes);
        if self.magic >= 1 {
            w.put_i64(self.timestamp.unwrap_or(0));
        }
        for b in [&self.key, &self.value] {
            match b {
                None => w.put_i32(-1),
                Some(b) => {
                    let n = i32::try_from(b.len())
                        .map_err(|_| EncodeError::TooLong { len: b.len() })?;
                    w.put_i32(n);
                    w.put_slice(b);
                }
            }
        }
        let size = w.len().saturating_sub(start + LOG_OVERHEAD);
        let size = i32::try_from(size).map_err(|_| EncodeError::TooLong { len: size })?;
        if let Some(f) = w.get_mut(start + 8..start + 12) {
            f.copy_from_slice(&size.to_be_bytes());
        }
        let crc = crc32fast::hash(w.get(start + 16..).unwrap_or_default());
        if let Some(f) = w.get_mut(start + 12..start + 16) {
            f.copy_from_slice(&crc.to_be_bytes());
        }
        Ok(())
    }
}

/// Decodes a whole legacy message set (no partial tail allowed).
pub fn decode_message_set(src: &Bytes) -> Result<Vec<LegacyMessage>, RecordsError> {
    let mut r = Reader::new(src);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        out.push(LegacyMessage::read(&mut r)?);
    }
    Ok(out)
}

/// Encodes messages one after another.
pub fn encode_message_set(messages: &[LegacyMessage]) -> Result<Bytes, EncodeError> {
    let mut w = BytesMut::new();
    for m in messages {
        m.encode(&mut w)?;
    }
    Ok(w.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<LegacyMessage> {
        vec![
            LegacyMessage::new(
                0,
                None,
                Some(Bytes::from_static(b"k")),
                Some(Bytes::from_static(b"v0")),
            ),
            LegacyMessage::new(1, Some(1234), None, Some(Bytes::from_static(b"v1"))),
            LegacyMessage::new(2, Some(-1), Some(Bytes::new()), None),
        ]
    }

    #[test]
    fn round_trip() {
        let bytes = encode_message_set(&sample()).unwrap();
        let back = decode_message_set(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        for (a, b) in back.iter().zip(sample()) {
            assert_eq!(
                (a.offset, a.magic, a.timestamp, &a.key, &a.value),
                (b.offset, b.magic, b.timestamp, &b.key, &b.value)
            );
        }
        assert_eq!(encode_message_set(&back).unwrap(), bytes);
    }

    #[test]
    fn crc_mismatch_and_truncation() {
        let bytes = encode_message_set(&sample()[..1]).unwrap();
        let mut bad = bytes.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            decode_message_set(&Bytes::from(bad)),
            Err(RecordsError::CrcMismatch { at: 12, .. })
        ));
        for cut in 1..bytes.len() {
            assert!(decode_message_set(&bytes.slice(..cut)).is_err());
        }
    }

    #[test]
    fn compressed_wrapper_is_reported() {
        let mut m = LegacyMessage::new(5, Some(9), None, Some(Bytes::from_static(b"opaque")));
        m.attributes = 2;
        let bytes = encode_message_set(&[m]).unwrap();
        let back = decode_message_set(&bytes).unwrap();
        assert!(back[0].is_compressed());
        assert_eq!(back[0].compression(), Some(Compression::Snappy));
        assert_eq!(back[0].value.as_deref(), Some(&b"opaque"[..]));
    }
}
