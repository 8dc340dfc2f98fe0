//! Bytes to JSON: walks the schema tables over a frame (the wire rules are
//! the annotator's; see `annotate/walker.rs`).

use bytes::Bytes;
use serde_json::{Map, Value};

use super::values::{default_json, float};
use super::{child, index, records, to_hex, JsonError, SizePrefix};
use crate::protocol::error::DecodeError;
use crate::protocol::header::{request_header_version, response_header_version};
use crate::protocol::messages::{request_header, response_header, ApiKey};
use crate::protocol::schema::{FieldSpec, FieldType, MessageSpec, Prim, StructSpec};
use crate::protocol::wire::{LenKind, Reader};

pub(super) fn request(frame: &[u8], prefix: SizePrefix) -> Result<Value, JsonError> {
    let src = Bytes::copy_from_slice(frame);
    let start = body_start(&src, prefix.present_in(&src, true))?;
    let mut d = Dec {
        r: Reader::with_range(&src, start, src.len()),
    };
    let mut probe = d.r.clone();
    let at = probe.pos();
    let raw_key = probe.i16().map_err(|e| err("header.request_api_key", e))?;
    let version = probe
        .i16()
        .map_err(|e| err("header.request_api_version", e))?;
    let key = ApiKey::from_i16(raw_key).ok_or_else(|| {
        let e = DecodeError::UnknownApiKey { at, key: raw_key };
        err("header.request_api_key", e)
    })?;
    if !key.request_spec().valid.contains(version) {
        let e = DecodeError::UnsupportedVersion {
            at: at + 2,
            key: raw_key,
            version,
        };
        return Err(err("header.request_api_version", e));
    }
    let header = d.message(
        &request_header::SPEC,
        request_header_version(key, version),
        "header",
    )?;
    let body = d.message(key.request_spec(), version, "body")?;
    d.r.finish().map_err(|e| err("", e))?;
    Ok(top(key, version, "request", header, body))
}

pub(super) fn response(
    frame: &[u8],
    raw_key: i16,
    version: i16,
    prefix: SizePrefix,
) -> Result<Value, JsonError> {
    let key = ApiKey::from_i16(raw_key)
        .ok_or_else(|| JsonError::new("api", format!("api key {raw_key} is not a Kafka API")))?;
    if !key.response_spec().valid.contains(version) {
        return Err(JsonError::new(
            "version",
            format!(
                "{} has versions {}, not {version}",
                key.name(),
                key.versions()
            ),
        ));
    }
    let src = Bytes::copy_from_slice(frame);
    let start = body_start(&src, prefix.present_in(&src, false))?;
    let mut d = Dec {
        r: Reader::with_range(&src, start, src.len()),
    };
    let header = d.message(
        &response_header::SPEC,
        response_header_version(key, version),
        "header",
    )?;
    let body = d.message(key.response_spec(), version, "body")?;
    d.r.finish().map_err(|e| err("", e))?;
    Ok(top(key, version, "response", header, body))
}

fn top(key: ApiKey, version: i16, side: &str, header: Value, body: Value) -> Value {
    let mut m = Map::new();
    m.insert("api".into(), key.name().into());
    m.insert("version".into(), version.into());
    m.insert("side".into(), side.into());
    m.insert("header".into(), header);
    m.insert("body".into(), body);
    Value::Object(m)
}

/// Where the header starts: after the size prefix, which must then say
/// exactly how many bytes follow.
fn body_start(src: &Bytes, prefixed: bool) -> Result<usize, JsonError> {
    if !prefixed {
        return Ok(0);
    }
    let mut r = Reader::new(src);
    let size = r.i32().map_err(|e| err("size", e))?;
    let follows = src.len() - 4;
    if i64::from(size) != follows as i64 {
        return Err(JsonError::new(
            "size",
            format!("the size prefix says {size} bytes follow, but {follows} do"),
        ));
    }
    Ok(4)
}

fn err(path: &str, e: DecodeError) -> JsonError {
    JsonError::new(path, e.to_string())
}

struct Dec<'a> {
    r: Reader<'a>,
}

impl Dec<'_> {
    fn message(&mut self, spec: &MessageSpec, v: i16, path: &str) -> Result<Value, JsonError> {
        self.strukt(spec.root, v, spec.flexible.contains(v), path)
    }

    fn strukt(
        &mut self,
        s: &StructSpec,
        v: i16,
        flexible: bool,
        path: &str,
    ) -> Result<Value, JsonError> {
        let mut m = Map::new();
        for f in s.fields {
            if f.inline_in(v) {
                let val = self.field(f, v, flexible, &child(path, f.name))?;
                m.insert(f.name.into(), val);
            } else if f.versions.contains(v) {
                // Tagged: its default until the tagged section says otherwise.
                m.insert(f.name.into(), default_json(f, v));
            }
        }
        if flexible {
            let mut unknown = Map::new();
            self.tagged(s, v, path, &mut m, &mut unknown)?;
            if !unknown.is_empty() {
                m.insert("_unknown_tags".into(), Value::Object(unknown));
            }
        }
        Ok(Value::Object(m))
    }

    fn tagged(
        &mut self,
        s: &StructSpec,
        v: i16,
        path: &str,
        m: &mut Map<String, Value>,
        unknown: &mut Map<String, Value>,
    ) -> Result<(), JsonError> {
        let here = child(path, "_tagged_fields");
        let count = self.r.uvarint().map_err(|e| err(&here, e))?;
        for _ in 0..count {
            let tag = self.r.uvarint().map_err(|e| err(&here, e))?;
            let size = self.r.uvarint().map_err(|e| err(&here, e))? as usize;
            let at = self.r.pos();
            let data = self.r.take(size).map_err(|e| err(&here, e))?;
            let known = s
                .fields
                .iter()
                .find(|f| f.tagged.contains(v) && f.tag == tag);
            match known {
                Some(f) => {
                    let p = child(path, f.name);
                    let src = self.r.source();
                    let mut inner = Dec {
                        r: Reader::with_range(src, at, at + size),
                    };
                    let val = inner.field(f, v, true, &p)?;
                    inner.r.finish().map_err(|e| err(&p, e))?;
                    m.insert(f.name.into(), val);
                }
                None => {
                    unknown.insert(tag.to_string(), to_hex(&data).into());
                }
            }
        }
        Ok(())
    }

    fn field(
        &mut self,
        f: &FieldSpec,
        v: i16,
        flexible: bool,
        path: &str,
    ) -> Result<Value, JsonError> {
        let compact = flexible && !f.never_flexible;
        let nullable = f.nullable.contains(v);
        match f.ty {
            FieldType::Prim(p) => self.prim(p, compact, nullable, path),
            FieldType::Array(p) => self.array(compact, nullable, path, |d, p2| {
                d.prim(p, compact, false, p2)
            }),
            FieldType::Struct(s) => {
                if nullable {
                    let at = self.r.pos();
                    match self.r.i8().map_err(|e| err(path, e))? {
                        -1 => return Ok(Value::Null),
                        1 => {}
                        _ => {
                            let e = DecodeError::Invalid {
                                at,
                                what: "nullable struct marker must be -1 (null) or 1 (present)",
                            };
                            return Err(err(path, e));
                        }
                    }
                }
                self.strukt(s, v, flexible, path)
            }
            FieldType::StructArray(s) => self.array(compact, nullable, path, |d, p2| {
                d.strukt(s, v, flexible, p2)
            }),
        }
    }

    fn array(
        &mut self,
        compact: bool,
        nullable: bool,
        path: &str,
        mut elem: impl FnMut(&mut Self, &str) -> Result<Value, JsonError>,
    ) -> Result<Value, JsonError> {
        let at = self.r.pos();
        match self.r.array_len(compact, 1).map_err(|e| err(path, e))? {
            None if nullable => Ok(Value::Null),
            None => Err(err(path, DecodeError::UnexpectedNull { at })),
            Some(n) => {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    out.push(elem(self, &index(path, i))?);
                }
                Ok(Value::Array(out))
            }
        }
    }

    fn prim(
        &mut self,
        p: Prim,
        compact: bool,
        nullable: bool,
        path: &str,
    ) -> Result<Value, JsonError> {
        let e = |e| err(path, e);
        let r = &mut self.r;
        Ok(match p {
            Prim::Bool => r.bool().map_err(e)?.into(),
            Prim::Int8 => r.i8().map_err(e)?.into(),
            Prim::Int16 => r.i16().map_err(e)?.into(),
            Prim::Int32 => r.i32().map_err(e)?.into(),
            Prim::Int64 => r.i64().map_err(e)?.into(),
            Prim::Uint16 => r.u16().map_err(e)?.into(),
            Prim::Uint32 => r.u32().map_err(e)?.into(),
            Prim::Float64 => float(r.f64().map_err(e)?),
            Prim::Uuid => r.uuid().map_err(e)?.to_string().into(),
            Prim::String | Prim::Bytes | Prim::Records => {
                let kind = if p == Prim::String {
                    LenKind::String
                } else {
                    LenKind::Bytes
                };
                let at = r.pos();
                let Some(n) = r.length(kind, compact).map_err(e)? else {
                    if nullable {
                        return Ok(Value::Null);
                    }
                    return Err(err(path, DecodeError::UnexpectedNull { at }));
                };
                let data_at = r.pos();
                let data = r.take(n).map_err(e)?;
                match p {
                    Prim::String => match std::str::from_utf8(&data) {
                        Ok(s) => s.into(),
                        Err(_) => return Err(err(path, DecodeError::InvalidUtf8 { at: data_at })),
                    },
                    Prim::Bytes => to_hex(&data).into(),
                    _ => records::decode(&data),
                }
            }
        })
    }
}
