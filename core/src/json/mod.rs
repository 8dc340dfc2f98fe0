//! Frames as JSON and back, driven by the schema tables: the playground's
//! request builder edits every field of any message this way.
//!
//! [`decode_request`] and [`decode_response`] turn a whole frame into a
//! [`serde_json::Value`]; [`encode`] turns that value (or one a person wrote)
//! back into a frame with its size prefix. Both walk the same
//! [`schema`](crate::protocol::schema) tables as the typed codecs and the
//! annotator, so every API at every version works.
//!
//! # Format
//!
//! ```text
//! {
//!   "api": "Produce",            name (or the numeric key)
//!   "version": 9,
//!   "side": "request",           or "response"
//!   "header": {"request_api_key": 0, "request_api_version": 9, "correlation_id": 1, "client_id": "x"},
//!   "body": {"transactional_id": null, "acks": -1, "timeout_ms": 30000, "topic_data": [...]}
//! }
//! ```
//!
//! - Field names are the schema's snake_case names, in wire order; fields
//!   absent in the version are left out. Null is `null`; int64 is an exact
//!   JSON integer; a uuid is its base64url text (`AAAAAAAAAAAAAAAAAAAAAA`);
//!   a `bytes` field is a hex string; a float64 that is not finite is the
//!   string `"NaN"`, `"Infinity"` or `"-Infinity"`.
//! - Tagged fields sit among the others (a tagged field the frame left out
//!   shows its default); tags the schema does not know are kept as
//!   `"_unknown_tags": {"<tag>": "<hex>"}` in the struct that had them.
//! - A `records` field that holds v2 record batches is an array of batches:
//!   `{"base_offset", "partition_leader_epoch", "compression": "none" |
//!   "gzip" | "snappy" | "lz4" | "zstd", "timestamp_type": "create" |
//!   "log_append", "transactional", "control", "base_timestamp",
//!   "producer_id", "producer_epoch", "base_sequence", "records": [...]}`,
//!   each record `{"timestamp_delta", "offset_delta", "key", "value",
//!   "headers": [{"key", "value"}]}`. A key, value or header value is a JSON
//!   string for UTF-8 text, `{"hex": "..."}` for raw bytes, or `null`.
//!   Anything else (a legacy message set, a truncated tail) is one hex
//!   string and goes back byte for byte.
//!
//! # Encoding
//!
//! Everything the wire derives is computed: the size prefix, lengths,
//! array counts, compact `+1`s, tagged-section sizes, and in record batches
//! the length, CRC, record count, last offset delta, max timestamp and
//! record lengths. A missing field takes its default (the schema's, else
//! 0, `""`, empty, false), so a short JSON is enough. A field the version
//! lacks is an error unless it holds its default (or the schema marks it
//! ignorable: then it is dropped), as Kafka's generated code does. A tagged
//! field is written only when it differs from its default. Errors name the
//! JSON path: `body.topic_data[0].name: expected string, found 7`.

mod decode;
mod encode;
mod records;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
mod values;

use std::fmt;

use bytes::Bytes;
use serde_json::Value;

pub use crate::annotate::SizePrefix;
use crate::protocol::messages::ApiKey;

/// Why a frame could not become JSON, or JSON a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Where, as a JSON path (`body.topics[0].name`); empty for the document.
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

impl JsonError {
    pub(crate) fn new(path: &str, problem: impl Into<String>) -> Self {
        JsonError {
            path: path.to_string(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for JsonError {}

/// A request frame (with or without its size prefix) as JSON.
pub fn decode_request(frame: &[u8], prefix: SizePrefix) -> Result<Value, JsonError> {
    decode::request(frame, prefix)
}

/// A response frame (with or without its size prefix) to a request of
/// `api_key` at `api_version`, as JSON.
pub fn decode_response(
    frame: &[u8],
    api_key: i16,
    api_version: i16,
    prefix: SizePrefix,
) -> Result<Value, JsonError> {
    decode::response(frame, api_key, api_version, prefix)
}

/// The frame, size prefix included, that `json` describes (the format of
/// [`decode_request`] and [`decode_response`]).
pub fn encode(json: &Value) -> Result<Bytes, JsonError> {
    encode::frame(json)
}

/// `path.name`, or `name` at the top.
pub(crate) fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Lower-case hex, no separators.
pub(crate) fn to_hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(D[usize::from(x >> 4)] as char);
        s.push(D[usize::from(x & 15)] as char);
    }
    s
}

/// Hex (either case; spaces allowed between bytes) to bytes.
pub(crate) fn from_hex(s: &str, path: &str) -> Result<Bytes, JsonError> {
    let digits: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(JsonError::new(
            path,
            format!("hex {} has an odd number of digits", brief_str(s)),
        ));
    }
    let val = |c: u8| -> Option<u8> { (c as char).to_digit(16).map(|d| d as u8) };
    let mut out = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks(2) {
        match (val(pair[0]), val(pair[1])) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => {
                return Err(JsonError::new(
                    path,
                    format!(
                        "expected hex digits, found {:?} in {}",
                        String::from_utf8_lossy(pair),
                        brief_str(s)
                    ),
                ))
            }
        }
    }
    Ok(Bytes::from(out))
}

/// A short description of a JSON value for error messages.
pub(crate) fn brief(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => brief_str(s),
        Value::Array(a) => format!("an array of {}", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

fn brief_str(s: &str) -> String {
    if s.chars().count() > 40 {
        let head: String = s.chars().take(37).collect();
        format!("\"{head}...\"")
    } else {
        format!("{s:?}")
    }
}

/// The API a JSON `api` value names: its name (`Produce`) or key (`0`).
pub(crate) fn api_from_json(v: &Value) -> Result<ApiKey, JsonError> {
    let found = match v {
        Value::String(s) => ApiKey::ALL.iter().copied().find(|k| k.name() == s),
        Value::Number(n) => n
            .as_i64()
            .and_then(|k| i16::try_from(k).ok())
            .and_then(ApiKey::from_i16),
        _ => None,
    };
    found.ok_or_else(|| {
        JsonError::new(
            "api",
            format!(
                "{} is not an API this broker knows (a name such as \"Produce\" or a key such as 0)",
                brief(v)
            ),
        )
    })
}
