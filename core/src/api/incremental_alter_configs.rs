//! IncrementalAlterConfigs (key 44): change some of a resource's configs.
//!
//! # Wire
//!
//! Request: resources (type, name, configs of name, operation and value),
//! validate-only. Response per resource: error code and message, type,
//! name.
//!
//! # Versions
//!
//! 0-1 (v1 is flexible). Operations: SET (0) a value, DELETE (1) back to
//! the default, APPEND (2) and SUBTRACT (3) items of a list config
//! (`cleanup.policy`), starting from the default when the topic has no
//! value of its own. APPEND or SUBTRACT on a config that is not a list is
//! INVALID_CONFIG; other checks are those of AlterConfigs. Changes go to
//! the metadata log and take effect at once; `validate_only` writes
//! nothing. A BROKER resource (this node, or empty for the cluster
//! default) changes its dynamic broker configs as AlterConfigs does,
//! starting from the stored set; APPEND and SUBTRACT work on its list
//! configs only. BROKER_LOGGER must name this node and, as
//! Spate has no loggers, any change to one is INVALID_CONFIG ("does not
//! exist"), as Kafka answers for an unknown logger.

use crate::collections::Map;

use crate::protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, IncrementalAlterConfigsRequest,
};
use crate::protocol::messages::incremental_alter_configs_response::{
    AlterConfigsResourceResponse, IncrementalAlterConfigsResponse,
};
use crate::protocol::ErrorCode;
use crate::state::configs::{
    broker as broker_configs, topic as topic_configs, LIST, RESOURCE_BROKER,
    RESOURCE_BROKER_LOGGER, RESOURCE_TOPIC,
};
use crate::state::controller::Controller;
use crate::state::Config;
use crate::storage::Storage;

use super::alter_configs::{
    alter_broker, alter_topic, check_broker_name, check_keys, repeated, Failure,
};
use super::authz::config_refusal;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    ctl: &mut Controller<'_, S>,
    az: &Authorizer<'_>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let repeated = repeated(
        req.resources
            .iter()
            .map(|r| (r.resource_type, &*r.resource_name)),
    );
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let outcome = if repeated.contains(&(r.resource_type, &*r.resource_name)) {
                Err((
                    ErrorCode::INVALID_REQUEST,
                    "Each resource must appear at most once.".into(),
                ))
            } else if let Some(refused) = config_refusal(
                az,
                Operation::AlterConfigs,
                r.resource_type,
                &r.resource_name,
            ) {
                Err(refused)
            } else {
                alter(ctl, config, r, req.validate_only, ctx.now)
            };
            response(r, outcome)
        })
        .collect();
    IncrementalAlterConfigsResponse {
        throttle_time_ms: 0,
        responses,
        ..Default::default()
    }
}

fn alter<S: Storage>(
    ctl: &mut Controller<'_, S>,
    config: &Config,
    r: &AlterConfigsResource,
    validate_only: bool,
    now: i64,
) -> Result<(), Failure> {
    let name = &*r.resource_name;
    check_keys(
        r.configs
            .iter()
            .map(|c| (&*c.name, c.config_operation != DELETE && c.value.is_none())),
    )?;
    if let Some(c) = r
        .configs
        .iter()
        .find(|c| !(SET..=SUBTRACT).contains(&c.config_operation))
    {
        return Err((
            ErrorCode::INVALID_REQUEST,
            format!("Unknown operations type {}", c.config_operation),
        ));
    }
    match r.resource_type {
        RESOURCE_TOPIC => {
            let current = ctl
                .cluster
                .topics
                .get(name)
                .map(|t| t.configs.clone())
                .unwrap_or_default();
            let new = apply_topic_ops(config, &current, r)?;
            alter_topic(ctl, name, new, validate_only, now)
        }
        RESOURCE_BROKER => {
            check_broker_name(config, name)?;
            let current = ctl.cluster.dynamic().level(!name.is_empty()).clone();
            let new = apply_broker_ops(&current, r)?;
            alter_broker(ctl, name, new, validate_only, now)
        }
        RESOURCE_BROKER_LOGGER => {
            super::describe_configs::check_node(
                config,
                name,
                "Unexpected node id. Expected {id}, but got {name}",
                "Node id must be an integer, but it is: {name}",
            )?;
            match r.configs.first() {
                Some(c) => Err((
                    ErrorCode::INVALID_CONFIG,
                    format!("Logger {} does not exist!", c.name),
                )),
                None => Ok(()),
            }
        }
        t => Err((
            ErrorCode::INVALID_REQUEST,
            format!("Unknown resource type {t}"),
        )),
    }
}

/// `old` (a comma-separated list) with the items of `value` appended
/// (those not in it yet) or taken out.
fn list_op(old: &str, value: &str, append: bool) -> String {
    let mut items: Vec<&str> = old.split(',').filter(|s| !s.is_empty()).collect();
    for v in value.split(',') {
        if append {
            if !items.contains(&v) {
                items.push(v);
            }
        } else if let Some(i) = items.iter().position(|x| *x == v) {
            items.remove(i);
        }
    }
    items.join(",")
}

/// The configs after the request's operations (Kafka's
/// `prepareIncrementalConfigs`): SET and DELETE as they say; APPEND and
/// SUBTRACT start from what `list_start` gives for the key (its stored
/// value, or the error when the key is not a list config).
fn apply_ops(
    current: &Map<String, String>,
    r: &AlterConfigsResource,
    list_start: impl Fn(&str, i8, Option<&String>) -> Result<String, Failure>,
) -> Result<Map<String, String>, Failure> {
    let mut new = current.clone();
    for c in &r.configs {
        let key = c.name.to_string();
        let value = c.value.as_deref().unwrap_or("");
        match c.config_operation {
            SET => {
                new.insert(key, value.to_string());
            }
            DELETE => {
                new.remove(&key);
            }
            op => {
                let old = list_start(&key, op, new.get(&key))?;
                new.insert(key, list_op(&old, value, op == APPEND));
            }
        }
    }
    Ok(new)
}

/// A topic's explicit configs after the operations: a list operation
/// starts from the topic's value, else the broker's default for it.
fn apply_topic_ops(
    config: &Config,
    current: &Map<String, String>,
    r: &AlterConfigsResource,
) -> Result<Map<String, String>, Failure> {
    apply_ops(current, r, |key, op, stored| {
        if !topic_configs::is_list(key) {
            let verb = if op == APPEND { "APPEND" } else { "SUBTRACT" };
            return Err((
                ErrorCode::INVALID_CONFIG,
                format!("Can't {verb} to key {key} because its type is not LIST."),
            ));
        }
        Ok(stored
            .cloned()
            .or_else(|| topic_configs::default(config, key))
            .unwrap_or_default())
    })
}

/// A broker resource's dynamic configs after the operations: a list
/// operation starts from the stored value (APPEND and SUBTRACT only on a
/// list config).
fn apply_broker_ops(
    current: &Map<String, String>,
    r: &AlterConfigsResource,
) -> Result<Map<String, String>, Failure> {
    apply_ops(current, r, |key, op, stored| {
        if broker_configs::config_type(key) != LIST {
            let verb = if op == APPEND { "append" } else { "subtract" };
            return Err((
                ErrorCode::INVALID_CONFIG,
                format!("Config value {verb} is not allowed for config key: {key}"),
            ));
        }
        Ok(stored.cloned().unwrap_or_default())
    })
}

fn response(
    r: &AlterConfigsResource,
    outcome: Result<(), Failure>,
) -> AlterConfigsResourceResponse {
    let (code, msg) = match outcome {
        Ok(()) => (ErrorCode::NONE, None),
        Err((code, msg)) => (code, Some(msg.into())),
    };
    AlterConfigsResourceResponse {
        error_code: code.code(),
        error_message: msg,
        resource_type: r.resource_type,
        resource_name: r.resource_name.clone(),
        ..Default::default()
    }
}
