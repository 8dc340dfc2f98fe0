//! Records: Kafka's on-disk and on-wire record formats.
//!
//! - [`RecordBatch`] (magic 2, Kafka 0.11+): a 61-byte header protected by
//!   CRC-32C, then varint-framed records with headers. Decoding is zero-copy:
//!   keys, values and header values are [`Bytes`](bytes::Bytes) slices of the input.
//! - [`LegacyMessage`] (magic 0 and 1): the MessageSet format, one message per
//!   entry, protected by CRC-32 (IEEE).
//! - [`batches`]: walk a record set (several concatenated batches, as a
//!   Produce request or a Fetch response carries them), reading each
//!   batch's header cheaply and reporting a truncated tail as
//!   [`SetEntry::Partial`] rather than an error.
//! - [`set_base_offset`], [`set_partition_leader_epoch`], [`assign_offsets`]:
//!   rewrite a v2 batch's offsets in place (the CRC does not cover them).
//! - [`crate::annotate::annotate_record_set`] (in the annotator): a span
//!   for every byte of a record set.
//!
//! Compressed batches are decoded down to their header; their payload is
//! handed out as-is ([`BatchRecords::Compressed`]) until codecs arrive.
//!
//! # Format
//!
//! ```text
//! RecordBatch (magic 2)                     Record
//!   0 baseOffset            int64             length          varint (bytes that follow)
//!   8 batchLength           int32             attributes      int8
//!  12 partitionLeaderEpoch  int32             timestampDelta  varlong
//!  16 magic                 int8  (2)         offsetDelta     varint
//!  17 crc                   uint32 CRC-32C    keyLength       varint (-1 = null)
//!  21 attributes            int16  ─┐         key
//!  23 lastOffsetDelta       int32   │         valueLength     varint (-1 = null)
//!  27 baseTimestamp         int64   │ CRC     value
//!  35 maxTimestamp          int64   │ covers  headersCount    varint
//!  43 producerId            int64   │ these   headers: keyLength varint, key,
//!  51 producerEpoch         int16   │                  valueLength varint (-1 = null), value
//!  53 baseSequence          int32   │
//!  57 recordsCount          int32   │
//!  61 records ...                  ─┘
//!
//! Message (magic 0 / 1)
//!   0 offset                int64
//!   8 messageSize           int32 (bytes that follow)
//!  12 crc                   uint32 CRC-32 (IEEE) over magic..end
//!  16 magic                 int8
//!  17 attributes            int8  (bits 0-2 codec, bit 3 timestamp type in v1)
//!  18 timestamp             int64 (v1 only)
//!     key                   int32 length (-1 = null) + bytes
//!     value                 int32 length (-1 = null) + bytes
//! ```
//!
//! Attributes of a v2 batch: bits 0-2 codec (0 none, 1 gzip, 2 snappy,
//! 3 lz4, 4 zstd), bit 3 timestamp type (0 create, 1 log append), bit 4
//! transactional, bit 5 control, bit 6 delete horizon set.

use std::fmt;

use crate::protocol::error::DecodeError;

mod batch;
mod builder;
pub(crate) mod compression;
mod control;
mod header;
pub(crate) mod legacy;
mod set;
#[cfg(test)]
mod tests;
pub mod validate;
mod view;

pub use batch::{BatchHeader, BatchRecords, Header, Record, RecordBatch};
pub use builder::{encode_records, RecordBatchBuilder};
pub use compression::{compress, decompress, CodecError};
pub use control::{ControlRecord, ControlRecordType, EndTxnMarker};
pub use legacy::{decode_message_set, encode_message_set, LegacyMessage};
pub use set::{
    assign_offsets, batches, set_base_offset, set_partition_leader_epoch, AnyBatch, BatchInfo,
    Batches, RawBatch, SetEntry,
};
pub use validate::{
    down_convert, validate_and_assign, AppendContext, AppendError, Appended, AppendedBatch,
    CompressionTarget, ConvertError, RecordError,
};
pub use view::{BatchView, RecordView, RecordViews};

pub(crate) use batch::{
    ATTR_CONTROL, ATTR_DELETE_HORIZON, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL,
};

/// Bytes before a batch's own length count starts: baseOffset (or offset)
/// and batchLength (or messageSize). Kafka calls this `LOG_OVERHEAD`.
pub const LOG_OVERHEAD: usize = 12;

/// Size of a v2 batch header, baseOffset through recordsCount.
pub const V2_HEADER_LEN: usize = 61;

/// Offset of the magic byte in every format.
pub const MAGIC_OFFSET: usize = 16;

/// The codec of a batch's records (attribute bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Snappy, in the xerial framing Kafka uses.
    Snappy,
    /// LZ4 frame format.
    Lz4,
    /// Zstandard (magic 2 only).
    Zstd,
}

impl Compression {
    /// The codec for attribute bits 0-2, or `None` for 5-7, which Kafka does
    /// not define.
    pub fn from_id(id: u8) -> Option<Compression> {
        Some(match id {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => return None,
        })
    }

    /// The value of attribute bits 0-2.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Kafka's name for the codec (`compression.type`): `none`, `gzip`, ...
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a batch's timestamps mean (attribute bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Set by the producer when it created the record.
    CreateTime,
    /// Set by the broker when it appended the batch.
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's name: `CreateTime` or `LogAppendTime`.
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// Why a record batch or message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordsError {
    /// The bytes do not follow the format (truncated, bad length, bad magic...).
    Decode(DecodeError),
    /// The checksum stored in the batch or message differs from the one
    /// computed over its bytes: the data was corrupted.
    CrcMismatch {
        /// Offset of the stored crc field.
        at: usize,
        /// The crc stored in the bytes.
        expected: u32,
        /// The crc computed over the bytes it covers.
        computed: u32,
    },
}

impl RecordsError {
    /// The offset at which decoding stopped.
    pub fn offset(&self) -> usize {
        match self {
            RecordsError::Decode(e) => e.offset(),
            RecordsError::CrcMismatch { at, .. } => *at,
        }
    }
}

impl From<DecodeError> for RecordsError {
    fn from(e: DecodeError) -> Self {
        RecordsError::Decode(e)
    }
}

impl fmt::Display for RecordsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordsError::Decode(e) => e.fmt(f),
            RecordsError::CrcMismatch {
                at,
                expected,
                computed,
            } => write!(
                f,
                "at byte {at}: crc mismatch: expected 0x{expected:08x}, computed 0x{computed:08x}"
            ),
        }
    }
}

impl std::error::Error for RecordsError {}
