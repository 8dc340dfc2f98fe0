//! Hiding secrets before a frame leaves the process: what `spate serve
//! --inspect` streams to the playground never holds a SASL password, a
//! SCRAM proof or a bearer token's signature.
//!
//! The spans marked [`Span::secret`] by the SASL annotation say which bytes
//! are secret; [`mask`] replaces those bytes with `*` and the values shown
//! for them with `[masked N bytes]`. [`mask_request`] is what the inspect
//! stream calls on every request frame: it annotates only SaslAuthenticate
//! requests and frames that are not Kafka requests at all (the raw tokens
//! after a SaslHandshake v0), so other traffic costs a four-byte check.

use std::ops::Range;

use bytes::Bytes;

use super::sasl::{self, Direction};
use super::span::{Annotation, Span, Value};
use super::{annotate_request_with, SizePrefix};
use crate::protocol::messages::ApiKey;

/// The byte ranges of every secret span in the tree.
pub fn secret_ranges(span: &Span) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    collect(span, &mut out);
    out
}

fn collect(span: &Span, out: &mut Vec<Range<usize>>) {
    if span.secret {
        out.push(span.start..span.end);
    } else {
        for c in &span.children {
            collect(c, out);
        }
    }
}

/// Replaces every secret of `ann` in `bytes` (the frame it annotates) with
/// `*`, and every value showing one with `[masked N bytes]` (or the masked
/// bytes). Returns whether anything was masked.
pub fn mask(ann: &mut Annotation, bytes: &mut [u8]) -> bool {
    let ranges = secret_ranges(&ann.root);
    star(bytes, &ranges);
    mask_values(&mut ann.root, &ranges, bytes);
    !ranges.is_empty()
}

fn star(bytes: &mut [u8], ranges: &[Range<usize>]) {
    for r in ranges {
        let end = r.end.min(bytes.len());
        let start = r.start.min(end);
        bytes[start..end].fill(b'*');
    }
}

fn mask_values(span: &mut Span, ranges: &[Range<usize>], bytes: &[u8]) {
    let overlaps = ranges
        .iter()
        .any(|r| r.start < span.end && span.start < r.end);
    if !overlaps {
        return;
    }
    if span.secret {
        span.value = Some(Value::Str(format!(
            "[masked {} bytes]",
            span.end - span.start
        )));
    } else if let Some(Value::Bytes(v)) = &span.value {
        // A sized field's value is its last bytes (after the length).
        let end = span.end.min(bytes.len());
        let start = end.saturating_sub(v.len());
        span.value = Some(Value::Bytes(Bytes::copy_from_slice(&bytes[start..end])));
    } else if let Some(Value::Str(_)) = &span.value {
        let end = span.end.min(bytes.len());
        let start = span.start.min(end);
        let text = String::from_utf8_lossy(&bytes[start..end]).into_owned();
        span.value = Some(Value::Str(text));
    }
    for c in &mut span.children {
        mask_values(c, ranges, bytes);
    }
}

/// A request frame (without its size prefix, as a broker reads it) with
/// its secrets replaced by `*`, or `None` when it holds none. A
/// SaslAuthenticate request whose token is no message [`super::sasl`]
/// knows has all of its token masked, one too malformed to explain
/// everything after its header; a frame that is no Kafka request is read as a raw
/// SASL token (a SaslHandshake v0 exchange).
pub fn mask_request(frame: &[u8]) -> Option<Bytes> {
    let key_version = (frame.len() >= 4).then(|| {
        (
            i16::from_be_bytes([frame[0], frame[1]]),
            i16::from_be_bytes([frame[2], frame[3]]),
        )
    });
    let known = key_version
        .and_then(|(k, v)| ApiKey::from_i16(k).filter(|key| key.request_spec().valid.contains(v)));
    let mut ranges = match known {
        Some(ApiKey::SaslAuthenticate) => {
            let ann = annotate_request_with(frame, SizePrefix::Absent);
            let mut r = secret_ranges(&ann.root);
            // A token no rule explains may still be a credential (a
            // Kerberos ticket): all of it is hidden.
            let data = ann.root.path(&["body", "auth_bytes", "data"]);
            if let Some(d) = data.filter(|d| d.children.is_empty()) {
                r.push(d.start..d.end);
            }
            if ann.error.is_some() {
                let header_end = ann.root.child("header").map_or(4, |h| h.end);
                r.push(header_end.min(frame.len())..frame.len());
            }
            r
        }
        Some(_) => return None,
        None => secret_ranges(&sasl::sasl_token(frame, None, Direction::Client).root),
    };
    ranges.retain(|r| r.end > r.start);
    if ranges.is_empty() {
        return None;
    }
    let mut out = frame.to_vec();
    star(&mut out, &ranges);
    Some(Bytes::from(out))
}
