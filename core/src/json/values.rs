//! JSON values shared by the decoder and the encoder: integers checked
//! against their type's range, floats as JSON carries them, a field's
//! default, and the error for a value of the wrong kind.

use serde_json::{Map, Number, Value};

use super::{brief, JsonError};
use crate::protocol::schema::{FieldSpec, FieldType, Prim};
use crate::protocol::types::Uuid;

/// The error for `found` where `what` was expected.
pub(super) fn expected(path: &str, what: &str, found: &Value) -> JsonError {
    JsonError::new(path, format!("expected {what}, found {}", brief(found)))
}

/// The value of an integer type, range-checked.
pub(super) fn int(val: &Value, p: Prim, path: &str) -> Result<i128, JsonError> {
    let (min, max): (i128, i128) = match p {
        Prim::Int8 => (i8::MIN.into(), i8::MAX.into()),
        Prim::Int16 => (i16::MIN.into(), i16::MAX.into()),
        Prim::Int32 => (i32::MIN.into(), i32::MAX.into()),
        Prim::Int64 => (i64::MIN.into(), i64::MAX.into()),
        Prim::Uint16 => (0, u16::MAX.into()),
        Prim::Uint32 => (0, u32::MAX.into()),
        _ => (0, 0),
    };
    let n = match val {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    };
    let Some(n) = n else {
        return Err(expected(path, p.name(), val));
    };
    if n < min || n > max {
        return Err(JsonError::new(
            path,
            format!("{n} is out of range for {} ({min} to {max})", p.name()),
        ));
    }
    Ok(n)
}

/// A float64 as JSON: a number, or a string for the values JSON lacks.
pub(super) fn float(x: f64) -> Value {
    match Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => "NaN".into(),
        None if x > 0.0 => "Infinity".into(),
        None => "-Infinity".into(),
    }
}

/// A schema default written as a decimal or `0x` hex integer.
pub(super) fn parse_int_default(d: &str) -> Option<i64> {
    match d.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => d.parse().ok(),
    }
}

/// A field's default at version `v`: the schema's, else 0, `""`, empty or
/// false (Kafka's generated code). A `"null"` default in a version where
/// the field cannot be null becomes the empty value.
pub(super) fn default_json(f: &FieldSpec, v: i16) -> Value {
    let null_ok = f.nullable.contains(v) || !f.versions.contains(v);
    let d = f.default;
    if d == Some("null") && null_ok {
        return Value::Null;
    }
    match f.ty {
        FieldType::Prim(p) => match p {
            Prim::Bool => d.is_some_and(|d| d.eq_ignore_ascii_case("true")).into(),
            Prim::Float64 => d
                .and_then(|d| d.parse::<f64>().ok())
                .map_or(0.into(), float),
            Prim::Uuid => Uuid::ZERO.to_string().into(),
            Prim::String => d.filter(|d| *d != "null").unwrap_or("").into(),
            Prim::Bytes => "".into(),
            Prim::Records if f.nullable.contains(v) => Value::Null,
            Prim::Records => Value::Array(Vec::new()),
            _ => d.and_then(parse_int_default).unwrap_or(0).into(),
        },
        FieldType::Array(_) | FieldType::StructArray(_) => Value::Array(Vec::new()),
        FieldType::Struct(s) => {
            let mut m = Map::new();
            for g in s.fields {
                if g.versions.contains(v) {
                    m.insert(g.name.into(), default_json(g, v));
                }
            }
            Value::Object(m)
        }
    }
}
