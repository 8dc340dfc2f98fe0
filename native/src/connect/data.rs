//! Kafka Connect's data model (`org.apache.kafka.connect.data`): a value
//! with an optional schema, as converters produce and consume them.
//!
//! A source task makes [`SchemaAndValue`]s (a file line is a `STRING`);
//! the worker's converter turns them into the bytes of a record's key and
//! value, and back for a sink task. A schemaless value (`schema: None`)
//! is what `JsonConverter` with `schemas.enable=false` reads.

use bytes::Bytes;

/// The type of a schema (Kafka's `Schema.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemaType {
    /// `int8`
    Int8,
    /// `int16`
    Int16,
    /// `int32`
    Int32,
    /// `int64`
    Int64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
    /// `boolean`
    Boolean,
    /// `string`
    String,
    /// `bytes`
    Bytes,
    /// `array`, with an item schema.
    Array,
    /// `map`, with key and value schemas.
    Map,
    /// `struct`, with named fields.
    Struct,
}

/// A Connect schema (Kafka's `ConnectSchema`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Schema {
    /// The type.
    pub(crate) kind: SchemaType,
    /// Whether a null value is allowed.
    pub(crate) optional: bool,
    /// A logical name (`org.apache.kafka.connect.data.Timestamp`, ...).
    pub(crate) name: Option<String>,
    /// The schema's version.
    pub(crate) version: Option<i32>,
    /// Documentation.
    pub(crate) doc: Option<String>,
    /// The default value.
    pub(crate) default: Option<Box<Value>>,
    /// Schema parameters, in order.
    pub(crate) parameters: Vec<(String, String)>,
    /// A struct's fields, in order.
    pub(crate) fields: Vec<Field>,
    /// An array's item schema, or a map's key schema.
    pub(crate) key: Option<Box<Schema>>,
    /// A map's value schema.
    pub(crate) value: Option<Box<Schema>>,
}

impl Schema {
    /// A schema of `kind` with nothing else set.
    pub(crate) fn of(kind: SchemaType, optional: bool) -> Schema {
        Schema {
            kind,
            optional,
            name: None,
            version: None,
            doc: None,
            default: None,
            parameters: Vec::new(),
            fields: Vec::new(),
            key: None,
            value: None,
        }
    }

    /// `Schema.STRING_SCHEMA`: what FileStreamSource gives each line.
    pub(crate) fn string() -> Schema {
        Schema::of(SchemaType::String, false)
    }
}

/// A field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    /// The field's name.
    pub(crate) name: String,
    /// The field's schema.
    pub(crate) schema: Schema,
}

/// A Connect value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// No value (a tombstone, when it is a record's value).
    Null,
    /// `boolean`
    Boolean(bool),
    /// `int8`
    Int8(i8),
    /// `int16`
    Int16(i16),
    /// `int32`
    Int32(i32),
    /// `int64`
    Int64(i64),
    /// `float32`
    Float32(f32),
    /// `float64`
    Float64(f64),
    /// `string`
    String(String),
    /// `bytes`
    Bytes(Bytes),
    /// `array`
    Array(Vec<Value>),
    /// `map`, entries in order.
    Map(Vec<(Value, Value)>),
    /// `struct`, fields in the schema's order.
    Struct(Vec<(String, Value)>),
}

/// A value and the schema it was read with, if any (Kafka's
/// `SchemaAndValue`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SchemaAndValue {
    /// The schema; `None` for schemaless data.
    pub(crate) schema: Option<Schema>,
    /// The value.
    pub(crate) value: Value,
}

impl SchemaAndValue {
    /// `SchemaAndValue.NULL`: no schema, no value.
    pub(crate) fn null() -> SchemaAndValue {
        SchemaAndValue {
            schema: None,
            value: Value::Null,
        }
    }
}
