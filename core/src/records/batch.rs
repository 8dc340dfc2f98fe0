//! RecordBatch v2: decode (zero-copy, CRC-checked) and encode.

use bytes::{BufMut, Bytes, BytesMut};

use super::view::{BatchView, RecordView};
use super::{Compression, RecordsError, LOG_OVERHEAD};
use crate::protocol::error::EncodeError;
use crate::protocol::wire::{put_varint, put_varlong, uvarint_len, Reader};

pub use super::header::BatchHeader;
pub(crate) use super::header::{
    ATTR_CONTROL, ATTR_DELETE_HORIZON, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL, CRC_START,
};

/// A record header: a string key (kept as raw bytes, as Kafka does not
/// validate it) and a nullable value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The key; producers write UTF-8.
    pub key: Bytes,
    /// The value, `None` for null.
    pub value: Option<Bytes>,
}

impl Header {
    /// A header from a string key.
    pub fn new(key: &str, value: Option<Bytes>) -> Header {
        Header {
            key: Bytes::copy_from_slice(key.as_bytes()),
            value,
        }
    }

    /// The key as text, if it is UTF-8.
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.key).ok()
    }
}

/// One record of a v2 batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Record attributes (unused by Kafka, always 0).
    pub attributes: i8,
    /// Timestamp minus the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Offset minus the batch's base offset.
    pub offset_delta: i32,
    /// The key, `None` for null.
    pub key: Option<Bytes>,
    /// The value, `None` for null (a tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order (keys may repeat).
    pub headers: Vec<Header>,
}

impl Record {
    /// A record without headers.
    pub fn new(
        offset_delta: i32,
        timestamp_delta: i64,
        key: Option<Bytes>,
        value: Option<Bytes>,
    ) -> Record {
        Record {
            attributes: 0,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, key: &str, value: Option<Bytes>) -> Record {
        self.headers.push(Header::new(key, value));
        self
    }

    /// The owned form of a borrowed record: every slice becomes a `Bytes`
    /// sharing `src`'s buffer (no copy).
    pub(crate) fn from_view(src: &Bytes, v: &RecordView<'_>) -> Record {
        let owned = |s: &[u8]| {
            if s.is_empty() {
                Bytes::new()
            } else {
                src.slice_ref(s)
            }
        };
        Record {
            attributes: v.attributes,
            timestamp_delta: v.timestamp_delta,
            offset_delta: v.offset_delta,
            key: v.key.map(owned),
            value: v.value.map(owned),
            headers: v
                .headers()
                .map(|(k, val)| Header {
                    key: owned(k),
                    value: val.map(owned),
                })
                .collect(),
        }
    }

    /// Bytes of the record after its length prefix.
    fn body_len(&self) -> Result<usize, EncodeError> {
        let mut n = 1 + varlong_len(self.timestamp_delta) + varint_len(self.offset_delta);
        n += var_bytes_len(self.key.as_deref())?;
        n += var_bytes_len(self.value.as_deref())?;
        n += varint_len(len_i32(self.headers.len())?);
        for h in &self.headers {
            n += var_bytes_len(Some(&h.key))?;
            n += var_bytes_len(h.value.as_deref())?;
        }
        Ok(n)
    }

    /// Appends the record, length prefix included.
    pub(crate) fn put(&self, w: &mut BytesMut) -> Result<(), EncodeError> {
        let len = len_i32(self.body_len()?)?;
        put_varint(w, len);
        w.put_i8(self.attributes);
        put_varlong(w, self.timestamp_delta);
        put_varint(w, self.offset_delta);
        put_var_bytes(w, self.key.as_deref())?;
        put_var_bytes(w, self.value.as_deref())?;
        put_varint(w, len_i32(self.headers.len())?);
        for h in &self.headers {
            put_var_bytes(w, Some(&h.key))?;
            put_var_bytes(w, h.value.as_deref())?;
        }
        Ok(())
    }
}

/// The records of a batch: decoded, or still compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchRecords {
    /// An uncompressed batch's records.
    Uncompressed(Vec<Record>),
    /// A compressed batch: the codec and the compressed bytes, as stored.
    Compressed {
        /// The codec.
        compression: Compression,
        /// The bytes after the header.
        payload: Bytes,
    },
}

/// A decoded v2 record batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    /// The header, as stored.
    pub header: BatchHeader,
    /// The records.
    pub records: BatchRecords,
}

impl RecordBatch {
    /// Decodes `src`, which must hold exactly one batch.
    pub fn decode(src: &Bytes) -> Result<RecordBatch, RecordsError> {
        let mut r = Reader::new(src);
        let batch = RecordBatch::read(&mut r)?;
        r.finish()?;
        Ok(batch)
    }

    /// Decodes one batch at `r`'s position and moves past it. Checks the
    /// magic byte, the lengths and the CRC (through [`BatchView`]); keys,
    /// values and headers are zero-copy slices of the reader's buffer;
    /// error offsets are absolute.
    pub fn read(r: &mut Reader<'_>) -> Result<RecordBatch, RecordsError> {
        let start = r.pos();
        let src = r.source();
        let view = BatchView::parse(
            src.get(start..start + r.remaining()).unwrap_or_default(),
            start,
        )?;
        let records = if view.compression == Compression::None {
            let mut records = Vec::with_capacity(view.header.records_count.max(0) as usize);
            for rec in view.records() {
                records.push(Record::from_view(src, &rec?));
            }
            BatchRecords::Uncompressed(records)
        } else {
            BatchRecords::Compressed {
                compression: view.compression,
                payload: src.slice_ref(view.payload),
            }
        };
        r.skip(view.size)?;
        Ok(RecordBatch {
            header: view.header,
            records,
        })
    }

    /// The decoded records, `None` while compressed.
    pub fn records(&self) -> Option<&[Record]> {
        match &self.records {
            BatchRecords::Uncompressed(r) => Some(r),
            BatchRecords::Compressed { .. } => None,
        }
    }

    /// Appends the batch. Every header field is written as it is, except
    /// `batch_length` and `crc`, which are computed.
    pub fn encode(&self, w: &mut BytesMut) -> Result<(), EncodeError> {
        match &self.records {
            BatchRecords::Uncompressed(records) => {
                RecordBatch::encode_parts(&self.header, records, w)
            }
            BatchRecords::Compressed { payload, .. } => {
                let start = w.len();
                self.header.put(w);
                w.put_slice(payload);
                seal(w, start)
            }
        }
    }

    /// Appends a header and uncompressed records; length and CRC computed.
    pub(crate) fn encode_parts(
        header: &BatchHeader,
        records: &[Record],
        w: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let start = w.len();
        header.put(w);
        for r in records {
            r.put(w)?;
        }
        seal(w, start)
    }

    /// The batch as a new buffer (see [`RecordBatch::encode`]).
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut w = BytesMut::new();
        self.encode(&mut w)?;
        Ok(w.freeze())
    }
}

/// Fills in batchLength and crc of the batch written at `w[start..]`.
fn seal(w: &mut BytesMut, start: usize) -> Result<(), EncodeError> {
    let total = w.len().saturating_sub(start);
    let body = total.saturating_sub(LOG_OVERHEAD);
    let body = i32::try_from(body).map_err(|_| EncodeError::TooLong { len: body })?;
    if let Some(len) = w.get_mut(start + 8..start + 12) {
        len.copy_from_slice(&body.to_be_bytes());
    }
    let crc = crc32c::crc32c(w.get(start + CRC_START..).unwrap_or_default());
    if let Some(field) = w.get_mut(start + 17..start + CRC_START) {
        field.copy_from_slice(&crc.to_be_bytes());
    }
    Ok(())
}

pub(crate) fn len_i32(n: usize) -> Result<i32, EncodeError> {
    i32::try_from(n).map_err(|_| EncodeError::TooLong { len: n })
}

fn varint_len(v: i32) -> usize {
    uvarint_len(u64::from(((v << 1) ^ (v >> 31)) as u32))
}

fn varlong_len(v: i64) -> usize {
    uvarint_len(((v << 1) ^ (v >> 63)) as u64)
}

fn var_bytes_len(b: Option<&[u8]>) -> Result<usize, EncodeError> {
    Ok(match b {
        None => varint_len(-1),
        Some(b) => varint_len(len_i32(b.len())?) + b.len(),
    })
}

fn put_var_bytes(w: &mut BytesMut, b: Option<&[u8]>) -> Result<(), EncodeError> {
    match b {
        None => put_varint(w, -1),
        Some(b) => {
            put_varint(w, len_i32(b.len())?);
            w.put_slice(b);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::DecodeError;
    use crate::records::RecordBatchBuilder;

    fn sample() -> RecordBatchBuilder {
        RecordBatchBuilder::new(100, 1_000)
            .producer(7, 1, 0)
            .partition_leader_epoch(3)
            .record(Record::new(
                0,
                0,
                Some(Bytes::from_static(b"k")),
                Some(Bytes::from_static(b"v")),
            ))
            .record(
                Record::new(1, 5, None, Some(Bytes::from_static(b"second")))
                    .with_header("h", Some(Bytes::from_static(b"x"))),
            )
            .record(Record::new(2, -3, Some(Bytes::new()), None).with_header("n", None))
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let bytes = b.build().unwrap();
        let batch = RecordBatch::decode(&bytes).unwrap();
        assert_eq!(batch.records(), b.batch().unwrap().records());
        assert_eq!(batch.header.records_count, 3);
        assert_eq!(batch.header.last_offset_delta, 2);
        assert_eq!(batch.header.last_offset(), 102);
        assert_eq!(batch.header.max_timestamp, 1_005);
        assert_eq!(
            batch.header.batch_length as usize,
            bytes.len() - LOG_OVERHEAD
        );
        assert_eq!(batch.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn crc_mismatch_is_reported_with_both_values() {
        let bytes = sample().build().unwrap();
        let mut bad = bytes.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let bad = Bytes::from(bad);
        let computed = crc32c::crc32c(&bad[CRC_START..]);
        let stored = u32::from_be_bytes([bytes[17], bytes[18], bytes[19], bytes[20]]);
        assert_eq!(
            RecordBatch::decode(&bad),
            Err(RecordsError::CrcMismatch {
                at: 17,
                expected: stored,
                computed
            })
        );
    }

    #[test]
    fn compressed_batch_keeps_its_payload() {
        let payload = Bytes::from_static(b"\x1f\x8b opaque gzip bytes");
        let mut header = sample().batch().unwrap().header;
        header.attributes |= 1;
        let batch = RecordBatch {
            header,
            records: BatchRecords::Compressed {
                compression: Compression::Gzip,
                payload: payload.clone(),
            },
        };
        let bytes = batch.to_bytes().unwrap();
        let back = RecordBatch::decode(&bytes).unwrap();
        assert_eq!(back.header.compression(), Some(Compression::Gzip));
        assert_eq!(
            back.records,
            BatchRecords::Compressed {
                compression: Compression::Gzip,
                payload
            }
        );
    }

    #[test]
    fn bad_lengths_are_errors() {
        let bytes = sample().build().unwrap();
        for cut in 0..bytes.len() {
            assert!(
                RecordBatch::decode(&bytes.slice(..cut)).is_err(),
                "cut {cut}"
            );
        }
        let mut short = bytes.to_vec();
        short[8..12].copy_from_slice(&10i32.to_be_bytes());
        assert!(matches!(
            RecordBatch::decode(&Bytes::from(short)),
            Err(RecordsError::Decode(DecodeError::InvalidLength {
                at: 8,
                len: 10
            }))
        ));
    }
}
