//! The annotation tree: spans of bytes with names, types and values.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::{Serialize, Serializer};

use crate::protocol::Uuid;

/// A decoded value shown beside its bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A null string, bytes, array or struct.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer (int8 to int64, uint16, uint32, varints).
    Int(i64),
    /// A float64.
    Float(f64),
    /// A string.
    Str(String),
    /// Opaque bytes.
    Bytes(Bytes),
    /// A uuid.
    Uuid(Uuid),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(t) => s.serialize_str(t),
            Value::Bytes(b) => s.collect_str(&format_args!("0x{}", Hex(b))),
            Value::Uuid(u) => s.collect_str(u),
        }
    }
}

/// The bytes as text, when they are UTF-8 with no control character other
/// than newline, carriage return and tab: how a record's key or value is
/// worth showing beside its hex.
pub fn printable(b: &[u8]) -> Option<&str> {
    let plain = |c: u8| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t');
    let s = std::str::from_utf8(b).ok()?;
    // Printable ASCII needs no decoding: one pass over the bytes.
    if b.iter().all(|&c| plain(c)) {
        return Some(s);
    }
    let control = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    (!s.chars().any(control)).then_some(s)
}

/// Lower-case hex of a byte slice.
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(t) => write!(f, "{t:?}"),
            Value::Bytes(b) if b.len() <= 32 => write!(f, "0x{}", Hex(b)),
            Value::Bytes(b) => write!(f, "0x{}… ({} bytes)", Hex(&b[..32]), b.len()),
            Value::Uuid(u) => write!(f, "{u}"),
        }
    }
}

/// Text of a span: a name, kind or note. Most are fixed words of the
/// schema or the record format and cost no allocation.
pub type Text = Cow<'static, str>;

/// One span of the tree: a named, typed byte range, with a value for
/// leaves and children for composites. The leaves of a complete tree cover
/// every byte of the frame exactly once, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// Field name (`partition_index`), element (`[3]`) or part (`length`, `tag`).
    pub name: Text,
    /// Wire type (`int32`, `compact_string`, `uvarint`, `RecordBatch`, ...).
    pub kind: Text,
    /// First byte (absolute offset in the frame given to the annotator).
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The decoded value, for leaves and for strings, bytes and nulls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// A short remark (`CRC valid`, `null`, `unknown tag`, an enum's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Text>,
    /// Parts, in byte order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Span>,
    /// What these bytes hold once decoded, annotated over bytes of their
    /// own: the records of a compressed batch, as decompressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner: Option<Box<Inner>>,
    /// These bytes are a secret (a SASL password, a SCRAM proof, a bearer
    /// token's signature): [`super::mask()`] hides them before a frame
    /// leaves the process.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// Bytes a span stands for once decoded, explained on their own. Offsets in
/// `spans` count from the start of `bytes`, not of the frame; their leaves
/// cover `bytes` as a frame's leaves cover the frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inner {
    /// What the bytes are (`gzip-decompressed records`).
    pub label: Text,
    /// The decoded bytes.
    #[serde(serialize_with = "hex_bytes")]
    pub bytes: Bytes,
    /// Their spans.
    pub spans: Vec<Span>,
    /// Set when the decoded bytes are malformed; `spans` hold what was
    /// decoded before. The frame around them may still be well formed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<AnnotateError>,
}

fn hex_bytes<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Hex(b))
}

impl Span {
    /// A span starting at `start` that has not ended yet (`end == start`).
    pub fn open(name: impl Into<Text>, kind: impl Into<Text>, start: usize) -> Self {
        Span {
            name: name.into(),
            kind: kind.into(),
            start,
            end: start,
            value: None,
            note: None,
            children: Vec::new(),
            inner: None,
            secret: false,
        }
    }

    /// A finished leaf.
    pub fn leaf(
        name: impl Into<Text>,
        kind: impl Into<Text>,
        start: usize,
        end: usize,
        value: Value,
    ) -> Self {
        Span {
            name: name.into(),
            kind: kind.into(),
            start,
            end,
            value: Some(value),
            note: None,
            children: Vec::new(),
            inner: None,
            secret: false,
        }
    }

    /// Adds a remark.
    pub fn with_note(mut self, note: impl Into<Text>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The leaves in byte order.
    pub fn leaves(&self) -> Vec<&Span> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<&'a Span>) {
        if self.children.is_empty() {
            out.push(self);
        } else {
            for c in &self.children {
                c.collect_leaves(out);
            }
        }
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Span> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Follows a path of child names (`["header", "client_id"]`).
    pub fn path(&self, names: &[&str]) -> Option<&Span> {
        let mut at = self;
        for n in names {
            at = at.child(n)?;
        }
        Some(at)
    }

    /// The innermost spans containing byte `offset`, outermost first.
    pub fn ancestry(&self, offset: usize) -> Vec<&Span> {
        let mut out = Vec::new();
        let mut at = self;
        if !(at.start..at.end).contains(&offset) {
            return out;
        }
        loop {
            out.push(at);
            match at
                .children
                .iter()
                .find(|c| (c.start..c.end).contains(&offset))
            {
                Some(c) => at = c,
                None => return out,
            }
        }
    }
}

/// Why annotation stopped before the end of the frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnotateError {
    /// Byte offset where decoding stopped.
    pub offset: usize,
    /// Path of the field being decoded (`topics[0].partitions[1].partition_index`).
    pub field: String,
    /// Its wire type.
    pub kind: String,
    /// What was expected versus found.
    pub problem: String,
    /// The whole sentence: "int32 `partition_index` at byte 41: needs 4 bytes, 2 remain".
    pub message: String,
}

impl fmt::Display for AnnotateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AnnotateError {}

/// The result of annotating a frame: the tree decoded so far, and the
/// error that stopped it, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annotation {
    /// The whole frame.
    pub root: Span,
    /// Set when the frame is malformed; `root` then holds what was decoded before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<AnnotateError>,
}
