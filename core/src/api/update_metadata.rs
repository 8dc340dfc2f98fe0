//! UpdateMetadata (key 6): the controller tells a broker which brokers are
//! alive, who the controller is, and the state of every partition (Kafka
//! 2.x, ZooKeeper mode; an inter-broker API clients never send).
//!
//! # Wire
//!
//! Request: controller id, whether the controller is a KRaft one (v8, ZK
//! migration), controller epoch, broker epoch (v5+), partition states
//! (v0-4 a flat list naming their topic; v5+ grouped by topic, with the
//! topic id from v7), live brokers: id, then one host and port (v0) or
//! endpoints (v1+: port, host, listener name (v3+), security protocol),
//! rack (v2+). v8 adds a tagged update type (incremental or full, for ZK
//! migration). Response: error code.
//!
//! # Versions
//!
//! 0-8, flexible from 6: the versions Kafka 3.x brokers served. Served
//! only in ZooKeeper mode ([`Config::zk_mode`]); a single broker does not
//! list the API in ApiVersions and closes the connection of a request for
//! it, as for every API it does not serve.
//!
//! # Behaviour
//!
//! As Kafka's broker: STALE_BROKER_EPOCH when the request (v5+) is
//! addressed to an older incarnation of this broker, STALE_CONTROLLER_EPOCH
//! when it comes from a controller older than the newest seen (both in
//! [`Membership::admit`]); a stale request changes nothing. Otherwise the
//! live brokers and the controller id replace what the broker knew.
//!
//! Each live broker is kept with its endpoint for this broker's
//! inter-broker listener ([`Config::listener_name`]), where replicas reach
//! it, and with its endpoints on every listener, which clients are told
//! by the listener they came in on; a broker without an inter-broker
//! endpoint is left out.
//! Before v3 an endpoint names no listener and is taken to be the one
//! named after its security protocol (`PLAINTEXT`, `SSL`, ...), and v0's
//! host and port are a `PLAINTEXT` endpoint, as Kafka reads them. A rack
//! is known from v2 (Kafka takes the empty string before; Spate reports no
//! rack).
//!
//! The partition states go to the controller's view of partitions
//! ([`crate::state::leadership`]), as Kafka's `ZkMetadataCache` takes
//! them: an update may name only some partitions, and the others keep
//! what they had; a partition whose leader is -2 (its topic is being
//! deleted) is removed; each topic named is learned by the metadata
//! image (in memory), with its id from v7. A learned topic with no partition left is dropped. Metadata
//! and DescribeTopicPartitions answer from these states.
//!
//! Not applied: v8's KRaft-controller flag and update type, which only a
//! cluster migrating from ZooKeeper to KRaft sends.

use crate::protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataRequest,
};
use crate::protocol::messages::update_metadata_response::UpdateMetadataResponse;
use crate::protocol::Uuid;
use crate::state::brokers::{LiveBroker, Membership, Update, UNKNOWN_BROKER_EPOCH};
use crate::state::cluster::Cluster;
use crate::state::leadership::PartitionState;
use crate::state::Config;

use super::Ctx;

/// Runs an UpdateMetadata request.
pub(crate) fn handle(
    ctx: &Ctx,
    config: &Config,
    members: &mut Membership,
    cluster: &mut Cluster,
    req: UpdateMetadataRequest,
) -> UpdateMetadataResponse {
    let v = ctx.version;
    let listener = config.listener_name.as_str();
    let update = Update {
        controller_id: req.controller_id,
        controller_epoch: req.controller_epoch,
        broker_epoch: if v >= 5 {
            req.broker_epoch
        } else {
            UNKNOWN_BROKER_EPOCH
        },
        brokers: req
            .live_brokers
            .iter()
            .filter_map(|b| live_broker(b, v, listener))
            .collect(),
    };
    let error_code = match members.update(update) {
        Ok(()) => {
            apply_partitions(cluster, v, &req);
            0
        }
        Err(code) => code.code(),
    };
    UpdateMetadataResponse {
        error_code,
        ..Default::default()
    }
}

/// Applies the request's topic ids and partition states.
fn apply_partitions(cluster: &mut Cluster, version: i16, req: &UpdateMetadataRequest) {
    let mut named: Vec<(&str, Uuid, &UpdateMetadataPartitionState)> = Vec::new();
    if version < 5 {
        for p in &req.ungrouped_partition_states {
            named.push((&p.topic_name, Uuid::ZERO, p));
        }
    } else {
        for t in &req.topic_states {
            let id = if version >= 7 { t.topic_id } else { Uuid::ZERO };
            for p in &t.partition_states {
                named.push((&t.topic_name, id, p));
            }
        }
    }
    for (topic, id, p) in named {
        let state = PartitionState {
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            partition_epoch: p.zk_version,
            controller_epoch: p.controller_epoch,
            replicas: p.replicas.to_vec(),
            isr: p.isr.to_vec(),
            offline: if version >= 4 {
                p.offline_replicas.to_vec()
            } else {
                Vec::new()
            },
        };
        let epoch = state.leader_epoch;
        if cluster
            .leadership
            .set_state(topic, p.partition_index, state)
        {
            cluster.forget_if_unused(topic);
        } else {
            cluster.learn(topic, id, p.partition_index, epoch);
        }
    }
}

/// A live broker as clients of `listener` reach it, if it has an endpoint
/// there.
fn live_broker(b: &UpdateMetadataBroker, version: i16, listener: &str) -> Option<LiveBroker> {
    let endpoints: Vec<_> = if version == 0 {
        vec![(PLAINTEXT.into(), b.v0_host.clone(), b.v0_port)]
    } else {
        (b.endpoints.iter())
            .filter_map(|ep| Some((listener_of(ep, version)?.into(), ep.host.clone(), ep.port)))
            .collect()
    };
    let (_, host, port) = endpoints.iter().find(|(l, _, _)| l == listener)?.clone();
    Some(LiveBroker {
        id: b.id,
        host,
        port,
        rack: if version >= 2 { b.rack.clone() } else { None },
        endpoints,
    })
}

/// The listener `PLAINTEXT` endpoints belong to when none is named.
const PLAINTEXT: &str = "PLAINTEXT";

/// The listener an endpoint belongs to: its name from v3, before that the
/// name of its security protocol (`None`: a protocol Kafka does not know).
fn listener_of(ep: &UpdateMetadataEndpoint, version: i16) -> Option<&str> {
    if version >= 3 {
        return Some(&ep.listener);
    }
    match ep.security_protocol {
        0 => Some(PLAINTEXT),
        1 => Some("SSL"),
        2 => Some("SASL_PLAINTEXT"),
        3 => Some("SASL_SSL"),
        _ => None,
    }
}
