//! LeaderAndIsr (key 4): the controller makes this broker leader or
//! follower of partitions (Kafka 2.x, ZooKeeper mode; an inter-broker API
//! clients never send).
//!
//! # Wire
//!
//! Request: controller id, whether the controller is a KRaft one (v7, ZK
//! migration), controller epoch, broker epoch (v2+), request type (v5+,
//! migration), partition states (v0-1 a flat list naming their topic;
//! v2+ grouped by topic, with the topic id from v5): controller epoch,
//! leader, leader epoch, ISR, partition epoch (the ZooKeeper version of
//! the partition's state), replicas, adding and removing replicas (v3+),
//! whether the partition is new (v1+), leader recovery state (v6+); and
//! the live leaders. Response: error code, then per partition an error:
//! by topic name (v0-4) or grouped under topic ids (v5+).
//!
//! # Versions
//!
//! 0-7, flexible from 4. Served only in ZooKeeper mode
//! ([`crate::state::Config::zk_mode`]); a single broker closes the
//! connection of a request for it, as for every API it does not serve.
//!
//! # Behaviour
//!
//! As Kafka's `ReplicaManager.becomeLeaderOrFollower`: a request meant for
//! an older incarnation of this broker is STALE_BROKER_EPOCH and one from
//! an older controller STALE_CONTROLLER_EPOCH, for the request and every
//! partition, and changes nothing. Otherwise its controller epoch becomes
//! the newest seen, and each partition is checked
//! ([`Leadership::check_become`](crate::state::leadership::Leadership::check_become)):
//! INCONSISTENT_TOPIC_ID, STALE_CONTROLLER_EPOCH for a leader epoch not
//! newer than the hosted one, UNKNOWN_TOPIC_OR_PARTITION when this broker
//! is not among its replicas. A partition that passes gets its log
//! through the storage trait when it has none (KAFKA_STORAGE_ERROR when
//! that fails, and nothing changes), is hosted as leader or follower with
//! the request's state, and its topic is learned by the metadata image.
//! From then on produces and fetches check their `current_leader_epoch`
//! against the hosted epoch, and a follower answers them
//! NOT_LEADER_OR_FOLLOWER naming its leader. A new leader starts its
//! followers' positions afresh and keeps the high watermark it had when
//! it led before ([`crate::state::replication`]); every partition that
//! changed wakes the requests parked on it (acks=all produces and
//! fetches try again).
//!
//! A follower's partitions are then copied from their leaders by the
//! broker's replica fetcher (`coordinator::fetcher`), which the broker
//! brings in line after this request.
//!
//! # Not here yet
//!
//! A new leader does not truncate (Kafka's does not either) and its epoch
//! counts as begun at its log end only when asked
//! ([`crate::state::epochs`]); adding and removing replicas, `is_new`
//! and the leader recovery state are not used. The live leaders' endpoints
//! are kept for the fetcher, which uses them when UpdateMetadata has not
//! named a leader yet.

use crate::protocol::messages::leader_and_isr_request::{
    LeaderAndIsrPartitionState, LeaderAndIsrRequest,
};
use crate::protocol::messages::leader_and_isr_response::{
    LeaderAndIsrPartitionError, LeaderAndIsrResponse, LeaderAndIsrTopicError,
};
use crate::protocol::{ErrorCode, Uuid};
use crate::state::brokers::{Membership, UNKNOWN_BROKER_EPOCH};
use crate::state::cluster::{valid_topic_name, Cluster};
use crate::state::leadership::PartitionState;
use crate::state::Now;
use crate::storage::{Storage, TopicPartition};

use super::Ctx;

/// Runs a LeaderAndIsr request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    members: &mut Membership,
    cluster: &mut Cluster,
    storage: &mut S,
    req: LeaderAndIsrRequest,
    changed: &mut Vec<TopicPartition>,
) -> LeaderAndIsrResponse {
    let v = ctx.version;
    let broker_epoch = if v >= 2 {
        req.broker_epoch
    } else {
        UNKNOWN_BROKER_EPOCH
    };
    // Every partition with its topic name and id (zero before v5).
    let topics: Vec<(&str, Uuid, &[LeaderAndIsrPartitionState])> = if v < 2 {
        req.ungrouped_partition_states
            .iter()
            .map(|p| (&*p.topic_name, Uuid::ZERO, std::slice::from_ref(p)))
            .collect()
    } else {
        req.topic_states
            .iter()
            .map(|t| {
                let id = if v >= 5 { t.topic_id } else { Uuid::ZERO };
                (&*t.topic_name, id, t.partition_states.as_slice())
            })
            .collect()
    };
    let admitted = members.accept(req.controller_epoch, broker_epoch);
    if admitted.is_ok() {
        // Where the leaders listen, for the follower's fetcher.
        for l in &req.live_leaders {
            let host = l.host_name.to_string();
            cluster
                .leadership
                .set_leader_endpoint(l.broker_id, host, l.port);
        }
    }
    let mut errors: Vec<(&str, Uuid, i32, ErrorCode)> = Vec::new();
    for &(topic, id, parts) in &topics {
        for p in parts {
            let code = match admitted {
                Err(code) => code,
                Ok(()) => become_one(cluster, storage, ctx.now, topic, id, p),
            };
            if code == ErrorCode::NONE {
                changed.push(TopicPartition::new(topic, p.partition_index));
            }
            errors.push((topic, id, p.partition_index, code));
        }
    }
    respond(v, admitted.err().unwrap_or(ErrorCode::NONE), errors)
}

/// Checks and applies one partition's state; its error code.
fn become_one<S: Storage>(
    cluster: &mut Cluster,
    storage: &mut S,
    now: Now,
    topic: &str,
    id: Uuid,
    p: &LeaderAndIsrPartitionState,
) -> ErrorCode {
    let tp = TopicPartition::new(topic, p.partition_index);
    let state = PartitionState {
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
        controller_epoch: p.controller_epoch,
        replicas: p.replicas.to_vec(),
        isr: p.isr.to_vec(),
        offline: Vec::new(),
    };
    if p.partition_index < 0 || !valid_topic_name(topic) {
        return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    }
    let to = match cluster.leadership.check_become(&tp, id, &state) {
        Ok(to) => to,
        Err(code) => return code,
    };
    // The log's topic id: the request's, else the one the image knows.
    let log_id = if id != Uuid::ZERO {
        id
    } else {
        cluster.topics.get(topic).map_or(Uuid::ZERO, |t| t.id)
    };
    if storage.create_log(&tp, log_id).is_err() {
        return ErrorCode::KAFKA_STORAGE_ERROR;
    }
    let epoch = state.leader_epoch;
    let logs = (storage.start_offset(&tp), storage.end_offset(&tp), now);
    cluster.leadership.host(tp, id, to, state, logs);
    cluster.learn(topic, id, p.partition_index, epoch);
    ErrorCode::NONE
}

/// The response: per partition errors by name (v0-4) or under topic ids
/// (v5+).
fn respond(
    v: i16,
    error: ErrorCode,
    errors: Vec<(&str, Uuid, i32, ErrorCode)>,
) -> LeaderAndIsrResponse {
    let mut resp = LeaderAndIsrResponse {
        error_code: error.code(),
        ..Default::default()
    };
    for (topic, id, partition_index, code) in errors {
        let e = LeaderAndIsrPartitionError {
            topic_name: if v < 5 { topic.into() } else { "".into() },
            partition_index,
            error_code: code.code(),
            ..Default::default()
        };
        if v < 5 {
            resp.partition_errors.push(e);
            continue;
        }
        match resp.topics.last_mut() {
            Some(t) if t.topic_id == id => t.partition_errors.push(e),
            _ => resp.topics.push(LeaderAndIsrTopicError {
                topic_id: id,
                partition_errors: vec![e],
                ..Default::default()
            }),
        }
    }
    resp
}
