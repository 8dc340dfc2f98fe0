//! CreateTopics (key 19): create topics with partition counts and configs.
//!
//! # Wire
//!
//! Request: topics (name, partitions, replication factor, manual replica
//! assignments, configs), timeout, validate-only (v1+). Response per topic:
//! error code and message (v1+), topic id (v7+), partitions, replication
//! factor and configs (v5+).
//!
//! # Versions
//!
//! 0-7. On one broker a replication factor other than 1 or -1 (the
//! default) is INVALID_REPLICATION_FACTOR; a manual assignment must name
//! only this broker, one replica per partition, partitions 0..n.
//! `validate_only` checks everything and creates nothing. Topic ids are
//! reported from v7, partitions, replication factor and every config with
//! its source from v5.
//!
//! # ZooKeeper mode
//!
//! With [`Config::zk_mode`] the broker runs CreateTopics as Kafka's
//! ZooKeeper-era broker does (`ZkAdminManager`, `DelayedCreatePartitions`),
//! and `__cluster_metadata` is not touched:
//!
//! 1. A broker that is not the controller (as the last UpdateMetadata
//!    named it) answers NOT_CONTROLLER for every topic: clients send topic
//!    changes to the controller they find in Metadata.
//! 2. Each topic is checked in Kafka's order: `__cluster_metadata`, and a
//!    name given twice, are INVALID_REQUEST; a topic the broker knows
//!    (its own or learned from the controller) or that a request of this
//!    broker is creating is TOPIC_ALREADY_EXISTS; null config values
//!    INVALID_CONFIG; partitions or replication factor together with a
//!    manual assignment INVALID_REQUEST. -1 partitions is `num.partitions`,
//!    -1 replicas `default.replication.factor`; the replicas are assigned
//!    over the live brokers by Kafka's `assignReplicasToBrokers`
//!    ([`crate::state::assignment`]: rack-aware when every live broker
//!    has a rack), whose refusals are Kafka's: "Replication factor: 3
//!    larger than available brokers: 1." (INVALID_REPLICATION_FACTOR), a
//!    factor or partition count below 1, UNKNOWN_SERVER_ERROR when only
//!    some brokers have racks. Then the name (INVALID_TOPIC_EXCEPTION,
//!    also for a name that collides with an existing one once `.` and `_`
//!    are taken as equal), a manual assignment (as many replicas in every
//!    partition, none twice, partitions 0..n; INVALID_REPLICA_ASSIGNMENT;
//!    brokers are not checked, as Kafka does not check them), and the
//!    configs, as in single-broker mode.
//! 3. `validate_only`, or no topic left to create: answered at once.
//!    Otherwise the topics that passed, each with a fresh id, its
//!    assignment and the configs the request set, go to the driver as
//!    `Output::CreateTopics` with a request id, and the request is held
//!    (its connection's later requests wait behind it).
//! 4. The driver writes them to ZooKeeper and reports each topic's outcome
//!    with `Broker::handle_topics_created` (TOPIC_ALREADY_EXISTS when the
//!    topic znode existed). A failed topic has its error.
//! 5. A written topic is answered NONE once this broker's metadata (the
//!    controller's UpdateMetadata) names a leader for every one of its
//!    partitions; the response goes when every topic is settled. At the
//!    request's deadline (`timeout_ms` after it arrived, counting the
//!    driver's writes) topics still without leaders, or not reported yet,
//!    are REQUEST_TIMED_OUT (with no message, the id of a written topic
//!    kept). With `timeout_ms <= 0` the request is answered as soon as
//!    the driver reports, without waiting for leaders, and a written topic
//!    is REQUEST_TIMED_OUT, as Kafka answers it.
//!
//! A request whose connection closes is dropped; the driver's later report
//! changes nothing else. The response fields are Kafka's: a created topic
//! has its id (v7+), partition count, replication factor and configs
//! (v5+); a failed one -1, -1 and no configs.
//!
//! The internal topics (`__consumer_offsets`, `__transaction_state`)
//! still go to the broker's own controller in ZooKeeper mode, as on a
//! single broker, until the coordinators learn to wait for topics created
//! through ZooKeeper.

use crate::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use crate::protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult, CreateTopicsResponse,
};
use crate::protocol::{ErrorCode, Uuid};
use crate::state::cluster::{valid_topic_name, Cluster, MAX_PARTITIONS, METADATA_TOPIC};
use crate::state::configs::{topic as topic_configs, SOURCE_DEFAULT, SOURCE_TOPIC};
use crate::state::controller::Controller;
use crate::state::Config;
use crate::storage::Storage;

use super::authz::{hide_configs, may_create};
use super::Ctx;
use crate::security::acl::Authorizer;

mod held;
pub(super) mod zk;

pub(crate) use held::{Answer, Creates};

pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    mut ctl: Controller<'_, S>,
    az: &Authorizer<'_>,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut seen = crate::collections::Set::new();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let name = t.name.to_string();
            if !seen.insert(name.clone()) {
                return result(
                    t,
                    Uuid::ZERO,
                    ErrorCode::INVALID_REQUEST,
                    Some(format!("Duplicate topic name {name} in the request")),
                );
            }
            if !may_create(az, &name) {
                let code = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
                return result(t, Uuid::ZERO, code, None);
            }
            let mut r = create_here(ctx, config, &mut ctl, t, req.validate_only);
            hide_configs(az, &mut r);
            r
        })
        .collect();
    CreateTopicsResponse {
        throttle_time_ms: 0,
        topics,
        ..Default::default()
    }
}

/// Checks one topic and creates it on this broker's own controller
/// (unless `validate_only`): every topic of a single broker, and the
/// internal topics in ZooKeeper mode.
fn create_here<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    ctl: &mut Controller<'_, S>,
    t: &CreatableTopic,
    validate_only: bool,
) -> CreatableTopicResult {
    let name = t.name.to_string();
    match check(config, ctl.cluster, t) {
        Err((code, msg)) => result(t, Uuid::ZERO, code, Some(msg)),
        Ok((partitions, configs)) if validate_only => {
            let mut r = result(t, Uuid::ZERO, ErrorCode::NONE, None);
            r.num_partitions = partitions;
            r.configs = Some(effective_configs(config, &configs));
            r
        }
        Ok((partitions, configs)) => match ctl.create_topic(&name, partitions, &configs, ctx.now) {
            Ok(id) => {
                let mut r = result(t, id, ErrorCode::NONE, None);
                r.num_partitions = partitions;
                r.configs = Some(effective_configs(config, &configs));
                r
            }
            Err(code) => result(t, Uuid::ZERO, code, Some(message(code, &name))),
        },
    }
}

type Checked = (i32, Vec<(String, String)>);

/// Everything Kafka checks before creating a topic.
fn check(
    config: &Config,
    cluster: &Cluster,
    t: &CreatableTopic,
) -> Result<Checked, (ErrorCode, String)> {
    let name = t.name.to_string();
    if !valid_topic_name(&name) {
        return Err((
            ErrorCode::INVALID_TOPIC_EXCEPTION,
            message(ErrorCode::INVALID_TOPIC_EXCEPTION, &name),
        ));
    }
    if name == METADATA_TOPIC {
        return Err((
            ErrorCode::INVALID_REQUEST,
            format!("Creation of internal topic {name} is prohibited."),
        ));
    }
    if cluster.topics.contains_key(&name) {
        return Err((
            ErrorCode::TOPIC_ALREADY_EXISTS,
            message(ErrorCode::TOPIC_ALREADY_EXISTS, &name),
        ));
    }
    let partitions = if !t.assignments.is_empty() {
        if t.num_partitions != -1 || t.replication_factor != -1 {
            return Err((ErrorCode::INVALID_REQUEST, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into()));
        }
        let mut idx: Vec<i32> = t.assignments.iter().map(|a| a.partition_index).collect();
        idx.sort_unstable();
        if idx.iter().enumerate().any(|(i, &p)| p != i as i32) {
            return Err((
                ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "Partitions should be a consecutive 0-based integer sequence".into(),
            ));
        }
        for a in &t.assignments {
            if a.broker_ids.len() != 1 || a.broker_ids.get(0) != Some(config.node_id) {
                return Err((
                    ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                    format!(
                        "Replica assignment for partition {} must name broker {} alone",
                        a.partition_index, config.node_id
                    ),
                ));
            }
        }
        t.assignments.len() as i32
    } else {
        if t.replication_factor != -1 && t.replication_factor != 1 {
            return Err((
                ErrorCode::INVALID_REPLICATION_FACTOR,
                format!("Unable to replicate the partition {} time(s): The target replication factor of {} cannot be reached because only 1 broker(s) are registered.", t.replication_factor, t.replication_factor),
            ));
        }
        match t.num_partitions {
            -1 => config.default_partitions,
            n if n < 1 => {
                return Err((
                    ErrorCode::INVALID_PARTITIONS,
                    "Number of partitions was set to an invalid non-positive value.".into(),
                ))
            }
            n if n > MAX_PARTITIONS => {
                return Err((
                    ErrorCode::POLICY_VIOLATION,
                    format!("Unable to perform excessively large batch operation: {n} partitions"),
                ))
            }
            n => n,
        }
    };
    let mut configs = Vec::new();
    for c in &t.configs {
        let Some(v) = c.value.as_deref() else {
            return Err((
                ErrorCode::INVALID_CONFIG,
                format!("Null value not supported for topic configs: {}", c.name),
            ));
        };
        configs.push((c.name.to_string(), v.to_string()));
    }
    // Kafka's LogConfig checks: names, types, ranges, and the rules that
    // tie two configs together.
    topic_configs::validate_set(configs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|m| (ErrorCode::INVALID_CONFIG, m))?;
    Ok((partitions, configs))
}

fn message(code: ErrorCode, name: &str) -> String {
    match code {
        ErrorCode::TOPIC_ALREADY_EXISTS => format!("Topic '{name}' already exists."),
        ErrorCode::INVALID_TOPIC_EXCEPTION => format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"),
        other => other.name().to_string(),
    }
}

fn result(
    t: &CreatableTopic,
    id: Uuid,
    code: ErrorCode,
    msg: Option<String>,
) -> CreatableTopicResult {
    let failed = code != ErrorCode::NONE;
    CreatableTopicResult {
        name: t.name.clone(),
        topic_id: id,
        error_code: code.code(),
        error_message: msg.map(Into::into),
        num_partitions: if failed { -1 } else { t.num_partitions },
        replication_factor: if failed { -1 } else { 1 },
        configs: if failed { None } else { Some(Vec::new()) },
        ..Default::default()
    }
}

/// Every topic config with its value and source, as CreateTopics v5+ reports them.
fn effective_configs(config: &Config, set: &[(String, String)]) -> Vec<CreatableTopicConfigs> {
    topic_configs::names()
        .map(|k| {
            let explicit = set.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let source = if explicit.is_some() {
                SOURCE_TOPIC
            } else {
                SOURCE_DEFAULT
            };
            let value = explicit.or_else(|| topic_configs::default(config, k));
            CreatableTopicConfigs {
                name: k.into(),
                value: value.map(Into::into),
                read_only: false,
                config_source: source,
                is_sensitive: false,
                ..Default::default()
            }
        })
        .collect()
}
