//! A source task's thread: poll, convert, produce with the idempotent
//! producer, `commit_records` each acknowledged batch, and every
//! `offset.flush.interval.ms` write the acknowledged offsets to the
//! offset file, then `commit`. On stop the offsets of everything
//! acknowledged are flushed before the task stops.
//!
//! A record a converter refuses fails the task with
//! `errors.tolerance=none`; with `all` it is skipped (logged) and its
//! offset counts as done, as Kafka's worker does (a source has no
//! dead-letter topic).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};

use super::convert::Converter;
use super::offsets::OffsetStore;
use super::status::{State, TaskCtl};
use super::task::{
    Props, RecordAck, SourceOffset, SourcePartition, SourceRecord, SourceTask, TaskError,
};
use crate::client::producer::{Outgoing, Producer};
use crate::client::ConnArgs;
use crate::clock::now_ms;

/// What a source task thread needs.
pub(crate) struct SourceRun {
    /// Control and status.
    pub(crate) ctl: Arc<TaskCtl>,
    /// The task.
    pub(crate) task: Box<dyn SourceTask>,
    /// Its config.
    pub(crate) props: Props,
    /// Key and value converters.
    pub(crate) converters: (Converter, Converter),
    /// `errors.tolerance=all`.
    pub(crate) tolerate_all: bool,
    /// The producer's connection settings.
    pub(crate) conn: ConnArgs,
    /// The worker's offset file.
    pub(crate) offsets: Arc<Mutex<OffsetStore>>,
    /// `offset.flush.interval.ms`.
    pub(crate) flush_interval: Duration,
}

/// Runs the task until it is stopped or fails.
pub(crate) fn run(mut r: SourceRun) {
    let ctl = Arc::clone(&r.ctl);
    ctl.run_task(&mut r, |r| r.run(), |r| r.task.stop());
}

/// The error of a task call, after retries.
fn task_error(e: TaskError) -> anyhow::Error {
    match e {
        TaskError::Retriable(e) | TaskError::Fatal(e) => e,
    }
}

impl SourceRun {
    /// The task's loop.
    fn run(&mut self) -> anyhow::Result<()> {
        let mut acked = BTreeMap::new();
        let result = self.run_with(&mut acked);
        // What the broker acknowledged is done even when the task failed
        // (or stopped while retrying): its offsets are flushed.
        let flushed = self.flush(&mut acked);
        result.and(flushed)
    }

    /// The loop, noting acknowledged offsets in `acked`.
    fn run_with(
        &mut self,
        acked: &mut BTreeMap<String, (SourcePartition, SourceOffset)>,
    ) -> anyhow::Result<()> {
        let name = self.ctl.connector.clone();
        {
            let store = self
                .offsets
                .lock()
                .map_err(|_| anyhow!("offset store poisoned"))?;
            self.task
                .start(&self.props, &store.reader(&name))
                .map_err(task_error)
                .context("starting the task")?;
        }
        let ctl = Arc::clone(&self.ctl);
        let mut producer = Producer::new(self.conn.clone(), &mut ctl.retry())?;
        ctl.retrying(None);
        let mut last_flush = Instant::now();
        let mut pause = Duration::from_millis(100);
        while !ctl.stopping() {
            if last_flush.elapsed() >= self.flush_interval {
                self.flush(acked)?;
                last_flush = Instant::now();
            }
            if ctl.is_paused() {
                ctl.set(State::Paused);
                sleep(Duration::from_millis(100));
                continue;
            }
            ctl.set(State::Running);
            let records = match self.task.poll() {
                Ok(r) => {
                    pause = Duration::from_millis(100);
                    r
                }
                Err(TaskError::Retriable(e)) => {
                    ctl.retrying(Some(&e));
                    sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(10));
                    continue;
                }
                Err(TaskError::Fatal(e)) => return Err(e.context("the task's poll failed")),
            };
            // Converted records by topic, with their index in `records`.
            let mut by_topic: BTreeMap<String, Vec<(usize, Outgoing)>> = BTreeMap::new();
            for (i, rec) in records.iter().enumerate() {
                let converted = self
                    .converters
                    .0
                    .to_bytes(&rec.key)
                    .context("the key converter refused the record")
                    .and_then(|k| {
                        let v = self
                            .converters
                            .1
                            .to_bytes(&rec.value)
                            .context("the value converter refused the record")?;
                        Ok((k, v))
                    });
                match converted {
                    Ok((key, value)) => by_topic.entry(rec.topic.clone()).or_default().push((
                        i,
                        Outgoing {
                            partition: rec.partition,
                            key,
                            value,
                            headers: rec.headers.clone(),
                            timestamp: rec.timestamp.unwrap_or_else(now_ms),
                        },
                    )),
                    Err(e) if self.tolerate_all => {
                        tracing::warn!("{name}: skipping a record: {e:#}");
                        remember(acked, &rec.source_partition, &rec.source_offset);
                    }
                    Err(e) => {
                        return Err(e.context("Tolerance exceeded in error handler"));
                    }
                }
            }
            for (topic, list) in by_topic {
                let outgoing: Vec<Outgoing> = list.iter().map(|(_, o)| o.clone()).collect();
                let acks = producer.send(&topic, &outgoing, &mut ctl.retry())?;
                ctl.retrying(None);
                let done: Vec<(&SourceRecord, RecordAck)> = list
                    .iter()
                    .zip(acks)
                    .map(|((i, _), (partition, offset))| {
                        (&records[*i], RecordAck { partition, offset })
                    })
                    .collect();
                self.task.commit_records(&done).map_err(task_error)?;
                for (rec, _) in &done {
                    remember(acked, &rec.source_partition, &rec.source_offset);
                }
            }
        }
        Ok(())
    }

    /// Writes the acknowledged offsets to the file, then `commit`s.
    fn flush(
        &mut self,
        acked: &mut BTreeMap<String, (SourcePartition, SourceOffset)>,
    ) -> anyhow::Result<()> {
        if acked.is_empty() {
            return Ok(());
        }
        {
            let mut store = self
                .offsets
                .lock()
                .map_err(|_| anyhow!("offset store poisoned"))?;
            for (partition, offset) in acked.values() {
                store.set(&self.ctl.connector, partition, offset);
            }
            store.flush()?;
        }
        acked.clear();
        self.task.commit().map_err(task_error)
    }
}

/// Notes `offset` as the latest done for `partition`.
fn remember(
    acked: &mut BTreeMap<String, (SourcePartition, SourceOffset)>,
    partition: &SourcePartition,
    offset: &SourceOffset,
) {
    let key = serde_json::Value::Object(partition.clone()).to_string();
    acked.insert(key, (partition.clone(), offset.clone()));
}
