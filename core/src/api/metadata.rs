//! Metadata (key 3): brokers, the cluster id and controller, and topics with
//! their partitions, leaders and replicas.
//!
//! # Wire
//!
//! Request: the topics wanted (null, or empty before v1, means all;
//! by name, or by topic id from v10), whether to auto-create missing
//! topics (v4+), whether to include authorized operations (v8+).
//! Response: brokers, cluster id (v2+), controller id (v1+), topics with
//! error code, name, id (v10+), internal flag (v1+), partitions.
//!
//! # Versions
//!
//! 0-13. v0 treats an empty topic list as "all topics"; v1+ as "none".
//! Auto-creation happens when the broker allows it (`auto.create.topics.enable`)
//! and, from v4, the request allows it too. In ZooKeeper mode
//! ([`Config::zk_mode`]) a topic is auto-created as Kafka's ZooKeeper-era
//! broker does it, on any broker: `num.partitions` partitions of
//! `default.replication.factor` replicas assigned over the live brokers,
//! handed to the driver to write to ZooKeeper (`Output::CreateTopics`),
//! and the topic answered LEADER_NOT_AVAILABLE at once (no partitions)
//! for the client to ask again; also while its creation is under way, so
//! it is not asked for twice. A topic that cannot be created gets the
//! error that stopped it (INVALID_REPLICATION_FACTOR with too few live
//! brokers). `__consumer_offsets` is created as FindCoordinator creates
//! it (`offsets.topic.num.partitions` partitions of
//! `offsets.topic.replication.factor` replicas, Kafka's configs), with the
//! same answers; so is `__transaction_state`.
//!
//! # Authorization
//!
//! As Kafka's `handleTopicMetadataRequest`: an all-topics request leaves
//! out the topics the principal may not DESCRIBE; a named one answers
//! them TOPIC_AUTHORIZATION_FAILED (without the topic id when named, with
//! it and without the name when asked for by id); a missing topic
//! auto-creation would create needs CREATE on the cluster or the topic
//! (TOPIC_AUTHORIZATION_FAILED). Authorized operations are -2^31 when not
//! requested, else the principal's operations on each topic (every one
//! with no authorizer) and on the cluster (0 without DESCRIBE on it).
//!
//! # Brokers and controller
//!
//! The brokers and the controller id come from the cluster's membership
//! ([`Membership`]): this broker alone, itself the controller, until a
//! controller's UpdateMetadata says otherwise (ZooKeeper mode), then the
//! live brokers and the controller it named (-1 when it named none).
//!
//! # Partitions
//!
//! A single broker names itself leader, only replica and ISR of every
//! partition. In ZooKeeper mode a partition's leader, leader epoch,
//! replicas, ISR and offline replicas come from the controller's
//! UpdateMetadata, else from the LeaderAndIsr that made this broker host
//! it ([`crate::state::leadership`]); a leader that is not a live broker
//! is LEADER_NOT_AVAILABLE (leader -1), a live one without an endpoint on
//! the listener the client came in on LISTENER_NOT_FOUND from v6
//! (LEADER_NOT_AVAILABLE before; leader -1, and the broker is not among
//! the brokers listed), and v0 lists only replicas reachable on that
//! listener (REPLICA_NOT_AVAILABLE when one is left out), as Kafka's
//! ZooKeeper-mode metadata cache answers. Topics the controller named are listed with
//! the image's own.

use crate::protocol::messages::create_topics_request::CreatableTopic;
use crate::protocol::messages::metadata_request::MetadataRequest;
use crate::protocol::messages::metadata_response::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use crate::protocol::{ErrorCode, Uuid};
use crate::state::assignment::NewTopic;
use crate::state::brokers::Membership;
use crate::state::cluster::{is_internal, Cluster, Topic, METADATA_TOPIC, OFFSETS_TOPIC};
use crate::state::controller::Controller;
use crate::state::{Config, TRANSACTION_STATE_TOPIC};
use crate::storage::{Storage, TopicPartition};

use super::authz::Checks;
use super::create_topics::{zk, Creates};
use super::find_coordinator::{offsets_topic, transaction_topic};
use super::Ctx;
use crate::security::acl::{Authorizer, Operation, ResourceType, CLUSTER_NAME};

/// Authorized operations not requested.
const NOT_REQUESTED: i32 = i32::MIN;

/// Runs a Metadata request. In ZooKeeper mode the topics it auto-creates
/// come back with the request id [`Creates`] gave them, for the driver to
/// write.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    members: &Membership,
    mut ctl: Controller<'_, S>,
    creates: &mut Creates,
    az: &Authorizer<'_>,
    req: MetadataRequest,
) -> (MetadataResponse, Option<(u64, Vec<NewTopic>)>) {
    let mut auto: Vec<NewTopic> = Vec::new();
    let v = ctx.version;
    let wanted: Option<Vec<(Option<String>, Uuid)>> = match &req.topics {
        None => None,
        Some(t) if t.is_empty() && v == 0 => None,
        Some(t) => Some(
            t.iter()
                .map(|t| (t.name.as_ref().map(|n| n.to_string()), t.topic_id))
                .collect(),
        ),
    };
    let auto_create = config.auto_create_topics && (v < 4 || req.allow_auto_topic_creation);
    let topic_ops = |name: &str| {
        if req.include_topic_authorized_operations {
            az.authorized_operations(ResourceType::Topic, name)
        } else {
            NOT_REQUESTED
        }
    };
    let mut topics = Vec::new();
    match wanted {
        None => {
            // Topics the principal may not describe are left out.
            for t in ctl.cluster.topics.values() {
                if t.name != METADATA_TOPIC && az.topic(Operation::Describe, &t.name) {
                    let ops = topic_ops(&t.name);
                    topics.push(describe(
                        config,
                        members,
                        ctl.cluster,
                        t,
                        ops,
                        (v, ctx.listener),
                    ));
                }
            }
        }
        Some(list) => {
            for (name, id) in list {
                let found = match &name {
                    Some(n) => ctl.cluster.topics.get(n.as_str()).cloned(),
                    None => ctl.cluster.topic_by_id(&id).cloned(),
                };
                // Kafka's checks: DESCRIBE on the topic (a topic named by
                // id is answered with its id only), then CREATE on the
                // cluster or the topic for one auto-creation would create.
                let known = name
                    .clone()
                    .or_else(|| found.as_ref().map(|t| t.name.clone()));
                if let Some(n) = known.filter(|n| !az.topic(Operation::Describe, n)) {
                    let (name, id) = match &name {
                        Some(_) => (Some(n), Uuid::default()),
                        None => (None, id),
                    };
                    topics.push(missing(name, id, ErrorCode::TOPIC_AUTHORIZATION_FAILED));
                    continue;
                }
                if let (None, Some(n)) = (&found, &name) {
                    if auto_create
                        && !az.cluster(Operation::Create)
                        && !az.topic(Operation::Create, n)
                    {
                        let mut t = missing(
                            Some(n.clone()),
                            Uuid::default(),
                            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                        );
                        t.is_internal = is_internal(n);
                        topics.push(t);
                        continue;
                    }
                }
                let topic = match (found, &name) {
                    (Some(t), _) => Some(t),
                    (None, Some(n))
                        if auto_create
                            && config.zk()
                            && [OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC].contains(&n.as_str()) =>
                    {
                        // Kafka's `getTopicMetadata` for a missing internal
                        // topic: created as FindCoordinator creates it.
                        let pending = auto.iter().any(|t| t.name == *n);
                        let new = if n.as_str() == OFFSETS_TOPIC {
                            offsets_topic(config, members, &mut ctl, creates)
                        } else {
                            transaction_topic(config, members, &mut ctl, creates)
                        };
                        let code = match new {
                            Ok(Some(new)) if !pending => {
                                auto.push(new);
                                ErrorCode::LEADER_NOT_AVAILABLE
                            }
                            Ok(_) => ErrorCode::LEADER_NOT_AVAILABLE,
                            Err(code) => code,
                        };
                        topics.push(missing(Some(n.clone()), id, code));
                        continue;
                    }
                    (None, Some(n)) if auto_create && n.as_str() == OFFSETS_TOPIC => {
                        match ctl.ensure_offsets_topic(ctx.now) {
                            Ok(()) => ctl.cluster.topics.get(n.as_str()).cloned(),
                            Err(code) => {
                                topics.push(missing(Some(n.clone()), id, code));
                                continue;
                            }
                        }
                    }
                    (None, Some(n)) if auto_create && config.zk() && !is_internal(n) => {
                        let code = auto_create_zk(config, members, &mut ctl, creates, n, &mut auto);
                        topics.push(missing(Some(n.clone()), id, code));
                        continue;
                    }
                    (None, Some(n)) if auto_create => {
                        match ctl.create_topic(n, config.default_partitions, &[], ctx.now) {
                            Ok(_) => ctl.cluster.topics.get(n.as_str()).cloned(),
                            Err(code) => {
                                topics.push(missing(Some(n.clone()), id, code));
                                continue;
                            }
                        }
                    }
                    (None, _) => None,
                };
                match topic {
                    Some(t) => {
                        let ops = topic_ops(&t.name);
                        topics.push(describe(
                            config,
                            members,
                            ctl.cluster,
                            &t,
                            ops,
                            (v, ctx.listener),
                        ))
                    }
                    None => {
                        let code = if name.is_some() {
                            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                        } else {
                            ErrorCode::UNKNOWN_TOPIC_ID
                        };
                        topics.push(missing(name, id, code));
                    }
                }
            }
        }
    }
    let created = (!auto.is_empty()).then(|| {
        let names = auto.iter().map(|t| t.name.clone()).collect();
        (creates.auto(names), auto)
    });
    let response = MetadataResponse {
        throttle_time_ms: 0,
        brokers: members
            .brokers_on(ctx.listener)
            .map(|(b, host, port)| MetadataResponseBroker {
                node_id: b.id,
                host,
                port,
                rack: b.rack.clone(),
                ..Default::default()
            })
            .collect(),
        cluster_id: Some(config.cluster_id.as_str().into()),
        controller_id: members.controller_id(),
        topics,
        // Kafka answers 0 to a principal that may not describe the cluster.
        cluster_authorized_operations: match req.include_cluster_authorized_operations {
            true if az.cluster(Operation::Describe) => {
                az.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
            }
            true => 0,
            false => NOT_REQUESTED,
        },
        ..Default::default()
    };
    (response, created)
}

/// Auto-creates `name` in ZooKeeper mode, as Kafka's ZooKeeper-era broker
/// does: `num.partitions` partitions of `default.replication.factor`
/// replicas over the live brokers, for the driver to write (into `auto`).
/// The client hears LEADER_NOT_AVAILABLE at once (also when the topic is
/// being created already) and asks again; a topic that cannot be created
/// gets the error that stopped it (INVALID_REPLICATION_FACTOR when there
/// are too few live brokers).
fn auto_create_zk<S: Storage>(
    config: &Config,
    members: &Membership,
    ctl: &mut Controller<'_, S>,
    creates: &Creates,
    name: &str,
    auto: &mut Vec<NewTopic>,
) -> ErrorCode {
    if creates.being_created(name) || auto.iter().any(|t| t.name == name) {
        return ErrorCode::LEADER_NOT_AVAILABLE;
    }
    let t = CreatableTopic {
        name: name.into(),
        num_partitions: -1,
        replication_factor: -1,
        ..Default::default()
    };
    match zk::check(config, members, ctl.cluster, ctl.ids, false, &t) {
        Ok(new) => {
            auto.push(new);
            ErrorCode::LEADER_NOT_AVAILABLE
        }
        Err((ErrorCode::TOPIC_ALREADY_EXISTS, _)) => ErrorCode::LEADER_NOT_AVAILABLE,
        Err((code, _)) => code,
    }
}

fn missing(name: Option<String>, id: Uuid, code: ErrorCode) -> MetadataResponseTopic {
    MetadataResponseTopic {
        error_code: code.code(),
        name: name.map(Into::into),
        topic_id: id,
        topic_authorized_operations: NOT_REQUESTED,
        ..Default::default()
    }
}

fn describe(
    config: &Config,
    members: &Membership,
    cluster: &Cluster,
    t: &Topic,
    ops: i32,
    (v, listener): (i16, &str),
) -> MetadataResponseTopic {
    // As Kafka's KafkaApis asks its metadata cache: v0 lists only replicas
    // reachable on the listener, and from v6 a leader without an endpoint
    // there is LISTENER_NOT_FOUND, to show the configuration error.
    let listing = Listing {
        listener: Some(listener),
        only_live: v == 0,
        no_endpoint: if v >= 6 {
            ErrorCode::LISTENER_NOT_FOUND
        } else {
            ErrorCode::LEADER_NOT_AVAILABLE
        },
    };
    MetadataResponseTopic {
        error_code: 0,
        name: Some(t.name.as_str().into()),
        topic_id: t.id,
        is_internal: t.is_internal(),
        partitions: (0..t.partitions.len() as i32)
            .map(|i| {
                let a = answer(config, members, cluster, t, i, listing);
                MetadataResponsePartition {
                    error_code: a.error.code(),
                    partition_index: i,
                    leader_id: a.leader,
                    leader_epoch: a.leader_epoch,
                    replica_nodes: a.replicas.into(),
                    isr_nodes: a.isr.into(),
                    offline_replicas: a.offline.into(),
                    ..Default::default()
                }
            })
            .collect(),
        topic_authorized_operations: ops,
        ..Default::default()
    }
}

/// What Metadata and DescribeTopicPartitions say of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PartitionAnswer {
    pub error: ErrorCode,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline: Vec<i32>,
}

/// For whom a partition is described.
#[derive(Debug, Clone, Copy)]
pub(super) struct Listing<'a> {
    /// The client's listener: a broker is reachable when it has an
    /// endpoint there (`None`: every live broker is).
    pub listener: Option<&'a str>,
    /// List only reachable replicas (Metadata v0).
    pub only_live: bool,
    /// The error of a live leader that is not reachable.
    pub no_endpoint: ErrorCode,
}

/// Partition `p` of `t`: from the controller's state of it, else from
/// what LeaderAndIsr gave this broker, else (a single broker, or a topic
/// of the image's own log) this broker as leader and only replica at the
/// image's epoch. As Kafka's `ZkMetadataCache` answers: a leader that is
/// not a live broker is LEADER_NOT_AVAILABLE with leader -1, one that is
/// live but has no endpoint on the listener is `no_endpoint` with leader
/// -1; with `only_live` (Metadata v0) replicas and ISR list reachable
/// brokers only, and one left out is REPLICA_NOT_AVAILABLE.
pub(super) fn answer(
    config: &Config,
    members: &Membership,
    cluster: &Cluster,
    t: &Topic,
    p: i32,
    listing: Listing<'_>,
) -> PartitionAnswer {
    let node = config.node_id;
    let epoch = t.epoch(p).unwrap_or(0);
    let told = cluster.leadership.state(&t.name, p).cloned().or_else(|| {
        cluster
            .leadership
            .hosted(&TopicPartition::new(t.name.as_str(), p))
            .map(|h| h.state.clone())
    });
    let Some(s) = told.filter(|_| config.zk()) else {
        return PartitionAnswer {
            error: ErrorCode::NONE,
            leader: node,
            leader_epoch: epoch,
            replicas: vec![node],
            isr: vec![node],
            offline: Vec::new(),
        };
    };
    let (mut replicas, mut isr) = (s.replicas, s.isr);
    let mut error = ErrorCode::NONE;
    let reachable = |id: i32| match (members.broker(id), listing.listener) {
        (Some(b), Some(l)) => members.endpoint_of(b, l).is_some(),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if listing.only_live {
        let (r, i) = (replicas.len(), isr.len());
        replicas.retain(|&b| reachable(b));
        isr.retain(|&b| reachable(b));
        if replicas.len() < r || isr.len() < i {
            error = ErrorCode::REPLICA_NOT_AVAILABLE;
        }
    }
    let leader = if reachable(s.leader) {
        s.leader
    } else if members.is_live(s.leader) {
        error = listing.no_endpoint;
        NO_LEADER
    } else {
        error = ErrorCode::LEADER_NOT_AVAILABLE;
        NO_LEADER
    };
    PartitionAnswer {
        error,
        leader,
        leader_epoch: s.leader_epoch,
        replicas,
        isr,
        offline: s.offline,
    }
}

/// The leader id of a partition without one.
const NO_LEADER: i32 = -1;
