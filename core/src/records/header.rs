//! The 61-byte header of a v2 record batch and its attribute bits, apart
//! from the batch's decoding and encoding (`batch`) and its zero-copy
//! view (`view`), which both use it.

use bytes::{BufMut, BytesMut};

use super::{Compression, TimestampType};

/// Attribute bit 3: timestamps are log-append times.
pub(crate) const ATTR_LOG_APPEND_TIME: i16 = 1 << 3;
/// Attribute bit 4: the batch is part of a transaction.
pub(crate) const ATTR_TRANSACTIONAL: i16 = 1 << 4;
/// Attribute bit 5: the batch holds control records.
pub(crate) const ATTR_CONTROL: i16 = 1 << 5;
/// Attribute bit 6: the batch carries a delete horizon (compaction).
pub(crate) const ATTR_DELETE_HORIZON: i16 = 1 << 6;

/// Offset of the first byte the CRC covers (attributes).
pub(crate) const CRC_START: usize = 21;

/// The 61-byte header of a v2 record batch, every field as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after this field: everything from partitionLeaderEpoch to the end.
    pub batch_length: i32,
    /// Epoch of the leader that appended the batch (-1 from producers).
    pub partition_leader_epoch: i32,
    /// Format version: 2.
    pub magic: i8,
    /// CRC-32C over attributes through the end of the batch.
    pub crc: u32,
    /// Codec, timestamp type, transactional, control and delete-horizon bits.
    pub attributes: i16,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp the record timestamp deltas count from.
    pub base_timestamp: i64,
    /// Largest record timestamp (or the append time under LogAppendTime).
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id, -1 for none.
    pub producer_id: i64,
    /// Producer epoch, -1 for none.
    pub producer_epoch: i16,
    /// Sequence number of the first record, -1 for none.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

impl BatchHeader {
    /// The codec in attribute bits 0-2, `None` if they hold an undefined value.
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_id((self.attributes & 0x7) as u8)
    }

    /// The timestamp type in attribute bit 3.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & ATTR_LOG_APPEND_TIME != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Attribute bit 4.
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// Attribute bit 5.
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    /// Attribute bit 6: compaction set a delete horizon in `base_timestamp`.
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & ATTR_DELETE_HORIZON != 0
    }

    /// Offset of the last record (`base_offset + last_offset_delta`, wrapping).
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .wrapping_add(i64::from(self.last_offset_delta))
    }

    pub(super) fn put(&self, w: &mut BytesMut) {
        w.put_i64(self.base_offset);
        w.put_i32(self.batch_length);
        w.put_i32(self.partition_leader_epoch);
        w.put_i8(self.magic);
        w.put_u32(self.crc);
        w.put_i16(self.attributes);
        w.put_i32(self.last_offset_delta);
        w.put_i64(self.base_timestamp);
        w.put_i64(self.max_timestamp);
        w.put_i64(self.producer_id);
        w.put_i16(self.producer_epoch);
        w.put_i32(self.base_sequence);
        w.put_i32(self.records_count);
    }
}
