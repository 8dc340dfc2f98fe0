//! Produce (key 0): append record batches to partitions.
//!
//! # Wire
//!
//! Request: transactional id (v3+), acks, timeout, topics by name (v0-12)
//! or id (v13+), each partition's record set. Response per partition:
//! error, base offset, log append time (v2+), log start offset (v5+),
//! record errors and message (v8+).
//!
//! # Versions
//!
//! 0-13. v0-2 carry legacy message sets (magic 0/1), converted to v2
//! batches on append; v3+ carry v2 batches. Each batch is validated (sizes,
//! magic, CRC, record count, offsets) and gets its offsets by rewriting
//! base offset and leader epoch in place. acks=0 gets no response at all.
//!
//! Batches with a producer id then go through the idempotence checks of
//! [`crate::state::producers`]: a retried batch is answered with its
//! original offsets and not appended again; an old epoch gets
//! INVALID_PRODUCER_EPOCH and a sequence gap OUT_OF_ORDER_SEQUENCE_NUMBER,
//! with no error message (Kafka sends none for them).
//!
//! # Leadership
//!
//! In ZooKeeper mode a partition this broker does not lead
//! ([`crate::state::cluster::Cluster::lead`]) is NOT_LEADER_OR_FOLLOWER;
//! from v10 the answer names the current leader and epoch as this broker
//! knows them, and the response carries the endpoint of each such leader
//! that is alive (KIP-951), as Kafka does. A single broker leads every
//! partition it knows.
//!
//! # acks=all
//!
//! With acks=-1 a partition led here needs `min.insync.replicas` in its
//! ISR before anything is appended (NOT_ENOUGH_REPLICAS otherwise; a
//! partition without followers counts this broker alone, as Kafka does on
//! one broker). Once appended, the request waits ([`ParkedProduce`], in
//! the broker like a parked Fetch) until the high watermark
//! ([`crate::state::replication`]) passes the records of every partition,
//! or its `timeout_ms` passes (REQUEST_TIMED_OUT for those still
//! waiting). A partition whose ISR shrank below `min.insync.replicas`
//! meanwhile is NOT_ENOUGH_REPLICAS_AFTER_APPEND; one no longer led here
//! NOT_LEADER_OR_FOLLOWER. Where the high watermark is the log end (a
//! single broker, or no followers) it answers at once, as before. acks=1
//! and acks=0 never wait.
//!
//! # Transactions
//!
//! A transactional batch needs the request's transactional id
//! (INVALID_REQUEST without one, as the batch could never be ended). Its
//! producer must be the id's current producer at its current epoch, and
//! the partition part of its open transaction. Up to v11 (transaction
//! version 1) the partition leader only verifies that with the
//! coordinator (KIP-890 part 1): a partition never added is
//! TRANSACTION_ABORTABLE from v11 and INVALID_TXN_STATE before, a fenced
//! producer INVALID_PRODUCER_EPOCH, an unknown one
//! INVALID_PRODUCER_ID_MAPPING, and a transaction being ended (or a
//! coordinator error) NOT_ENOUGH_REPLICAS, which every client retries, as
//! Kafka translates them. From v12 (transaction version 2) the produce adds
//! the partition to the transaction itself.
//!
//! In ZooKeeper mode a transactional id coordinated by another broker
//! (its partition of `__transaction_state` led elsewhere) is not verified
//! up to v11: Kafka 2.x, the reference there, verifies nothing, and Spate
//! does not yet ask another broker's coordinator. From v12 such a batch
//! is NOT_ENOUGH_REPLICAS (the coordinator is not here to add it).
//!
//! # Authorization
//!
//! With an authorizer a request with a transactional id needs WRITE on it
//! (TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition, checked in
//! `authz::gate`), and each topic WRITE (TOPIC_AUTHORIZATION_FAILED).

use crate::protocol::messages::produce_request::{PartitionProduceData, ProduceRequest};
use crate::protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse,
    ProduceResponse, TopicProduceResponse,
};
use crate::protocol::{ErrorCode, Records, ResponseBody};
use crate::records::validate::{validate_and_assign, AppendContext, AppendError};
use crate::records::TimestampType;
use crate::security::acl::{Authorizer, Operation};
use crate::state::brokers::Membership;
use crate::state::cluster::Cluster;
use crate::state::faults::AppendFaults;
use crate::state::leadership::Lead;
use crate::state::metrics::Metrics;
use crate::state::producers::{BatchMetadata, Verdict};
use crate::state::Now;
use crate::storage::{BatchMeta, Storage, TopicPartition};

use super::authz::Checks;
use super::txn::{carry_out, TxnParts};
use super::{Answering, Ctx, Handled, Parked, Reply};

/// Runs a Produce request; the partitions that got records are reported
/// so that fetches waiting on them are answered.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    answering: Answering,
    (members, faults): (&Membership, &mut AppendFaults),
    tp: &mut TxnParts<'_, S>,
    az: &Authorizer<'_>,
    req: ProduceRequest,
    metrics: &mut Metrics,
) -> Handled {
    let cluster = tp.cluster;
    let v = ctx.version;
    let acks_ok = matches!(req.acks, -1..=1);
    let mut appended = Vec::new();
    let mut waits = Vec::new();
    let responses: Vec<TopicProduceResponse> = req
        .topic_data
        .iter()
        .enumerate()
        .map(|(ti, t)| {
            let name = if v >= 13 {
                cluster.by_id.get(&t.topic_id).cloned()
            } else {
                Some(t.name.to_string())
            };
            let partitions = t
                .partition_data
                .iter()
                .enumerate()
                .map(|(pi, p)| {
                    if !acks_ok {
                        return error(p.index, ErrorCode::INVALID_REQUIRED_ACKS, None);
                    }
                    match &name {
                        Some(n) if !az.topic(Operation::Write, n) => {
                            error(p.index, ErrorCode::TOPIC_AUTHORIZATION_FAILED, None)
                        }
                        Some(n) => {
                            let txn_id = req.transactional_id.as_deref();
                            let at = TopicPartition::new(n.as_str(), p.index);
                            let before = tp.storage.end_offset(&at);
                            let r = append(ctx, (tp, &mut *faults), txn_id, req.acks, n, p);
                            if r.error_code == 0 {
                                // What was appended, in the request's bytes
                                // (a duplicate appends nothing).
                                let end = tp.storage.end_offset(&at);
                                if end > before {
                                    let bytes = p.records.as_ref().map_or(0, Records::len);
                                    metrics.produced(n, (end - before) as u64, bytes as u64);
                                }
                                if req.acks == -1 {
                                    let required = end;
                                    let (topic, partition) = (ti, pi);
                                    waits.push(Wait {
                                        topic,
                                        partition,
                                        tp: at.clone(),
                                        required,
                                    });
                                }
                                appended.push(at);
                            }
                            r
                        }
                        None => error(p.index, ErrorCode::UNKNOWN_TOPIC_ID, None),
                    }
                })
                .collect();
            TopicProduceResponse {
                name: t.name.clone(),
                topic_id: t.topic_id,
                partition_responses: partitions,
                ..Default::default()
            }
        })
        .collect();
    let reply = if req.acks == 0 {
        Reply::NoResponse
    } else {
        let node_endpoints = if v >= 10 {
            leader_endpoints(members, ctx.listener, &responses)
        } else {
            Vec::new()
        };
        let response = ProduceResponse {
            responses,
            node_endpoints,
            throttle_time_ms: 0,
            ..Default::default()
        };
        // acks=all: every partition appended to waits for its high
        // watermark (at once, unless followers are behind).
        let parked = ParkedProduce {
            answering,
            deadline: ctx.now.saturating_add(i64::from(req.timeout_ms)),
            response,
            waits,
        };
        resume(tp.cluster, &*tp.storage, parked, req.timeout_ms <= 0)
    };
    Handled {
        appended,
        ..Handled::reply(reply)
    }
}

/// The endpoints of the live leaders that NOT_LEADER_OR_FOLLOWER answers
/// name (KIP-951), once each, by id, on the client's `listener`: a leader
/// without an endpoint there is left out (Kafka's `getAliveBrokerNode`
/// finds none).
fn leader_endpoints(
    members: &Membership,
    listener: &str,
    responses: &[TopicProduceResponse],
) -> Vec<NodeEndpoint> {
    let mut ids: Vec<i32> = responses
        .iter()
        .flat_map(|t| &t.partition_responses)
        .filter(|p| p.error_code == ErrorCode::NOT_LEADER_OR_FOLLOWER.code())
        .map(|p| p.current_leader.leader_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| members.broker(id))
        .filter_map(|b| {
            let (host, port) = members.endpoint_of(b, listener)?;
            Some(NodeEndpoint {
                node_id: b.id,
                host,
                port,
                rack: b.rack.clone(),
                ..Default::default()
            })
        })
        .collect()
}

/// An acks=all Produce whose records are appended, waiting for the high
/// watermark of its partitions to pass them (Kafka's `DelayedProduce`).
#[derive(Debug)]
pub(crate) struct ParkedProduce {
    /// How to answer it.
    pub answering: Answering,
    /// When the partitions still waiting are answered REQUEST_TIMED_OUT.
    pub deadline: Now,
    /// The answer, as the appends made it.
    response: ProduceResponse,
    /// The partitions still waiting.
    waits: Vec<Wait>,
}

/// One partition of a parked produce: the high watermark must reach
/// `required` (one past its last offset).
#[derive(Debug)]
struct Wait {
    /// Where its answer is in the response.
    topic: usize,
    partition: usize,
    tp: TopicPartition,
    required: i64,
}

impl ParkedProduce {
    /// The partitions it waits on.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.waits.iter().map(|w| w.tp.clone()).collect()
    }
}

/// Checks a parked (or just appended) acks=all produce again: answers it
/// when every partition is done, `expired` answering those still waiting
/// REQUEST_TIMED_OUT; parks it otherwise. Kafka's
/// `Partition.checkEnoughReplicasReachOffset`: a partition no longer led
/// here is NOT_LEADER_OR_FOLLOWER; one whose high watermark passed its
/// records is done, NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank
/// below `min.insync.replicas` meanwhile. The answer keeps the offsets
/// the append gave.
pub(crate) fn resume<S: Storage>(
    cluster: &Cluster,
    storage: &S,
    mut parked: ParkedProduce,
    expired: bool,
) -> Reply {
    let mut waiting = Vec::new();
    for w in std::mem::take(&mut parked.waits) {
        let code = match reached(cluster, storage, &w) {
            Some(code) => code,
            None if expired => ErrorCode::REQUEST_TIMED_OUT,
            None => {
                waiting.push(w);
                continue;
            }
        };
        let answer = parked
            .response
            .responses
            .get_mut(w.topic)
            .and_then(|t| t.partition_responses.get_mut(w.partition));
        if let Some(answer) = answer {
            answer.error_code = code.code();
        }
    }
    if waiting.is_empty() {
        return Reply::Response(ResponseBody::Produce(parked.response));
    }
    parked.waits = waiting;
    Reply::Park(Parked::Produce(Box::new(parked)))
}

/// How one waiting partition ended, or `None` while it waits.
fn reached<S: Storage>(cluster: &Cluster, storage: &S, w: &Wait) -> Option<ErrorCode> {
    cluster.acks_all(storage, &w.tp, w.required)
}

fn error(index: i32, code: ErrorCode, msg: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse {
        index,
        error_code: code.code(),
        base_offset: -1,
        log_append_time_ms: -1,
        log_start_offset: -1,
        error_message: msg.map(Into::into),
        ..Default::default()
    }
}

/// The answer to a record set the validator refused. Where single
/// records were to blame (KIP-467), the answer names each in
/// `record_errors` (v8+; older versions drop them) with the log start
/// offset, and the message sums them up, so that a producer fails those
/// records alone and can send the rest again, as Kafka's
/// `RecordValidationException` is answered.
fn refused(
    index: i32,
    e: &AppendError,
    version: i16,
    log_start_offset: i64,
) -> PartitionProduceResponse {
    let r = error(index, ErrorCode(e.error_code()), Some(e.to_string()));
    if e.record_errors().is_empty() || version < 8 {
        return r;
    }
    let record_errors = e
        .record_errors()
        .iter()
        .map(|x| BatchIndexAndErrorMessage {
            batch_index: i32::try_from(x.index).unwrap_or(i32::MAX),
            batch_index_error_message: Some(x.message.as_str().into()),
            ..Default::default()
        })
        .collect();
    PartitionProduceResponse {
        log_start_offset,
        record_errors,
        ..r
    }
}

/// The answer to a retried batch already in the log: no error, its
/// original offsets, and (as Kafka answers a duplicate, whatever the
/// topic's timestamp type) its stored max timestamp as the append time.
fn duplicate(index: i32, d: &BatchMetadata, log_start_offset: i64) -> PartitionProduceResponse {
    PartitionProduceResponse {
        index,
        error_code: 0,
        base_offset: d.first_offset,
        log_append_time_ms: d.timestamp,
        log_start_offset,
        ..Default::default()
    }
}

/// Checks a transactional batch of `pid` at `epoch` for `topic`
/// `partition` against the coordinator (see the module docs).
fn transactional<S: Storage>(
    ctx: &Ctx,
    txp: &mut TxnParts<'_, S>,
    txn_id: Option<&str>,
    (pid, epoch): (i64, i16),
    topic: &str,
    partition: i32,
) -> Result<(), ErrorCode> {
    let Some(id) = txn_id.filter(|id| !id.is_empty()) else {
        return Err(ErrorCode::INVALID_REQUEST);
    };
    let part = (topic.into(), partition);
    let r = if ctx.version >= 12 {
        let mut woken = Vec::new();
        txp.txns
            .add_partitions(id, pid, epoch, &[part], 2, ctx.now)
            .and_then(|plan| carry_out(txp, plan, ctx.now, &mut woken))
    } else if txp.txns.coordinates(id).is_err() {
        // Coordinated elsewhere (ZooKeeper mode): not verified, as Kafka 2.x.
        Ok(())
    } else {
        txp.txns.verify(id, pid, epoch, &part)
    };
    // Kafka's translation (`AddPartitionsToTxnManager`, `ReplicaManager`).
    r.map_err(|code| match code {
        ErrorCode::TRANSACTION_ABORTABLE if ctx.version < 11 => ErrorCode::INVALID_TXN_STATE,
        ErrorCode::PRODUCER_FENCED => ErrorCode::INVALID_PRODUCER_EPOCH,
        ErrorCode::CONCURRENT_TRANSACTIONS
        | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
        | ErrorCode::COORDINATOR_NOT_AVAILABLE
        | ErrorCode::NOT_COORDINATOR => ErrorCode::NOT_ENOUGH_REPLICAS,
        other => other,
    })
}

/// Validates and appends one partition's record set.
fn append<S: Storage>(
    ctx: &Ctx,
    (txp, faults): (&mut TxnParts<'_, S>, &mut AppendFaults),
    txn_id: Option<&str>,
    acks: i16,
    topic: &str,
    p: &PartitionProduceData,
) -> PartitionProduceResponse {
    let (cluster, version, now) = (txp.cluster, ctx.version, ctx.now);
    let Some(t) = cluster.topics.get(topic) else {
        return error(p.index, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None);
    };
    if p.index < 0 || p.index as usize >= t.partitions.len() {
        return error(p.index, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None);
    }
    let leader_epoch = match cluster.lead_in(t, p.index) {
        Lead::Here(epoch) => epoch,
        Lead::Elsewhere {
            leader,
            leader_epoch,
        } => {
            return PartitionProduceResponse {
                current_leader: if version >= 10 {
                    LeaderIdAndEpoch {
                        leader_id: leader,
                        leader_epoch,
                        ..Default::default()
                    }
                } else {
                    LeaderIdAndEpoch::default()
                },
                ..error(p.index, ErrorCode::NOT_LEADER_OR_FOLLOWER, None)
            };
        }
        Lead::Unknown => return error(p.index, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None),
    };
    let producer_key = (t.id, p.index);
    let tp = TopicPartition::new(topic, p.index);
    // acks=all needs `min.insync.replicas` in sync before anything is
    // appended (Kafka's `appendRecordsToLeader`).
    if acks == -1 && cluster.below_min_isr(&tp, t.config.min_insync_replicas) {
        return error(p.index, ErrorCode::NOT_ENOUGH_REPLICAS, None);
    }
    let config = &t.config;
    let log_append = config.timestamp_type == TimestampType::LogAppendTime;
    let set = p
        .records
        .as_ref()
        .map(Records::to_bytes)
        .unwrap_or_default();
    let actx = AppendContext {
        next_offset: txp.storage.end_offset(&tp),
        leader_epoch,
        now_ms: now,
        timestamp_type: config.timestamp_type,
        max_message_bytes: config.max_message_bytes,
        produce_version: version,
        compression: config.compression,
        timestamp_before_max_ms: config.timestamp_before_max_ms,
        timestamp_after_max_ms: config.timestamp_after_max_ms,
        compacted: config.cleanup_policy.compact,
        ..AppendContext::default()
    };
    let out = match validate_and_assign(&set, &actx) {
        Ok(out) => out,
        Err(e) => return refused(p.index, &e, version, txp.storage.start_offset(&tp)),
    };
    // Idempotence is checked after validation and before the append, as
    // Kafka does; the producer state is read once. A retry of a batch
    // already appended is answered at once, whatever became of its
    // transaction since; a refusal waits for the transaction check.
    let update = match txp.producers.check(producer_key, &out.batches) {
        Verdict::Append(update) => Ok(update),
        Verdict::Duplicate(d) => return duplicate(p.index, &d, txp.storage.start_offset(&tp)),
        Verdict::Reject(code) => Err(code),
    };
    if let Some(b) = out.batches.iter().find(|b| b.is_transactional) {
        let producer = (b.producer_id, b.producer_epoch);
        if let Err(code) = transactional(ctx, txp, txn_id, producer, topic, p.index) {
            return error(p.index, code, None);
        }
    }
    let update = match update {
        Ok(update) => update,
        Err(code) => return error(p.index, code, None),
    };
    let (storage, producers) = (&mut *txp.storage, &mut *txp.producers);
    for batch in &out.batches {
        let meta = BatchMeta {
            base_offset: batch.base_offset,
            last_offset: batch.last_offset,
            max_timestamp: batch.max_timestamp,
        };
        // A failure a test asked for is one the storage never saw.
        if faults.take(topic) || storage.append(&tp, batch.bytes.clone(), meta).is_err() {
            return error(p.index, ErrorCode::KAFKA_STORAGE_ERROR, None);
        }
    }
    producers.commit(producer_key, update);
    PartitionProduceResponse {
        index: p.index,
        error_code: 0,
        base_offset: out.base_offset,
        log_append_time_ms: if log_append { now } else { -1 },
        log_start_offset: storage.start_offset(&tp),
        ..Default::default()
    }
}
