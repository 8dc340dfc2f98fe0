//! The request decoder (`protocol::header::decode_request`) on any frame
//! (without its size prefix): an error or a request, never a panic. A
//! request it accepts encodes again, and the encoding decodes to the same
//! request.
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
    assert_eq!((h2, b2), (header, body), "decode(encode(request)) differs");
});
