//! The frame explainer on any bytes, as a request (size prefix detected)
//! and as a response: the first two bytes pick the API and version as in
//! the `response` target. Never a panic, and every span lies inside the
//! bytes it explains, its children inside it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_core::annotate::{annotate_request, annotate_response, Annotation, Span};
use spate_core::protocol::ApiKey;

fn check(span: &Span, lo: usize, hi: usize) {
    assert!(
        lo <= span.start && span.start <= span.end && span.end <= hi,
        "span {} {}..{} outside {lo}..{hi}",
        span.name,
        span.start,
        span.end
    );
    for c in &span.children {
        check(c, span.start, span.end);
    }
}

fn check_all(a: &Annotation, len: usize) {
    check(&a.root, 0, len);
    // The page serialises every annotation; so does this.
    serde_json::to_string(a).expect("an annotation serialises");
}

fuzz_target!(|data: &[u8]| {
    check_all(&annotate_request(data), data.len());
    let [k, v, rest @ ..] = data else { return };
    let key = ApiKey::ALL[usize::from(*k) % ApiKey::ALL.len()];
    let range = key.versions();
    let span = i32::from(range.max.min(64)) - i32::from(range.min) + 1;
    let version = range.min + (i32::from(*v) % span) as i16;
    check_all(&annotate_response(rest, key as i16, version), rest.len());
});
