//! `RedisSinkConnector`'s task: Kafka records into Redis, exactly once.
//!
//! # How a batch is written
//!
//! ```text
//! put(records)
//!   drop records below the stored next offset of their partition
//!   (already written by an earlier batch: a restart or a retry)
//!   HSET/XADD/RPUSH: WATCH the per-topic keys, TYPE them; a key of
//!   another type refuses its records (WRONGTYPE) before anything is sent
//!   MULTI
//!     SET/DEL | HSET/HDEL | XADD | RPUSH    one per record
//!     EXPIRE key ttl                        redis.ttl.seconds
//!     HSET __spate_connect_offsets:NAME topic/partition next-offset...
//!   EXEC            (nil: a watched key changed: go again from WATCH)
//! ```
//!
//! The data and the offsets land together or not at all, so `open`
//! (which reads the offsets hash) tells the worker exactly where to
//! resume: a crash before EXEC re-delivers the batch, a crash after it
//! skips it. When Redis drops the connection mid-EXEC the task cannot
//! know whether the batch landed: it forgets what it knew of the offsets
//! and reads them again before the retried `put`.
//!
//! A refused record (no key for SET/HSET, a key of the wrong type) is
//! reported in [`PutOutcome::refused`]. With `errors.tolerance=all` the
//! rest of the batch is written and its offsets pass the refused record
//! (the worker sends it to the dead-letter topic); with `none` nothing of
//! the batch is written, so after the task fails and is restarted the
//! same batch is tried again.

use std::collections::{BTreeMap, HashMap};

use anyhow::anyhow;
use redis::{Cmd, Pipeline, Value as Reply};

use super::config::{SinkCommand, SinkConfig};
use super::conn::{is_retriable, Conn};
use super::render;
use crate::connect::data::Value;
use crate::connect::task::{Props, PutOutcome, SinkRecord, SinkTask, TaskError, TopicPartition};

/// How often a batch is tried again when a watched key changed between
/// WATCH and EXEC before the task gives up for now (retriable).
const WATCH_ATTEMPTS: usize = 16;

/// The Redis sink task.
#[derive(Default)]
pub(crate) struct RedisSinkTask {
    state: Option<Sink>,
}

/// A started sink task.
struct Sink {
    cfg: SinkConfig,
    conn: Conn,
    /// The next offset to write per partition, as stored in Redis
    /// (`None`: nothing stored yet). Partitions not here are read from
    /// Redis before they are written.
    next: HashMap<TopicPartition, Option<i64>>,
}

impl RedisSinkTask {
    fn sink(&mut self) -> Result<&mut Sink, TaskError> {
        self.state
            .as_mut()
            .ok_or_else(|| TaskError::Fatal(anyhow!("the Redis sink task was not started")))
    }
}

impl SinkTask for RedisSinkTask {
    fn start(&mut self, props: &Props) -> Result<(), TaskError> {
        let cfg = SinkConfig::parse(props).map_err(TaskError::Fatal)?;
        let conn = Conn::new(&cfg.uri)?;
        self.state = Some(Sink {
            cfg,
            conn,
            next: HashMap::new(),
        });
        Ok(())
    }

    fn open(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, i64)>, TaskError> {
        let sink = self.sink()?;
        sink.load(partitions)?;
        Ok(partitions
            .iter()
            .filter_map(|tp| Some((tp.clone(), sink.next.get(tp).copied().flatten()?)))
            .collect())
    }

    fn put(&mut self, records: &[SinkRecord]) -> Result<PutOutcome, TaskError> {
        let sink = self.sink()?;
        let outcome = sink.put(records);
        if outcome.as_ref().is_err_and(is_retriable) {
            // The batch may or may not have landed: ask Redis next time.
            sink.next.clear();
        }
        outcome
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        // Each put() is written by its EXEC; nothing is held back.
        Ok(())
    }

    fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), TaskError> {
        let sink = self.sink()?;
        for tp in partitions {
            sink.next.remove(tp);
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.state = None;
    }
}

/// The offsets hash's field for a partition (`topic/partition`: a topic
/// name cannot hold a `/`).
pub(crate) fn offsets_field(tp: &TopicPartition) -> String {
    format!("{}/{}", tp.topic, tp.partition)
}

/// What one record becomes.
enum Write {
    /// A command for the transaction, on `key` (the per-topic key of a
    /// collection, for WATCH, TYPE and EXPIRE).
    Cmd { cmd: Cmd, key: Vec<u8> },
    /// Nothing to write (a tombstone for XADD or RPUSH), but its offset
    /// counts.
    Skip,
}

impl Sink {
    /// Reads the stored next offsets of `partitions` not known yet.
    fn load(&mut self, partitions: &[TopicPartition]) -> Result<(), TaskError> {
        let missing: Vec<&TopicPartition> = partitions
            .iter()
            .filter(|tp| !self.next.contains_key(*tp))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(&self.cfg.offsets_key);
        for tp in &missing {
            cmd.arg(offsets_field(tp));
        }
        let con = self.conn.get()?;
        let stored: Vec<Option<String>> = match cmd.query(con) {
            Ok(v) => v,
            Err(e) => return Err(self.conn.fail("reading the sink's offsets", e)),
        };
        for (tp, offset) in missing.into_iter().zip(stored) {
            let offset = offset
                .map(|o| {
                    o.parse::<i64>().map_err(|_| {
                        TaskError::Fatal(anyhow!(
                            "{} {}: not an offset: {o:?}",
                            self.cfg.offsets_key,
                            offsets_field(tp)
                        ))
                    })
                })
                .transpose()?;
            self.next.insert(tp.clone(), offset);
        }
        Ok(())
    }

    fn put(&mut self, records: &[SinkRecord]) -> Result<PutOutcome, TaskError> {
        let partitions: Vec<TopicPartition> = records.iter().map(partition_of).collect();
        self.load(&partitions)?;
        // Records an earlier batch already wrote are not written again.
        let fresh: Vec<usize> = (0..records.len())
            .filter(|&i| {
                self.next
                    .get(&partitions[i])
                    .copied()
                    .flatten()
                    .is_none_or(|n| records[i].offset >= n)
            })
            .collect();
        if fresh.is_empty() {
            return Ok(PutOutcome::default());
        }
        let mut refused = Vec::new();
        let mut writes: Vec<(usize, Write)> = Vec::new();
        for &i in &fresh {
            match self.write_for(&records[i]) {
                Ok(w) => writes.push((i, w)),
                Err(why) => refused.push((i, why)),
            }
        }
        // The new next offset of every partition in the batch.
        let mut next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for &i in &fresh {
            let n = next.entry(partitions[i].clone()).or_insert(0);
            *n = (*n).max(records[i].offset + 1);
        }
        for _ in 0..WATCH_ATTEMPTS {
            let mut refused = refused.clone();
            let wrong = self.watch_types(&writes)?;
            let mut kept: Vec<(usize, &Cmd, &[u8])> = Vec::new();
            for (i, w) in &writes {
                if let Write::Cmd { cmd, key } = w {
                    match wrong.get(key) {
                        Some(kind) => refused.push((*i, self.wrong_type(key, kind))),
                        None => kept.push((*i, cmd, key)),
                    }
                }
            }
            refused.sort();
            if !refused.is_empty() && !self.cfg.tolerate_all {
                self.unwatch()?;
                return Ok(PutOutcome { refused });
            }
            let mut pipe = Pipeline::new();
            pipe.atomic().ignore_errors();
            // Which record each command of the transaction writes.
            let mut of: Vec<Option<usize>> = Vec::new();
            for (i, cmd, _) in &kept {
                pipe.add_command((*cmd).clone());
                of.push(Some(*i));
            }
            if let (Some(ttl), true) = (self.cfg.ttl_seconds, self.cfg.command != SinkCommand::Set)
            {
                let mut keys: Vec<&[u8]> = kept.iter().map(|(_, _, k)| *k).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    pipe.cmd("EXPIRE").arg(k).arg(ttl);
                    of.push(None);
                }
            }
            let mut offsets = redis::cmd("HSET");
            offsets.arg(&self.cfg.offsets_key);
            for (tp, n) in &next {
                offsets.arg(offsets_field(tp)).arg(*n);
            }
            pipe.add_command(offsets);
            of.push(None);
            let con = self.conn.get()?;
            let replies = match pipe.query::<Reply>(con) {
                Ok(Reply::Nil) => continue, // a watched key changed: again
                Ok(Reply::Array(replies)) => replies,
                Ok(other) => {
                    return Err(TaskError::Fatal(anyhow!(
                        "Redis answered EXEC with {other:?}"
                    )))
                }
                Err(e) => return Err(self.conn.fail("writing a batch", e)),
            };
            for (reply, record) in replies.iter().zip(&of) {
                if let Reply::ServerError(e) = reply {
                    match record {
                        Some(i) => refused.push((*i, e.to_string())),
                        None => {
                            return Err(TaskError::Fatal(anyhow!(
                                "Redis refused to store the offsets or TTL of a batch: {e}"
                            )))
                        }
                    }
                }
            }
            for (tp, n) in next {
                self.next.insert(tp, Some(n));
            }
            refused.sort();
            return Ok(PutOutcome { refused });
        }
        Err(TaskError::Retriable(anyhow!(
            "the keys of a batch changed under every one of {WATCH_ATTEMPTS} transactions"
        )))
    }

    /// The command for one record, or why it cannot be written.
    fn write_for(&self, r: &SinkRecord) -> Result<Write, String> {
        let value = &r.value.value;
        let key = || {
            render::bytes(&r.key.value).ok_or_else(|| {
                format!(
                    "a record without a key cannot be written with redis.command={}",
                    self.cfg.command.name()
                )
            })
        };
        let collection = self.cfg.collection_for(&r.topic).into_bytes();
        let cmd = match self.cfg.command {
            SinkCommand::Set => {
                let mut k = self.cfg.key_prefix.as_bytes().to_vec();
                k.extend(key()?);
                let mut cmd;
                match render::bytes(value) {
                    None => {
                        cmd = redis::cmd("DEL");
                        cmd.arg(&k);
                    }
                    Some(v) => {
                        cmd = redis::cmd("SET");
                        cmd.arg(&k).arg(v);
                        if let Some(ttl) = self.cfg.ttl_seconds {
                            cmd.arg("EX").arg(ttl);
                        }
                    }
                }
                return Ok(Write::Cmd { cmd, key: k });
            }
            SinkCommand::Hset => {
                let field = key()?;
                match render::bytes(value) {
                    None => redis::cmd("HDEL").arg(&collection).arg(field).clone(),
                    Some(v) => redis::cmd("HSET")
                        .arg(&collection)
                        .arg(field)
                        .arg(v)
                        .clone(),
                }
            }
            SinkCommand::Xadd => {
                if matches!(value, Value::Null) {
                    return Ok(Write::Skip);
                }
                let mut cmd = redis::cmd("XADD");
                cmd.arg(&collection);
                if let Some(max) = self.cfg.stream_maxlen {
                    cmd.arg("MAXLEN").arg("~").arg(max);
                }
                cmd.arg("*");
                for (f, v) in render::stream_fields(value) {
                    cmd.arg(f).arg(v);
                }
                cmd
            }
            SinkCommand::Rpush => match render::bytes(value) {
                None => return Ok(Write::Skip),
                Some(v) => redis::cmd("RPUSH").arg(&collection).arg(v).clone(),
            },
        };
        Ok(Write::Cmd {
            cmd,
            key: collection,
        })
    }

    /// For HSET, XADD and RPUSH: WATCHes the batch's per-topic keys and
    /// returns those holding another type than the command writes, with
    /// their type. SET overwrites any type: nothing to watch.
    fn watch_types(
        &mut self,
        writes: &[(usize, Write)],
    ) -> Result<HashMap<Vec<u8>, String>, TaskError> {
        if self.cfg.command == SinkCommand::Set {
            return Ok(HashMap::new());
        }
        let mut keys: Vec<&Vec<u8>> = writes
            .iter()
            .filter_map(|(_, w)| match w {
                Write::Cmd { key, .. } => Some(key),
                Write::Skip => None,
            })
            .collect();
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut pipe = Pipeline::new();
        pipe.cmd("WATCH").arg(&keys).ignore();
        for k in &keys {
            pipe.cmd("TYPE").arg(*k);
        }
        let con = self.conn.get()?;
        let types: Vec<String> = match pipe.query(con) {
            Ok(t) => t,
            Err(e) => return Err(self.conn.fail("checking the types of the batch's keys", e)),
        };
        let want = self.cfg.command.redis_type();
        Ok(keys
            .into_iter()
            .zip(types)
            .filter(|(_, t)| t != "none" && t != want)
            .map(|(k, t)| (k.clone(), t))
            .collect())
    }

    /// Why a record for `key` (of type `kind`) is refused: Redis's
    /// WRONGTYPE error, saying which key.
    fn wrong_type(&self, key: &[u8], kind: &str) -> String {
        format!(
            "WRONGTYPE Operation against a key holding the wrong kind of value: {} is a {kind}, \
             redis.command={} writes a {}",
            String::from_utf8_lossy(key),
            self.cfg.command.name(),
            self.cfg.command.redis_type()
        )
    }

    /// Forgets the WATCHed keys (no transaction follows).
    fn unwatch(&mut self) -> Result<(), TaskError> {
        let con = self.conn.get()?;
        match redis::cmd("UNWATCH").query::<()>(con) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.conn.fail("UNWATCH", e)),
        }
    }
}

/// The partition a record was read from.
fn partition_of(r: &SinkRecord) -> TopicPartition {
    TopicPartition {
        topic: r.topic.clone(),
        partition: r.partition,
    }
}
