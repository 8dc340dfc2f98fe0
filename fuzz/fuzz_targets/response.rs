//! The response decoder (`protocol::header::decode_response`) on any frame:
//! the first two bytes pick the API (an index into `ApiKey::ALL`) and the
//! version (wrapped into the API's range), the rest is the frame without its
//! size prefix. An error or a response, never a panic; a response it
//! accepts encodes again to bytes that decode to the same response (the
//! same `Debug` form, not `==`: a float64 field may hold a NaN).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use spate_core::protocol::header::{decode_response, encode_response};
use spate_core::protocol::ApiKey;

fuzz_target!(|data: &[u8]| {
    let [k, v, rest @ ..] = data else { return };
    let key = ApiKey::ALL[usize::from(*k) % ApiKey::ALL.len()];
    let range = key.versions();
    let span = i32::from(range.max.min(64)) - i32::from(range.min) + 1;
    let version = range.min + (i32::from(*v) % span) as i16;
    let frame = Bytes::copy_from_slice(rest);
    let Ok((header, body)) = decode_response(&frame, key, version) else {
        return;
    };
    let again =
        encode_response(header.correlation_id, &body, version).expect("a decoded response encodes");
    let (_, b2) =
        decode_response(&again.slice(4..), key, version).expect("an encoded response decodes");
    assert_eq!(
        format!("{b2:?}"),
        format!("{body:?}"),
        "decode(encode(response)) differs"
    );
});
