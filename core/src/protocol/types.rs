//! Value types shared by every message: [`Uuid`], [`RawTaggedField`] and
//! [`PrimArray`].

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

/// A Kafka UUID (topic ids, member ids, ...): 16 bytes.
///
/// Displays the way Kafka's tools print it: URL-safe base64 without padding
/// (`AAAAAAAAAAAAAAAAAAAAAA` is the zero uuid).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero uuid, Kafka's "no id".
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        let mut out = String::with_capacity(22);
        let mut i = 0;
        while i + 3 <= b.len() {
            let n = (u32::from(b[i]) << 16) | (u32::from(b[i + 1]) << 8) | u32::from(b[i + 2]);
            for shift in [18, 12, 6, 0] {
                out.push(B64URL[((n >> shift) & 63) as usize] as char);
            }
            i += 3;
        }
        // 16 = 5*3 + 1: one byte left, two base64 characters, no padding.
        let n = u32::from(b[15]) << 16;
        out.push(B64URL[((n >> 18) & 63) as usize] as char);
        out.push(B64URL[((n >> 12) & 63) as usize] as char);
        f.write_str(&out)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A tagged field the schema does not know, kept byte for byte so that
/// re-encoding a message gives back the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawTaggedField {
    /// The tag number.
    pub tag: u32,
    /// The field's value bytes, without tag and size.
    pub data: Bytes,
}

/// A fixed-width type that can be an element of a [`PrimArray`].
pub trait Fixed: Copy + PartialEq + fmt::Debug + Serialize + 'static {
    /// Bytes per element on the wire.
    const WIDTH: usize;
    /// Reads one element from exactly `WIDTH` big-endian bytes.
    fn read(b: &[u8]) -> Self;
    /// Appends one element.
    fn put(self, w: &mut BytesMut);
    /// Writes one element into exactly `WIDTH` bytes.
    fn write_to(self, out: &mut [u8]);
}

macro_rules! fixed_int {
    ($($t:ty),*) => {$(
        impl Fixed for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            #[inline]
            fn read(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_be_bytes(a)
            }
            #[inline]
            fn put(self, w: &mut BytesMut) {
                w.put_slice(&self.to_be_bytes());
            }
            #[inline]
            fn write_to(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_be_bytes());
            }
        }
    )*};
}
fixed_int!(i8, i16, i32, i64, u16, u32, f64);

impl Fixed for Uuid {
    const WIDTH: usize = 16;
    #[inline]
    fn read(b: &[u8]) -> Self {
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Uuid(a)
    }
    #[inline]
    fn put(self, w: &mut BytesMut) {
        w.put_slice(&self.0);
    }
    #[inline]
    fn write_to(self, out: &mut [u8]) {
        out.copy_from_slice(&self.0);
    }
}

/// An array of fixed-width values (`[]int32` replica lists, `[]uuid` topic
/// ids, ...), held in its wire form: the elements' big-endian bytes. A
/// short array (up to [`PrimArray::INLINE`] bytes: five `int32`s, one
/// `uuid`) is kept inline, so decoding or building it touches no allocator
/// and no reference count; a longer decoded array is a zero-copy slice of
/// the frame. Elements are read as they are asked for. Arrays built in code
/// encode their elements once, at construction.
#[derive(Clone)]
pub struct PrimArray<T: Fixed> {
    repr: Repr,
    _elem: std::marker::PhantomData<T>,
}

/// A [`PrimArray`]'s `len * WIDTH` wire bytes.
#[derive(Clone)]
enum Repr {
    /// Byte 0 holds the length, bytes 1..=length the elements.
    Inline(InlineWire),
    /// Longer arrays: a slice of the frame, or bytes built in code.
    Shared(Bytes),
}

/// An inline array's 24 bytes: its length, then up to 23 bytes of elements.
/// Aligned to 8 so that it is written and copied in whole words.
#[derive(Clone)]
#[repr(C, align(8))]
struct InlineWire([u8; 24]);

impl<T: Fixed> PrimArray<T> {
    /// Arrays of up to this many wire bytes are held inline (23: with
    /// the length byte, the inline form is no larger than a `Bytes`, so a
    /// `PrimArray` stays 32 bytes).
    pub const INLINE: usize = 23;

    /// An empty array.
    pub const fn new() -> Self {
        PrimArray {
            repr: Repr::Inline(InlineWire([0; 24])),
            _elem: std::marker::PhantomData,
        }
    }

    /// An array over wire bytes (`bytes.len()` must be a multiple of the width).
    pub(crate) fn from_wire(bytes: Bytes) -> Self {
        if bytes.len() <= Self::INLINE {
            return Self::from_wire_slice(&bytes);
        }
        PrimArray {
            repr: Repr::Shared(bytes),
            _elem: std::marker::PhantomData,
        }
    }

    /// An inline array copied from `wire` (at most [`Self::INLINE`] bytes,
    /// a multiple of the width).
    pub(crate) fn from_wire_slice(wire: &[u8]) -> Self {
        debug_assert!(wire.len() <= Self::INLINE);
        let mut buf = [0; 24];
        buf[0] = wire.len() as u8;
        buf[1..=wire.len()].copy_from_slice(wire);
        PrimArray {
            repr: Repr::Inline(InlineWire(buf)),
            _elem: std::marker::PhantomData,
        }
    }

    /// An inline array from 24 bytes of a frame that start at the last
    /// byte of the array's count, `len` (at most [`Self::INLINE`], a
    /// multiple of the width) being the elements' length: that byte is
    /// replaced by `len`, the bytes after the elements kept but never read. Built in
    /// three 8-byte words, so the copies that follow (into a struct, into
    /// a `Vec`) read what was stored whole, without a store-forwarding stall.
    #[inline(always)]
    pub(crate) fn from_counted_window(window: &[u8; 24], len: usize) -> Self {
        debug_assert!(len <= Self::INLINE);
        let word =
            |i: usize| u64::from_le_bytes(window[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let w0 = (word(0) & !0xff) | len as u64;
        let mut buf = [0; 24];
        buf[..8].copy_from_slice(&w0.to_le_bytes());
        buf[8..16].copy_from_slice(&word(1).to_le_bytes());
        buf[16..].copy_from_slice(&word(2).to_le_bytes());
        PrimArray {
            repr: Repr::Inline(InlineWire(buf)),
            _elem: std::marker::PhantomData,
        }
    }

    /// The elements' wire bytes.
    #[inline]
    fn wire(&self) -> &[u8] {
        match &self.repr {
            Repr::Inline(InlineWire(buf)) => &buf[1..=usize::from(buf[0])],
            Repr::Shared(b) => b,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.wire().len() / T::WIDTH
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.wire().is_empty()
    }

    /// The element at `i`.
    pub fn get(&self, i: usize) -> Option<T> {
        self.wire()
            .get(i * T::WIDTH..(i + 1) * T::WIDTH)
            .map(T::read)
    }

    /// The elements in order.
    pub fn iter(&self) -> PrimIter<'_, T> {
        PrimIter {
            chunks: self.wire().chunks_exact(T::WIDTH),
            _elem: std::marker::PhantomData,
        }
    }

    /// The elements as a new `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }

    /// Whether `x` is one of the elements.
    pub fn contains(&self, x: T) -> bool {
        self.iter().any(|y| y == x)
    }

    /// The elements' wire bytes (without a count).
    pub fn as_wire(&self) -> &[u8] {
        self.wire()
    }
}

/// Iterator over a [`PrimArray`].
pub struct PrimIter<'a, T> {
    chunks: std::slice::ChunksExact<'a, u8>,
    _elem: std::marker::PhantomData<T>,
}

impl<T: Fixed> Iterator for PrimIter<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        self.chunks.next().map(T::read)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl<T: Fixed> ExactSizeIterator for PrimIter<'_, T> {}

impl<'a, T: Fixed> IntoIterator for &'a PrimArray<T> {
    type Item = T;
    type IntoIter = PrimIter<'a, T>;
    fn into_iter(self) -> PrimIter<'a, T> {
        self.iter()
    }
}

impl<T: Fixed> PartialEq for PrimArray<T> {
    fn eq(&self, other: &Self) -> bool {
        self.wire() == other.wire()
    }
}

impl<T: Fixed> Eq for PrimArray<T> {}

impl<T: Fixed> std::hash::Hash for PrimArray<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.wire().hash(h);
    }
}

impl<T: Fixed> Default for PrimArray<T> {
    fn default() -> Self {
        PrimArray::new()
    }
}

impl<T: Fixed> fmt::Debug for PrimArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Fixed> Serialize for PrimArray<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for x in self.iter() {
            seq.serialize_element(&x)?;
        }
        seq.end()
    }
}

impl<T: Fixed> FromIterator<T> for PrimArray<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        let mut buf = [0u8; PrimArray::<i8>::INLINE];
        let mut n = 0;
        let mut it = it.into_iter();
        while let Some(x) = it.next() {
            if n + T::WIDTH > Self::INLINE {
                // Too long to hold inline: the rest goes to shared bytes.
                let mut w = BytesMut::with_capacity(n + T::WIDTH * (1 + it.size_hint().0));
                w.put_slice(&buf[..n]);
                x.put(&mut w);
                for y in it {
                    y.put(&mut w);
                }
                return PrimArray::from_wire(w.freeze());
            }
            x.write_to(&mut buf[n..n + T::WIDTH]);
            n += T::WIDTH;
        }
        PrimArray::from_wire_slice(&buf[..n])
    }
}

impl<T: Fixed> From<Vec<T>> for PrimArray<T> {
    fn from(v: Vec<T>) -> Self {
        v.into_iter().collect()
    }
}

impl<T: Fixed> From<&[T]> for PrimArray<T> {
    fn from(v: &[T]) -> Self {
        v.iter().copied().collect()
    }
}

impl<T: Fixed, const N: usize> From<[T; N]> for PrimArray<T> {
    fn from(v: [T; N]) -> Self {
        v.into_iter().collect()
    }
}

/// The records of a Produce request or Fetch response: one or more chunks
/// of whole record batches, as they travel. A decoded set is one zero-copy
/// slice of the frame; a Fetch answer is the chunks storage handed out,
/// written to the socket as they are (see [`Writer`](super::wire::Writer))
/// and never copied into a response buffer.
#[derive(Clone, Default)]
pub struct Records {
    first: Bytes,
    rest: Vec<Bytes>,
}

impl Records {
    /// No records.
    pub fn new() -> Self {
        Records::default()
    }

    /// Records in several chunks, in order.
    pub fn from_chunks(chunks: Vec<Bytes>) -> Self {
        let mut it = chunks.into_iter().filter(|c| !c.is_empty());
        let first = it.next().unwrap_or_default();
        Records {
            first,
            rest: it.collect(),
        }
    }

    /// Total size in bytes.
    pub fn len(&self) -> usize {
        self.first.len() + self.rest.iter().map(Bytes::len).sum::<usize>()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty() && self.rest.is_empty()
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> impl Iterator<Item = &Bytes> {
        std::iter::once(&self.first)
            .chain(self.rest.iter())
            .filter(|c| !c.is_empty())
    }

    /// The bytes in one buffer: free for a single chunk, a copy otherwise.
    pub fn to_bytes(&self) -> Bytes {
        if self.rest.is_empty() {
            return self.first.clone();
        }
        let mut w = BytesMut::with_capacity(self.len());
        for c in self.chunks() {
            w.put_slice(c);
        }
        w.freeze()
    }
}

impl From<Bytes> for Records {
    fn from(b: Bytes) -> Self {
        Records {
            first: b,
            rest: Vec::new(),
        }
    }
}

impl PartialEq for Records {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.to_bytes() == other.to_bytes()
    }
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Records({} bytes in {} chunks)",
            self.len(),
            self.chunks().count()
        )
    }
}

impl Serialize for Records {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_bytes().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prim_arrays_compare_by_elements_whatever_their_form() {
        let wire = PrimArray::<i32>::from_wire(Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 2]));
        let owned = PrimArray::from(vec![1, 2]);
        assert_eq!(wire, owned);
        assert_eq!(wire.len(), 2);
        assert_eq!(wire.get(1), Some(2));
        assert_eq!(wire.get(2), None);
        assert_eq!(format!("{wire:?}"), "[1, 2]");
        assert_eq!(owned.as_wire(), &[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(PrimArray::<i32>::from(vec![]), PrimArray::new());
    }

    #[test]
    fn short_arrays_are_inline_and_long_ones_shared_with_the_same_elements() {
        use std::hash::{BuildHasher as _, RandomState};
        for n in [0usize, 1, 5, 6, 7, 40] {
            let elems: Vec<i32> = (0..n as i32).map(|i| i * 1_000_003 - 7).collect();
            let built = PrimArray::from(elems.clone());
            let wire_bytes: Vec<u8> = elems.iter().flat_map(|x| x.to_be_bytes()).collect();
            let decoded = PrimArray::<i32>::from_wire(Bytes::from(wire_bytes.clone()));
            let inline = n * 4 <= PrimArray::<i32>::INLINE;
            assert_eq!(matches!(built.repr, Repr::Inline(..)), inline, "{n} built");
            assert_eq!(
                matches!(decoded.repr, Repr::Inline(..)),
                inline,
                "{n} decoded"
            );
            assert_eq!(built, decoded);
            assert_eq!(built.to_vec(), elems);
            assert_eq!(decoded.as_wire(), &wire_bytes[..]);
            let h = RandomState::new();
            assert_eq!(h.hash_one(&built), h.hash_one(&decoded));
        }
        let uuids = PrimArray::from(vec![Uuid([7; 16]), Uuid([9; 16])]);
        assert_eq!(uuids.get(1), Some(Uuid([9; 16])));
        assert_eq!(uuids.len(), 2);
    }

    #[test]
    fn a_decoded_array_is_the_same_whichever_path_reads_it() {
        use crate::protocol::wire::Reader;
        assert_eq!(std::mem::size_of::<PrimArray<i32>>(), 32);
        for n in [0usize, 1, 3, 5, 6, 40] {
            let elems: Vec<i32> = (0..n as i32).map(|i| 0x0102_0304 * (i + 1)).collect();
            let body: Vec<u8> = elems.iter().flat_map(|x| x.to_be_bytes()).collect();
            for compact in [false, true] {
                let mut count = if compact {
                    vec![n as u8 + 1]
                } else {
                    (n as i32).to_be_bytes().to_vec()
                };
                count.extend_from_slice(&body);
                // At the very end of a frame (no whole window after the
                // count: the careful path) and with bytes after it (the
                // window path), which a bounded reader must not take.
                for tail in [0usize, 30] {
                    let mut frame = count.clone();
                    frame.extend(std::iter::repeat_n(0xee, tail));
                    let src = Bytes::from(frame);
                    let mut r = Reader::with_range(&src, 0, count.len());
                    let a = r.prim_array::<i32>(compact).expect("decodes");
                    assert_eq!(a.to_vec(), elems, "n {n} compact {compact} tail {tail}");
                    assert_eq!(r.remaining(), 0);
                    // One byte short is an error on either path.
                    let mut short = Reader::with_range(&src, 0, count.len() - 1);
                    if n > 0 {
                        assert!(short.prim_array::<i32>(compact).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn uuid_displays_as_kafka_base64() {
        assert_eq!(Uuid::ZERO.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(Uuid([0xff; 16]).to_string(), "_____________________w");
    }
}
