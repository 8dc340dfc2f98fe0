//! Unit tests of the wire primitives: varints against Kafka's examples,
//! and malformed input that must fail with an error, not a panic.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::protocol::error::DecodeError;

#[test]
fn varints_match_kafka_examples() {
    let mut w = BytesMut::new();
    put_uvarint(&mut w, 300);
    assert_eq!(&w[..], &[0xac, 0x02]);
    let mut w = BytesMut::new();
    put_varint(&mut w, -1);
    put_varint(&mut w, 1);
    put_varint(&mut w, i32::MIN);
    let b = w.freeze();
    let mut r = Reader::new(&b);
    assert_eq!(r.varint().unwrap(), -1);
    assert_eq!(r.varint().unwrap(), 1);
    assert_eq!(r.varint().unwrap(), i32::MIN);
    r.finish().unwrap();
}

#[test]
fn uvarint_len_counts_groups() {
    for v in [
        0u64,
        1,
        127,
        128,
        16383,
        16384,
        u64::from(u32::MAX),
        u64::MAX,
    ] {
        let mut w = BytesMut::new();
        put_uvarint(&mut w, v);
        assert_eq!(w.len(), uvarint_len(v), "{v}");
    }
}

#[test]
fn overlong_varint_is_an_error_not_a_panic() {
    let b = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    let mut r = Reader::new(&b);
    assert_eq!(r.uvarint(), Err(DecodeError::InvalidVarint { at: 0 }));
}

#[test]
fn truncated_reads_name_offset_and_need() {
    let b = Bytes::from_static(&[0, 0, 0]);
    let mut r = Reader::new(&b);
    r.i8().unwrap();
    assert_eq!(
        r.i32(),
        Err(DecodeError::Truncated {
            at: 1,
            needed: 4,
            remaining: 2
        })
    );
}

#[test]
fn huge_array_count_is_rejected_before_allocating() {
    let b = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0]);
    let mut r = Reader::new(&b);
    assert!(matches!(
        r.array_of(false, 4, |r| r.i32()),
        Err(DecodeError::InvalidLength { at: 0, .. })
    ));
}
