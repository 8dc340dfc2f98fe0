//! Tests across the records module: byte-for-byte agreement with the
//! `kafka-protocol` crate, annotation coverage, and never panicking.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::annotate::annotate_record_set;
use crate::annotate::span::{Span, Value};

const TS: i64 = 1_700_000_000_000;

/// Asserts the leaves of `spans` tile `start..end` exactly, in order, with
/// no zero-width leaf, and every composite spans exactly its leaves.
fn assert_tiles(spans: &[Span], start: usize, end: usize) {
    let mut at = start;
    for s in spans {
        check_composite(s);
        for l in s.leaves() {
            assert_eq!(l.start, at, "gap or overlap before leaf {:?}", l.name);
            assert!(l.end > l.start, "zero-width leaf {:?}", l.name);
            at = l.end;
        }
    }
    assert_eq!(at, end, "leaves stop short of the end");
}

fn check_composite(s: &Span) {
    if let (Some(first), Some(last)) = (s.children.first(), s.children.last()) {
        assert_eq!(
            (s.start, s.end),
            (first.start, last.end),
            "span {:?}",
            s.name
        );
        s.children.iter().for_each(check_composite);
    }
}

fn annotate_all(b: &Bytes) -> Vec<Span> {
    let (spans, err) = annotate_record_set(b, 0, b.len());
    assert_eq!(err, None);
    assert_tiles(&spans, 0, b.len());
    spans
}

fn sample_builder() -> RecordBatchBuilder {
    RecordBatchBuilder::new(0, TS)
        .producer(1000, 5, 0)
        .record(Record::new(
            0,
            0,
            Some(Bytes::from_static(b"key-0")),
            Some(Bytes::from_static(b"hello")),
        ))
        .record(
            Record::new(1, 7, None, Some(Bytes::from_static(b"\x00\x01binary")))
                .with_header("trace", Some(Bytes::from_static(b"abc")))
                .with_header("empty", None),
        )
        .record(Record::new(2, 14, Some(Bytes::new()), None))
}

fn control_batch() -> Bytes {
    let key = ControlRecord {
        version: 0,
        kind: ControlRecordType::Commit,
    };
    let value = EndTxnMarker {
        version: 0,
        coordinator_epoch: 3,
    };
    RecordBatchBuilder::new(42, TS)
        .producer(9, 1, -1)
        .transactional(true)
        .control(true)
        .record(Record::new(
            0,
            0,
            Some(key.to_bytes()),
            Some(value.to_bytes()),
        ))
        .build()
        .unwrap()
}

fn gzip_batch() -> Bytes {
    let mut header = sample_builder().batch().unwrap().header;
    header.attributes |= 1;
    RecordBatch {
        header,
        records: BatchRecords::Compressed {
            compression: Compression::Gzip,
            payload: Bytes::from_static(b"\x1f\x8b\x08\x00opaque-compressed-payload"),
        },
    }
    .to_bytes()
    .unwrap()
}

/// The sample batch with its records compressed for real by `codec`.
fn compressed_batch(codec: Compression) -> Bytes {
    let plain = sample_builder().build().unwrap();
    let mut header = sample_builder().batch().unwrap().header;
    header.attributes |= codec.id() as i16;
    RecordBatch {
        header,
        records: BatchRecords::Compressed {
            compression: codec,
            payload: compression::compress(codec, &plain[V2_HEADER_LEN..]).unwrap(),
        },
    }
    .to_bytes()
    .unwrap()
}

fn legacy_set(magic: i8) -> Bytes {
    let ts = (magic == 1).then_some(TS);
    encode_message_set(&[
        LegacyMessage::new(
            0,
            ts,
            Some(Bytes::from_static(b"k")),
            Some(Bytes::from_static(b"v")),
        ),
        LegacyMessage::new(1, ts, None, Some(Bytes::from_static(b"second"))),
        LegacyMessage::new(2, ts, Some(Bytes::new()), None),
    ])
    .unwrap()
}

#[test]
fn annotates_uncompressed_batch() {
    let b = sample_builder().build().unwrap();
    let spans = annotate_all(&b);
    assert_eq!(spans.len(), 1);
    let batch = &spans[0];
    assert_eq!(
        (batch.name.as_ref(), batch.kind.as_ref()),
        ("batch[0]", "RecordBatch")
    );
    assert_eq!(batch.note.as_deref(), Some("v2, 3 records, offsets 0..2"));
    assert_eq!(
        batch.child("crc").unwrap().note.as_deref(),
        Some("CRC-32C valid")
    );
    assert_eq!(
        batch.child("attributes").unwrap().note.as_deref(),
        Some("no compression, CreateTime")
    );
    let key = batch.path(&["records", "[0]", "key"]).unwrap();
    assert_eq!((key.kind.as_ref(), key.note.as_deref()), ("bytes", None));
    assert_eq!(key.value, Some(Value::Bytes(Bytes::from_static(b"key-0"))));
    let null_key = batch.path(&["records", "[1]", "key_length"]).unwrap();
    assert_eq!(null_key.note.as_deref(), Some("null"));
    let h = batch
        .path(&["records", "[1]", "headers", "[0]", "key"])
        .unwrap();
    assert_eq!(h.value, Some(Value::Str("trace".into())));
    assert!(batch
        .path(&["records", "[1]", "value"])
        .unwrap()
        .note
        .is_none());
}

#[test]
fn annotates_crc_mismatch_as_a_note() {
    let mut b = sample_builder().build().unwrap().to_vec();
    let at = b.windows(5).position(|w| w == b"hello").unwrap();
    b[at] = b'j';
    let b = Bytes::from(b);
    let spans = annotate_all(&b);
    let note = spans[0].child("crc").unwrap().note.clone().unwrap();
    assert!(note.starts_with("CRC-32C mismatch: expected 0x"), "{note}");
    assert!(matches!(
        RecordBatch::decode(&b),
        Err(RecordsError::CrcMismatch { .. })
    ));
}

#[test]
fn annotates_control_batch() {
    let b = control_batch();
    let spans = annotate_all(&b);
    let rec = spans[0].path(&["records", "[0]"]).unwrap();
    assert_eq!(
        rec.path(&["key", "type"]).unwrap().note.as_deref(),
        Some("COMMIT")
    );
    assert_eq!(rec.child("key").unwrap().kind, "ControlRecordKey");
    assert_eq!(
        rec.path(&["value", "coordinator_epoch"]).unwrap().value,
        Some(Value::Int(3))
    );
    let batch = RecordBatch::decode(&b).unwrap();
    assert!(batch.header.is_control() && batch.header.is_transactional());
    let r = &batch.records().unwrap()[0];
    let key = ControlRecord::decode(r.key.as_ref().unwrap()).unwrap();
    assert_eq!(key.kind, ControlRecordType::Commit);
    assert_eq!(
        EndTxnMarker::decode(r.value.as_ref().unwrap())
            .unwrap()
            .coordinator_epoch,
        3
    );
}

#[test]
fn annotates_compressed_batch() {
    let b = gzip_batch();
    let spans = annotate_all(&b);
    let leaf = spans[0].child("records (gzip-compressed)").unwrap();
    assert_eq!(leaf.end, b.len());
    assert_eq!(
        spans[0].note.as_deref(),
        Some("v2, gzip, 3 records, offsets 0..2")
    );
    let batch = RecordBatch::decode(&b).unwrap();
    assert_eq!(
        batch.header.compression().map(Compression::name),
        Some("gzip")
    );
}

#[test]
fn annotates_compressed_records_as_decompressed() {
    let plain = sample_builder().build().unwrap();
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let b = compressed_batch(codec);
        let spans = annotate_all(&b);
        let name = format!("records ({}-compressed)", codec.name());
        let leaf = spans[0].child(&name).unwrap();
        let inner = leaf.inner.as_deref().expect("decompressed");
        assert_eq!(inner.label, format!("{codec}-decompressed records"));
        assert_eq!(inner.bytes, plain.slice(V2_HEADER_LEN..), "{codec}");
        assert_eq!(inner.error, None);
        assert_tiles(&inner.spans, 0, inner.bytes.len());
        assert_eq!(
            leaf.note.as_deref(),
            Some(&*format!(
                "3 records, compressed; {} bytes decompressed",
                inner.bytes.len()
            ))
        );
        // The same records as the uncompressed batch shows, offsets from
        // the decompressed bytes' start.
        let same = &annotate_all(&plain)[0];
        let records = &inner.spans[0];
        assert_eq!(
            records.children,
            same.child("records")
                .unwrap()
                .children
                .iter()
                .map(|r| shifted(r, V2_HEADER_LEN))
                .collect::<Vec<_>>()
        );
    }
}

/// `s` with every offset moved `by` bytes earlier.
fn shifted(s: &Span, by: usize) -> Span {
    let mut s = s.clone();
    s.start -= by;
    s.end -= by;
    s.children = s.children.iter().map(|c| shifted(c, by)).collect();
    s
}

#[test]
fn bad_compressed_records_are_reported_not_fatal() {
    // Not gzip at all: shown as stored, with the codec's complaint.
    let b = gzip_batch();
    let spans = annotate_all(&b);
    let leaf = spans[0].child("records (gzip-compressed)").unwrap();
    assert!(leaf.inner.is_none());
    let note = leaf.note.as_deref().unwrap();
    assert!(
        note.starts_with("3 records, compressed; shown as stored: "),
        "{note}"
    );
    // Decompresses, but holds one record fewer than the header says: the
    // frame is fine; the decompressed bytes carry the error.
    let mut header = sample_builder().batch().unwrap().header;
    header.attributes |= Compression::Gzip.id() as i16;
    header.records_count = 4;
    let plain = sample_builder().build().unwrap();
    let b = RecordBatch {
        header,
        records: BatchRecords::Compressed {
            compression: Compression::Gzip,
            payload: compression::compress(Compression::Gzip, &plain[V2_HEADER_LEN..]).unwrap(),
        },
    }
    .to_bytes()
    .unwrap();
    let spans = annotate_all(&b);
    let inner = spans[0]
        .child("records (gzip-compressed)")
        .unwrap()
        .inner
        .as_deref()
        .unwrap();
    let err = inner.error.as_ref().unwrap();
    assert_eq!(err.field, "batch[0].records[3].length");
    assert_eq!(err.offset, inner.bytes.len());
}

#[test]
fn annotates_compressed_legacy_message_sets() {
    let inner_set = legacy_set(1);
    let wrapper = encode_message_set(&[LegacyMessage {
        attributes: Compression::Gzip.id() as i8,
        ..LegacyMessage::new(
            2,
            Some(TS),
            None,
            Some(compression::compress(Compression::Gzip, &inner_set).unwrap()),
        )
    }])
    .unwrap();
    let spans = annotate_all(&wrapper);
    let value = spans[0].child("value").unwrap();
    let inner = value.inner.as_deref().expect("decompressed");
    assert_eq!(inner.label, "gzip-decompressed message set");
    assert_eq!(inner.bytes, inner_set);
    assert_eq!(inner.error, None);
    assert_eq!(inner.spans, annotate_all(&inner_set));
}

#[test]
fn annotates_legacy_sets() {
    for magic in [0i8, 1] {
        let b = legacy_set(magic);
        let spans = annotate_all(&b);
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[0].kind, format!("Message v{magic}"));
        assert_eq!(
            spans[0].child("crc").unwrap().note.as_deref(),
            Some("CRC-32 valid")
        );
        let value = spans[1].child("value").unwrap();
        assert_eq!(value.note, None);
        assert!(
            matches!(&value.value, Some(Value::Bytes(b)) if crate::annotate::printable(b) == Some("second"))
        );
        assert_eq!(spans[1].child("timestamp").is_some(), magic == 1);
    }
}

#[test]
fn annotates_batches_then_partial_tail() {
    let (a, c, g) = (
        sample_builder().build().unwrap(),
        control_batch(),
        gzip_batch(),
    );
    let l = legacy_set(1);
    for cut in [1usize, 11, 12, 20, 61, a.len() - 1] {
        let set: Bytes = [&a[..], &c[..], &l[..], &g[..], &a[..cut]].concat().into();
        let spans = annotate_all(&set);
        assert_eq!(spans.len(), 7, "cut {cut}");
        let tail = spans.last().unwrap();
        assert_eq!(
            (tail.name.as_ref(), tail.kind.as_ref()),
            ("partial batch", "bytes")
        );
        let entries: Vec<_> = batches(&set).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 7);
        assert!(matches!(entries.last(), Some(SetEntry::Partial { .. })));
    }
}

#[test]
fn annotation_errors_name_the_field() {
    let b = sample_builder().build().unwrap();
    // Claim one more record than the batch holds.
    let mut v = b.to_vec();
    v[57..61].copy_from_slice(&4i32.to_be_bytes());
    let v = Bytes::from(v);
    let (spans, err) = annotate_record_set(&v, 0, v.len());
    let err = err.unwrap();
    assert_eq!(err.field, "batch[0].records[3].length");
    assert_eq!(err.offset, v.len());
    assert_eq!(
        err.message,
        format!(
            "varint `length` at byte {} needs 1 bytes, 0 remain",
            v.len()
        )
    );
    assert_eq!(spans[0].end, v.len());
    // A key length past the end of its record.
    let rec0 = Bytes::from_static(b"key-0");
    let at = b.windows(5).position(|w| w == &rec0[..]).unwrap();
    let mut v = b.to_vec();
    v[at - 1] = 0x7e; // key_length 63
    let v = Bytes::from(v);
    let (_, err) = annotate_record_set(&v, 0, v.len());
    let err = err.unwrap();
    assert_eq!(err.field, "batch[0].records[0].key");
    assert_eq!(err.offset, at);
}

/// kafka-protocol 0.18's records for the same data as [`sample_builder`].
fn oracle_records() -> Vec<kafka_protocol::records::Record> {
    use kafka_protocol::protocol::StrBytes;
    use kafka_protocol::records::{Record as K, TimestampType as T};
    let rec = |i: i64, key: Option<&'static [u8]>, value: Option<&'static [u8]>| K {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: 1000,
        producer_epoch: 5,
        timestamp_type: T::Creation,
        offset: i,
        sequence: i as i32,
        timestamp: TS + 7 * i,
        key: key.map(Bytes::from_static),
        value: value.map(Bytes::from_static),
        headers: Default::default(),
    };
    let mut second = rec(1, None, Some(b"\x00\x01binary"));
    second.headers.insert(
        StrBytes::from_static_str("trace"),
        Some(Bytes::from_static(b"abc")),
    );
    second
        .headers
        .insert(StrBytes::from_static_str("empty"), None);
    vec![
        rec(0, Some(b"key-0"), Some(b"hello")),
        second,
        rec(2, Some(b""), None),
    ]
}

#[test]
fn encoder_matches_kafka_protocol_byte_for_byte() {
    use kafka_protocol::records::{
        Compression as KC, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    };
    let records = oracle_records();
    let mut theirs = BytesMut::new();
    let opts = RecordEncodeOptions {
        version: 2,
        compression: KC::None,
    };
    RecordBatchEncoder::encode(&mut theirs, &records, &opts).unwrap();
    let theirs = theirs.freeze();
    let ours = sample_builder().build().unwrap();
    assert_eq!(ours, theirs);

    // Spate decodes their bytes into the records it was built from.
    let batch = RecordBatch::decode(&theirs).unwrap();
    assert_eq!(
        batch.records().unwrap(),
        sample_builder().batch().unwrap().records().unwrap()
    );

    // They decode ours into the records they started from.
    let mut buf = ours.clone();
    let set = RecordBatchDecoder::decode(&mut buf).unwrap();
    assert_eq!(set.records, records);
}

#[test]
fn legacy_matches_kafka_protocol_015() {
    use kafka_protocol_legacy::records::{
        Compression as KC, Record as K, RecordBatchDecoder, RecordBatchEncoder,
        RecordEncodeOptions, TimestampType as T,
    };
    for magic in [0i8, 1] {
        let ts = if magic == 1 { TS } else { -1 };
        let rec = |key: Option<&'static [u8]>, value: Option<&'static [u8]>| K {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: T::Creation,
            // kafka-protocol writes offset 0 for every legacy message.
            offset: 0,
            sequence: -1,
            timestamp: ts,
            key: key.map(Bytes::from_static),
            value: value.map(Bytes::from_static),
            headers: Default::default(),
        };
        let records = vec![
            rec(Some(b"k"), Some(b"v")),
            rec(None, Some(b"second")),
            rec(Some(b""), None),
        ];
        let mut theirs = BytesMut::new();
        let opts = RecordEncodeOptions {
            version: magic,
            compression: KC::None,
        };
        RecordBatchEncoder::encode(&mut theirs, &records, &opts).unwrap();
        let theirs = theirs.freeze();

        let t = (magic == 1).then_some(TS);
        let ours = encode_message_set(&[
            LegacyMessage::new(
                0,
                t,
                Some(Bytes::from_static(b"k")),
                Some(Bytes::from_static(b"v")),
            ),
            LegacyMessage::new(0, t, None, Some(Bytes::from_static(b"second"))),
            LegacyMessage::new(0, t, Some(Bytes::new()), None),
        ])
        .unwrap();
        assert_eq!(ours, theirs, "magic {magic}");

        let decoded = decode_message_set(&theirs).unwrap();
        for (m, r) in decoded.iter().zip(&records) {
            assert_eq!((m.magic, &m.key, &m.value), (magic, &r.key, &r.value));
            assert_eq!(m.timestamp, (magic == 1).then_some(TS));
        }
        let mut buf = ours.clone();
        let sets = RecordBatchDecoder::decode_all(&mut buf).unwrap();
        let got: Vec<_> = sets.into_iter().flat_map(|s| s.records).collect();
        assert_eq!(got, records);
    }
}

/// Builds a batch from arbitrary record contents.
fn arb_batch() -> impl Strategy<Value = Bytes> {
    let bytes = || {
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20).prop_map(Bytes::from))
    };
    let header = ("[a-z]{0,6}", bytes());
    let record = (
        bytes(),
        bytes(),
        any::<i64>(),
        proptest::collection::vec(header, 0..3),
    );
    (
        any::<i64>(),
        any::<bool>(),
        proptest::collection::vec(record, 0..5),
    )
        .prop_map(|(base, control, recs)| {
            let mut b = RecordBatchBuilder::new(base, TS).control(control);
            for (i, (k, v, ts, hs)) in recs.into_iter().enumerate() {
                let mut r = Record::new(i as i32, ts, k, v);
                for (hk, hv) in hs {
                    r = r.with_header(&hk, hv);
                }
                b.push(r);
            }
            b.build().unwrap()
        })
}

fn check_annotation(src: &Bytes, start: usize, end: usize) {
    let (spans, err) = annotate_record_set(src, start, end);
    let end = end.min(src.len());
    let start = start.min(end);
    match err {
        None => assert_tiles(&spans, start, end),
        Some(e) => assert!(
            (start..=end).contains(&e.offset),
            "{e:?} outside {start}..={end}"
        ),
    }
}

fn decode_everything(src: &Bytes) {
    let _ = RecordBatch::decode(src);
    let _ = decode_message_set(src);
    let _ = BatchInfo::peek(src);
    for entry in batches(src).flatten() {
        if let SetEntry::Batch(b) = entry {
            let _ = b.decode();
        }
    }
    let _ = assign_offsets(&mut src.to_vec(), 5, 1);
}

proptest! {
    #[test]
    fn round_trips_and_survives_truncation(batch in arb_batch()) {
        let decoded = RecordBatch::decode(&batch).unwrap();
        prop_assert_eq!(decoded.to_bytes().unwrap(), batch.clone());
        check_annotation(&batch, 0, batch.len());
        for cut in 0..batch.len() {
            let part = batch.slice(..cut);
            decode_everything(&part);
            check_annotation(&part, 0, cut);
            check_annotation(&batch, cut, batch.len());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..300), a in 0usize..320, b in 0usize..320) {
        let src = Bytes::from(raw);
        decode_everything(&src);
        check_annotation(&src, a.min(b), a.max(b));
        check_annotation(&src, 0, src.len());
    }

    #[test]
    fn corrupted_batches_never_panic(batch in arb_batch(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut v = batch.to_vec();
        let i = at.index(v.len());
        v[i] = byte;
        let src = Bytes::from(v);
        decode_everything(&src);
        check_annotation(&src, 0, src.len());
    }
}
