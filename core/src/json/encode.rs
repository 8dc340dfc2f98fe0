//! JSON to bytes: every length, count and tag-section size computed,
//! missing fields defaulted, values checked against their types.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value};

use super::values::{default_json, expected, int, parse_int_default};
use super::{api_from_json, brief, child, from_hex, index, records, JsonError};
use crate::protocol::error::EncodeError;
use crate::protocol::header::{request_header_version, response_header_version};
use crate::protocol::messages::{request_header, response_header};
use crate::protocol::schema::{FieldSpec, FieldType, MessageSpec, Prim, StructSpec};
use crate::protocol::types::Uuid;
use crate::protocol::wire::{put_bytes, put_length, put_string, put_uvarint, LenKind};

const TOP: [&str; 5] = ["api", "version", "side", "header", "body"];

pub(super) fn frame(json: &Value) -> Result<Bytes, JsonError> {
    let Value::Object(top) = json else {
        return Err(JsonError::new(
            "",
            format!(
                "expected an object {{\"api\", \"version\", \"header\", \"body\"}}, found {}",
                brief(json)
            ),
        ));
    };
    if let Some(k) = top.keys().find(|k| !TOP.contains(&k.as_str())) {
        return Err(JsonError::new(
            k,
            format!("no such key; the top level has {}", TOP.join(", ")),
        ));
    }
    let key = api_from_json(top.get("api").unwrap_or(&Value::Null))?;
    let version = top.get("version").unwrap_or(&Value::Null);
    let version = match version.as_i64().and_then(|v| i16::try_from(v).ok()) {
        Some(v) if key.versions().contains(v) => v,
        _ => {
            return Err(JsonError::new(
                "version",
                format!(
                    "{} has versions {}, not {}",
                    key.name(),
                    key.versions(),
                    brief(version)
                ),
            ))
        }
    };
    let request = match top.get("side").and_then(Value::as_str) {
        None if top.get("side").is_none_or(Value::is_null) => true,
        Some("request") => true,
        Some("response") => false,
        _ => {
            return Err(JsonError::new(
                "side",
                format!(
                    "expected \"request\" or \"response\", found {}",
                    brief(&top["side"])
                ),
            ))
        }
    };
    let empty = Value::Object(Map::new());
    let mut header = top.get("header").unwrap_or(&empty).clone();
    let body = top.get("body").unwrap_or(&empty);
    let mut e = Enc {
        w: BytesMut::with_capacity(256),
    };
    e.w.put_i32(0);
    if request {
        if let Value::Object(h) = &mut header {
            for (name, want) in [
                ("request_api_key", key as i16),
                ("request_api_version", version),
            ] {
                match h.get(name) {
                    None => {
                        h.insert(name.into(), want.into());
                    }
                    Some(v) if v.as_i64() == Some(i64::from(want)) => {}
                    Some(v) => {
                        return Err(JsonError::new(
                            &child("header", name),
                            format!(
                                "{} differs from the top level's {} (change both, or leave this one out)",
                                brief(v),
                                if name == "request_api_key" { format!("\"api\": {:?}", key.name()) } else { format!("\"version\": {version}") }
                            ),
                        ))
                    }
                }
            }
        }
        let hv = request_header_version(key, version);
        e.message(&request_header::SPEC, hv, &header, "header")?;
        e.message(key.request_spec(), version, body, "body")?;
    } else {
        let hv = response_header_version(key, version);
        e.message(&response_header::SPEC, hv, &header, "header")?;
        e.message(key.response_spec(), version, body, "body")?;
    }
    let len = e.w.len() - 4;
    let len = u32::try_from(len).map_err(|_| JsonError::new("", "the frame is over 4 GiB"))?;
    e.w[..4].copy_from_slice(&len.to_be_bytes());
    Ok(e.w.freeze())
}

struct Enc {
    w: BytesMut,
}

fn too_long(path: &str, e: EncodeError) -> JsonError {
    JsonError::new(path, e.to_string())
}

impl Enc {
    fn message(
        &mut self,
        spec: &MessageSpec,
        v: i16,
        json: &Value,
        path: &str,
    ) -> Result<(), JsonError> {
        self.strukt(spec.root, v, spec.flexible.contains(v), json, path)
    }

    fn strukt(
        &mut self,
        s: &StructSpec,
        v: i16,
        flexible: bool,
        json: &Value,
        path: &str,
    ) -> Result<(), JsonError> {
        let Value::Object(obj) = json else {
            return Err(expected(path, &format!("an object ({})", s.name), json));
        };
        for k in obj.keys() {
            if k != "_unknown_tags" && !s.fields.iter().any(|f| f.name == k) {
                let valid: Vec<&str> = s
                    .fields
                    .iter()
                    .filter(|f| f.versions.contains(v))
                    .map(|f| f.name)
                    .collect();
                let list = if valid.is_empty() {
                    "none".to_string()
                } else {
                    valid.join(", ")
                };
                return Err(JsonError::new(
                    &child(path, k),
                    format!(
                        "{} has no field {k:?}; its fields in version {v}: {list}",
                        s.name
                    ),
                ));
            }
        }
        let mut tagged: Vec<(u32, Bytes)> = Vec::new();
        for f in s.fields {
            let p = child(path, f.name);
            let given = obj.get(f.name);
            if !f.versions.contains(v) {
                if let Some(val) = given {
                    if !f.ignorable && !is_default(f, val, v) {
                        return Err(JsonError::new(
                            &p,
                            format!(
                                "{} exists in versions {} only, not in {v}; here it may only hold its default ({})",
                                f.name,
                                f.versions,
                                default_json(f, v)
                            ),
                        ));
                    }
                }
                continue;
            }
            let dflt;
            let val = match given {
                Some(val) => val,
                None => {
                    dflt = default_json(f, v);
                    &dflt
                }
            };
            if f.tagged.contains(v) {
                if is_default(f, val, v) {
                    continue;
                }
                let outer = std::mem::take(&mut self.w);
                let r = self.field(f, v, flexible, val, &p);
                let data = std::mem::replace(&mut self.w, outer);
                r?;
                tagged.push((f.tag, data.freeze()));
            } else {
                self.field(f, v, flexible, val, &p)?;
            }
        }
        let unknown = obj.get("_unknown_tags").filter(|u| !u.is_null());
        if let Some(u) = unknown {
            let p = child(path, "_unknown_tags");
            let Value::Object(u) = u else {
                return Err(expected(&p, "an object {\"<tag>\": \"<hex>\"}", u));
            };
            if !flexible && !u.is_empty() {
                return Err(JsonError::new(
                    &p,
                    format!("version {v} is not flexible: it has no tagged fields"),
                ));
            }
            for (tag, hex) in u {
                let tp = child(&p, tag);
                let t: u32 = tag.parse().map_err(|_| {
                    JsonError::new(&tp, "a tag is a number (the key of \"<tag>\": \"<hex>\")")
                })?;
                if let Some(f) = s.fields.iter().find(|f| f.tagged.contains(v) && f.tag == t) {
                    return Err(JsonError::new(
                        &tp,
                        format!(
                            "tag {t} is the known field {}; set that field instead",
                            f.name
                        ),
                    ));
                }
                let Value::String(hex) = hex else {
                    return Err(expected(&tp, "a hex string", hex));
                };
                tagged.push((t, from_hex(hex, &tp)?));
            }
        }
        if flexible {
            tagged.sort_by_key(|(t, _)| *t);
            put_uvarint(&mut self.w, tagged.len() as u64);
            for (t, data) in tagged {
                put_uvarint(&mut self.w, u64::from(t));
                put_uvarint(&mut self.w, data.len() as u64);
                self.w.put_slice(&data);
            }
        }
        Ok(())
    }

    fn field(
        &mut self,
        f: &FieldSpec,
        v: i16,
        flexible: bool,
        val: &Value,
        path: &str,
    ) -> Result<(), JsonError> {
        let compact = flexible && !f.never_flexible;
        if val.is_null() {
            if let FieldType::Prim(p) = f.ty {
                if p.width().is_some() {
                    return Err(expected(path, p.name(), val));
                }
            }
            if !f.nullable.contains(v) {
                let when = if f.nullable.is_empty() {
                    "it is never nullable".to_string()
                } else {
                    format!("nullable in versions {}", f.nullable)
                };
                return Err(JsonError::new(
                    path,
                    format!("null in a version where it is not nullable ({when})"),
                ));
            }
            let kind = match f.ty {
                FieldType::Prim(Prim::String) => LenKind::String,
                FieldType::Prim(_) => LenKind::Bytes,
                FieldType::Struct(_) => {
                    self.w.put_i8(-1);
                    return Ok(());
                }
                FieldType::Array(_) | FieldType::StructArray(_) => LenKind::Array,
            };
            return put_length(&mut self.w, kind, compact, None).map_err(|e| too_long(path, e));
        }
        match f.ty {
            FieldType::Prim(p) => self.prim(p, compact, val, path),
            FieldType::Array(p) => {
                let Value::Array(items) = val else {
                    return Err(expected(path, &format!("an array of {}", p.name()), val));
                };
                put_length(&mut self.w, LenKind::Array, compact, Some(items.len()))
                    .map_err(|e| too_long(path, e))?;
                for (i, x) in items.iter().enumerate() {
                    let p2 = index(path, i);
                    if x.is_null() {
                        return Err(expected(&p2, p.name(), x));
                    }
                    self.prim(p, compact, x, &p2)?;
                }
                Ok(())
            }
            FieldType::Struct(s) => {
                if f.nullable.contains(v) {
                    self.w.put_i8(1);
                }
                self.strukt(s, v, flexible, val, path)
            }
            FieldType::StructArray(s) => {
                let Value::Array(items) = val else {
                    return Err(expected(path, &format!("an array of {}", s.name), val));
                };
                put_length(&mut self.w, LenKind::Array, compact, Some(items.len()))
                    .map_err(|e| too_long(path, e))?;
                for (i, x) in items.iter().enumerate() {
                    self.strukt(s, v, flexible, x, &index(path, i))?;
                }
                Ok(())
            }
        }
    }

    fn prim(&mut self, p: Prim, compact: bool, val: &Value, path: &str) -> Result<(), JsonError> {
        let w = &mut self.w;
        match p {
            Prim::Bool => match val {
                Value::Bool(b) => w.put_u8(u8::from(*b)),
                _ => return Err(expected(path, "bool", val)),
            },
            Prim::Int8 => w.put_i8(int(val, p, path)? as i8),
            Prim::Int16 => w.put_i16(int(val, p, path)? as i16),
            Prim::Int32 => w.put_i32(int(val, p, path)? as i32),
            Prim::Int64 => w.put_i64(int(val, p, path)? as i64),
            Prim::Uint16 => w.put_u16(int(val, p, path)? as u16),
            Prim::Uint32 => w.put_u32(int(val, p, path)? as u32),
            Prim::Float64 => w.put_f64(float(val, path)?),
            Prim::Uuid => w.put_slice(&uuid(val, path)?.0),
            Prim::String => {
                let Value::String(s) = val else {
                    return Err(expected(path, "string", val));
                };
                put_string(w, compact, s).map_err(|e| too_long(path, e))?;
            }
            Prim::Bytes => {
                let Value::String(s) = val else {
                    return Err(expected(path, "bytes as a hex string", val));
                };
                put_bytes(w, compact, &from_hex(s, path)?).map_err(|e| too_long(path, e))?;
            }
            Prim::Records => {
                let data = records::encode(val, path)?;
                put_bytes(w, compact, &data).map_err(|e| too_long(path, e))?;
            }
        }
        Ok(())
    }
}

fn float(val: &Value, path: &str) -> Result<f64, JsonError> {
    match val {
        Value::Number(n) => n.as_f64().ok_or_else(|| expected(path, "float64", val)),
        Value::String(s) if s == "NaN" => Ok(f64::NAN),
        Value::String(s) if s == "Infinity" => Ok(f64::INFINITY),
        Value::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => Err(expected(path, "float64", val)),
    }
}

/// A uuid: base64url as Kafka prints it (22 characters), or 32 hex digits
/// with or without dashes.
fn uuid(val: &Value, path: &str) -> Result<Uuid, JsonError> {
    let bad = || {
        expected(
            path,
            "a uuid (22 base64url characters such as \"AAAAAAAAAAAAAAAAAAAAAA\", or 32 hex digits)",
            val,
        )
    };
    let Value::String(s) = val else {
        return Err(bad());
    };
    if s.len() == 22 {
        let mut bits: u32 = 0;
        let mut n = 0;
        let mut out = Vec::with_capacity(16);
        for c in s.bytes() {
            let d = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'-' => 62,
                b'_' => 63,
                _ => return Err(bad()),
            };
            bits = bits << 6 | u32::from(d);
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
            }
        }
        // 22 characters carry 132 bits: the last 4 must be zero.
        if bits & 0xf != 0 || out.len() != 16 {
            return Err(bad());
        }
        return out.try_into().map(Uuid).map_err(|_| bad());
    }
    let hex: String = s.chars().filter(|&c| c != '-').collect();
    if hex.len() != 32 {
        return Err(bad());
    }
    let b = from_hex(&hex, path).map_err(|_| bad())?;
    b.as_ref().try_into().map(Uuid).map_err(|_| bad())
}

/// Whether `val` is `f`'s default (a struct is default when every field it
/// gives holds its own default, missing ones being default already).
pub(super) fn is_default(f: &FieldSpec, val: &Value, v: i16) -> bool {
    if val.is_null() {
        return f.default == Some("null") || matches!(f.ty, FieldType::Prim(Prim::Records));
    }
    match f.ty {
        FieldType::Prim(Prim::Records) => match val {
            Value::Array(a) => a.is_empty(),
            Value::String(s) => s.is_empty(),
            _ => false,
        },
        FieldType::Prim(Prim::Float64) => {
            let d = default_json(f, v);
            float(val, "").ok() == float(&d, "").ok()
        }
        FieldType::Prim(Prim::Uuid) => uuid(val, "").is_ok_and(|u| u == Uuid::ZERO),
        FieldType::Prim(Prim::Bytes) => val.as_str().is_some_and(|s| s.trim().is_empty()),
        FieldType::Prim(p) if p.width().is_some() && p != Prim::Bool => {
            let d = f.default.and_then(parse_int_default).unwrap_or(0);
            int(val, Prim::Int64, "").ok() == Some(i128::from(d))
                || val.as_u64().is_some_and(|u| i128::from(u) == i128::from(d))
        }
        FieldType::Prim(_) => f.default != Some("null") && *val == default_json(f, v),
        FieldType::Array(_) | FieldType::StructArray(_) => {
            f.default != Some("null") && val.as_array().is_some_and(Vec::is_empty)
        }
        FieldType::Struct(s) => {
            f.default != Some("null")
                && val.as_object().is_some_and(|o| {
                    o.iter().all(|(k, x)| {
                        if k == "_unknown_tags" {
                            return x.is_null() || x.as_object().is_some_and(Map::is_empty);
                        }
                        s.fields
                            .iter()
                            .find(|g| g.name == k)
                            .is_some_and(|g| is_default(g, x, v))
                    })
                })
        }
    }
}
