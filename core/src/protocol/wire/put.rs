//! The `put_*` functions: each appends one wire form (varint, length
//! prefix, string, bytes, array, record set, tagged field) to a buffer.

use bytes::{BufMut, BytesMut};

use super::{LenKind, Writer};
use crate::protocol::error::EncodeError;
use crate::protocol::types::{Fixed, PrimArray, RawTaggedField, Records};

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
