//! A Redis list drained as a reliable queue: producers RPUSH onto it,
//! each task moves entries from its head to the tail of a processing
//! list of its own, and removes them from there once the broker has
//! them.
//!
//! ```text
//! poll:  first the processing list (entries moved before a crash, never
//!        acknowledged): LRANGE processing 0 -1;
//!        then BLMOVE list processing LEFT RIGHT 1 (waits up to a second),
//!        and up to redis.batch.size - 1 more LMOVEs in one pipeline
//! commit_record: LREM processing 1 entry
//! ```
//!
//! Each entry becomes a record for `topic` with no key and the entry as
//! its value (a string when it is UTF-8, else bytes).

use std::collections::{HashMap, VecDeque};

use anyhow::anyhow;
use redis::Pipeline;
use serde_json::{Map, Value as Json};

use super::config::{SourceConfig, SourceKind};
use super::conn::Conn;
use super::render;
use crate::connect::data::SchemaAndValue;
use crate::connect::task::{SourceRecord, TaskError};

/// How long BLMOVE waits for an entry (seconds).
const BLOCK_SECONDS: u64 = 1;

/// A consumer of a list.
pub(crate) struct ListReader {
    list: String,
    processing: String,
    topic: String,
    batch: usize,
    /// Read the processing list again before moving anything new.
    resync: bool,
    /// Processing-list entries still to deliver again.
    redeliver: VecDeque<Vec<u8>>,
    /// Entries delivered and not acknowledged yet, with how many copies.
    in_flight: HashMap<Vec<u8>, usize>,
}

impl ListReader {
    /// A reader for `cfg`, which names a list.
    pub(crate) fn new(cfg: &SourceConfig) -> ListReader {
        let SourceKind::List { list, processing } = &cfg.kind else {
            unreachable!("a list reader for a stream source")
        };
        ListReader {
            list: list.clone(),
            processing: processing.clone(),
            topic: cfg.topic.clone(),
            batch: cfg.batch,
            resync: true,
            redeliver: VecDeque::new(),
            in_flight: HashMap::new(),
        }
    }

    /// The processing list's entries first, then new ones (waiting up
    /// to a second).
    pub(crate) fn poll(&mut self, conn: &mut Conn) -> Result<Vec<SourceRecord>, TaskError> {
        if self.resync {
            let con = conn.get()?;
            let held: Vec<Vec<u8>> = match redis::cmd("LRANGE")
                .arg(&self.processing)
                .arg(0)
                .arg(-1)
                .query(con)
            {
                Ok(held) => held,
                Err(e) => return Err(conn.fail("LRANGE of the processing list", e)),
            };
            // Copies already in flight are not delivered twice.
            let mut flying = self.in_flight.clone();
            self.redeliver.clear();
            for entry in held {
                match flying.get_mut(&entry) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => self.redeliver.push_back(entry),
                }
            }
            self.resync = false;
        }
        if !self.redeliver.is_empty() {
            let n = self.redeliver.len().min(self.batch);
            let entries: Vec<Vec<u8>> = self.redeliver.drain(..n).collect();
            return Ok(self.deliver(entries));
        }
        let con = conn.get()?;
        let first: Option<Vec<u8>> = match redis::cmd("BLMOVE")
            .arg(&self.list)
            .arg(&self.processing)
            .arg("LEFT")
            .arg("RIGHT")
            .arg(BLOCK_SECONDS)
            .query(con)
        {
            Ok(first) => first,
            Err(e) => return Err(conn.fail("BLMOVE", e)),
        };
        let Some(first) = first else {
            return Ok(Vec::new());
        };
        let mut entries = vec![first];
        if self.batch > 1 {
            let mut pipe = Pipeline::new();
            for _ in 1..self.batch {
                pipe.cmd("LMOVE")
                    .arg(&self.list)
                    .arg(&self.processing)
                    .arg("LEFT")
                    .arg("RIGHT");
            }
            let con = conn.get()?;
            let more: Vec<Option<Vec<u8>>> = match pipe.query(con) {
                Ok(more) => more,
                Err(e) => {
                    // The first entry is in the processing list: deliver it
                    // on the next poll, with whatever else was moved.
                    self.resync = true;
                    return Err(conn.fail("LMOVE", e));
                }
            };
            entries.extend(more.into_iter().flatten());
        }
        Ok(self.deliver(entries))
    }

    /// LREMs one copy of `record`'s entry from the processing list.
    pub(crate) fn ack(&mut self, conn: &mut Conn, record: &SourceRecord) -> Result<(), TaskError> {
        let entry = render::to_redis(&record.value.value)
            .ok_or_else(|| TaskError::Fatal(anyhow!("a list record without an entry")))?;
        let Some(n) = self.in_flight.get_mut(&entry) else {
            return Ok(()); // acknowledged already
        };
        let con = conn.get()?;
        if let Err(e) = redis::cmd("LREM")
            .arg(&self.processing)
            .arg(1)
            .arg(&entry)
            .query::<i64>(con)
        {
            return Err(conn.fail("LREM", e));
        }
        *n -= 1;
        if *n == 0 {
            self.in_flight.remove(&entry);
        }
        Ok(())
    }

    /// Reads the processing list again on the next poll (entries in
    /// flight excepted).
    pub(crate) fn resync(&mut self) {
        self.resync = true;
    }

    /// Records for `entries`, now in flight.
    fn deliver(&mut self, entries: Vec<Vec<u8>>) -> Vec<SourceRecord> {
        entries
            .into_iter()
            .map(|entry| {
                *self.in_flight.entry(entry.clone()).or_insert(0) += 1;
                self.record(entry)
            })
            .collect()
    }

    /// The record for one entry.
    fn record(&self, entry: Vec<u8>) -> SourceRecord {
        let mut partition = Map::new();
        partition.insert("list".into(), Json::String(self.list.clone()));
        let mut offset = Map::new();
        offset.insert("processing".into(), Json::String(self.processing.clone()));
        SourceRecord {
            source_partition: partition,
            source_offset: offset,
            topic: self.topic.clone(),
            partition: None,
            key: SchemaAndValue::null(),
            value: render::from_redis(entry),
            timestamp: None,
            headers: Vec::new(),
        }
    }
}
