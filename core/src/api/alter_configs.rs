//! AlterConfigs (key 33): replace the whole set of a resource's configs.
//!
//! # Wire
//!
//! Request: resources (type, name, configs of name and value),
//! validate-only. Response per resource: error code and message, type,
//! name.
//!
//! # Versions
//!
//! 0-2, all alike (v2 is flexible). As in Kafka, the configs sent become
//! the topic's whole set: a config not listed goes back to its default.
//! The new set is written to the metadata log as ConfigRecords (a null
//! value deletes), so it survives a restart and takes effect at once.
//!
//! Checks, in Kafka's order: a resource named twice, duplicate keys and
//! null values are INVALID_REQUEST; then for a topic an empty name is
//! INVALID_REQUEST, a bad name INVALID_TOPIC_EXCEPTION, an unknown config
//! or bad value INVALID_CONFIG, and only then an unknown topic
//! UNKNOWN_TOPIC_OR_PARTITION. A BROKER resource must name this node (or
//! be empty: the cluster-wide default); its configs are dynamic broker
//! configs, checked as Kafka checks them (a static one is
//! INVALID_REQUEST "Cannot update these configs dynamically", see
//! [`crate::state::configs::dynamic`]) and written to the metadata log as
//! BROKER ConfigRecords, which take effect at once and survive a
//! restart (in ZooKeeper mode they go to `/config/brokers` instead,
//! below). BROKER_LOGGER and other types are INVALID_REQUEST ("Unknown
//! resource type").
//! `validate_only` checks everything and writes nothing.
//!
//! In ZooKeeper mode a topic of the cluster (one the controller named)
//! is not changed here: its whole new config set goes to the driver
//! (`Output::WriteTopicConfigs`), which writes `/config/topics/<T>` and
//! announces the change under `/config/changes`; every broker, this one
//! included, then reads the topic's configs again
//! (`Broker::handle_topic_configs`), as Kafka 2.x's
//! `AdminZkClient.changeTopicConfig` and `ConfigChangeListener` do. The
//! answer does not wait for the write. IncrementalAlterConfigs goes the
//! same way. So do dynamic broker configs (`Output::WriteBrokerConfigs`:
//! `/config/brokers/<id>` or `/config/brokers/<default>`), which every
//! broker follows (`Broker::handle_broker_configs`) instead of keeping
//! them in its own metadata log.

use crate::collections::{Map, Set};

use crate::protocol::messages::alter_configs_request::AlterConfigsRequest;
use crate::protocol::messages::alter_configs_response::{
    AlterConfigsResourceResponse, AlterConfigsResponse,
};
use crate::protocol::messages::metadata::config_record::ConfigRecord;
use crate::protocol::ErrorCode;
use crate::state::cluster::{topic_name_error, Change};
use crate::state::configs::{dynamic, topic as topic_configs, RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::state::controller::Controller;
use crate::state::{Config, Now};
use crate::storage::Storage;

use super::authz::config_refusal;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// An error for one resource: code and message.
pub(crate) type Failure = (ErrorCode, String);

pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    ctl: &mut Controller<'_, S>,
    az: &Authorizer<'_>,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let repeated = repeated(
        req.resources
            .iter()
            .map(|r| (r.resource_type, &*r.resource_name)),
    );
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let name = &*r.resource_name;
            let outcome = if repeated.contains(&(r.resource_type, name)) {
                Err((
                    ErrorCode::INVALID_REQUEST,
                    "Each resource must appear at most once.".into(),
                ))
            } else if let Some(refused) =
                config_refusal(az, Operation::AlterConfigs, r.resource_type, name)
            {
                Err(refused)
            } else {
                alter(
                    ctl,
                    config,
                    r.resource_type,
                    name,
                    &r.configs,
                    req.validate_only,
                    ctx.now,
                )
            };
            response(r.resource_type, name, outcome)
        })
        .collect();
    AlterConfigsResponse {
        throttle_time_ms: 0,
        responses,
        ..Default::default()
    }
}

fn alter<S: Storage>(
    ctl: &mut Controller<'_, S>,
    config: &Config,
    resource_type: i8,
    name: &str,
    configs: &[crate::protocol::messages::alter_configs_request::AlterableConfig],
    validate_only: bool,
    now: Now,
) -> Result<(), Failure> {
    check_keys(configs.iter().map(|c| (&*c.name, c.value.is_none())))?;
    let new: Map<String, String> = configs
        .iter()
        .filter_map(|c| {
            c.value
                .as_ref()
                .map(|v| (c.name.to_string(), v.to_string()))
        })
        .collect();
    match resource_type {
        RESOURCE_TOPIC => alter_topic(ctl, name, new, validate_only, now),
        RESOURCE_BROKER => {
            check_broker_name(config, name)?;
            alter_broker(ctl, name, new, validate_only, now)
        }
        t => Err((
            ErrorCode::INVALID_REQUEST,
            format!("Unknown resource type {t}"),
        )),
    }
}

/// The (type, name) pairs that appear more than once.
pub(crate) fn repeated<'a>(resources: impl Iterator<Item = (i8, &'a str)>) -> Set<(i8, &'a str)> {
    let mut seen = Set::new();
    resources.filter(|r| !seen.insert(*r)).collect()
}

/// Kafka's first checks on a resource's configs: no key twice, no null
/// value where one is needed (`(name, value is missing)`).
pub(crate) fn check_keys<'a>(
    configs: impl Iterator<Item = (&'a str, bool)> + Clone,
) -> Result<(), Failure> {
    let mut seen = Set::new();
    if !configs.clone().all(|(k, _)| seen.insert(k)) {
        return Err((
            ErrorCode::INVALID_REQUEST,
            "Error due to duplicate config keys".into(),
        ));
    }
    let nulls: Vec<&str> = configs.filter(|(_, null)| *null).map(|(k, _)| k).collect();
    if !nulls.is_empty() {
        return Err((
            ErrorCode::INVALID_REQUEST,
            format!("Null value not supported for : {}", nulls.join(", ")),
        ));
    }
    Ok(())
}

/// A BROKER resource must be empty (cluster default) or this node's id.
pub(crate) fn check_broker_name(config: &Config, name: &str) -> Result<(), Failure> {
    if name.is_empty() {
        return Ok(());
    }
    super::describe_configs::check_node(
        config,
        name,
        "Unexpected broker id, expected {id}, but received {name}",
        "Node id must be an integer, but it is: {name}",
    )
}

/// Makes `new` the whole set of dynamic configs of BROKER resource
/// `name` (this node's id, or empty for the cluster default): checks it
/// as Kafka's `DynamicBrokerConfig.validate` does, then writes the
/// differences to the metadata log as BROKER ConfigRecords (unless
/// `validate_only`), which apply them.
pub(crate) fn alter_broker<S: Storage>(
    ctl: &mut Controller<'_, S>,
    name: &str,
    new: Map<String, String>,
    validate_only: bool,
    now: Now,
) -> Result<(), Failure> {
    let per_broker = !name.is_empty();
    dynamic::check(&new, per_broker).map_err(|m| (ErrorCode::INVALID_REQUEST, m))?;
    if ctl.cluster.broker_configs_stored_elsewhere() {
        return alter_broker_in_zookeeper(ctl, name, new, validate_only);
    }
    let current = ctl.cluster.dynamic().level(per_broker);
    let record = |k: &str, v: Option<&str>| {
        Change::Config(ConfigRecord {
            resource_type: RESOURCE_BROKER,
            resource_name: name.into(),
            name: k.into(),
            value: v.map(Into::into),
            ..Default::default()
        })
    };
    let mut changes: Vec<Change> = new
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(v))
        .map(|(k, v)| record(k, Some(v)))
        .collect();
    changes.extend(
        current
            .keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| record(k, None)),
    );
    if validate_only || changes.is_empty() {
        return Ok(());
    }
    ctl.commit(&changes, now)
        .map_err(|code| (code, "Could not write to the metadata log".into()))
}

/// ZooKeeper mode: the whole new set (checked already) goes to the
/// driver, which writes `/config/brokers/<id>` (or `<default>`) and
/// announces it under `/config/changes`; every broker, this one included,
/// then reads it again (`Broker::handle_broker_configs`), as Kafka's
/// `ZkAdminManager.alterConfigs` and `BrokerConfigHandler` do. Kafka
/// stores a password config encoded with `password.encoder.secret` and
/// refuses it without one (when not `validate_only`); Spate encodes none,
/// so it always refuses it, with Kafka's message.
fn alter_broker_in_zookeeper<S: Storage>(
    ctl: &mut Controller<'_, S>,
    name: &str,
    new: Map<String, String>,
    validate_only: bool,
) -> Result<(), Failure> {
    if validate_only {
        return Ok(());
    }
    if new.keys().any(|k| dynamic::is_sensitive(k)) {
        return Err((
            ErrorCode::INVALID_REQUEST,
            format!(
                "Invalid config value for resource ConfigResource(type=BROKER, name='{name}'): \
                 Password encoder secret not configured"
            ),
        ));
    }
    let broker = (!name.is_empty()).then(|| ctl.cluster.config().node_id);
    ctl.cluster.write_broker_configs(broker, new);
    Ok(())
}

/// Makes `new` the explicit config set of topic `name`: checks it as
/// Kafka's controller does, then writes the differences to the metadata
/// log (unless `validate_only`).
pub(crate) fn alter_topic<S: Storage>(
    ctl: &mut Controller<'_, S>,
    name: &str,
    new: Map<String, String>,
    validate_only: bool,
    now: Now,
) -> Result<(), Failure> {
    if name.is_empty() {
        return Err((
            ErrorCode::INVALID_REQUEST,
            "Default topic resources are not allowed.".into(),
        ));
    }
    if let Some(msg) = topic_name_error(name) {
        return Err((ErrorCode::INVALID_TOPIC_EXCEPTION, msg));
    }
    topic_configs::validate_set(new.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|m| (ErrorCode::INVALID_CONFIG, m))?;
    let Some(topic) = ctl.cluster.topic(name) else {
        return Err((
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            format!("The topic '{name}' does not exist."),
        ));
    };
    let record = |k: &str, v: Option<&str>| {
        Change::Config(ConfigRecord {
            resource_type: RESOURCE_TOPIC,
            resource_name: name.into(),
            name: k.into(),
            value: v.map(Into::into),
            ..Default::default()
        })
    };
    let mut changes: Vec<Change> = new
        .iter()
        .filter(|(k, v)| topic.configs.get(*k) != Some(v))
        .map(|(k, v)| record(k, Some(v)))
        .collect();
    changes.extend(
        topic
            .configs
            .keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| record(k, None)),
    );
    if validate_only || changes.is_empty() {
        return Ok(());
    }
    if topic.learned {
        // A topic of the ZooKeeper cluster: its configs live in
        // `/config/topics/<name>`, which the driver writes before it
        // notifies every broker under `/config/changes`.
        ctl.cluster.write_configs(name, new);
        return Ok(());
    }
    ctl.commit(&changes, now)
        .map_err(|code| (code, "Could not write to the metadata log".into()))
}

/// A resource's response: no message on success, as Kafka sends.
fn response(
    resource_type: i8,
    name: &str,
    outcome: Result<(), Failure>,
) -> AlterConfigsResourceResponse {
    let (code, msg) = match outcome {
        Ok(()) => (ErrorCode::NONE, None),
        Err((code, msg)) => (code, Some(msg.into())),
    };
    AlterConfigsResourceResponse {
        error_code: code.code(),
        error_message: msg,
        resource_type,
        resource_name: name.into(),
        ..Default::default()
    }
}
