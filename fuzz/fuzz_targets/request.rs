//! The request decoder (`protocol::header::decode_request`) on any frame
//! (without its size prefix): an error or a request, never a panic. A
//! request it accepts encodes again, and the encoding decodes to the same
//! request: the same bytes when encoded once more, the same `Debug` form
//! (not `==`: a float64 field may hold a NaN, which is not equal to
//! itself; the codec keeps its bits).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use spate_core::protocol::header::{decode_request, encode_request};

fuzz_target!(|data: &[u8]| {
    let frame = Bytes::copy_from_slice(data);
    let Ok((header, body)) = decode_request(&frame) else {
        return;
    };
    let again = encode_request(&header, &body).expect("a decoded request encodes");
    let (h2, b2) = decode_request(&again.slice(4..)).expect("an encoded request decodes");
    let third = encode_request(&h2, &b2).expect("a decoded request encodes");
    assert_eq!(third, again, "encode(decode(encode(request))) differs");
    assert_eq!(
        format!("{:?}", (&h2, &b2)),
        format!("{:?}", (&header, &body)),
        "decode(encode(request)) differs"
    );
});
