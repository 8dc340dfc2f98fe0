//! FindCoordinator (key 10): which broker coordinates a group (or a
//! transactional id).
//!
//! # Wire
//!
//! v0-3 ask for one key (v0 always a group; v1 adds the key type) and answer
//! with one node; v4+ ask for many keys at once and answer per key.
//!
//! # Behaviour
//!
//! A single broker is its own coordinator for every group and every
//! transactional id: the answer is this broker's node id and advertised
//! address. Asking creates `__consumer_offsets` (a group, key type 0) or
//! `__transaction_state` (a transactional id, key type 1), as Kafka does on
//! first use; other key types (share groups, 2) get INVALID_REQUEST.
//!
//! In ZooKeeper mode ([`Config::zk_mode`]) a group's coordinator is the
//! leader of its partition of `__consumer_offsets`
//! ([`partition_for`]), with the endpoint its registration gives
//! (UpdateMetadata), as Kafka 2.x's `handleFindCoordinatorRequest`
//! answers. While the topic is unknown the broker asks the driver to
//! create it (`offsets.topic.num.partitions` partitions,
//! `offsets.topic.replication.factor` replicas over the live brokers,
//! Kafka's configs for it) and answers COORDINATOR_NOT_AVAILABLE, once per
//! creation under way; with fewer live brokers than the replication factor
//! nothing is created and the answer stays COORDINATOR_NOT_AVAILABLE, as
//! Kafka's `getOrCreateInternalTopic` does. A partition without a live
//! leader is COORDINATOR_NOT_AVAILABLE too. A transactional id's
//! coordinator is found the same way: the leader of its partition of
//! `__transaction_state`, which is created through the driver when
//! missing (`transaction.state.log.num.partitions` partitions,
//! `transaction.state.log.replication.factor` replicas, compacted, its
//! `min.insync.replicas` from `transaction.state.log.min.isr`).
//!
//! With an authorizer a group key needs DESCRIBE on the group
//! (GROUP_AUTHORIZATION_FAILED) and a transaction key DESCRIBE on the
//! transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), as in Kafka.

use bytestring::ByteString;

use crate::coordinator::group::records::partition_for;
use crate::coordinator::txn::records::partition_for as txn_partition_for;
use crate::protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use crate::protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use crate::protocol::messages::find_coordinator_response::{Coordinator, FindCoordinatorResponse};
use crate::protocol::ErrorCode;
use crate::state::assignment::NewTopic;
use crate::state::brokers::Membership;
use crate::state::controller::{offsets_topic_configs, Controller};
use crate::state::leadership::Lead;
use crate::state::{Config, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
use crate::storage::Storage;

use super::authz::Checks;
use super::create_topics::zk;
use super::Creates;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// What a group's coordinator is looked up with in ZooKeeper mode.
pub(crate) struct Zk<'a> {
    pub members: &'a Membership,
    pub creates: &'a mut Creates,
    /// `__consumer_offsets`, when this request asks the driver to create
    /// it.
    pub create: Option<NewTopic>,
}

/// Key type of a consumer group.
const GROUP: i8 = 0;
/// Key type of a transactional id.
const TRANSACTION: i8 = 1;

/// Runs a FindCoordinator request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    mut ctl: Controller<'_, S>,
    zk: &mut Zk<'_>,
    az: &Authorizer<'_>,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    if ctx.version >= 4 {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| find(config, &mut ctl, zk, (ctx, az), k.clone(), req.key_type))
            .collect();
        return FindCoordinatorResponse {
            coordinators,
            ..Default::default()
        };
    }
    let c = find(
        config,
        &mut ctl,
        zk,
        (ctx, az),
        req.key.clone(),
        req.key_type,
    );
    FindCoordinatorResponse {
        throttle_time_ms: 0,
        error_code: c.error_code,
        error_message: if ctx.version >= 1 {
            c.error_message
        } else {
            None
        },
        node_id: c.node_id,
        host: c.host,
        port: c.port,
        ..Default::default()
    }
}

fn find<S: Storage>(
    config: &Config,
    ctl: &mut Controller<'_, S>,
    zk: &mut Zk<'_>,
    (ctx, az): (&Ctx, &Authorizer<'_>),
    key: ByteString,
    key_type: i8,
) -> Coordinator {
    let fail = |key: ByteString, code: ErrorCode, message: &str| Coordinator {
        key,
        node_id: -1,
        host: ByteString::new(),
        port: -1,
        error_code: code.code(),
        error_message: Some(message.into()),
        ..Default::default()
    };
    if !matches!(key_type, GROUP | TRANSACTION) {
        return fail(
            key,
            ErrorCode::INVALID_REQUEST,
            &format!("unknown coordinator key type {key_type}"),
        );
    }
    // Kafka's checks: DESCRIBE on the group or the transactional id.
    if key_type == GROUP && !az.group(Operation::Describe, &key) {
        let code = ErrorCode::GROUP_AUTHORIZATION_FAILED;
        return fail(key, code, "Group authorization failed.");
    }
    if key_type == TRANSACTION && !az.txn_id(Operation::Describe, &key) {
        let code = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        return fail(key, code, "Transactional Id authorization failed.");
    }
    if config.zk() {
        let found = if key_type == GROUP {
            let p = partition_for(&key, config.groups.offsets_partitions);
            leader_of(config, ctl, zk, OFFSETS_TOPIC, p, ctx.listener)
        } else {
            let p = txn_partition_for(&key, config.transactions.state_log_partitions);
            leader_of(config, ctl, zk, TRANSACTION_STATE_TOPIC, p, ctx.listener)
        };
        return match found {
            Ok((node_id, host, port)) => Coordinator {
                key,
                node_id,
                host: host.into(),
                port,
                error_code: 0,
                error_message: None,
                ..Default::default()
            },
            Err(message) => fail(key, ErrorCode::COORDINATOR_NOT_AVAILABLE, message),
        };
    }
    if key_type == TRANSACTION {
        if let Err(code) = ctl.ensure_transaction_topic(ctx.now) {
            return fail(key, code, "cannot create __transaction_state");
        }
    } else if let Err(code) = ctl.ensure_offsets_topic(ctx.now) {
        return fail(key, code, "cannot create __consumer_offsets");
    }
    // This broker on the client's listener.
    let Some(me) = (config.endpoints().into_iter()).find(|e| e.listener == ctx.listener) else {
        return fail(
            key,
            ErrorCode::COORDINATOR_NOT_AVAILABLE,
            "no endpoint on this listener",
        );
    };
    Coordinator {
        key,
        node_id: config.node_id,
        host: me.host.into(),
        port: me.port,
        error_code: 0,
        error_message: None,
        ..Default::default()
    }
}

/// The live leader of partition `p` of `topic` (`__consumer_offsets` or
/// `__transaction_state`, by which the key is placed), in ZooKeeper mode:
/// its id and endpoint on `listener`. The topic is created through the
/// driver when missing (into `zk.create`).
fn leader_of<S: Storage>(
    config: &Config,
    ctl: &mut Controller<'_, S>,
    zk: &mut Zk<'_>,
    topic: &str,
    p: i32,
    listener: &str,
) -> Result<(i32, String, i32), &'static str> {
    let Some(t) = ctl.cluster.topics.get(topic) else {
        if zk.create.is_none() {
            let new = if topic == OFFSETS_TOPIC {
                offsets_topic(config, zk.members, ctl, zk.creates)
            } else {
                transaction_topic(config, zk.members, ctl, zk.creates)
            };
            zk.create = new.ok().flatten();
        }
        return Err("the coordinator's topic is being created");
    };
    // Keys are placed by the configured partition count: the topic was
    // created with it, or it was read from the topic's assignment when
    // this broker joined (the driver's startup, as Kafka's coordinators).
    let leader = match ctl.cluster.lead_in(t, p) {
        Lead::Here(_) => config.node_id,
        Lead::Elsewhere { leader, .. } => leader,
        Lead::Unknown => return Err("the key's partition is not known"),
    };
    let Some(b) = zk.members.broker(leader) else {
        return Err("the key's partition has no live leader");
    };
    match zk.members.endpoint_of(b, listener) {
        Some((host, port)) => Ok((b.id, host.to_string(), port)),
        None => Err("the coordinator has no endpoint on this listener"),
    }
}

/// `__transaction_state` for the driver to create in ZooKeeper mode:
/// `transaction.state.log.num.partitions` partitions of
/// `transaction.state.log.replication.factor` replicas over the live
/// brokers, with Kafka's configs (`TransactionStateManager
/// .transactionTopicConfigs`: compacted, uncompressed, 100 MiB segments,
/// `min.insync.replicas` from `transaction.state.log.min.isr`, no unclean
/// election). `Ok(None)` while a creation is under way.
pub(super) fn transaction_topic<S: Storage>(
    config: &Config,
    members: &Membership,
    ctl: &mut Controller<'_, S>,
    creates: &Creates,
) -> Result<Option<NewTopic>, ErrorCode> {
    let txns = &config.transactions;
    let configs = [
        ("cleanup.policy", "compact".to_string()),
        ("compression.type", "uncompressed".to_string()),
        ("segment.bytes", "104857600".to_string()),
        ("min.insync.replicas", txns.state_log_min_isr.to_string()),
        ("unclean.leader.election.enable", "false".to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let shape = (txns.state_log_partitions, txns.state_log_replication_factor);
    internal_topic(
        config,
        members,
        ctl,
        creates,
        TRANSACTION_STATE_TOPIC,
        shape,
        configs,
    )
}

/// `__consumer_offsets` for the driver to create in ZooKeeper mode:
/// `offsets.topic.num.partitions` partitions of
/// `offsets.topic.replication.factor` replicas over the live brokers, with
/// Kafka's configs. `Ok(None)` while a creation is under way; the error
/// that stops it otherwise (INVALID_REPLICATION_FACTOR with too few live
/// brokers).
pub(super) fn offsets_topic<S: Storage>(
    config: &Config,
    members: &Membership,
    ctl: &mut Controller<'_, S>,
    creates: &Creates,
) -> Result<Option<NewTopic>, ErrorCode> {
    let groups = &config.groups;
    let shape = (groups.offsets_partitions, groups.offsets_replication_factor);
    let configs = offsets_topic_configs();
    internal_topic(config, members, ctl, creates, OFFSETS_TOPIC, shape, configs)
}

/// An internal topic `name` of `(partitions, replication factor)` with
/// `configs`, checked as CreateTopics checks a topic (placed over the live
/// brokers); `Ok(None)` while it is being created or once it exists.
fn internal_topic<S: Storage>(
    config: &Config,
    members: &Membership,
    ctl: &mut Controller<'_, S>,
    creates: &Creates,
    name: &str,
    (partitions, replication_factor): (i32, i16),
    configs: impl IntoIterator<Item = (String, String)>,
) -> Result<Option<NewTopic>, ErrorCode> {
    if creates.being_created(name) {
        return Ok(None);
    }
    let t = CreatableTopic {
        name: name.into(),
        num_partitions: partitions,
        replication_factor,
        configs: configs
            .into_iter()
            .map(|(name, value)| CreatableTopicConfig {
                name: name.into(),
                value: Some(value.into()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    match zk::check(config, members, ctl.cluster, ctl.ids, false, &t) {
        Ok(new) => Ok(Some(new)),
        Err((ErrorCode::TOPIC_ALREADY_EXISTS, _)) => Ok(None),
        Err((code, _)) => Err(code),
    }
}
