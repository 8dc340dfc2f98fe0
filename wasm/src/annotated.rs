//! [`Annotated`]: an annotation laid out flat for the page.
//!
//! A 1 MB Produce request has about 85,000 spans. Handing them to
//! JavaScript as a tree of objects (or as JSON for the browser to parse)
//! costs more than annotating them, and the page shows only a few hundred
//! at a time. So the tree stays here, flattened in preorder, and the page
//! gets:
//!
//! - four typed arrays over every node: `starts`, `ends`, `parents` (-1 for
//!   the root) and `buffers` (0 for the frame, `k` for the `k`-th decoded
//!   buffer: a compressed batch's records, decompressed);
//! - one node's name, kind, value, text and note on demand ([`Annotated::node`]),
//!   for the rows it renders and the details it shows;
//! - the decoded buffers' bytes, labels and errors.
//!
//! A decoded buffer's spans are children of the span whose bytes they
//! decode (the compressed `records` leaf), with offsets counted from the
//! start of that buffer. [`Annotated::tree`] gives the whole tree nested
//! instead, for small frames and for callers who want it in one piece.

use bytes::Bytes;
use js_sys::{Int32Array, Uint32Array, Uint8Array};
use serde::Serialize;
use spate_core::annotate::{self, AnnotateError, Annotation, Span, Text, Value};
use wasm_bindgen::prelude::*;

/// Byte values longer than this cross as a prefix only (the page has the bytes).
const LONG_BYTES: usize = 32;
/// Byte values up to this long that are printable UTF-8 also cross as text.
const MAX_TEXT: usize = 4096;

struct Node {
    name: Text,
    kind: Text,
    value: Option<Value>,
    note: Option<Text>,
    /// A secret the page marks as one (a pasted SASL password).
    secret: bool,
}

struct Buffer {
    label: Text,
    bytes: Bytes,
    error: Option<AnnotateError>,
}

/// An annotation as the page reads it; see the module docs. Free it with
/// `free()` when it is no longer shown.
#[wasm_bindgen]
pub struct Annotated {
    nodes: Vec<Node>,
    start: Vec<u32>,
    end: Vec<u32>,
    parent: Vec<i32>,
    buffer: Vec<u32>,
    /// Decoded buffers; buffer `k` is `buffers[k - 1]`.
    buffers: Vec<Buffer>,
    error: Option<AnnotateError>,
}

impl Annotated {
    /// Flattens `ann`, moving its parts (nothing is copied but offsets).
    pub(crate) fn new(ann: Annotation) -> Annotated {
        let mut a = Annotated {
            nodes: Vec::new(),
            start: Vec::new(),
            end: Vec::new(),
            parent: Vec::new(),
            buffer: Vec::new(),
            buffers: Vec::new(),
            error: ann.error,
        };
        a.push(ann.root, -1, 0);
        a
    }

    fn push(&mut self, span: Span, parent: i32, buffer: u32) {
        let id = self.nodes.len() as i32;
        self.start.push(span.start as u32);
        self.end.push(span.end as u32);
        self.parent.push(parent);
        self.buffer.push(buffer);
        self.nodes.push(Node {
            name: span.name,
            kind: span.kind,
            value: span.value,
            note: span.note,
            secret: span.secret,
        });
        for c in span.children {
            self.push(c, id, buffer);
        }
        if let Some(inner) = span.inner {
            let inner = *inner;
            self.buffers.push(Buffer {
                label: inner.label,
                bytes: inner.bytes,
                error: inner.error,
            });
            let k = self.buffers.len() as u32;
            for c in inner.spans {
                self.push(c, id, k);
            }
        }
    }

    fn buf(&self, k: u32) -> Result<&Buffer, JsValue> {
        (k as usize)
            .checked_sub(1)
            .and_then(|i| self.buffers.get(i))
            .ok_or_else(|| crate::error(&format!("no decoded buffer {k}")))
    }
}

/// One node as the page shows it; with `tree`, its children and decoded
/// bytes too, nested.
struct NodeJs<'a> {
    node: &'a Node,
    start: u32,
    end: u32,
    tree: Option<(&'a Annotated, &'a Kids, usize)>,
}

/// Children in preorder: the first child of each node and the next sibling.
struct Kids {
    first: Vec<Option<usize>>,
    next: Vec<Option<usize>>,
}

impl Kids {
    fn of(a: &Annotated) -> Kids {
        let n = a.nodes.len();
        let mut k = Kids {
            first: vec![None; n],
            next: vec![None; n],
        };
        for i in (1..n).rev() {
            let p = a.parent[i] as usize;
            k.next[i] = k.first[p];
            k.first[p] = Some(i);
        }
        k
    }

    fn iter(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.first[i], move |&k| self.next[k])
    }
}

impl<'a> NodeJs<'a> {
    fn nested(a: &'a Annotated, kids: &'a Kids, i: usize) -> Self {
        NodeJs {
            node: &a.nodes[i],
            start: a.start[i],
            end: a.end[i],
            tree: Some((a, kids, i)),
        }
    }
}

/// A decoded buffer with its spans, nested.
struct InnerJs<'a> {
    a: &'a Annotated,
    kids: &'a Kids,
    buffer: u32,
    spans: Vec<usize>,
}

impl Serialize for InnerJs<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeStruct};
        let b = self
            .a
            .buf(self.buffer)
            .map_err(|_| S::Error::custom("no buffer"))?;
        let mut st = s.serialize_struct("Inner", 4)?;
        st.serialize_field("label", b.label.as_ref())?;
        st.serialize_field("length", &(b.bytes.len() as u32))?;
        let spans: Vec<_> = self
            .spans
            .iter()
            .map(|&k| NodeJs::nested(self.a, self.kids, k))
            .collect();
        st.serialize_field("spans", &spans)?;
        match &b.error {
            Some(e) => st.serialize_field("error", &ErrorJs::from(e))?,
            None => st.skip_field("error")?,
        }
        st.end()
    }
}

impl Serialize for NodeJs<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let n = self.node;
        let mut st = s.serialize_struct("Span", 8)?;
        st.serialize_field("name", n.name.as_ref())?;
        st.serialize_field("kind", n.kind.as_ref())?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("end", &self.end)?;
        match &n.value {
            // Integers cross as numbers while a double holds them exactly,
            // beyond that as a string of their digits.
            Some(Value::Int(i)) if i.unsigned_abs() > (1 << 53) - 1 => {
                st.serialize_field("value", &i.to_string())?
            }
            Some(Value::Int(i)) => st.serialize_field("value", &(*i as f64))?,
            Some(Value::Bytes(b)) if b.len() > LONG_BYTES => st.serialize_field(
                "value",
                &format!(
                    "0x{}… ({} bytes)",
                    annotate::span::Hex(&b[..LONG_BYTES]),
                    b.len()
                ),
            )?,
            Some(v) => st.serialize_field("value", v)?,
            None => st.skip_field("value")?,
        }
        match &n.value {
            Some(Value::Bytes(b)) if !b.is_empty() && b.len() <= MAX_TEXT => {
                match annotate::printable(b) {
                    Some(t) => st.serialize_field("text", t)?,
                    None => st.skip_field("text")?,
                }
            }
            _ => st.skip_field("text")?,
        }
        match &n.note {
            Some(t) => st.serialize_field("note", t.as_ref())?,
            None => st.skip_field("note")?,
        }
        if n.secret {
            st.serialize_field("secret", &true)?;
        } else {
            st.skip_field("secret")?;
        }
        if let Some((a, kids, i)) = self.tree {
            let own = a.buffer[i];
            let (same, other): (Vec<usize>, Vec<usize>) =
                kids.iter(i).partition(|&k| a.buffer[k] == own);
            if !same.is_empty() {
                let children: Vec<_> = same.iter().map(|&k| NodeJs::nested(a, kids, k)).collect();
                st.serialize_field("children", &children)?;
            }
            if let Some(&first) = other.first() {
                st.serialize_field(
                    "inner",
                    &InnerJs {
                        a,
                        kids,
                        buffer: a.buffer[first],
                        spans: other,
                    },
                )?;
            }
        }
        st.end()
    }
}

#[derive(Serialize)]
struct ErrorJs<'a> {
    offset: f64,
    field: &'a str,
    kind: &'a str,
    problem: &'a str,
    message: &'a str,
}

impl<'a> From<&'a AnnotateError> for ErrorJs<'a> {
    fn from(e: &'a AnnotateError) -> Self {
        ErrorJs {
            offset: e.offset as f64,
            field: &e.field,
            kind: &e.kind,
            problem: &e.problem,
            message: &e.message,
        }
    }
}

/// An annotation error as a plain object.
pub(crate) fn error_object(e: &AnnotateError) -> Result<JsValue, JsValue> {
    crate::to_js(&ErrorJs::from(e))
}

#[wasm_bindgen]
impl Annotated {
    /// How many nodes there are.
    #[wasm_bindgen(getter)]
    pub fn count(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// The root's kind: `ProduceRequest v9`.
    #[wasm_bindgen(getter)]
    pub fn title(&self) -> String {
        self.nodes
            .first()
            .map_or_else(String::new, |n| n.kind.to_string())
    }

    /// Why decoding the frame stopped, `{offset, field, kind, problem,
    /// message}`, or `undefined` for a well-formed frame.
    #[wasm_bindgen(getter)]
    pub fn error(&self) -> Result<JsValue, JsValue> {
        match &self.error {
            Some(e) => error_object(e),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// First byte of every node, in preorder.
    pub fn starts(&self) -> Uint32Array {
        Uint32Array::from(&self.start[..])
    }

    /// One past the last byte of every node.
    pub fn ends(&self) -> Uint32Array {
        Uint32Array::from(&self.end[..])
    }

    /// Every node's parent; -1 for the root.
    pub fn parents(&self) -> Int32Array {
        Int32Array::from(&self.parent[..])
    }

    /// The bytes each node's offsets count in: 0 for the frame, `k` for
    /// decoded buffer `k`.
    pub fn buffers(&self) -> Uint32Array {
        Uint32Array::from(&self.buffer[..])
    }

    /// Node `i` as `{name, kind, start, end, value?, text?, note?, secret?}`.
    pub fn node(&self, i: u32) -> Result<JsValue, JsValue> {
        let i = i as usize;
        let node = self
            .nodes
            .get(i)
            .ok_or_else(|| crate::error(&format!("no node {i}")))?;
        crate::to_js(&NodeJs {
            node,
            start: self.start[i],
            end: self.end[i],
            tree: None,
        })
    }

    /// The whole tree nested, as `annotate` in core builds it: `{root, error?}`
    /// where a span is `{name, kind, start, end, value?, text?, note?, secret?,
    /// children?, inner?}` and `inner` (a compressed batch's records,
    /// decompressed) is `{label, length, spans, error?}`. Built in one go:
    /// for a large frame, read `starts()` and `node(i)` instead.
    pub fn tree(&self) -> Result<JsValue, JsValue> {
        #[derive(Serialize)]
        struct TreeJs<'a> {
            root: NodeJs<'a>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<ErrorJs<'a>>,
        }
        let kids = Kids::of(self);
        crate::to_js(&TreeJs {
            root: NodeJs::nested(self, &kids, 0),
            error: self.error.as_ref().map(ErrorJs::from),
        })
    }

    /// How many decoded buffers there are.
    #[wasm_bindgen(getter, js_name = bufferCount)]
    pub fn buffer_count(&self) -> u32 {
        self.buffers.len() as u32
    }

    /// The bytes of decoded buffer `k` (1-based).
    #[wasm_bindgen(js_name = bufferBytes)]
    pub fn buffer_bytes(&self, k: u32) -> Result<Uint8Array, JsValue> {
        Ok(Uint8Array::from(&self.buf(k)?.bytes[..]))
    }

    /// What decoded buffer `k` is (`gzip-decompressed records`).
    #[wasm_bindgen(js_name = bufferLabel)]
    pub fn buffer_label(&self, k: u32) -> Result<String, JsValue> {
        Ok(self.buf(k)?.label.to_string())
    }

    /// Why decoding buffer `k` stopped, or `undefined`.
    #[wasm_bindgen(js_name = bufferError)]
    pub fn buffer_error(&self, k: u32) -> Result<JsValue, JsValue> {
        match &self.buf(k)?.error {
            Some(e) => error_object(e),
            None => Ok(JsValue::UNDEFINED),
        }
    }
}
