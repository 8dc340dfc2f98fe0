//! Wire primitives: the integer, varint, string, bytes, array and uuid forms
//! every Kafka message is made of.
//!
//! [`Reader`] decodes from a [`Bytes`](bytes::Bytes) buffer it borrows and hands out
//! zero-copy slices of it for strings, bytes and records. It tracks the
//! absolute byte offset so that every error names where it happened. The
//! `put_*` functions append to a [`BytesMut`](bytes::BytesMut).
//!
//! Decoding is in `reader.rs` ([`Reader`]); the encoding buffer in
//! `writer.rs` ([`Writer`]); the `put_*` functions in `put.rs`.
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

mod put;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use put::{
    put_array, put_bytes, put_length, put_nullable_array, put_nullable_bytes,
    put_nullable_prim_array, put_nullable_records, put_nullable_string, put_prim_array,
    put_raw_tagged, put_records, put_string, put_tagged, put_uvarint, put_varint, put_varlong,
    uvarint_len,
};
pub use reader::Reader;
pub use writer::Writer;

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
