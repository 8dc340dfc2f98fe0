//! Property tests: primitives round-trip, and no input (random, truncated,
//! corrupted) makes the codecs or the annotator panic. When the annotator
//! reports an error, its offset lies inside the frame.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use spate_core::annotate::{
    annotate_request, annotate_response, annotate_response_with, Annotation, SizePrefix,
};
use spate_core::example::{example_request, example_response, Variant};
use spate_core::protocol::header::decode_request;
use spate_core::protocol::wire::*;
use spate_core::protocol::{ApiKey, Reader, ResponseBody};

fn check_error_inside(a: &Annotation, len: usize) {
    if let Some(e) = &a.error {
        assert!(
            e.offset <= len,
            "error offset {} beyond frame of {len}: {}",
            e.offset,
            e.message
        );
        assert!(!e.message.is_empty());
    }
    // Whatever happened, the leaves still tile the frame.
    let mut at = 0;
    for leaf in a.root.leaves() {
        assert_eq!(leaf.start, at, "gap or overlap before leaf {}", leaf.name);
        at = leaf.end;
    }
    assert_eq!(at, len, "leaves do not reach the end");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn varints_round_trip(a in any::<i32>(), b in any::<i64>(), c in any::<u32>()) {
        let mut w = BytesMut::new();
        put_varint(&mut w, a);
        put_varlong(&mut w, b);
        put_uvarint(&mut w, u64::from(c));
        let buf = w.freeze();
        let mut r = Reader::new(&buf);
        prop_assert_eq!(r.varint().unwrap(), a);
        prop_assert_eq!(r.varlong().unwrap(), b);
        prop_assert_eq!(r.uvarint().unwrap(), c);
        prop_assert!(r.finish().is_ok());
    }

    #[test]
    fn strings_and_bytes_round_trip(s in ".{0,40}", b in proptest::collection::vec(any::<u8>(), 0..40), compact in any::<bool>(), null in any::<bool>()) {
        let mut w = Writer::new();
        put_string(&mut w, compact, &s).unwrap();
        put_nullable_string(&mut w, compact, if null { None } else { Some(&s) }).unwrap();
        put_bytes(&mut w, compact, &b).unwrap();
        put_nullable_bytes(&mut w, compact, if null { None } else { Some(&b) }).unwrap();
        put_array(&mut w, compact, &b, |w, x| { w.extend_from_slice(&[*x]); Ok(()) }).unwrap();
        let buf = w.freeze();
        let mut r = Reader::new(&buf);
        prop_assert_eq!(&*r.string(compact).unwrap(), s.as_str());
        let ns = r.nullable_string(compact).unwrap();
        prop_assert_eq!(ns.as_deref(), if null { None } else { Some(s.as_str()) });
        prop_assert_eq!(&r.bytes(compact).unwrap()[..], &b[..]);
        prop_assert_eq!(r.nullable_bytes(compact).unwrap().map(|x| x.to_vec()), if null { None } else { Some(b.clone()) });
        prop_assert_eq!(r.array_of(compact, 1, |r| r.i8().map(|x| x as u8)).unwrap(), b);
        prop_assert!(r.finish().is_ok());
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let a = annotate_request(&data);
        check_error_inside(&a, data.len());
        let _ = decode_request(&Bytes::from(data.clone()));
        let a = annotate_response(&data, 3, 12);
        check_error_inside(&a, data.len());
    }

    #[test]
    fn random_bodies_behind_a_valid_header_never_panic(key_idx in 0usize..200, version in 0i16..20, body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let key = ApiKey::ALL[key_idx % ApiKey::ALL.len()];
        let spec = key.request_spec();
        let version = spec.valid.min + version % (spec.valid.max - spec.valid.min + 1);
        let mut frame = vec![0, 0, 0, 0];
        frame.extend_from_slice(&(key as i16).to_be_bytes());
        frame.extend_from_slice(&version.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 1, 0, 1, b'x']);
        frame.extend_from_slice(&body);
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        let a = annotate_request(&frame);
        check_error_inside(&a, frame.len());
        let _ = decode_request(&Bytes::copy_from_slice(&frame[4..]));
    }

    #[test]
    fn corrupted_examples_never_panic(key_idx in 0usize..200, flip in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let key = ApiKey::ALL[key_idx % ApiKey::ALL.len()];
        let version = key.request_spec().valid.max;
        let mut frame = example_request(key, version, 3, Variant::Full).to_vec();
        let i = flip.index(frame.len());
        frame[i] = byte;
        let a = annotate_request(&frame);
        check_error_inside(&a, frame.len());
        let _ = decode_request(&Bytes::copy_from_slice(&frame[4..]));
    }
}

/// Every truncation of every API's newest request and response: an error
/// inside the frame, a partial tree, never a panic.
#[test]
fn every_truncation_reports_an_offset_inside_the_frame() {
    for &key in ApiKey::ALL {
        for (dir, frame) in [
            (
                "request",
                example_request(key, key.request_spec().valid.max, 5, Variant::Full),
            ),
            (
                "response",
                example_response(key, key.response_spec().valid.max, 5, Variant::Full),
            ),
        ] {
            let version = key.request_spec().valid.max;
            for cut in 0..frame.len() {
                let part = &frame[..cut];
                let a = if dir == "request" {
                    annotate_request(part)
                } else {
                    annotate_response_with(part, key as i16, version, SizePrefix::Present)
                };
                // Without the full frame the size prefix no longer matches; the
                // annotator still finds it (request) or reads from byte 0.
                let e = a
                    .error
                    .as_ref()
                    .unwrap_or_else(|| panic!("{key:?} {dir} cut at {cut}: no error"));
                assert!(
                    e.offset <= cut,
                    "{key:?} {dir} cut at {cut}: error at {}",
                    e.offset
                );
                check_error_inside(&a, cut);
                if dir == "response" {
                    let body = Bytes::copy_from_slice(&frame[cut.min(4)..cut]);
                    let mut r = Reader::new(&body);
                    let _ = ResponseBody::decode(key, &mut r, version);
                }
            }
        }
    }
}

/// Full frames, with size prefix and header, are explained to the last byte.
#[test]
fn whole_frames_are_covered_including_prefix_and_header() {
    for &key in ApiKey::ALL {
        for version in key.request_spec().valid.min..=key.request_spec().valid.max {
            let frame = example_request(key, version, 11, Variant::Mixed);
            let a = annotate_request(&frame);
            assert!(a.error.is_none(), "{key:?} v{version}: {:?}", a.error);
            check_error_inside(&a, frame.len());
            assert_eq!(a.root.children[0].name, "size");
            assert_eq!(
                a.root.path(&["header", "request_api_key"]).unwrap().value,
                Some(spate_core::annotate::Value::Int(key as i16 as i64))
            );
            let (h, _) = decode_request(&frame.slice(4..)).unwrap();
            assert_eq!(h.request_api_version, version);
        }
        for version in key.response_spec().valid.min..=key.response_spec().valid.max {
            let frame = example_response(key, version, 11, Variant::Mixed);
            let a = annotate_response(&frame, key as i16, version);
            assert!(
                a.error.is_none(),
                "{key:?} response v{version}: {:?}",
                a.error
            );
            check_error_inside(&a, frame.len());
        }
    }
}

/// The sentence the issue asks for: type, field, offset, need and remain.
#[test]
fn truncated_field_error_reads_like_a_sentence() {
    // Metadata v1 request whose topic array promises one topic but stops inside its name.
    let frame: &[u8] = &[
        0, 3, 0, 1, 0, 0, 0, 9, 0, 1, b'c', 0, 0, 0, 1, 0, 5, b'd', b'e',
    ];
    let a = annotate_request(frame);
    let e = a.error.expect("truncated");
    assert_eq!(e.offset, 17);
    assert_eq!(e.field, "topics[0].name");
    assert!(
        e.message
            .contains("`name` at byte 17: needs 5 bytes, 2 remain"),
        "{}",
        e.message
    );
}

/// Found by the `request` fuzz target (`fuzz/artifacts/request/crash-d350…`):
/// an AlterClientQuotas v1 whose quota value is a NaN (bits
/// `ffffffffffffff01`). The codec keeps the bits; the target's check
/// compared the decoded requests with `==`, and NaN is not equal to
/// itself. The target now compares the encodings and the `Debug` forms.
#[test]
fn a_nan_quota_value_round_trips_bit_for_bit() {
    use spate_core::protocol::header::encode_request;
    use spate_core::protocol::RequestBody;
    let frame = Bytes::from_static(
        b"\x001\x00\x01\x00\x00\x00\x03\x00\x0dspate-example\x00\x02\x02\x0fentity_yetp-90\x00\x01\x84\x07\x03\x01\x02c\x03\x02\x07\xff\xff\xff\xff\xff\xff\xff\x01\x00\x04\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02(\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x00\x00\x00\x00",
    );
    let (header, body) = decode_request(&frame).expect("the fuzzer's frame decodes");
    let RequestBody::AlterClientQuotas(req) = &body else {
        panic!("an AlterClientQuotas, not {body:?}");
    };
    let value = req.entries[0].ops[0].value;
    assert!(value.is_nan());
    assert_eq!(value.to_bits(), 0xffff_ffff_ffff_ff01);
    let again = encode_request(&header, &body).unwrap();
    let (h2, b2) = decode_request(&again.slice(4..)).unwrap();
    assert_eq!(encode_request(&h2, &b2).unwrap(), again);
    assert_eq!(
        format!("{:?}", (&h2, &b2)),
        format!("{:?}", (&header, &body))
    );
}
