//! Kafka's `JsonConverter`.
//!
//! With `schemas.enable=true` each record is the envelope
//! `{"schema":SCHEMA,"payload":VALUE}`, written with Kafka's key order
//! (`type`, then `items` / `keys`, `values` / `fields`, then `optional`,
//! `name`, `version`, `doc`, `parameters`, `default`; a struct field's
//! schema ends with `field`), so that the bytes are the ones Kafka's
//! converter writes: a file line is
//! `{"schema":{"type":"string","optional":false},"payload":"a line"}`.
//! Without schemas the value alone is written, and read back with types
//! inferred (integers as `int64`, decimals as `float64`, objects as maps).
//! Bytes are base64, maps with string keys are objects and other maps
//! arrays of `[key, value]` pairs, as Kafka's.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::Value as Json;

use crate::connect::data::{Field, Schema, SchemaAndValue, SchemaType, Value};

/// Connect data to JSON bytes.
pub(crate) fn from_connect(data: &SchemaAndValue, schemas: bool) -> anyhow::Result<Option<Bytes>> {
    if data.schema.is_none() && data.value == Value::Null {
        return Ok(None);
    }
    let mut out = String::new();
    if schemas {
        out.push_str("{\"schema\":");
        match &data.schema {
            Some(s) => write_schema(&mut out, s, None)?,
            None => out.push_str("null"),
        }
        out.push_str(",\"payload\":");
        write_value(&mut out, data.schema.as_ref(), &data.value)?;
        out.push('}');
    } else {
        write_value(&mut out, data.schema.as_ref(), &data.value)?;
    }
    Ok(Some(Bytes::from(out)))
}

/// The JSON name of a schema type.
fn type_name(kind: SchemaType) -> &'static str {
    match kind {
        SchemaType::Int8 => "int8",
        SchemaType::Int16 => "int16",
        SchemaType::Int32 => "int32",
        SchemaType::Int64 => "int64",
        SchemaType::Float32 => "float",
        SchemaType::Float64 => "double",
        SchemaType::Boolean => "boolean",
        SchemaType::String => "string",
        SchemaType::Bytes => "bytes",
        SchemaType::Array => "array",
        SchemaType::Map => "map",
        SchemaType::Struct => "struct",
    }
}

/// A JSON string literal.
fn string(out: &mut String, s: &str) {
    out.push_str(&Json::String(s.to_string()).to_string());
}

/// Writes `schema` as Kafka's `asJsonSchema` does; `field` is the name of
/// the struct field it describes, if any.
fn write_schema(out: &mut String, schema: &Schema, field: Option<&str>) -> anyhow::Result<()> {
    let _ = write!(out, "{{\"type\":\"{}\"", type_name(schema.kind));
    fn sub<'s>(
        s: &'s Option<Box<Schema>>,
        kind: SchemaType,
        what: &str,
    ) -> anyhow::Result<&'s Schema> {
        s.as_deref()
            .ok_or_else(|| anyhow!("{} schema without its {what} schema", type_name(kind)))
    }
    match schema.kind {
        SchemaType::Array => {
            out.push_str(",\"items\":");
            write_schema(out, sub(&schema.key, schema.kind, "item")?, None)?;
        }
        SchemaType::Map => {
            out.push_str(",\"keys\":");
            write_schema(out, sub(&schema.key, schema.kind, "key")?, None)?;
            out.push_str(",\"values\":");
            write_schema(out, sub(&schema.value, schema.kind, "value")?, None)?;
        }
        SchemaType::Struct => {
            out.push_str(",\"fields\":[");
            for (i, f) in schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_schema(out, &f.schema, Some(&f.name))?;
            }
            out.push(']');
        }
        _ => {}
    }
    let _ = write!(out, ",\"optional\":{}", schema.optional);
    if let Some(name) = &schema.name {
        out.push_str(",\"name\":");
        string(out, name);
    }
    if let Some(version) = schema.version {
        let _ = write!(out, ",\"version\":{version}");
    }
    if let Some(doc) = &schema.doc {
        out.push_str(",\"doc\":");
        string(out, doc);
    }
    if !schema.parameters.is_empty() {
        out.push_str(",\"parameters\":{");
        for (i, (k, v)) in schema.parameters.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(out, k);
            out.push(':');
            string(out, v);
        }
        out.push('}');
    }
    if let Some(default) = &schema.default {
        out.push_str(",\"default\":");
        write_value(out, Some(schema), default)?;
    }
    if let Some(name) = field {
        out.push_str(",\"field\":");
        string(out, name);
    }
    out.push('}');
    Ok(())
}

/// Writes `value` (of `schema`, when known) as Kafka's `convertToJson`.
fn write_value(out: &mut String, schema: Option<&Schema>, value: &Value) -> anyhow::Result<()> {
    let value = match (value, schema) {
        (Value::Null, Some(s)) => match &s.default {
            Some(d) => d.as_ref(),
            None if s.optional => &Value::Null,
            None => bail!(
                "Conversion error: null value for field that is required and has no default value"
            ),
        },
        (v, _) => v,
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(i) => out.push_str(&i.to_string()),
        Value::Int16(i) => out.push_str(&i.to_string()),
        Value::Int32(i) => out.push_str(&i.to_string()),
        Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float32(f) => out.push_str(&serde_json::to_string(f)?),
        Value::Float64(f) => out.push_str(&serde_json::to_string(f)?),
        Value::String(s) => string(out, s),
        Value::Bytes(b) => string(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Array(items) => {
            let item = schema.and_then(|s| s.key.as_deref());
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, v)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let (ks, vs) = (
                schema.and_then(|s| s.key.as_deref()),
                schema.and_then(|s| s.value.as_deref()),
            );
            let object = match ks {
                Some(k) => k.kind == SchemaType::String,
                None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
            };
            out.push(if object { '{' } else { '[' });
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if object {
                    let Value::String(k) = k else {
                        bail!("a map key is not a string");
                    };
                    string(out, k);
                    out.push(':');
                    write_value(out, vs, v)?;
                } else {
                    out.push('[');
                    write_value(out, ks, k)?;
                    out.push(',');
                    write_value(out, vs, v)?;
                    out.push(']');
                }
            }
            out.push(if object { '}' } else { ']' });
        }
        Value::Struct(fields) => {
            out.push('{');
            for (i, (name, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, name);
                out.push(':');
                let fs = schema.and_then(|s| s.fields.iter().find(|f| &f.name == name));
                write_value(out, fs.map(|f| &f.schema), v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// JSON bytes to Connect data.
pub(crate) fn to_connect(bytes: Option<&[u8]>, schemas: bool) -> anyhow::Result<SchemaAndValue> {
    let Some(bytes) = bytes else {
        return Ok(SchemaAndValue::null());
    };
    let json: Json = serde_json::from_slice(bytes).map_err(|e| {
        anyhow!("Converting byte[] to Kafka Connect data failed due to serialization error: {e}")
    })?;
    let (schema, payload) = if schemas {
        match json {
            Json::Object(mut o)
                if o.len() == 2 && o.contains_key("schema") && o.contains_key("payload") =>
            {
                let schema = match o.remove("schema") {
                    Some(Json::Null) | None => None,
                    Some(s) => Some(parse_schema(&s)?),
                };
                (schema, o.remove("payload").unwrap_or(Json::Null))
            }
            _ => bail!(
                "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and \
                 may not contain additional fields. If you are trying to deserialize plain JSON \
                 data, set schemas.enable=false in your converter configuration."
            ),
        }
    } else {
        (None, json)
    };
    let value = to_value(schema.as_ref(), &payload)?;
    Ok(SchemaAndValue { schema, value })
}

/// A schema from its JSON (Kafka's `asConnectSchema`).
fn parse_schema(json: &Json) -> anyhow::Result<Schema> {
    let o = json
        .as_object()
        .ok_or_else(|| anyhow!("a schema is not a JSON object"))?;
    let kind = match o.get("type").and_then(Json::as_str) {
        None => bail!("Schema must contain 'type' field"),
        Some("boolean") => SchemaType::Boolean,
        Some("int8") => SchemaType::Int8,
        Some("int16") => SchemaType::Int16,
        Some("int32") => SchemaType::Int32,
        Some("int64") => SchemaType::Int64,
        Some("float") => SchemaType::Float32,
        Some("double") => SchemaType::Float64,
        Some("bytes") => SchemaType::Bytes,
        Some("string") => SchemaType::String,
        Some("array") => SchemaType::Array,
        Some("map") => SchemaType::Map,
        Some("struct") => SchemaType::Struct,
        Some(t) => bail!("Unknown schema type: {t}"),
    };
    let optional = o.get("optional").and_then(Json::as_bool).unwrap_or(true);
    let mut s = Schema::of(kind, optional);
    match kind {
        SchemaType::Array => {
            let items = o
                .get("items")
                .ok_or_else(|| anyhow!("Array schema did not specify the element type"))?;
            s.key = Some(Box::new(parse_schema(items)?));
        }
        SchemaType::Map => {
            let k = o
                .get("keys")
                .ok_or_else(|| anyhow!("Map schema did not specify the key type"))?;
            let v = o
                .get("values")
                .ok_or_else(|| anyhow!("Map schema did not specify the value type"))?;
            s.key = Some(Box::new(parse_schema(k)?));
            s.value = Some(Box::new(parse_schema(v)?));
        }
        SchemaType::Struct => {
            let fields = o
                .get("fields")
                .and_then(Json::as_array)
                .ok_or_else(|| anyhow!("Struct schema's \"fields\" argument is not an array."))?;
            for f in fields {
                let name = f
                    .get("field")
                    .and_then(Json::as_str)
                    .ok_or_else(|| anyhow!("Struct schema's field name not specified properly"))?;
                s.fields.push(Field {
                    name: name.to_string(),
                    schema: parse_schema(f)?,
                });
            }
        }
        _ => {}
    }
    s.name = o.get("name").and_then(Json::as_str).map(str::to_string);
    s.version = o
        .get("version")
        .and_then(Json::as_i64)
        .and_then(|v| i32::try_from(v).ok());
    s.doc = o.get("doc").and_then(Json::as_str).map(str::to_string);
    if let Some(params) = o.get("parameters").and_then(Json::as_object) {
        for (k, v) in params {
            let v = v
                .as_str()
                .ok_or_else(|| anyhow!("Schema parameters must have string values."))?;
            s.parameters.push((k.clone(), v.to_string()));
        }
    }
    if let Some(d) = o.get("default") {
        let d = to_value(Some(&s), d).context("a schema's default value")?;
        s.default = Some(Box::new(d));
    }
    Ok(s)
}

/// A JSON value read with `schema` (types inferred without one).
fn to_value(schema: Option<&Schema>, json: &Json) -> anyhow::Result<Value> {
    let Some(s) = schema else {
        return Ok(infer(json));
    };
    if json.is_null() {
        return match &s.default {
            Some(d) => Ok(d.as_ref().clone()),
            None if s.optional => Ok(Value::Null),
            None => bail!(
                "Invalid null value for required {} field",
                type_name(s.kind)
            ),
        };
    }
    let int = || {
        json.as_i64().ok_or_else(|| {
            anyhow!(
                "expected an integer for a {} field, found {json}",
                type_name(s.kind)
            )
        })
    };
    let narrow = |what: &str| anyhow!("{json} does not fit a {what} field");
    Ok(match s.kind {
        SchemaType::Boolean => Value::Boolean(
            json.as_bool()
                .ok_or_else(|| anyhow!("expected a boolean, found {json}"))?,
        ),
        SchemaType::Int8 => Value::Int8(i8::try_from(int()?).map_err(|_| narrow("int8"))?),
        SchemaType::Int16 => Value::Int16(i16::try_from(int()?).map_err(|_| narrow("int16"))?),
        SchemaType::Int32 => Value::Int32(i32::try_from(int()?).map_err(|_| narrow("int32"))?),
        SchemaType::Int64 => Value::Int64(int()?),
        SchemaType::Float32 | SchemaType::Float64 => {
            let f = json
                .as_f64()
                .ok_or_else(|| anyhow!("expected a number, found {json}"))?;
            if s.kind == SchemaType::Float32 {
                Value::Float32(f as f32)
            } else {
                Value::Float64(f)
            }
        }
        SchemaType::String => Value::String(
            json.as_str()
                .ok_or_else(|| anyhow!("expected a string, found {json}"))?
                .to_string(),
        ),
        SchemaType::Bytes => {
            let text = json
                .as_str()
                .ok_or_else(|| anyhow!("Invalid bytes field"))?;
            let b = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| anyhow!("Invalid bytes field"))?;
            Value::Bytes(Bytes::from(b))
        }
        SchemaType::Array => {
            let items = json
                .as_array()
                .ok_or_else(|| anyhow!("expected an array, found {json}"))?;
            let item = s.key.as_deref();
            Value::Array(
                items
                    .iter()
                    .map(|j| to_value(item, j))
                    .collect::<Result<_, _>>()?,
            )
        }
        SchemaType::Map => {
            let (ks, vs) = (s.key.as_deref(), s.value.as_deref());
            if ks.is_some_and(|k| k.kind == SchemaType::String) {
                let o = json.as_object().ok_or_else(|| {
                    anyhow!("Maps with string fields should be encoded as JSON objects")
                })?;
                Value::Map(
                    o.iter()
                        .map(|(k, v)| Ok((Value::String(k.clone()), to_value(vs, v)?)))
                        .collect::<anyhow::Result<_>>()?,
                )
            } else {
                let a = json.as_array().ok_or_else(|| {
                    anyhow!("Maps with non-string fields should be encoded as JSON array of tuples")
                })?;
                let mut entries = Vec::new();
                for e in a {
                    match e.as_array().map(Vec::as_slice) {
                        Some([k, v]) => entries.push((to_value(ks, k)?, to_value(vs, v)?)),
                        _ => bail!("Found invalid map entry: {e}"),
                    }
                }
                Value::Map(entries)
            }
        }
        SchemaType::Struct => {
            let o = json.as_object().ok_or_else(|| {
                anyhow!("Structs should be encoded as JSON objects, but found {json}")
            })?;
            let mut fields = Vec::new();
            for f in &s.fields {
                let v = to_value(Some(&f.schema), o.get(&f.name).unwrap_or(&Json::Null))
                    .with_context(|| format!("field `{}`", f.name))?;
                fields.push((f.name.clone(), v));
            }
            Value::Struct(fields)
        }
    })
}

/// A schemaless JSON value, typed as Kafka's converter infers.
fn infer(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(infer).collect()),
        Json::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (Value::String(k.clone()), infer(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: Option<Bytes>) -> String {
        String::from_utf8(b.unwrap().to_vec()).unwrap()
    }

    #[test]
    fn a_file_line_as_kafka_writes_it() {
        let line = SchemaAndValue {
            schema: Some(Schema::string()),
            value: Value::String("foo".into()),
        };
        assert_eq!(
            text(from_connect(&line, true).unwrap()),
            r#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#
        );
        assert_eq!(text(from_connect(&line, false).unwrap()), r#""foo""#);
        assert_eq!(from_connect(&SchemaAndValue::null(), true).unwrap(), None);
        let back = to_connect(
            Some(br#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#),
            true,
        )
        .unwrap();
        assert_eq!(back, line);
    }

    fn person() -> Schema {
        let mut s = Schema::of(SchemaType::Struct, false);
        s.name = Some("person".into());
        s.version = Some(2);
        s.fields = vec![
            Field {
                name: "name".into(),
                schema: Schema::string(),
            },
            Field {
                name: "age".into(),
                schema: Schema::of(SchemaType::Int32, true),
            },
            Field {
                name: "tags".into(),
                schema: {
                    let mut m = Schema::of(SchemaType::Map, false);
                    m.key = Some(Box::new(Schema::string()));
                    m.value = Some(Box::new(Schema::of(SchemaType::Float64, false)));
                    m
                },
            },
            Field {
                name: "raw".into(),
                schema: Schema::of(SchemaType::Bytes, true),
            },
        ];
        s
    }

    #[test]
    fn structs_round_trip_in_kafkas_order() {
        let data = SchemaAndValue {
            schema: Some(person()),
            value: Value::Struct(vec![
                ("name".into(), Value::String("Ann \"A\"".into())),
                ("age".into(), Value::Null),
                (
                    "tags".into(),
                    Value::Map(vec![(Value::String("x".into()), Value::Float64(1.0))]),
                ),
                ("raw".into(), Value::Bytes(Bytes::from_static(b"hi"))),
            ]),
        };
        let bytes = text(from_connect(&data, true).unwrap());
        assert_eq!(
            bytes,
            concat!(
                r#"{"schema":{"type":"struct","fields":["#,
                r#"{"type":"string","optional":false,"field":"name"},"#,
                r#"{"type":"int32","optional":true,"field":"age"},"#,
                r#"{"type":"map","keys":{"type":"string","optional":false},"#,
                r#""values":{"type":"double","optional":false},"optional":false,"field":"tags"},"#,
                r#"{"type":"bytes","optional":true,"field":"raw"}],"#,
                r#""optional":false,"name":"person","version":2},"#,
                r#""payload":{"name":"Ann \"A\"","age":null,"tags":{"x":1.0},"raw":"aGk="}}"#
            )
        );
        assert_eq!(to_connect(Some(bytes.as_bytes()), true).unwrap(), data);
    }

    #[test]
    fn required_nulls_and_bad_envelopes_are_data_errors() {
        let data = SchemaAndValue {
            schema: Some(Schema::string()),
            value: Value::Null,
        };
        assert!(from_connect(&data, true).is_err());
        for bad in [
            &b"{not json"[..],
            br#"{"payload":"x"}"#,
            br#""plain""#,
            br#"{"schema":{"type":"string","optional":false},"payload":null}"#,
            br#"{"schema":{"type":"int8","optional":false},"payload":300}"#,
            br#"{"schema":{"type":"nope"},"payload":1}"#,
        ] {
            assert!(
                to_connect(Some(bad), true).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let e = to_connect(Some(b"{not json"), false).unwrap_err();
        assert!(e.to_string().contains("serialization error"), "{e}");
    }

    #[test]
    fn schemaless_values_are_inferred() {
        let v = to_connect(Some(br#"{"a":[1,2.5,"x",true,null]}"#), false).unwrap();
        assert_eq!(v.schema, None);
        assert_eq!(
            v.value,
            Value::Map(vec![(
                Value::String("a".into()),
                Value::Array(vec![
                    Value::Int64(1),
                    Value::Float64(2.5),
                    Value::String("x".into()),
                    Value::Boolean(true),
                    Value::Null
                ])
            )])
        );
        assert_eq!(
            text(from_connect(&v, false).unwrap()),
            r#"{"a":[1,2.5,"x",true,null]}"#
        );
        let nonstring = SchemaAndValue {
            schema: None,
            value: Value::Map(vec![(Value::Int32(1), Value::Boolean(false))]),
        };
        assert_eq!(
            text(from_connect(&nonstring, false).unwrap()),
            "[[1,false]]"
        );
        assert_eq!(to_connect(None, true).unwrap(), SchemaAndValue::null());
    }
}
