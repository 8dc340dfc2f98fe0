//! The builder's JSON frame codec. The first byte picks the direction:
//!
//! - even: the rest is a request frame; when it decodes to JSON, that JSON
//!   encodes again, and the frame it gives decodes to the same JSON.
//! - odd: the rest is JSON text (what a user types in the builder); when it
//!   parses, `json::encode` answers a frame or an error, never a panic,
//!   and a frame it gives decodes as a request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_core::json::{decode_request, encode, SizePrefix};

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    if mode % 2 == 0 {
        let Ok(json) = decode_request(rest, SizePrefix::Absent) else {
            return;
        };
        let frame = encode(&json).expect("JSON decoded from a frame encodes");
        let again =
            decode_request(&frame, SizePrefix::Present).expect("a frame encoded from JSON decodes");
        assert_eq!(again, json, "JSON -> frame -> JSON differs");
    } else {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(rest) else {
            return;
        };
        if let Ok(frame) = encode(&json) {
            // The request part may not decode (a body the builder allows
            // but the schema rejects is the encoder's error to find), but
            // the decoder must answer, not panic.
            let _ = decode_request(&frame, SizePrefix::Present);
        }
    }
});
