//! What a connector is to the worker: Kafka Connect's `SourceTask` and
//! `SinkTask`, as blocking Rust traits. Each task runs on a thread of its
//! own; the worker calls it from that thread only.
//!
//! # A source task's life
//!
//! ```text
//! start(props, offsets) ─► poll() ─► records ─► converted, produced
//!                             ▲                    │ acknowledged
//!                             │                    ▼
//!                             └───────── commit_record(record, ack)
//!      every offset.flush.interval.ms: offsets written, then commit()
//!      stop()
//! ```
//!
//! # A sink task's life
//!
//! ```text
//! start(props) ─► open(partitions) ─► put(records)* ─► flush() ─► the
//!                 (rebalance: close, open)             group's offsets
//!                                                       are committed
//! stop()
//! ```
//!
//! Errors: [`TaskError::Retriable`] makes the worker retry the same call
//! with backoff (a Redis or broker outage), reported in the status API;
//! [`TaskError::Fatal`] fails the task, and the status says why.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::data::SchemaAndValue;

/// A connector's or task's properties, as read from its file.
pub(crate) type Props = BTreeMap<String, String>;

/// Where a source's data comes from (Kafka's source partition, such as
/// `{"filename": "test.txt"}`), as JSON.
pub(crate) type SourcePartition = serde_json::Map<String, serde_json::Value>;

/// How far a source has been read (Kafka's source offset, such as
/// `{"position": 120}`), as JSON.
pub(crate) type SourceOffset = serde_json::Map<String, serde_json::Value>;

/// Why a task call failed.
#[derive(Debug)]
pub(crate) enum TaskError {
    /// Worth retrying the same call after a backoff (Kafka's
    /// `RetriableException`): the broker or Redis is unreachable.
    Retriable(anyhow::Error),
    /// The task cannot go on (Kafka's `ConnectException`).
    Fatal(anyhow::Error),
}

/// A record a source task made, before conversion (Kafka's `SourceRecord`).
#[derive(Debug, Clone)]
pub(crate) struct SourceRecord {
    /// Where it came from.
    pub(crate) source_partition: SourcePartition,
    /// How far the source is read once this record is acknowledged.
    pub(crate) source_offset: SourceOffset,
    /// The topic to produce it to.
    pub(crate) topic: String,
    /// The partition, or `None` for the producer's partitioner.
    pub(crate) partition: Option<i32>,
    /// The key.
    pub(crate) key: SchemaAndValue,
    /// The value.
    pub(crate) value: SchemaAndValue,
    /// The timestamp (ms), or `None` for the producer's time.
    pub(crate) timestamp: Option<i64>,
    /// Headers.
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
}

/// Where the broker stored a produced record (Kafka's `RecordMetadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordAck {
    /// The partition.
    pub(crate) partition: i32,
    /// The offset.
    pub(crate) offset: i64,
}

/// Source offsets stored by the worker (the standalone worker's offset
/// file), read by a task when it starts.
pub(crate) trait OffsetReader {
    /// The last flushed offset of `partition` for this connector.
    fn offset(&self, partition: &SourcePartition) -> Option<SourceOffset>;
}

/// Kafka Connect's `SourceTask`.
pub(crate) trait SourceTask: Send {
    /// Starts with the task's properties and the stored offsets.
    fn start(&mut self, props: &Props, offsets: &dyn OffsetReader) -> Result<(), TaskError>;
    /// Records ready now; waits a short while (at most about a second)
    /// when there are none, so that the worker can stop it.
    fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError>;
    /// `record` was acknowledged by the broker (Redis: XACK it).
    fn commit_record(&mut self, _record: &SourceRecord, _ack: RecordAck) -> Result<(), TaskError> {
        Ok(())
    }
    /// Every record of `acked` was acknowledged by the broker (one
    /// produced batch, in order). By default each goes to
    /// [`SourceTask::commit_record`]; a task that can acknowledge many at
    /// once at its source (a Redis stream: one XACK) does so here.
    fn commit_records(&mut self, acked: &[(&SourceRecord, RecordAck)]) -> Result<(), TaskError> {
        for (record, ack) in acked {
            self.commit_record(record, *ack)?;
        }
        Ok(())
    }
    /// The worker has flushed the offsets of everything acknowledged.
    fn commit(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
    /// Stops; no call follows.
    fn stop(&mut self);
}

/// A topic partition a sink task is assigned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TopicPartition {
    /// The topic.
    pub(crate) topic: String,
    /// The partition.
    pub(crate) partition: i32,
}

/// A record for a sink task, after conversion (Kafka's `SinkRecord`).
#[derive(Debug, Clone)]
// FileStreamSink reads only the value; the Redis sink reads the rest.
#[allow(dead_code)]
pub(crate) struct SinkRecord {
    /// The topic it was read from.
    pub(crate) topic: String,
    /// The partition.
    pub(crate) partition: i32,
    /// Its offset.
    pub(crate) offset: i64,
    /// Its timestamp (ms).
    pub(crate) timestamp: i64,
    /// The key, converted.
    pub(crate) key: SchemaAndValue,
    /// The value, converted; `Value::Null` for a tombstone.
    pub(crate) value: SchemaAndValue,
    /// Headers.
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
}

/// What became of a `put`: the records the destination refused, by index
/// into the batch, with why. The worker applies `errors.tolerance` to
/// them (the dead-letter topic, or the task fails).
#[derive(Debug, Default)]
pub(crate) struct PutOutcome {
    /// Refused records: index in the batch, and the reason.
    pub(crate) refused: Vec<(usize, String)>,
}

/// Kafka Connect's `SinkTask`.
pub(crate) trait SinkTask: Send {
    /// Starts with the task's properties.
    fn start(&mut self, props: &Props) -> Result<(), TaskError>;
    /// `partitions` are now this task's. A task that keeps its own
    /// offsets (Redis: beside the data) returns where to resume each of
    /// them (the next offset to read); the worker seeks there instead of
    /// the group's committed offset.
    fn open(
        &mut self,
        _partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, i64)>, TaskError> {
        Ok(Vec::new())
    }
    /// Writes a batch of records (in offset order per partition).
    fn put(&mut self, records: &[SinkRecord]) -> Result<PutOutcome, TaskError>;
    /// Makes everything `put` so far durable; the worker commits the
    /// group's offsets after it returns.
    fn flush(&mut self) -> Result<(), TaskError>;
    /// `partitions` are no longer this task's (a rebalance or a stop).
    fn close(&mut self, _partitions: &[TopicPartition]) -> Result<(), TaskError> {
        Ok(())
    }
    /// Stops; no call follows.
    fn stop(&mut self);
}

/// A connector class the worker can run.
#[derive(Clone, Copy)]
pub(crate) enum Plugin {
    /// A source connector: how to split its config and make a task.
    Source {
        /// Checks the connector's properties and splits them into at
        /// most `tasks.max` task configs (Kafka's `taskConfigs`).
        task_configs: fn(&Props, usize) -> anyhow::Result<Vec<Props>>,
        /// A new task.
        task: fn() -> Box<dyn SourceTask>,
    },
    /// A sink connector.
    Sink {
        /// As for a source.
        task_configs: fn(&Props, usize) -> anyhow::Result<Vec<Props>>,
        /// A new task.
        task: fn() -> Box<dyn SinkTask>,
    },
}
