//! A `records` field as JSON: v2 batches with their records, or hex.
//!
//! A batch is shown structured only when encoding that structure gives its
//! bytes back (for a compressed batch: its header fields back, since the
//! codec's output may differ): a batch whose derived fields disagree with
//! its records, records with attributes set, or a delete-horizon batch
//! stays hex, as does a legacy message set or a truncated tail.

use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value};

use super::values::int;
use super::{brief, child, from_hex, index, to_hex, JsonError};
use crate::protocol::schema::Prim;
use crate::protocol::wire::Reader;
use crate::records::{
    compress, decompress, BatchHeader, BatchRecords, Compression, Header, Record, RecordBatch,
    RecordBatchBuilder, TimestampType, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL,
};

/// The most a compressed batch may decompress to before it is shown as hex.
const MAX_DECOMPRESSED: usize = 64 << 20;

const BATCH_KEYS: [&str; 11] = [
    "base_offset",
    "partition_leader_epoch",
    "compression",
    "timestamp_type",
    "transactional",
    "control",
    "base_timestamp",
    "producer_id",
    "producer_epoch",
    "base_sequence",
    "records",
];
const DERIVED: [&str; 8] = [
    "batch_length",
    "magic",
    "crc",
    "attributes",
    "last_offset_delta",
    "max_timestamp",
    "records_count",
    "length",
];
const RECORD_KEYS: [&str; 5] = ["timestamp_delta", "offset_delta", "key", "value", "headers"];

/// The records bytes as JSON: an array of batches, or a hex string.
pub(super) fn decode(data: &Bytes) -> Value {
    batches(data).unwrap_or_else(|| to_hex(data).into())
}

fn batches(data: &Bytes) -> Option<Value> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let start = r.pos();
        let batch = RecordBatch::read(&mut r).ok()?;
        out.push(batch_json(&batch, &data.slice(start..r.pos()))?);
    }
    Some(Value::Array(out))
}

fn batch_json(b: &RecordBatch, raw: &[u8]) -> Option<Value> {
    let h = b.header;
    let known = 7 | ATTR_LOG_APPEND_TIME | ATTR_TRANSACTIONAL | ATTR_CONTROL;
    if h.attributes & !known != 0 {
        return None;
    }
    let codec = h.compression()?;
    let records = match &b.records {
        BatchRecords::Uncompressed(r) => r.clone(),
        BatchRecords::Compressed {
            compression,
            payload,
        } => {
            let plain = decompress(*compression, payload, MAX_DECOMPRESSED).ok()?;
            let mut twin = h;
            twin.attributes &= !7;
            let twin = RecordBatch {
                header: twin,
                records: BatchRecords::Compressed {
                    compression: Compression::None,
                    payload: plain,
                },
            };
            let decoded = RecordBatch::decode(&twin.to_bytes().ok()?).ok()?;
            decoded.records()?.to_vec()
        }
    };
    if records.iter().any(|r| r.attributes != 0) {
        return None;
    }
    // Would the JSON give these bytes back?
    let rebuilt = build(&h, &records, Compression::None).ok()?;
    if codec == Compression::None {
        if rebuilt != raw {
            return None;
        }
    } else {
        let again = RecordBatch::decode(&rebuilt).ok()?.header;
        if (
            again.last_offset_delta,
            again.max_timestamp,
            again.records_count,
        ) != (h.last_offset_delta, h.max_timestamp, h.records_count)
        {
            return None;
        }
    }
    let mut m = Map::new();
    m.insert("base_offset".into(), h.base_offset.into());
    m.insert(
        "partition_leader_epoch".into(),
        h.partition_leader_epoch.into(),
    );
    m.insert("compression".into(), codec.name().into());
    let tt = match h.timestamp_type() {
        TimestampType::CreateTime => "create",
        TimestampType::LogAppendTime => "log_append",
    };
    m.insert("timestamp_type".into(), tt.into());
    m.insert("transactional".into(), h.is_transactional().into());
    m.insert("control".into(), h.is_control().into());
    m.insert("base_timestamp".into(), h.base_timestamp.into());
    m.insert("producer_id".into(), h.producer_id.into());
    m.insert("producer_epoch".into(), h.producer_epoch.into());
    m.insert("base_sequence".into(), h.base_sequence.into());
    let recs = records.iter().map(record_json).collect();
    m.insert("records".into(), Value::Array(recs));
    Some(Value::Object(m))
}

fn record_json(r: &Record) -> Value {
    let mut m = Map::new();
    m.insert("timestamp_delta".into(), r.timestamp_delta.into());
    m.insert("offset_delta".into(), r.offset_delta.into());
    m.insert("key".into(), bytes_json(r.key.as_deref()));
    m.insert("value".into(), bytes_json(r.value.as_deref()));
    let headers = r
        .headers
        .iter()
        .map(|h| {
            let mut hm = Map::new();
            hm.insert("key".into(), bytes_json(Some(&h.key)));
            hm.insert("value".into(), bytes_json(h.value.as_deref()));
            Value::Object(hm)
        })
        .collect();
    m.insert("headers".into(), Value::Array(headers));
    Value::Object(m)
}

/// Text when the bytes are UTF-8 without control characters (other than
/// newline, return and tab), else `{"hex": "..."}`; null stays null.
fn bytes_json(b: Option<&[u8]>) -> Value {
    let Some(b) = b else { return Value::Null };
    match std::str::from_utf8(b) {
        Ok(s)
            if s.chars()
                .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')) =>
        {
            s.into()
        }
        _ => {
            let mut m = Map::new();
            m.insert("hex".into(), to_hex(b).into());
            Value::Object(m)
        }
    }
}

/// A v2 batch: the header's given fields, the records, the codec; every
/// derived field computed.
fn build(h: &BatchHeader, records: &[Record], codec: Compression) -> Result<Bytes, String> {
    let mut b = RecordBatchBuilder::new(h.base_offset, h.base_timestamp)
        .partition_leader_epoch(h.partition_leader_epoch)
        .producer(h.producer_id, h.producer_epoch, h.base_sequence)
        .transactional(h.is_transactional())
        .control(h.is_control())
        .timestamp_type(h.timestamp_type());
    for r in records {
        b.push(r.clone());
    }
    if codec == Compression::None {
        return b.build().map_err(|e| e.to_string());
    }
    let mut batch = b.batch().map_err(|e| e.to_string())?;
    let mut plain = BytesMut::new();
    for r in records {
        r.put(&mut plain).map_err(|e| e.to_string())?;
    }
    let payload = compress(codec, &plain).map_err(|e| e.to_string())?;
    batch.header.attributes |= i16::from(codec.id());
    batch.records = BatchRecords::Compressed {
        compression: codec,
        payload,
    };
    batch.to_bytes().map_err(|e| e.to_string())
}

/// JSON to records bytes: an array of batches, or a hex string.
pub(super) fn encode(val: &Value, path: &str) -> Result<Bytes, JsonError> {
    match val {
        Value::String(s) => from_hex(s, path),
        Value::Array(batches) => {
            let mut out = BytesMut::new();
            for (i, b) in batches.iter().enumerate() {
                let p = index(path, i);
                let (h, records, codec) = batch_from_json(b, &p)?;
                let bytes = build(&h, &records, codec).map_err(|e| JsonError::new(&p, e))?;
                out.extend_from_slice(&bytes);
            }
            Ok(out.freeze())
        }
        _ => Err(JsonError::new(
            path,
            format!(
                "expected an array of record batches or a hex string, found {}",
                brief(val)
            ),
        )),
    }
}

fn check_keys(
    obj: &Map<String, Value>,
    valid: &[&str],
    what: &str,
    path: &str,
) -> Result<(), JsonError> {
    for k in obj.keys() {
        if valid.contains(&k.as_str()) {
            continue;
        }
        let problem = if DERIVED.contains(&k.as_str()) {
            format!("{k} is computed when the {what} is encoded; leave it out")
        } else {
            format!(
                "a {what} has no field {k:?}; its fields: {}",
                valid.join(", ")
            )
        };
        return Err(JsonError::new(&child(path, k), problem));
    }
    Ok(())
}

fn get_int(
    obj: &Map<String, Value>,
    key: &str,
    p: Prim,
    dflt: i64,
    path: &str,
) -> Result<i64, JsonError> {
    match obj.get(key) {
        None => Ok(dflt),
        Some(v) => int(v, p, &child(path, key)).map(|n| n as i64),
    }
}

fn get_bool(obj: &Map<String, Value>, key: &str, path: &str) -> Result<bool, JsonError> {
    match obj.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(JsonError::new(
            &child(path, key),
            format!("expected bool, found {}", brief(v)),
        )),
    }
}

fn batch_from_json(
    val: &Value,
    path: &str,
) -> Result<(BatchHeader, Vec<Record>, Compression), JsonError> {
    let Value::Object(obj) = val else {
        return Err(JsonError::new(
            path,
            format!("expected a record batch object, found {}", brief(val)),
        ));
    };
    check_keys(obj, &BATCH_KEYS, "record batch", path)?;
    let codec = match obj.get("compression") {
        None => Compression::None,
        Some(Value::String(s)) => (0..=4)
            .filter_map(Compression::from_id)
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                JsonError::new(
                    &child(path, "compression"),
                    format!("expected none, gzip, snappy, lz4 or zstd, found {s:?}"),
                )
            })?,
        Some(v) => {
            return Err(JsonError::new(
                &child(path, "compression"),
                format!("expected a codec name, found {}", brief(v)),
            ))
        }
    };
    let log_append = match obj.get("timestamp_type") {
        None => false,
        Some(Value::String(s)) if s == "create" => false,
        Some(Value::String(s)) if s == "log_append" => true,
        Some(v) => {
            return Err(JsonError::new(
                &child(path, "timestamp_type"),
                format!("expected \"create\" or \"log_append\", found {}", brief(v)),
            ))
        }
    };
    let mut attributes = 0;
    if log_append {
        attributes |= ATTR_LOG_APPEND_TIME;
    }
    if get_bool(obj, "transactional", path)? {
        attributes |= ATTR_TRANSACTIONAL;
    }
    if get_bool(obj, "control", path)? {
        attributes |= ATTR_CONTROL;
    }
    let header = BatchHeader {
        base_offset: get_int(obj, "base_offset", Prim::Int64, 0, path)?,
        batch_length: 0,
        partition_leader_epoch: get_int(obj, "partition_leader_epoch", Prim::Int32, -1, path)?
            as i32,
        magic: 2,
        crc: 0,
        attributes,
        last_offset_delta: 0,
        base_timestamp: get_int(obj, "base_timestamp", Prim::Int64, 0, path)?,
        max_timestamp: 0,
        producer_id: get_int(obj, "producer_id", Prim::Int64, -1, path)?,
        producer_epoch: get_int(obj, "producer_epoch", Prim::Int16, -1, path)? as i16,
        base_sequence: get_int(obj, "base_sequence", Prim::Int32, -1, path)? as i32,
        records_count: 0,
    };
    let rp = child(path, "records");
    let records = match obj.get("records") {
        None => Vec::new(),
        Some(Value::Array(rs)) => rs
            .iter()
            .enumerate()
            .map(|(i, r)| record_from_json(r, i, &index(&rp, i)))
            .collect::<Result<_, _>>()?,
        Some(v) => {
            return Err(JsonError::new(
                &rp,
                format!("expected an array of records, found {}", brief(v)),
            ))
        }
    };
    Ok((header, records, codec))
}

fn record_from_json(val: &Value, i: usize, path: &str) -> Result<Record, JsonError> {
    let Value::Object(obj) = val else {
        return Err(JsonError::new(
            path,
            format!("expected a record object, found {}", brief(val)),
        ));
    };
    check_keys(obj, &RECORD_KEYS, "record", path)?;
    let at = i64::try_from(i).unwrap_or(i64::MAX);
    let mut rec = Record::new(
        get_int(obj, "offset_delta", Prim::Int32, at, path)? as i32,
        get_int(obj, "timestamp_delta", Prim::Int64, 0, path)?,
        bytes_from_json(obj.get("key"), &child(path, "key"))?,
        bytes_from_json(obj.get("value"), &child(path, "value"))?,
    );
    let hp = child(path, "headers");
    match obj.get("headers") {
        None => {}
        Some(Value::Array(hs)) => {
            for (j, h) in hs.iter().enumerate() {
                let p = index(&hp, j);
                let Value::Object(ho) = h else {
                    return Err(JsonError::new(
                        &p,
                        format!(
                            "expected a header {{\"key\", \"value\"}}, found {}",
                            brief(h)
                        ),
                    ));
                };
                check_keys(ho, &["key", "value"], "header", &p)?;
                let key = bytes_from_json(ho.get("key"), &child(&p, "key"))?;
                let Some(key) = key else {
                    return Err(JsonError::new(
                        &child(&p, "key"),
                        "a header key cannot be null",
                    ));
                };
                let value = bytes_from_json(ho.get("value"), &child(&p, "value"))?;
                rec.headers.push(Header { key, value });
            }
        }
        Some(v) => {
            return Err(JsonError::new(
                &hp,
                format!("expected an array of headers, found {}", brief(v)),
            ))
        }
    }
    Ok(rec)
}

/// A string is UTF-8 text, `{"hex": "..."}` raw bytes, null (or absent) null.
fn bytes_from_json(val: Option<&Value>, path: &str) -> Result<Option<Bytes>, JsonError> {
    match val {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Bytes::copy_from_slice(s.as_bytes()))),
        Some(Value::Object(o)) if o.len() == 1 && o.contains_key("hex") => match &o["hex"] {
            Value::String(h) => from_hex(h, &child(path, "hex")).map(Some),
            v => Err(JsonError::new(
                &child(path, "hex"),
                format!("expected a hex string, found {}", brief(v)),
            )),
        },
        Some(v) => Err(JsonError::new(
            path,
            format!(
                "expected text (a string), {{\"hex\": \"...\"}} or null, found {}",
                brief(v)
            ),
        )),
    }
}
