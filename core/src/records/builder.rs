//! [`RecordBatchBuilder`]: a v2 batch from records, derived header fields computed.

use bytes::{Bytes, BytesMut};

use super::batch::{len_i32, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL};
use super::{BatchHeader, BatchRecords, Record, RecordBatch, TimestampType};
use crate::protocol::error::EncodeError;

/// Builds an uncompressed v2 batch from records, computing lastOffsetDelta,
/// maxTimestamp, recordsCount, batchLength and the CRC.
///
/// ```
/// use bytes::Bytes;
/// use spate_core::records::{Record, RecordBatch, RecordBatchBuilder};
///
/// let bytes = RecordBatchBuilder::new(0, 1_700_000_000_000)
///     .record(Record::new(0, 0, None, Some(Bytes::from_static(b"hello"))))
///     .build()
///     .unwrap();
/// let batch = RecordBatch::decode(&bytes).unwrap();
/// assert_eq!(batch.header.records_count, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatchBuilder {
    header: BatchHeader,
    records: Vec<Record>,
}

impl RecordBatchBuilder {
    /// An empty batch at `base_offset` whose record timestamps count from
    /// `base_timestamp`; no producer id, leader epoch -1, CreateTime.
    pub fn new(base_offset: i64, base_timestamp: i64) -> Self {
        RecordBatchBuilder {
            header: BatchHeader {
                base_offset,
                batch_length: 0,
                partition_leader_epoch: -1,
                magic: 2,
                crc: 0,
                attributes: 0,
                last_offset_delta: 0,
                base_timestamp,
                max_timestamp: base_timestamp,
                producer_id: -1,
                producer_epoch: -1,
                base_sequence: -1,
                records_count: 0,
            },
            records: Vec::new(),
        }
    }

    /// Sets the partition leader epoch.
    pub fn partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.header.partition_leader_epoch = epoch;
        self
    }

    /// Sets the producer id, epoch and the sequence of the first record.
    pub fn producer(mut self, id: i64, epoch: i16, base_sequence: i32) -> Self {
        self.header.producer_id = id;
        self.header.producer_epoch = epoch;
        self.header.base_sequence = base_sequence;
        self
    }

    /// Sets or clears a flag bit of the attributes.
    fn flag(mut self, bit: i16, on: bool) -> Self {
        if on {
            self.header.attributes |= bit;
        } else {
            self.header.attributes &= !bit;
        }
        self
    }

    /// Marks the batch transactional.
    pub fn transactional(self, on: bool) -> Self {
        self.flag(ATTR_TRANSACTIONAL, on)
    }

    /// Marks the batch as holding control records.
    pub fn control(self, on: bool) -> Self {
        self.flag(ATTR_CONTROL, on)
    }

    /// Sets the timestamp type.
    pub fn timestamp_type(self, t: TimestampType) -> Self {
        self.flag(ATTR_LOG_APPEND_TIME, t == TimestampType::LogAppendTime)
    }

    /// Adds a record.
    pub fn record(mut self, record: Record) -> Self {
        self.records.push(record);
        self
    }

    /// Adds a record.
    pub fn push(&mut self, record: Record) {
        self.records.push(record);
    }

    /// The batch these records make, header fields computed (length and
    /// CRC are filled in when it is encoded).
    pub fn batch(&self) -> Result<RecordBatch, EncodeError> {
        Ok(RecordBatch {
            header: complete_header(self.header, &self.records)?,
            records: BatchRecords::Uncompressed(self.records.clone()),
        })
    }

    /// Appends the encoded batch to `w`.
    pub fn encode(&self, w: &mut BytesMut) -> Result<(), EncodeError> {
        encode_records(&self.header, &self.records, w)
    }

    /// The encoded batch.
    pub fn build(&self) -> Result<Bytes, EncodeError> {
        let mut w = BytesMut::new();
        self.encode(&mut w)?;
        Ok(w.freeze())
    }
}

/// `template` with the fields its records decide: count, last offset delta
/// and max timestamp.
fn complete_header(template: BatchHeader, records: &[Record]) -> Result<BatchHeader, EncodeError> {
    let mut header = template;
    header.records_count = len_i32(records.len())?;
    header.last_offset_delta = records.iter().map(|r| r.offset_delta).max().unwrap_or(0);
    header.max_timestamp = records
        .iter()
        .map(|r| header.base_timestamp.wrapping_add(r.timestamp_delta))
        .max()
        .unwrap_or(header.base_timestamp);
    Ok(header)
}

/// Appends a v2 batch holding `records` (borrowed, not cloned) to `w`. The
/// base offset, epoch, timestamps' base, producer fields and attributes come
/// from `template`; count, last offset delta, max timestamp, length and CRC
/// are computed.
pub fn encode_records(
    template: &BatchHeader,
    records: &[Record],
    w: &mut BytesMut,
) -> Result<(), EncodeError> {
    let header = complete_header(*template, records)?;
    RecordBatch::encode_parts(&header, records, w)
}
