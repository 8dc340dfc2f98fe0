//! Fetch (key 1): read record batches from partitions, waiting up to
//! `max_wait_ms` for at least `min_bytes`, within an incremental fetch
//! session or without one.
//!
//! # Wire
//!
//! Request: replica id (v0-14; v15+ in the tagged replica state; -1 for
//! consumers), max wait, min bytes, max bytes (v3+), isolation level (v4+),
//! fetch session id and epoch (v7+), topics by name (v0-12) or id (v13+)
//! with partitions (current leader epoch (v9+), fetch offset, log start
//! offset (v5+), partition max bytes), forgotten topics (v7+), rack id
//! (v11+, ignored). Response: top-level error and session id (v7+), then
//! per partition: error, high watermark, last stable offset (v4+), log
//! start offset (v5+), aborted transactions (v4+), preferred read replica
//! (v11+, always -1: there is no other replica), records; the current
//! leader (tagged) and the leader's endpoint for NOT_LEADER_OR_FOLLOWER and
//! FENCED_LEADER_EPOCH at v16+. Topics are named as the request named them:
//! by id at v13+ (the name is not on the wire), by name before.
//!
//! # Versions
//!
//! 0-18. Records are whole stored batches, starting with the batch that
//! holds the fetch offset. `max_bytes` and each partition's max bytes are
//! honoured, except that the first batch found is always returned whole so
//! that a consumer can make progress (KIP-74; Kafka gives v0-2 a hard limit
//! and a truncated batch instead, which an old client cannot use either).
//! When fewer than `min_bytes` are available the request parks until a
//! produce brings data to one of its partitions or `max_wait_ms` passes
//! ([`ParkedFetch`], which keeps the request's plan: its session is looked
//! up once). From v4, read_committed
//! (isolation level 1) reads only up to the last stable offset, and gets an
//! aborted-transactions list (null under read_uncommitted), see
//! [`crate::state::isolation`]. v0-3 clients only read the legacy message format: their
//! records are down-converted (v0-1 to magic 0, v2-3 to magic 1) and, unlike
//! every later version, copied into a new buffer on the way. v0-9 clients
//! cannot decompress zstd: a topic whose `compression.type` is zstd answers
//! them UNSUPPORTED_COMPRESSION_TYPE, as Kafka does. From v7, fetch
//! sessions (KIP-227, [`crate::state::fetch_sessions`]) let a request name only
//! what changed and the response carry only partitions with news.
//!
//! Record data goes out as the chunks storage handed over, never copied
//! into the response (down-conversion aside).
//!
//! # Followers
//!
//! A follower (replica id >= 0, in the tagged replica state from v15) of
//! a partition led here in ZooKeeper mode reads up to the log end, and
//! its fetch offset is recorded as its log end offset
//! ([`record_positions`], [`crate::state::replication`]) once per request,
//! before it parks: that may move the high watermark, which wakes the
//! consumers' fetches and the acks=all produces parked on the partition.
//! Consumers read up to the high watermark, and every answer reports it.
//! Not yet: diverging-epoch answers (v12+, `last_fetched_epoch` is
//! ignored: there is no leader epoch history), and the follower's
//! `log_start_offset`.
//!
//! A partition is answered as Kafka's `KafkaApis.handleFetchRequest` and
//! `ReplicaManager.readFromLog` answer it: an unknown topic id is
//! UNKNOWN_TOPIC_ID, an unknown topic or partition
//! UNKNOWN_TOPIC_OR_PARTITION (both answered after the partitions that
//! were read); a session partition whose topic was re-created under its
//! name is INCONSISTENT_TOPIC_ID; a stale or future current leader epoch
//! is FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH; a replica id >= 0 that
//! is not another replica in the assignment of a partition led here
//! (every replica id, on a single broker) is NOT_LEADER_OR_FOLLOWER, or
//! UNKNOWN_LEADER_EPOCH when it sent a leader epoch; an offset outside the
//! log is OFFSET_OUT_OF_RANGE. Read errors carry high watermark, last stable
//! offset and log start offset -1. A storage failure is
//! KAFKA_STORAGE_ERROR (NOT_LEADER_OR_FOLLOWER up to v5, whose clients do
//! not retry the former). With an authorizer, a consumer's partitions of
//! a topic it may not READ, and every partition a follower asks for
//! without CLUSTER_ACTION on the cluster, are TOPIC_AUTHORIZATION_FAILED
//! (decided when the request arrives).

mod read;
mod session;

use crate::protocol::messages::fetch_request::FetchRequest;
use crate::protocol::messages::fetch_response::{
    FetchResponse, FetchableTopicResponse, NodeEndpoint, PartitionData,
};
use crate::protocol::{ErrorCode, ResponseBody, Uuid};
use crate::security::acl::{Authorizer, Operation};
use crate::state::brokers::Membership;
use crate::state::cluster::Cluster;
use crate::state::fetch_sessions::FetchSessions;
use crate::state::ids::Ids;
use crate::state::metrics::Metrics;
use crate::state::producers::Producers;
use crate::state::{Config, Now};
use crate::storage::{Storage, TopicPartition};

use super::authz::Checks;
use super::{Answering, Ctx, Parked, Parts, Reply};
use crate::collections::Set;

/// A Fetch waiting for data: what it reads and how, decided when it
/// arrived, so that trying it again only reads.
#[derive(Debug)]
pub(crate) struct ParkedFetch {
    /// How to answer it.
    pub answering: Answering,
    /// When it is answered with whatever there is.
    pub deadline: Now,
    plan: session::Plan,
    params: read::Params,
    max_bytes: usize,
    min_bytes: usize,
    max_wait_ms: i32,
    /// Topics the principal may not read (all, for a follower without
    /// CLUSTER_ACTION): answered TOPIC_AUTHORIZATION_FAILED.
    denied: Set<String>,
    /// The listener it came in on, whose endpoints the leader hints name.
    listener: String,
}

impl ParkedFetch {
    /// The partitions it reads: records appended to any of them may
    /// answer it.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.plan
            .wants
            .iter()
            .filter_map(|w| Some(TopicPartition::new(w.topic.clone()?, w.partition)))
            .collect()
    }
}

/// Where a follower's fetch found it: it fetched `tp` from `fetch_offset`
/// (its log end) when the leader's log ended at `leader_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub tp: TopicPartition,
    pub replica: i32,
    pub fetch_offset: i64,
    pub leader_end: i64,
}

/// Records what a follower's fetch said of its position (Kafka's
/// `updateFollowerFetchState`), once per request, whether it was
/// answered or parked; returns the partitions whose high watermark moved.
pub(crate) fn record_positions(
    cluster: &mut Cluster,
    positions: Vec<Position>,
    now: Now,
) -> Vec<TopicPartition> {
    let mut moved = Vec::new();
    for pos in positions {
        if let Some(log) = cluster.leadership.leader_log_mut(&pos.tp) {
            if log.record_fetch(pos.replica, pos.fetch_offset, pos.leader_end, now) {
                moved.push(pos.tp);
            }
        }
    }
    moved
}

/// Runs a Fetch request: answers it, or parks it. A follower's positions
/// come back for [`record_positions`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    answering: Answering,
    config: &Config,
    members: &Membership,
    cluster: &Cluster,
    storage: &S,
    producers: &Producers,
    parts: (&mut FetchSessions, &mut Metrics),
    ids: &mut Ids,
    az: &Authorizer<'_>,
    req: FetchRequest,
) -> (Reply, Vec<Position>) {
    let v = ctx.version;
    let replica_id = if v >= 15 {
        req.replica_state.replica_id
    } else {
        req.replica_id
    };
    let plan = match session::plan(cluster, parts.0, v, &req) {
        Ok(plan) => plan,
        Err(code) => {
            let body = answer(code, 0, Vec::new(), Vec::new());
            return (Reply::Response(body), Vec::new());
        }
    };
    // Kafka's checks: a follower needs CLUSTER_ACTION on the cluster for
    // any partition, a consumer READ on each topic.
    let follower_allowed = replica_id < 0 || az.cluster(Operation::ClusterAction);
    let denied = plan
        .wants
        .iter()
        .filter_map(|w| w.topic.as_deref())
        .filter(|t| !follower_allowed || (replica_id < 0 && !az.topic(Operation::Read, t)))
        .map(str::to_string)
        .collect();
    let max_bytes = if v >= 3 { req.max_bytes } else { i32::MAX }
        .min(config.fetch_max_bytes)
        .max(0) as usize;
    let fetch = ParkedFetch {
        answering,
        deadline: ctx.now + i64::from(req.max_wait_ms),
        plan,
        params: read::Params {
            version: v,
            follower: replica_id >= 0,
            replica: replica_id,
            committed: v >= 4 && req.isolation_level == 1,
        },
        max_bytes,
        min_bytes: req.min_bytes.max(0) as usize,
        max_wait_ms: req.max_wait_ms,
        denied,
        listener: ctx.listener.to_string(),
    };
    attempt(
        (config, members),
        cluster,
        storage,
        producers,
        parts,
        ids,
        ctx.now,
        fetch,
        false,
    )
}

/// Tries a parked Fetch again: data arrived, or (`expired`) its deadline
/// passed.
pub(crate) fn resume<S: Storage>(
    p: Parts<'_, S>,
    now: Now,
    fetch: ParkedFetch,
    expired: bool,
) -> Reply {
    // Positions were recorded when the request first came.
    attempt(
        (p.config, p.members),
        p.cluster,
        &*p.storage,
        p.producers,
        (p.sessions, p.metrics),
        p.ids,
        now,
        fetch,
        expired,
    )
    .0
}

/// Reads what the fetch plans; answers, or parks it again when there is
/// too little and time is left. A follower's positions in the partitions
/// read without error come back with the reply.
#[allow(clippy::too_many_arguments)]
fn attempt<S: Storage>(
    (config, members): (&Config, &Membership),
    cluster: &Cluster,
    storage: &S,
    producers: &Producers,
    (sessions, metrics): (&mut FetchSessions, &mut Metrics),
    ids: &mut Ids,
    now: Now,
    fetch: ParkedFetch,
    expired: bool,
) -> (Reply, Vec<Position>) {
    let (v, plan, params) = (fetch.params.version, &fetch.plan, &fetch.params);
    let mut limits = read::Limits::new(fetch.max_bytes);
    let mut read = Vec::new();
    let mut erroneous = Vec::new();
    let mut read_error = false;
    let mut positions = Vec::new();
    for (i, want) in plan.wants.iter().enumerate() {
        let checked = match want.topic.as_deref() {
            Some(t) if fetch.denied.contains(t) => Err(ErrorCode::TOPIC_AUTHORIZATION_FAILED),
            _ => read::check(cluster, want),
        };
        match checked {
            Ok(topic) => {
                let data = read::partition(
                    config,
                    (cluster, storage, producers),
                    want,
                    topic,
                    params,
                    &mut limits,
                );
                read_error |= data.error_code != 0;
                if params.follower && data.error_code == 0 {
                    let tp = TopicPartition::new(topic, want.partition);
                    positions.push(Position {
                        replica: params.replica,
                        fetch_offset: want.fetch_offset,
                        leader_end: storage.end_offset(&tp),
                        tp,
                    });
                }
                read.push((i, data));
            }
            Err(code) => erroneous.push((i, read::unknown(want.partition, code))),
        }
    }
    // Kafka answers at once when it may not wait, has nothing to read, has
    // enough, or hit an error reading; otherwise the request waits.
    let enough = read.is_empty()
        || read_error
        || limits.bytes_read() >= fetch.min_bytes.min(fetch.max_bytes);
    if !enough && fetch.max_wait_ms > 0 && !expired && now < fetch.deadline {
        // Nothing has changed yet: the session moves on only when the
        // request is answered.
        return (Reply::Park(Parked::Fetch(Box::new(fetch))), positions);
    }
    read.extend(erroneous);
    let (code, session_id, results) =
        session::finish(sessions, ids, plan, params.follower, v, now, read);
    let mut leaders: Vec<i32> = Vec::new();
    let results: Vec<(usize, PartitionData)> = results
        .into_iter()
        .map(|(i, data)| {
            let data = read::for_version(cluster, &plan.wants[i], data, v);
            if data.current_leader != Default::default() {
                leaders.push(data.current_leader.leader_id);
            }
            (i, data)
        })
        .collect();
    leaders.sort_unstable();
    leaders.dedup();
    // The endpoints of the live leaders named (KIP-951), on the client's
    // listener: a leader without one there is left out, as Kafka's
    // `getAliveBrokerNode` finds none.
    let endpoints = leaders
        .into_iter()
        .filter_map(|id| members.broker(id))
        .filter_map(|b| {
            let (host, port) = members.endpoint_of(b, &fetch.listener)?;
            Some(NodeEndpoint {
                node_id: b.id,
                host,
                port,
                rack: b.rack.clone(),
                ..Default::default()
            })
        })
        .collect();
    let mut responses: Vec<FetchableTopicResponse> = Vec::new();
    for (i, data) in results {
        let want = &plan.wants[i];
        if let (false, Some(t), Some(r)) = (params.follower, &want.topic, &data.records) {
            metrics.fetched(t, r.len() as u64);
        }
        let (topic, topic_id) = if v >= 13 {
            (String::new(), want.topic_id)
        } else {
            (want.topic.clone().unwrap_or_default(), Uuid::ZERO)
        };
        // Consecutive partitions of one topic share an entry, so the
        // partition order is kept (as Kafka's FetchResponse.of does).
        match responses.last_mut() {
            Some(t) if t.topic == topic && t.topic_id == topic_id => t.partitions.push(data),
            _ => responses.push(FetchableTopicResponse {
                topic: topic.into(),
                topic_id,
                partitions: vec![data],
                ..Default::default()
            }),
        }
    }
    let body = answer(code, session_id, responses, endpoints);
    (Reply::Response(body), positions)
}

fn answer(
    code: ErrorCode,
    session_id: i32,
    responses: Vec<FetchableTopicResponse>,
    node_endpoints: Vec<NodeEndpoint>,
) -> ResponseBody {
    ResponseBody::Fetch(FetchResponse {
        throttle_time_ms: 0,
        error_code: code.code(),
        session_id,
        responses,
        node_endpoints,
        ..Default::default()
    })
}
