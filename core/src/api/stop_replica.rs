//! StopReplica (key 5): the controller tells this broker to stop a
//! replica, and to delete its log when asked (Kafka 2.x, ZooKeeper mode;
//! an inter-broker API clients never send).
//!
//! # Wire
//!
//! Request: controller id, whether the controller is a KRaft one (v4, ZK
//! migration), controller epoch, broker epoch (v1+), then the partitions:
//! v0 a flat list (topic, partition) and one delete flag; v1-2 topics with
//! partition indexes and one delete flag; v3+ topics with, per partition,
//! its leader epoch and its own delete flag. Response: error code, and an
//! error per partition (topic name, partition).
//!
//! # Versions
//!
//! 0-4, flexible from 2. Served only in ZooKeeper mode, like
//! LeaderAndIsr ([`super::leader_and_isr`]).
//!
//! # Behaviour
//!
//! As Kafka's `KafkaApis.handleStopReplicaRequest` and
//! `ReplicaManager.stopReplicas`: a request meant for an older
//! incarnation of this broker is STALE_BROKER_EPOCH for the request and
//! every partition; one from an older controller is
//! STALE_CONTROLLER_EPOCH with no partition errors. Both change nothing.
//! Otherwise its controller epoch becomes the newest seen, and each
//! partition is checked
//! ([`Leadership::check_stop`](crate::state::leadership::Leadership::check_stop)):
//! a leader epoch older than the hosted one is FENCED_LEADER_EPOCH; -2
//! (the topic is being deleted), -1 (no epoch, before v3) and a partition
//! not hosted pass. A partition to delete stops being hosted and its log
//! is deleted through the storage trait (KAFKA_STORAGE_ERROR when that
//! fails); a learned topic with nothing left is dropped from the image.
//! A partition stopped without deletion stays hosted in its role, as in
//! Kafka, where stopping only ends its fetcher: a follower stops fetching
//! from its leader until the next LeaderAndIsr (the broker brings its
//! replica fetcher in line after this request, deleted or not).
//!
//! # Not here yet
//!
//! Answering fetches parked on a stopped partition before they expire.

use crate::protocol::messages::stop_replica_request::StopReplicaRequest;
use crate::protocol::messages::stop_replica_response::{
    StopReplicaPartitionError, StopReplicaResponse,
};
use crate::protocol::ErrorCode;
use crate::state::brokers::{Membership, UNKNOWN_BROKER_EPOCH};
use crate::state::cluster::Cluster;
use crate::storage::{Storage, TopicPartition};

use super::Ctx;

/// A partition to stop: its leader epoch (-1 before v3) and whether to
/// delete its log.
struct Stop {
    tp: TopicPartition,
    leader_epoch: i32,
    delete: bool,
}

/// Runs a StopReplica request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    members: &mut Membership,
    cluster: &mut Cluster,
    storage: &mut S,
    req: StopReplicaRequest,
) -> StopReplicaResponse {
    let v = ctx.version;
    let broker_epoch = if v >= 1 {
        req.broker_epoch
    } else {
        UNKNOWN_BROKER_EPOCH
    };
    let stops = partitions(v, &req);
    let mut resp = StopReplicaResponse::default();
    match members.accept(req.controller_epoch, broker_epoch) {
        Err(ErrorCode::STALE_CONTROLLER_EPOCH) => {
            resp.error_code = ErrorCode::STALE_CONTROLLER_EPOCH.code();
        }
        Err(code) => {
            resp.error_code = code.code();
            for s in &stops {
                resp.partition_errors.push(error(&s.tp, code));
            }
        }
        Ok(()) => {
            for s in &stops {
                let code = stop(cluster, storage, s);
                resp.partition_errors.push(error(&s.tp, code));
            }
        }
    }
    resp
}

/// The request's partitions, whatever its version.
fn partitions(v: i16, req: &StopReplicaRequest) -> Vec<Stop> {
    let flat = |topic: &str, p: i32| Stop {
        tp: TopicPartition::new(topic, p),
        leader_epoch: -1,
        delete: req.delete_partitions,
    };
    match v {
        0 => req
            .ungrouped_partitions
            .iter()
            .map(|p| flat(&p.topic_name, p.partition_index))
            .collect(),
        1 | 2 => req
            .topics
            .iter()
            .flat_map(|t| t.partition_indexes.iter().map(move |p| (t, p)))
            .map(|(t, p)| flat(&t.name, p))
            .collect(),
        _ => req
            .topic_states
            .iter()
            .flat_map(|t| t.partition_states.iter().map(move |p| (t, p)))
            .map(|(t, p)| Stop {
                tp: TopicPartition::new(&*t.topic_name, p.partition_index),
                leader_epoch: p.leader_epoch,
                delete: p.delete_partition,
            })
            .collect(),
    }
}

/// Stops one partition; its error code.
fn stop<S: Storage>(cluster: &mut Cluster, storage: &mut S, s: &Stop) -> ErrorCode {
    if let Err(code) = cluster.leadership.check_stop(&s.tp, s.leader_epoch) {
        return code;
    }
    if !s.delete {
        cluster.leadership.stop(&s.tp);
        return ErrorCode::NONE;
    }
    cluster.leadership.unhost(&s.tp);
    cluster.forget_if_unused(&s.tp.topic);
    if storage.logs().contains(&s.tp) && storage.delete_log(&s.tp).is_err() {
        return ErrorCode::KAFKA_STORAGE_ERROR;
    }
    ErrorCode::NONE
}

fn error(tp: &TopicPartition, code: ErrorCode) -> StopReplicaPartitionError {
    StopReplicaPartitionError {
        topic_name: tp.topic.as_str().into(),
        partition_index: tp.partition,
        error_code: code.code(),
        ..Default::default()
    }
}
