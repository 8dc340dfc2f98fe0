//! Annotation of record sets: a span for every byte of every batch.

use bytes::Bytes;

use super::span::{AnnotateError, Inner, Span, Text, Value};
use crate::protocol::error::DecodeError;
use crate::protocol::wire::Reader;
use crate::records::compression;
use crate::records::legacy::{V0_MIN, V1_MIN};
use crate::records::{Compression, ControlRecordType, LOG_OVERHEAD, MAGIC_OFFSET, V2_HEADER_LEN};

/// Compressed records are decompressed for showing up to this many bytes
/// (a decompression bomb is reported, not inflated).
const MAX_INFLATE: usize = 64 << 20;

/// Decoding stopped: the error, phrased for a person.
type Stop = Box<AnnotateError>;

/// Describes the record set `src[start..end]` (a Produce or Fetch
/// `records` field, or a log segment) as one span per batch, offsets
/// absolute in `src`. The leaves cover every byte once, in order. A batch
/// cut short by the end is one "partial batch" leaf, not an error. On
/// malformed input the spans decoded so far come back with the error.
pub fn annotate_record_set(
    src: &Bytes,
    start: usize,
    end: usize,
) -> (Vec<Span>, Option<AnnotateError>) {
    let end = end.min(src.len());
    let start = start.min(end);
    let mut a = Ann {
        src,
        path: Vec::new(),
    };
    let mut r = Reader::with_range(src, start, end);
    let mut out = Vec::new();
    let mut i = 0usize;
    while r.remaining() > 0 {
        if let Err(e) = a.entry(&mut r, i, &mut out) {
            return (out, Some(*e));
        }
        i += 1;
    }
    (out, None)
}

/// How a key or value is shown.
#[derive(Clone, Copy)]
enum Shape {
    Plain,
    ControlKey,
    ControlValue(Option<ControlRecordType>),
}

struct Ann<'a> {
    src: &'a Bytes,
    path: Vec<Text>,
}

/// Pushes a composite span unless it has no parts; it ends where its last part does.
fn close(mut node: Span, out: &mut Vec<Span>) {
    if let Some(last) = node.children.last() {
        node.end = last.end;
        out.push(node);
    }
}

fn set_note(out: &mut [Span], note: impl Into<Text>) {
    if let Some(last) = out.last_mut() {
        last.note = Some(note.into());
    }
}

/// The name of the length in front of `name`.
fn length_name(name: &str) -> &'static str {
    match name {
        "key" => "key_length",
        "value" => "value_length",
        _ => "length",
    }
}

impl<'a> Ann<'a> {
    fn fail(&self, name: &str, kind: &str, offset: usize, problem: String) -> Stop {
        let mut parts = self.path.clone();
        parts.push(name.to_string().into());
        let field = parts.join(".").replace(".[", "[");
        Box::new(AnnotateError {
            offset,
            message: format!("{kind} `{name}` at byte {offset} {problem}"),
            field,
            kind: kind.to_string(),
            problem,
        })
    }

    fn stop(&self, name: &str, kind: &str, e: DecodeError) -> Stop {
        self.fail(name, kind, e.offset(), e.problem())
    }

    fn bytes(&self, a: usize, b: usize) -> Bytes {
        if a <= b && b <= self.src.len() {
            self.src.slice(a..b)
        } else {
            Bytes::new()
        }
    }

    /// An integer leaf.
    fn int(
        &self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: &'static str,
        kind: &'static str,
        read: impl FnOnce(&mut Reader<'a>) -> Result<i64, DecodeError>,
    ) -> Result<i64, Stop> {
        let at = r.pos();
        match read(r) {
            Ok(v) => {
                out.push(Span::leaf(name, kind, at, r.pos(), Value::Int(v)));
                Ok(v)
            }
            Err(e) => Err(self.stop(name, kind, e)),
        }
    }

    fn i8(&self, r: &mut Reader<'a>, out: &mut Vec<Span>, name: &'static str) -> Result<i64, Stop> {
        self.int(r, out, name, "int8", |r| r.i8().map(i64::from))
    }
    fn i16(
        &self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: &'static str,
    ) -> Result<i64, Stop> {
        self.int(r, out, name, "int16", |r| r.i16().map(i64::from))
    }
    fn i32(
        &self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: &'static str,
    ) -> Result<i64, Stop> {
        self.int(r, out, name, "int32", |r| r.i32().map(i64::from))
    }
    fn i64(
        &self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: &'static str,
    ) -> Result<i64, Stop> {
        self.int(r, out, name, "int64", |r| r.i64())
    }
    fn varint(
        &self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: &'static str,
    ) -> Result<i64, Stop> {
        self.int(r, out, name, "varint", |r| r.varint().map(i64::from))
    }

    /// Runs `body` inside a composite span pushed to `out`.
    fn nested<T>(
        &mut self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: impl Into<Text>,
        kind: &'static str,
        body: impl FnOnce(&mut Self, &mut Reader<'a>, &mut Span) -> Result<T, Stop>,
    ) -> Result<T, Stop> {
        let name = name.into();
        let mut node = Span::open(name.clone(), kind, r.pos());
        self.path.push(name);
        let res = body(self, r, &mut node);
        self.path.pop();
        close(node, out);
        res
    }

    /// One entry of the set: a v2 batch, a legacy message or a partial tail.
    fn entry(&mut self, r: &mut Reader<'a>, i: usize, out: &mut Vec<Span>) -> Result<(), Stop> {
        let at = r.pos();
        let end = at.saturating_add(r.remaining());
        let rest = self.src.get(at..end).unwrap_or_default();
        let len = rest
            .get(8..12)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(i32::from_be_bytes);
        let partial = match len {
            None => true,
            Some(n) => {
                usize::try_from(n).is_ok_and(|n| n.saturating_add(LOG_OVERHEAD) > rest.len())
            }
        };
        if partial {
            out.push(
                Span::leaf(
                    "partial batch",
                    "bytes",
                    at,
                    end,
                    Value::Bytes(self.bytes(at, end)),
                )
                .with_note("truncated (Fetch responses may end with a partial batch)"),
            );
            return r
                .skip(rest.len())
                .map_err(|e| self.stop("partial batch", "bytes", e));
        }
        let magic = rest.get(MAGIC_OFFSET).map(|b| *b as i8);
        let kind = match magic {
            Some(0) => "Message v0",
            Some(1) => "Message v1",
            _ => "RecordBatch",
        };
        self.nested(
            r,
            out,
            format!("batch[{i}]"),
            kind,
            |a, r, node| match magic {
                Some(m @ (0 | 1)) => a.legacy(r, node, m),
                _ => a.v2(r, node),
            },
        )
    }

    /// The length prefix shared by both formats; returns a reader over the rest.
    fn framed(
        &self,
        r: &mut Reader<'a>,
        c: &mut Vec<Span>,
        name: &'static str,
        min: usize,
        what: &str,
    ) -> Result<Reader<'a>, Stop> {
        let at = r.pos();
        let len = self.i32(r, c, name)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|n| *n >= min)
            .ok_or_else(|| {
                self.fail(
                    name,
                    "int32",
                    at,
                    format!("is {len}, less than the {min} bytes {what} needs"),
                )
            })?;
        set_note(c, format!("{len} bytes follow"));
        if len > r.remaining() {
            let e = DecodeError::Truncated {
                at: r.pos(),
                needed: len,
                remaining: r.remaining(),
            };
            return Err(self.stop(name, "int32", e));
        }
        let body = Reader::with_range(self.src, r.pos(), r.pos() + len);
        r.skip(len).map_err(|e| self.stop(name, "int32", e))?;
        Ok(body)
    }

    fn v2(&mut self, r: &mut Reader<'a>, node: &mut Span) -> Result<(), Stop> {
        let batch_at = r.pos();
        let c = &mut node.children;
        let base_offset = self.i64(r, c, "base_offset")?;
        let mut b = self.framed(
            r,
            c,
            "batch_length",
            V2_HEADER_LEN - LOG_OVERHEAD,
            "a v2 batch header",
        )?;
        let end = b.pos().saturating_add(b.remaining());
        self.i32(&mut b, c, "partition_leader_epoch")?;
        let magic_at = b.pos();
        let magic = self.i8(&mut b, c, "magic")?;
        if magic != 2 {
            return Err(self.fail(
                "magic",
                "int8",
                magic_at,
                format!("is {magic}, not 0, 1 or 2"),
            ));
        }
        let crc = self.int(&mut b, c, "crc", "uint32", |r| r.u32().map(i64::from))? as u32;
        let computed = crc32c::crc32c(self.src.get(b.pos()..end).unwrap_or_default());
        set_note(c, crc_note("CRC-32C", crc, computed));
        let attributes = self.i16(&mut b, c, "attributes")?;
        let codec = Compression::from_id((attributes & 7) as u8);
        let mut notes = vec![codec_note(attributes & 7, codec)];
        notes.push(
            if attributes & 8 != 0 {
                "LogAppendTime"
            } else {
                "CreateTime"
            }
            .to_string(),
        );
        let control = attributes & 0x20 != 0;
        for (bit, name) in [
            (0x10, "transactional"),
            (0x20, "control"),
            (0x40, "delete horizon"),
        ] {
            if attributes & bit != 0 {
                notes.push(name.to_string());
            }
        }
        set_note(c, notes.join(", "));
        let last_delta = self.i32(&mut b, c, "last_offset_delta")?;
        let base_ts = self.i64(&mut b, c, "base_timestamp")?;
        self.i64(&mut b, c, "max_timestamp")?;
        self.i64(&mut b, c, "producer_id")?;
        self.i16(&mut b, c, "producer_epoch")?;
        self.i32(&mut b, c, "base_sequence")?;
        let count_at = b.pos();
        let count = self.i32(&mut b, c, "records_count")?;
        let last = base_offset.wrapping_add(last_delta);
        let mut kind = String::from("v2");
        if codec != Some(Compression::None) {
            kind.push_str(&format!(
                ", {}",
                codec.map_or("unknown codec", |c| c.name())
            ));
        }
        if control {
            match self.src.get(batch_at..end).and_then(marker_summary) {
                Some(m) => kind.push_str(&format!(", control batch: {m}")),
                None => kind.push_str(", control"),
            }
        }
        node.note = Some(format!("{kind}, {count} records, offsets {base_offset}..{last}").into());
        let c = &mut node.children;
        if codec != Some(Compression::None) {
            let at = b.pos();
            if at < end {
                let name = format!(
                    "records ({}-compressed)",
                    codec.map_or("unknown", |c| c.name())
                );
                let mut leaf =
                    Span::leaf(name, "bytes", at, end, Value::Bytes(self.bytes(at, end)));
                leaf.note = Some(match codec {
                    Some(codec) => {
                        match compression::decompress(codec, &self.src[at..end], MAX_INFLATE) {
                            Ok(data) => {
                                let note = format!(
                                    "{count} records, compressed; {} bytes decompressed",
                                    data.len()
                                );
                                let label = format!("{codec}-decompressed records");
                                leaf.inner = Some(self.inner(label, data, |a, r, out| {
                                    a.records(
                                        r,
                                        out,
                                        count,
                                        count_at,
                                        (base_offset, base_ts),
                                        control,
                                    )
                                }));
                                note.into()
                            }
                            Err(e) => {
                                format!("{count} records, compressed; shown as stored: {e}").into()
                            }
                        }
                    }
                    None => format!(
                        "{count} records, compressed with an unknown codec; shown as stored"
                    )
                    .into(),
                });
                c.push(leaf);
            }
            return Ok(());
        }
        self.records(&mut b, c, count, count_at, (base_offset, base_ts), control)
    }

    /// The `count` records of a v2 batch, then nothing more.
    fn records(
        &mut self,
        b: &mut Reader<'a>,
        c: &mut Vec<Span>,
        count: i64,
        count_at: usize,
        base: (i64, i64),
        control: bool,
    ) -> Result<(), Stop> {
        if count < 0 {
            return Err(self.fail(
                "records_count",
                "int32",
                count_at,
                format!("is {count}, which is negative"),
            ));
        }
        if count > 0 {
            self.nested(b, c, "records", "[Record]", |a, b, recs| {
                for j in 0..count {
                    a.nested(
                        b,
                        &mut recs.children,
                        format!("[{j}]"),
                        "Record",
                        |a, b, rec| a.record(b, rec, base, control),
                    )?;
                }
                Ok(())
            })?;
        }
        if b.remaining() > 0 {
            let n = b.remaining();
            let problem = format!("is {count}, but {n} bytes follow the last record");
            return Err(self.fail("records_count", "int32", b.pos(), problem));
        }
        Ok(())
    }

    /// Decoded bytes (a compressed payload, decompressed) annotated by
    /// `body` over a reader of their own.
    fn inner(
        &self,
        label: String,
        data: Bytes,
        body: impl for<'b> FnOnce(&mut Ann<'b>, &mut Reader<'b>, &mut Vec<Span>) -> Result<(), Stop>,
    ) -> Box<Inner> {
        let mut a = Ann {
            src: &data,
            path: self.path.clone(),
        };
        let mut r = Reader::with_range(&data, 0, data.len());
        let mut spans = Vec::new();
        let error = body(&mut a, &mut r, &mut spans).err().map(|e| *e);
        Box::new(Inner {
            label: label.into(),
            bytes: data,
            spans,
            error,
        })
    }

    fn record(
        &mut self,
        b: &mut Reader<'a>,
        node: &mut Span,
        base: (i64, i64),
        control: bool,
    ) -> Result<(), Stop> {
        let c = &mut node.children;
        let mut rr = {
            let at = b.pos();
            let len = self.varint(b, c, "length")?;
            let len = usize::try_from(len).map_err(|_| {
                self.fail(
                    "length",
                    "varint",
                    at,
                    format!("is {len}, which is negative"),
                )
            })?;
            if len > b.remaining() {
                let e = DecodeError::Truncated {
                    at: b.pos(),
                    needed: len,
                    remaining: b.remaining(),
                };
                return Err(self.stop("length", "varint", e));
            }
            let rr = Reader::with_range(self.src, b.pos(), b.pos() + len);
            b.skip(len).map_err(|e| self.stop("length", "varint", e))?;
            rr
        };
        self.i8(&mut rr, c, "attributes")?;
        let ts = self.int(&mut rr, c, "timestamp_delta", "varlong", |r| r.varlong())?;
        let off = self.varint(&mut rr, c, "offset_delta")?;
        let (offset, timestamp) = (base.0.wrapping_add(off), base.1.wrapping_add(ts));
        node.note = Some(format!("offset {offset}, timestamp {timestamp}").into());
        let c = &mut node.children;
        let (key_shape, value_shape) = if control {
            (Shape::ControlKey, Shape::ControlValue(None))
        } else {
            (Shape::Plain, Shape::Plain)
        };
        let key = self.var_bytes(&mut rr, c, "key", key_shape)?;
        let value_shape = match (value_shape, key) {
            (Shape::ControlValue(_), Some(k)) => {
                let id = k
                    .get(2..4)
                    .and_then(|b| <[u8; 2]>::try_from(b).ok())
                    .map(i16::from_be_bytes);
                Shape::ControlValue(id.map(ControlRecordType::from_id))
            }
            (s, _) => s,
        };
        self.var_bytes(&mut rr, c, "value", value_shape)?;
        let count_at = rr.pos();
        let count = self.varint(&mut rr, c, "headers_count")?;
        if count < 0 {
            return Err(self.fail(
                "headers_count",
                "varint",
                count_at,
                format!("is {count}, which is negative"),
            ));
        }
        if count > 0 {
            self.nested(&mut rr, c, "headers", "[Header]", |a, rr, hs| {
                for k in 0..count {
                    a.nested(
                        rr,
                        &mut hs.children,
                        format!("[{k}]"),
                        "Header",
                        |a, rr, h| {
                            let at = rr.pos();
                            let n = a.varint(rr, &mut h.children, "key_length")?;
                            if n < 0 {
                                return Err(a.fail(
                                    "key_length",
                                    "varint",
                                    at,
                                    format!("is {n}; a header key cannot be null"),
                                ));
                            }
                            a.var_data(rr, &mut h.children, "key", "string", n, Shape::Plain)?;
                            let at = rr.pos();
                            let n = a.varint(rr, &mut h.children, "value_length")?;
                            a.nullable(
                                rr,
                                &mut h.children,
                                "value",
                                "varint",
                                at,
                                n,
                                Shape::Plain,
                            )?;
                            Ok(())
                        },
                    )?;
                }
                Ok(())
            })?;
        }
        if rr.remaining() > 0 {
            let problem = format!("has {} bytes after its headers", rr.remaining());
            return Err(self.fail("length", "varint", rr.pos(), problem));
        }
        Ok(())
    }

    /// A varint length, then that many bytes (-1 = null).
    fn var_bytes(
        &mut self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: &'static str,
        shape: Shape,
    ) -> Result<Option<Bytes>, Stop> {
        let at = r.pos();
        let n = self.varint(r, out, length_name(name))?;
        self.nullable(r, out, name, "varint", at, n, shape)
    }

    /// The data after a length `n` read at `len_at` (-1 = null).
    #[allow(clippy::too_many_arguments)]
    fn nullable(
        &mut self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: &'static str,
        len_kind: &'static str,
        len_at: usize,
        n: i64,
        shape: Shape,
    ) -> Result<Option<Bytes>, Stop> {
        if n == -1 {
            set_note(out, "null");
            return Ok(None);
        }
        if n < -1 {
            let problem = format!("is {n}; only -1 (null) may be negative");
            return Err(self.fail(length_name(name), len_kind, len_at, problem));
        }
        self.var_data(r, out, name, "bytes", n, shape).map(Some)
    }

    /// `n` bytes of data named `name`, shown according to `shape`.
    fn var_data(
        &mut self,
        r: &mut Reader<'a>,
        out: &mut Vec<Span>,
        name: &'static str,
        kind: &'static str,
        n: i64,
        shape: Shape,
    ) -> Result<Bytes, Stop> {
        let at = r.pos();
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let data = r.take(n).map_err(|e| self.stop(name, kind, e))?;
        if n == 0 {
            set_note(out, "empty");
            return Ok(data);
        }
        let end = at + n;
        match shape {
            Shape::ControlKey if n >= 4 => {
                let mut d = Reader::with_range(self.src, at, end);
                self.nested(&mut d, out, name, "ControlRecordKey", |a, d, node| {
                    a.i16(d, &mut node.children, "version")?;
                    let t =
                        ControlRecordType::from_id(a.i16(d, &mut node.children, "type")? as i16);
                    set_note(&mut node.children, t.name());
                    node.note = Some(format!("control record: {}", t.name()).into());
                    a.rest(d, &mut node.children);
                    Ok(())
                })?;
            }
            Shape::ControlValue(Some(t)) if t.is_txn_marker() && n >= 6 => {
                let mut d = Reader::with_range(self.src, at, end);
                self.nested(&mut d, out, name, "EndTxnMarker", |a, d, node| {
                    a.i16(d, &mut node.children, "version")?;
                    a.i32(d, &mut node.children, "coordinator_epoch")?;
                    node.note = Some(format!("end of transaction: {}", t.name()).into());
                    a.rest(d, &mut node.children);
                    Ok(())
                })?;
            }
            _ => {
                let value = if kind == "string" {
                    match std::str::from_utf8(&data) {
                        Ok(s) => Value::Str(s.to_string()),
                        Err(_) => Value::Bytes(data.clone()),
                    }
                } else {
                    Value::Bytes(data.clone())
                };
                let mut leaf = Span::leaf(name, kind, at, end, value);
                leaf.note = match shape {
                    Shape::ControlKey => Some("too short for a control record key".into()),
                    Shape::ControlValue(Some(t)) => {
                        Some(format!("{} control record value", t.name()).into())
                    }
                    Shape::ControlValue(None) => Some("control record value".into()),
                    Shape::Plain => None,
                };
                out.push(leaf);
            }
        }
        Ok(data)
    }

    /// A leaf for whatever is left in `d` (later versions' extra fields).
    fn rest(&self, d: &mut Reader<'a>, out: &mut Vec<Span>) {
        let at = d.pos();
        if let Ok(data) = d.take(d.remaining()) {
            if !data.is_empty() {
                let end = at + data.len();
                out.push(
                    Span::leaf("rest", "bytes", at, end, Value::Bytes(data))
                        .with_note("fields of a later version"),
                );
            }
        }
    }

    fn legacy(&mut self, r: &mut Reader<'a>, node: &mut Span, magic: i8) -> Result<(), Stop> {
        let c = &mut node.children;
        let offset = self.i64(r, c, "offset")?;
        let min = if magic == 1 { V1_MIN } else { V0_MIN };
        let what = if magic == 1 {
            "a v1 message"
        } else {
            "a v0 message"
        };
        let mut m = self.framed(r, c, "message_size", min, what)?;
        let end = m.pos().saturating_add(m.remaining());
        let crc = self.int(&mut m, c, "crc", "uint32", |r| r.u32().map(i64::from))? as u32;
        let computed = crc32fast::hash(self.src.get(m.pos()..end).unwrap_or_default());
        set_note(c, crc_note("CRC-32", crc, computed));
        self.i8(&mut m, c, "magic")?;
        let attributes = self.i8(&mut m, c, "attributes")?;
        let codec = Compression::from_id((attributes & 7) as u8);
        let mut note = codec_note(attributes & 7, codec);
        if magic == 1 {
            note.push_str(if attributes & 8 != 0 {
                ", LogAppendTime"
            } else {
                ", CreateTime"
            });
        }
        set_note(c, note);
        if magic == 1 {
            self.i64(&mut m, c, "timestamp")?;
        }
        let compressed = codec != Some(Compression::None);
        node.note = Some(if compressed {
            format!(
                "offset {offset}, {}-compressed message set",
                codec.map_or("unknown", |c| c.name())
            )
            .into()
        } else {
            format!("offset {offset}").into()
        });
        let c = &mut node.children;
        for name in ["key", "value"] {
            let at = m.pos();
            let n = self.i32(&mut m, c, length_name(name))?;
            self.nullable(&mut m, c, name, "int32", at, n, Shape::Plain)?;
        }
        if let (true, Some(leaf)) = (compressed, c.last_mut().filter(|l| l.name == "value")) {
            let name = codec.map_or("unknown", |c| c.name());
            let stored = match &leaf.value {
                Some(Value::Bytes(b)) => b.clone(),
                _ => Bytes::new(),
            };
            leaf.note = Some(
                match codec.map(|c| (c, compression::decompress(c, &stored, MAX_INFLATE))) {
                    Some((_, Ok(data))) => {
                        let note = format!(
                            "{name}-compressed message set; {} bytes decompressed",
                            data.len()
                        );
                        leaf.inner = Some(self.inner(
                            format!("{name}-decompressed message set"),
                            data,
                            |a, r, out| {
                                let mut i = 0;
                                while r.remaining() > 0 {
                                    a.entry(r, i, out)?;
                                    i += 1;
                                }
                                Ok(())
                            },
                        ));
                        note.into()
                    }
                    Some((_, Err(e))) => {
                        format!("{name}-compressed message set; shown as stored: {e}").into()
                    }
                    None => format!("{name}-compressed message set; shown as stored").into(),
                },
            );
        }
        if m.remaining() > 0 {
            let problem = format!("has {} bytes after the value", m.remaining());
            return Err(self.fail("message_size", "int32", m.pos(), problem));
        }
        Ok(())
    }
}

fn crc_note(name: &str, stored: u32, computed: u32) -> String {
    if stored == computed {
        format!("{name} valid")
    } else {
        format!("{name} mismatch: expected 0x{stored:08x}, computed 0x{computed:08x}")
    }
}

fn codec_note(bits: i64, codec: Option<Compression>) -> String {
    match codec {
        Some(Compression::None) => "no compression".into(),
        Some(c) => format!("{c} compression"),
        None => format!("unknown compression ({bits})"),
    }
}

/// What a control batch marks, for its note: `COMMIT marker, coordinator
/// epoch 3` for a transaction marker (the record's key holds the type, its
/// value the coordinator epoch), the record type's name otherwise.
fn marker_summary(batch: &[u8]) -> Option<String> {
    let view = crate::records::BatchView::parse(batch, 0).ok()?;
    let rec = view.records().next()?.ok()?;
    let key = rec.key?;
    let kind = ControlRecordType::from_id(i16::from_be_bytes([*key.get(2)?, *key.get(3)?]));
    if !kind.is_txn_marker() {
        return Some(format!("{} record", kind.name()));
    }
    let epoch = rec.value.and_then(|v| {
        Some(i32::from_be_bytes([
            *v.get(2)?,
            *v.get(3)?,
            *v.get(4)?,
            *v.get(5)?,
        ]))
    });
    Some(match epoch {
        Some(e) => format!("{} marker, coordinator epoch {e}", kind.name()),
        None => format!("{} marker", kind.name()),
    })
}
