use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::records::{
    compress, decode_message_set, encode_message_set, LegacyMessage, RecordBatch,
    RecordBatchBuilder,
};

const NOW: i64 = 1_700_000_000_000;

fn ctx() -> AppendContext {
    AppendContext {
        next_offset: 100,
        leader_epoch: 7,
        now_ms: NOW,
        ..AppendContext::default()
    }
}

fn kv(i: usize) -> (Bytes, Bytes) {
    (
        Bytes::from(format!("key-{i}")),
        Bytes::from(format!("value-{i}")),
    )
}

/// A producer's batch: baseOffset 0, epoch -1, `n` records 1 ms apart.
fn producer_batch(n: usize) -> RecordBatchBuilder {
    let mut b = RecordBatchBuilder::new(0, NOW - 1000).producer(42, 3, 10);
    for i in 0..n {
        let (k, v) = kv(i);
        b.push(Record::new(i as i32, i as i64, Some(k), Some(v)).with_header("h", None));
    }
    b
}

/// `batch` with its records compressed by `codec`.
fn compressed(batch: &Bytes, codec: Compression) -> Bytes {
    let mut out = batch[..V2_HEADER_LEN].to_vec();
    out[22] |= codec.id();
    out.extend_from_slice(&compress(codec, &batch[V2_HEADER_LEN..]).unwrap());
    seal(&mut out).unwrap();
    Bytes::from(out)
}

/// Key, value, offset delta and timestamp of a stored record.
type Rec = (Option<Bytes>, Option<Bytes>, i32, i64);

/// The records of a stored batch, decoded the long way round.
fn contents(batch: &Bytes) -> (BatchHeader, Vec<Rec>) {
    let view = BatchView::parse(batch, 0).unwrap();
    let h = view.header;
    let plain = if view.compression == Compression::None {
        batch.clone()
    } else {
        let d = crate::records::decompress(view.compression, view.payload, 1 << 30).unwrap();
        plain_batch(&h, d).unwrap()
    };
    let b = RecordBatch::decode(&plain).unwrap();
    let recs = b
        .records()
        .unwrap()
        .iter()
        .map(|r| {
            let ts = h.base_timestamp + r.timestamp_delta;
            (r.key.clone(), r.value.clone(), r.offset_delta, ts)
        })
        .collect();
    (h, recs)
}

fn want(n: usize) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    (0..n).map(kv).map(|(k, v)| (Some(k), Some(v))).collect()
}

fn kvs(recs: &[Rec]) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    recs.iter().map(|r| (r.0.clone(), r.1.clone())).collect()
}

#[test]
fn assigns_offsets_and_epoch_in_place() {
    let set = producer_batch(3).build().unwrap();
    let out = validate_and_assign(&set, &ctx()).unwrap();
    assert_eq!(
        (out.base_offset, out.last_offset, out.record_count),
        (100, 102, 3)
    );
    assert_eq!(out.log_append_time_ms, -1);
    assert_eq!(
        (out.max_timestamp, out.offset_of_max_timestamp),
        (NOW - 998, 102)
    );
    let b = &out.batches[0];
    assert_eq!((b.producer_id, b.producer_epoch), (42, 3));
    assert_eq!((b.base_sequence, b.last_sequence), (10, 12));
    // Only the uncovered fields changed: the CRC is the producer's.
    assert_eq!(b.bytes[8..12], set[8..12]);
    assert_eq!(b.bytes[16..], set[16..]);
    assert_ne!(b.bytes[12..16], set[12..16]);
    let d = RecordBatch::decode(&b.bytes).unwrap();
    assert_eq!(d.header.base_offset, 100);
    assert_eq!(d.header.partition_leader_epoch, 7);
    assert_eq!(d.header.crc, crc32c::crc32c(&b.bytes[CRC_START..]));
    assert_eq!(kvs(&contents(&b.bytes).1), want(3));
}

#[test]
fn consecutive_appends_are_dense() {
    let mut c = ctx();
    for n in [1usize, 5, 2] {
        let out = validate_and_assign(&producer_batch(n).build().unwrap(), &c).unwrap();
        assert_eq!(out.base_offset, c.next_offset);
        assert_eq!(out.last_offset, c.next_offset + n as i64 - 1);
        c.next_offset = out.last_offset + 1;
    }
    assert_eq!(c.next_offset, 108);
}

#[test]
fn legacy_messages_become_one_dense_batch() {
    for magic in [0i8, 1] {
        let msgs: Vec<LegacyMessage> = (0..4)
            .map(|i| {
                let (k, v) = kv(i);
                let ts = (magic == 1).then_some(NOW + i as i64);
                LegacyMessage::new(i as i64 * 9, ts, Some(k), Some(v))
            })
            .collect();
        let set = encode_message_set(&msgs).unwrap();
        let c = AppendContext {
            produce_version: 2,
            ..ctx()
        };
        let out = validate_and_assign(&set, &c).unwrap();
        assert_eq!((out.base_offset, out.last_offset), (100, 103));
        let (h, recs) = contents(&out.batches[0].bytes);
        assert_eq!(
            (h.base_offset, h.partition_leader_epoch, h.magic),
            (100, 7, 2)
        );
        assert_eq!(h.compression(), Some(Compression::None));
        assert_eq!(kvs(&recs), want(4));
        let deltas: Vec<i32> = recs.iter().map(|r| r.2).collect();
        assert_eq!(deltas, [0, 1, 2, 3]);
        let ts: Vec<i64> = recs.iter().map(|r| r.3).collect();
        if magic == 1 {
            assert_eq!(ts, [NOW, NOW + 1, NOW + 2, NOW + 3]);
            assert_eq!(
                (out.max_timestamp, out.offset_of_max_timestamp),
                (NOW + 3, 103)
            );
        } else {
            assert_eq!(ts, [-1; 4]);
            assert_eq!((out.max_timestamp, out.offset_of_max_timestamp), (-1, -1));
        }
        // At Produce v3+ the same bytes are refused.
        let err = validate_and_assign(&set, &ctx()).unwrap_err();
        assert_eq!(err.error_code(), 87);
    }
}

/// A compressed legacy wrapper holding `n` messages (magic 1: relative
/// inner offsets, wrapper offset = last inner).
fn legacy_wrapper(magic: i8, codec: Compression, n: usize) -> Bytes {
    let inner: Vec<LegacyMessage> = (0..n)
        .map(|i| {
            let (k, v) = kv(i);
            LegacyMessage::new(
                i as i64,
                (magic == 1).then_some(NOW + i as i64),
                Some(k),
                Some(v),
            )
        })
        .collect();
    let inner = encode_message_set(&inner).unwrap();
    let mut w = LegacyMessage::new(
        n as i64 - 1,
        (magic == 1).then_some(NOW),
        None,
        Some(compress(codec, &inner).unwrap()),
    );
    w.magic = magic;
    w.attributes = codec.id() as i8;
    encode_message_set(&[w]).unwrap()
}

#[test]
fn compressed_legacy_wrappers_are_unwrapped_and_recompressed() {
    for magic in [0i8, 1] {
        for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
            let set = legacy_wrapper(magic, codec, 5);
            let c = AppendContext {
                produce_version: 1,
                ..ctx()
            };
            let out = validate_and_assign(&set, &c).unwrap();
            assert_eq!((out.base_offset, out.last_offset), (100, 104), "{codec}");
            let (h, recs) = contents(&out.batches[0].bytes);
            assert_eq!(h.compression(), Some(codec));
            assert_eq!(kvs(&recs), want(5));
            // And the topic can ask for another codec.
            let c = AppendContext {
                compression: CompressionTarget::Codec(Compression::None),
                ..c
            };
            let out = validate_and_assign(&set, &c).unwrap();
            let (h, recs) = contents(&out.batches[0].bytes);
            assert_eq!(h.compression(), Some(Compression::None));
            assert_eq!(kvs(&recs), want(5));
        }
    }
}

#[test]
fn compressed_v2_batches_validate_and_keep_their_bytes() {
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let set = compressed(&producer_batch(20).build().unwrap(), codec);
        let out = validate_and_assign(&set, &ctx()).unwrap();
        let b = &out.batches[0];
        assert_eq!(b.bytes[16..], set[16..], "{codec}: kept as sent");
        assert_eq!((out.base_offset, out.last_offset), (100, 119));
        let (h, recs) = contents(&b.bytes);
        assert_eq!(h.compression(), Some(codec));
        assert_eq!(kvs(&recs), want(20));
        // Recompressed when the topic says so.
        let c = AppendContext {
            compression: CompressionTarget::Codec(Compression::Gzip),
            ..ctx()
        };
        let out = validate_and_assign(&set, &c).unwrap();
        let (h, recs) = contents(&out.batches[0].bytes);
        assert_eq!(h.compression(), Some(Compression::Gzip));
        assert_eq!(
            (h.producer_id, h.base_sequence, h.records_count),
            (42, 10, 20)
        );
        assert_eq!(kvs(&recs), want(20));
    }
}

#[test]
fn kafka_protocol_batches_are_accepted() {
    use kafka_protocol::records::{
        Compression as KC, Record as K, RecordBatchDecoder, RecordBatchEncoder,
        RecordEncodeOptions, TimestampType as T,
    };
    let records: Vec<K> = (0..10)
        .map(|i| K {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: 9,
            producer_epoch: 1,
            timestamp_type: T::Creation,
            offset: i,
            sequence: i as i32,
            timestamp: NOW + i,
            key: Some(kv(i as usize).0),
            value: Some(kv(i as usize).1),
            headers: Default::default(),
        })
        .collect();
    for kc in [KC::None, KC::Gzip, KC::Snappy, KC::Lz4, KC::Zstd] {
        let mut buf = BytesMut::new();
        let opts = RecordEncodeOptions {
            version: 2,
            compression: kc,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &opts).unwrap();
        let out = validate_and_assign(&buf.freeze(), &ctx()).unwrap();
        let mut stored = out.batches[0].bytes.clone();
        let set = RecordBatchDecoder::decode(&mut stored).unwrap();
        let offsets: Vec<i64> = set.records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, (100..110).collect::<Vec<_>>(), "{kc:?}");
        assert!(set.records.iter().all(|r| r.partition_leader_epoch == 7));
    }
}

#[test]
fn log_append_time_rewrites_max_timestamp_and_crc() {
    let c = AppendContext {
        timestamp_type: TimestampType::LogAppendTime,
        ..ctx()
    };
    for codec in [Compression::None, Compression::Lz4] {
        let set = compressed(&producer_batch(3).build().unwrap(), codec);
        let out = validate_and_assign(&set, &c).unwrap();
        assert_eq!(out.log_append_time_ms, NOW);
        assert_eq!((out.max_timestamp, out.offset_of_max_timestamp), (NOW, 100));
        let b = &out.batches[0].bytes;
        let d = RecordBatch::decode(b).unwrap(); // CRC checked
        assert_eq!(d.header.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(d.header.max_timestamp, NOW);
        assert_eq!(d.header.base_timestamp, NOW - 1000);
        assert_eq!(d.header.compression(), Some(codec));
    }
    // A producer that sets LogAppendTime itself is refused.
    let set = producer_batch(1)
        .timestamp_type(TimestampType::LogAppendTime)
        .build()
        .unwrap();
    assert_eq!(validate_and_assign(&set, &c).unwrap_err().error_code(), 32);
}

#[test]
fn out_of_order_deltas_are_renumbered() {
    let mut b = RecordBatchBuilder::new(0, NOW);
    for (i, d) in [0, 5, 2].into_iter().enumerate() {
        let (k, v) = kv(i);
        b.push(Record::new(d, 0, Some(k), Some(v)));
    }
    let mut bytes = b.build().unwrap().to_vec();
    bytes[23..27].copy_from_slice(&2i32.to_be_bytes()); // lastOffsetDelta = count - 1
    seal(&mut bytes).unwrap();
    for codec in [Compression::None, Compression::Snappy] {
        let set = compressed(&Bytes::from(bytes.clone()), codec);
        let out = validate_and_assign(&set, &ctx()).unwrap();
        let (h, recs) = contents(&out.batches[0].bytes);
        assert_eq!(h.compression(), Some(codec));
        assert_eq!(recs.iter().map(|r| r.2).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(kvs(&recs), want(3));
    }
}

#[track_caller]
fn code(set: &Bytes, c: &AppendContext) -> i16 {
    validate_and_assign(set, c).unwrap_err().error_code()
}

/// A producer batch of `n` records, with `f` applied to its bytes and the
/// CRC recomputed.
fn patched(n: usize, f: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut b = producer_batch(n).build().unwrap().to_vec();
    f(&mut b);
    seal(&mut b).unwrap();
    Bytes::from(b)
}

#[test]
fn each_error_code() {
    let c = ctx();
    let good = producer_batch(2).build().unwrap();
    // CORRUPT_MESSAGE: CRC, partial tail, bad length, garbage payload.
    let mut bad_crc = good.to_vec();
    *bad_crc.last_mut().unwrap() ^= 1;
    assert_eq!(code(&Bytes::from(bad_crc), &c), 2);
    let partial = Bytes::from([&good[..], &good[..30]].concat());
    assert_eq!(code(&partial, &c), 2);
    assert_eq!(code(&good.slice(..good.len() - 1), &c), 2);
    let mut short_len = good.to_vec();
    short_len[8..12].copy_from_slice(&3i32.to_be_bytes());
    assert_eq!(code(&Bytes::from(short_len), &c), 2);
    assert_eq!(code(&patched(2, |b| b[22] |= 1), &c), 2, "not gzip inside");
    // MESSAGE_TOO_LARGE.
    let small = AppendContext {
        max_message_bytes: good.len() - 1,
        ..c
    };
    assert_eq!(code(&good, &small), 10);
    let bomb = compressed(
        &producer_batch(1)
            .record(Record::new(1, 0, None, Some(Bytes::from(vec![0; 1 << 20]))))
            .build()
            .unwrap(),
        Compression::Gzip,
    );
    let tight = AppendContext {
        max_decompressed_bytes: 1 << 16,
        ..c
    };
    assert_eq!(code(&bomb, &tight), 10);
    // INVALID_RECORD.
    assert_eq!(code(&Bytes::new(), &c), 87);
    assert_eq!(code(&Bytes::from([&good[..], &good[..]].concat()), &c), 87);
    let two_v2 = AppendContext {
        produce_version: 2,
        ..c
    };
    assert_eq!(
        code(&Bytes::from([&good[..], &good[..]].concat()), &two_v2),
        87
    );
    assert_eq!(code(&patched(2, |b| b[7] = 5), &c), 87, "baseOffset 5");
    assert_eq!(code(&patched(2, |b| b[26] = 5), &c), 87, "lastOffsetDelta");
    assert_eq!(code(&patched(2, |b| b[60] = 3), &c), 87, "count too big");
    assert_eq!(code(&patched(2, |b| b[60] = 1), &c), 87, "count too small");
    assert_eq!(code(&patched(2, |b| b[22] |= 0x20), &c), 87, "control");
    assert_eq!(
        code(&patched(2, |b| b[53..57].fill(0xff)), &c),
        87,
        "no sequence"
    );
    let compact = AppendContext {
        compacted: true,
        ..c
    };
    let keyless = RecordBatchBuilder::new(0, NOW)
        .record(Record::new(0, 0, None, None))
        .build()
        .unwrap();
    let err = validate_and_assign(&keyless, &compact).unwrap_err();
    assert_eq!(err.error_code(), 87);
    assert_eq!(
        err.record_errors()
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        [0]
    );
    // INVALID_TIMESTAMP.
    let bounded = AppendContext {
        timestamp_before_max_ms: 500,
        ..c
    };
    let err = validate_and_assign(&good, &bounded).unwrap_err();
    assert_eq!(err.error_code(), 32);
    // Every record is checked: both are named.
    assert_eq!(
        err.record_errors()
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        [0, 1]
    );
    // UNSUPPORTED_COMPRESSION_TYPE.
    assert_eq!(code(&patched(2, |b| b[22] |= 5), &c), 76);
    let zstd = compressed(&good, Compression::Zstd);
    let v6 = AppendContext {
        produce_version: 6,
        ..c
    };
    assert_eq!(code(&zstd, &v6), 76);
    assert!(validate_and_assign(&zstd, &c).is_ok());
    // Every error reads as a sentence.
    assert!(!validate_and_assign(&zstd, &v6)
        .unwrap_err()
        .to_string()
        .is_empty());
}

#[test]
fn empty_set_at_produce_v2_appends_nothing() {
    let c = AppendContext {
        produce_version: 2,
        ..ctx()
    };
    let out = validate_and_assign(&Bytes::new(), &c).unwrap();
    assert!(out.batches.is_empty());
    assert_eq!((out.base_offset, out.record_count), (-1, 0));
}

#[test]
fn down_convert_round_trips_keys_and_values() {
    let c = ctx();
    let a = validate_and_assign(&producer_batch(3).build().unwrap(), &c).unwrap();
    let c2 = AppendContext {
        next_offset: 103,
        ..c
    };
    let b = validate_and_assign(
        &compressed(&producer_batch(2).build().unwrap(), Compression::Zstd),
        &c2,
    )
    .unwrap();
    let control = RecordBatchBuilder::new(105, NOW)
        .control(true)
        .record(Record::new(
            0,
            0,
            Some(Bytes::from_static(b"\0\0\0\0")),
            None,
        ))
        .build()
        .unwrap();
    let chunks = [
        a.batches[0].bytes.clone(),
        b.batches[0].bytes.clone(),
        control,
    ];
    for magic in [0i8, 1] {
        let set = down_convert(&chunks, magic).unwrap();
        let msgs = decode_message_set(&set).unwrap();
        let got: Vec<_> = msgs
            .iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect();
        let mut expect = want(3);
        expect.extend(want(2));
        assert_eq!(got, expect);
        let offsets: Vec<i64> = msgs.iter().map(|m| m.offset).collect();
        assert_eq!(offsets, [100, 101, 102, 103, 104]);
        assert!(msgs.iter().all(|m| m.magic == magic && !m.is_compressed()));
        let ts: Vec<Option<i64>> = msgs.iter().map(|m| m.timestamp).collect();
        if magic == 1 {
            assert_eq!(
                ts[..3],
                [Some(NOW - 1000), Some(NOW - 999), Some(NOW - 998)]
            );
        } else {
            assert!(ts.iter().all(Option::is_none));
        }
    }
    assert_eq!(down_convert(&chunks, 2).unwrap_err().error_code(), 43);
}

#[test]
fn down_convert_expands_legacy_wrappers() {
    let set = legacy_wrapper(1, Compression::Gzip, 3);
    let msgs = decode_message_set(&down_convert(&[set], 0).unwrap()).unwrap();
    assert_eq!(msgs.iter().map(|m| m.offset).collect::<Vec<_>>(), [0, 1, 2]);
    let got: Vec<_> = msgs
        .iter()
        .map(|m| (m.key.clone(), m.value.clone()))
        .collect();
    assert_eq!(got, want(3));
}

#[test]
fn last_sequence_wraps_like_kafka() {
    assert_eq!(last_sequence(-1, 5), -1);
    assert_eq!(last_sequence(10, 2), 12);
    assert_eq!(last_sequence(i32::MAX, 0), i32::MAX);
    assert_eq!(last_sequence(i32::MAX, 1), 0);
    assert_eq!(last_sequence(i32::MAX - 1, 3), 1);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), v in 0i16..14) {
        let c = AppendContext { produce_version: v, ..ctx() };
        let _ = validate_and_assign(&Bytes::from(data.clone()), &c);
        let _ = down_convert(&[Bytes::from(data)], 1);
    }

    #[test]
    fn mutated_batches_never_panic(at in 0usize..200, byte in any::<u8>(), codec in 0u8..5, fix_crc in any::<bool>()) {
        let codec = Compression::from_id(codec).unwrap();
        let mut b = compressed(&producer_batch(3).build().unwrap(), codec).to_vec();
        let at = at % b.len();
        b[at] = byte;
        if fix_crc && b.len() > V2_HEADER_LEN {
            let _ = seal(&mut b);
        }
        let set = Bytes::from(b);
        let _ = validate_and_assign(&set, &ctx());
        let _ = down_convert(&[set], 0);
    }
}
