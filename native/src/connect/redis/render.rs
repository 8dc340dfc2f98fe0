//! Connect values as the bytes the sink writes into Redis, and Redis
//! bytes as the values the source hands the worker.
//!
//! A string is written as its UTF-8, bytes as they are, anything else as
//! JSON the way `JsonConverter` with `schemas.enable=false` writes it
//! (bytes in base64, a map with keys that are not all strings as an array
//! of `[key, value]` pairs).

use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};

use crate::connect::data::{Schema, SchemaAndValue, SchemaType, Value};

/// `v` as bytes for Redis; `None` for `Null`.
pub(crate) fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Bytes(b) => Some(b.to_vec()),
        other => Some(json(other).to_string().into_bytes()),
    }
}

/// `v` as JSON.
pub(crate) fn json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int8(n) => Json::from(*n),
        Value::Int16(n) => Json::from(*n),
        Value::Int32(n) => Json::from(*n),
        Value::Int64(n) => Json::from(*n),
        Value::Float32(n) => Number::from_f64(f64::from(*n)).map_or(Json::Null, Json::Number),
        Value::Float64(n) => Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Array(items) => Json::Array(items.iter().map(json).collect()),
        Value::Map(entries) => {
            if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                let mut m = Map::new();
                for (k, v) in entries {
                    if let Value::String(k) = k {
                        m.insert(k.clone(), json(v));
                    }
                }
                Json::Object(m)
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| Json::Array(vec![json(k), json(v)]))
                        .collect(),
                )
            }
        }
        Value::Struct(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, v)| (name.clone(), json(v)))
                .collect(),
        ),
    }
}

/// The field/value pairs of a stream entry for `v`: a struct's or map's
/// fields (null ones left out), or else one field `value`. Never empty
/// (XADD needs a field): an empty struct or map is `value` = `{}`.
pub(crate) fn stream_fields(v: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    let fields: Vec<(Vec<u8>, Vec<u8>)> = match v {
        Value::Struct(fields) => fields
            .iter()
            .filter_map(|(name, v)| Some((name.as_bytes().to_vec(), bytes(v)?)))
            .collect(),
        Value::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| Some((bytes(k)?, bytes(v)?)))
            .collect(),
        other => bytes(other)
            .map(|b| vec![(b"value".to_vec(), b)])
            .unwrap_or_default(),
    };
    if fields.is_empty() {
        vec![(b"value".to_vec(), json(v).to_string().into_bytes())]
    } else {
        fields
    }
}

/// Redis bytes as a Connect value: a string when they are UTF-8, else
/// bytes, with the matching schema.
pub(crate) fn from_redis(b: Vec<u8>) -> SchemaAndValue {
    match String::from_utf8(b) {
        Ok(s) => SchemaAndValue {
            schema: Some(Schema::string()),
            value: Value::String(s),
        },
        Err(e) => SchemaAndValue {
            schema: Some(Schema::of(SchemaType::Bytes, false)),
            value: Value::Bytes(e.into_bytes().into()),
        },
    }
}

/// The bytes [`from_redis`] made `v` from (what the source LREMs).
pub(crate) fn to_redis(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Bytes(b) => Some(b.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_as_text_bytes_or_json() {
        assert_eq!(bytes(&Value::String("héllo".into())), Some("héllo".into()));
        assert_eq!(
            bytes(&Value::Bytes(vec![0, 255].into())),
            Some(vec![0, 255])
        );
        assert_eq!(bytes(&Value::Null), None);
        assert_eq!(bytes(&Value::Int32(7)), Some(b"7".to_vec()));
        let s = Value::Struct(vec![
            ("id".into(), Value::Int64(1)),
            ("tags".into(), Value::Array(vec![Value::String("a".into())])),
            ("raw".into(), Value::Bytes(vec![1, 2].into())),
        ]);
        assert_eq!(
            String::from_utf8(bytes(&s).expect("bytes")).expect("utf-8"),
            r#"{"id":1,"tags":["a"],"raw":"AQI="}"#
        );
        let m = Value::Map(vec![(Value::Int32(1), Value::Boolean(true))]);
        assert_eq!(json(&m).to_string(), "[[1,true]]");
    }

    #[test]
    fn stream_fields_come_from_structs_maps_or_a_value_field() {
        let s = Value::Struct(vec![
            ("a".into(), Value::String("x".into())),
            ("b".into(), Value::Null),
            ("c".into(), Value::Int8(3)),
        ]);
        assert_eq!(
            stream_fields(&s),
            vec![
                (b"a".to_vec(), b"x".to_vec()),
                (b"c".to_vec(), b"3".to_vec())
            ]
        );
        assert_eq!(
            stream_fields(&Value::String("line".into())),
            vec![(b"value".to_vec(), b"line".to_vec())]
        );
        assert_eq!(
            stream_fields(&Value::Map(Vec::new())),
            vec![(b"value".to_vec(), b"{}".to_vec())]
        );
    }

    #[test]
    fn redis_bytes_round_trip() {
        for b in [b"text".to_vec(), vec![0xff, 0x00]] {
            let v = from_redis(b.clone());
            assert_eq!(to_redis(&v.value), Some(b));
        }
    }
}
