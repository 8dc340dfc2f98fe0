//! [`Reader`]: decodes Kafka primitives from a frame without copying.

use bytes::Bytes;
use bytestring::ByteString;

use super::LenKind;
use crate::protocol::error::DecodeError;
use crate::protocol::types::{Fixed, PrimArray, RawTaggedField, Uuid};

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
    // Inlined at each of its ~80 call sites natively; the playground's wasm
    // (built for size) leaves the choice to the compiler.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline)]
    pub fn prim_array<T: Fixed>(&mut self, compact: bool) -> Result<PrimArray<T>, DecodeError> {
        // The common case, kept inline in the caller: an array short enough
        // to hold inline, its count in one byte (compact) or four, and the
        // frame holding a whole window from the count's last byte on. The
        // array is built from that window in whole words; building it
        // byte-wise through `Option` on the stack cost a store-forwarding
        // stall per array, a third of a Metadata decode.
        let p = self.pos;
        let count = if compact {
            match self.src.get(p) {
                Some(&b) if (1..0x80).contains(&b) => Some((1, usize::from(b) - 1)),
                _ => None,
            }
        } else {
            match self.src.get(p..p + 4) {
                Some(c) => usize::try_from(i32::from_be_bytes(c.try_into().expect("4 bytes")))
                    .ok()
                    .map(|n| (4, n)),
                None => None,
            }
        };
        if let Some((count_len, n)) = count {
            let data = p + count_len;
            if n <= PrimArray::<T>::INLINE / T::WIDTH && data + n * T::WIDTH <= self.end {
                if let Some(w) = self.src.get(data - 1..data + 23) {
                    self.pos = data + n * T::WIDTH;
                    return Ok(PrimArray::from_counted_window(
                        w.try_into().expect("24 bytes"),
                        n * T::WIDTH,
                    ));
                }
            }
        }
        self.prim_array_slow(compact)
    }

    #[inline(never)]
    fn prim_array_slow<T: Fixed>(&mut self, compact: bool) -> Result<PrimArray<T>, DecodeError> {
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
            Some(n) if n * T::WIDTH <= PrimArray::<T>::INLINE => {
                let len = n * T::WIDTH;
                self.need(len)?;
                let start = self.pos;
                self.pos += len;
                Ok(Some(PrimArray::from_wire_slice(
                    &self.src[start..start + len],
                )))
            }
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
