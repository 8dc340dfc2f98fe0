use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::records::{BatchRecords, RecordBatch, V2_HEADER_LEN};

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

fn samples() -> Vec<Vec<u8>> {
    let mut pseudo = Vec::with_capacity(200_000);
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        pseudo.push((x >> 16) as u8);
    }
    vec![
        Vec::new(),
        b"a".to_vec(),
        b"hello hello hello hello hello".to_vec(),
        vec![0; 300_000],
        pseudo,
    ]
}

#[test]
fn every_codec_round_trips() {
    for codec in CODECS.into_iter().chain([Compression::None]) {
        for data in samples() {
            let c = compress(codec, &data).unwrap();
            let d = decompress(codec, &c, data.len()).unwrap();
            assert_eq!(d, data, "{codec} len {}", data.len());
        }
    }
}

#[test]
fn framings_are_kafkas() {
    let s = compress(Compression::Snappy, b"abc").unwrap();
    assert_eq!(&s[..16], XERIAL_HEADER);
    let l = compress(Compression::Lz4, b"abc").unwrap();
    assert_eq!(&l[..4], &LZ4_MAGIC);
    assert_eq!(l[4] & 0x20, 0x20, "independent blocks");
    let z = compress(Compression::Zstd, b"abc").unwrap();
    assert_eq!(&z[..4], &ZSTD_MAGIC);
    let g = compress(Compression::Gzip, b"abc").unwrap();
    assert_eq!(&g[..2], b"\x1f\x8b");
}

fn oracle_records(n: usize) -> Vec<kafka_protocol::records::Record> {
    use kafka_protocol::records::{Record as K, TimestampType as T};
    (0..n)
        .map(|i| K {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: T::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(format!("value {i} ").repeat(i % 50 + 1))),
            headers: Default::default(),
        })
        .collect()
}

fn oracle_codec(c: Compression) -> kafka_protocol::records::Compression {
    use kafka_protocol::records::Compression as K;
    match c {
        Compression::None => K::None,
        Compression::Gzip => K::Gzip,
        Compression::Snappy => K::Snappy,
        Compression::Lz4 => K::Lz4,
        Compression::Zstd => K::Zstd,
    }
}

fn oracle_encode(records: &[kafka_protocol::records::Record], codec: Compression) -> Bytes {
    use kafka_protocol::records::{RecordBatchEncoder, RecordEncodeOptions};
    let mut buf = BytesMut::new();
    let opts = RecordEncodeOptions {
        version: 2,
        compression: oracle_codec(codec),
    };
    RecordBatchEncoder::encode(&mut buf, records, &opts).unwrap();
    buf.freeze()
}

#[test]
fn decompresses_what_kafka_protocol_compresses() {
    let records = oracle_records(300);
    let plain = oracle_encode(&records, Compression::None);
    for codec in CODECS {
        let batch = oracle_encode(&records, codec);
        assert_eq!(batch[22] & 7, codec.id(), "{codec}");
        let out = decompress(codec, &batch[V2_HEADER_LEN..], 10 << 20).unwrap();
        assert_eq!(out, plain[V2_HEADER_LEN..], "{codec}");
    }
}

#[test]
fn kafka_protocol_decompresses_what_spate_compresses() {
    use kafka_protocol::records::RecordBatchDecoder;
    let records = oracle_records(300);
    let plain = RecordBatch::decode(&oracle_encode(&records, Compression::None)).unwrap();
    for codec in CODECS {
        let mut raw = Vec::new();
        for r in plain.records().unwrap() {
            let mut w = BytesMut::new();
            r.put(&mut w).unwrap();
            raw.extend_from_slice(&w);
        }
        let mut header = plain.header;
        header.attributes |= i16::from(codec.id());
        let batch = RecordBatch {
            header,
            records: BatchRecords::Compressed {
                compression: codec,
                payload: compress(codec, &raw).unwrap(),
            },
        };
        let mut bytes = batch.to_bytes().unwrap();
        let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
        assert_eq!(set.records, records, "{codec}");
    }
}

#[test]
fn bombs_are_refused() {
    let zeros = vec![0u8; 4 << 20];
    for codec in CODECS {
        let c = compress(codec, &zeros).unwrap();
        assert!(c.len() < 1 << 20, "{codec} compresses zeros");
        let err = decompress(codec, &c, 1 << 20).unwrap_err();
        assert!(
            matches!(err, CodecError::TooLarge { limit, .. } if limit == 1 << 20),
            "{codec}: {err}"
        );
        assert_eq!(err.codec(), codec);
        assert_eq!(decompress(codec, &c, 4 << 20).unwrap().len(), 4 << 20);
    }
    assert!(matches!(
        decompress(Compression::None, &zeros, 10),
        Err(CodecError::TooLarge { .. })
    ));
}

#[test]
fn a_huge_zstd_window_is_refused_before_allocation() {
    // Frame header: no single segment, window descriptor 0xF8 = 2^41 bytes.
    let frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00];
    assert!(matches!(
        decompress(Compression::Zstd, &frame, 1 << 20),
        Err(CodecError::TooLarge { .. })
    ));
    // Single segment frame claiming 1 GiB of content.
    let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0xa0];
    frame.extend_from_slice(&(1u32 << 30).to_le_bytes());
    assert!(matches!(
        decompress(Compression::Zstd, &frame, 1 << 20),
        Err(CodecError::TooLarge { .. })
    ));
}

#[test]
fn garbage_and_truncation_are_errors() {
    let data = b"some data to compress, some data to compress".repeat(20);
    for codec in CODECS {
        assert!(
            decompress(codec, b"\x00garbage\xff\xfe", 1 << 20).is_err(),
            "{codec}"
        );
        assert!(decompress(codec, b"", 1 << 20).is_err(), "{codec}");
        let c = compress(codec, &data).unwrap();
        // lz4_flex reads a frame whose end mark is cut off as complete.
        let last = if codec == Compression::Lz4 { 5 } else { 1 };
        for cut in [1, c.len() / 2, c.len() - last] {
            let r = decompress(codec, &c[..cut], 1 << 20);
            assert!(
                matches!(r, Err(CodecError::Corrupt { .. })),
                "{codec} cut {cut}: {r:?}"
            );
        }
    }
}

#[test]
fn snappy_accepts_a_bare_raw_block() {
    let data = b"raw snappy raw snappy raw snappy".to_vec();
    let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
    assert_eq!(decompress(Compression::Snappy, &raw, 100).unwrap(), data);
    assert!(matches!(
        decompress(Compression::Snappy, &raw, 10),
        Err(CodecError::TooLarge { .. })
    ));
}

#[test]
fn lz4_accepts_kafkas_magic_0_header_checksum() {
    let data = b"lz4 lz4 lz4 lz4 lz4 lz4".repeat(10);
    let mut c = compress(Compression::Lz4, &data).unwrap().to_vec();
    // FLG, BD, then HC at byte 6 (no content size, no dictionary).
    assert_eq!(c[4] & 0x09, 0);
    c[6] = lz4_hc(&c[..6]);
    assert_ne!(c[6], lz4_hc(&c[4..6]));
    assert_eq!(decompress(Compression::Lz4, &c, 1 << 20).unwrap(), data);
    c[6] = c[6].wrapping_add(1);
    if c[6] != lz4_hc(&c[4..6]) {
        assert!(decompress(Compression::Lz4, &c, 1 << 20).is_err());
    }
}

#[test]
fn concatenated_gzip_and_zstd_streams_are_read_whole() {
    for codec in [Compression::Gzip, Compression::Zstd] {
        let mut both = compress(codec, b"first ").unwrap().to_vec();
        both.extend_from_slice(&compress(codec, b"second").unwrap());
        assert_eq!(decompress(codec, &both, 100).unwrap(), &b"first second"[..]);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        for codec in CODECS {
            let _ = decompress(codec, &data, 1 << 16);
            // With each codec's magic in front, the decoders go deeper.
            let mut framed = match codec {
                Compression::Snappy => XERIAL_HEADER.to_vec(),
                Compression::Lz4 => LZ4_MAGIC.to_vec(),
                Compression::Zstd => ZSTD_MAGIC.to_vec(),
                _ => vec![0x1f, 0x8b, 8, 0],
            };
            framed.extend_from_slice(&data);
            let _ = decompress(codec, &framed, 1 << 16);
        }
    }

    #[test]
    fn round_trip_arbitrary(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        for codec in CODECS {
            let c = compress(codec, &data).unwrap();
            prop_assert_eq!(decompress(codec, &c, data.len()).unwrap(), data.clone());
        }
    }
}
