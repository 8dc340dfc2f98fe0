//! The schema model: what every message looks like in every version, as
//! static data.
//!
//! The generated message modules carry one [`MessageSpec`] per message
//! beside its typed structs; both come from the same declaration, so the
//! annotator (which walks these tables) and the typed codecs cannot drift
//! apart. The tables also feed the playground's field documentation and
//! version view.

use serde::Serialize;

/// An inclusive range of versions. Empty when `min > max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// Lowest version.
    pub min: i16,
    /// Highest version (`i16::MAX` for "and every later one").
    pub max: i16,
}

impl Versions {
    /// No version at all.
    pub const NONE: Versions = Versions { min: 0, max: -1 };

    /// `min..=max`.
    pub const fn new(min: i16, max: i16) -> Self {
        Versions { min, max }
    }

    /// Whether `v` lies in the range.
    #[inline]
    pub const fn contains(&self, v: i16) -> bool {
        v >= self.min && v <= self.max
    }

    /// Whether the range holds no version.
    pub const fn is_empty(&self) -> bool {
        self.min > self.max
    }

    /// The versions both ranges hold.
    pub const fn intersect(&self, other: Versions) -> Versions {
        let min = if self.min > other.min {
            self.min
        } else {
            other.min
        };
        let max = if self.max < other.max {
            self.max
        } else {
            other.max
        };
        Versions { min, max }
    }
}

impl std::fmt::Display for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            f.write_str("none")
        } else if self.max == i16::MAX {
            write!(f, "{}+", self.min)
        } else if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}-{}", self.min, self.max)
        }
    }
}

/// A primitive wire type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prim {
    /// One byte, 0 or 1.
    Bool,
    /// Signed 8-bit.
    Int8,
    /// Signed 16-bit, big-endian.
    Int16,
    /// Signed 32-bit, big-endian.
    Int32,
    /// Signed 64-bit, big-endian.
    Int64,
    /// Unsigned 16-bit, big-endian.
    Uint16,
    /// Unsigned 32-bit, big-endian.
    Uint32,
    /// IEEE 754 double, big-endian.
    Float64,
    /// 16 bytes.
    Uuid,
    /// UTF-8 text with a length prefix.
    String,
    /// Opaque bytes with a length prefix.
    Bytes,
    /// A record set (bytes holding record batches or a legacy message set).
    Records,
}

impl Prim {
    /// Kafka's name for the type, as the JSON specs spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Prim::Bool => "bool",
            Prim::Int8 => "int8",
            Prim::Int16 => "int16",
            Prim::Int32 => "int32",
            Prim::Int64 => "int64",
            Prim::Uint16 => "uint16",
            Prim::Uint32 => "uint32",
            Prim::Float64 => "float64",
            Prim::Uuid => "uuid",
            Prim::String => "string",
            Prim::Bytes => "bytes",
            Prim::Records => "records",
        }
    }

    /// Fixed wire width, for the types that have one.
    pub const fn width(self) -> Option<usize> {
        match self {
            Prim::Bool | Prim::Int8 => Some(1),
            Prim::Int16 | Prim::Uint16 => Some(2),
            Prim::Int32 | Prim::Uint32 => Some(4),
            Prim::Int64 | Prim::Float64 => Some(8),
            Prim::Uuid => Some(16),
            Prim::String | Prim::Bytes | Prim::Records => None,
        }
    }
}

/// The type of a field.
#[derive(Debug, Clone, Copy)]
pub enum FieldType {
    /// A primitive.
    Prim(Prim),
    /// An array of a primitive.
    Array(Prim),
    /// A nested struct.
    Struct(&'static StructSpec),
    /// An array of structs.
    StructArray(&'static StructSpec),
}

impl FieldType {
    /// The type as Kafka's specs write it (`int32`, `[]string`, `[]Topic`).
    pub fn display(&self) -> String {
        match self {
            FieldType::Prim(p) => p.name().to_string(),
            FieldType::Array(p) => format!("[]{}", p.name()),
            FieldType::Struct(s) => s.name.to_string(),
            FieldType::StructArray(s) => format!("[]{}", s.name),
        }
    }
}

/// One field of a struct.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// snake_case name (the Rust field name, without any keyword escape).
    pub name: &'static str,
    /// The type.
    pub ty: FieldType,
    /// Versions in which the field exists.
    pub versions: Versions,
    /// Versions in which it may be null.
    pub nullable: Versions,
    /// Versions in which it travels in the tagged-field section.
    pub tagged: Versions,
    /// Its tag, when it is ever tagged.
    pub tag: u32,
    /// The default as the spec writes it (`"-1"`, `"null"`, `"true"`), if any.
    pub default: Option<&'static str>,
    /// Whether a non-default value may be dropped silently in versions
    /// without the field.
    pub ignorable: bool,
    /// Whether the field keeps its classic (non-compact) form even in
    /// flexible versions (the request header's client id).
    pub never_flexible: bool,
    /// What the value names (`topicName`, `groupId`, `brokerId`, ...), if the spec says.
    pub entity: Option<&'static str>,
}

impl FieldSpec {
    /// Whether the field is written inline (not tagged) in version `v`.
    #[inline]
    pub fn inline_in(&self, v: i16) -> bool {
        self.versions.contains(v) && !self.tagged.contains(v)
    }
}

/// A struct: an ordered list of fields.
#[derive(Debug)]
pub struct StructSpec {
    /// The struct's name.
    pub name: &'static str,
    /// Its fields in wire order.
    pub fields: &'static [FieldSpec],
}

/// What a top-level message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// A request body.
    Request,
    /// A response body.
    Response,
    /// A request or response header.
    Header,
    /// A structure stored in a log or carried inside another message's bytes.
    Data,
}

/// A top-level message.
#[derive(Debug)]
pub struct MessageSpec {
    /// Its name (`ProduceRequest`, `TopicRecord`).
    pub name: &'static str,
    /// Request, response, header or data.
    pub kind: MessageKind,
    /// The API key (requests and responses) or record type (metadata records).
    pub api_key: Option<i16>,
    /// Versions the project supports.
    pub valid: Versions,
    /// Versions that use the flexible (compact, tagged) encoding.
    pub flexible: Versions,
    /// The root struct.
    pub root: &'static StructSpec,
}
