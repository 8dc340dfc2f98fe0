//! Record batches for the client: building (optionally compressed)
//! batches to produce, reading fetched record sets back into records, and
//! Kafka's default partitioner hash.

use anyhow::{bail, Context as _};
use bytes::Bytes;
use spate_core::records::{
    batches, compress, decompress, AnyBatch, BatchHeader, BatchRecords, Compression, Record,
    RecordBatch, RecordBatchBuilder, SetEntry, TimestampType, V2_HEADER_LEN,
};

/// Largest decompressed batch accepted when consuming.
const MAX_DECOMPRESSED: usize = 256 << 20;

/// Encodes `records` as one v2 batch at offset 0, its records compressed
/// with `codec` as Kafka does: the bytes after the 61-byte header are
/// compressed and the codec goes in attribute bits 0-2.
pub(crate) fn build_batch(
    base_timestamp: i64,
    records: Vec<Record>,
    codec: Compression,
) -> anyhow::Result<Bytes> {
    let mut builder = RecordBatchBuilder::new(0, base_timestamp);
    for r in records {
        builder.push(r);
    }
    let plain = builder.build().context("encoding a record batch")?;
    if codec == Compression::None {
        return Ok(plain);
    }
    let payload = compress(codec, plain.get(V2_HEADER_LEN..).unwrap_or_default())
        .with_context(|| format!("compressing a batch with {codec}"))?;
    let mut header = builder.batch().context("encoding a record batch")?.header;
    header.attributes = (header.attributes & !0x07) | i16::from(codec.id());
    let batch = RecordBatch {
        header,
        records: BatchRecords::Compressed {
            compression: codec,
            payload,
        },
    };
    batch
        .to_bytes()
        .context("encoding a compressed record batch")
}

/// A record read back from a fetched set, with its absolute offset and
/// timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// Offset in the partition.
    pub(crate) offset: i64,
    /// Timestamp, milliseconds since the epoch.
    pub(crate) timestamp: i64,
    /// The record (key, value, headers).
    pub(crate) record: Record,
}

/// The data records of a fetched record set, in order: control batches
/// are skipped, compressed batches decompressed, a partial last batch
/// ignored. Legacy (magic 0/1) message sets are refused.
pub(crate) fn read_set(set: &Bytes) -> anyhow::Result<Vec<Fetched>> {
    let mut out = Vec::new();
    for entry in batches(set) {
        let SetEntry::Batch(raw) = entry.context("reading a fetched record set")? else {
            break;
        };
        let AnyBatch::V2(batch) = raw.decode().context("decoding a fetched batch")? else {
            bail!(
                "the broker sent a legacy (magic 0/1) message set, which this client does not read"
            );
        };
        if batch.header.is_control() {
            continue;
        }
        let header = batch.header;
        let records = match batch.records {
            BatchRecords::Uncompressed(r) => r,
            BatchRecords::Compressed {
                compression,
                payload,
            } => inflate(header, compression, &payload)?,
        };
        for record in records {
            out.push(Fetched {
                offset: header.base_offset + i64::from(record.offset_delta),
                timestamp: if header.timestamp_type() == TimestampType::LogAppendTime {
                    header.max_timestamp
                } else {
                    header.base_timestamp + record.timestamp_delta
                },
                record,
            });
        }
    }
    Ok(out)
}

/// The records of a compressed batch: the payload is decompressed and
/// re-read as the records of an uncompressed batch with the same header.
fn inflate(
    mut header: BatchHeader,
    codec: Compression,
    payload: &[u8],
) -> anyhow::Result<Vec<Record>> {
    let plain = decompress(codec, payload, MAX_DECOMPRESSED)
        .with_context(|| format!("decompressing a {codec} batch"))?;
    header.attributes &= !0x07;
    let rebuilt = RecordBatch {
        header,
        records: BatchRecords::Compressed {
            compression: Compression::None,
            payload: plain,
        },
    }
    .to_bytes()
    .context("re-encoding a decompressed batch")?;
    let batch = RecordBatch::decode(&rebuilt).context("reading a decompressed batch")?;
    match batch.records {
        BatchRecords::Uncompressed(r) => Ok(r),
        BatchRecords::Compressed { .. } => bail!("a decompressed batch is still compressed"),
    }
}

/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`),
/// which its default partitioner applies to the key bytes.
pub(crate) fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for `key` among
/// `partitions`: `toPositive(murmur2(key)) % partitions`.
pub(crate) fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }

    #[test]
    fn compressed_batches_read_back() {
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let records = (0..5)
                .map(|i| {
                    Record::new(i, i64::from(i), None, Some(Bytes::from(format!("v{i}"))))
                        .with_header("h", Some(Bytes::from_static(b"x")))
                })
                .collect::<Vec<_>>();
            let batch = build_batch(1000, records.clone(), codec).unwrap();
            let back = read_set(&batch).unwrap();
            assert_eq!(back.len(), 5, "{codec}");
            for (i, f) in back.iter().enumerate() {
                assert_eq!(f.offset, i as i64);
                assert_eq!(f.timestamp, 1000 + i as i64);
                assert_eq!(f.record, records[i]);
            }
        }
    }
}
