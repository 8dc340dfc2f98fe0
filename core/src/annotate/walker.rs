//! Walks a message's schema tables over its bytes and builds spans.
//!
//! This is an interpreter of the same [`StructSpec`] tables the typed
//! codecs were generated beside, so the two agree by construction; the
//! tests still check every annotated value against the typed decode.

use bytes::Bytes;

use super::records::annotate_record_set;
use super::span::{AnnotateError, Span, Text, Value};
use crate::protocol::error::DecodeError;
use crate::protocol::schema::{FieldSpec, FieldType, Prim, StructSpec};
use crate::protocol::wire::{LenKind, Reader};
use crate::protocol::ErrorCode;

/// Decoding stopped: the error, already phrased for a person.
pub(crate) type Stop = Box<AnnotateError>;

pub(crate) struct Walker<'a> {
    pub(crate) r: Reader<'a>,
    path: Vec<Text>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(src: &'a Bytes, start: usize) -> Self {
        Walker {
            r: Reader::with_range(src, start, src.len()),
            path: Vec::new(),
        }
    }

    /// An error at the current field.
    pub(crate) fn stop(&self, kind: &str, e: DecodeError) -> Stop {
        let field = self.path.join(".").replace(".[", "[");
        let name = self.path.last().cloned().unwrap_or_default();
        let problem = e.problem();
        let offset = e.offset();
        Box::new(AnnotateError {
            offset,
            message: format!("{kind} `{name}` at byte {offset}: {problem}"),
            field,
            kind: kind.to_string(),
            problem,
        })
    }

    /// An error at the field `name` inside the current one.
    pub(crate) fn stop_at(&mut self, name: impl Into<Text>, kind: &str, e: DecodeError) -> Stop {
        self.enter(name);
        let s = self.stop(kind, e);
        self.leave();
        s
    }

    pub(crate) fn enter(&mut self, name: impl Into<Text>) {
        self.path.push(name.into());
    }

    pub(crate) fn leave(&mut self) {
        self.path.pop();
    }

    /// Reads a primitive leaf named `name`.
    pub(crate) fn prim_leaf(
        &mut self,
        name: impl Into<Text>,
        kind: &'static str,
        out: &mut Vec<Span>,
        read: impl FnOnce(&mut Reader<'a>) -> Result<Value, DecodeError>,
    ) -> Result<Value, Stop> {
        let start = self.r.pos();
        let name = name.into();
        match read(&mut self.r) {
            Ok(v) => {
                out.push(Span::leaf(name, kind, start, self.r.pos(), v.clone()));
                Ok(v)
            }
            Err(e) => {
                self.enter(name);
                let s = self.stop(kind, e);
                self.leave();
                Err(s)
            }
        }
    }

    /// All fields of `spec` at `version`, then its tagged section when flexible.
    pub(crate) fn struct_body(
        &mut self,
        spec: &StructSpec,
        version: i16,
        flexible: bool,
        out: &mut Vec<Span>,
    ) -> Result<(), Stop> {
        for f in spec.fields {
            if f.inline_in(version) {
                self.field(f, version, flexible, f.name.into(), out)?;
            }
        }
        if flexible {
            self.tagged_section(spec, version, out)?;
        }
        Ok(())
    }

    fn tagged_section(
        &mut self,
        spec: &StructSpec,
        version: i16,
        out: &mut Vec<Span>,
    ) -> Result<(), Stop> {
        let mut sec = Span::open("tagged_fields", "tagged_fields", self.r.pos());
        self.enter("tagged_fields");
        let res = self.tagged_inner(spec, version, &mut sec.children);
        self.leave();
        sec.end = self
            .r
            .pos()
            .max(sec.children.last().map_or(sec.start, |c| c.end));
        out.push(sec);
        res
    }

    fn tagged_inner(
        &mut self,
        spec: &StructSpec,
        version: i16,
        out: &mut Vec<Span>,
    ) -> Result<(), Stop> {
        let count = self.prim_leaf("count", "uvarint", out, |r| {
            r.uvarint().map(|v| Value::Int(v.into()))
        })?;
        let Value::Int(count) = count else {
            unreachable!()
        };
        for _ in 0..count {
            let start = self.r.pos();
            let mut peek = self.r.clone();
            let tag = peek.uvarint().ok();
            let known = tag.and_then(|t| {
                spec.fields
                    .iter()
                    .find(|f| f.tagged.contains(version) && f.tag == t)
            });
            let name: Text = match known {
                Some(f) => f.name.into(),
                None => format!("unknown_tag_{}", tag.unwrap_or(0)).into(),
            };
            let mut node = Span::open(name.clone(), "tagged_field", start);
            self.enter(name);
            let res = self.tagged_one(known, version, &mut node.children);
            self.leave();
            node.end = self
                .r
                .pos()
                .max(node.children.last().map_or(start, |c| c.end));
            if known.is_none() {
                node.note = Some("a tag this schema does not know; kept as raw bytes".into());
            }
            out.push(node);
            res?;
        }
        Ok(())
    }

    fn tagged_one(
        &mut self,
        known: Option<&FieldSpec>,
        version: i16,
        out: &mut Vec<Span>,
    ) -> Result<(), Stop> {
        self.prim_leaf("tag", "uvarint", out, |r| {
            r.uvarint().map(|v| Value::Int(v.into()))
        })?;
        let size_at = self.r.pos();
        let size = self.prim_leaf("size", "uvarint", out, |r| {
            r.uvarint().map(|v| Value::Int(v.into()))
        })?;
        let Value::Int(size) = size else {
            unreachable!()
        };
        let size = size as usize;
        if size > self.r.remaining() {
            return Err(self.stop(
                "tagged_field",
                DecodeError::Truncated {
                    at: size_at,
                    needed: size,
                    remaining: self.r.remaining(),
                },
            ));
        }
        let end = self.r.pos() + size;
        match known {
            Some(f) => {
                let inner = Reader::with_range(self.r.source(), self.r.pos(), end);
                let outer = std::mem::replace(&mut self.r, inner);
                let res = self.field(f, version, true, f.name.into(), out);
                let inner_end = self.r.pos();
                self.r = outer;
                res?;
                if inner_end != end {
                    let e = DecodeError::TrailingBytes {
                        at: inner_end,
                        count: end - inner_end,
                    };
                    return Err(self.stop("tagged_field", e));
                }
                self.r
                    .skip(size)
                    .map_err(|e| self.stop("tagged_field", e))?;
            }
            None => {
                if size > 0 {
                    self.prim_leaf("data", "bytes", out, |r| r.take(size).map(Value::Bytes))?;
                }
            }
        }
        Ok(())
    }

    /// One field at `version`, as a span named `name` pushed to `out`.
    pub(crate) fn field(
        &mut self,
        f: &FieldSpec,
        version: i16,
        flexible: bool,
        name: Text,
        out: &mut Vec<Span>,
    ) -> Result<(), Stop> {
        let compact = flexible && !f.never_flexible;
        let nullable = f.nullable.contains(version);
        self.enter(name.clone());
        let res = match f.ty {
            FieldType::Prim(p) => self.prim(p, name, compact, nullable, version, out),
            FieldType::Array(p) => {
                let kind = format!("{}[]{}", qual(compact, nullable), p.name());
                self.array(name, kind, compact, nullable, out, |w, i, out| {
                    w.prim(p, index_name(i), compact, false, version, out)
                })
            }
            FieldType::Struct(s) => self.strukt(s, name, version, flexible, nullable, out),
            FieldType::StructArray(s) => {
                let kind = format!("{}[]{}", qual(compact, nullable), s.name);
                self.array(name, kind, compact, nullable, out, |w, i, out| {
                    w.strukt(s, index_name(i), version, flexible, false, out)
                })
            }
        };
        self.leave();
        res
    }

    fn strukt(
        &mut self,
        s: &'static StructSpec,
        name: Text,
        version: i16,
        flexible: bool,
        nullable: bool,
        out: &mut Vec<Span>,
    ) -> Result<(), Stop> {
        let mut node = Span::open(name, s.name, self.r.pos());
        let res = (|| {
            if nullable {
                let m = self.prim_leaf("present", "int8", &mut node.children, |r| {
                    r.i8().map(|v| Value::Int(v.into()))
                })?;
                match m {
                    Value::Int(-1) => {
                        node.value = Some(Value::Null);
                        return Ok(());
                    }
                    Value::Int(1) => {}
                    _ => {
                        let e = DecodeError::Invalid {
                            at: node.start,
                            what: "nullable struct marker must be -1 (null) or 1 (present)",
                        };
                        return Err(self.stop("int8", e));
                    }
                }
            }
            self.struct_body(s, version, flexible, &mut node.children)
        })();
        node.end = self
            .r
            .pos()
            .max(node.children.last().map_or(node.start, |c| c.end));
        out.push(node);
        res
    }

    fn array(
        &mut self,
        name: Text,
        kind: String,
        compact: bool,
        nullable: bool,
        out: &mut Vec<Span>,
        mut elem: impl FnMut(&mut Self, usize, &mut Vec<Span>) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let mut node = Span::open(name, kind, self.r.pos());
        let res = (|| {
            let len_kind = if compact { "uvarint" } else { "int32" };
            let start = self.r.pos();
            let n = match self.r.array_len(compact, 1) {
                Ok(n) => n,
                Err(e) => {
                    self.r.rewind(start);
                    return Err(self.stop(len_kind, e));
                }
            };
            let shown = n.map_or(-1, |n| n as i64);
            let mut count = Span::leaf(
                "count",
                len_kind,
                start,
                self.r.pos(),
                Value::Int(if compact { shown + 1 } else { shown }),
            );
            if compact {
                count.note = Some(match n {
                    Some(n) => format!(
                        "{n} element{} (compact arrays store count + 1)",
                        if n == 1 { "" } else { "s" }
                    )
                    .into(),
                    None => "null".into(),
                });
            }
            node.children.push(count);
            match n {
                None if nullable => {
                    node.value = Some(Value::Null);
                    Ok(())
                }
                None => Err(self.stop(len_kind, DecodeError::UnexpectedNull { at: start })),
                Some(n) => {
                    for i in 0..n {
                        self.enter(index_name(i));
                        let r = elem(self, i, &mut node.children);
                        self.leave();
                        r?;
                    }
                    Ok(())
                }
            }
        })();
        node.end = self
            .r
            .pos()
            .max(node.children.last().map_or(node.start, |c| c.end));
        out.push(node);
        res
    }

    fn prim(
        &mut self,
        p: Prim,
        name: Text,
        compact: bool,
        nullable: bool,
        version: i16,
        out: &mut Vec<Span>,
    ) -> Result<(), Stop> {
        let _ = version;
        let leaf = |w: &mut Self,
                    name: Text,
                    kind: &'static str,
                    out: &mut Vec<Span>,
                    read: fn(&mut Reader<'a>) -> Result<Value, DecodeError>| {
            w.prim_leaf(name, kind, out, read).map(|_| ())
        };
        match p {
            Prim::Bool => leaf(self, name, "bool", out, |r| r.bool().map(Value::Bool)),
            Prim::Int8 => leaf(self, name, "int8", out, |r| {
                r.i8().map(|v| Value::Int(v.into()))
            }),
            Prim::Int16 => {
                // An error code other than NONE is named (UNKNOWN_TOPIC_OR_PARTITION).
                let error_code = name.ends_with("error_code");
                leaf(self, name, "int16", out, |r| {
                    r.i16().map(|v| Value::Int(v.into()))
                })?;
                if let Some(s) = out.last_mut().filter(|_| error_code) {
                    if let Some(Value::Int(code)) =
                        s.value.as_ref().filter(|v| **v != Value::Int(0))
                    {
                        s.note = Some(ErrorCode(*code as i16).name().into());
                    }
                }
                Ok(())
            }
            Prim::Int32 => leaf(self, name, "int32", out, |r| {
                r.i32().map(|v| Value::Int(v.into()))
            }),
            Prim::Int64 => leaf(self, name, "int64", out, |r| r.i64().map(Value::Int)),
            Prim::Uint16 => leaf(self, name, "uint16", out, |r| {
                r.u16().map(|v| Value::Int(v.into()))
            }),
            Prim::Uint32 => leaf(self, name, "uint32", out, |r| {
                r.u32().map(|v| Value::Int(v.into()))
            }),
            Prim::Float64 => leaf(self, name, "float64", out, |r| r.f64().map(Value::Float)),
            Prim::Uuid => leaf(self, name, "uuid", out, |r| r.uuid().map(Value::Uuid)),
            Prim::String | Prim::Bytes | Prim::Records => {
                self.sized(p, name, compact, nullable, out)
            }
        }
    }

    /// A string, bytes or records field: a length leaf, then the data.
    fn sized(
        &mut self,
        p: Prim,
        name: Text,
        compact: bool,
        nullable: bool,
        out: &mut Vec<Span>,
    ) -> Result<(), Stop> {
        let kind = format!("{}{}", qual(compact, nullable), p.name());
        let mut node = Span::open(name, kind.clone(), self.r.pos());
        let res = (|| {
            let (lk, len_kind) = match (p, compact) {
                (_, true) => (LenKind::Bytes, "uvarint"),
                (Prim::String, false) => (LenKind::String, "int16"),
                (_, false) => (LenKind::Bytes, "int32"),
            };
            let start = self.r.pos();
            let n = match self.r.length(lk, compact) {
                Ok(n) => n,
                Err(e) => {
                    self.r.rewind(start);
                    return Err(self.stop(len_kind, e));
                }
            };
            let raw = n.map_or(-1, |n| n as i64);
            let mut len = Span::leaf(
                "length",
                len_kind,
                start,
                self.r.pos(),
                Value::Int(if compact { raw + 1 } else { raw }),
            );
            if compact {
                len.note = Some(match n {
                    Some(n) => format!(
                        "{n} byte{} (compact lengths store length + 1)",
                        if n == 1 { "" } else { "s" }
                    )
                    .into(),
                    None => "null".into(),
                });
            }
            node.children.push(len);
            let Some(n) = n else {
                node.value = Some(Value::Null);
                if nullable {
                    return Ok(());
                }
                return Err(self.stop(&kind, DecodeError::UnexpectedNull { at: start }));
            };
            let data_at = self.r.pos();
            if n > self.r.remaining() {
                let e = DecodeError::Truncated {
                    at: data_at,
                    needed: n,
                    remaining: self.r.remaining(),
                };
                return Err(self.stop(&kind, e));
            }
            match p {
                Prim::String => {
                    let v = self.r.take(n).map_err(|e| self.stop(&kind, e))?;
                    let Ok(s) = std::str::from_utf8(&v) else {
                        self.r.rewind(data_at);
                        return Err(self.stop(&kind, DecodeError::InvalidUtf8 { at: data_at }));
                    };
                    node.value = Some(Value::Str(s.to_string()));
                    if n > 0 {
                        node.children.push(Span::leaf(
                            "data",
                            "utf8",
                            data_at,
                            data_at + n,
                            Value::Str(s.to_string()),
                        ));
                    }
                    Ok(())
                }
                Prim::Bytes => {
                    let v = self.r.take(n).map_err(|e| self.stop(&kind, e))?;
                    node.value = Some(Value::Bytes(v.clone()));
                    if n > 0 {
                        node.children.push(Span::leaf(
                            "data",
                            "bytes",
                            data_at,
                            data_at + n,
                            Value::Bytes(v),
                        ));
                    }
                    Ok(())
                }
                _ => {
                    let src = self.r.source();
                    let (spans, err) = annotate_record_set(src, data_at, data_at + n);
                    node.children.extend(spans);
                    if let Some(mut e) = err {
                        let prefix = self.path.join(".").replace(".[", "[");
                        e.field = format!("{prefix}.{}", e.field);
                        return Err(Box::new(e));
                    }
                    self.r.skip(n).map_err(|e| self.stop(&kind, e))?;
                    Ok(())
                }
            }
        })();
        node.end = self
            .r
            .pos()
            .max(node.children.last().map_or(node.start, |c| c.end));
        out.push(node);
        res
    }
}

/// The name of array element `i`: `[i]`.
fn index_name(i: usize) -> Text {
    format!("[{i}]").into()
}

fn qual(compact: bool, nullable: bool) -> &'static str {
    match (compact, nullable) {
        (true, true) => "compact_nullable_",
        (true, false) => "compact_",
        (false, true) => "nullable_",
        (false, false) => "",
    }
}
