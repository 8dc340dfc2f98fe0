//! A Redis stream read as a member of a consumer group.
//!
//! ```text
//! start: XGROUP CREATE stream group START-ID MKSTREAM  (BUSYGROUP: it exists)
//! poll:  first this consumer's pending entries (delivered before, never
//!        acknowledged: a crash): XREADGROUP ... STREAMS stream 0, then
//!        after the last id read, until none is left;
//!        then new ones: XREADGROUP ... BLOCK 1000 STREAMS stream >
//! commit_records: XACK stream group id... (one per produced batch)
//! ```
//!
//! Each entry becomes a record for `topic`: the key is the field
//! `redis.stream.key.field` (or the entry id), the value the entry's
//! fields as a schemaless map (JSON `{"field": "value", ...}` with
//! `JsonConverter`), the timestamp the entry id's milliseconds.

use std::collections::HashSet;

use anyhow::anyhow;
use redis::Value as Reply;
use serde_json::{Map, Value as Json};

use super::config::{SourceConfig, SourceKind};
use super::conn::Conn;
use super::render;
use crate::connect::data::{Schema, SchemaAndValue, Value};
use crate::connect::task::{SourceRecord, TaskError};

/// How long XREADGROUP waits for new entries (ms): a poll returns within
/// about a second, as the worker expects.
const BLOCK_MS: u64 = 1000;

/// One entry: its id and fields (`None` when it was deleted while
/// pending).
type Entry = (String, Option<Vec<(Vec<u8>, Vec<u8>)>>);

/// A consumer of a stream's consumer group.
pub(crate) struct StreamReader {
    stream: String,
    group: String,
    consumer: String,
    start_id: String,
    key_field: Option<String>,
    topic: String,
    batch: usize,
    /// `Some(id)`: re-reading this consumer's pending entries after `id`;
    /// `None`: reading new entries.
    pending_after: Option<String>,
    /// Entries delivered to the worker and not acknowledged yet.
    in_flight: HashSet<String>,
}

impl StreamReader {
    /// A reader for `cfg`, which names a stream.
    pub(crate) fn new(cfg: &SourceConfig) -> StreamReader {
        let SourceKind::Stream {
            stream,
            group,
            consumer,
            start_id,
            key_field,
        } = &cfg.kind
        else {
            unreachable!("a stream reader for a list source")
        };
        StreamReader {
            stream: stream.clone(),
            group: group.clone(),
            consumer: consumer.clone(),
            start_id: start_id.clone(),
            key_field: key_field.clone(),
            topic: cfg.topic.clone(),
            batch: cfg.batch,
            pending_after: Some("0".into()),
            in_flight: HashSet::new(),
        }
    }

    /// Creates the group (and the stream) unless it exists.
    pub(crate) fn start(&mut self, conn: &mut Conn) -> Result<(), TaskError> {
        let con = conn.get()?;
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&self.start_id)
            .arg("MKSTREAM")
            .query::<()>(con);
        match created {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(conn.fail("creating the consumer group", e)),
        }
    }

    /// Pending entries first, then new ones (waiting up to a second).
    pub(crate) fn poll(&mut self, conn: &mut Conn) -> Result<Vec<SourceRecord>, TaskError> {
        while let Some(after) = self.pending_after.clone() {
            let entries = self.read(conn, &after, false)?;
            let Some((last, _)) = entries.last() else {
                self.pending_after = None;
                break;
            };
            self.pending_after = Some(last.clone());
            let records = self.deliver(conn, entries)?;
            if !records.is_empty() {
                return Ok(records);
            }
        }
        let entries = self.read(conn, ">", true)?;
        self.deliver(conn, entries)
    }

    /// XACKs the entry `record` came from.
    pub(crate) fn ack(&mut self, conn: &mut Conn, record: &SourceRecord) -> Result<(), TaskError> {
        self.ack_all(conn, &[record])
    }

    /// XACKs the entries `records` came from, in one command.
    pub(crate) fn ack_all(
        &mut self,
        conn: &mut Conn,
        records: &[&SourceRecord],
    ) -> Result<(), TaskError> {
        if records.is_empty() {
            return Ok(());
        }
        let ids = records
            .iter()
            .map(|r| entry_id(r))
            .collect::<Result<Vec<String>, TaskError>>()?;
        let con = conn.get()?;
        let acked = redis::cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&ids)
            .query::<i64>(con);
        match acked {
            Ok(_) => {
                for id in &ids {
                    self.in_flight.remove(id);
                }
                Ok(())
            }
            Err(e) => Err(conn.fail("XACK", e)),
        }
    }

    /// Reads the pending entries again on the next poll (those in flight
    /// excepted).
    pub(crate) fn resync(&mut self) {
        self.pending_after = Some("0".into());
    }

    /// XREADGROUP from `id` (`>`: new entries, waiting when `block`).
    fn read(&mut self, conn: &mut Conn, id: &str, block: bool) -> Result<Vec<Entry>, TaskError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(self.batch);
        if block {
            cmd.arg("BLOCK").arg(BLOCK_MS);
        }
        cmd.arg("STREAMS").arg(&self.stream).arg(id);
        let con = conn.get()?;
        match cmd.query::<Reply>(con) {
            Ok(reply) => parse_read(reply),
            Err(e) if e.code() == Some("NOGROUP") => {
                // The stream or group was deleted: make them again, and
                // read on the next poll.
                self.start(conn)?;
                Ok(Vec::new())
            }
            Err(e) => Err(conn.fail("XREADGROUP", e)),
        }
    }

    /// The records for `entries` not in flight already; entries deleted
    /// while pending are acknowledged (there is nothing to deliver).
    fn deliver(
        &mut self,
        conn: &mut Conn,
        entries: Vec<Entry>,
    ) -> Result<Vec<SourceRecord>, TaskError> {
        let mut records = Vec::new();
        for (id, fields) in entries {
            if self.in_flight.contains(&id) {
                continue;
            }
            match fields {
                Some(fields) => {
                    records.push(self.record(&id, fields));
                    self.in_flight.insert(id);
                }
                None => {
                    let con = conn.get()?;
                    if let Err(e) = redis::cmd("XACK")
                        .arg(&self.stream)
                        .arg(&self.group)
                        .arg(&id)
                        .query::<i64>(con)
                    {
                        return Err(conn.fail("XACK", e));
                    }
                }
            }
        }
        Ok(records)
    }

    /// The record for entry `id`.
    fn record(&self, id: &str, fields: Vec<(Vec<u8>, Vec<u8>)>) -> SourceRecord {
        let key = self
            .key_field
            .as_ref()
            .and_then(|k| fields.iter().find(|(f, _)| f == k.as_bytes()))
            .map(|(_, v)| render::from_redis(v.clone()))
            .unwrap_or_else(|| SchemaAndValue {
                schema: Some(Schema::string()),
                value: Value::String(id.to_string()),
            });
        let value = Value::Map(
            fields
                .into_iter()
                .map(|(f, v)| (render::from_redis(f).value, render::from_redis(v).value))
                .collect(),
        );
        let mut partition = Map::new();
        partition.insert("stream".into(), Json::String(self.stream.clone()));
        let mut offset = Map::new();
        offset.insert("id".into(), Json::String(id.to_string()));
        SourceRecord {
            source_partition: partition,
            source_offset: offset,
            topic: self.topic.clone(),
            partition: None,
            key,
            value: SchemaAndValue {
                schema: None,
                value,
            },
            timestamp: id.split('-').next().and_then(|ms| ms.parse().ok()),
            headers: Vec::new(),
        }
    }
}

/// The entry id a stream record carries in its source offset.
fn entry_id(record: &SourceRecord) -> Result<String, TaskError> {
    record
        .source_offset
        .get("id")
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| TaskError::Fatal(anyhow!("a record without a stream entry id")))
}

/// XREADGROUP's reply (one stream): `nil`, or `[[stream, [[id, [field,
/// value, ...] | nil], ...]]]`.
fn parse_read(reply: Reply) -> Result<Vec<Entry>, TaskError> {
    let bad = |what: &str| TaskError::Fatal(anyhow!("an unexpected XREADGROUP reply: {what}"));
    let streams = match reply {
        Reply::Nil => return Ok(Vec::new()),
        Reply::Array(s) => s,
        Reply::Map(m) => m
            .into_iter()
            .map(|(k, v)| Reply::Array(vec![k, v]))
            .collect(),
        other => return Err(bad(&format!("{other:?}"))),
    };
    let mut entries = Vec::new();
    for s in streams {
        let Reply::Array(mut pair) = s else {
            return Err(bad("a stream that is not [name, entries]"));
        };
        let Some(Reply::Array(list)) = pair.pop() else {
            return Err(bad("no entries array"));
        };
        for e in list {
            let Reply::Array(mut e) = e else {
                return Err(bad("an entry that is not [id, fields]"));
            };
            let fields = e.pop();
            let id = match e.pop() {
                Some(Reply::BulkString(id)) => String::from_utf8_lossy(&id).into_owned(),
                Some(Reply::SimpleString(id)) => id,
                _ => return Err(bad("an entry without an id")),
            };
            let fields = match fields {
                Some(Reply::Array(flat)) => Some(pairs(flat).ok_or_else(|| bad("odd fields"))?),
                Some(Reply::Nil) | None => None,
                Some(Reply::Map(m)) => Some(
                    m.into_iter()
                        .map(|(f, v)| Some((bulk(f)?, bulk(v)?)))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| bad("fields that are not strings"))?,
                ),
                Some(other) => return Err(bad(&format!("fields {other:?}"))),
            };
            entries.push((id, fields));
        }
    }
    Ok(entries)
}

/// `[f1, v1, f2, v2, ...]` as pairs of bytes.
fn pairs(flat: Vec<Reply>) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if flat.len() % 2 != 0 {
        return None;
    }
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        out.push((bulk(f)?, bulk(v)?));
    }
    Some(out)
}

/// A bulk or simple string's bytes.
fn bulk(r: Reply) -> Option<Vec<u8>> {
    match r {
        Reply::BulkString(b) => Some(b),
        Reply::SimpleString(s) => Some(s.into_bytes()),
        Reply::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}
