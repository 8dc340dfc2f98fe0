//! Borrowed views of a v2 record batch: the header decoded and checked
//! (lengths, magic, CRC-32C), the records read in place as they are
//! iterated. Nothing is allocated and no byte is copied or reference
//! counted; keys, values and headers are slices of the input.
//!
//! This is how the broker validates a produced batch and how a reader walks
//! records when it does not need to keep them; [`RecordBatch`] is the owned
//! form built on top of it.
//!
//! [`RecordBatch`]: super::RecordBatch

use super::header::{BatchHeader, CRC_START};
use super::{Compression, RecordsError, LOG_OVERHEAD, MAGIC_OFFSET, V2_HEADER_LEN};
use crate::protocol::error::DecodeError;

/// A checked v2 batch whose records stay in the input bytes.
#[derive(Debug, Clone, Copy)]
pub struct BatchView<'a> {
    /// The header, as stored.
    pub header: BatchHeader,
    /// The codec.
    pub compression: Compression,
    /// Bytes after the 61-byte header (records, or the compressed payload).
    pub payload: &'a [u8],
    /// Absolute offset of `payload[0]`, for error messages.
    payload_at: usize,
    /// Size of the whole batch in bytes.
    pub size: usize,
}

impl<'a> BatchView<'a> {
    /// Checks the batch at the start of `src` (whose first byte is at
    /// absolute offset `at`): magic 2, a batch length that fits, a known
    /// codec, a records count no larger than the bytes can hold, and the
    /// CRC-32C. Bytes after the batch are not looked at.
    pub fn parse(src: &'a [u8], at: usize) -> Result<BatchView<'a>, RecordsError> {
        let header = read_header(src, at)?;
        let body_len = i64::from(header.batch_length);
        if body_len < (V2_HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(DecodeError::InvalidLength {
                at: at + 8,
                len: body_len,
            }
            .into());
        }
        let size = LOG_OVERHEAD + body_len as usize;
        if size > src.len() {
            return Err(DecodeError::Truncated {
                at: at + LOG_OVERHEAD,
                needed: body_len as usize,
                remaining: src.len() - LOG_OVERHEAD,
            }
            .into());
        }
        if header.magic != 2 {
            let what = "magic byte of a record batch must be 2";
            return Err(DecodeError::Invalid {
                at: at + MAGIC_OFFSET,
                what,
            }
            .into());
        }
        let computed = crc32c::crc32c(&src[CRC_START..size]);
        if computed != header.crc {
            return Err(RecordsError::CrcMismatch {
                at: at + 17,
                expected: header.crc,
                computed,
            });
        }
        let compression = header.compression().ok_or(DecodeError::Invalid {
            at: at + CRC_START,
            what: "compression codec in attributes bits 0-2 is not 0-4",
        })?;
        let payload = &src[V2_HEADER_LEN..size];
        let count = header.records_count;
        // Every record takes at least 7 bytes; a count the payload cannot
        // hold is refused before anything trusts it.
        if count < 0 || (compression == Compression::None && count as usize > payload.len()) {
            return Err(DecodeError::InvalidLength {
                at: at + 57,
                len: i64::from(count),
            }
            .into());
        }
        Ok(BatchView {
            header,
            compression,
            payload,
            payload_at: at + V2_HEADER_LEN,
            size,
        })
    }

    /// The records, read in place; empty for a compressed batch (whose
    /// payload must be decompressed first). The iterator checks that exactly
    /// `records_count` records fill the payload.
    pub fn records(&self) -> RecordViews<'a> {
        let count = if self.compression == Compression::None {
            self.header.records_count.max(0) as usize
        } else {
            0
        };
        RecordViews {
            cur: Cursor {
                buf: if count == 0 { &[] } else { self.payload },
                pos: 0,
                base: self.payload_at,
            },
            left: count,
            failed: false,
        }
    }
}

fn read_header(src: &[u8], at: usize) -> Result<BatchHeader, DecodeError> {
    let mut c = Cursor {
        buf: src,
        pos: 0,
        base: at,
    };
    Ok(BatchHeader {
        base_offset: c.i64()?,
        batch_length: c.i32()?,
        partition_leader_epoch: c.i32()?,
        magic: c.fixed::<1>().map(|b| b[0] as i8)?,
        crc: c.fixed::<4>().map(u32::from_be_bytes)?,
        attributes: c.fixed::<2>().map(i16::from_be_bytes)?,
        last_offset_delta: c.i32()?,
        base_timestamp: c.i64()?,
        max_timestamp: c.i64()?,
        producer_id: c.i64()?,
        producer_epoch: c.fixed::<2>().map(i16::from_be_bytes)?,
        base_sequence: c.i32()?,
        records_count: c.i32()?,
    })
}

/// One record, borrowed from its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// Record attributes (unused by Kafka, 0).
    pub attributes: i8,
    /// Timestamp minus the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Offset minus the batch's base offset.
    pub offset_delta: i32,
    /// The key, `None` for null.
    pub key: Option<&'a [u8]>,
    /// The value, `None` for null.
    pub value: Option<&'a [u8]>,
    headers: Cursor<'a>,
    header_count: usize,
}

impl<'a> RecordView<'a> {
    /// The headers as `(key, value)` pairs, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let mut c = self.headers;
        (0..self.header_count).map_while(move |_| {
            let k = c.var_bytes().ok()??;
            let v = c.var_bytes().ok()?;
            Some((k, v))
        })
    }

    /// How many headers the record has.
    pub fn header_count(&self) -> usize {
        self.header_count
    }
}

/// The records of a [`BatchView`].
#[derive(Debug, Clone)]
pub struct RecordViews<'a> {
    cur: Cursor<'a>,
    left: usize,
    failed: bool,
}

impl<'a> Iterator for RecordViews<'a> {
    type Item = Result<RecordView<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.left == 0 {
            if self.cur.pos < self.cur.buf.len() {
                self.failed = true;
                let at = self.cur.at();
                let count = self.cur.buf.len() - self.cur.pos;
                return Some(Err(DecodeError::TrailingBytes { at, count }));
            }
            return None;
        }
        self.left -= 1;
        let r = self.cur.record();
        self.failed = r.is_err();
        Some(r)
    }
}

/// A bounds-checked cursor over a slice whose first byte sits at absolute
/// offset `base` (for error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn at(&self) -> usize {
        self.base + self.pos
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) if self.pos.checked_add(n).is_some() => {
                self.pos += n;
                Ok(s)
            }
            _ => Err(DecodeError::Truncated {
                at: self.at(),
                needed: n,
                remaining: self.buf.len() - self.pos,
            }),
        }
    }

    #[inline]
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    #[inline]
    fn i32(&mut self) -> Result<i32, DecodeError> {
        self.fixed::<4>().map(i32::from_be_bytes)
    }

    #[inline]
    fn i64(&mut self) -> Result<i64, DecodeError> {
        self.fixed::<8>().map(i64::from_be_bytes)
    }

    #[inline]
    fn uvarlong(&mut self, max_len: usize) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..max_len {
            let Some(&b) = self.buf.get(self.pos) else {
                let at = self.base + start;
                self.pos = start;
                return Err(DecodeError::Truncated {
                    at,
                    needed: i + 1,
                    remaining: i,
                });
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.pos = start;
        Err(DecodeError::InvalidVarint {
            at: self.base + start,
        })
    }

    #[inline]
    fn varint(&mut self) -> Result<i32, DecodeError> {
        let at = self.at();
        let u = u32::try_from(self.uvarlong(5)?).map_err(|_| DecodeError::InvalidVarint { at })?;
        Ok(((u >> 1) as i32) ^ -((u & 1) as i32))
    }

    #[inline]
    fn varlong(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarlong(10)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A varint length (-1 = null) and that many bytes.
    #[inline]
    fn var_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let at = self.at();
        match self.varint()? {
            -1 => Ok(None),
            n if n < 0 => Err(DecodeError::InvalidLength {
                at,
                len: i64::from(n),
            }),
            n => self.take(n as usize).map(Some),
        }
    }

    #[inline]
    fn record(&mut self) -> Result<RecordView<'a>, DecodeError> {
        let len_at = self.at();
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::InvalidLength {
            at: len_at,
            len: i64::from(len),
        })?;
        let base = self.at();
        let body = self.take(len)?;
        let mut b = Cursor {
            buf: body,
            pos: 0,
            base,
        };
        let attributes = b.fixed::<1>()?[0] as i8;
        let timestamp_delta = b.varlong()?;
        let offset_delta = b.varint()?;
        let key = b.var_bytes()?;
        let value = b.var_bytes()?;
        let count_at = b.at();
        let count = b.varint()?;
        let header_count = usize::try_from(count)
            .ok()
            .filter(|n| *n <= b.buf.len() - b.pos)
            .ok_or(DecodeError::InvalidLength {
                at: count_at,
                len: i64::from(count),
            })?;
        let headers = Cursor {
            buf: &b.buf[b.pos..],
            pos: 0,
            base: b.at(),
        };
        // Walk the headers once so that a bad one is an error here, not a
        // silently short iterator later.
        for _ in 0..header_count {
            let key_at = b.at();
            b.var_bytes()?
                .ok_or(DecodeError::UnexpectedNull { at: key_at })?;
            b.var_bytes()?;
        }
        if b.pos != b.buf.len() {
            return Err(DecodeError::TrailingBytes {
                at: b.at(),
                count: b.buf.len() - b.pos,
            });
        }
        Ok(RecordView {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
            header_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Record, RecordBatch, RecordBatchBuilder};
    use bytes::Bytes;

    fn sample() -> Bytes {
        RecordBatchBuilder::new(40, 1_000)
            .record(Record::new(
                0,
                0,
                Some(Bytes::from_static(b"k")),
                Some(Bytes::from_static(b"v0")),
            ))
            .record(
                Record::new(1, 5, None, None)
                    .with_header("h", Some(Bytes::from_static(b"x")))
                    .with_header("n", None),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn views_agree_with_the_owned_decode() {
        let bytes = sample();
        let owned = RecordBatch::decode(&bytes).unwrap();
        let view = BatchView::parse(&bytes, 0).unwrap();
        assert_eq!(view.header, owned.header);
        assert_eq!(view.size, bytes.len());
        let views: Vec<RecordView<'_>> = view.records().collect::<Result<_, _>>().unwrap();
        let recs = owned.records().unwrap();
        assert_eq!(views.len(), recs.len());
        for (v, r) in views.iter().zip(recs) {
            assert_eq!(v.offset_delta, r.offset_delta);
            assert_eq!(v.timestamp_delta, r.timestamp_delta);
            assert_eq!(v.key, r.key.as_deref());
            assert_eq!(v.value, r.value.as_deref());
            let hs: Vec<_> = v.headers().collect();
            let want: Vec<_> = r
                .headers
                .iter()
                .map(|h| (&h.key[..], h.value.as_deref()))
                .collect();
            assert_eq!(hs, want);
        }
    }

    #[test]
    fn bad_crc_and_truncation_are_errors_with_offsets() {
        let bytes = sample();
        let mut bad = bytes.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            BatchView::parse(&bad, 100),
            Err(RecordsError::CrcMismatch { at: 117, .. })
        ));
        for cut in 0..bytes.len() {
            assert!(BatchView::parse(&bytes[..cut], 0).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn a_record_count_larger_than_the_records_is_reported_by_the_iterator() {
        let mut b = sample().to_vec();
        b[60] = 3; // records_count 2 -> 3
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        let view = BatchView::parse(&b, 0).unwrap();
        let res: Result<Vec<_>, _> = view.records().collect();
        assert!(matches!(res, Err(DecodeError::Truncated { .. })));
    }
}
