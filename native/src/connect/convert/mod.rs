//! Converters: Connect data to record bytes and back, as Kafka's
//! `StringConverter`, `ByteArrayConverter` and `JsonConverter` (with and
//! without schemas, [`json`]) do it.
//!
//! A converter's failure is a data error (Kafka's `DataException`): the
//! worker applies the connector's `errors.tolerance` to it.

pub(crate) mod json;

use anyhow::{anyhow, bail};
use bytes::Bytes;

use super::config::ConverterSpec;
use super::data::{Schema, SchemaAndValue, SchemaType, Value};

/// Kafka's class names (and short aliases) of the converters.
const STRING: [&str; 2] = [
    "org.apache.kafka.connect.storage.StringConverter",
    "StringConverter",
];
const BYTE_ARRAY: [&str; 2] = [
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "ByteArrayConverter",
];
const JSON: [&str; 2] = [
    "org.apache.kafka.connect.json.JsonConverter",
    "JsonConverter",
];

/// A configured converter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Converter {
    /// `StringConverter` (UTF-8).
    String,
    /// `ByteArrayConverter`.
    ByteArray,
    /// `JsonConverter`; `schemas` is `schemas.enable` (default true).
    Json {
        /// Whether the `{"schema":..,"payload":..}` envelope is used.
        schemas: bool,
    },
}

impl Converter {
    /// The converter `spec` names.
    pub(crate) fn new(spec: &ConverterSpec) -> anyhow::Result<Converter> {
        let class = spec.class.as_str();
        if STRING.contains(&class) {
            if let Some(enc) = spec
                .props
                .get("encoding")
                .or(spec.props.get("converter.encoding"))
            {
                if !enc.eq_ignore_ascii_case("UTF-8") && !enc.eq_ignore_ascii_case("UTF8") {
                    bail!("StringConverter encoding `{enc}`: only UTF-8 is supported");
                }
            }
            Ok(Converter::String)
        } else if BYTE_ARRAY.contains(&class) {
            Ok(Converter::ByteArray)
        } else if JSON.contains(&class) {
            let schemas = match spec.props.get("schemas.enable").map(|v| v.trim()) {
                None => true,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => bail!("JsonConverter schemas.enable `{v}`: expected true or false"),
            };
            Ok(Converter::Json { schemas })
        } else {
            bail!(
                "converter class `{class}` is not one spate has (StringConverter, \
                 ByteArrayConverter, JsonConverter)"
            )
        }
    }

    /// Kafka's class name of this converter (the DLQ's
    /// `__connect.errors.class.name`).
    pub(crate) fn class_name(self) -> &'static str {
        match self {
            Converter::String => STRING[0],
            Converter::ByteArray => BYTE_ARRAY[0],
            Converter::Json { .. } => JSON[0],
        }
    }

    /// Connect data to the bytes of a record's key or value (`None` for
    /// null), as the converter's `fromConnectData`.
    pub(crate) fn to_bytes(self, data: &SchemaAndValue) -> anyhow::Result<Option<Bytes>> {
        match self {
            Converter::String => Ok(match &data.value {
                Value::Null => None,
                v => Some(Bytes::from(display(v))),
            }),
            Converter::ByteArray => {
                if let Some(s) = &data.schema {
                    if s.kind != SchemaType::Bytes {
                        bail!("Invalid schema type for ByteArrayConverter: {:?}", s.kind);
                    }
                }
                match &data.value {
                    Value::Null => Ok(None),
                    Value::Bytes(b) => Ok(Some(b.clone())),
                    v => Err(anyhow!(
                        "ByteArrayConverter is not compatible with objects of type {}",
                        type_name(v)
                    )),
                }
            }
            Converter::Json { schemas } => json::from_connect(data, schemas),
        }
    }

    /// A record's key or value bytes to Connect data, as the converter's
    /// `toConnectData`.
    pub(crate) fn to_data(self, bytes: Option<&[u8]>) -> anyhow::Result<SchemaAndValue> {
        match self {
            Converter::String => Ok(SchemaAndValue {
                schema: Some(Schema::of(SchemaType::String, true)),
                value: match bytes {
                    None => Value::Null,
                    Some(b) => Value::String(
                        std::str::from_utf8(b)
                            .map_err(|e| anyhow!("Failed to deserialize string: {e}"))?
                            .to_string(),
                    ),
                },
            }),
            Converter::ByteArray => Ok(SchemaAndValue {
                schema: Some(Schema::of(SchemaType::Bytes, true)),
                value: bytes.map_or(Value::Null, |b| Value::Bytes(Bytes::copy_from_slice(b))),
            }),
            Converter::Json { schemas } => json::to_connect(bytes, schemas),
        }
    }
}

/// Connect's name of a value's type, for errors.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int8(_) => "int8",
        Value::Int16(_) => "int16",
        Value::Int32(_) => "int32",
        Value::Int64(_) => "int64",
        Value::Float32(_) => "float32",
        Value::Float64(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Struct(_) => "struct",
    }
}

/// A value as text, as Java's `toString` gives it (what
/// `StringConverter` and `FileStreamSink` write): maps as `{k=v, k=v}`,
/// lists as `[a, b]`, structs as `Struct{name=value,...}` without their
/// null fields; bytes as (lossy) UTF-8 text rather than Java's `[B@...`.
pub(crate) fn display(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Int8(i) => i.to_string(),
        Value::Int16(i) => i.to_string(),
        Value::Int32(i) => i.to_string(),
        Value::Int64(i) => i.to_string(),
        Value::Float32(f) => java_float(f64::from(*f)),
        Value::Float64(f) => java_float(*f),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(display).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}={}", display(k), display(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .filter(|(_, v)| *v != Value::Null)
                .map(|(k, v)| format!("{k}={}", display(v)))
                .collect();
            format!("Struct{{{}}}", fields.join(","))
        }
    }
}

/// A float as Java prints one (`1.0`, not `1`).
fn java_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e7 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::task::Props;

    fn spec(class: &str, props: &[(&str, &str)]) -> ConverterSpec {
        ConverterSpec {
            class: class.to_string(),
            props: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Props>(),
        }
    }

    #[test]
    fn classes_and_aliases() {
        let json = "org.apache.kafka.connect.json.JsonConverter";
        assert_eq!(
            Converter::new(&spec(json, &[])).unwrap(),
            Converter::Json { schemas: true }
        );
        assert_eq!(
            Converter::new(&spec("JsonConverter", &[("schemas.enable", "false")])).unwrap(),
            Converter::Json { schemas: false }
        );
        assert_eq!(
            Converter::new(&spec(
                "org.apache.kafka.connect.storage.StringConverter",
                &[]
            ))
            .unwrap(),
            Converter::String
        );
        assert_eq!(
            Converter::new(&spec(
                "org.apache.kafka.connect.converters.ByteArrayConverter",
                &[]
            ))
            .unwrap(),
            Converter::ByteArray
        );
        assert!(Converter::new(&spec("io.confluent.connect.avro.AvroConverter", &[])).is_err());
        assert!(Converter::new(&spec(json, &[("schemas.enable", "yes")])).is_err());
    }

    #[test]
    fn string_converter() {
        let c = Converter::String;
        let line = SchemaAndValue {
            schema: Some(Schema::string()),
            value: Value::String("a line".into()),
        };
        assert_eq!(c.to_bytes(&line).unwrap().unwrap(), "a line");
        assert_eq!(c.to_bytes(&SchemaAndValue::null()).unwrap(), None);
        let n = SchemaAndValue {
            schema: None,
            value: Value::Float64(2.0),
        };
        assert_eq!(c.to_bytes(&n).unwrap().unwrap(), "2.0");
        let m = SchemaAndValue {
            schema: None,
            value: Value::Map(vec![
                (Value::String("a".into()), Value::Int64(1)),
                (
                    Value::String("b".into()),
                    Value::Array(vec![Value::Boolean(true), Value::Null]),
                ),
            ]),
        };
        assert_eq!(c.to_bytes(&m).unwrap().unwrap(), "{a=1, b=[true, null]}");
        let st = SchemaAndValue {
            schema: None,
            value: Value::Struct(vec![
                ("x".into(), Value::Int32(3)),
                ("y".into(), Value::Null),
                ("z".into(), Value::String("s".into())),
            ]),
        };
        assert_eq!(c.to_bytes(&st).unwrap().unwrap(), "Struct{x=3,z=s}");
        let back = c.to_data(Some(b"x y")).unwrap();
        assert_eq!(back.value, Value::String("x y".into()));
        assert!(back.schema.unwrap().optional);
        assert_eq!(c.to_data(None).unwrap().value, Value::Null);
        assert!(c.to_data(Some(&[0xff, 0xfe])).is_err());
    }

    #[test]
    fn byte_array_converter() {
        let c = Converter::ByteArray;
        let b = SchemaAndValue {
            schema: Some(Schema::of(SchemaType::Bytes, false)),
            value: Value::Bytes(Bytes::from_static(b"\x00\x01")),
        };
        assert_eq!(c.to_bytes(&b).unwrap().unwrap(), &b"\x00\x01"[..]);
        let s = SchemaAndValue {
            schema: Some(Schema::string()),
            value: Value::String("x".into()),
        };
        assert!(c.to_bytes(&s).is_err());
        let back = c.to_data(Some(b"\xff")).unwrap();
        assert_eq!(back.value, Value::Bytes(Bytes::from_static(b"\xff")));
        assert_eq!(c.to_data(None).unwrap().value, Value::Null);
    }
}
