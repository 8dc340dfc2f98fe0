//! Example frames for any message at any version, written straight from the
//! schema tables with every field populated.
//!
//! The examples are deterministic for a seed and come in [`Variant`]s that
//! between them exercise every shape the wire format has: nulls, empty and
//! non-empty arrays, nested structs, tagged fields (always with non-default
//! values, so that they are written), and a tag the schema does not know.
//! The playground shows them in its gallery; the tests feed them to the
//! typed codecs, the annotator and the `kafka-protocol` oracle.
//!
//! [`sasl`] holds named frames of a whole SASL/SCRAM-SHA-256 exchange
//! (RFC 7677's example), whose tokens the annotator explains.
//! [`sendable`] writes requests a broker takes (the playground's gallery).

pub mod sasl;
pub mod sendable;

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::header::{request_header_version, response_header_version};
use crate::protocol::messages::{request_header, response_header, ApiKey};
use crate::protocol::schema::{FieldSpec, FieldType, MessageSpec, Prim, StructSpec};
use crate::protocol::wire::{put_bytes, put_length, put_string, put_uvarint, LenKind};
use crate::protocol::Uuid;
use crate::records::{Record, RecordBatchBuilder};

/// Which shape of example to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Every nullable value present, every array with two elements.
    Full,
    /// Every nullable value null, every array empty.
    Sparse,
    /// One element per array, nullable values alternating, and an unknown
    /// tagged field in every flexible struct.
    Mixed,
}

impl Variant {
    /// All variants.
    pub const ALL: [Variant; 3] = [Variant::Full, Variant::Sparse, Variant::Mixed];
}

/// The tag the examples use for a tagged field no schema knows.
pub const UNKNOWN_TAG: u32 = 900;

struct Gen {
    state: u64,
    variant: Variant,
    flip: bool,
    /// Values a broker takes ([`sendable`]) rather than arbitrary ones.
    sendable: bool,
    /// The message's version (a sendable Produce's records depend on it).
    version: i16,
    /// The struct being written (sendable values depend on it).
    in_struct: &'static str,
    /// What a sendable `topic_id` holds.
    topic_id: Uuid,
}

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, seeded, no randomness of our own.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn small(&mut self) -> i64 {
        (self.next() % 1000) as i64 + 1
    }

    fn null_here(&mut self) -> bool {
        match self.variant {
            Variant::Full => false,
            Variant::Sparse => true,
            Variant::Mixed => {
                self.flip = !self.flip;
                self.flip
            }
        }
    }

    fn array_len(&mut self) -> usize {
        match self.variant {
            Variant::Full => 2,
            Variant::Sparse => 0,
            Variant::Mixed => 1,
        }
    }
}

/// The body of `spec` at `version`, with every field present in that version populated.
pub fn example_body(spec: &MessageSpec, version: i16, seed: u64, variant: Variant) -> Bytes {
    let mut g = Gen {
        state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        variant,
        flip: false,
        sendable: false,
        version,
        in_struct: "",
        topic_id: Uuid::ZERO,
    };
    body_of(&mut g, spec, version)
}

fn body_of(g: &mut Gen, spec: &MessageSpec, version: i16) -> Bytes {
    let mut w = BytesMut::new();
    write_struct(
        g,
        &mut w,
        spec.root,
        version,
        spec.flexible.contains(version),
    );
    w.freeze()
}

/// A whole request frame (size prefix, header, body) for `key` at `version`.
pub fn example_request(key: ApiKey, version: i16, seed: u64, variant: Variant) -> Bytes {
    let mut g = Gen {
        state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        variant,
        flip: false,
        sendable: false,
        version,
        in_struct: "",
        topic_id: Uuid::ZERO,
    };
    finish_request(&mut g, key, version, (seed % 1_000_000) as i32 + 1)
}

/// The request frame of `key` at `version` whose body `g` writes.
fn finish_request(g: &mut Gen, key: ApiKey, version: i16, correlation_id: i32) -> Bytes {
    let mut w = BytesMut::new();
    w.put_i32(0);
    w.put_i16(key as i16);
    w.put_i16(version);
    w.put_i32(correlation_id);
    let hv = request_header_version(key, version);
    if hv >= 1 {
        put_string(&mut w, false, "spate-example").unwrap_or(());
    }
    if request_header::SPEC.flexible.contains(hv) {
        put_uvarint(&mut w, 0);
    }
    g.version = version;
    w.put_slice(&body_of(g, key.request_spec(), version));
    finish(w)
}

/// A whole response frame (size prefix, header, body) for `key` at `version`.
pub fn example_response(key: ApiKey, version: i16, seed: u64, variant: Variant) -> Bytes {
    let mut w = BytesMut::new();
    w.put_i32(0);
    w.put_i32((seed % 1_000_000) as i32 + 1);
    if response_header::SPEC
        .flexible
        .contains(response_header_version(key, version))
    {
        put_uvarint(&mut w, 0);
    }
    w.put_slice(&example_body(key.response_spec(), version, seed, variant));
    finish(w)
}

fn finish(mut w: BytesMut) -> Bytes {
    let len = (w.len() - 4) as u32;
    w[..4].copy_from_slice(&len.to_be_bytes());
    w.freeze()
}

fn write_struct(g: &mut Gen, w: &mut BytesMut, s: &StructSpec, version: i16, flexible: bool) {
    let outer = std::mem::replace(&mut g.in_struct, s.name);
    for f in s.fields {
        if f.inline_in(version) {
            g.in_struct = s.name;
            write_field(g, w, f, version, flexible, false);
        }
    }
    g.in_struct = outer;
    if !flexible {
        return;
    }
    if g.sendable {
        // No tagged field: a client writes one only to say something.
        put_uvarint(w, 0);
        return;
    }
    let mut tagged: Vec<&FieldSpec> = s
        .fields
        .iter()
        .filter(|f| f.tagged.contains(version))
        .collect();
    tagged.sort_by_key(|f| f.tag);
    let unknown = g.variant == Variant::Mixed;
    put_uvarint(w, (tagged.len() + usize::from(unknown)) as u64);
    for f in tagged {
        let mut body = BytesMut::new();
        // Inside a tagged field everything is populated, so that its value
        // can never equal the default (which would not be written at all).
        let variant = std::mem::replace(&mut g.variant, Variant::Full);
        write_field(g, &mut body, f, version, flexible, true);
        g.variant = variant;
        put_uvarint(w, u64::from(f.tag));
        put_uvarint(w, body.len() as u64);
        w.put_slice(&body);
    }
    if unknown {
        put_uvarint(w, u64::from(UNKNOWN_TAG));
        put_uvarint(w, 3);
        w.put_slice(b"\x01\x02\x03");
    }
}

/// Writes one field. `tagged` fields never take their default value (a
/// tagged field equal to its default is not written at all).
fn write_field(
    g: &mut Gen,
    w: &mut BytesMut,
    f: &FieldSpec,
    version: i16,
    flexible: bool,
    tagged: bool,
) {
    let compact = flexible && !f.never_flexible;
    let nullable = f.nullable.contains(version);
    // Tagged fields are always present (and never default: see write_struct).
    let null = !tagged
        && nullable
        && if g.sendable {
            sendable::null(f)
        } else {
            g.null_here()
        };
    let count = |g: &mut Gen| {
        if g.sendable {
            usize::from(!sendable::empty(f, g.in_struct))
        } else if tagged {
            g.array_len().max(1)
        } else {
            g.array_len()
        }
    };
    match f.ty {
        FieldType::Prim(p) => write_prim(g, w, p, f, compact, null, tagged),
        FieldType::Array(p) => {
            if null {
                put_length(w, LenKind::Array, compact, None).unwrap_or(());
                return;
            }
            let n = count(g);
            put_length(w, LenKind::Array, compact, Some(n)).unwrap_or(());
            for _ in 0..n {
                write_prim(g, w, p, f, compact, false, false);
            }
        }
        FieldType::Struct(s) => {
            if nullable {
                if null {
                    w.put_i8(-1);
                    return;
                }
                w.put_i8(1);
            }
            write_struct(g, w, s, version, flexible);
        }
        FieldType::StructArray(s) => {
            if null {
                put_length(w, LenKind::Array, compact, None).unwrap_or(());
                return;
            }
            let n = count(g);
            put_length(w, LenKind::Array, compact, Some(n)).unwrap_or(());
            for _ in 0..n {
                write_struct(g, w, s, version, flexible);
            }
        }
    }
}

fn write_prim(
    g: &mut Gen,
    w: &mut BytesMut,
    p: Prim,
    f: &FieldSpec,
    compact: bool,
    null: bool,
    tagged: bool,
) {
    let default: i64 = f
        .default
        .and_then(|d| {
            if let Some(hex) = d.strip_prefix("0x") {
                i64::from_str_radix(hex, 16).ok()
            } else {
                d.parse().ok()
            }
        })
        .unwrap_or(0);
    if g.sendable {
        return write_sendable(g, w, p, f, compact, null, default);
    }
    let int = g.small();
    // Never the default when tagged (a default-valued tagged field is not written).
    let pick = |v: i64| if tagged && v == default { v + 1 } else { v };
    match p {
        Prim::Bool => w.put_u8(if tagged {
            u8::from(f.default != Some("true"))
        } else {
            (g.next() & 1) as u8
        }),
        Prim::Int8 => w.put_i8(pick(int % 100) as i8),
        Prim::Int16 => w.put_i16(pick(int) as i16),
        Prim::Int32 => w.put_i32(pick(int) as i32),
        Prim::Int64 => w.put_i64(pick(int * 1_000_003)),
        Prim::Uint16 => w.put_u16(pick(int) as u16),
        Prim::Uint32 => w.put_u32(pick(int) as u32),
        Prim::Float64 => w.put_f64(int as f64 + 0.5),
        Prim::Uuid => {
            let a = g.next() | 1;
            let b = g.next();
            w.put_u64(a);
            w.put_u64(b);
        }
        Prim::String => {
            if null {
                put_length(w, LenKind::String, compact, None).unwrap_or(());
            } else {
                let s = sample_string(f, int);
                put_string(w, compact, &s).unwrap_or(());
            }
        }
        Prim::Bytes => {
            if null {
                put_length(w, LenKind::Bytes, compact, None).unwrap_or(());
            } else {
                let n = (int % 7 + 1) as usize;
                let data: Vec<u8> = (0..n).map(|i| (int as u8).wrapping_add(i as u8)).collect();
                put_bytes(w, compact, &data).unwrap_or(());
            }
        }
        Prim::Records => {
            if null {
                put_length(w, LenKind::Bytes, compact, None).unwrap_or(());
            } else {
                let batch = sample_batch(int);
                put_bytes(w, compact, &batch).unwrap_or(());
            }
        }
    }
}

/// A value of [`sendable`]'s policy.
fn write_sendable(
    g: &mut Gen,
    w: &mut BytesMut,
    p: Prim,
    f: &FieldSpec,
    compact: bool,
    null: bool,
    default: i64,
) {
    let spec_default = f.default.and(Some(default));
    let int = sendable::int(f, spec_default);
    match p {
        Prim::Bool => w.put_u8(u8::from(
            f.default.is_some_and(|d| d.eq_ignore_ascii_case("true"))
                || f.name == "allow_auto_topic_creation",
        )),
        Prim::Int8 => w.put_i8(int as i8),
        Prim::Int16 => w.put_i16(int as i16),
        Prim::Int32 => w.put_i32(int as i32),
        Prim::Int64 => w.put_i64(int),
        Prim::Uint16 => w.put_u16(int as u16),
        Prim::Uint32 => w.put_u32(int as u32),
        Prim::Float64 => w.put_f64(int as f64),
        // DeleteTopics takes a topic's name or its id, not both.
        Prim::Uuid if f.name == "topic_id" && g.in_struct != "DeleteTopicState" => {
            w.put_slice(&g.topic_id.0)
        }
        Prim::Uuid => w.put_slice(&Uuid::ZERO.0),
        Prim::String if null => put_length(w, LenKind::String, compact, None).unwrap_or(()),
        Prim::String => put_string(w, compact, &sendable::string(f, g.in_struct)).unwrap_or(()),
        Prim::Bytes | Prim::Records if null => {
            put_length(w, LenKind::Bytes, compact, None).unwrap_or(())
        }
        Prim::Bytes => put_bytes(w, compact, &vec![7; sendable::bytes_len(f)]).unwrap_or(()),
        Prim::Records => put_bytes(w, compact, &sendable::records(g.version)).unwrap_or(()),
    }
}

/// A string that reads like what the field holds.
fn sample_string(f: &FieldSpec, n: i64) -> String {
    match f.entity {
        Some("topicName") => format!("orders-{}", n % 10),
        Some("groupId") => format!("group-{}", n % 10),
        Some("transactionalId") => format!("txn-{}", n % 10),
        _ => format!("{}-{}", f.name, n % 100),
    }
}

/// A small uncompressed RecordBatch v2 with keys, values and a header.
fn sample_batch(n: i64) -> Bytes {
    let mut b = RecordBatchBuilder::new(0, 1_700_000_000_000 + n);
    for i in 0..3 {
        let rec = Record::new(
            i,
            i64::from(i),
            Some(Bytes::from(format!("key-{i}"))),
            Some(Bytes::from(format!("value {i} of {n}"))),
        )
        .with_header("source", Some(Bytes::from_static(b"spate")));
        b = b.record(rec);
    }
    b.build().unwrap_or_default()
}
