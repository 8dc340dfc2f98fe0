//! Wire primitives: the integer, varint, string, bytes, array and uuid forms
//! every Kafka message is made of.
//!
//! [`Reader`] decodes from a [`Bytes`] buffer it borrows and hands out
//! zero-copy slices of it for strings, bytes and records. It tracks the
//! absolute byte offset so that every error names where it happened. The
//! `put_*` functions append to a [`BytesMut`].
//!
//! # Format
//!
//! ```text
//! int8/16/32/64, uint16/32, float64   big-endian, fixed width
//! unsigned varint                     7 bits per byte, low group first, high bit = more
//! varint / varlong                    zigzag-encoded signed value as an unsigned varint
//! string                              int16 length (-1 = null) + UTF-8 bytes
//! compact string                      unsigned varint (length + 1; 0 = null) + UTF-8 bytes
//! bytes                               int32 length (-1 = null) + bytes
//! compact bytes                       unsigned varint (length + 1; 0 = null) + bytes
//! array                               int32 count (-1 = null) + elements
//! compact array                       unsigned varint (count + 1; 0 = null) + elements
//! uuid                                16 bytes
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use super::error::{DecodeError, EncodeError};
use super::types::{Fixed, PrimArray, RawTaggedField, Records, Uuid};

/// A cursor over a frame that decodes Kafka primitives without copying.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    src: &'a Bytes,
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over all of `src`; offsets in errors count from its start.
    pub fn new(src: &'a Bytes) -> Self {
        Reader {
            src,
            pos: 0,
            end: src.len(),
        }
    }

    /// A reader over `src[start..end]` whose offsets still count from the start of `src`.
    pub fn with_range(src: &'a Bytes, start: usize, end: usize) -> Self {
        let end = end.min(src.len());
        Reader {
            src,
            pos: start.min(end),
            end,
        }
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left before the end of this reader's range.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }

    /// The whole buffer this reader was made over.
    pub fn source(&self) -> &'a Bytes {
        self.src
    }

    /// Moves back to `pos` (an offset this reader already passed), so that a
    /// value that failed to decode is left unread.
    pub(crate) fn rewind(&mut self, pos: usize) {
        if pos <= self.pos {
            self.pos = pos;
        }
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.pos == self.end {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                at: self.pos,
                count: self.end - self.pos,
            })
        }
    }

    #[inline]
    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.end - self.pos >= n {
            Ok(())
        } else {
            Err(DecodeError::Truncated {
                at: self.pos,
                needed: n,
                remaining: self.end - self.pos,
            })
        }
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.need(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.src[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }

    /// int8.
    #[inline]
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_be_bytes(self.array()?))
    }
    /// int16.
    #[inline]
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    /// int32.
    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    /// int64.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    /// uint16.
    #[inline]
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// uint32.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// float64 (IEEE 754, big-endian).
    #[inline]
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_be_bytes(self.array()?))
    }
    /// bool: one byte, any non-zero value is true (as Kafka reads it).
    #[inline]
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.i8()? != 0)
    }
    /// uuid: 16 bytes.
    #[inline]
    pub fn uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid(self.array()?))
    }

    /// Unsigned varint of at most 5 bytes (32 bits).
    #[inline]
    pub fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let v = self.uvarlong_max(5)?;
        u32::try_from(v).map_err(|_| DecodeError::InvalidVarint { at: self.pos })
    }

    /// Unsigned varint of at most 10 bytes (64 bits).
    #[inline]
    pub fn uvarlong(&mut self) -> Result<u64, DecodeError> {
        self.uvarlong_max(10)
    }

    #[inline]
    fn uvarlong_max(&mut self, max_len: usize) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..max_len {
            if self.pos >= self.end {
                self.pos = start;
                return Err(DecodeError::Truncated {
                    at: start,
                    needed: i + 1,
                    remaining: i,
                });
            }
            let b = self.src[self.pos];
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.pos = start;
        Err(DecodeError::InvalidVarint { at: start })
    }

    /// Zigzag varint (32 bits).
    #[inline]
    pub fn varint(&mut self) -> Result<i32, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i32) ^ -((u & 1) as i32))
    }

    /// Zigzag varlong (64 bits).
    #[inline]
    pub fn varlong(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarlong()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// `n` raw bytes as a zero-copy slice.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        self.need(n)?;
        let out = self.src.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(out)
    }

    /// Skips `n` bytes.
    #[inline]
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.need(n)?;
        self.pos += n;
        Ok(())
    }

    /// The length prefix of a string, bytes or array: `None` means null.
    /// Classic forms use `int16`/`int32` with -1 for null; compact forms use
    /// an unsigned varint holding length + 1, with 0 for null.
    #[inline]
    pub fn length(&mut self, kind: LenKind, compact: bool) -> Result<Option<usize>, DecodeError> {
        let at = self.pos;
        let n: i64 = if compact {
            i64::from(self.uvarint()?) - 1
        } else {
            match kind {
                LenKind::String => i64::from(self.i16()?),
                LenKind::Bytes | LenKind::Array => i64::from(self.i32()?),
            }
        };
        if n == -1 {
            return Ok(None);
        }
        if n < 0 {
            return Err(DecodeError::InvalidLength { at, len: n });
        }
        Ok(Some(n as usize))
    }

    fn utf8(&mut self, len: usize) -> Result<ByteString, DecodeError> {
        let at = self.pos;
        let raw = self.take(len)?;
        ByteString::try_from(raw).map_err(|_| DecodeError::InvalidUtf8 { at })
    }

    /// A non-nullable string (classic or compact).
    #[inline]
    pub fn string(&mut self, compact: bool) -> Result<ByteString, DecodeError> {
        let at = self.pos;
        match self.length(LenKind::String, compact)? {
            Some(n) => self.utf8(n),
            None => Err(DecodeError::UnexpectedNull { at }),
        }
    }

    /// A nullable string (classic or compact).
    #[inline]
    pub fn nullable_string(&mut self, compact: bool) -> Result<Option<ByteString>, DecodeError> {
        match self.length(LenKind::String, compact)? {
            Some(n) => self.utf8(n).map(Some),
            None => Ok(None),
        }
    }

    /// Non-nullable bytes (classic or compact), zero-copy.
    #[inline]
    pub fn bytes(&mut self, compact: bool) -> Result<Bytes, DecodeError> {
        let at = self.pos;
        match self.length(LenKind::Bytes, compact)? {
            Some(n) => self.take(n),
            None => Err(DecodeError::UnexpectedNull { at }),
        }
    }

    /// Nullable bytes (classic or compact), zero-copy.
    #[inline]
    pub fn nullable_bytes(&mut self, compact: bool) -> Result<Option<Bytes>, DecodeError> {
        match self.length(LenKind::Bytes, compact)? {
            Some(n) => self.take(n).map(Some),
            None => Ok(None),
        }
    }

    /// The element count of an array. Each element takes at least
    /// `min_elem` bytes (and never less than one, Kafka's own rule), so a
    /// count the remaining bytes cannot hold is rejected before anything is
    /// allocated for it.
    #[inline]
    pub fn array_len(
        &mut self,
        compact: bool,
        min_elem: usize,
    ) -> Result<Option<usize>, DecodeError> {
        let at = self.pos;
        let n = self.length(LenKind::Array, compact)?;
        if let Some(n) = n {
            if n.saturating_mul(min_elem.max(1)) > self.remaining() {
                return Err(DecodeError::InvalidLength { at, len: n as i64 });
            }
        }
        Ok(n)
    }

    /// A non-nullable array whose elements `elem` decodes.
    #[inline]
    pub fn array_of<T>(
        &mut self,
        compact: bool,
        min_elem: usize,
        mut elem: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let at = self.pos;
        match self.array_len(compact, min_elem)? {
            Some(n) => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(elem(self)?);
                }
                Ok(out)
            }
            None => Err(DecodeError::UnexpectedNull { at }),
        }
    }

    /// A nullable array whose elements `elem` decodes.
    #[inline]
    pub fn nullable_array_of<T>(
        &mut self,
        compact: bool,
        min_elem: usize,
        mut elem: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        match self.array_len(compact, min_elem)? {
            Some(n) => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(elem(self)?);
                }
                Ok(Some(out))
            }
            None => Ok(None),
        }
    }

    /// A non-nullable array of fixed-width values, kept as a zero-copy slice.
    #[inline]
    pub fn prim_array<T: Fixed>(&mut self, compact: bool) -> Result<PrimArray<T>, DecodeError> {
        let at = self.pos;
        self.nullable_prim_array(compact)?
            .ok_or(DecodeError::UnexpectedNull { at })
    }

    /// A nullable array of fixed-width values, kept as a zero-copy slice.
    #[inline]
    pub fn nullable_prim_array<T: Fixed>(
        &mut self,
        compact: bool,
    ) -> Result<Option<PrimArray<T>>, DecodeError> {
        match self.array_len(compact, T::WIDTH)? {
            Some(n) => Ok(Some(PrimArray::from_wire(self.take(n * T::WIDTH)?))),
            None => Ok(None),
        }
    }

    /// A tagged-field section: a count, then `tag, size, value` triples.
    /// `known` decodes the value of a tag the schema names (from a reader
    /// limited to its size) and returns `false` for a tag it does not know;
    /// those are kept in `unknown` byte for byte.
    pub fn tagged_fields(
        &mut self,
        unknown: &mut Vec<RawTaggedField>,
        mut known: impl FnMut(u32, &mut Reader<'a>) -> Result<bool, DecodeError>,
    ) -> Result<(), DecodeError> {
        let count = self.uvarint()?;
        for _ in 0..count {
            let tag = self.uvarint()?;
            let size_at = self.pos;
            let size = self.uvarint()? as usize;
            if size > self.remaining() {
                return Err(DecodeError::Truncated {
                    at: size_at,
                    needed: size,
                    remaining: self.remaining(),
                });
            }
            let mut sub = Reader::with_range(self.src, self.pos, self.pos + size);
            if known(tag, &mut sub)? {
                sub.finish()?;
            } else {
                unknown.push(RawTaggedField {
                    tag,
                    data: self.src.slice(self.pos..self.pos + size),
                });
            }
            self.pos += size;
        }
        Ok(())
    }
}

/// Where messages are encoded: a growing buffer, plus record chunks that
/// are spliced in by reference instead of copied (so a Fetch response can
/// go to the socket as a list of chunks, written with vectored I/O). It
/// derefs to its [`BytesMut`], so every `put_*` writes through it.
#[derive(Debug, Default)]
pub struct Writer {
    buf: BytesMut,
    /// `(position in buf, chunk)`: the chunk goes right before `buf[position]`.
    spliced: Vec<(usize, Bytes)>,
    spliced_len: usize,
}

impl Writer {
    /// Chunks smaller than this are copied: a syscall vector entry costs more.
    pub const SPLICE_MIN: usize = 1024;

    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: BytesMut::with_capacity(n),
            ..Writer::default()
        }
    }

    /// Empties the writer, keeping its buffer's capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spliced.clear();
        self.spliced_len = 0;
    }

    /// Appends `chunk`, by reference when it is large.
    pub fn splice(&mut self, chunk: &Bytes) {
        if chunk.len() < Self::SPLICE_MIN {
            self.buf.put_slice(chunk);
        } else {
            self.spliced_len += chunk.len();
            self.spliced.push((self.buf.len(), chunk.clone()));
        }
    }

    /// Total bytes written, spliced chunks included.
    pub fn total_len(&self) -> usize {
        self.buf.len() + self.spliced_len
    }

    /// The bytes as chunks, in order, without copying spliced ones.
    pub fn into_chunks(self) -> Vec<Bytes> {
        let mut buf = self.buf;
        let mut out = Vec::with_capacity(self.spliced.len() * 2 + 1);
        let mut taken = 0;
        for (pos, chunk) in self.spliced {
            let head = buf.split_to(pos - taken);
            taken = pos;
            if !head.is_empty() {
                out.push(head.freeze());
            }
            out.push(chunk);
        }
        if !buf.is_empty() {
            out.push(buf.freeze());
        }
        out
    }

    /// The bytes in one buffer (copies spliced chunks, if any).
    pub fn freeze(self) -> Bytes {
        if self.spliced.is_empty() {
            return self.buf.freeze();
        }
        let total = self.total_len();
        let mut out = BytesMut::with_capacity(total);
        for c in self.into_chunks() {
            out.put_slice(&c);
        }
        out.freeze()
    }

    /// Overwrites `buf[at..at + bytes.len()]` (a size prefix written earlier).
    pub fn patch(&mut self, at: usize, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
}

impl std::ops::Deref for Writer {
    type Target = BytesMut;
    fn deref(&self) -> &BytesMut {
        &self.buf
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

/// Appends a record set (classic or compact bytes), splicing its chunks.
#[inline]
pub fn put_records(w: &mut Writer, compact: bool, r: &Records) -> Result<(), EncodeError> {
    put_length(w, LenKind::Bytes, compact, Some(r.len()))?;
    for c in r.chunks() {
        w.splice(c);
    }
    Ok(())
}

/// Appends a nullable record set.
#[inline]
pub fn put_nullable_records(
    w: &mut Writer,
    compact: bool,
    r: Option<&Records>,
) -> Result<(), EncodeError> {
    match r {
        Some(r) => put_records(w, compact, r),
        None => put_length(w, LenKind::Bytes, compact, None),
    }
}

/// Which classic length prefix a value uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LenKind {
    /// int16 length.
    String,
    /// int32 length.
    Bytes,
    /// int32 count.
    Array,
}

/// Appends an unsigned varint.
#[inline]
pub fn put_uvarint(w: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        w.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    w.put_u8(v as u8);
}

/// Appends a zigzag varint.
#[inline]
pub fn put_varint(w: &mut BytesMut, v: i32) {
    put_uvarint(w, u64::from(((v << 1) ^ (v >> 31)) as u32));
}

/// Appends a zigzag varlong.
#[inline]
pub fn put_varlong(w: &mut BytesMut, v: i64) {
    put_uvarint(w, ((v << 1) ^ (v >> 63)) as u64);
}

/// How many bytes [`put_uvarint`] writes for `v`.
#[inline]
pub fn uvarint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Appends a length prefix (`None` = null) in classic or compact form.
#[inline]
pub fn put_length(
    w: &mut BytesMut,
    kind: LenKind,
    compact: bool,
    len: Option<usize>,
) -> Result<(), EncodeError> {
    if compact {
        let v = match len {
            Some(n) => u64::try_from(n).unwrap_or(u64::MAX).saturating_add(1),
            None => 0,
        };
        if v > u64::from(u32::MAX) {
            return Err(EncodeError::TooLong {
                len: len.unwrap_or(0),
            });
        }
        put_uvarint(w, v);
    } else {
        match kind {
            LenKind::String => {
                let v = match len {
                    Some(n) => i16::try_from(n).map_err(|_| EncodeError::TooLong { len: n })?,
                    None => -1,
                };
                w.put_i16(v);
            }
            LenKind::Bytes | LenKind::Array => {
                let v = match len {
                    Some(n) => i32::try_from(n).map_err(|_| EncodeError::TooLong { len: n })?,
                    None => -1,
                };
                w.put_i32(v);
            }
        }
    }
    Ok(())
}

/// Appends a string (classic or compact).
#[inline]
pub fn put_string(w: &mut BytesMut, compact: bool, s: &str) -> Result<(), EncodeError> {
    put_length(w, LenKind::String, compact, Some(s.len()))?;
    w.put_slice(s.as_bytes());
    Ok(())
}

/// Appends a nullable string (classic or compact).
#[inline]
pub fn put_nullable_string(
    w: &mut BytesMut,
    compact: bool,
    s: Option<&str>,
) -> Result<(), EncodeError> {
    match s {
        Some(s) => put_string(w, compact, s),
        None => put_length(w, LenKind::String, compact, None),
    }
}

/// Appends bytes (classic or compact).
#[inline]
pub fn put_bytes(w: &mut BytesMut, compact: bool, b: &[u8]) -> Result<(), EncodeError> {
    put_length(w, LenKind::Bytes, compact, Some(b.len()))?;
    w.put_slice(b);
    Ok(())
}

/// Appends nullable bytes (classic or compact).
#[inline]
pub fn put_nullable_bytes(
    w: &mut BytesMut,
    compact: bool,
    b: Option<&[u8]>,
) -> Result<(), EncodeError> {
    match b {
        Some(b) => put_bytes(w, compact, b),
        None => put_length(w, LenKind::Bytes, compact, None),
    }
}

/// Appends an array: its count, then each element through `elem`.
#[inline]
pub fn put_array<T>(
    w: &mut Writer,
    compact: bool,
    items: &[T],
    mut elem: impl FnMut(&mut Writer, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    put_length(w, LenKind::Array, compact, Some(items.len()))?;
    for item in items {
        elem(w, item)?;
    }
    Ok(())
}

/// Appends a nullable array.
#[inline]
pub fn put_nullable_array<T>(
    w: &mut Writer,
    compact: bool,
    items: Option<&[T]>,
    elem: impl FnMut(&mut Writer, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    match items {
        Some(items) => put_array(w, compact, items, elem),
        None => put_length(w, LenKind::Array, compact, None),
    }
}

/// Appends an array of fixed-width values.
#[inline]
pub fn put_prim_array<T: Fixed>(
    w: &mut BytesMut,
    compact: bool,
    items: &PrimArray<T>,
) -> Result<(), EncodeError> {
    put_length(w, LenKind::Array, compact, Some(items.len()))?;
    w.put_slice(items.as_wire());
    Ok(())
}

/// Appends a nullable array of fixed-width values.
#[inline]
pub fn put_nullable_prim_array<T: Fixed>(
    w: &mut BytesMut,
    compact: bool,
    items: Option<&PrimArray<T>>,
) -> Result<(), EncodeError> {
    match items {
        Some(items) => put_prim_array(w, compact, items),
        None => put_length(w, LenKind::Array, compact, None),
    }
}

/// Appends one tagged field: tag, size, then the bytes `body` writes.
pub fn put_tagged(
    w: &mut Writer,
    tag: u32,
    body: impl FnOnce(&mut Writer) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let mut scratch = Writer::new();
    body(&mut scratch)?;
    let scratch = scratch.freeze();
    put_uvarint(w, u64::from(tag));
    put_uvarint(w, scratch.len() as u64);
    w.put_slice(&scratch);
    Ok(())
}

/// Appends the unknown tagged fields whose tags lie in `range`, as they came.
pub fn put_raw_tagged(w: &mut BytesMut, unknown: &[RawTaggedField], range: std::ops::Range<u64>) {
    for f in unknown {
        if range.contains(&u64::from(f.tag)) {
            put_uvarint(w, u64::from(f.tag));
            put_uvarint(w, f.data.len() as u64);
            w.put_slice(&f.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_kafka_examples() {
        let mut w = BytesMut::new();
        put_uvarint(&mut w, 300);
        assert_eq!(&w[..], &[0xac, 0x02]);
        let mut w = BytesMut::new();
        put_varint(&mut w, -1);
        put_varint(&mut w, 1);
        put_varint(&mut w, i32::MIN);
        let b = w.freeze();
        let mut r = Reader::new(&b);
        assert_eq!(r.varint().unwrap(), -1);
        assert_eq!(r.varint().unwrap(), 1);
        assert_eq!(r.varint().unwrap(), i32::MIN);
        r.finish().unwrap();
    }

    #[test]
    fn uvarint_len_counts_groups() {
        for v in [
            0u64,
            1,
            127,
            128,
            16383,
            16384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut w = BytesMut::new();
            put_uvarint(&mut w, v);
            assert_eq!(w.len(), uvarint_len(v), "{v}");
        }
    }

    #[test]
    fn overlong_varint_is_an_error_not_a_panic() {
        let b = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        let mut r = Reader::new(&b);
        assert_eq!(r.uvarint(), Err(DecodeError::InvalidVarint { at: 0 }));
    }

    #[test]
    fn truncated_reads_name_offset_and_need() {
        let b = Bytes::from_static(&[0, 0, 0]);
        let mut r = Reader::new(&b);
        r.i8().unwrap();
        assert_eq!(
            r.i32(),
            Err(DecodeError::Truncated {
                at: 1,
                needed: 4,
                remaining: 2
            })
        );
    }

    #[test]
    fn huge_array_count_is_rejected_before_allocating() {
        let b = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0]);
        let mut r = Reader::new(&b);
        assert!(matches!(
            r.array_of(false, 4, |r| r.i32()),
            Err(DecodeError::InvalidLength { at: 0, .. })
        ));
    }
}
