//! A sink task's thread: a member of the consumer group `connect-NAME`
//! reads the task's partitions (from what the task's `open` returns, else
//! the group's committed offsets, else the earliest offset, as Connect's
//! `auto.offset.reset=earliest`), converts each record and `put`s the
//! batch; every `offset.flush.interval.ms`, and before a rebalance or a
//! stop, the task `flush`es and the group's offsets are committed.
//!
//! A record the converter or the task refuses fails the task with
//! `errors.tolerance=none`; with `all` it is skipped, and written to the
//! dead-letter topic when one is named (with Kafka Connect's
//! `__connect.errors.*` headers when
//! `errors.deadletterqueue.context.headers.enable=true`). A retriable
//! `put` or `flush` is retried with backoff; a lost broker connection is
//! reconnected.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use super::config::ErrorsConfig;
use super::convert::Converter;
use super::status::{State, TaskCtl};
use super::task::{Props, SinkRecord, SinkTask, TaskError, TopicPartition};
use crate::client::assignor::Partitions;
use crate::client::member::{GroupMember, MemberConfig, Status};
use crate::client::offsets;
use crate::client::producer::{Outgoing, Producer};
use crate::client::records::read_set;
use crate::client::{Client, ConnArgs};
use crate::clock::now_ms;

/// What a sink task thread needs.
pub(crate) struct SinkRun {
    /// Control and status.
    pub(crate) ctl: Arc<TaskCtl>,
    /// The task.
    pub(crate) task: Box<dyn SinkTask>,
    /// Its config.
    pub(crate) props: Props,
    /// The topics it reads.
    pub(crate) topics: Vec<String>,
    /// Key and value converters.
    pub(crate) converters: (Converter, Converter),
    /// The `errors.*` settings.
    pub(crate) errors: ErrorsConfig,
    /// The consumer's connection settings.
    pub(crate) conn: ConnArgs,
    /// The dead-letter producer's connection settings.
    pub(crate) producer_conn: ConnArgs,
    /// `offset.flush.interval.ms`: how often to flush and commit.
    pub(crate) flush_interval: Duration,
}

/// A raw record read, before conversion.
struct Raw {
    /// Topic and partition.
    tp: TopicPartition,
    /// Offset.
    offset: i64,
    /// Timestamp.
    timestamp: i64,
    /// Key bytes.
    key: Option<Bytes>,
    /// Value bytes.
    value: Option<Bytes>,
    /// Headers.
    headers: Vec<(String, Option<Bytes>)>,
}

/// Runs the task until it is stopped or fails.
pub(crate) fn run(mut r: SinkRun) {
    let ctl = Arc::clone(&r.ctl);
    ctl.run_task(&mut r, |r| r.run(), |r| r.task.stop());
}

/// Calls `f` until it does not fail retriably (with backoff), or the
/// task stops.
fn retried<T>(
    ctl: &TaskCtl,
    what: &str,
    mut f: impl FnMut() -> Result<T, TaskError>,
) -> anyhow::Result<T> {
    let mut pause = Duration::from_millis(100);
    loop {
        match f() {
            Ok(t) => {
                ctl.retrying(None);
                return Ok(t);
            }
            Err(TaskError::Retriable(e)) if !ctl.stopping() => {
                ctl.retrying(Some(&e));
                sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(10));
            }
            Err(TaskError::Retriable(e) | TaskError::Fatal(e)) => {
                return Err(e.context(format!("the task's {what} failed")))
            }
        }
    }
}

impl SinkRun {
    /// The group member's loop.
    fn run(&mut self) -> anyhow::Result<()> {
        let ctl = Arc::clone(&self.ctl);
        retried(&ctl, "start", || self.task.start(&self.props))?;
        let mut client = self.connect()?;
        let config = MemberConfig {
            group: format!("connect-{}", ctl.connector),
            topics: self.topics.clone(),
            session_timeout_ms: 45_000,
            rebalance_timeout_ms: 300_000,
            heartbeat_interval: Duration::from_secs(3),
            instance_id: None,
        };
        let mut member = GroupMember::join(&mut client, config)?;
        let result = self.consume(&mut client, &mut member);
        // Failed or stopped, the member leaves so that the group need
        // not wait out its session (a restarted task joins at once), as
        // Kafka's worker closes a task's consumer.
        if let Err(e) = member.leave(&mut client) {
            tracing::warn!("{}: leaving the group: {e:#}", ctl.connector);
        }
        result
    }

    /// The member's loop, until the task stops or fails.
    fn consume(&mut self, client: &mut Client, member: &mut GroupMember) -> anyhow::Result<()> {
        let ctl = Arc::clone(&self.ctl);
        let mut positions = self.assign(client, member)?;
        let mut done: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let mut dlq: Option<Producer> = None;
        let mut last_flush = Instant::now();
        while !ctl.stopping() {
            let mut rejoin = false;
            if last_flush.elapsed() >= self.flush_interval {
                rejoin |= self.commit(client, member, &mut done)? == Status::Rejoin;
                last_flush = Instant::now();
            }
            rejoin |= member.heartbeat_if_due(client)? == Status::Rejoin;
            if ctl.is_paused() {
                ctl.set(State::Paused);
                sleep(Duration::from_millis(100));
            } else {
                ctl.set(State::Running);
                let raws = match fetch(client, &mut positions) {
                    Ok(r) => {
                        ctl.retrying(None);
                        r
                    }
                    Err(e) => {
                        ctl.retrying(Some(&e));
                        sleep(Duration::from_millis(500));
                        *client = self.connect()?;
                        refresh(client, &mut positions)?;
                        continue;
                    }
                };
                if positions.is_empty() {
                    sleep(Duration::from_millis(200));
                }
                self.deliver(raws, &mut done, &mut dlq)?;
            }
            if rejoin {
                // The generation still holds while the group prepares
                // the rebalance: what is done is committed first.
                let _ = self.commit(client, member, &mut done)?;
                let tps: Vec<TopicPartition> = positions.keys().cloned().collect();
                retried(&ctl, "close", || self.task.close(&tps))?;
                member.rejoin(client)?;
                positions = self.assign(client, member)?;
            }
        }
        // Stopping: a rebalance now changes nothing, the member leaves.
        let _ = self.commit(client, member, &mut done)?;
        let tps: Vec<TopicPartition> = positions.keys().cloned().collect();
        retried(&ctl, "close", || self.task.close(&tps))?;
        Ok(())
    }

    /// A client, once the sink's topics exist (retried until then).
    fn connect(&self) -> anyhow::Result<Client> {
        let mut pause = Duration::from_millis(100);
        loop {
            let attempt = Client::connect(&self.conn).and_then(|mut c| {
                for t in &self.topics {
                    c.topic(t)?;
                }
                Ok(c)
            });
            match attempt {
                Ok(c) => {
                    self.ctl.retrying(None);
                    return Ok(c);
                }
                Err(e) if !self.ctl.stopping() => {
                    self.ctl.retrying(Some(&e));
                    sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The positions of the member's partitions, after the task's `open`.
    fn assign(
        &mut self,
        client: &mut Client,
        member: &mut GroupMember,
    ) -> anyhow::Result<BTreeMap<TopicPartition, Position>> {
        let assigned = member.assignment().clone();
        let tps: Vec<TopicPartition> = assigned
            .iter()
            .flat_map(|(t, ps)| {
                ps.iter().map(|&p| TopicPartition {
                    topic: t.clone(),
                    partition: p,
                })
            })
            .collect();
        tracing::info!("{}-{}: assigned {tps:?}", self.ctl.connector, self.ctl.id);
        let ctl = Arc::clone(&self.ctl);
        let chosen: BTreeMap<TopicPartition, i64> = retried(&ctl, "open", || self.task.open(&tps))?
            .into_iter()
            .collect();
        let mut positions = BTreeMap::new();
        let mut unset = Partitions::new();
        for (topic, parts) in &assigned {
            let meta = client.topic(topic)?;
            let committed = member.committed(client, topic, parts)?;
            for p in meta
                .partitions
                .iter()
                .filter(|p| parts.contains(&p.partition_index))
            {
                let tp = TopicPartition {
                    topic: topic.clone(),
                    partition: p.partition_index,
                };
                let offset = chosen
                    .get(&tp)
                    .or(committed.get(&p.partition_index))
                    .copied()
                    .unwrap_or(-1);
                if offset < 0 {
                    unset
                        .entry(topic.clone())
                        .or_default()
                        .push(p.partition_index);
                }
                positions.insert(
                    tp,
                    Position {
                        leader: p.leader_id,
                        offset,
                    },
                );
            }
        }
        for ((t, p), o) in offsets::list(client, &unset, offsets::EARLIEST)? {
            if let Some(pos) = positions.get_mut(&TopicPartition {
                topic: t,
                partition: p,
            }) {
                pos.offset = o;
            }
        }
        Ok(positions)
    }

    /// Flushes the task, then commits what it was given.
    fn commit(
        &mut self,
        client: &mut Client,
        member: &mut GroupMember,
        done: &mut BTreeMap<(String, i32), i64>,
    ) -> anyhow::Result<Status> {
        let ctl = Arc::clone(&self.ctl);
        retried(&ctl, "flush", || self.task.flush())?;
        let status = member.commit(client, done)?;
        done.clear();
        Ok(status)
    }

    /// Converts and `put`s a batch; refused records go by the errors
    /// settings.
    fn deliver(
        &mut self,
        raws: Vec<Raw>,
        done: &mut BTreeMap<(String, i32), i64>,
        dlq: &mut Option<Producer>,
    ) -> anyhow::Result<()> {
        let mut batch = Vec::new();
        let mut origin = Vec::new();
        for (i, raw) in raws.iter().enumerate() {
            let (kc, vc) = self.converters;
            let converted = kc
                .to_data(raw.key.as_deref())
                .map_err(|e| ("KEY_CONVERTER", kc.class_name(), e))
                .and_then(|k| {
                    let v = vc
                        .to_data(raw.value.as_deref())
                        .map_err(|e| ("VALUE_CONVERTER", vc.class_name(), e))?;
                    Ok((k, v))
                });
            match converted {
                Ok((key, value)) => {
                    batch.push(SinkRecord {
                        topic: raw.tp.topic.clone(),
                        partition: raw.tp.partition,
                        offset: raw.offset,
                        timestamp: raw.timestamp,
                        key,
                        value,
                        headers: raw.headers.clone(),
                    });
                    origin.push(i);
                }
                Err((stage, class, e)) => self.refuse(raw, stage, class, &e, dlq)?,
            }
        }
        if !batch.is_empty() {
            let ctl = Arc::clone(&self.ctl);
            let outcome = retried(&ctl, "put", || self.task.put(&batch))?;
            for (i, why) in outcome.refused {
                let raw = &raws[origin[i]];
                let class = self
                    .props
                    .get("connector.class")
                    .cloned()
                    .unwrap_or_default();
                self.refuse(raw, "TASK_PUT", &class, &anyhow!(why), dlq)?;
            }
        }
        for raw in &raws {
            done.insert((raw.tp.topic.clone(), raw.tp.partition), raw.offset + 1);
        }
        Ok(())
    }

    /// A refused record: the task fails (`errors.tolerance=none`), or the
    /// record is skipped and sent to the dead-letter topic if one is set.
    fn refuse(
        &self,
        raw: &Raw,
        stage: &str,
        class: &str,
        error: &anyhow::Error,
        dlq: &mut Option<Producer>,
    ) -> anyhow::Result<()> {
        let what = format!(
            "Error in stage {stage} ({class}) on {}-{} at offset {}",
            raw.tp.topic, raw.tp.partition, raw.offset
        );
        if !self.errors.tolerate_all {
            return Err(anyhow!("{error:#}")
                .context(what)
                .context("Tolerance exceeded in error handler"));
        }
        tracing::warn!(
            "{}: skipping a record: {what}: {error:#}",
            self.ctl.connector
        );
        let Some(topic) = &self.errors.dlq_topic else {
            return Ok(());
        };
        if dlq.is_none() {
            let mut client = Client::connect(&self.producer_conn)?;
            create_topic(&mut client, topic, self.errors.dlq_replication)
                .with_context(|| format!("creating the dead letter queue topic `{topic}`"))?;
            *dlq = Some(Producer::new(
                self.producer_conn.clone(),
                &mut self.ctl.retry(),
            )?);
        }
        let mut headers = raw.headers.clone();
        if self.errors.dlq_headers {
            let exception = "org.apache.kafka.connect.errors.DataException";
            let trace = format!("{exception}: {}", super::status::trace(error));
            for (k, v) in [
                ("topic", raw.tp.topic.clone()),
                ("partition", raw.tp.partition.to_string()),
                ("offset", raw.offset.to_string()),
                ("connector.name", self.ctl.connector.clone()),
                ("task.id", self.ctl.id.to_string()),
                ("stage", stage.to_string()),
                ("class.name", class.to_string()),
                ("exception.class.name", exception.to_string()),
                ("exception.message", format!("{error:#}")),
                ("exception.stacktrace", trace),
            ] {
                headers.push((format!("__connect.errors.{k}"), Some(Bytes::from(v))));
            }
        }
        let record = Outgoing {
            partition: None,
            key: raw.key.clone(),
            value: raw.value.clone(),
            headers,
            timestamp: now_ms(),
        };
        if let Some(p) = dlq.as_mut() {
            p.send(topic, &[record], &mut self.ctl.retry())?;
            self.ctl.retrying(None);
        }
        Ok(())
    }
}

/// Creates `topic` with one partition (as Kafka's dead letter queue);
/// an existing topic is fine.
fn create_topic(client: &mut Client, topic: &str, replication: i16) -> anyhow::Result<()> {
    let req = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: topic.into(),
            num_partitions: 1,
            replication_factor: replication,
            ..Default::default()
        }],
        timeout_ms: 30_000,
        ..Default::default()
    };
    let ResponseBody::CreateTopics(resp) =
        client.controller()?.send(RequestBody::CreateTopics(req))?
    else {
        bail!("CreateTopics answered with another API");
    };
    let t = resp
        .topics
        .first()
        .ok_or_else(|| anyhow!("CreateTopics answered without the topic"))?;
    match ErrorCode(t.error_code) {
        ErrorCode::NONE | ErrorCode::TOPIC_ALREADY_EXISTS => Ok(()),
        code => bail!(
            "{code}{}",
            t.error_message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
    }
}

/// Where one partition is read.
#[derive(Debug, Clone, Copy)]
struct Position {
    /// The leader's node id.
    leader: i32,
    /// The next offset to fetch.
    offset: i64,
}

/// After a failed fetch: each partition's leader from fresh metadata, and
/// the earliest offset for a partition whose offset was out of range.
fn refresh(
    client: &mut Client,
    positions: &mut BTreeMap<TopicPartition, Position>,
) -> anyhow::Result<()> {
    let mut reset = Partitions::new();
    let topics: Vec<String> = positions.keys().map(|tp| tp.topic.clone()).collect();
    for topic in topics.iter().collect::<std::collections::BTreeSet<_>>() {
        for p in client.topic(topic)?.partitions {
            let tp = TopicPartition {
                topic: topic.clone(),
                partition: p.partition_index,
            };
            if let Some(pos) = positions.get_mut(&tp) {
                pos.leader = p.leader_id;
                if pos.offset < 0 {
                    reset
                        .entry(topic.clone())
                        .or_default()
                        .push(p.partition_index);
                }
            }
        }
    }
    for ((topic, partition), o) in offsets::list(client, &reset, offsets::EARLIEST)? {
        if let Some(pos) = positions.get_mut(&TopicPartition { topic, partition }) {
            pos.offset = o;
        }
    }
    Ok(())
}

/// One Fetch per leader; returns the new records and moves the positions.
fn fetch(
    client: &mut Client,
    positions: &mut BTreeMap<TopicPartition, Position>,
) -> anyhow::Result<Vec<Raw>> {
    let mut leaders: Vec<i32> = positions.values().map(|p| p.leader).collect();
    leaders.sort_unstable();
    leaders.dedup();
    let mut out = Vec::new();
    for leader in leaders {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, p) in positions.iter().filter(|(_, p)| p.leader == leader) {
            topics.entry(&tp.topic).or_default().push(FetchPartition {
                partition: tp.partition,
                fetch_offset: p.offset,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            });
        }
        let req = FetchRequest {
            replica_id: -1,
            max_wait_ms: 500,
            min_bytes: 1,
            topics: topics
                .into_iter()
                .map(|(t, partitions)| FetchTopic {
                    topic: t.into(),
                    partitions,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let ResponseBody::Fetch(resp) = client.leader(leader)?.send(RequestBody::Fetch(req))?
        else {
            bail!("Fetch answered with another API");
        };
        crate::client::check("fetching", resp.error_code, None)?;
        for t in &resp.responses {
            for data in &t.partitions {
                let tp = TopicPartition {
                    topic: t.topic.to_string(),
                    partition: data.partition_index,
                };
                let Some(pos) = positions.get_mut(&tp) else {
                    continue;
                };
                match ErrorCode(data.error_code) {
                    ErrorCode::NONE => {}
                    ErrorCode::OFFSET_OUT_OF_RANGE => {
                        // Connect's consumers reset to the earliest offset.
                        pos.offset = -1;
                        bail!(
                            "fetching {}-{}: offset out of range",
                            tp.topic,
                            tp.partition
                        );
                    }
                    e => bail!("fetching {}-{}: {e}", tp.topic, tp.partition),
                }
                let Some(set) = &data.records else { continue };
                for f in read_set(&set.to_bytes())? {
                    if f.offset < pos.offset {
                        continue;
                    }
                    pos.offset = f.offset + 1;
                    out.push(Raw {
                        tp: tp.clone(),
                        offset: f.offset,
                        timestamp: f.timestamp,
                        key: f.record.key,
                        value: f.record.value,
                        headers: f
                            .record
                            .headers
                            .into_iter()
                            .map(|h| (String::from_utf8_lossy(&h.key).into_owned(), h.value))
                            .collect(),
                    });
                }
            }
        }
    }
    Ok(out)
}
