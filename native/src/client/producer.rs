//! [`Producer`]: an idempotent producer, as Kafka's with
//! `enable.idempotence=true` (the default): a producer id from
//! InitProducerId, a sequence number per partition in every batch,
//! `acks=all`, and retries of the same batch with the same sequence, so
//! that a retried batch the broker already has is not written twice.
//!
//! [`Producer::send`] partitions records (the given partition, else
//! murmur2 of the key, else round-robin), makes one batch per partition,
//! and sends each to its leader until every batch is acknowledged; a
//! retriable failure (a lost connection, a moved leader, a topic being
//! created) is retried with backoff after fresh metadata and a fresh
//! connection, as long as the caller's `retry` callback agrees. Topics
//! are created by asking for them (`allow.auto.create.topics`, the
//! producer's default), when the broker allows it.

use std::collections::{BTreeMap, HashMap};
use std::thread::sleep;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use bytestring::ByteString;
use spate_core::protocol::messages::init_producer_id_request::InitProducerIdRequest;
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::records::{Record, RecordBatchBuilder};

use super::records::partition_for_key;
use super::{Client, ConnArgs};

/// The first pause after a failure; it doubles up to [`MAX_BACKOFF`].
const BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between retries (Kafka's `retry.backoff.max.ms`).
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A record to produce.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// The partition, or `None` for the partitioner.
    pub(crate) partition: Option<i32>,
    /// The key bytes.
    pub(crate) key: Option<Bytes>,
    /// The value bytes.
    pub(crate) value: Option<Bytes>,
    /// Headers.
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
    /// The timestamp (ms).
    pub(crate) timestamp: i64,
}

/// Where a record was written.
pub(crate) type Ack = (i32, i64);

/// An idempotent producer.
pub(crate) struct Producer {
    /// How to reconnect.
    args: ConnArgs,
    /// The client; `None` after a failure until reconnected.
    client: Option<Client>,
    /// The producer id and epoch.
    id: (i64, i16),
    /// The next sequence number of each partition.
    sequences: HashMap<(String, i32), i32>,
    /// Round-robin position for records without key or partition.
    next: usize,
}

/// One batch being sent.
struct Batch {
    /// The partition.
    partition: i32,
    /// The encoded batch.
    bytes: Bytes,
    /// The indexes of its records in the caller's list.
    indexes: Vec<usize>,
}

impl Producer {
    /// Connects and asks for a producer id, retrying while `retry` agrees.
    pub(crate) fn new(
        args: ConnArgs,
        retry: &mut dyn FnMut(&anyhow::Error) -> bool,
    ) -> anyhow::Result<Producer> {
        let mut p = Producer {
            args,
            client: None,
            id: (-1, -1),
            sequences: HashMap::new(),
            next: 0,
        };
        p.with_retries(retry, |p| p.init_id())?;
        Ok(p)
    }

    /// The connected client.
    fn client(&mut self) -> anyhow::Result<&mut Client> {
        if self.client.is_none() {
            self.client = Some(Client::connect(&self.args)?);
        }
        self.client.as_mut().ok_or_else(|| anyhow!("not connected"))
    }

    /// Runs `f` until it succeeds, dropping the connection and pausing
    /// after each failure while `retry` agrees.
    fn with_retries<T>(
        &mut self,
        retry: &mut dyn FnMut(&anyhow::Error) -> bool,
        mut f: impl FnMut(&mut Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut pause = BACKOFF;
        loop {
            match f(self) {
                Ok(t) => return Ok(t),
                Err(e) => {
                    self.client = None;
                    if !is_retriable(&e) || !retry(&e) {
                        return Err(e);
                    }
                    sleep(pause);
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// InitProducerId without a transactional id.
    fn init_id(&mut self) -> anyhow::Result<()> {
        let req = InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: i32::MAX,
            ..Default::default()
        };
        let ResponseBody::InitProducerId(resp) =
            self.client()?.send(RequestBody::InitProducerId(req))?
        else {
            bail!("InitProducerId answered with another API");
        };
        let code = ErrorCode(resp.error_code);
        if code != ErrorCode::NONE {
            let msg = format!("InitProducerId: {code}");
            if code.is_retriable() || code == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS {
                bail!(msg);
            }
            return Err(NotRetriable(msg).into());
        }
        self.id = (resp.producer_id, resp.producer_epoch);
        Ok(())
    }

    /// The leader of each partition of `topic`, by partition; the topic is
    /// created by asking when the broker allows it.
    fn leaders(&mut self, topic: &str) -> anyhow::Result<Vec<i32>> {
        let req = MetadataRequest {
            topics: Some(vec![MetadataRequestTopic {
                name: Some(ByteString::from(topic)),
                ..Default::default()
            }]),
            allow_auto_topic_creation: true,
            ..Default::default()
        };
        let client = self.client()?;
        let ResponseBody::Metadata(resp) = client.send(RequestBody::Metadata(req))? else {
            bail!("Metadata answered with another API");
        };
        for b in &resp.brokers {
            client.broker(b.node_id, &format!("{}:{}", b.host, b.port))?;
        }
        let t = resp
            .topics
            .iter()
            .find(|t| t.name.as_deref() == Some(topic))
            .ok_or_else(|| anyhow!("no metadata for topic `{topic}`"))?;
        if t.error_code != 0 {
            bail!("topic `{topic}`: {}", ErrorCode(t.error_code));
        }
        let mut parts: Vec<(i32, i32)> = t
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.leader_id))
            .collect();
        parts.sort_unstable();
        if parts.is_empty() || parts.iter().any(|&(_, l)| l < 0) {
            bail!("topic `{topic}` has partitions without a leader yet");
        }
        Ok(parts.into_iter().map(|(_, l)| l).collect())
    }

    /// Produces `records` to `topic` and returns where each was written,
    /// in the same order. Retries while `retry` agrees.
    pub(crate) fn send(
        &mut self,
        topic: &str,
        records: &[Outgoing],
        retry: &mut dyn FnMut(&anyhow::Error) -> bool,
    ) -> anyhow::Result<Vec<Ack>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let leaders = self.with_retries(retry, |p| p.leaders(topic))?;
        let n = leaders.len() as i32;
        // Records by partition, in order.
        let mut by_partition: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            let partition = match (r.partition, &r.key) {
                (Some(p), _) if p >= 0 && p < n => p,
                (Some(p), _) => bail!("topic `{topic}` has no partition {p}"),
                (None, Some(k)) => partition_for_key(k, n),
                (None, None) => {
                    self.next = self.next.wrapping_add(1);
                    (self.next % n as usize) as i32
                }
            };
            by_partition.entry(partition).or_default().push(i);
        }
        let mut batches = Vec::new();
        for (partition, indexes) in by_partition {
            let seq = self
                .sequences
                .entry((topic.to_string(), partition))
                .or_insert(0);
            let base_ts = records[indexes[0]].timestamp;
            let mut b = RecordBatchBuilder::new(0, base_ts).producer(self.id.0, self.id.1, *seq);
            for (delta, &i) in indexes.iter().enumerate() {
                let r = &records[i];
                let mut rec = Record::new(
                    delta as i32,
                    r.timestamp - base_ts,
                    r.key.clone(),
                    r.value.clone(),
                );
                for (k, v) in &r.headers {
                    rec = rec.with_header(k, v.clone());
                }
                b.push(rec);
            }
            *seq = seq.wrapping_add(indexes.len() as i32) & i32::MAX;
            let bytes = b.build().context("encoding a record batch")?;
            batches.push(Batch {
                partition,
                bytes,
                indexes,
            });
        }
        let mut acks = vec![(0, 0); records.len()];
        let mut left = batches;
        let mut pause = BACKOFF;
        while !left.is_empty() {
            let mut failed = Vec::new();
            let mut error = None;
            let leaders = match self.leaders(topic) {
                Ok(l) => l,
                Err(e) => {
                    self.client = None;
                    if !retry(&e) {
                        return Err(e);
                    }
                    sleep(pause);
                    pause = (pause * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            for batch in left {
                let leader = leaders.get(batch.partition as usize).copied().unwrap_or(-1);
                match self.produce(topic, leader, &batch) {
                    Ok(base) => {
                        for (delta, &i) in batch.indexes.iter().enumerate() {
                            acks[i] = (batch.partition, base + delta as i64);
                        }
                    }
                    Err(e) => {
                        error = Some(e);
                        failed.push(batch);
                    }
                }
            }
            left = failed;
            if let Some(e) = error {
                self.client = None;
                if !is_retriable(&e) || !retry(&e) {
                    return Err(e);
                }
                sleep(pause);
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
        Ok(acks)
    }

    /// One Produce of `batch` to `leader`; the base offset it got.
    fn produce(&mut self, topic: &str, leader: i32, batch: &Batch) -> anyhow::Result<i64> {
        let req = ProduceRequest {
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![TopicProduceData {
                name: topic.into(),
                partition_data: vec![PartitionProduceData {
                    index: batch.partition,
                    records: Some(batch.bytes.clone().into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let conn = self.client()?.leader(leader)?;
        let ResponseBody::Produce(resp) = conn.send(RequestBody::Produce(req))? else {
            bail!("Produce answered with another API");
        };
        let part = resp
            .responses
            .iter()
            .flat_map(|t| &t.partition_responses)
            .find(|r| r.index == batch.partition)
            .ok_or_else(|| anyhow!("Produce answered without partition {}", batch.partition))?;
        match ErrorCode(part.error_code) {
            // A retried batch the broker already has.
            ErrorCode::NONE | ErrorCode::DUPLICATE_SEQUENCE_NUMBER => Ok(part.base_offset),
            code => {
                let detail = part
                    .error_message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                let msg = format!("producing to {topic}-{}: {code}{detail}", batch.partition);
                if code.is_retriable() {
                    Err(anyhow!(msg))
                } else {
                    Err(NotRetriable(msg).into())
                }
            }
        }
    }
}

/// An error retrying cannot cure (a refused record, a denied topic).
#[derive(Debug)]
pub(crate) struct NotRetriable(pub(crate) String);

impl std::fmt::Display for NotRetriable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotRetriable {}

/// Whether `e` may go away when retried.
pub(crate) fn is_retriable(e: &anyhow::Error) -> bool {
    !e.chain()
        .any(|c| c.downcast_ref::<NotRetriable>().is_some())
}
